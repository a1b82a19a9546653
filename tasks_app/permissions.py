"""Who may see and do what with tasks. Every task view, file, PDF and admin asks here.

A task is visible to whoever can see its request (requests_app.permissions, which also
honours the guardian grant a RACI role gives on the request, and opens an archived,
non-confidential case to all staff as a reference) and to its RACI members.

Seeing a task is not writing on it. A RACI role on one task grants sight of the whole
request (its tasks, files, board and PDFs) for context, but writes only on that task:
writable_tasks / can_write_task decide who adds to a task (comments, 協作請求); the
role rules below (R: start, progress, deliverable files; A: overrides, due dates) are
narrower still.

Every can_* below says no on a task of an archived case: the case is read-only.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from collab import permissions as collab_permissions
from collab import selectors as org
from collab.choices import Role
from collab.models import Department, User
from collab.permissions import get_or_404
from collab.selectors import Actor
from requests_app import permissions as request_permissions
from requests_app.choices import RequestState
from requests_app.models import CollabRequest, CollabRequestUserObjectPermission
from requests_app.permissions import VIEW_PERMISSION

from .choices import RaciRole, TaskState
from .models import Task, TaskAssignment


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def visible_tasks(user: User, queryset: QuerySet | None = None) -> QuerySet[Task]:
    """Return the tasks `user` may see; every task list and lookup starts here."""
    queryset = Task.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    if user.sees_everything:
        return queryset
    requests = request_permissions.visible_requests(user).values("pk")
    assigned = TaskAssignment.objects.filter(task=OuterRef("pk"), user=user)
    # One filter with an OR inside, not `queryset.filter(a) | queryset.filter(b)`: that
    # would repeat the caller's filters in both branches of an OR, and PostgreSQL would
    # then read every task instead of starting from the caller's selective filter. The
    # RACI test comes first: PostgreSQL evaluates an OR left to right and works out
    # the visible requests only for a task that needs them.
    return queryset.filter(Q(Exists(assigned)) | Q(request__in=requests))


def tasks_held(user: User, roles, queryset: QuerySet | None = None) -> QuerySet[Task]:
    """Return the tasks on which `user` holds one of the RACI `roles`.

    Visible by definition (visible_tasks' RACI rule), so nothing more is checked: lists
    of a person's own tasks (我的任務) start here. Through visible_tasks, PostgreSQL
    would also work out every visible request, since it cannot tell that the RACI rule
    alone answers for these tasks (`make bench`: 10 ms a query at 10k requests).
    """
    queryset = Task.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    held = TaskAssignment.objects.filter(task=OuterRef("pk"), user=user, role__in=roles)
    return queryset.filter(Exists(held))


def get_visible_or_404(user: User, pk, queryset: QuerySet | None = None) -> Task:
    return get_or_404(visible_tasks(user, queryset).distinct(), pk)


def can_view(user: User, task: Task) -> bool:
    return visible_tasks(user).filter(pk=task.pk).exists()


def writable_tasks(user: User, queryset: QuerySet | None = None) -> QuerySet[Task]:
    """Return the tasks `user` may write on: comment, ask for help, and so on.

    visible_tasks' mirror with its sight-only ways left out: the task's RACI members,
    and the people who take part in its request (requests_app.permissions
    .participating_requests: its departments' members and heads, today's deputies of
    those heads, the initiator, the PMO, executives and superusers). A RACI role on
    another task of the request gives sight of this one, not a voice on it, and so does
    the archive: nobody writes on an archived case.
    """
    queryset = Task.objects.all() if queryset is None else queryset
    if not _active(user):
        return queryset.none()
    queryset = queryset.filter(request__is_archived=False)
    if user.sees_everything:
        return queryset
    requests = request_permissions.participating_requests(user).values("pk")
    assigned = TaskAssignment.objects.filter(task=OuterRef("pk"), user=user)
    return queryset.filter(Q(Exists(assigned)) | Q(request__in=requests))


def can_write_task(user: User, task: Task) -> bool:
    """Whether `user` may add to `task` (comment, 協作請求: can_comment is this rule).

    The widest write rule on a task: the role rules below (start, progress, submit,
    override, due date) are narrower, each implying it (tests/test_raci_visibility.py
    holds this). Only an answer to an ask goes by the ask: whoever was asked answers.
    """
    return writable_tasks(user).filter(pk=task.pk).exists()


def role_of(user: User, task: Task, role: str) -> bool:
    return _active(user) and task.assignments.filter(user=user, role=role).exists()


def _archived(task: Task) -> bool:
    """The task's case is archived (歸檔): nobody acts on it any more."""
    return task.request.is_archived


def can_edit_breakdown(user: User, request: CollabRequest) -> bool:
    """The initiator and the PMO edit the breakdown while the request is 已立項."""
    if not _active(user) or request.state != RequestState.APPROVED or request.is_archived:
        return False
    return request.initiator_id == user.pk or user.is_pmo or user.is_platform_admin


def signing_actor(user: User, request: CollabRequest, department: Department) -> Actor | None:
    """Return how `user` may sign the breakdown for `department` (head or deputy)."""
    if not _active(user) or request.state != RequestState.APPROVED or request.is_archived:
        return None
    if not request.department_links.filter(department=department).exists():
        return None
    return org.department_actor(user=user, department=department)


def can_start(user: User, task: Task) -> bool:
    return (
        task.state == TaskState.TODO
        and not _archived(task)
        and role_of(user, task, RaciRole.RESPONSIBLE)
    )


def can_log_progress(user: User, task: Task) -> bool:
    """The Responsible person logs progress on a task under way (進行中; start it first)."""
    return (
        task.state == TaskState.IN_PROGRESS
        and not _archived(task)
        and role_of(user, task, RaciRole.RESPONSIBLE)
    )


def can_submit(user: User, task: Task) -> bool:
    return (
        task.state == TaskState.IN_PROGRESS
        and not _archived(task)
        and role_of(user, task, RaciRole.RESPONSIBLE)
    )


def can_override_dependencies(user: User, task: Task) -> bool:
    return (
        task.state == TaskState.TODO
        and not _archived(task)
        and role_of(user, task, RaciRole.ACCOUNTABLE)
    )


def can_change_due(user: User, task: Task) -> bool:
    """The Accountable person or the PMO move a due date (with reason and solution)."""
    if task.state == TaskState.DONE or not _active(user) or _archived(task):
        return False
    return user.is_pmo or user.is_platform_admin or role_of(user, task, RaciRole.ACCOUNTABLE)


def can_comment(user: User, task: Task) -> bool:
    """Comments and 協作請求 (asks) on a task: whoever may write on it."""
    return can_write_task(user, task)


def can_answer_ask(user: User, ask) -> bool:
    """The person asked, or (for a department) its members and heads, answer an ask.

    Being asked is a right to answer: someone who sees the task only through a RACI
    role elsewhere in the request answers an ask made to them by name (an ask to a
    department goes to one of the request's departments, whose people take part).
    """
    if not _active(user) or _archived(ask.task):
        return False
    if ask.to_user_id:
        return ask.to_user_id == user.pk
    # Members and heads of the department, and whoever acts for its head today.
    departments = org.user_department_ids(user) | set(
        org.departments_actable(user=user).values_list("pk", flat=True)
    )
    return ask.to_department_id in departments


def can_view_department_tasks(user: User) -> bool:
    """Heads, and deputies while a delegation runs, see their departments' task page."""
    return collab_permissions.can_view_department_work(user)


SEES_EVERYTHING_ROLES = (Role.PMO, Role.EXECUTIVE, Role.ADMIN)


def request_department_ids(request: CollabRequest) -> set[int]:
    """Return the initiating and collaborating departments of a request (one query)."""
    ids = set(request.department_links.values_list("department_id", flat=True))
    ids.add(request.initiating_department_id)
    return ids


def users_who_can_see(task: Task, *, departments: set[int] | None = None) -> QuerySet[User]:
    """Return the active people who can see `task`, in two queries whatever their number.

    The mirror image of visible_tasks (a test holds the two equal): PMO, executives,
    platform admins and superusers; members and heads of the request's departments and
    today's deputies of those heads; the initiator; anyone with a guardian view grant on
    the request; the task's RACI members. An archived, non-confidential case: everyone.
    """
    request = task.request
    if request.is_archived and not request.is_confidential:
        return (
            User.objects.filter(is_active=True)
            .select_related("department")
            .order_by("department__code", "username")
        )
    if departments is None:
        departments = request_department_ids(request)
    heads = Department.heads.through.objects.filter(
        user=OuterRef("pk"), department_id__in=departments
    )
    deputised = (
        org.delegations_active()
        .filter(deputy=OuterRef("pk"))
        .filter(
            Q(department_id__in=departments)
            | Q(department__isnull=True, head__headed_departments__in=departments)
        )
    )
    granted = CollabRequestUserObjectPermission.objects.filter(
        content_object_id=request.pk, user=OuterRef("pk"), permission__codename=VIEW_PERMISSION
    )
    assigned = TaskAssignment.objects.filter(task_id=task.pk, user=OuterRef("pk"))
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(role__in=SEES_EVERYTHING_ROLES)
            | Q(department_id__in=departments)
            | Q(pk=request.initiator_id)
            | Exists(heads)
            | Exists(deputised)
            | Exists(granted)
            | Exists(assigned)
        )
        .select_related("department")
        .order_by("department__code", "username")
    )
