"""The Django admin of risk reports and of the scoring matrix (issue 16 §1): each page
with the roles that must and must not see it, the state buttons that call the services
(and write the same history rows as the portal's acts), and a matrix cell whose edit
re-levels the open risks of that cell.

Heads see the risks of their departments' requests and only view; the PMO and platform
administrators act; executives view everything; staff do not use admin. The matrix is
the PMO's and the administrators' only.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import messages
from django.urls import reverse
from django.utils import timezone

from collab.services import user_sync_access
from risks_app import services
from risks_app.choices import RiskEventKind, RiskState
from risks_app.models import Risk, RiskEvent, RiskMatrixCell
from tasks_app.choices import RiskLevel
from tests.factories import make_approved_request
from tests.helpers import assert_constant_queries
from tests.helpers import changelist_pks as listed
from tests.helpers import messages_at as sent
from tests.risks_fixtures import accepted, archive, report

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.risks_fixtures"]

RISKS = "admin:risks_app_risk_changelist"
MATRIX = "admin:risks_app_riskmatrixcell_changelist"
MOMENT = "%Y-%m-%dT%H:%M"


def change_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def transition_url(obj, name):
    return reverse("admin:risks_app_risk_transition", args=[obj.pk, name])


@pytest.fixture
def w(risk_world):
    """The risk world with its heads in their admin groups, and 運營部's own request
    (已立項) with a risk its staff member reported."""
    w = risk_world
    for head in (w.mkt_head, w.tech_head, w.other_head):
        user_sync_access(head)
    w.other_request = make_approved_request(
        initiator=w.other_staff, departments=[w.other], lead=w.other, pmo=w.pmo
    )
    w.risk = report(w)
    w.other_risk = report(w, request=w.other_request, by=w.other_staff, title="門市人力不足")
    return w


def _buttons(response) -> set[str]:
    return {
        t.name
        for block in response.context["fsm_object_transitions"]
        for t in block.available_transitions
    }


# --- who sees what -------------------------------------------------------------------


def test_risk_changelist_is_scoped_per_role(w, client_for):
    """Heads list the risks of their departments' requests; the PMO, executives and
    administrators list all; staff are sent to the login page."""
    both = {w.risk.pk, w.other_risk.pk}
    for user, expected in (
        (w.mkt_head, {w.risk.pk}),
        (w.tech_head, {w.risk.pk}),
        (w.other_head, {w.other_risk.pk}),
        (w.pmo, both),
        (w.executive, both),
        (w.admin, both),
    ):
        response = client_for(user).get(reverse(RISKS))
        assert response.status_code == 200, user
        assert listed(response) == expected, user
    for user in (w.mkt_staff, w.tech_deputy, w.consultant):
        response = client_for(user).get(reverse(RISKS))
        assert response.status_code == 302, user
        assert response.url.startswith(reverse("admin:login")), user


def test_another_departments_risk_is_not_found(w, client_for):
    """Django admin's "not found" (back to the index with a message) for a risk the head
    may not see, on its page, its transition form and its buttons; staff are sent to
    the login page."""
    for url in (change_url(w.risk), transition_url(w.risk, "close")):
        response = client_for(w.other_head).get(url)
        assert response.status_code == 302, url
        assert response.url == reverse("admin:index"), url
        response = client_for(w.mkt_staff).get(url)
        assert response.url.startswith(reverse("admin:login")), url
    response = client_for(w.other_head).post(
        change_url(w.risk), {"_fsm_transition_to": "close", "_fsm_expected_state": "reported"}
    )
    assert response.url == reverse("admin:index")
    assert Risk.objects.get(pk=w.risk.pk).state == RiskState.REPORTED
    assert client_for(w.other_head).get(change_url(w.other_risk)).status_code == 200


def test_a_head_views_the_report_and_its_history_without_buttons(w, client_for):
    accepted(w, w.risk)
    client = client_for(w.mkt_head)
    response = client.get(change_url(w.risk))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert _buttons(response) == set()
    [history] = [
        fs.formset
        for fs in response.context["inline_admin_formsets"]
        if fs.formset.model is RiskEvent
    ]
    assert [e.kind for e in history.queryset.order_by("at", "pk")] == [
        RiskEventKind.REPORT,
        RiskEventKind.ACCEPT,
    ]
    content = response.content.decode()
    assert w.risk.title in content and "改用備用供應商" in content
    # A posted button is refused: a head only views.
    response = client.post(
        transition_url(w.risk, "close"),
        {"note": "不相關", "_fsm_expected_state": RiskState.RESPONDING},
    )
    assert sent(response, messages.ERROR)
    assert Risk.objects.get(pk=w.risk.pk).state == RiskState.RESPONDING


def test_changelist_filters_and_search(w, client_for):
    late = report(w, title="晚報的風險", discovered_at=timezone.now() - dt.timedelta(hours=30))
    services.risk_close(risk=w.other_risk, by=w.pmo, note="評估後不相關")
    client = client_for(w.pmo)
    assert listed(client.get(reverse(RISKS), {"late": "1"})) == {late.pk}
    assert listed(client.get(reverse(RISKS), {"state__exact": RiskState.CLOSED})) == {
        w.other_risk.pk
    }
    assert listed(client.get(reverse(RISKS), {"q": "門市"})) == {w.other_risk.pk}
    assert listed(client.get(reverse(RISKS), {"request__id__exact": w.request.pk})) == {
        w.risk.pk,
        late.pk,
    }
    high = report(w, title="主要供應商停產", probability=5, impact=4)
    assert listed(client.get(reverse(RISKS), {"level__exact": RiskLevel.HIGH})) == {high.pk}


def test_the_request_filter_names_only_requests_the_head_may_see(w, client_for):
    """The request filter offers the requests of the listed rows, not every request."""
    second = make_approved_request(initiator=w.initiator, departments=[w.mkt], pmo=w.pmo)
    report(w, request=second, title="第二個需求的風險")

    def offered(user):
        response = client_for(user).get(reverse(RISKS))
        [spec] = [
            spec
            for spec in response.context["cl"].filter_specs
            if getattr(spec, "field_path", None) == "request"
        ]
        return {pk for pk, _label in spec.lookup_choices}

    assert offered(w.mkt_head) == {w.request.pk, second.pk}
    assert offered(w.pmo) == {w.request.pk, second.pk, w.other_request.pk}


def test_risk_changelist_queries_do_not_grow_with_rows(w, client_for):
    def make_rows(n):
        for i in range(n):
            accepted(w, report(w, title=f"風險{i}", probability=1 + i % 5))

    client = client_for(w.pmo)
    assert_constant_queries(make_rows, lambda: client.get(reverse(RISKS)))
    head = client_for(w.tech_head)
    assert_constant_queries(make_rows, lambda: head.get(reverse(RISKS)))


# --- the state buttons ---------------------------------------------------------------


def test_pmo_organises_the_response_through_the_service(w, client_for):
    """The button asks for the owner, the deadline and the plan, then services.risk_accept
    moves the report and writes its history line."""
    client = client_for(w.pmo)
    response = client.get(change_url(w.risk))
    assert _buttons(response) == {"accept", "close"}
    response = client.post(
        change_url(w.risk),
        {"_fsm_transition_to": "accept", "_fsm_expected_state": RiskState.REPORTED},
    )
    assert response.status_code == 302 and response.url == transition_url(w.risk, "accept")
    assert client.get(response.url).status_code == 200
    # Nothing typed: the form asks again, nothing moves.
    response = client.post(response.url, {"_fsm_expected_state": RiskState.REPORTED})
    assert response.status_code == 200 and response.context["transition_form"].errors
    # A deadline in the past: the service refuses, nothing moves.
    past = timezone.localtime() - dt.timedelta(days=1)
    data = {
        "owner": w.tech_staff.pk,
        "response_due": past.strftime(MOMENT),
        "plan": "改用備用供應商。",
        "_fsm_expected_state": RiskState.REPORTED,
    }
    response = client.post(transition_url(w.risk, "accept"), data)
    assert sent(response, messages.ERROR)
    assert Risk.objects.get(pk=w.risk.pk).state == RiskState.REPORTED
    due = (timezone.localtime() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
    data["response_due"] = due.strftime(MOMENT)
    response = client.post(transition_url(w.risk, "accept"), data)
    assert response.status_code == 302 and response.url == change_url(w.risk)
    risk = Risk.objects.get(pk=w.risk.pk)
    assert risk.state == RiskState.RESPONDING
    assert (risk.owner, risk.response_due, risk.response_plan) == (
        w.tech_staff,
        due,
        "改用備用供應商。",
    )
    event = risk.events.get(kind=RiskEventKind.ACCEPT)
    assert event.by == w.pmo
    assert (event.from_state, event.to_state) == (RiskState.REPORTED, RiskState.RESPONDING)
    assert sent(response, messages.SUCCESS)
    # A page from before the acceptance gets no second one.
    response = client.post(transition_url(w.risk, "accept"), data)
    assert sent(response, messages.ERROR)
    assert risk.events.filter(kind=RiskEventKind.ACCEPT).count() == 1


@pytest.mark.parametrize(
    ("name", "kind", "state"),
    [
        ("resolve", RiskEventKind.RESOLVE, RiskState.RESOLVED),
        ("occur", RiskEventKind.OCCUR, RiskState.OCCURRED),
        ("close", RiskEventKind.CLOSE, RiskState.CLOSED),
    ],
)
def test_conclusions_ask_for_a_note_and_call_the_services(w, client_for, name, kind, state):
    risk = accepted(w, w.risk)
    client = client_for(w.admin)
    assert _buttons(client.get(change_url(risk))) == {"resolve", "occur", "close"}
    response = client.post(
        change_url(risk), {"_fsm_transition_to": name, "_fsm_expected_state": risk.state}
    )
    assert response.url == transition_url(risk, name)
    response = client.post(response.url, {"note": "", "_fsm_expected_state": risk.state})
    assert response.status_code == 200 and response.context["transition_form"].errors
    response = client.post(
        transition_url(risk, name), {"note": "處理完畢", "_fsm_expected_state": risk.state}
    )
    assert response.status_code == 302 and response.url == change_url(risk)
    risk = Risk.objects.get(pk=risk.pk)
    assert risk.state == state and risk.closed_at is not None
    event = risk.events.get(kind=kind)
    assert (event.by, event.comment) == (w.admin, "處理完畢")
    assert (event.from_state, event.to_state) == (RiskState.RESPONDING, state)
    # Concluded: no button is left.
    assert _buttons(client.get(change_url(risk))) == set()


def test_admin_and_the_portal_write_the_same_history_row(w, client_for):
    """Resolving in admin and on the portal's page leave the same line."""
    first = accepted(w, w.risk)
    second = accepted(w, report(w, title="設計稿延誤"))
    client = client_for(w.pmo)
    client.post(
        transition_url(first, "resolve"),
        {"note": "備用供應商已到貨", "_fsm_expected_state": RiskState.RESPONDING},
    )
    client.post(
        reverse("risks_app:act", args=[second.pk, "resolve"]),
        {"note": "備用供應商已到貨", "expected_state": RiskState.RESPONDING},
    )
    fields = ["kind", "transition", "from_state", "to_state", "by", "comment", "params"]
    rows = [
        RiskEvent.objects.filter(risk=risk, kind=RiskEventKind.RESOLVE).values(*fields).get()
        for risk in (first, second)
    ]
    assert rows[0] == rows[1]


