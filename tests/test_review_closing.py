"""The final acceptance 成果驗收確認單: its guard on 已完成, opening, signatures, refusal.

Services are called as the pages call them; the rows, the request's timeline and the
notifications are what is checked.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_fsm import can_proceed

from collab.models import Notification
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestState
from requests_app.models import CollabRequest, RequestEvent
from review_app.choices import FinalOutcome, RetrospectiveState, SignatureDecision
from review_app.models import FinalAcceptance, FinalSignature, Retrospective
from review_app.selectors import closing as selectors
from review_app.services import closing as services
from tasks_app.models import Task
from tests.factories import DepartmentFactory, UserFactory, make_approved_request, make_head
from tests.review_closing_fixtures import (
    build_project,
    complete,
    open_final,
    sign_all,
    signature_of,
)

pytestmark = pytest.mark.django_db
# The `project` fixture (build_project) comes from the shared closing fixtures.
pytest_plugins = ["tests.review_closing_fixtures"]


def _events(req, kind):
    return list(RequestEvent.objects.filter(request=req, kind=kind).order_by("pk"))


def _closing_notes(user):
    """The notices this area sent `user` (they link to the case page's closing panels)."""
    return Notification.objects.filter(recipient=user, url__contains="/case/#closing")


# --- the guard ------------------------------------------------------------------------------


def test_request_cannot_complete_without_a_signed_final_acceptance(project):
    """The service refuses 已完成 before the final acceptance, even for the initiator,
    and the model's own transition is closed too."""
    req = project.request
    assert not can_proceed(req.complete)
    with pytest.raises(request_services.TransitionRefused):
        request_services.request_complete(request=req, by=project.initiator)
    with pytest.raises(request_services.TransitionRefused):
        request_services.request_complete_unchecked(request=req, by=project.pmo)
    # An open round, or a returned one, does not open the guard either.
    final = open_final(project)
    assert not can_proceed(project.refresh().complete)
    services.final_refuse(
        signature=signature_of(final, project.design), by=project.design_head, reason="設計稿未定版"
    )
    assert not can_proceed(project.refresh().complete)
    assert project.refresh().state == RequestState.IN_PROGRESS
    assert project.request.completed_at is None


def test_the_guard_opens_only_with_a_signed_round(project):
    final = open_final(project)
    FinalAcceptance.objects.filter(pk=final.pk).update(outcome=FinalOutcome.SIGNED)
    assert can_proceed(project.refresh().complete)


# --- opening ----------------------------------------------------------------------------------


def test_opening_is_refused_while_a_task_is_not_done(pmo):
    """One task still in progress: the initiator is told which, and nothing is created."""
    p = build_project(pmo, done=False)
    Task.objects.filter(pk=p.tasks[0].pk).update(state="done")
    with pytest.raises(ValidationError) as err:
        services.final_open(request=p.request, by=p.initiator, summary="完成")
    assert "用戶需求收集" in " ".join(err.value.messages)
    assert "新功能設計" not in " ".join(err.value.messages)
    assert not FinalAcceptance.objects.filter(request=p.request).exists()
    # The panel and the to-do agree: not ready, so nothing to open.
    assert not selectors.readiness(p.request).ready
    assert selectors.requests_awaiting_final(p.initiator) == []


def test_opening_is_refused_outside_in_progress(pmo):
    mkt = DepartmentFactory()
    make_head(mkt, admin_groups=False)
    initiator = UserFactory(department=mkt)
    req = make_approved_request(initiator=initiator, departments=[mkt], pmo=pmo)
    with pytest.raises(services.ClosingRefused):
        services.final_open(request=req, by=initiator, summary="完成")


def test_only_the_initiator_or_the_pmo_opens_it(project):
    for user in (project.designer, project.design_head, project.outsider):
        with pytest.raises(PermissionDenied):
            services.final_open(request=project.request, by=user, summary="完成")
    final = services.final_open(request=project.request, by=project.pmo, summary="PMO 發起")
    assert final.opened_by == project.pmo


def test_summary_is_required_and_a_second_open_round_is_refused(project):
    with pytest.raises(ValidationError) as err:
        services.final_open(request=project.request, by=project.initiator, summary="  ")
    assert "summary" in err.value.message_dict
    open_final(project)
    with pytest.raises(services.ClosingConflict):
        open_final(project)
    assert FinalAcceptance.objects.filter(request=project.request).count() == 1


def test_opening_asks_every_involved_department_and_tells_heads_and_deputies(project):
    """The collaborating departments plus the initiating one, each once; the heads and
    the acting deputy are notified, the request's timeline has the opening."""
    final = open_final(project)
    assert final.round == 1
    assert final.outcome == FinalOutcome.OPEN
    departments = {s.department for s in final.signatures.all()}
    assert departments == {project.mkt, project.design, project.sales}
    assert all(s.decision == SignatureDecision.PENDING for s in final.signatures.all())
    (event,) = _events(project.request, EventKind.FINAL_OPENED)
    assert event.by == project.initiator
    assert "三項新功能已上線" in event.comment
    for user in (project.mkt_head, project.design_head, project.sales_head, project.sales_deputy):
        assert _closing_notes(user).exists(), user
    assert not _closing_notes(project.outsider_head).exists()
    assert not _closing_notes(project.initiator).exists()


def test_involved_departments_are_deduplicated(pmo):
    """When the initiating department collaborates too, it signs once."""
    p = build_project(pmo)
    from requests_app.models import RequestDepartment

    RequestDepartment.objects.create(request=p.request, department=p.mkt)
    final = open_final(p)
    assert sorted(s.department.code for s in final.signatures.all()) == sorted(
        [p.mkt.code, p.design.code, p.sales.code]
    )


# --- signing ------------------------------------------------------------------------------


def test_head_signs_for_their_department_only(project):
    final = open_final(project)
    design = signature_of(final, project.design)
    with pytest.raises(PermissionDenied):
        services.final_sign(signature=design, by=project.sales_head)
    with pytest.raises(PermissionDenied):
        services.final_sign(signature=design, by=project.designer)
    with pytest.raises(PermissionDenied):
        services.final_sign(signature=design, by=project.pmo)
    services.final_sign(signature=design, by=project.design_head, comment="設計稿確認")
    design.refresh_from_db()
    assert design.decision == SignatureDecision.SIGNED
    assert design.signed_by == project.design_head
    assert design.on_behalf_of is None
    assert design.comment == "設計稿確認"
    (event,) = _events(project.request, EventKind.FINAL_SIGNED)
    assert (event.by, event.department, event.on_behalf_of) == (
        project.design_head,
        project.design,
        None,
    )
    assert project.refresh().state == RequestState.IN_PROGRESS


def test_a_deputy_signs_on_behalf_of_the_head(project):
    final = open_final(project)
    sales = signature_of(final, project.sales)
    services.final_sign(signature=sales, by=project.sales_deputy)
    sales.refresh_from_db()
    assert sales.signed_by == project.sales_deputy
    assert sales.on_behalf_of == project.sales_head
    (event,) = _events(project.request, EventKind.FINAL_SIGNED)
    assert event.on_behalf_of == project.sales_head


def test_an_expired_delegation_no_longer_signs(project):
    from collab.models import Delegation

    Delegation.objects.filter(deputy=project.sales_deputy).update(
        end_date=timezone.localdate() - dt.timedelta(days=1)
    )
    final = open_final(project)
    with pytest.raises(PermissionDenied):
        services.final_sign(signature=signature_of(final, project.sales), by=project.sales_deputy)


def test_a_second_answer_for_the_same_department_is_a_conflict(project):
    """The head signs; the deputy who saw the same page gets a conflict, not a 2nd row."""
    final = open_final(project)
    page_copy = signature_of(final, project.sales)
    services.final_sign(signature=page_copy, by=project.sales_head)
    with pytest.raises(services.ClosingConflict):
        services.final_sign(signature=page_copy, by=project.sales_deputy)
    with pytest.raises(services.ClosingConflict):
        services.final_refuse(signature=page_copy, by=project.sales_deputy, reason="不同意")
    page_copy.refresh_from_db()
    assert page_copy.signed_by == project.sales_head
    assert len(_events(project.request, EventKind.FINAL_SIGNED)) == 1


def test_last_signature_completes_the_request(project):
    """The round closes as signed and the request goes 已完成 in the same transaction,
    with completed_at, a completion event, and the initiator told."""
    final = open_final(project)
    before = timezone.now()
    sign_all(project, final)
    final.refresh_from_db()
    req = project.refresh()
    assert final.outcome == FinalOutcome.SIGNED
    assert final.closed_at is not None
    assert req.state == RequestState.COMPLETED
    assert req.completed_at >= before
    (done,) = _events(req, EventKind.COMPLETED)
    assert (done.from_state, done.to_state) == (RequestState.IN_PROGRESS, RequestState.COMPLETED)
    assert done.by == project.sales_deputy
    assert len(_events(req, EventKind.FINAL_SIGNED)) == 3
    assert _closing_notes(project.initiator).count() == 1
    assert not selectors.requests_awaiting_final(project.initiator)


def test_signing_after_completion_is_refused(project):
    final = complete(project)
    with pytest.raises(services.ClosingConflict):
        services.final_sign(signature=signature_of(final, project.mkt), by=project.mkt_head)


# --- refusal and a new round ----------------------------------------------------------------


def test_refusal_needs_a_reason(project):
    final = open_final(project)
    with pytest.raises(ValidationError) as err:
        services.final_refuse(
            signature=signature_of(final, project.design), by=project.design_head, reason=" "
        )
    assert "reason" in err.value.message_dict
    assert signature_of(final, project.design).decision == SignatureDecision.PENDING


def test_refusal_returns_the_round_and_the_initiator_opens_a_new_one(project):
    """設計部 refuses: the round is returned, the others can no longer sign it, the
    initiator is told with the reason; a new round asks every department again."""
    final = open_final(project)
    services.final_sign(signature=signature_of(final, project.mkt), by=project.mkt_head)
    services.final_refuse(
        signature=signature_of(final, project.design),
        by=project.design_head,
        reason="設計稿缺少行動版",
    )
    final.refresh_from_db()
    assert final.outcome == FinalOutcome.RETURNED
    assert final.closed_at is not None
    (event,) = _events(project.request, EventKind.FINAL_RETURNED)
    assert event.comment == "設計稿缺少行動版"
    assert event.department == project.design
    (note,) = _closing_notes(project.initiator)
    assert "設計稿缺少行動版" in note.body
    with pytest.raises(services.ClosingConflict):
        services.final_sign(signature=signature_of(final, project.sales), by=project.sales_head)
    assert project.refresh().state == RequestState.IN_PROGRESS
    assert selectors.requests_awaiting_final(project.initiator) == [project.request]

    second = open_final(project, summary="補上行動版設計稿。")
    assert second.round == 2
    assert all(s.decision == SignatureDecision.PENDING for s in second.signatures.all())
    sign_all(project, second)
    assert project.refresh().state == RequestState.COMPLETED
    assert FinalSignature.objects.filter(final=final).count() == 3  # the first round is kept


# --- the retrospective created at completion -------------------------------------------------


def test_completion_creates_the_retrospective_due_a_week_later(project):
    complete(project)
    retro = Retrospective.objects.get(request=project.request)
    completed_on = timezone.localdate(project.request.completed_at)
    assert retro.due_date == completed_on + dt.timedelta(days=7)
    assert retro.state == RetrospectiveState.DRAFT
    assert {c.department for c in retro.contributions.all()} == {
        project.mkt,
        project.design,
        project.sales,
    }
    assert [r.pk for r in selectors.retrospectives_to_write(project.initiator)] == [retro.pk]
    # The completion notice names the retrospective's due date.
    (note,) = _closing_notes(project.initiator)
    assert retro.due_date.strftime("%Y-%m-%d") in note.body


def test_the_retrospective_hook_keeps_an_existing_one(project):
    complete(project)
    retro = Retrospective.objects.get(request=project.request)
    again = services.retrospective_create(request=project.request, by=project.pmo)
    assert again.pk == retro.pk
    assert Retrospective.objects.filter(request=project.request).count() == 1


def test_request_is_untouched_when_completion_fails(project, monkeypatch):
    """The last signature and the completion are one transaction: a failing completion
    leaves the signature pending and the round open."""
    final = open_final(project)
    services.final_sign(signature=signature_of(final, project.mkt), by=project.mkt_head)
    services.final_sign(signature=signature_of(final, project.design), by=project.design_head)

    def broken(**kwargs):
        raise request_services.RequestConflict("boom")

    monkeypatch.setattr(request_services, "request_complete_unchecked", broken)
    with pytest.raises(request_services.RequestConflict):
        services.final_sign(signature=signature_of(final, project.sales), by=project.sales_head)
    final.refresh_from_db()
    assert final.outcome == FinalOutcome.OPEN
    assert signature_of(final, project.sales).decision == SignatureDecision.PENDING
    assert CollabRequest.objects.get(pk=project.request.pk).state == RequestState.IN_PROGRESS
