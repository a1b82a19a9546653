"""The risk pages (issue 16 §1): the register with its heat map, the report form (from a
progress update marked high risk too), a report's page and its acts, the cards on the
request, task and to-do pages. Each page with the roles that must and must not see it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from risks_app.choices import RiskState
from risks_app.models import Risk
from tasks_app import services as task_services
from tests.helpers import assert_constant_queries
from tests.risks_fixtures import accepted, report

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.risks_fixtures"]


def _get(client, user, url):
    client.force_login(user)
    return client.get(url)


def _moment(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


# --- the register ------------------------------------------------------------------------


def test_the_register_counts_each_cell_and_the_cell_opens_its_list(client, risk_world):
    w = risk_world
    high = report(w, title="主要供應商停產", probability=5, impact=4)
    report(w, title="設計稿延誤", probability=2, impact=2)
    closed = report(w, title="不相關的風險", probability=5, impact=4)
    from risks_app import services

    services.risk_close(risk=closed, by=w.pmo, note="評估後不相關")

    page = _get(client, w.pmo, reverse("risks_app:register"))
    assert page.status_code == 200
    cells = {(c.probability, c.impact): c for _p, _w, row in page.context["heat_map"] for c in row}
    assert cells[(5, 4)].count == 1  # the closed one does not count
    assert cells[(2, 2)].count == 1
    assert sum(c.count for c in cells.values()) == 2
    assert cells[(5, 4)].level == "high" and cells[(1, 1)].level == "low"
    assert page.context["summary"]["high"] == 1 and page.context["summary"]["open"] == 2

    cell = _get(client, w.pmo, reverse("risks_app:register") + "?" + cells[(5, 4)].query)
    assert [r.pk for r in cell.context["page"].object_list] == [high.pk]
    everything = _get(client, w.pmo, reverse("risks_app:register") + "?scope=all")
    assert everything.context["page"].paginator.count == 3
    # With every risk in scope, the map counts the concluded one too, and its cell's list
    # keeps that scope.
    cells = {
        (c.probability, c.impact): c for _p, _w, row in everything.context["heat_map"] for c in row
    }
    assert cells[(5, 4)].count == 2
    both = _get(client, w.pmo, reverse("risks_app:register") + "?" + cells[(5, 4)].query)
    assert {r.pk for r in both.context["page"].object_list} == {high.pk, closed.pk}


def test_the_register_shows_only_what_the_person_may_see(client, risk_world):
    w = risk_world
    risk = report(w)
    seen = _get(client, w.tech_staff, reverse("risks_app:register"))
    assert [r.pk for r in seen.context["page"].object_list] == [risk.pk]
    unseen = _get(client, w.other_staff, reverse("risks_app:register"))
    assert unseen.status_code == 200
    assert list(unseen.context["page"].object_list) == []
    assert unseen.context["summary"]["open"] == 0
    assert risk.title not in unseen.content.decode()
    # A request's register is 404 for whoever may not see the request.
    url = reverse("risks_app:request", args=[w.request.pk])
    assert _get(client, w.other_staff, url).status_code == 404
    assert _get(client, w.tech_head, url).status_code == 200
    client.logout()
    assert client.get(url).status_code == 302  # to the sign-in page


def test_the_register_reads_in_a_fixed_number_of_queries(client, risk_world):
    w = risk_world
    client.force_login(w.pmo)
    made = []

    def make_rows(n):
        for _ in range(n):
            k = len(made)
            made.append(report(w, title=f"風險{k}", probability=1 + k % 5, impact=1 + (k * 2) % 5))

    def fetch():
        assert client.get(reverse("risks_app:register") + "?scope=all").status_code == 200

    assert_constant_queries(make_rows, fetch)


def test_late_reports_are_flagged_and_counted(client, risk_world):
    w = risk_world
    report(w, title="晚報的風險", discovered_at=timezone.now() - dt.timedelta(hours=30))
    report(w, title="及時的風險")
    page = _get(client, w.pmo, reverse("risks_app:register") + "?scope=all&late=1")
    assert [r.title for r in page.context["page"].object_list] == ["晚報的風險"]
    assert page.context["summary"]["late"] == 1
    assert "data-late" in page.content.decode()


# --- reporting ---------------------------------------------------------------------------


def test_a_participant_reports_a_risk_from_the_form(client, risk_world):
    w = risk_world
    client.force_login(w.tech_staff)
    url = reverse("risks_app:new") + f"?request={w.request.pk}"
    assert client.get(url).status_code == 200
    discovered = timezone.now() - dt.timedelta(hours=2)
    response = client.post(
        url,
        {
            "request": w.request.pk,
            "title": "測試環境不足",
            "task": w.task_b.pk,
            "description": "測試機台只有一台。",
            "probability": "4",
            "impact": "4",
            "affected_tasks": [w.task_b.pk],
            "affected_departments": [w.tech.pk],
            "affected_goals": [w.goal.pk],
            "affected_dates": "上線日可能延後一週",
            "suggested_measures": "租用雲端測試環境。",
            "discovered_at": _moment(discovered),
        },
    )
    risk = Risk.objects.get(title="測試環境不足")
    assert response.status_code == 302 and response["Location"] == risk.get_absolute_url()
    assert risk.level == "high" and risk.reported_by == w.tech_staff
    assert list(risk.affected_tasks.all()) == [w.task_b]
    assert list(risk.affected_goals.all()) == [w.goal]


def test_bad_input_gets_translated_errors_and_keeps_what_was_typed(client, risk_world):
    w = risk_world
    client.force_login(w.tech_staff)
    future = timezone.now() + dt.timedelta(days=1)
    with translation.override("zh-hant"):
        response = client.post(
            reverse("risks_app:new"),
            {
                "request": w.request.pk,
                "title": "未來的風險",
                "description": "說明",
                "probability": "3",
                "impact": "3",
                "suggested_measures": "措施",
                "discovered_at": _moment(future),
            },
            HTTP_ACCEPT_LANGUAGE="zh-hant",
        )
    assert response.status_code == 200
    assert not Risk.objects.exists()
    form = response.context["form"]
    assert "discovered_at" in form.errors
    body = response.content.decode()
    assert "未來的風險" in body
    with translation.override("zh-hant"):
        from django.utils.translation import gettext

        assert gettext("The discovery cannot be in the future.") in body


def test_who_may_open_the_report_form(client, risk_world):
    w = risk_world
    url = reverse("risks_app:new") + f"?request={w.request.pk}"
    assert _get(client, w.other_staff, url).status_code == 404  # does not see the request
    assert _get(client, w.consultant, url).status_code == 200  # a RACI role on a task
    assert _get(client, w.executive, url).status_code == 200  # above every department
    assert _get(client, w.other_head, url).status_code == 404
    assert _get(client, w.pmo, url).status_code == 200
    assert _get(client, w.pmo, reverse("risks_app:new") + "?request=abc").status_code == 404


def test_a_high_risk_progress_update_offers_a_prefilled_report(client, risk_world):
    w = risk_world
    task_services.task_start(task=w.task_b, by=w.tech_staff)
    update = task_services.progress_log(
        task=w.task_b,
        by=w.tech_staff,
        percent=30,
        done="完成首頁切版",
        problems="第三方金流介面尚未開放",
        support_needed="請市場部協調金流廠商",
        risk_note="金流介面若延後，上線日將延誤",
        risk_level="high",
    )
    page = _get(client, w.tech_staff, w.task_b.get_absolute_url())
    body = page.content.decode()
    assert 'id="risk-offer"' in body
    offer = reverse("risks_app:new") + f"?progress={update.pk}"
    assert offer in body.replace("&amp;", "&")
    form = client.get(offer)
    assert form.status_code == 200
    initial = form.context["form"].initial
    assert initial["task"] == w.task_b.pk
    assert "金流介面若延後" in initial["description"]
    assert initial["suggested_measures"] == "請市場部協調金流廠商"
    # Filed from it, the offer goes away.
    from risks_app import services

    services.risk_report(
        request=w.request,
        by=w.tech_staff,
        progress_update=update,
        task=w.task_b,
        title="金流介面延後",
        description="金流介面若延後，上線日將延誤",
        probability=4,
        impact=4,
        suggested_measures="協調廠商",
        discovered_at=update.created_at,
    )
    again = _get(client, w.tech_staff, w.task_b.get_absolute_url()).content.decode()
    assert 'id="risk-offer"' not in again and "金流介面延後" in again
    # Someone who may not see the task gets 404 for its update.
    assert _get(client, w.other_staff, offer).status_code == 404


# --- a report's page ---------------------------------------------------------------------


def test_the_report_page_by_role(client, risk_world):
    w = risk_world
    risk = report(w)
    url = risk.get_absolute_url()
    assert _get(client, w.other_staff, url).status_code == 404
    staff = _get(client, w.tech_staff, url)
    assert staff.status_code == 200 and not staff.context["has_actions"]
    pmo = _get(client, w.pmo, url)
    assert pmo.context["shown"]["accept"] and pmo.context["shown"]["close"]
    assert not pmo.context["shown"]["resolve"]


def test_the_pmo_organises_the_response_and_the_owner_resolves_it(client, risk_world):
    w = risk_world
    risk = report(w)
    client.force_login(w.pmo)
    due = timezone.now() + dt.timedelta(days=2)
    response = client.post(
        reverse("risks_app:act", args=[risk.pk, "accept"]),
        {
            "expected_state": "reported",
            "owner": w.tech_staff.pk,
            "response_due": _moment(due),
            "plan": "改用備用供應商",
        },
    )
    assert response.status_code == 302
    risk.refresh_from_db()
    assert risk.state == RiskState.RESPONDING and risk.owner == w.tech_staff
    owner_page = _get(client, w.tech_staff, risk.get_absolute_url())
    assert owner_page.context["shown"]["resolve"] and not owner_page.context["shown"]["close"]
    response = client.post(
        reverse("risks_app:act", args=[risk.pk, "resolve"]),
        {"expected_state": "responding", "note": "備用供應商已到貨"},
    )
    assert response.status_code == 302
    risk.refresh_from_db()
    assert risk.state == RiskState.RESOLVED
    history = _get(client, w.pmo, risk.get_absolute_url()).content.decode()
    assert "備用供應商已到貨" in history


def test_acting_on_a_page_that_moved_on_is_a_conflict_not_a_second_transition(client, risk_world):
    w = risk_world
    risk = accepted(w, report(w))
    client.force_login(w.pmo)
    response = client.post(
        reverse("risks_app:act", args=[risk.pk, "close"]),
        {"expected_state": "reported", "note": "不相關"},
    )
    assert response.status_code == 200
    risk.refresh_from_db()
    assert risk.state == RiskState.RESPONDING
    assert risk.events.count() == 2
    messages = [str(m) for m in response.context["messages"]]
    assert messages and risk.get_state_display() in messages[0]


def test_acts_are_refused_to_whoever_may_not_do_them(client, risk_world):
    w = risk_world
    risk = report(w)
    client.force_login(w.tech_staff)
    url = reverse("risks_app:act", args=[risk.pk, "close"])
    assert client.post(url, {"expected_state": "reported", "note": "x"}).status_code == 403
    client.force_login(w.other_staff)
    assert client.post(url, {"expected_state": "reported", "note": "x"}).status_code == 404
    client.force_login(w.pmo)
    assert client.get(url).status_code == 405
    assert client.post(reverse("risks_app:act", args=[risk.pk, "nope"])).status_code == 404
    risk.refresh_from_db()
    assert risk.state == RiskState.REPORTED


# --- the other pages' cards --------------------------------------------------------------


def test_the_request_page_and_the_to_do_page_show_the_risks(client, risk_world):
    w = risk_world
    risk = report(w, title="高風險項目", probability=5, impact=5)
    page = _get(client, w.tech_head, w.request.get_absolute_url()).content.decode()
    assert 'id="risks-card"' in page and "高風險項目" in page
    todo = _get(client, w.pmo, reverse("portfolio_app:todo"))
    assert todo.status_code == 200
    assert risk.title in todo.content.decode()
    assert todo.context["risks_todo_count"] == 1
    accepted(w, risk)
    mine = _get(client, w.tech_staff, reverse("portfolio_app:todo"))
    assert 'id="todo-risks-mine"' in mine.content.decode()


def test_each_dashboard_figure_opens_the_list_it_counts(client, risk_world):
    w = risk_world
    report(
        w,
        title="晚報高風險",
        probability=5,
        impact=5,
        discovered_at=timezone.now() - dt.timedelta(hours=40),
    )
    overdue = accepted(w, report(w, title="逾期回應", probability=3, impact=2))
    Risk.objects.filter(pk=overdue.pk).update(response_due=timezone.now() - dt.timedelta(hours=2))
    report(w, title="低風險", probability=1, impact=2)
    dashboard = _get(client, w.pmo, reverse("portfolio_app:dashboard"))
    assert dashboard.status_code == 200
    figures = dashboard.context["risks"]
    assert figures["counts"] == {
        "reported": 3, "late": 1, "high": 1, "medium": 1, "low": 1, "overdue": 1,
    }  # fmt: skip
    register = reverse("risks_app:register")
    for name, count in figures["counts"].items():
        listed = client.get(f"{register}?{figures['links'][name]}")
        assert listed.context["page"].paginator.count == count, name
    assert 'data-risk-figure="late"' in dashboard.content.decode()
    # A head of an uninvolved department counts none of them.
    other = _get(client, w.other_head, reverse("portfolio_app:dashboard"))
    assert set(other.context["risks"]["counts"].values()) == {0}


def test_the_monthly_analysis_counts_the_months_risk_reports(risk_world):
    from portfolio_app.selectors.analysis import monthly_analysis
    from risks_app import services

    w = risk_world
    found = timezone.now() - dt.timedelta(hours=30)
    late = report(w, title="晚報", probability=5, impact=5, discovered_at=found)
    report(w, title="低", probability=1, impact=1)
    services.risk_close(risk=late, by=w.pmo, note="已處理")
    today = timezone.localdate()
    figures = monthly_analysis(today).risk_reports
    assert figures == {
        "reported": 2, "high": 1, "medium": 0, "low": 1, "late": 1,
        "resolved": 0, "occurred": 0, "closed": 1, "open_at_end": 1,
    }  # fmt: skip
    # Scoped to a department that takes no part: nothing.
    assert set(monthly_analysis(today, scope=(w.other.pk,)).risk_reports.values()) == {0}
    assert monthly_analysis(today, scope=(w.tech.pk,)).risk_reports["reported"] == 2
