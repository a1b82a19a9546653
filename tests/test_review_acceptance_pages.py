"""The acceptance pages: the panel and answer form on the task page, the answer view, the
to-do section and the case page, for every role that must and must not see them.

Assertions look at status codes, the database, element ids and data attributes, and the
Chinese text people typed (the UI text is translated separately).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from review_app.choices import AcceptanceOutcome, Verdict
from review_app.models import AcceptanceVerdict, TaskAcceptance
from review_app.services import acceptance as services
from review_app.views import acceptance as views
from tasks_app.choices import TaskState
from tasks_app.models import Task
from tests.helpers import assert_constant_queries, count_queries
from tests.review_acceptance_fixtures import later, make_world, pass_every_seat, seat, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(pmo):
    w = make_world(pmo)
    submit(w, note="第一版 API")
    return w


def _answer_url(verdict) -> str:
    return reverse("review_app:acceptance-answer", args=[verdict.pk])


def _post(verdict, **fields) -> dict:
    prefix = f"seat{verdict.pk}-"
    return {prefix + key: value for key, value in fields.items()}


def _levels(response) -> list[str]:
    if response.status_code != 302:
        return [m.level_tag for m in get_messages(response.wsgi_request)]
    return [m.level_tag for m in response.client.get(response.url).context["messages"]]


def _page(client, task) -> str:
    response = client.get(task.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


# --- the task page's panel ----------------------------------------------------------------


SEAT_HOLDERS = ["accountable", "initiator", "tech_head", "tech_deputy", "design_head"]
NO_SEAT = ["owner", "consulted", "mkt_head", "pmo"]


@pytest.mark.parametrize("who", SEAT_HOLDERS)
def test_seat_holders_get_the_answer_form(client_for, w, who):
    """A, the initiator, the task's departments' heads and an acting deputy see the round
    and a form for their seat (the deputy marked as acting for the head)."""
    html = _page(client_for(getattr(w, who)), w.task)
    assert 'id="acceptance"' in html and 'data-round="1"' in html
    assert len(re.findall(r'id="acceptance-seat-\d+"', html)) == 1
    assert 'id="action-acceptance"' in html
    assert (f'data-acting-for="{w.tech_head.pk}"' in html) == (who == "tech_deputy")


@pytest.mark.parametrize("who", NO_SEAT)
def test_others_see_the_round_without_a_form(client_for, w, who):
    """The R, C, an uninvolved head and the PMO see the round and its answers only."""
    html = _page(client_for(getattr(w, who)), w.task)
    assert 'id="acceptance"' in html and "第一版 API" in html
    assert "acceptance-seat-" not in html and 'id="action-acceptance"' not in html


def test_outsider_sees_neither_the_task_nor_the_answer_view(client_for, w):
    client = client_for(w.outsider)
    assert client.get(w.task.get_absolute_url()).status_code == 404
    verdict = seat(w.task, person=w.accountable)
    response = client.post(_answer_url(verdict), _post(verdict, decision="passed"))
    assert response.status_code == 404
    assert AcceptanceVerdict.objects.get(pk=verdict.pk).decision == Verdict.PENDING


def test_anonymous_is_sent_to_log_in(client, w):
    verdict = seat(w.task, person=w.accountable)
    response = client.post(_answer_url(verdict), _post(verdict, decision="passed"))
    assert response.status_code == 302 and "login" in response.url
    assert AcceptanceVerdict.objects.get(pk=verdict.pk).decision == Verdict.PENDING


@pytest.mark.parametrize("who", ["owner", "consulted", "pmo", "design_head"])
def test_answering_someone_elses_seat_is_403(client_for, w, who):
    """R, C and the PMO hold no seat; the design head does, but not the A's."""
    verdict = seat(w.task, person=w.accountable)
    response = client_for(getattr(w, who)).post(
        _answer_url(verdict), _post(verdict, decision="passed")
    )
    assert response.status_code == 403
    assert AcceptanceVerdict.objects.get(pk=verdict.pk).decision == Verdict.PENDING


def test_answer_view_is_post_only(client_for, w):
    verdict = seat(w.task, person=w.accountable)
    assert client_for(w.accountable).get(_answer_url(verdict)).status_code == 405


def test_pass_through_the_page(client_for, w):
    """A passes: back to the task page with a success message; the answer is shown."""
    verdict = seat(w.task, person=w.accountable)
    client = client_for(w.accountable)
    response = client.post(_answer_url(verdict), _post(verdict, decision="passed"))
    assert response.status_code == 302 and response.url.endswith("#acceptance")
    assert _levels(response) == ["success"]
    verdict.refresh_from_db()
    assert (verdict.decision, verdict.decided_by) == (Verdict.PASSED, w.accountable)
    html = _page(client, w.task)
    assert f'data-verdict="{verdict.pk}" data-decision="passed"' in html
    assert "acceptance-seat-" not in html  # answered: no form any more


