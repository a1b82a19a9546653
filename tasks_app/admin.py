"""Django admin for heads and the PMO: tasks with their RACI, and the heads' signatures.

Every page is scoped by tasks_app.permissions: a head sees the tasks of the requests
their departments take part in (another department's task is "not found"), the PMO
sees all. Nothing is written by the admin itself: a task and its RACI rows are saved by
services.task_save and removed by services.task_remove, which check the permission
(the initiator or the PMO, while the request is 已立項), make a new breakdown version,
void the signatures given so far and log the change. The task's state is read-only;
it moves on the portal's task page.

The request's admin page gets a read-only list of its tasks from here, because
requests_app must not import this app (tasks_app sits above it).
"""

from __future__ import annotations

from collections import Counter

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from collab import errors
from collab.admin import AwaitingMeFilter, ReadOnlyMixin, ServiceAdminMixin, admin_link, portal_link
from collab.formats import join_list
from collab.models import Department
from requests_app import admin as request_admin
from requests_app import permissions as request_permissions
from requests_app.choices import RequestState
from requests_app.models import RequestDepartment

from . import deadlines, permissions, selectors, services
from .choices import RaciRole
from .models import Breakdown, BreakdownSignature, Task, TaskAssignment

# Fields task_save writes from its `data` argument; the rest of the task is its record.
DATA_FIELDS = services.TASK_FIELDS
# The task's record: written by the services as it moves, never edited in admin.
RECORD_FIELDS = [
    "breakdown_page",
    "started_at",
    "submitted_at",
    "completed_at",
    "completion_note",
    "dependency_override",
    "origin_review",
    "created_at",
    "updated_at",
]


def _may_edit(user, task: Task | None) -> bool:
    """Return True when `user` may change `task` in admin now (its breakdown is open)."""
    return (
        task is not None
        and task.pk is not None
        and not request_admin.is_archived_case(task)
        and user.has_perm("tasks_app.change_task")
        and permissions.can_edit_breakdown(user, task.request)
    )


# --- RACI inline ---------------------------------------------------------------------


