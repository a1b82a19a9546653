"""Browser pages for requests: 我的需求, the request form, its detail page and its actions.

Each view parses input, asks permissions.py, calls one service and redirects. The
services raise PermissionDenied, ValidationError and collab.errors.ServiceError
(RequestConflict, TransitionRefused) with translated messages; the views show them
without losing what the person typed.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from collab import errors
from collab.errors import ServiceError
from collab.paging import paginate, query_without

from . import file_views, guards, permissions, selectors, services
from .choices import RequestState, ReviewDecision
from .forms import (
    FilterForm,
    NewRequestForm,
    RequestForm,
    ReviewForm,
    build_formsets,
    initial_rows,
)

PAGE_SIZE = 25
SUBMIT, DRAFT = "submit", "draft"


def _expected_state(request) -> str | None:
    """Return the state the page showed when it was rendered (hidden form field)."""
    value = request.POST.get("expected_state", "")
    return value if value in RequestState.values else None


# --- 我的需求 ------------------------------------------------------------------------


def request_list(request):
    """List the requests the user may see, with scope tabs, state filter and search."""
    filters = FilterForm(request.GET)
    values = filters.values()
    queryset = selectors.request_list(
        user=request.user, scope=values["scope"], state=values["state"], search=values["q"]
    )
    return render(
        request,
        "requests_app/mine.html",
        {
            **paginate(request, queryset, PAGE_SIZE),
            "values": values,
            "tab_query": query_without(request, "page", "scope"),
            "scopes": FilterForm.SCOPES,
            "states": RequestState.choices,
            "can_create": permissions.can_create(request.user),
        },
    )


# --- the request form ----------------------------------------------------------------


def request_create(request):
    """File a new request: save it as a draft, or save and submit it at once."""
    if not permissions.can_create(request.user):
        raise PermissionDenied(_("Only members of a department can file a request."))
    if request.method == "POST":
        return _save(request, instance=None)
    # No department is filled in for the initiator: each one listed reviews the
    # request, their own included (the formset's help text says so).
    form = NewRequestForm(initial={"contact": request.user.contact})
    return _render_form(request, form, build_formsets(), instance=None)


def request_edit(request, pk):
    """Edit a draft or a request sent back for revision (the initiator or the PMO)."""
    instance = permissions.get_visible_or_404(request.user, pk)
    if not permissions.can_edit(request.user, instance):
        shown = _expected_state(request)
        if request.method == "POST" and shown and shown != instance.state:
            # The page is stale: keep what was typed on screen and say what happened.
            form = RequestForm(request.POST, instance=instance)
            formsets = build_formsets(data=request.POST)
            messages.error(
                request,
                _(
                    "Someone else acted on this request first: it is now “%(state)s”. "
                    "Your changes were not saved."
                )
                % {"state": instance.get_state_display()},
            )
            return _render_form(request, form, formsets, instance=instance)
        raise PermissionDenied(_("You cannot edit this request now."))
    if request.method == "POST":
        return _save(request, instance=instance)
    form = RequestForm(instance=instance)
    formsets = build_formsets(initial=initial_rows(instance))
    return _render_form(request, form, formsets, instance=instance)


def _save(request, *, instance):
    """Validate the form and its formsets, save through the service, maybe submit."""
    if instance is None:
        form = NewRequestForm(request.POST, request.FILES)
    else:
        form = RequestForm(request.POST, instance=instance)
    formsets = build_formsets(data=request.POST)
    action = SUBMIT if request.POST.get("action") == SUBMIT else DRAFT
    if not (form.is_valid() and all(fs.is_valid() for fs in formsets.values())):
        messages.error(request, _("Please correct the errors below."))
        return _render_form(request, form, formsets, instance=instance)
    shown_state = instance.state if instance else None
    try:
        saved = services.request_save(
            by=request.user,
            data=form.cleaned_data,
            departments=formsets["departments"].rows(),
            goals=formsets["goals"].rows(),
            milestones=formsets["milestones"].rows(),
            resource_needs=formsets["resources"].rows(),
            request=instance,
            files=form.cleaned_data.get("files") or (),
        )
    except ValidationError as exc:
        form.add_service_error(exc)
        return _render_form(request, form, formsets, instance=instance)
    except (PermissionDenied, ServiceError) as exc:
        errors.flash(request, exc)
        return _render_form(request, form, formsets, instance=instance)
    if action == DRAFT:
        messages.success(request, _("The request was saved as a draft."))
        return redirect(saved)
    try:
        services.request_submit(
            request=saved, by=request.user, expected_state=shown_state or saved.state
        )
    except errors.REFUSALS as exc:
        # The content is saved; only the submission failed. Go on editing the saved
        # request, so that nothing typed is lost and a second click cannot duplicate it.
        messages.warning(request, _("Your changes were saved, but the request was not submitted:"))
        errors.flash(request, exc)
        if permissions.can_edit(request.user, saved):
            return redirect("requests_app:edit", pk=saved.pk)
        return redirect(saved)
    messages.success(request, _("The request was submitted for review."))
    return redirect(saved)


def _render_form(request, form, formsets, *, instance):
    # Invalid input is shown again with 200, as Django's generic views do.
    return render(
        request,
        "requests_app/form.html",
        {
            "form": form,
            "formsets": list(formsets.values()),
            "object": instance,
            "expected_state": instance.state if instance else RequestState.DRAFT,
            "attachments": selectors.attachments_of(request=instance) if instance else [],
            "can_attach": bool(instance) and permissions.can_attach(request.user, instance),
            # A page shown again after an error has lost the files chosen for it.
            "files_dropped": instance is None and bool(request.FILES.getlist("files")),
            **file_views.upload_rules(),
        },
    )


# --- detail --------------------------------------------------------------------------


def request_detail(request, pk):
    """Show a request with its departments' answers, files, history and actions."""
    return _render_detail(request, selectors.request_page(user=request.user, pk=pk))