def test_the_owner_who_is_a_head_concludes_in_admin(w, client_for):
    """The response owner marks the risk resolved, though heads otherwise only view."""
    risk = accepted(w, w.risk, owner=w.tech_head)
    client = client_for(w.tech_head)
    assert _buttons(client.get(change_url(risk))) == {"resolve", "occur"}
    response = client.post(
        transition_url(risk, "occur"),
        {"note": "供應商確定停產", "_fsm_expected_state": RiskState.RESPONDING},
    )
    assert response.url == change_url(risk)
    assert Risk.objects.get(pk=risk.pk).state == RiskState.OCCURRED
    # Closing is the PMO's.
    other = accepted(w, report(w, title="另一個風險"), owner=w.tech_head)
    response = client.post(
        transition_url(other, "close"),
        {"note": "不相關", "_fsm_expected_state": RiskState.RESPONDING},
    )
    assert sent(response, messages.ERROR)
    assert Risk.objects.get(pk=other.pk).state == RiskState.RESPONDING


def test_an_archived_cases_risk_is_read_only(w, client_for):
    archive(w.request, by=w.pmo)
    client = client_for(w.pmo)
    response = client.get(change_url(w.risk))
    assert response.status_code == 200
    assert _buttons(response) == set()
    response = client.post(
        transition_url(w.risk, "close"),
        {"note": "歸檔後關閉", "_fsm_expected_state": RiskState.REPORTED},
    )
    assert sent(response, messages.ERROR)
    assert Risk.objects.get(pk=w.risk.pk).state == RiskState.REPORTED


