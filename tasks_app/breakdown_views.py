"""The 任務分工表 page: the breakdown table with RACI, the task form and the heads' 簽署.

Whoever can see the request sees its breakdown (others get 404). The initiator and the
PMO edit it while the request is 已立項 (permissions.can_edit_breakdown); each involved
department's head, or their deputy, signs it (permissions.signing_actor). Every edit
makes a new version and voids the signatures given so far (services.task_save does it);
the last signature moves the request to 進行中 (services.breakdown_sign does it).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from collab import errors
from collab.errors import ServiceError
from collab.formats import join_list
from requests_app import permissions as request_permissions
from requests_app.choices import RequestState
from requests_app.models import CollabRequest

from . import permissions, selectors, services
from .forms import TaskForm
from .models import Breakdown

# States in which a request has (or had) a breakdown to show.
BREAKDOWN_STATES = {RequestState.APPROVED, RequestState.IN_PROGRESS, RequestState.COMPLETED}


def _request_or_404(request, pk) -> CollabRequest:
    queryset = CollabRequest.objects.select_related("initiator", "initiating_department")
    return request_permissions.get_visible_or_404(request.user, pk, queryset)


def _breakdown_url(obj: CollabRequest) -> str:
    return reverse("tasks_app:breakdown", args=[obj.pk])


def _not_editable_message(obj: CollabRequest) -> str:
    return _(
        "The breakdown can change only while the request is “%(state)s”; it is now “%(now)s”."
    ) % {"state": RequestState.APPROVED.label, "now": obj.get_state_display()}


# --- reads for the page --------------------------------------------------------------


def _signature_panel(
    user, obj: CollabRequest, breakdown: Breakdown | None, *, has_tasks: bool
) -> dict:
    """Return each collaborating department with its heads, its signature on the current
    version (or None), whether `user` may sign for it now, and the voided signatures."""
    links = list(
        obj.department_links.select_related("department").prefetch_related("department__heads")
    )
    signatures = []
    if breakdown is not None:
        signatures = list(
            breakdown.signatures.select_related("department", "signed_by", "on_behalf_of")
        )
    version = breakdown.version if breakdown else None
    current = {
        s.department_id: s for s in signatures if s.voided_at is None and s.version == version
    }
    may_sign = obj.state == RequestState.APPROVED and has_tasks
    rows = []
    for link in links:
        signature = current.get(link.department_id)
        actor = None
        if may_sign and signature is None:
            actor = permissions.signing_actor(user, obj, link.department)
        rows.append(
            {
                "link": link,
                "department": link.department,
                "heads": list(link.department.heads.all()),
                "signature": signature,
                "actor": actor,
            }
        )
    history = [s for s in signatures if current.get(s.department_id) is not s]
    return {
        "departments": rows,
        "signed_count": len(current),
        "department_count": len(links),
        "all_signed": bool(links) and len(current) == len(links),
        "current_signatures": list(current.values()),
        "voided_signatures": history,
        "can_sign_any": any(row["actor"] for row in rows),
    }


def _breakdown_context(user, obj: CollabRequest) -> dict:
    breakdown = Breakdown.objects.filter(request=obj).first()
    tasks = list(selectors.tasks_with_people(obj.tasks.order_by("sequence")))
    # Tasks others wait on cannot be removed before those are changed.
    predecessors = {p.pk for task in tasks for p in task.depends_on.all()}
    rows = [
        {"task": task, "raci": selectors.raci_of(task), "has_dependents": task.pk in predecessors}
        for task in tasks
    ]
    panel = _signature_panel(user, obj, breakdown, has_tasks=bool(tasks))
    return {
        "object": obj,
        "breakdown": breakdown,
        "rows": rows,
        "panel": panel,
        "can_edit": permissions.can_edit_breakdown(user, obj),
        "has_breakdown": obj.state in BREAKDOWN_STATES or bool(tasks),
    }


# --- pages ---------------------------------------------------------------------------


def breakdown(request, request_pk):
    """Show the 任務分工表 with RACI, the version and the heads' signatures."""
    obj = _request_or_404(request, request_pk)
    return render(request, "tasks_app/breakdown.html", _breakdown_context(request.user, obj))


def task_create(request, request_pk):
    """Add a task to the breakdown (the initiator or the PMO, while 已立項)."""
    obj = _request_or_404(request, request_pk)
    return _task_form(request, obj, task=None)


def task_edit(request, request_pk, pk):
    """Change a task of the breakdown and its RACI; the signatures given are voided."""
    obj = _request_or_404(request, request_pk)
    task = get_object_or_404(selectors.tasks_with_people(obj.tasks.all()), pk=pk)
    return _task_form(request, obj, task=task)


