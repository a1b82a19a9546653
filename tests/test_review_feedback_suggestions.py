"""Process-improvement suggestions 流程優化建議: raising, editing and the PMO's evaluation."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from collab import notifications
from collab.choices import Role
from collab.models import Notification
from requests_app.models import CollabRequest
from review_app.choices import FeedbackKind, SuggestionState
from review_app.models import Suggestion, SuggestionEvent
from review_app.services import feedback as services
from tests.concurrency import race
from tests.factories import DepartmentFactory, UserFactory
from tests.review_feedback_cases import retrospective_action

pytest_plugins = ["tests.review_feedback_fixtures"]

PAIN = "需求審核環節需各部門負責人線下簽字,平均耗時2天。"


def data(department, **extra):
    return {
        "department": department,
        "contact": "內線:8888",
        "pain_point": PAIN,
        "proposal": "平台新增電子簽批功能。",
        "expected_effect": "審核環節耗時縮短至4小時內。",
        "notes": "需IT部配合開發。",
        **extra,
    }


def raise_one(by, **extra):
    return services.suggestion_create(by=by, data=data(by.department, **extra))


@pytest.fixture
def proposer(db):
    return UserFactory(username="proposer", department=DepartmentFactory(code="mk"))


# --- raising ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_suggestion_is_numbered_yj_yyyymm_nnn_logged_and_sent_to_the_pmo(proposer, pmo):
    """Raising a suggestion numbers it YJ + month + 3 digits, starts it 已提交, writes its
    first history line and tells the PMO."""
    suggestion = raise_one(proposer)
    month = timezone.localdate().strftime("%Y%m")
    assert suggestion.number == f"YJ{month}001"
    assert raise_one(proposer).number == f"YJ{month}002"
    assert suggestion.state == SuggestionState.SUBMITTED
    assert suggestion.proposer == proposer and suggestion.department == proposer.department
    assert suggestion.request is None
    event = suggestion.events.get()
    assert (event.transition, event.from_state, event.to_state, event.by) == (
        "create",
        "",
        SuggestionState.SUBMITTED,
        proposer,
    )
    assert Notification.objects.filter(recipient=pmo, url=suggestion.get_absolute_url()).exists()


@pytest.mark.django_db
def test_raising_needs_a_department_and_the_required_fields(proposer):
    """No department → refused; missing pain point, proposal or effect, or another
    department than one's own or headed → field errors; nothing is written."""
    nobody = UserFactory(department=None)
    with pytest.raises(PermissionDenied):
        services.suggestion_create(by=nobody, data=data(None))
    other = DepartmentFactory()
    with pytest.raises(ValidationError) as caught:
        services.suggestion_create(
            by=proposer,
            data=data(other, pain_point=" ", proposal="", expected_effect=""),
        )
    assert set(caught.value.message_dict) == {
        "department",
        "pain_point",
        "proposal",
        "expected_effect",
    }
    other.heads.add(proposer)
    assert services.suggestion_create(by=proposer, data=data(other)).department == other
    assert Suggestion.objects.count() == 1


@pytest.mark.django_db
def test_raising_from_an_improvement_action_links_it_and_its_case(case, cast):
    """From a retrospective's action: linked to the action and the case; someone who
    cannot see the case may not raise from it."""
    action = retrospective_action(case)
    suggestion = services.suggestion_create(
        by=cast.accountable, data=data(cast.accountable.department), source_action=action
    )
    assert suggestion.source_action == action and suggestion.request == case
    with pytest.raises(PermissionDenied):
        services.suggestion_create(
            by=cast.outsider, data=data(cast.outsider.department), source_action=action
        )


