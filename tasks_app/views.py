"""Task pages: 我的任務, the task page with its actions, and a head's department page.

Each action view parses input, asks tasks_app.permissions, calls one service and
redirects; an htmx request gets the fragment it swaps instead. The services raise
PermissionDenied, ValidationError and collab.errors.ServiceError (TaskConflict,
TaskRefused) with translated messages: the views show them as messages, and show the
page again with the forms as typed, so that nothing typed is lost.

The reads these pages need (which tasks, with what, in a constant number of queries)
are in tasks_app.selectors.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST, require_safe

from collab import errors, uploads
from collab.errors import ServiceError
from collab.models import User
from collab.paging import paginate
from requests_app import file_views as request_file_views

from . import discussion_views, hooks, permissions, selectors, services
from .action_forms import (
    DepartmentFilterForm,
    DueChangeForm,
    OverrideForm,
    ProgressForm,
    SubmitForm,
)
from .choices import OPEN_TASK_STATES, RaciRole, TaskState
from .deadlines import Deadlines
from .models import Task

# 我的任務 shows the most recently finished tasks only; the rest stay in the history.
DONE_SHOWN = 10
DEPARTMENT_PAGE_SIZE = 50
DISCUSSION_TEMPLATE = "tasks_app/_discussion.html"
CARD_TEMPLATE = "tasks_app/partials/task_card.html"
DEPARTMENT_TABLE_TEMPLATE = "tasks_app/partials/task_department_table.html"


# --- small view helpers --------------------------------------------------------------


def _expected_state(request) -> str | None:
    """Return the task state the page showed when it was rendered (hidden form field)."""
    value = request.POST.get("expected_state", "")
    return value if value in TaskState.values else None


def _stale_page_message(request, task: Task) -> str:
    """Return the conflict message when the page showed another state than the task's.

    For the services that take no `expected_state` (progress, override, due date).
    """
    shown = _expected_state(request)
    if shown is None or shown == task.state:
        return ""
    return _(
        "Someone else acted on this task first: it is now “%(state)s”. "
        "Reload the page to see the change."
    ) % {"state": task.get_state_display()}


def _next_url(request, default: str) -> str:
    """Return the page to go back to: a safe `next` from the form, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _discussion(request, task: Task) -> dict | None:
    """Return the comments / 協作請求 section's context, or None while it is not there yet."""
    build = getattr(discussion_views, "discussion_context", None)
    if build is None:
        return None
    try:
        get_template(DISCUSSION_TEMPLATE)
    except TemplateDoesNotExist:
        return None
    return build(request.user, task, request=request)


# --- 我的任務 ------------------------------------------------------------------------


@require_safe
def my_tasks(request):
    """List my tasks as R grouped by state, with quick progress updates, and what else I
    am responsible for (my action items); and the tasks I watch."""
    user = request.user
    deadlines = Deadlines()
    open_tasks = deadlines.mark(
        selectors.tasks_responsible(user)
        .filter(state__in=OPEN_TASK_STATES)
        .order_by("due_at", "number")
    )
    done = selectors.tasks_responsible(user).filter(state=TaskState.DONE)
    done_recent = deadlines.mark(done.order_by("-completed_at", "-pk")[:DONE_SHOWN])
    done_count = done.count()
    back = reverse("tasks_app:mine")
    groups = {state: [] for state in OPEN_TASK_STATES}
    for task in open_tasks:
        _prepare_card(user, task, back=back)
        groups[task.state].append(task)
    for task in done_recent:
        _prepare_card(user, task, back=back)
    watched = deadlines.mark(selectors.tasks_watched(user))
    for task in watched:
        task.my_roles = selectors.roles_of(user, task)
        task.raci = selectors.raci_of(task)
    sections = [
        {"state": state, "label": TaskState(state).label, "tasks": groups[state]}
        for state in OPEN_TASK_STATES
    ]
    # What later stages add (meetings_app's action items), with the same badges.
    extra = hooks.my_work_context(user, deadlines)
    return render(
        request,
        "tasks_app/mine.html",
        {
            **extra,
            "sections": sections,
            "done_recent": done_recent,
            "done_count": done_count,
            "done_shown": DONE_SHOWN,
            "done_label": TaskState.DONE.label,
            "open_count": len(open_tasks) + extra["my_work_open"],
            "late_count": sum(1 for t in open_tasks if t.badges.late) + extra["my_work_late"],
            "watched": watched,
            "awaiting_me": sum(
                1
                for t in watched
                if t.state == TaskState.SUBMITTED and RaciRole.ACCOUNTABLE in t.my_roles
            ),
            "tab": "watching" if request.GET.get("tab") == "watching" else "mine",
        },
    )


def _prepare_card(user: User, task: Task, *, back: str, form: ProgressForm | None = None):
    """Attach what a 我的任務 card shows: its blocker, and the quick-update form."""
    task.start_blocker = selectors.start_blocker(task)
    task.back_url = f"{back}#task-card-{task.pk}"
    if task.state == TaskState.IN_PROGRESS:
        task.progress_form = form or ProgressForm(task=task)
    return task