def _task_form(request, obj: CollabRequest, *, task):
    user = request.user
    editable = permissions.can_edit_breakdown(user, obj)
    if not editable and request.method != "POST":
        if obj.state != RequestState.APPROVED:
            messages.error(request, _not_editable_message(obj))
            return redirect(_breakdown_url(obj))
        raise PermissionDenied(_("Only the initiator or the PMO can edit the breakdown."))
    if not editable and obj.state == RequestState.APPROVED:
        raise PermissionDenied(_("Only the initiator or the PMO can edit the breakdown."))
    if request.method != "POST":
        return _render_form(request, obj, task, TaskForm(request_obj=obj, task=task))

    form = TaskForm(request.POST, request_obj=obj, task=task)
    if not editable:
        # The request moved on while the form was open (e.g. the last head signed):
        # keep what was typed on screen and say why it was not saved.
        messages.error(request, _not_editable_message(obj))
        form.is_valid()
        return _render_form(request, obj, task, form)
    if not form.is_valid():
        messages.error(request, _("Please correct the errors below."))
        return _render_form(request, obj, task, form)
    if task is not None and not form.has_changed():
        messages.info(request, _("Nothing was changed; the signatures stay valid."))
        return redirect(_breakdown_url(obj))
    try:
        saved = services.task_save(request=obj, by=user, task=task, **form.service_arguments())
    except ValidationError as exc:
        form.add_service_error(exc)
        messages.error(request, _("Please correct the errors below."))
        return _render_form(request, obj, task, form)
    except ServiceError as exc:
        errors.flash(request, exc)
        return _render_form(request, obj, task, form)
    if task is None:
        messages.success(request, _("Task %(task)s was added.") % {"task": saved})
    else:
        messages.success(request, _("Task %(task)s was saved.") % {"task": saved})
    _say_voided(request, obj)
    return redirect(f"{_breakdown_url(obj)}#task-{saved.pk}")


def _say_voided(request, obj: CollabRequest) -> None:
    """Tell the editor which signatures their change voided (the service voided them)."""
    breakdown = Breakdown.objects.filter(request=obj).first()
    if breakdown is None:
        return
    voided = (
        breakdown.signatures.filter(version=breakdown.version - 1, voided_at__isnull=False)
        .select_related("department")
        .order_by("department__code")
    )
    names = [str(s.department) for s in voided]
    if names:
        messages.warning(
            request,
            _(
                "The breakdown is now version %(version)d. The signatures of %(departments)s "
                "were voided; their heads are asked to sign again."
            )
            % {"version": breakdown.version, "departments": join_list(names)},
        )


def _render_form(request, obj: CollabRequest, task, form: TaskForm):
    breakdown = Breakdown.objects.filter(request=obj).first()
    to_void = []
    if breakdown is not None:
        to_void = list(
            selectors.breakdown_valid_signatures(breakdown)
            .select_related("department")
            .order_by("department__code")
        )
    return render(
        request,
        "tasks_app/task_form.html",
        {
            "object": obj,
            "task": task,
            "form": form,
            "breakdown": breakdown,
            "signatures_to_void": to_void,
        },
    )


@require_POST
def task_remove(request, request_pk, pk):
    """Take a task out of the breakdown (its number is not reused)."""
    obj = _request_or_404(request, request_pk)
    task = get_object_or_404(obj.tasks.all(), pk=pk)
    label = str(task)
    try:
        services.task_remove(task=task, by=request.user)
    except PermissionDenied:
        raise
    except (ValidationError, ServiceError) as exc:
        errors.flash(request, exc)
    else:
        messages.success(
            request, _("Task %(task)s was removed from the breakdown.") % {"task": label}
        )
        _say_voided(request, obj)
    return redirect(_breakdown_url(obj))


@require_POST
def sign(request, request_pk):
    """Sign the breakdown's current version for one department (簽署), as head or deputy."""
    obj = _request_or_404(request, request_pk)
    link = None
    department_id = request.POST.get("department", "")
    if department_id.isdigit():
        link = (
            obj.department_links.filter(department_id=int(department_id))
            .select_related("department")
            .first()
        )
    if link is None:
        messages.error(request, _("Choose one of the request's departments to sign for."))
        return redirect(_breakdown_url(obj))
    version = request.POST.get("version", "")
    try:
        signature = services.breakdown_sign(
            request=obj,
            by=request.user,
            department=link.department,
            version=int(version) if version.isdigit() else None,
        )
    except PermissionDenied:
        raise
    except (ValidationError, ServiceError) as exc:
        errors.flash(request, exc)
        return redirect(_breakdown_url(obj))
    if signature.on_behalf_of_id:
        text = _(
            "You signed version %(version)d of the breakdown for %(department)s, "
            "on behalf of %(head)s."
        ) % {
            "version": signature.version,
            "department": link.department,
            "head": signature.on_behalf_of,
        }
    else:
        text = _("You signed version %(version)d of the breakdown for %(department)s.") % {
            "version": signature.version,
            "department": link.department,
        }
    messages.success(request, text)
    obj.refresh_from_db(fields=["state"])
    if obj.state == RequestState.IN_PROGRESS:
        messages.success(
            request,
            _("Every department has signed: the request is now “%(state)s” and work can start.")
            % {"state": obj.get_state_display()},
        )
    return redirect(_breakdown_url(obj))