# --- the matrix ----------------------------------------------------------------------


def test_the_matrix_is_the_pmos_and_administrators(w, client_for):
    for user in (w.pmo, w.admin):
        response = client_for(user).get(reverse(MATRIX))
        assert response.status_code == 200, user
        assert len(response.context["cl"].result_list) == 25
        assert response.context["cl"].formset is not None
        cell = RiskMatrixCell.objects.get(probability=3, impact=3)
        assert client_for(user).get(change_url(cell)).status_code == 200
    for user in (w.mkt_head, w.other_head, w.executive):
        assert client_for(user).get(reverse(MATRIX)).status_code == 403, user
    response = client_for(w.mkt_staff).get(reverse(MATRIX))
    assert response.url.startswith(reverse("admin:login"))
    # Cells are neither added nor deleted.
    client = client_for(w.admin)
    assert client.get(reverse("admin:risks_app_riskmatrixcell_add")).status_code == 403
    response = client.get(reverse("admin:risks_app_riskmatrixcell_delete", args=[cell.pk]))
    assert response.status_code == 403


def _matrix_data(response, **levels) -> dict:
    """The changelist's form as a browser sends it, with `levels` ("p_i": level) changed."""
    formset = response.context["cl"].formset
    data = {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
    for form in formset.forms:
        cell = form.instance
        data[f"{form.prefix}-id"] = cell.pk
        data[f"{form.prefix}-level"] = levels.get(f"{cell.probability}_{cell.impact}", cell.level)
    data["_save"] = "1"
    return data


def test_editing_a_cell_relevels_its_open_risks(w, client_for):
    """3 × 3 becomes 高: the open risks of that cell follow, a concluded one keeps its
    level, another cell's risk is untouched, and the next report is high."""
    open_risk = w.risk  # 3 × 3, 中
    responding = accepted(w, report(w, title="應對中的風險"))
    done = accepted(w, report(w, title="已解除的風險"))
    services.risk_resolve(risk=done, by=w.pmo, note="已處理")
    elsewhere = report(w, title="另一格", probability=2, impact=3)
    client = client_for(w.pmo)
    response = client.get(reverse(MATRIX))
    response = client.post(reverse(MATRIX), _matrix_data(response, **{"3_3": RiskLevel.HIGH}))
    assert response.status_code == 302
    assert RiskMatrixCell.objects.get(probability=3, impact=3).level == RiskLevel.HIGH
    levels = dict(Risk.objects.values_list("pk", "level"))
    assert levels[open_risk.pk] == levels[responding.pk] == RiskLevel.HIGH
    assert levels[done.pk] == RiskLevel.MEDIUM
    assert levels[elsewhere.pk] == RiskLevel.MEDIUM
    assert sent(response, messages.INFO)
    assert report(w, title="新的風險").level == RiskLevel.HIGH
    # The cell's own page saves through the service too.
    cell = RiskMatrixCell.objects.get(probability=3, impact=3)
    response = client.post(change_url(cell), {"level": RiskLevel.LOW, "_save": "1"})
    assert response.status_code == 302
    assert Risk.objects.get(pk=open_risk.pk).level == RiskLevel.LOW
    # Probability and impact stay as they are.
    cell.refresh_from_db()
    assert (cell.probability, cell.impact) == (3, 3)
