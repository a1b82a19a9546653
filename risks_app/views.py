"""Risk pages: the register (the portfolio's, or one request's) with its 5×5 heat map,
the report form (pre-filled from a progress update marked high risk), and a report's page
with the PMO's response and its history.

Every view that names an object looks it up through risks_app.permissions first: whoever
may not see it gets 404. A person who sees it but may not act gets 403. The act view
parses input, calls one service and redirects; a refused or invalid act shows the page
again with what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from collab import errors
from collab.errors import ServiceError
from collab.paging import paginate
from requests_app import permissions as request_permissions
from tasks_app import permissions as task_permissions
from tasks_app.choices import RiskLevel as ProgressRisk
from tasks_app.models import ProgressUpdate

from . import permissions, selectors, services
from .choices import RiskState
from .forms import AcceptForm, NoteForm, RiskReportForm

PAGE_SIZE = 25


# --- the register ------------------------------------------------------------------------


def _register(request, collab_request=None):
    user, now = request.user, timezone.now()
    filters = selectors.Filters.parse(
        request.GET, request_id=collab_request.pk if collab_request else None
    )
    base = selectors.register_base(user, filters.request_id)
    context = {
        **paginate(request, selectors.register_rows(base, filters, now), PAGE_SIZE),
        "collab_request": collab_request,
        "filters": filters,
        "summary": selectors.summary(base.filter(filters.frame().q(now)), now),
        "heat_map": selectors.heat_map(base, filters, now),
        "impacts": selectors.impact_words(),
        "can_report": collab_request is not None and permissions.can_report(user, collab_request),
        "levels": [(v, label) for v, label in ProgressRisk.choices if v != ProgressRisk.NONE],
        "now": now,
    }
    return render(request, "risks_app/register.html", context)


@require_safe
def register(request):
    """The portfolio's risk register: every risk the person may see."""
    return _register(request)


@require_safe
def request_register(request, pk):
    """One request's risk register."""
    collab_request = request_permissions.get_visible_or_404(request.user, pk)
    return _register(request, collab_request)


# --- reporting ---------------------------------------------------------------------------


def _initial_from(update: ProgressUpdate) -> dict:
    """A report pre-filled from a progress update marked high risk."""
    text = update.risk_note or update.problems or update.done
    return {
        "title": " ".join(text.split())[:80],
        "task": update.task_id,
        "description": "\n\n".join(p for p in (update.risk_note, update.problems) if p),
        "suggested_measures": update.support_needed,
        "discovered_at": timezone.localtime(update.created_at).replace(second=0, microsecond=0),
        "probability": 4,
        "impact": 4,
        "affected_tasks": [update.task_id],
    }