def test_deputy_answers_through_the_page_on_behalf_of_the_head(client_for, w):
    verdict = seat(w.task, department=w.tech)
    response = client_for(w.tech_deputy).post(
        _answer_url(verdict), _post(verdict, decision="passed")
    )
    assert response.status_code == 302
    verdict.refresh_from_db()
    assert (verdict.decided_by, verdict.on_behalf_of) == (w.tech_deputy, w.tech_head)


def test_rectify_without_a_deadline_shows_the_error_and_keeps_the_text(client_for, w):
    """需整改 needs a deadline: the page comes back with the error by the field and the
    reason as typed; nothing is saved."""
    verdict = seat(w.task, person=w.initiator)
    response = client_for(w.initiator).post(
        _answer_url(verdict), _post(verdict, decision="rectify", reason="請補上錯誤碼一覽表")
    )
    assert response.status_code == 200
    assert "error" in _levels(response)
    html = response.content.decode()
    form = re.search(rf'id="acceptance-seat-{verdict.pk}".*?</form>', html, re.S).group(0)
    assert "請補上錯誤碼一覽表" in form
    assert "invalid-feedback" in form
    assert 'value="rectify" class="form-check-input"' in form and "checked" in form
    verdict.refresh_from_db()
    assert verdict.decision == Verdict.PENDING
    assert Task.objects.get(pk=w.task.pk).state == TaskState.SUBMITTED


def test_fail_without_a_reason_is_refused_on_the_page(client_for, w):
    verdict = seat(w.task, person=w.accountable)
    response = client_for(w.accountable).post(
        _answer_url(verdict), _post(verdict, decision="failed", reason=" ")
    )
    assert response.status_code == 200
    assert "error" in _levels(response)
    assert AcceptanceVerdict.objects.get(pk=verdict.pk).decision == Verdict.PENDING


def test_rectify_through_the_page_moves_the_due_date(client_for, w):
    verdict = seat(w.task, department=w.design)
    deadline = later(6)
    response = client_for(w.design_head).post(
        _answer_url(verdict),
        _post(
            verdict,
            decision="rectify",
            reason="配色不符品牌規範",
            rectify_date=f"{timezone.localdate(deadline):%Y-%m-%d}",
            rectify_time="17:00",
            confirm_earlier="on",  # before the task's due date
        ),
    )
    assert response.status_code == 302
    task = Task.objects.get(pk=w.task.pk)
    assert task.state == TaskState.IN_PROGRESS and task.due_at == deadline


def test_a_stale_page_gets_a_conflict_and_keeps_the_text(client_for, w):
    """Two reviewers: the initiator's 需整改 closes the round while the design head's
    page still shows the form; the head's answer is refused with a message, the typed
    reason stays on screen to copy, and nothing else changes."""
    stale = seat(w.task, department=w.design)
    services.acceptance_answer(
        verdict=seat(w.task, person=w.initiator),
        by=w.initiator,
        decision=Verdict.RECTIFY,
        reason="缺少文件",
        rectify_due_at=later(3),
        earlier_confirmed=True,
    )
    response = client_for(w.design_head).post(
        _answer_url(stale), _post(stale, decision="failed", reason="我也覺得不行")
    )
    assert response.status_code == 200
    assert _levels(response) == ["error"]
    html = response.content.decode()
    assert 'id="acceptance-unsent"' in html and "我也覺得不行" in html
    assert AcceptanceVerdict.objects.get(pk=stale.pk).decision == Verdict.CLOSED
    assert TaskAcceptance.objects.get(task=w.task).outcome == AcceptanceOutcome.RECTIFY


def test_the_page_shows_every_round_with_every_answer_and_versioned_files(client_for, w):
    """After a 需整改 and a resubmission the page lists round 2 (open) and round 1 with
    its answers and reason, each with its own files (v1, v2)."""
    services.acceptance_answer(
        verdict=seat(w.task, person=w.accountable),
        by=w.accountable,
        decision=Verdict.RECTIFY,
        reason="補上錯誤碼",
        rectify_due_at=later(4),
        earlier_confirmed=True,
    )
    upload = SimpleUploadedFile("api-v2.txt", "第二版".encode(), content_type="text/plain")
    submit(w, note="第二版已補錯誤碼", files=[upload])
    html = _page(client_for(w.consulted), w.task)
    assert 'data-round="2"' in html and 'data-round="1"' in html
    assert html.index('data-round="2"') < html.index('data-round="1"')
    assert "補上錯誤碼" in html and "第二版已補錯誤碼" in html and "第一版 API" in html
    assert 'data-version="2"' in html and "api-v2.txt" in html
    assert html.count('data-decision="closed"') == 3