def _card_response(request, task_pk: int, *, form=None, notice: str = "", error: str = ""):
    """Render one task's 我的任務 card, as htmx swaps it in place of the old one."""
    task = selectors.task_for_card(request.user, task_pk)
    Deadlines().mark([task])
    _prepare_card(request.user, task, back=reverse("tasks_app:mine"), form=form)
    # The form is gone when the task moved on meanwhile: keep the typed text on screen.
    unsent = form.typed_text() if form is not None and task.state != TaskState.IN_PROGRESS else []
    context = {
        "task": task,
        "notice": notice,
        "error": error,
        "open_form": bool(form or error),
        "unsent": unsent,
    }
    return render(request, CARD_TEMPLATE, context)


# --- the task page -------------------------------------------------------------------


@require_safe
def task_detail(request, pk):
    """Show a task: fields, RACI, dependencies, progress, files, history and actions."""
    return _render_detail(request, pk)


def render_task_page(request, pk, **extra):
    """Render the task page for a later stage's view that shows it again after an error.

    `extra` goes to the task-page hooks (tasks_app.hooks.register_task_page), e.g. the
    acceptance answer form as it was typed.
    """
    return _render_detail(request, pk, page_extra=extra)


def _render_detail(request, pk, *, bound: dict | None = None, page_extra: dict | None = None):
    """Render the task page; `bound` holds the forms to show again as they were typed.

    The later stages add their sections through tasks_app.hooks (the acceptance panel).
    """
    user = request.user
    task = selectors.task_for_page(user, pk)
    task.badges = Deadlines().badges(task)
    bound = bound or {}
    allowed = {
        "start": permissions.can_start(user, task),
        "override": permissions.can_override_dependencies(user, task),
        "progress": task.state == TaskState.IN_PROGRESS
        and permissions.can_log_progress(user, task),
        "submit": permissions.can_submit(user, task),
        "due": permissions.can_change_due(user, task),
    }
    blocker = selectors.start_blocker(task)
    show_override = allowed["override"] and blocker == "predecessors"
    forms = {
        "override": OverrideForm(),
        "progress": ProgressForm(task=task),
        "submit": SubmitForm(),
        "due": DueChangeForm(
            initial={
                "new_date": timezone.localdate(task.due_at),
                "new_time": timezone.localtime(task.due_at).time(),
            }
        ),
    }
    shown = {**allowed, "override": show_override}
    unsent = []
    for key, form in bound.items():
        if shown.get(key):
            forms[key] = form
        else:  # the action is gone (the task moved on): keep the typed text on screen
            unsent += form.typed_text()
    stages = hooks.task_page_context(user, task, **(page_extra or {}))
    context = {
        **stages,
        "task": task,
        "request_obj": task.request,
        "raci_rows": [
            {"role": role, "label": label, "people": people}
            for (role, label), people in zip(
                RaciRole.choices, selectors.raci_of(task).values(), strict=True
            )
        ],
        "my_roles": selectors.roles_of(user, task),
        "predecessors": list(task.depends_on.all()),
        "unfinished": selectors.unfinished_predecessors(task),
        "dependents": list(task.dependents.all()),
        "progress_rows": list(task.progress_updates.all()),
        "due_changes": list(task.due_changes.all()),
        "events": selectors.task_events(task),
        "deliverables": list(task.deliverables.all()),
        "allowed": allowed,
        "show_override": show_override,
        "has_actions": show_override
        or bool(stages["task_page_actions"])
        or any(allowed[k] for k in ("start", "progress", "submit", "due")),
        "start_blocker": blocker,
        "forms": forms,
        "open_form": next(iter(bound), ""),
        "unsent": unsent,
        **request_file_views.upload_rules(),
    }
    discussion = _discussion(request, task)
    if discussion is not None:
        context.update(discussion)
    context["has_discussion"] = discussion is not None
    return render(request, "tasks_app/detail.html", context)


@require_safe
@cache_control(private=True, no_store=True)
def deliverable_download(request, pk, file_pk):
    """Send a deliverable file as a download, to those who may see the task (else 404)."""
    task = permissions.get_visible_or_404(request.user, pk)
    return uploads.download_response(selectors.task_deliverable(task, file_pk))


# --- actions -------------------------------------------------------------------------


def _act(request, task: Task, key: str, form, call, success: str, *, check_stale=False):
    """Validate `form`, call the service, and go back with a message, or show the page again.

    PermissionDenied is left to Django (403): the forms are shown only to those allowed.
    """
    stale = _stale_page_message(request, task) if check_stale else ""
    if stale:
        messages.error(request, stale)
        return _render_detail(request, task.pk, bound={key: form})
    if not form.is_valid():
        messages.error(request, _("Please correct the errors below."))
        return _render_detail(request, task.pk, bound={key: form})
    try:
        call(form.cleaned_data)
    except ValidationError as exc:
        form.add_service_error(exc)
        messages.error(request, _("Please correct the errors below."))
        return _render_detail(request, task.pk, bound={key: form})
    except ServiceError as exc:
        errors.flash(request, exc)
        return _render_detail(request, task.pk, bound={key: form})
    messages.success(request, success)
    return redirect(_next_url(request, task.get_absolute_url()))


