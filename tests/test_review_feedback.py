"""Feedback 協作反饋表: who is asked at completion, giving it, who reads it, its handling."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from collab.models import Notification
from requests_app.models import CaseArchived, CollabRequest
from review_app.choices import FeedbackKind
from review_app.models import Feedback, FeedbackInvitation
from review_app.permissions import feedback as permissions
from review_app.selectors.feedback import feedback_participants
from review_app.services import feedback as services
from tests.review_feedback_cases import build_in_progress, complete, participants_of

pytestmark = pytest.mark.django_db
# The cast and the completed case (fixtures `cast`, `case`).
pytest_plugins = ["tests.review_feedback_fixtures"]


def give(case, by, **fields):
    data = {"kind": FeedbackKind.PROBLEM, "content": "數據延遲三天。", **fields}
    return services.feedback_give(request=case, by=by, **data)


def archive(req):
    """Mark the case archived in the database (the archive's own tests drive the service)."""
    CollabRequest.objects.filter(pk=req.pk).update(is_archived=True, archived_at=timezone.now())
    return CollabRequest.objects.get(pk=req.pk)


# --- who is asked ----------------------------------------------------------------------


def test_participants_are_exactly_the_case_people(cast):
    """The selector returns the initiator, every RACI member, the acceptance reviewers and
    deciders, the review deciders, the final signers and the involved departments' heads
    (initiating department included), each once; no PMO, executive, uninvolved staff or
    head, idle deputy, or deactivated RACI member."""
    req, task = build_in_progress(cast)
    cast.leaver.is_active = False
    cast.leaver.save(update_fields=["is_active"])
    req = complete(cast, req, task)
    people = list(feedback_participants(req))
    assert len(people) == len(set(people))
    assert set(people) == participants_of(cast)
    for nobody in (
        cast.pmo,
        cast.executive,
        cast.admin,
        cast.colleague,
        cast.outsider,
        cast.other_head,
        cast.idle_deputy,
        cast.leaver,
    ):
        assert nobody not in people


def test_completion_invites_exactly_the_participants_once(case, cast):
    """Completing the case (through the service, so the hook runs) writes one invitation
    per participant, and only for them; running the hook again asks nobody twice."""
    invited = {i.user for i in FeedbackInvitation.objects.filter(request=case)}
    assert invited == participants_of(cast)
    assert FeedbackInvitation.objects.filter(request=case).count() == len(invited)
    assert not FeedbackInvitation.objects.filter(answered_at__isnull=False).exists()
    assert services.feedback_invite(request=case, by=cast.initiator) == []
    assert FeedbackInvitation.objects.filter(request=case).count() == len(invited)


def test_a_head_appointed_later_is_not_asked_but_the_current_heads_are(cast):
    """Heads are the heads at completion: a head replaced before completion is not asked
    (unless they took part otherwise), the new head is."""
    req, task = build_in_progress(cast)
    new_head = type(cast.tech_head).objects.create(username="new_head", department=cast.tech)
    cast.tech.heads.remove(cast.tech_head)
    cast.tech.heads.add(new_head)
    req = complete(cast, req, task)
    invited = set(FeedbackInvitation.objects.filter(request=req).values_list("user", flat=True))
    assert new_head.pk in invited
    # tech_head signed the breakdown only, which is not a source of participants.
    assert cast.tech_head.pk not in invited


def test_participants_get_a_notification_and_an_email_after_commit(
    cast, django_capture_on_commit_callbacks
):
    """Each participant gets one notification linking to the form; its e-mail leaves only
    once the completion commits, one per participant; nobody else is told."""
    req, task = build_in_progress(cast)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        req = complete(cast, req, task)
    url = reverse("review_app:feedback-give", args=[req.pk])
    rows = Notification.objects.filter(url=url)
    assert {row.recipient for row in rows} == participants_of(cast)
    assert rows.count() == len(participants_of(cast))
    title = rows.first().title
    assert req.number in title and all(row.title == title for row in rows)
    assert mail.outbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    invitations = [m for m in mail.outbox if m.subject == settings.EMAIL_SUBJECT_PREFIX + title]
    addresses = [m.to[0] for m in invitations]
    assert sorted(addresses) == sorted(user.email for user in participants_of(cast))
    link = settings.SITE_URL.rstrip("/") + url
    assert all(link in m.body for m in invitations)


# --- giving feedback ---------------------------------------------------------------------


def test_feedback_is_numbered_fk_yyyymm_nnn_and_answers_the_invitation(case, cast):
    """The first feedback gets FK + this month + 001 and marks the invitation answered;
    a second one from the same person is FK…002 and the invitation keeps its first date."""
    first = give(case, cast.responsible, departments=[cast.mkt])
    month = timezone.localdate().strftime("%Y%m")
    assert first.number == f"FK{month}001"
    assert re.fullmatch(r"FK\d{6}\d{3}", first.number)
    invitation = FeedbackInvitation.objects.get(request=case, user=cast.responsible)
    assert invitation.answered_at == first.created_at
    second = give(case, cast.responsible, kind=FeedbackKind.PRAISE, content="設計部及時支援。")
    assert second.number == f"FK{month}002"
    invitation.refresh_from_db()
    assert invitation.answered_at == first.created_at
    assert set(first.departments.all()) == {cast.mkt}
    assert Feedback.objects.filter(request=case, author=cast.responsible).count() == 2


def test_only_invited_participants_give_feedback(case, cast):
    """The PMO, an executive, an outsider and a colleague of the initiator were not asked:
    they are refused; a participant is not."""
    for person in (cast.pmo, cast.executive, cast.outsider, cast.colleague, cast.other_head):
        assert not permissions.can_give_feedback(person, case)
        with pytest.raises(PermissionDenied):
            give(case, person)
    assert permissions.can_give_feedback(cast.tech_head, case)
    give(case, cast.tech_head)


def test_feedback_validation_errors_are_field_keyed_and_translated(case, cast):
    """A missing type or content, or a department outside the case, is refused with the
    field it concerns, in the language of the person (gettext at the time of the call;
    the zh-Hant catalog test holds the translations complete). Nothing is written."""
    with translation.override("zh-hant"), pytest.raises(ValidationError) as caught:
        services.feedback_give(
            request=case, by=cast.informed, kind="", content="  ", departments=[cast.other]
        )
    with translation.override("zh-hant"):
        expected = {
            "kind": [gettext("Choose praise, problem or suggestion.")],
            "content": [gettext("Write what you want to say.")],
            "departments": [gettext("Choose among the departments involved in this case.")],
        }
    assert caught.value.message_dict == expected
    assert not Feedback.objects.exists()
    assert not FeedbackInvitation.objects.filter(answered_at__isnull=False).exists()


def test_feedback_cannot_be_given_once_the_case_is_archived(case, cast):
    """Feedback is a case record: after archiving, giving it is refused."""
    archived = archive(case)
    assert not permissions.can_give_feedback(cast.responsible, archived)
    with pytest.raises(CaseArchived):
        give(archived, cast.responsible)


def test_feedback_is_not_asked_before_completion(cast):
    """A case in progress has no invitations, so nobody can give feedback yet."""
    req, _task = build_in_progress(cast)
    assert not FeedbackInvitation.objects.filter(request=req).exists()
    assert not permissions.can_give_feedback(cast.initiator, req)


# --- who reads it ----------------------------------------------------------------------


def test_feedback_visibility_per_role(case, cast):
    """Its author, PMO, executives, platform admins and the heads (and today's deputies)
    of the departments concerned read a piece of feedback; the initiator, other
    participants, another department's head and outsiders do not."""
    feedback = give(case, cast.responsible, departments=[cast.mkt])
    readers = {cast.responsible, cast.pmo, cast.executive, cast.admin, cast.mkt_head}
    readers.add(cast.idle_deputy)  # acting for the Marketing head today
    not_readers = {
        cast.initiator,
        cast.accountable,
        cast.tech_head,
        cast.plan_head,
        cast.outsider,
        cast.other_head,
        cast.colleague,
    }
    for person in readers:
        assert permissions.can_view_feedback(person, feedback), person
    for person in not_readers:
        assert not permissions.can_view_feedback(person, feedback), person
    cast.mkt_head.is_active = False
    cast.mkt_head.save(update_fields=["is_active"])
    assert not permissions.can_view_feedback(cast.mkt_head, feedback)


# --- handling ------------------------------------------------------------------------------


def test_pmo_records_the_handling_and_the_author_is_told(
    case, cast, django_capture_on_commit_callbacks
):
    """The PMO's handling stamps who and when and notifies the author (mail on commit);
    a correction restamps them."""
    feedback = give(case, cast.responsible)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        handled = services.feedback_handle(
            feedback=feedback, by=cast.pmo, result="市場部已優化需求模板。", seen_handled_at=""
        )
    assert handled.handled_by == cast.pmo and handled.handled_at is not None
    assert handled.handling_result == "市場部已優化需求模板。"
    note = Notification.objects.get(recipient=cast.responsible, url=feedback.get_absolute_url())
    assert feedback.number in note.title
    assert [m.to for m in mail.outbox] == [[cast.responsible.email]]
    other_pmo = type(cast.pmo).objects.create(username="pmo2", role="pmo")
    corrected = services.feedback_handle(
        feedback=handled,
        by=other_pmo,
        result="已新增數據協作模組。",
        seen_handled_at=handled.handled_at.isoformat(),
    )
    assert corrected.handled_by == other_pmo
    assert corrected.handled_at > handled.handled_at


def test_handling_refuses_non_pmo_empty_result_stale_page_and_archived_case(case, cast):
    """Only the PMO (or a platform admin) handles; the result is required; a page that
    did not show the latest handling is refused; an archived case's handling is frozen."""
    feedback = give(case, cast.responsible, departments=[cast.mkt])
    for person in (cast.mkt_head, cast.executive, cast.responsible):
        with pytest.raises(PermissionDenied):
            services.feedback_handle(feedback=feedback, by=person, result="x")
    with pytest.raises(ValidationError) as caught:
        services.feedback_handle(feedback=feedback, by=cast.pmo, result="  ")
    assert "handling_result" in caught.value.message_dict
    services.feedback_handle(
        feedback=feedback, by=cast.admin, result="已處理。", seen_handled_at=""
    )
    with pytest.raises(services.FeedbackConflict):
        services.feedback_handle(feedback=feedback, by=cast.pmo, result="重複", seen_handled_at="")
    feedback.refresh_from_db()
    assert feedback.handling_result == "已處理。" and feedback.handled_by == cast.admin
    archive(case)
    with pytest.raises(CaseArchived):
        services.feedback_handle(feedback=feedback, by=cast.pmo, result="改")
    assert not permissions.can_handle_feedback(cast.pmo, Feedback.objects.get(pk=feedback.pk))