@pytest.mark.django_db
def test_raising_from_feedback_links_it_and_its_case(case, cast):
    """From a piece of feedback: linked to it and its case; only its readers may."""
    feedback = services.feedback_give(
        request=case, by=cast.responsible, kind=FeedbackKind.SUGGESTION, content="建議增加評估。"
    )
    suggestion = services.suggestion_create(
        by=cast.pmo, data=data(cast.pmo.department), source_feedback=feedback
    )
    assert suggestion.source_feedback == feedback and suggestion.request == case
    with pytest.raises(PermissionDenied):
        services.suggestion_create(
            by=cast.initiator, data=data(cast.initiator.department), source_feedback=feedback
        )
    with pytest.raises(ValidationError):
        services.suggestion_create(
            by=cast.pmo,
            data=data(cast.pmo.department),
            source_feedback=feedback,
            source_action=retrospective_action(case),
        )


# --- editing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_proposer_edits_only_while_submitted(proposer, pmo):
    """The proposer edits a 已提交 suggestion (logged); nobody else does; once under
    evaluation it is refused."""
    suggestion = raise_one(proposer)
    edited = services.suggestion_update(
        suggestion=suggestion,
        by=proposer,
        data=data(proposer.department, proposal="改為線上簽核。"),
    )
    assert edited.proposal == "改為線上簽核。"
    assert edited.events.filter(transition="edit", by=proposer).exists()
    with pytest.raises(PermissionDenied):
        services.suggestion_update(
            suggestion=edited, by=UserFactory(department=proposer.department), data=data(None)
        )
    evaluating = services.suggestion_transition(suggestion=edited, name="evaluate", by=pmo)
    with pytest.raises(services.SuggestionRefused):
        services.suggestion_update(
            suggestion=evaluating, by=proposer, data=data(proposer.department)
        )
    with pytest.raises(services.SuggestionConflict):  # the page still showed 已提交
        services.suggestion_update(
            suggestion=edited,
            by=proposer,
            data=data(proposer.department),
            expected_state=SuggestionState.SUBMITTED,
        )


# --- evaluation ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_full_path_evaluate_adopt_implement_with_history_and_notices(proposer, pmo):
    """已提交 → 評估中 → 已採納 → 已實施: each step is one history line (by, from, to,
    comment), the adoption note is kept as the evaluation, the proposer is told each time."""
    suggestion = raise_one(proposer)
    suggestion = services.suggestion_transition(suggestion=suggestion, name="evaluate", by=pmo)
    suggestion = services.suggestion_transition(
        suggestion=suggestion, name="adopt", by=pmo, comment="計劃8月上線。"
    )
    suggestion = services.suggestion_transition(
        suggestion=suggestion, name="implement", by=pmo, comment="已上線。"
    )
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.IMPLEMENTED
    assert suggestion.evaluation == "計劃8月上線。"
    steps = [
        (e.transition, e.from_state, e.to_state, e.by, e.comment)
        for e in SuggestionEvent.objects.filter(suggestion=suggestion).exclude(transition="create")
    ]
    assert steps == [
        ("evaluate", "submitted", "evaluating", pmo, ""),
        ("adopt", "evaluating", "adopted", pmo, "計劃8月上線。"),
        ("implement", "adopted", "implemented", pmo, "已上線。"),
    ]
    told = Notification.objects.filter(recipient=proposer, url=suggestion.get_absolute_url())
    assert told.count() == 3


@pytest.mark.django_db
def test_rejection_needs_its_note_and_is_final(proposer, pmo):
    """未採納 needs the evaluation note; without it nothing moves and nothing is logged.
    A rejected suggestion cannot be implemented."""
    suggestion = services.suggestion_transition(
        suggestion=raise_one(proposer), name="evaluate", by=pmo
    )
    for name in ("adopt", "reject"):
        with pytest.raises(ValidationError) as caught:
            services.suggestion_transition(suggestion=suggestion, name=name, by=pmo, comment=" ")
        assert "comment" in caught.value.message_dict
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.EVALUATING
    assert suggestion.events.count() == 2
    rejected = services.suggestion_transition(
        suggestion=suggestion, name="reject", by=pmo, comment="成本過高。"
    )
    assert rejected.state == SuggestionState.REJECTED and rejected.evaluation == "成本過高。"
    for name in ("implement", "adopt", "evaluate"):
        with pytest.raises(services.SuggestionRefused):
            services.suggestion_transition(
                suggestion=rejected, name=name, by=pmo, comment="x", expected_state="rejected"
            )