def _render_detail(request, page, *, bound: ReviewForm | None = None):
    user, obj = request.user, page.request
    panels = []
    for review in page.current_reviews:
        actor = permissions.review_actor(user, review)
        if actor is None:
            continue
        form = bound if bound is not None and bound.review.pk == review.pk else None
        panels.append({"review": review, "actor": actor, "form": form or ReviewForm(review=review)})
    can_confirm = (
        obj.state == RequestState.PENDING
        and permissions.can_confirm(user, obj)
        and guards.all_departments_agreed(obj)
    )
    context = {
        "page": page,
        "object": obj,
        "panels": panels,
        "can_edit": permissions.can_edit(user, obj),
        "can_submit": permissions.can_submit(user, obj),
        "can_cancel": permissions.can_cancel(user, obj),
        "can_confirm": can_confirm,
        "can_attach": permissions.can_attach(user, obj),
        **file_views.upload_rules(),
        "today": timezone.localdate(),
        "awaiting_confirmation": obj.state == RequestState.PENDING
        and bool(page.current_reviews)
        and all(r.decision == ReviewDecision.APPROVED for r in page.current_reviews),
    }
    return render(request, "requests_app/detail.html", context)


# --- actions -------------------------------------------------------------------------


def _act(request, service, success: str, **kwargs):
    """Run one transition service and come back to the detail page with a message."""
    obj = permissions.get_visible_or_404(request.user, kwargs.pop("pk"))
    try:
        service(request=obj, by=request.user, expected_state=_expected_state(request), **kwargs)
    except PermissionDenied:
        raise
    except (ValidationError, ServiceError) as exc:
        errors.flash(request, exc)
    else:
        messages.success(request, success)
    return redirect(obj)


@require_POST
def request_submit(request, pk):
    """Submit (or resubmit) a request for the departments' review."""
    return _act(request, services.request_submit, _("The request was submitted for review."), pk=pk)


@require_POST
def request_cancel(request, pk):
    """Cancel an open request with a reason."""
    return _act(
        request,
        services.request_cancel,
        _("The request was cancelled."),
        pk=pk,
        reason=request.POST.get("reason", ""),
    )


@require_POST
def request_confirm(request, pk):
    """Confirm a request as a project (確認立項), for the PMO."""
    return _act(
        request,
        services.request_confirm,
        _("The request was confirmed as a project."),
        pk=pk,
        comment=request.POST.get("comment", "").strip(),
    )


@require_POST
def review_decide(request, pk, review_pk):
    """Record a head's or deputy's 同意 / 駁回 from the review panel.

    Plain POST: redirect to the detail page, or show it again with the typed answer
    and its errors. htmx: answer with the panel alone on an error, else reload the page.
    """
    obj = permissions.get_visible_or_404(request.user, pk)
    review = selectors.review_for_request(request=obj, review_pk=review_pk)
    if review is None:
        return redirect(obj)
    actor = permissions.review_actor(request.user, review)
    if actor is None:
        if (
            review.decision == ReviewDecision.PENDING
            and review.round == obj.review_round
            and obj.state == RequestState.PENDING
        ):
            raise PermissionDenied(_("Only the department's head or their deputy can answer."))
        # Someone answered first or the request moved on: show the page as it is now.
        messages.error(request, _("This review has already been answered."))
        return _back_to_detail(request, obj)
    form = ReviewForm(request.POST, review=review)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == ReviewForm.APPROVE
        try:
            services.review_decide(
                review=review,
                by=request.user,
                approve=approve,
                comment=form.cleaned_data["comment"],
                committed_tasks=form.cleaned_data["committed_tasks"],
            )
        except ValidationError as exc:
            form.add_service_error(exc)
        except ServiceError as exc:
            errors.flash(request, exc)
            return _back_to_detail(request, obj)
        else:
            if approve:
                message = _("You approved the request for %(department)s.")
            else:
                message = _(
                    "You rejected the request for %(department)s; it goes back for revision."
                )
            messages.success(request, message % {"department": review.department})
            return _back_to_detail(request, obj)
    if request.htmx:
        html = render_to_string(
            "requests_app/partials/review_panel.html",
            {
                "panel": {"review": review, "actor": actor, "form": form},
                "object": obj,
                "today": timezone.localdate(),
            },
            request=request,
        )
        return HttpResponse(html)
    page = selectors.request_page(user=request.user, pk=pk)
    return _render_detail(request, page, bound=form)


def _back_to_detail(request, obj):
    if request.htmx:
        return HttpResponseClientRedirect(obj.get_absolute_url())
    return redirect(obj)
