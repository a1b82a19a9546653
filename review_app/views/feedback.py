"""Pages: Feedback 協作反饋表 and process-improvement suggestions 流程優化建議.

Each view asks review_app.permissions.feedback, calls one service and redirects; when a
service refuses, the page is shown again with the form as typed and the service's
translated reasons next to the fields they name.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from collab import errors
from collab import selectors as org
from collab.errors import ServiceError
from collab.paging import paginate
from collab.permissions import require
from requests_app import permissions as request_permissions
from requests_app.choices import RequestState
from requests_app.models import CollabRequest

from ..choices import SuggestionState
from ..forms.feedback import (
    FeedbackFilterForm,
    FeedbackForm,
    HandlingForm,
    SuggestionFilterForm,
    SuggestionForm,
    SuggestionTransitionForm,
)
from ..models import FeedbackInvitation, RetrospectiveAction
from ..permissions import feedback as permissions
from ..selectors import feedback as selectors
from ..services import feedback as services

PAGE_SIZE = 50
# How many rows of each kind the to-do page lists; the counts say how many there are.
TODO_SHOWN = 10

# The label of each suggestion transition's button.
TRANSITION_LABELS = {
    "evaluate": gettext_lazy("Start evaluating"),
    "adopt": gettext_lazy("Adopt"),
    "reject": gettext_lazy("Do not adopt"),
    "implement": gettext_lazy("Mark as implemented"),
}


# --- feedback: my forms ---------------------------------------------------------------


@require_safe
def feedback_mine(request):
    """My feedback forms: the forms I was sent (waiting first), the feedback I gave and,
    for a head or deputy, the feedback about their departments."""
    user = request.user
    is_head = org.departments_actable(user=user).exists()
    return render(
        request,
        "review_app/feedback/mine.html",
        {
            "invitations": list(selectors.invitations_of(user)),
            "given": list(selectors.feedback_given_by(user)),
            "concerning": list(selectors.feedback_concerning(user)) if is_head else [],
            "is_head": is_head,
            "can_view_all": permissions.can_view_all_feedback(user),
        },
    )


# --- feedback: the PMO's list ---------------------------------------------------------


@require_safe
@require(permissions.can_view_all_feedback)
def feedback_list(request):
    """Every piece of feedback, for the PMO (executives and platform admins read it too),
    with filters on type, handling, department concerned and month."""
    form = FeedbackFilterForm(request.GET)
    queryset = selectors.feedback_list(user=request.user, filters=form.filters())
    return render(
        request,
        "review_app/feedback/list.html",
        {
            **paginate(request, queryset, PAGE_SIZE),
            "form": form,
            "filtered": any(request.GET.get(k) for k in form.fields),
            "can_handle": permissions.can_handle_feedback(request.user),
        },
    )


# --- feedback: giving it ----------------------------------------------------------------


def _invited_case(user, pk) -> tuple[CollabRequest, FeedbackInvitation | None]:
    """Return the case and `user`'s invitation. A participant reaches the form through
    the invitation even if they no longer see the case (a deputy whose delegation
    ended); anyone else gets 404, or 403 when they may see the case."""
    invitation = (
        FeedbackInvitation.objects.select_related("request")
        .filter(request_id=pk, user_id=user.pk)
        .first()
    )
    if invitation is not None:
        return invitation.request, invitation
    collab_request = request_permissions.get_visible_or_404(user, pk)
    return collab_request, None


def feedback_give(request, pk):
    """The 協作反饋表 of a completed case, for its invited participants; several pieces
    of feedback may be given, each one numbered when it is sent."""
    user = request.user
    collab_request, invitation = _invited_case(user, pk)
    if invitation is None:
        raise PermissionDenied(
            _("Only the participants asked for feedback on this case can give it.")
        )
    if not permissions.can_give_feedback(user, collab_request):
        if collab_request.is_archived:
            messages.info(request, _("This case is archived: feedback can no longer be given."))
        return redirect("review_app:feedback-mine")
    departments = selectors.involved_departments(collab_request)
    bound = request.POST if request.method == "POST" else None
    form = FeedbackForm(bound, departments=departments)
    if request.method == "POST":
        if form.is_valid():
            try:
                feedback = services.feedback_give(
                    request=collab_request,
                    by=user,
                    kind=form.cleaned_data["kind"],
                    content=form.cleaned_data["content"],
                    departments=form.cleaned_data["departments"],
                    suggested_handling=form.cleaned_data["suggested_handling"],
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request,
                    _("Thank you. Your feedback %(number)s was sent to the PMO.")
                    % {"number": feedback.number},
                )
                return redirect("review_app:feedback-give", pk=collab_request.pk)
    elif request.method != "GET":
        return redirect("review_app:feedback-give", pk=collab_request.pk)
    return render(
        request,
        "review_app/feedback/give.html",
        {
            "object": collab_request,
            "invitation": invitation,
            "form": form,
            "given": list(selectors.feedback_given_by(user).filter(request_id=collab_request.pk)),
        },
    )


# --- feedback: one piece and its handling -------------------------------------------------


def _render_feedback(request, feedback, handling_form=None):
    user = request.user
    can_handle = permissions.can_handle_feedback(user, feedback)
    if can_handle and handling_form is None:
        handling_form = HandlingForm(
            initial={
                "handling_result": feedback.handling_result,
                "seen": services._stamp(feedback.handled_at),
            }
        )
    return render(
        request,
        "review_app/feedback/detail.html",
        {
            "object": feedback,
            "can_handle": can_handle,
            "handling_form": handling_form,
            "can_raise": permissions.can_raise_from_feedback(user, feedback),
            "can_view_case": request_permissions.can_view(user, feedback.request),
            "can_view_all": permissions.can_view_all_feedback(user),
            "suggestions": list(feedback.suggestions.all()),
        },
    )


@require_safe
def feedback_detail(request, pk):
    """One 協作反饋表, for those who may read it; the PMO records its handling here."""
    feedback = selectors.feedback_page(user=request.user, pk=pk)
    return _render_feedback(request, feedback)


@require_POST
def feedback_handle(request, pk):
    """Record (or correct) the handling of a piece of feedback, for the PMO."""
    feedback = selectors.feedback_page(user=request.user, pk=pk)
    if not permissions.can_handle_feedback(request.user):
        raise PermissionDenied(_("Only the PMO can record how feedback was handled."))
    form = HandlingForm(request.POST)
    if form.is_valid():
        try:
            services.feedback_handle(
                feedback=feedback,
                by=request.user,
                result=form.cleaned_data["handling_result"],
                seen_handled_at=form.cleaned_data["seen"],
            )
        except ValidationError as exc:
            form.add_service_error(exc)
        except ServiceError as exc:
            errors.flash(request, exc)
            return _render_feedback(
                request, selectors.feedback_page(user=request.user, pk=pk), form
            )
        else:
            messages.success(
                request, _("The handling of %(number)s was recorded.") % {"number": feedback.number}
            )
            return redirect(feedback)
    return _render_feedback(request, feedback, form)


# --- suggestions --------------------------------------------------------------------------


@require_safe
def suggestion_list(request):
    """Every 流程優化建議, with a state filter and "mine"; the PMO evaluates from here."""
    form = SuggestionFilterForm(request.GET)
    filters = form.filters()
    queryset = selectors.suggestion_list(user=request.user, filters=filters)
    return render(
        request,
        "review_app/feedback/suggestion_list.html",
        {
            **paginate(request, queryset, PAGE_SIZE),
            "filters": filters,
            "states": SuggestionState.choices,
            "can_create": permissions.can_create_suggestion(request.user),
            "can_evaluate": permissions.can_evaluate_suggestion(request.user),
        },
    )


def _source(request):
    """Return (action, feedback) named by ?action= / ?feedback=, checked; 404 if unseen."""
    user = request.user
    action = feedback = None
    action_id = request.GET.get("action")
    feedback_id = request.GET.get("feedback")
    if action_id:
        try:
            action = (
                RetrospectiveAction.objects.select_related("retrospective__request")
                .filter(pk=int(action_id))
                .first()
            )
        except ValueError:
            action = None
        if action is None or not permissions.can_raise_from_action(user, action):
            raise Http404
    if feedback_id:
        feedback = permissions.get_visible_feedback_or_404(user, feedback_id)
    return action, feedback


def suggestion_create(request):
    """Raise a suggestion: from scratch, from an improvement action (?action=) or from a
    piece of feedback (?feedback=), which prefill the form and are linked to it."""
    user = request.user
    if not permissions.can_create_suggestion(user):
        raise PermissionDenied(_("Only staff who belong to a department can raise a suggestion."))
    action, feedback = _source(request)
    departments = permissions.proposing_departments(user)
    if request.method == "POST":
        form = SuggestionForm(request.POST, departments=departments)
        if form.is_valid():
            try:
                suggestion = services.suggestion_create(
                    by=user, data=form.cleaned_data, source_action=action, source_feedback=feedback
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request,
                    _("Your suggestion %(number)s was sent to the PMO for evaluation.")
                    % {"number": suggestion.number},
                )
                return redirect(suggestion)
    else:
        initial = {"department": user.department_id, "contact": user.contact}
        if action is not None:
            initial["proposal"] = action.description
        if feedback is not None:
            initial["pain_point"] = feedback.content
            initial["proposal"] = feedback.suggested_handling
        form = SuggestionForm(initial=initial, departments=departments)
    return render(
        request,
        "review_app/feedback/suggestion_form.html",
        {"form": form, "source_action": action, "source_feedback": feedback, "object": None},
    )


def _transition_forms(user, suggestion, bound=None) -> list[dict]:
    """Return a form per transition the PMO may run on the suggestion now."""
    if not permissions.can_evaluate_suggestion(user):
        return []
    forms = []
    for transition in suggestion.get_available_state_transitions():
        name = transition.name
        if bound is not None and bound.data.get("transition") == name:
            form = bound
        else:
            form = SuggestionTransitionForm(
                initial={"transition": name, "expected_state": suggestion.state},
                auto_id=f"id_{name}_%s",
            )
        forms.append(
            {
                "name": name,
                "label": TRANSITION_LABELS[name],
                "form": form,
                "note_required": name in services.NOTE_REQUIRED,
            }
        )
    return forms


def _state_label(value: str) -> str:
    return SuggestionState(value).label if value in SuggestionState.values else value


def _render_suggestion(request, suggestion, bound=None):
    user = request.user
    events = list(suggestion.events.all())
    for event in events:
        event.from_label = _state_label(event.from_state)
        event.to_label = _state_label(event.to_state)
    return render(
        request,
        "review_app/feedback/suggestion_detail.html",
        {
            "object": suggestion,
            "events": events,
            "can_edit": permissions.can_edit_suggestion(user, suggestion),
            "transitions": _transition_forms(user, suggestion, bound),
            "can_view_case": permissions.can_view_suggestion_case(user, suggestion),
            "can_view_source": permissions.can_view_suggestion_source(user, suggestion),
        },
    )


@require_safe
def suggestion_detail(request, pk):
    """One suggestion with its evaluation history; the PMO's buttons move it on."""
    return _render_suggestion(request, selectors.suggestion_page(user=request.user, pk=pk))


