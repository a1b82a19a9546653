"""seed_demo's issue-6 cases: one archived in the knowledge base after going through
every stage, one whose 成果驗收確認單 awaits signatures; a second run adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from requests_app.choices import EventKind, RequestState
from requests_app.models import CollabRequest
from review_app import demo
from review_app.choices import (
    AcceptanceOutcome,
    FinalOutcome,
    RetrospectiveState,
    SignatureDecision,
    SuggestionState,
)
from review_app.models import (
    ArchiveEntry,
    Feedback,
    FeedbackInvitation,
    FinalAcceptance,
    Suggestion,
    TaskAcceptance,
)
from review_app.services import archive

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)


def _counts():
    return (
        CollabRequest.objects.count(),
        TaskAcceptance.objects.count(),
        FinalAcceptance.objects.count(),
        Feedback.objects.count(),
        FeedbackInvitation.objects.count(),
        Suggestion.objects.count(),
        ArchiveEntry.objects.count(),
    )


def test_the_archived_case_went_through_every_stage(seeded):
    case = CollabRequest.objects.get(name=demo.ARCHIVED)
    assert case.state == RequestState.COMPLETED and case.is_archived
    # One deliverable passed only after a 需整改 round; every task is done.
    rounds = list(
        TaskAcceptance.objects.filter(task__request=case, task__name="推廣活動策劃")
        .order_by("round")
        .values_list("outcome", flat=True)
    )
    assert rounds == [AcceptanceOutcome.RECTIFY, AcceptanceOutcome.PASSED]
    assert not case.tasks.exclude(state="done").exists()
    final = case.final_acceptances.get()
    assert final.outcome == FinalOutcome.SIGNED
    assert not final.signatures.exclude(decision=SignatureDecision.SIGNED).exists()
    retrospective = case.retrospective
    assert retrospective.state == RetrospectiveState.FILED
    assert not case.goals.filter(actual_value__isnull=True).exists()
    assert FeedbackInvitation.objects.filter(request=case).count() >= 4
    assert Feedback.objects.filter(request=case, handled_at__isnull=False).exists()
    suggestion = Suggestion.objects.get(source_action__retrospective=retrospective)
    assert suggestion.state == SuggestionState.ADOPTED
    entry = case.archive_entry
    assert entry.title == archive.archive_title(case)
    assert "活躍度" in entry.search_text
    assert case.events.filter(kind=EventKind.ARCHIVED).count() == 1


def test_the_case_in_acceptance_awaits_one_signature(seeded):
    case = CollabRequest.objects.get(name=demo.IN_ACCEPTANCE)
    assert case.state == RequestState.IN_PROGRESS and not case.is_archived
    final = case.final_acceptances.get(outcome=FinalOutcome.OPEN)
    decisions = dict(final.signatures.values_list("department__code", "decision"))
    assert decisions == {"cs": SignatureDecision.SIGNED, "ops": SignatureDecision.PENDING}


def test_seeding_twice_adds_nothing(seeded, django_capture_on_commit_callbacks):
    first = _counts()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    assert _counts() == first
