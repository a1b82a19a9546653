"""Who may see and do what: Feedback 協作反饋表 and process-improvement suggestions 流程優化建議.

Every view, list, to-do section, case panel and admin page of this area asks here.

Decisions:

- Giving feedback. The participants asked at completion (a FeedbackInvitation, see
  review_app.selectors.feedback.feedback_participants) give feedback on the case, as
  many pieces as they like. Nobody else does: the PMO, executives and platform admins
  receive and handle feedback, and raise an improvement suggestion when they have one;
  if one of them was a participant (say the initiator) their invitation lets them answer
  like anyone. Feedback belongs to the case (a CaseRecord): once the case is archived it
  can no longer be given, and its handling can no longer be changed. Whether archiving
  waits for the answers is the archive's decision (review_app.services.archive); a
  participant who has not answered when the case is archived can no longer do so.
- Reading a piece of feedback. Its author; PMO, executives and platform admins; today's
  heads of the departments it concerns and whoever acts for them today (a deputy). The
  initiator does not read other people's feedback as such (only as one of the above):
  feedback is addressed to the PMO and the departments concerned, so that participants
  can be candid about the initiating side too. The initiator, like the PMO, sees on the
  case page who was asked and who answered.
- Handling. The PMO (and platform admins) record the handling result; they may correct
  it until the case is archived. The row keeps who recorded it last and when.
- Suggestions are about the common process, not about one case: every active member of
  staff reads them (seed 004 step 6: 意見實時征集), and anyone with a department raises
  one; the case and the feedback it came from are linked only for those who may see
  them. The proposer edits their suggestion while it is 已提交; the PMO evaluates
  (評估中 → 已採納 / 未採納 → 已實施).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from collab import selectors as org
from collab.models import Department, User
from collab.permissions import get_or_404
from requests_app import permissions as request_permissions
from requests_app.choices import RequestState
from requests_app.models import CollabRequest

from ..choices import SuggestionState
from ..models import Feedback, FeedbackInvitation, RetrospectiveAction, Suggestion

SUGGESTION_TRANSITIONS = ("evaluate", "adopt", "reject", "implement")


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _is_pmo(user) -> bool:
    return _active(user) and (user.is_pmo or user.is_platform_admin)


# --- feedback --------------------------------------------------------------------------


def visible_feedback(user: User, queryset: QuerySet | None = None) -> QuerySet[Feedback]:
    """Return the feedback `user` may read; every feedback list and lookup starts here."""
    queryset = Feedback.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    if user.sees_everything:
        return queryset
    concerned = Feedback.departments.through.objects.filter(
        feedback_id=OuterRef("pk"),
        department_id__in=org.departments_actable(user=user).values("pk"),
    )
    return queryset.filter(Q(author_id=user.pk) | Exists(concerned))


def get_visible_feedback_or_404(user: User, pk, queryset: QuerySet | None = None) -> Feedback:
    return get_or_404(visible_feedback(user, queryset), pk)


def can_view_feedback(user: User, feedback: Feedback) -> bool:
    return visible_feedback(user).filter(pk=feedback.pk).exists()


def can_view_all_feedback(user: User) -> bool:
    """PMO, executives and platform admins see the list of every piece of feedback."""
    return _active(user) and user.sees_everything


def can_give_feedback(user: User, request: CollabRequest) -> bool:
    """An invited participant gives feedback on a completed case until it is archived."""
    return (
        _active(user)
        and request.state == RequestState.COMPLETED
        and not request.is_archived
        and FeedbackInvitation.objects.filter(request_id=request.pk, user_id=user.pk).exists()
    )


def can_handle_feedback(user: User, feedback: Feedback | None = None) -> bool:
    """The PMO records (and corrects) the handling until the case is archived."""
    if not _is_pmo(user):
        return False
    return feedback is None or not feedback.request.is_archived


def can_view_participation(user: User, request: CollabRequest) -> bool:
    """The PMO (executives, platform admins) and the initiator see who was asked and who
    answered."""
    return _active(user) and (user.sees_everything or request.initiator_id == user.pk)


# --- suggestions -----------------------------------------------------------------------


def visible_suggestions(user: User, queryset: QuerySet | None = None) -> QuerySet[Suggestion]:
    """Return the suggestions `user` may read: all of them, for any active account."""
    queryset = Suggestion.objects.all() if queryset is None else queryset
    return queryset if _active(user) else queryset.none()


def get_visible_suggestion_or_404(user: User, pk, queryset: QuerySet | None = None) -> Suggestion:
    return get_or_404(visible_suggestions(user, queryset), pk)


def can_create_suggestion(user: User) -> bool:
    """Anyone active who belongs to a department raises a suggestion."""
    return _active(user) and user.department_id is not None


def proposing_departments(user: User) -> QuerySet[Department]:
    """Return the departments `user` may propose for: their own and the ones they head."""
    if not _active(user):
        return Department.objects.none()
    return Department.objects.filter(
        Q(pk=user.department_id) | Q(heads=user), is_active=True
    ).distinct()


def can_raise_from_action(user: User, action: RetrospectiveAction) -> bool:
    """Whoever may see the case raises a suggestion from its retrospective's action."""
    return can_create_suggestion(user) and request_permissions.can_view(
        user, action.retrospective.request
    )


def can_raise_from_feedback(user: User, feedback: Feedback) -> bool:
    """Whoever may read a piece of feedback raises a suggestion from it."""
    return can_create_suggestion(user) and can_view_feedback(user, feedback)


def can_edit_suggestion(user: User, suggestion: Suggestion) -> bool:
    """The proposer edits their suggestion while it is 已提交 (not yet under evaluation)."""
    return (
        _active(user)
        and suggestion.proposer_id == user.pk
        and suggestion.state == SuggestionState.SUBMITTED
    )


def can_evaluate_suggestion(user: User) -> bool:
    """The PMO (and platform admins) evaluate suggestions."""
    return _is_pmo(user)


def can_transition_suggestion(user: User, suggestion: Suggestion, name: str) -> bool:
    return name in SUGGESTION_TRANSITIONS and can_evaluate_suggestion(user)


def can_view_suggestion_case(user: User, suggestion: Suggestion) -> bool:
    """The case a suggestion came from is linked for those who may see the case."""
    return suggestion.request_id is not None and request_permissions.can_view(
        user, suggestion.request
    )


def can_view_suggestion_source(user: User, suggestion: Suggestion) -> bool:
    """The feedback a suggestion came from is linked for those who may read it."""
    return suggestion.source_feedback_id is not None and can_view_feedback(
        user, suggestion.source_feedback
    )