@pytest.mark.django_db
def test_illegal_transitions_and_unknown_names_are_refused(proposer, pmo):
    """From 已提交 only 評估中 is possible; an unknown name is refused, never run."""
    suggestion = raise_one(proposer)
    for name in ("adopt", "reject", "implement"):
        with pytest.raises(services.SuggestionRefused):
            services.suggestion_transition(suggestion=suggestion, name=name, by=pmo, comment="x")
    with pytest.raises(services.SuggestionRefused):
        services.suggestion_transition(suggestion=suggestion, name="delete", by=pmo)
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.SUBMITTED and suggestion.events.count() == 1


@pytest.mark.django_db
def test_only_the_pmo_and_platform_admins_evaluate(proposer, pmo, executive):
    """Staff, the proposer, a head and an executive are refused; a platform admin may."""
    suggestion = raise_one(proposer)
    head = UserFactory(department=proposer.department)
    proposer.department.heads.add(head)
    for person in (proposer, head, executive, UserFactory()):
        with pytest.raises(PermissionDenied):
            services.suggestion_transition(suggestion=suggestion, name="evaluate", by=person)
    admin = UserFactory(role=Role.ADMIN)
    moved = services.suggestion_transition(suggestion=suggestion, name="evaluate", by=admin)
    assert moved.state == SuggestionState.EVALUATING


@pytest.mark.django_db
def test_a_stale_page_gets_a_conflict_not_a_second_transition(proposer, pmo):
    """A PMO whose page still shows 已提交 after someone moved it is told, not obeyed."""
    suggestion = raise_one(proposer)
    services.suggestion_transition(suggestion=suggestion, name="evaluate", by=pmo)
    with pytest.raises(services.SuggestionConflict):
        services.suggestion_transition(
            suggestion=suggestion, name="evaluate", by=pmo, expected_state="submitted"
        )
    assert suggestion.events.filter(transition="evaluate").count() == 1


@pytest.mark.django_db
def test_suggestions_keep_moving_after_their_case_is_archived(case, cast):
    """A suggestion is not a case record: archiving its case does not freeze it."""
    action = retrospective_action(case)
    suggestion = services.suggestion_create(
        by=cast.accountable, data=data(cast.accountable.department), source_action=action
    )
    CollabRequest.objects.filter(pk=case.pk).update(is_archived=True)
    moved = services.suggestion_transition(suggestion=suggestion, name="evaluate", by=cast.pmo)
    assert moved.state == SuggestionState.EVALUATING


# --- two evaluators at once --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_evaluators_at_once_make_one_decision(proposer, pmo, monkeypatch):
    """One PMO adopts while another rejects the same 評估中 suggestion: exactly one
    decision is made and logged; the other is told the suggestion moved on."""
    second = UserFactory(role=Role.PMO)
    suggestion = services.suggestion_transition(
        suggestion=raise_one(proposer), name="evaluate", by=pmo
    )
    real = notifications.notify

    def slow_notify(**kwargs):
        time.sleep(0.3)  # the winner holds the row lock a moment longer
        return real(**kwargs)

    monkeypatch.setattr(notifications, "notify", slow_notify)

    def decide(person, name):
        def racer(wait):
            seen = Suggestion.objects.get(pk=suggestion.pk)
            wait()
            return services.suggestion_transition(
                suggestion=seen, name=name, by=person, comment=f"{name} by {person.username}"
            ).state

        return racer

    results = race(decide(pmo, "adopt"), decide(second, "reject"))
    outcomes = sorted(kind for kind, _value in results)
    assert outcomes == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, services.SuggestionConflict)
    final = Suggestion.objects.get(pk=suggestion.pk)
    decided = next(value for kind, value in results if kind == "ok")
    assert final.state == decided
    assert final.events.filter(transition__in=["adopt", "reject"]).count() == 1