@require_POST
def task_start(request, pk):
    """開始執行: the Responsible person starts the task."""
    task = permissions.get_visible_or_404(request.user, pk)
    try:
        services.task_start(task=task, by=request.user, expected_state=_expected_state(request))
    except (ServiceError, ValidationError) as exc:
        errors.flash(request, exc)
    else:
        messages.success(request, _("Work on the task has started."))
    return redirect(_next_url(request, task.get_absolute_url()))


@require_POST
def task_override(request, pk):
    """The Accountable person lets the task start before its predecessors are done."""
    task = permissions.get_visible_or_404(request.user, pk)
    return _act(
        request,
        task,
        "override",
        OverrideForm(request.POST),
        lambda data: services.task_override_dependencies(
            task=task, by=request.user, reason=data["reason"]
        ),
        _("The task may now start before its predecessors are done."),
        check_stale=True,
    )


@require_POST
def progress_log(request, pk):
    """Log progress (進度更新). htmx gets the 我的任務 card back; a plain POST redirects."""
    task = permissions.get_visible_or_404(request.user, pk)
    form = ProgressForm(request.POST, task=task)
    if not request.htmx:
        return _act(
            request,
            task,
            "progress",
            form,
            lambda data: services.progress_log(task=task, by=request.user, **data),
            _("Progress saved."),
            check_stale=True,
        )
    error = _stale_page_message(request, task)
    if not error and form.is_valid():
        try:
            services.progress_log(task=task, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_error(exc)
        except ServiceError as exc:
            error = errors.message(exc)
        else:
            return _card_response(request, task.pk, notice=_("Progress saved."))
    return _card_response(request, task.pk, form=form, error=error)


@require_POST
def task_submit(request, pk):
    """Submit the deliverable: a completion note and files (multipart)."""
    task = permissions.get_visible_or_404(request.user, pk)
    return _act(
        request,
        task,
        "submit",
        SubmitForm(request.POST, request.FILES),
        lambda data: services.task_submit(
            task=task,
            by=request.user,
            completion_note=data["completion_note"],
            files=data["files"],
            expected_state=_expected_state(request),
        ),
        _("The deliverable was submitted for acceptance."),
    )


@require_POST
def task_change_due(request, pk):
    """Move the due date, with the reason and the solution (A or the PMO)."""
    task = permissions.get_visible_or_404(request.user, pk)
    return _act(
        request,
        task,
        "due",
        DueChangeForm(request.POST),
        lambda data: services.task_change_due(
            task=task,
            by=request.user,
            new_due_at=services.due_at(data["new_date"], data["new_time"]),
            reason=data["reason"],
            solution=data["solution"],
        ),
        _("The due date was changed."),
        check_stale=True,
    )


# --- a head's department page --------------------------------------------------------


@require_safe
def department_tasks(request):
    """List the tasks of the departments the user heads or deputises for, live.

    htmx polls the page every minute and gets the table alone.
    """
    user = request.user
    if not permissions.can_view_department_tasks(user):
        raise PermissionDenied(_("This page is for department heads and their deputies."))
    departments = selectors.departments_overseen(user)
    filters = DepartmentFilterForm(
        request.GET, requests=selectors.department_requests(departments), departments=departments
    )
    values = filters.values()
    queryset = selectors.tasks_of_departments(
        user,
        departments,
        department=values["department"],
        request=values["request"],
        states=_filter_states(values["state"]),
    )
    paged = paginate(request, queryset, DEPARTMENT_PAGE_SIZE)
    deadlines = Deadlines()
    rows = deadlines.mark(paged["page"].object_list)
    for task in rows:
        task.raci = selectors.raci_of(task)
    context = {
        "filters": filters,
        "values": values,
        "departments": departments,
        **paged,
        "rows": rows,
        "state_labels": dict(TaskState.choices),
        "refresh_url": request.get_full_path(),
        "now": timezone.now(),
        "late_count": sum(1 for t in rows if t.badges.late),
        "stale_count": sum(1 for t in rows if t.badges.stale),
        "totals": selectors.department_totals(user, departments, deadlines),
    }
    if request.htmx:
        return render(request, DEPARTMENT_TABLE_TEMPLATE, context)
    return render(request, "tasks_app/department.html", context)


def _filter_states(state: str) -> list[str] | None:
    """Return the task states the department page's state filter selects (None: all)."""
    if state == DepartmentFilterForm.OPEN:
        return OPEN_TASK_STATES
    if state in TaskState.values:
        return [state]
    return None
