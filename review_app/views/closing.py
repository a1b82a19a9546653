"""Pages: Final acceptance 成果驗收確認單 and the retrospective 復盤報告.

The final acceptance lives on the case page (its panel templates/review_app/case/
_closing.html): the initiator opens it there, heads and deputies sign or refuse there.
The retrospective has its own page and edit page. Each action view parses a form, calls
one service and redirects; when a service refuses, the page is shown again with the
form as typed and the service's message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from collab import errors
from collab.errors import ServiceError
from collab.pdf import pdf_response
from collab.ratelimits import rate_limited
from requests_app.choices import RequestState
from requests_app.forms import department_choices

from .. import pdf
from ..forms.closing import FinalDecisionForm, FinalOpenForm, RetrospectiveForm, action_formset
from ..models import FinalSignature
from ..permissions import closing as permissions
from ..selectors import closing as selectors
from ..services import closing as services
from .case_page import render_case


def suggestion_url(action_pk: int) -> str | None:
    """Return the "raise a suggestion" link of an improvement action, once that page exists."""
    try:
        return reverse("review_app:suggestion-create") + f"?action={action_pk}"
    except NoReverseMatch:
        return None


def _with_suggestion_links(view):
    if view is not None:
        for row in view.actions:
            row.suggest_url = suggestion_url(row.action.pk)
    return view


def _case_url(collab_request, anchor: str = "closing") -> str:
    return reverse("review_app:case", args=[collab_request.pk]) + f"#{anchor}"


# --- the case page's panel -----------------------------------------------------------------


def case_context(user, collab_request, *, bound: dict | None = None) -> dict:
    """Context of this area's panel on the case page.

    Rendered by templates/review_app/case/_closing.html. `bound` holds the forms of a
    refused action ({"open": form} or {"decision": (signature pk, form)}), shown again
    with what was typed.
    """
    bound = bound or {}
    panel = selectors.final_panel(user, collab_request)
    decision_pk, decision_form = bound.get("decision", (None, None))
    for row in panel.awaiting_viewer:
        row.form = (
            decision_form
            if row.signature.pk == decision_pk
            else FinalDecisionForm(
                prefix=f"sig{row.signature.pk}", initial={"decision": FinalDecisionForm.SIGN}
            )
        )
    retrospective = _with_suggestion_links(selectors.retrospective_view(collab_request))
    can_write = bool(
        retrospective and permissions.can_write_retrospective(user, retrospective.retrospective)
    )
    open_form = bound.get("open") or FinalOpenForm()
    ready = bool(panel.readiness and panel.readiness.ready)
    shown = {row.signature.pk for row in panel.awaiting_viewer}
    unsent = ""
    if decision_form is not None and decision_pk not in shown:
        # The signature moved on (someone else answered): keep the comment to copy.
        unsent = (decision_form.data.get(decision_form.add_prefix("comment")) or "").strip()
    # A refused form is shown again as typed, even when the tasks turned out not done.
    show_open_form = panel.can_open and (ready or open_form.is_bound)
    if open_form.is_bound and not show_open_form:
        unsent = (open_form.data.get("summary") or "").strip()
    return {
        "closing_unsent": unsent,
        "closing_final": panel,
        "closing_open_form": open_form,
        "closing_show_open_form": show_open_form,
        "closing_retrospective": retrospective,
        "closing_can_write_retrospective": can_write,
        "closing_history": selectors.closing_history(collab_request),
    }


def _render_case(request, collab_request, *, bound: dict, status: int = 200):
    """Show the case page again, this panel with the refused form as typed."""
    own = case_context(request.user, collab_request, bound=bound)
    return render_case(request, collab_request, own=("closing", own), status=status)


@require_POST
def final_open(request, pk):
    """The initiator (or the PMO) opens the final acceptance with a summary."""
    collab_request = permissions.get_visible_or_404(request.user, pk)
    if not permissions.may_open_final(request.user, collab_request):
        raise PermissionDenied
    form = FinalOpenForm(request.POST)
    if form.is_valid():
        try:
            services.final_open(
                request=collab_request,
                by=request.user,
                summary=form.cleaned_data["summary"],
                expected_state=request.POST.get("expected_state") or None,
            )
        except ValidationError as exc:
            form.add_service_error(exc)
        except ServiceError as exc:
            errors.flash(request, exc)
            collab_request.refresh_from_db()
            return _render_case(request, collab_request, bound={"open": form}, status=409)
        else:
            messages.success(
                request, _("The final acceptance was opened; the departments are asked to sign.")
            )
            return redirect(_case_url(collab_request, "closing-final"))
    messages.error(request, _("Please correct the errors below."))
    return _render_case(request, collab_request, bound={"open": form}, status=400)


@require_POST
def final_decide(request, pk):
    """A head or deputy signs the final acceptance for a department, or refuses it."""
    signature = get_object_or_404(FinalSignature.objects.select_related("final"), pk=pk)
    collab_request = permissions.get_visible_or_404(request.user, signature.final.request_id)
    form = FinalDecisionForm(request.POST, prefix=f"sig{signature.pk}")
    bound = {"decision": (signature.pk, form)}
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == FinalDecisionForm.SIGN:
                services.final_sign(signature=signature, by=request.user, comment=data["comment"])
            else:
                services.final_refuse(signature=signature, by=request.user, reason=data["comment"])
        except ValidationError as exc:
            form.add_service_error(exc)
        except ServiceError as exc:
            errors.flash(request, exc)
            collab_request.refresh_from_db()
            return _render_case(request, collab_request, bound=bound, status=409)
        else:
            collab_request.refresh_from_db()
            if data["decision"] == FinalDecisionForm.REFUSE:
                text = _("You did not sign; the final acceptance went back to the initiator.")
            elif collab_request.state == RequestState.COMPLETED:
                text = _("Signed. Every department has signed: the request is completed.")
            else:
                text = _("Signed for %(department)s.") % {"department": signature.department}
            messages.success(request, text)
            return redirect(_case_url(collab_request, "closing-final"))
    messages.error(request, _("Please correct the errors below."))
    return _render_case(request, collab_request, bound=bound, status=400)


# --- the retrospective -----------------------------------------------------------------------


def _retrospective_or_404(user, pk):
    collab_request = permissions.get_visible_or_404(user, pk)
    view = selectors.retrospective_view(collab_request)
    if view is None:
        raise Http404
    return collab_request, _with_suggestion_links(view)


@require_safe
def retrospective_detail(request, pk):
    """The 復盤報告: goals' target against actual with the achievement, and the rest."""
    collab_request, view = _retrospective_or_404(request.user, pk)
    retrospective = view.retrospective
    return render(
        request,
        "review_app/closing/retrospective.html",
        {
            "object": collab_request,
            "view": view,
            "can_write": permissions.can_write_retrospective(request.user, retrospective),
            "can_file": permissions.can_file_retrospective(request.user, retrospective),
            "version": services.retrospective_version(retrospective),
            "today": timezone.localdate(),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def retrospective_edit(request, pk):
    """Write the retrospective: the initiator and the PMO all of it, a head their
    department's contribution."""
    collab_request, view = _retrospective_or_404(request.user, pk)
    retrospective = view.retrospective
    detail_url = reverse("review_app:retrospective", args=[collab_request.pk])
    if view.is_filed or collab_request.is_archived:
        messages.info(request, _("The retrospective is filed and can no longer change."))
        return redirect(detail_url)
    if not permissions.can_write_retrospective(request.user, retrospective):
        raise PermissionDenied
    full = permissions.can_edit_retrospective(request.user, retrospective)
    allowed = permissions.contribution_departments(request.user, retrospective)
    choices = department_choices() if full else None
    version = services.retrospective_version(retrospective)
    if request.method == "POST":
        form = RetrospectiveForm(
            request.POST, view=view, full=full, contribution_departments=allowed
        )
        actions = action_formset(data=request.POST, department_choices=choices) if full else None
        if form.is_valid() and (actions is None or actions.is_valid()):
            data = form.cleaned_data
            try:
                services.retrospective_save(
                    retrospective=retrospective,
                    by=request.user,
                    highlights=data.get("highlights") if full else None,
                    shortcomings=data.get("shortcomings") if full else None,
                    actual_values=form.actual_values(),
                    actions=actions.rows() if actions is not None else None,
                    contributions=form.contributions(),
                    seen_version=data.get("version") or None,
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            except ServiceError as exc:
                errors.flash(request, exc)
            else:
                messages.success(request, _("The retrospective was saved."))
                if request.POST.get("then") == "file" and full:
                    return _file(request, collab_request, pk)
                return redirect(detail_url)
        else:
            messages.error(request, _("Please correct the errors below."))
        status = 400
    else:
        form = RetrospectiveForm(
            initial=RetrospectiveForm.initial_for(view, version),
            view=view,
            full=full,
            contribution_departments=allowed,
        )
        actions = (
            action_formset(actions=[row.action for row in view.actions], department_choices=choices)
            if full
            else None
        )
        status = 200
    return render(
        request,
        "review_app/closing/retrospective_edit.html",
        {"object": collab_request, "view": view, "form": form, "actions": actions, "full": full},
        status=status,
    )


def _file(request, collab_request, pk):
    """File the retrospective; on refusal say why and go where it can be put right."""
    retrospective = selectors.retrospective_of(collab_request)
    try:
        services.retrospective_file(
            retrospective=retrospective,
            by=request.user,
            seen_version=request.POST.get("file_version") or None,
        )
    except ValidationError as exc:
        errors.flash(request, exc)
        return redirect("review_app:retrospective-edit", pk=pk)
    except ServiceError as exc:
        errors.flash(request, exc)
        return redirect("review_app:retrospective", pk=pk)
    messages.success(request, _("The retrospective was filed."))
    return redirect("review_app:retrospective", pk=pk)


@require_POST
def retrospective_file(request, pk):
    """File the retrospective (initiator or PMO), once every goal has its actual value."""
    collab_request, _view = _retrospective_or_404(request.user, pk)
    if not permissions.may_edit_retrospective(request.user, collab_request):
        raise PermissionDenied
    return _file(request, collab_request, pk)


# --- PDFs --------------------------------------------------------------------------------------


@require_safe
@rate_limited("pdf")
def final_acceptance_pdf(request, pk):
    """Print the 成果驗收確認單: tasks with their acceptance, the summary, the signatures."""
    sheet = selectors.final_sheet(user=request.user, request_pk=pk)
    return pdf_response(pdf.final_acceptance_pdf(sheet), pdf.final_acceptance_filename(sheet))


@require_safe
@rate_limited("pdf")
def retrospective_pdf(request, pk):
    """Print the 復盤報告."""
    sheet = selectors.retrospective_sheet(user=request.user, request_pk=pk)
    return pdf_response(pdf.retrospective_pdf(sheet), pdf.retrospective_filename(sheet))


# --- the to-do page ------------------------------------------------------------------------


def todo_context(user) -> dict:
    """Context of this area's section of the to-do page (todo/_closing.html).

    "closing_todo_count" says how many items wait; zero counts as nothing to do.
    """
    signatures = selectors.signatures_awaiting(user)
    retrospectives = selectors.retrospectives_to_write(user)
    to_open = selectors.requests_awaiting_final(user)
    return {
        "closing_signatures": signatures,
        "closing_retrospectives": retrospectives,
        "closing_to_open": to_open,
        "closing_todo_count": len(signatures) + len(retrospectives) + len(to_open),
    }


urlpatterns: list = [
    path("requests/<int:pk>/final-acceptance/open/", final_open, name="final-open"),
    path("final-signatures/<int:pk>/decide/", final_decide, name="final-decide"),
    path(
        "requests/<int:pk>/final-acceptance.pdf",
        final_acceptance_pdf,
        name="final-acceptance-pdf",
    ),
    path("requests/<int:pk>/retrospective/", retrospective_detail, name="retrospective"),
    path("requests/<int:pk>/retrospective/edit/", retrospective_edit, name="retrospective-edit"),
    path("requests/<int:pk>/retrospective/file/", retrospective_file, name="retrospective-file"),
    path("requests/<int:pk>/retrospective.pdf", retrospective_pdf, name="retrospective-pdf"),
]