def suggestion_edit(request, pk):
    """The proposer edits their suggestion while it is 已提交."""
    user = request.user
    suggestion = selectors.suggestion_page(user=user, pk=pk)
    shown = request.POST.get("expected_state") or None
    if not permissions.can_edit_suggestion(user, suggestion):
        if suggestion.proposer_id == user.pk and suggestion.state != SuggestionState.SUBMITTED:
            messages.error(
                request,
                _("The suggestion is under evaluation or decided: it can no longer be edited."),
            )
            return redirect(suggestion)
        raise PermissionDenied(_("Only the proposer can edit this suggestion."))
    departments = permissions.proposing_departments(user)
    if request.method == "POST":
        form = SuggestionForm(request.POST, departments=departments)
        if form.is_valid():
            try:
                services.suggestion_update(
                    suggestion=suggestion, by=user, data=form.cleaned_data, expected_state=shown
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            except ServiceError as exc:
                errors.flash(request, exc)
                return redirect(suggestion)
            else:
                messages.success(request, _("Your suggestion was saved."))
                return redirect(suggestion)
    else:
        form = SuggestionForm(
            initial={
                "department": suggestion.department_id,
                "contact": suggestion.contact,
                "pain_point": suggestion.pain_point,
                "proposal": suggestion.proposal,
                "expected_effect": suggestion.expected_effect,
                "notes": suggestion.notes,
            },
            departments=departments,
        )
    return render(
        request,
        "review_app/feedback/suggestion_form.html",
        {
            "form": form,
            "object": suggestion,
            "source_action": suggestion.source_action,
            "source_feedback": suggestion.source_feedback
            if permissions.can_view_suggestion_source(user, suggestion)
            else None,
        },
    )


@require_POST
def suggestion_transition(request, pk):
    """Evaluate, adopt, reject or implement a suggestion (the PMO), with its note."""
    user = request.user
    suggestion = selectors.suggestion_page(user=user, pk=pk)
    form = SuggestionTransitionForm(request.POST, auto_id="id_%s")
    if not form.is_valid():
        messages.error(request, _("This action is not possible now."))
        return redirect(suggestion)
    name = form.cleaned_data["transition"]
    if not permissions.can_transition_suggestion(user, suggestion, name):
        raise PermissionDenied(_("Only the PMO can evaluate improvement suggestions."))
    form.auto_id = f"id_{name}_%s"
    try:
        moved = services.suggestion_transition(
            suggestion=suggestion,
            name=name,
            by=user,
            comment=form.cleaned_data["comment"],
            expected_state=form.cleaned_data["expected_state"] or None,
        )
    except ValidationError as exc:
        form.add_service_error(exc)
        return _render_suggestion(request, suggestion, bound=form)
    except ServiceError as exc:
        errors.flash(request, exc)
        return redirect(suggestion)
    messages.success(
        request,
        _("%(number)s is now “%(state)s”.")
        % {"number": moved.number, "state": moved.get_state_display()},
    )
    return redirect(moved)


urlpatterns: list = [
    path("feedback/", feedback_mine, name="feedback-mine"),
    path("feedback/all/", feedback_list, name="feedback-list"),
    path("feedback/<int:pk>/", feedback_detail, name="feedback-detail"),
    path("feedback/<int:pk>/handle/", feedback_handle, name="feedback-handle"),
    path("requests/<int:pk>/feedback/", feedback_give, name="feedback-give"),
    path("suggestions/", suggestion_list, name="suggestion-list"),
    path("suggestions/new/", suggestion_create, name="suggestion-create"),
    path("suggestions/<int:pk>/", suggestion_detail, name="suggestion-detail"),
    path("suggestions/<int:pk>/edit/", suggestion_edit, name="suggestion-edit"),
    path("suggestions/<int:pk>/transition/", suggestion_transition, name="suggestion-transition"),
]


# --- the case page and the to-do page -------------------------------------------------------


def case_context(user, collab_request) -> dict:
    """Context of this area's panel on the case page.

    Rendered by templates/review_app/case/_feedback.html: the person's own invitation and
    a link to the form; who was asked and who answered (PMO and initiator); the case's
    feedback the person may read; the suggestions raised from the case.
    """
    invitation = selectors.invitation_for(user=user, request=collab_request)
    can_give = bool(
        invitation is not None
        and user.is_active
        and collab_request.state == RequestState.COMPLETED
        and not collab_request.is_archived
    )
    participation = (
        selectors.participation(collab_request)
        if permissions.can_view_participation(user, collab_request)
        else None
    )
    return {
        "feedback_shown": collab_request.state == RequestState.COMPLETED or invitation is not None,
        "feedback_invitation": invitation,
        "feedback_can_give": can_give,
        "feedback_participation": participation,
        "feedback_answered_count": sum(1 for i in participation or [] if i.answered_at),
        "feedback_items": list(selectors.feedback_of_case(user=user, request=collab_request)),
        "feedback_suggestions": list(
            selectors.suggestions_of_case(user=user, request=collab_request)
        ),
        "feedback_can_suggest": permissions.can_create_suggestion(user),
    }


def todo_context(user) -> dict:
    """Context of this area's section of the to-do page (templates/review_app/todo/_feedback.html).

    "feedback_todo_count" says how many items wait; zero counts as nothing to do. Everyone
    sees the feedback forms waiting on them; the PMO also sees the feedback awaiting
    handling and the suggestions awaiting evaluation.
    """
    pending = list(selectors.pending_invitations(user))
    context = {
        "feedback_pending": pending,
        "feedback_unhandled": [],
        "feedback_unhandled_count": 0,
        "feedback_suggestions_waiting": [],
        "feedback_suggestions_waiting_count": 0,
    }
    count = len(pending)
    if permissions.can_handle_feedback(user):
        unhandled = selectors.feedback_awaiting_handling()
        waiting = selectors.suggestions_awaiting_evaluation()
        context["feedback_unhandled_count"] = unhandled.count()
        context["feedback_unhandled"] = list(unhandled[:TODO_SHOWN])
        context["feedback_suggestions_waiting_count"] = waiting.count()
        context["feedback_suggestions_waiting"] = list(waiting[:TODO_SHOWN])
        count += context["feedback_unhandled_count"] + context["feedback_suggestions_waiting_count"]
    context["feedback_todo_count"] = count
    context["feedback_list_url"] = reverse("review_app:feedback-list")
    return context