class RaciFormSet(BaseInlineFormSet):
    """Hold exactly one R and one A, each person at most once per role.

    The rows are handed to services.task_save, which replaces the task's RACI; the
    formset itself never saves them.
    """

    def rows(self) -> list[dict]:
        return [
            form.cleaned_data
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("user")
            and form.cleaned_data.get("role")
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = self.rows()
        counts = Counter(row["role"] for row in rows)
        errors = []
        if counts[RaciRole.RESPONSIBLE] != 1:
            errors.append(
                gettext("A task has exactly one Responsible person (R); this one has %(count)d.")
                % {"count": counts[RaciRole.RESPONSIBLE]}
            )
        if counts[RaciRole.ACCOUNTABLE] != 1:
            errors.append(
                gettext("A task has exactly one Accountable person (A); this one has %(count)d.")
                % {"count": counts[RaciRole.ACCOUNTABLE]}
            )
        pairs = Counter((row["user"].pk, row["role"]) for row in rows)
        doubled = sorted(
            {str(row["user"]) for row in rows if pairs[(row["user"].pk, row["role"])] > 1}
        )
        if doubled:
            errors.append(
                gettext("%(people)s hold the same role twice.") % {"people": join_list(doubled)}
            )
        if errors:
            raise ValidationError(errors)

    def raci(self) -> dict:
        """Return the rows as services.task_save's RACI argument."""
        return _raci((row["role"], row["user"]) for row in self.rows())


def _raci(pairs) -> dict:
    """Return (role, user) pairs as services.task_save's RACI argument: the R and the A
    as one person each, C and I as lists."""
    raci: dict = {RaciRole.CONSULTED: [], RaciRole.INFORMED: []}
    for role, user in pairs:
        if role in (RaciRole.RESPONSIBLE, RaciRole.ACCOUNTABLE):
            raci[role] = user
        else:
            raci[role].append(user)
    return raci


class TaskAssignmentInline(request_admin.ArchivedCaseInlineMixin, admin.TabularInline):
    model = TaskAssignment
    formset = RaciFormSet
    fields = ["role", "user"]
    autocomplete_fields = ["user"]
    verbose_name = _("RACI role")
    verbose_name_plural = _("RACI: exactly one R and one A, any number of C and I")

    def get_queryset(self, request):
        order = Case(
            *(When(role=role, then=Value(i)) for i, role in enumerate(RaciRole.values)),
            output_field=IntegerField(),
        )
        return (
            super()
            .get_queryset(request)
            .select_related("user", "user__department")
            .order_by(order, "pk")
        )

    def get_extra(self, request, obj=None, **kwargs):
        return 2 if obj is None else 1

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("tasks_app.view_task") or request.user.has_perm(
            "tasks_app.change_task"
        )

    def has_add_permission(self, request, obj=None):
        if obj is None:
            return request.user.has_perm("tasks_app.add_task")
        return _may_edit(request.user, obj)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return request.user.has_perm("tasks_app.add_task")
        return _may_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        # Taking a person off a task is an edit of the breakdown, saved by the service.
        return self.has_change_permission(request, obj)


# --- the task ------------------------------------------------------------------------


class DueFilter(admin.SimpleListFilter):
    """The timing verdicts of the task pages' badges (tasks_app.deadlines)."""

    title = _("timing")
    parameter_name = "timing"
    conditions = {
        "overdue": lambda d: d.overdue_q(),
        "behind": lambda d: d.behind_q(),
        "due_soon": lambda d: d.due_soon_q(),
        "stale": lambda d: d.stale_q(),
    }

    def lookups(self, request, model_admin):
        return [
            ("overdue", pgettext_lazy("task is late", "Overdue")),
            ("behind", pgettext_lazy("task is late", "Behind plan")),
            ("due_soon", _("Due soon")),
            ("stale", _("No progress update")),
        ]

    def queryset(self, request, queryset):
        condition = self.conditions.get(self.value())
        if condition is not None:
            return queryset.filter(condition(deadlines.Deadlines()))
        return queryset


@admin.register(Task)
class TaskAdmin(request_admin.ArchivedCaseAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "name",
        "request",
        "responsible_department",
        "state",
        "due_at",
        "progress",
    ]
    list_display_links = ["number", "name"]
    list_filter = [
        "state",
        "importance",
        ("responsible_department", admin.RelatedOnlyFieldListFilter),
        DueFilter,
    ]
    search_fields = ["number", "name"]
    list_select_related = ["request", "responsible_department"]
    date_hierarchy = "due_at"
    inlines = [TaskAssignmentInline]
    # No bulk delete: a task leaves the breakdown one at a time, through the service.
    actions = None
    readonly_fields = ["number", "state", "progress", *RECORD_FIELDS]
    fieldsets = [
        (
            None,
            {"fields": ["request", "number", "name", "description", "state", "progress"]},
        ),
        (
            _("Departments"),
            {"fields": ["responsible_department", "supporting_departments"]},
        ),
        (
            _("Timing"),
            {"fields": ["start_date", "due_at", "buffer_days", "importance", "depends_on"]},
        ),
        (_("Delivery"), {"fields": ["deliverable", "acceptance_criteria"]}),
        (
            _("Record"),
            {
                "classes": ["collapse"],
                "fields": RECORD_FIELDS,
            },
        ),
    ]

    # Scoping and permissions

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("request", "responsible_department")
        return permissions.visible_tasks(request.user, queryset)

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.insert(0, "request")
        return fields

    def has_change_permission(self, request, obj=None):
        """Open the form for editing only while the breakdown may change."""
        allowed = super().has_change_permission(request, obj)
        return allowed if obj is None else allowed and _may_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        """Only while the breakdown may change, and only through services.task_remove."""
        return _may_edit(request.user, obj)

    # The form: choices limited to the request's departments and tasks

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        depends_on = form_class.base_fields.get("depends_on")
        if depends_on is not None and hasattr(depends_on.widget, "can_add_related"):
            # A predecessor is another task of the same breakdown, not a new one.
            depends_on.widget.can_add_related = False
        return form_class

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "request":
            kwargs["queryset"] = request_permissions.visible_requests(request.user).filter(
                state=RequestState.APPROVED, is_archived=False
            )
        elif db_field.name == "responsible_department":
            kwargs["queryset"] = self._departments(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "supporting_departments":
            kwargs["queryset"] = self._departments(request)
            kwargs["widget"] = forms.CheckboxSelectMultiple
        elif db_field.name == "depends_on":
            task = self._task_of(request)
            queryset = Task.objects.none()
            if task is not None:
                queryset = task.request.tasks.exclude(pk=task.pk).order_by("sequence")
            kwargs["queryset"] = queryset
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _task_of(self, request) -> Task | None:
        """Return the task whose change page is being built (cached on the request)."""
        if not hasattr(request, "_admin_task"):
            match = request.resolver_match
            object_id = match.kwargs.get("object_id") if match else None
            request._admin_task = (
                self.get_queryset(request).filter(pk=unquote(object_id)).first()
                if object_id
                else None
            )
        return request._admin_task

    def _departments(self, request):
        task = self._task_of(request)
        if task is None:
            return Department.objects.filter(is_active=True)
        return Department.objects.filter(collaborations=task.request)

    # Saving: the task and its RACI go through services.task_save

    def save_model(self, request, obj, form, change):
        """Do nothing here: save_related hands the form and its RACI to the service."""

    def save_related(self, request, form, formsets, change):
        raci_formset = next((fs for fs in formsets if fs.model is TaskAssignment), None)
        obj = form.instance
        if change and not form.has_changed() and not (raci_formset and raci_formset.has_changed()):
            return  # saving nothing must not void the signatures given
        data = form.cleaned_data
        if raci_formset is not None:
            raci = raci_formset.raci()
        else:
            raci = _raci((row.role, row.user) for row in obj.assignments.select_related("user"))
        try:
            saved = services.task_save(
                request=data["request"] if not change else obj.request,
                by=request.user,
                data={name: data[name] for name in DATA_FIELDS if name in data},
                raci=raci,
                supporting=list(data.get("supporting_departments") or []),
                depends_on=list(data.get("depends_on") or []),
                task=obj if change else None,
            )
        except errors.REFUSALS as exc:
            self.refuse(exc)  # the form comes back as filled in, with the reasons
        # The admin logs and redirects with the object the service made.
        obj.pk, obj.number, obj.sequence = saved.pk, saved.number, saved.sequence
        obj._state.adding = False

    def construct_change_message(self, request, form, formsets, add=False):
        # The RACI rows are written by the service, not by the formset.
        return super().construct_change_message(request, form, [], add)

    # Removing: only through services.task_remove

    def delete_model(self, request, obj):
        try:
            services.task_remove(task=obj, by=request.user)
        except errors.REFUSALS as exc:
            self.refuse(exc)  # rolled back; the task's page says why

    # Columns

    @admin.display(description=_("progress"), ordering="progress_percent")
    def progress(self, obj):
        return f"{obj.progress_percent}%"

    @admin.display(description=_("breakdown"))
    def breakdown_page(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return portal_link(
            reverse("tasks_app:breakdown", args=[obj.request_id]),
            gettext("Open the breakdown in the portal"),
        )


# --- breakdowns and signatures ---------------------------------------------------------


class BreakdownAwaitingMeFilter(AwaitingMeFilter):
    """The breakdowns waiting for the person's 簽署 (selectors.breakdowns_awaiting_signature,
    the rule of the to-do page)."""

    field = "request_id"

    def awaiting(self, request):
        return {item.request.pk for item in selectors.breakdowns_awaiting_signature(request.user)}


def _count(queryset, outer: str):
    """A correlated COUNT of `queryset`'s rows, grouped on the `outer` reference; 0 when
    there are none."""
    counted = queryset.order_by().values(outer).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted), 0)


@admin.register(Breakdown)
class BreakdownAdmin(
    request_admin.ArchivedCaseAdminMixin,
    request_admin.VisibleRequestsMixin,
    ReadOnlyMixin,
    admin.ModelAdmin,
):
    """The 任務分工表 of the requests, with how many departments signed the current
    version; read-only. Heads filter those awaiting their signature, and sign on the
    portal's breakdown page (services.breakdown_sign, as everywhere)."""

    list_display = ["request", "request_state", "version", "signed", "updated_at", "sign_page"]
    list_display_links = ["request"]
    list_filter = [BreakdownAwaitingMeFilter, "request__state"]
    search_fields = ["request__number", "request__name"]
    list_select_related = ["request"]
    show_full_result_count = False
    fields = ["request", "request_state", "version", "signed", "updated_at", "sign_page"]
    readonly_fields = fields

    def get_queryset(self, request):
        current = BreakdownSignature.objects.filter(
            breakdown=OuterRef("pk"), version=OuterRef("version"), voided_at__isnull=True
        )
        departments = RequestDepartment.objects.filter(request=OuterRef("request"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                signed_count=_count(current, "breakdown"),
                department_count=_count(departments, "request"),
            )
        )

    @admin.display(description=_("request state"), ordering="request__state")
    def request_state(self, obj):
        return obj.request.get_state_display()

    @admin.display(description=_("signed"))
    def signed(self, obj):
        return f"{obj.signed_count} / {obj.department_count}"

    @admin.display(description=_("breakdown"))
    def sign_page(self, obj):
        return portal_link(
            reverse("tasks_app:breakdown", args=[obj.request_id]) + "#signatures",
            gettext("Open the breakdown in the portal"),
        )


@admin.register(BreakdownSignature)
class BreakdownSignatureAdmin(
    request_admin.ArchivedCaseAdminMixin,
    request_admin.VisibleRequestsMixin,
    ReadOnlyMixin,
    admin.ModelAdmin,
):
    """Read-only record of the heads' 簽署, voided ones included."""

    fields = [
        "request_link",
        "department",
        "version",
        "signed_by",
        "on_behalf_of",
        "signed_at",
        "voided_at",
        "is_current",
    ]
    readonly_fields = fields
    list_display = [name for name in fields if name != "voided_at"]
    list_filter = [("department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["breakdown__request__number", "breakdown__request__name"]
    list_select_related = ["breakdown__request", "department", "signed_by", "on_behalf_of"]
    date_hierarchy = "signed_at"
    request_field = "breakdown__request"

    @admin.display(description=_("request"), ordering="breakdown__request__number")
    def request_link(self, obj):
        return obj.breakdown.request

    @admin.display(description=_("valid"), boolean=True)
    def is_current(self, obj):
        return obj.is_valid


# --- the request's tasks, on the request's admin page ---------------------------------


class RequestTaskInline(request_admin.ReadOnlyRowsInline):
    """The tasks of a request, read-only; they are edited on the task's own admin page."""

    model = Task
    fk_name = "request"
    verbose_name_plural = _("tasks")
    fields = [
        "task_link",
        "name",
        "responsible_department",
        "responsible",
        "due_at",
        "state",
        "progress",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("responsible_department")
            .prefetch_related(
                Prefetch(
                    "assignments",
                    queryset=TaskAssignment.objects.filter(
                        role=RaciRole.RESPONSIBLE
                    ).select_related("user"),
                    to_attr="responsible_rows",
                )
            )
            .order_by("sequence")
        )

    @admin.display(description=_("number"))
    def task_link(self, obj):
        return admin_link(obj, obj.number)

    @admin.display(description=_("Responsible (R)"))
    def responsible(self, obj):
        rows = getattr(obj, "responsible_rows", [])
        return rows[0].user if rows else "—"

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.progress_percent}%"


def _add_task_inline_to_request_admin() -> None:
    """Put the tasks before the history on the request's admin page (once)."""
    request_model_admin = admin.site._registry.get(request_admin.CollabRequest)
    inlines = list(request_admin.CollabRequestAdmin.inlines)
    if RequestTaskInline in inlines:
        return
    history = inlines.index(request_admin.RequestEventInline)
    inlines.insert(history, RequestTaskInline)
    request_admin.CollabRequestAdmin.inlines = inlines
    if request_model_admin is not None:
        request_model_admin.inlines = inlines


_add_task_inline_to_request_admin()