def test_task_page_queries_do_not_grow_with_rounds(client_for, w):
    """The panel reads rounds, answers and files in a fixed number of queries."""
    client = client_for(w.accountable)
    n_one, _ = count_queries(lambda: client.get(w.task.get_absolute_url()))
    for n in range(3):
        services.acceptance_answer(
            verdict=seat(w.task, department=w.tech),
            by=w.tech_head,
            decision=Verdict.RECTIFY,
            reason=f"第{n}次整改",
            rectify_due_at=later(3 + n),
            earlier_confirmed=True,
        )
        upload = SimpleUploadedFile(f"v{n}.txt", b"x", content_type="text/plain")
        submit(w, note=f"第{n + 2}版", files=[upload])
    n_four, _ = count_queries(lambda: client.get(w.task.get_absolute_url()))
    assert n_four == n_one


# --- the to-do page --------------------------------------------------------------------------


@pytest.mark.parametrize("who", SEAT_HOLDERS)
def test_todo_lists_the_seats_waiting_on_me(client_for, w, who):
    html = client_for(getattr(w, who)).get(reverse("portfolio_app:todo")).content.decode()
    assert 'id="todo-acceptance"' in html
    assert len(re.findall(r'data-seat="\d+"', html)) == 1
    assert (f'data-acting-for="{w.tech_head.pk}"' in html) == (who == "tech_deputy")
    assert 'data-due="later"' in html


@pytest.mark.parametrize("who", NO_SEAT)
def test_todo_shows_no_seat_to_others(client_for, w, who):
    html = client_for(getattr(w, who)).get(reverse("portfolio_app:todo")).content.decode()
    assert 'id="todo-acceptance"' not in html


def test_todo_highlights_overdue_and_drops_answered_seats(client_for, w):
    TaskAcceptance.objects.update(due_date=timezone.localdate() - dt.timedelta(days=1))
    client = client_for(w.initiator)
    html = client.get(reverse("portfolio_app:todo")).content.decode()
    assert 'data-due="overdue"' in html and "row-overdue" in html
    services.acceptance_answer(
        verdict=seat(w.task, person=w.initiator), by=w.initiator, decision=Verdict.PASSED
    )
    html = client.get(reverse("portfolio_app:todo")).content.decode()
    assert 'id="todo-acceptance"' not in html


def test_todo_context_runs_a_constant_number_of_queries(pmo, w):
    """Person seats and department seats (own and deputised) of many tasks: the to-do
    section's queries do not grow with them."""
    from tests.factories import DelegationFactory

    # One user holding all three kinds of seat: initiator of new requests, head of
    # design, and deputy of the tech head.
    DelegationFactory(head=w.tech_head, deputy=w.design_head)

    def make_rows(n):
        for _ in range(n):
            world = make_world(pmo)
            world.design.heads.add(w.design_head)
            submit(world)

    def fetch():
        rows = views.todo_context(w.design_head)["acceptance_todo"]
        assert rows
        return [(r.acceptance.task.number, r.department, r.acting_for) for r in rows]

    assert_constant_queries(make_rows, fetch, small=1, large=4)


# --- the case page --------------------------------------------------------------------------


CASE_VIEWERS = ["initiator", "owner", "tech_head", "mkt_head", "pmo"]


@pytest.mark.parametrize("who", CASE_VIEWERS)
def test_case_page_lists_every_task_with_its_acceptance(client_for, w, who):
    response = client_for(getattr(w, who)).get(reverse("review_app:case", args=[w.request.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="case-acceptance"' in html
    assert f'data-task="{w.task.pk}" data-acceptance="open"' in html


def test_case_page_is_404_for_an_outsider(client_for, w):
    response = client_for(w.outsider).get(reverse("review_app:case", args=[w.request.pk]))
    assert response.status_code == 404


def test_case_page_shows_the_outcome_and_round(client_for, w):
    services.acceptance_answer(
        verdict=seat(w.task, person=w.accountable),
        by=w.accountable,
        decision=Verdict.RECTIFY,
        reason="再補",
        rectify_due_at=later(2),
        earlier_confirmed=True,
    )
    submit(w, note="第二版")
    pass_every_seat(w.task)
    html = client_for(w.initiator).get(reverse("review_app:case", args=[w.request.pk]))
    html = html.content.decode()
    assert f'data-task="{w.task.pk}" data-acceptance="passed"' in html
    row = re.search(rf'data-task="{w.task.pk}".*?</tr>', html, re.S).group(0)
    assert "v2" in row