@require_http_methods(["GET", "HEAD", "POST"])
def new(request):
    """File a risk report on ?request=<pk> (or from ?progress=<update pk>)."""
    user = request.user
    update = None
    progress_pk = request.GET.get("progress") or request.POST.get("progress")
    if progress_pk:
        visible = task_permissions.visible_tasks(user)
        update = (
            ProgressUpdate.objects.filter(pk=progress_pk if progress_pk.isdigit() else 0)
            .filter(task__in=visible)
            .select_related("task__request")
            .first()
        )
        if update is None:
            raise Http404
        collab_request = update.task.request
    else:
        pk = request.GET.get("request") or request.POST.get("request") or ""
        if not pk.isdigit():
            raise Http404
        collab_request = request_permissions.get_visible_or_404(user, pk)
    if not permissions.can_report(user, collab_request):
        raise PermissionDenied(
            _("Only the people taking part in an approved or running request report its risks.")
        )
    if request.method == "POST":
        form = RiskReportForm(request.POST, request=collab_request)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                risk = services.risk_report(
                    request=collab_request, by=user, progress_update=update, **data
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            except ServiceError as exc:
                errors.flash(request, exc)
                return render(
                    request, "risks_app/new.html", _new_context(form, collab_request, update)
                )
            else:
                messages.success(request, _("The risk report was filed; the PMO has been told."))
                return redirect(risk)
        messages.error(request, _("Please correct the errors below."))
    else:
        initial = _initial_from(update) if update is not None else {}
        task_pk = request.GET.get("task", "")
        if not initial and task_pk.isdigit():
            initial = {"task": int(task_pk), "affected_tasks": [int(task_pk)]}
        initial.setdefault("discovered_at", timezone.localtime().replace(second=0, microsecond=0))
        form = RiskReportForm(initial=initial, request=collab_request)
    return render(request, "risks_app/new.html", _new_context(form, collab_request, update))


def _new_context(form, collab_request, update) -> dict:
    return {"form": form, "collab_request": collab_request, "update": update}


# --- a report's page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    form: type
    allowed: object
    call: object
    success: str


ACTS = {
    "accept": Act(
        AcceptForm,
        lambda user, r: r.state == RiskState.REPORTED and permissions.can_organise(user, r),
        lambda r, user, data, shown: services.risk_accept(
            risk=r, by=user, expected_state=shown, **data
        ),
        gettext_lazy("The response is organised; its owner has been told."),
    ),
    "resolve": Act(
        NoteForm,
        permissions.can_conclude,
        lambda r, user, data, shown: services.risk_resolve(
            risk=r, by=user, expected_state=shown, **data
        ),
        gettext_lazy("The risk is resolved."),
    ),
    "occur": Act(
        NoteForm,
        permissions.can_conclude,
        lambda r, user, data, shown: services.risk_occur(
            risk=r, by=user, expected_state=shown, **data
        ),
        gettext_lazy("The risk is recorded as occurred."),
    ),
    "close": Act(
        NoteForm,
        lambda user, r: r.is_open and permissions.can_organise(user, r),
        lambda r, user, data, shown: services.risk_close(
            risk=r, by=user, expected_state=shown, **data
        ),
        gettext_lazy("The risk report is closed as not relevant."),
    ),
}


def _render_risk(request, pk, *, bound: dict | None = None):
    user = request.user
    risk = selectors.risk_for_page(user, pk)
    bound = bound or {}
    shown = {name: act.allowed(user, risk) for name, act in ACTS.items()}
    forms = {
        name: bound.get(name) or act.form(auto_id=f"id_{name}_%s") for name, act in ACTS.items()
    }
    context = {
        "risk": risk,
        "request_obj": risk.request,
        "shown": shown,
        "has_actions": any(shown.values()),
        "forms": forms,
        "open_form": next(iter(bound), ""),
        "events": selectors.risk_events(risk),
        "overdue": risk.is_response_overdue,
        # An owner or a head told of a high risk may not see the request: no links to it.
        "sees_request": request_permissions.can_view(user, risk.request),
    }
    return render(request, "risks_app/detail.html", context)


@require_safe
def detail(request, pk):
    return _render_risk(request, pk)


def act(request, pk, name):
    """Do one act on a risk report (accept, resolve, occur, close) and come back."""
    user = request.user
    risk = selectors.risk_for_page(user, pk)
    act = ACTS.get(name)
    if act is None:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = act.form(request.POST, auto_id=f"id_{name}_%s")
    shown = request.POST.get("expected_state", "")
    shown = shown if shown in RiskState.values else None
    if not form.is_valid():
        messages.error(request, _("Please correct the errors below."))
        return _render_risk(request, pk, bound={name: form})
    try:
        act.call(risk, user, form.cleaned_data, shown)
    except ValidationError as exc:
        form.add_service_error(exc)
        messages.error(request, _("Please correct the errors below."))
        return _render_risk(request, pk, bound={name: form})
    except ServiceError as exc:
        errors.flash(request, exc)
        return _render_risk(request, pk, bound={name: form})
    messages.success(request, str(act.success))
    return redirect(risk)
