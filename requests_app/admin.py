"""Django admin for heads and the PMO: requests with their state-machine buttons.

Every page is scoped by requests_app.permissions: a head sees only the requests of
their departments (another department's request is "not found"), the PMO sees all.
The transition buttons come from django-fsm-2's FSMAdminMixin, but the admin never
runs a model transition itself: each button calls the request's service, which checks
permission, locks the row, writes the history and notifies.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_fsm.admin import FSMAdminMixin

from collab import errors
from collab.admin import AwaitingMeFilter as BaseAwaitingMeFilter
from collab.admin import (
    ReadOnlyAdmin,
    ReadOnlyMixin,
    ServiceTransitionsAdminMixin,
    StateLogInlineMixin,
    portal_link,
)
from collab.formats import join_list, list_separator

from . import permissions, services
from .choices import RequestState
from .models import (
    Attachment,
    CaseArchived,
    CaseRecord,
    CollabRequest,
    DepartmentReview,
    Goal,
    Milestone,
    RequestDepartment,
    RequestEvent,
    ResourceNeed,
)

# Why a transition the person may run is not offered yet (its guard is closed). The
# same texts as the services' refusals, so one translation serves both.
# Transitions with a condition; when it is closed the page says why (services' words).
GUARDED_TRANSITIONS = {"confirm", "start", "complete"}

TRANSITION_HELP = {
    "confirm": _("Approve the request as a project; the initiator and the heads are notified."),
    "start": _("Start the work: every involved head has signed the task breakdown."),
    "complete": _("Close the request: its final acceptance has passed."),
    "cancel": _("Cancel the request; the reason is kept in its history and sent on."),
}


def _may_edit(user, obj: CollabRequest | None) -> bool:
    """Return True when `user` may change the request's content in admin now."""
    return (
        obj is not None
        and not is_archived_case(obj)
        and user.has_perm("requests_app.change_collabrequest")
        and permissions.can_edit(user, obj)
    )


# --- archived cases are read-only (shared by every admin of a case model) ----------


def case_of(obj) -> CollabRequest | None:
    """Return the request (the case) that `obj` belongs to, or None."""
    if isinstance(obj, CollabRequest):
        return obj
    if isinstance(obj, CaseRecord):
        return obj.case_request()
    return None


def is_archived_case(obj) -> bool:
    """Return True when `obj` is, or belongs to, an archived case."""
    request = case_of(obj)
    return bool(request is not None and request.is_archived)


def _open_cases_only(queryset, model):
    """Narrow a choice list of requests or case records to cases not archived."""
    if issubclass(model, CollabRequest):
        return queryset.filter(is_archived=False)
    if issubclass(model, CaseRecord):
        return queryset.filter(**{model.case_path.replace(".", "__") + "__is_archived": False})
    return queryset


class _ArchivedCaseChecks:
    """No change or delete of an archived case, nor of the rows on its page."""

    def has_change_permission(self, request, obj=None):
        if is_archived_case(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if is_archived_case(obj):
            return False
        return super().has_delete_permission(request, obj)


class ArchivedCaseAdminMixin(_ArchivedCaseChecks):
    """Show an archived case (歸檔) read-only in admin, whoever looks, superusers included.

    Put it first in the bases of the ModelAdmin of any case model (CollabRequest or a
    CaseRecord). On an archived object the admin offers no change, delete or
    state-machine button and refuses them when posted; a bulk delete that includes one
    is refused; and no choice list offers an archived case to attach a new row to. The
    models (CaseRecord) and the PostgreSQL triggers refuse the writes as well: this
    keeps admin from offering what would be refused.
    """

    def delete_queryset(self, request, queryset):
        # The "delete selected" action deletes through the queryset, past Model.delete().
        if any(is_archived_case(obj) for obj in queryset):
            raise PermissionDenied(CaseArchived().messages[0])
        super().delete_queryset(request, queryset)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        model = db_field.related_model
        if issubclass(model, (CollabRequest, CaseRecord)):
            queryset = kwargs.get("queryset")
            if queryset is None:
                queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
            if queryset is None:
                queryset = model._default_manager.using(kwargs.get("using"))
            kwargs["queryset"] = _open_cases_only(queryset, model)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def transitions_closed(self, request, obj) -> str | None:
        """No state-machine button on an archived case, and a posted one is refused
        (collab.admin.ServiceTransitionsAdminMixin asks)."""
        return CaseArchived().messages[0] if is_archived_case(obj) else None


class ArchivedCaseInlineMixin(_ArchivedCaseChecks):
    """The inline counterpart of ArchivedCaseAdminMixin: no add, change or delete of the
    rows shown on an archived case's page (`obj` is the parent object)."""

    def has_add_permission(self, request, obj=None):
        if is_archived_case(obj):
            return False
        return super().has_add_permission(request, obj)


class VisibleRequestsMixin:
    """Scope an admin list of a request's rows to the requests the person may see
    (permissions.visible_requests); `request_field` is the path to the request."""

    request_field = "request"

    def get_queryset(self, request):
        visible = permissions.visible_requests(request.user)
        return super().get_queryset(request).filter(**{f"{self.request_field}__in": visible})


class CancelForm(forms.Form):
    """Asked before a cancellation: the reason is required and kept in the history."""

    reason = forms.CharField(
        label=_("Reason for cancellation"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )


# --- inlines -------------------------------------------------------------------------


class _RequestRowsInline(ArchivedCaseInlineMixin, admin.TabularInline):
    """Rows shown on a request's page; whoever may open the request may see them."""

    extra = 0

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("requests_app.view_collabrequest") or request.user.has_perm(
            "requests_app.change_collabrequest"
        )


class ReadOnlyRowsInline(ReadOnlyMixin, _RequestRowsInline):
    """Rows of a request shown read-only on its page (tasks_app's tasks too)."""

    can_delete = False


class _EditableRowsInline(_RequestRowsInline):
    """Rows editable exactly while the request's content is (permissions.can_edit).

    They are saved with the request by services.request_save, never by the formset.
    """

    def has_add_permission(self, request, obj=None):
        return _may_edit(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return _may_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        # Removing a goal row from a draft is an edit of the draft, not a deletion of a
        # record: request_save writes the rows anew and logs the edit.
        return _may_edit(request.user, obj)


class RequestDepartmentInline(_EditableRowsInline):
    model = RequestDepartment
    fields = ["department", "is_lead"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department")


class GoalInline(_EditableRowsInline):
    model = Goal
    fields = ["description", "metric", "target_value", "unit"]


class MilestoneInline(_EditableRowsInline):
    model = Milestone
    fields = ["name", "date"]


class ResourceNeedInline(_EditableRowsInline):
    model = ResourceNeed
    fields = ["department", "kind", "description"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department")


class AttachmentInline(ReadOnlyRowsInline):
    model = Attachment
    fields = ["name", "created_by", "created_at", "version_links"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("created_by").prefetch_related("versions")
        )

    @admin.display(description=_("versions"))
    def version_links(self, obj):
        return format_html_join(
            list_separator(),
            '<a href="{}">v{} {}</a>',
            (
                (
                    reverse("requests_app:attachment-download", args=[obj.request_id, v.pk]),
                    v.version,
                    v.note or v.original_name,
                )
                for v in obj.versions.all()
            ),
        )


class DepartmentReviewInline(ReadOnlyRowsInline):
    model = DepartmentReview
    fields = [
        "department",
        "round",
        "decision",
        "decided_by",
        "on_behalf_of",
        "decided_at",
        "comment",
        "due_date",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("department", "decided_by", "on_behalf_of")
        )


class RequestEventInline(StateLogInlineMixin, ReadOnlyRowsInline):
    """The request's timeline: who, on whose behalf, when, from, to and the comment."""

    model = RequestEvent
    state_choices = RequestState
    verbose_name_plural = _("history")
    fields = ["at", "kind", "from_label", "to_label", "by", "on_behalf_of", "department", "text"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by", "on_behalf_of", "department")


# --- the request ---------------------------------------------------------------------

# The request's record: written by the services as it moves, never edited in admin.
RECORD_FIELDS = [
    "review_round",
    "submitted_at",
    "approved_at",
    "completed_at",
    "cancel_reason",
    "is_archived",
    "archived_at",
    "is_confidential",
    "created_at",
    "updated_at",
]


@admin.register(CollabRequest)
class CollabRequestAdmin(
    ArchivedCaseAdminMixin, ServiceTransitionsAdminMixin, FSMAdminMixin, admin.ModelAdmin
):
    fsm_fields = ["state"]
    fsm_forms = {"cancel": CancelForm}
    change_form_template = "admin/requests_app/collabrequest/change_form.html"

    list_display = [
        "number",
        "name",
        "initiating_department",
        "state",
        "priority",
        "expected_completion",
        "submitted_at",
    ]
    list_display_links = ["number", "name"]
    # The department filters offer every department: "only those of the requests
    # shown" (RelatedOnlyFieldListFilter) means a DISTINCT over everything a head may
    # see, twice per page (`make bench`). The full count above the list ("N total")
    # is a third pass over it; Django shows it only for an unfiltered list anyway.
    list_filter = ["state", "priority", "initiating_department", "departments"]
    show_full_result_count = False
    search_fields = ["number", "name"]
    list_select_related = ["initiating_department"]
    date_hierarchy = "submitted_at"
    actions = ["confirm_selected"]
    inlines = [
        RequestDepartmentInline,
        GoalInline,
        MilestoneInline,
        ResourceNeedInline,
        AttachmentInline,
        DepartmentReviewInline,
        RequestEventInline,
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "name",
                    "state",
                    "priority",
                    "initiating_department",
                    "initiator",
                    "contact",
                    "expected_completion",
                ]
            },
        ),
        (
            _("Content"),
            {"fields": ["background", "expected_deliverables", "data_needs", "notes"]},
        ),
        (
            _("Record"),
            {
                "classes": ["collapse"],
                "fields": RECORD_FIELDS,
            },
        ),
    ]
    # The state is read-only too: FSMAdminMixin adds it because the field is protected.
    readonly_fields = ["number", "initiating_department", "initiator", *RECORD_FIELDS]

    # Scoping and permissions

    def get_queryset(self, request):
        queryset = (
            super().get_queryset(request).select_related("initiating_department", "initiator")
        )
        return permissions.visible_requests(request.user, queryset)

    def has_add_permission(self, request):
        # Requests are filed in the portal by a member of the initiating department.
        return False

    def has_change_permission(self, request, obj=None):
        """Open the form for editing only while permissions.can_edit holds."""
        allowed = super().has_change_permission(request, obj)
        return allowed if obj is None else allowed and permissions.can_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # nothing is ever deleted; a request is cancelled with a reason

    def has_confirm_permission(self, request):
        return permissions.can_confirm(request.user)

    # Saving: content goes through services.request_save, with its rows

    def save_model(self, request, obj, form, change):
        """Do nothing here: save_related hands the form and its rows to the service."""

    def save_related(self, request, form, formsets, change):
        rows = {
            formset.model: [
                f.cleaned_data
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            for formset in formsets
            if formset.model in (RequestDepartment, Goal, Milestone, ResourceNeed)
        }
        obj = form.instance

        def rows_of(model, manager):
            # An inline that was not on the page keeps its rows as they are.
            if model in rows:
                return rows[model]
            return [{f.name: getattr(r, f.name) for f in r._meta.fields} for r in manager.all()]

        try:
            services.request_save(
                by=request.user,
                request=obj,
                data=form.cleaned_data,
                departments=rows_of(RequestDepartment, obj.department_links),
                goals=rows_of(Goal, obj.goals),
                milestones=rows_of(Milestone, obj.milestones),
                resource_needs=rows_of(ResourceNeed, obj.resource_needs),
            )
        except errors.REFUSALS as exc:
            self.refuse_with_message(request, exc)

    def construct_change_message(self, request, form, formsets, add=False):
        # The formsets are never saved themselves (request_save writes the rows), so
        # only the request's own fields go into the admin log.
        return super().construct_change_message(request, form, [], add)

    # Transitions: offered through permissions, run through services

    @staticmethod
    def get_fsm_block_label(fsm_field_name: str) -> str:
        return gettext("Change the state")

    def get_help_text(self, transition) -> str | None:
        return TRANSITION_HELP.get(transition.name)

    def get_fsm_services(self) -> dict:
        """Return the service behind each transition the admin offers, by name."""
        return {**services.TRANSITION_SERVICES, "cancel": services.request_cancel}

    def transition_names(self) -> set[str]:
        return set(self.get_fsm_services())

    def run_transition(self, request, obj, name, *, expected_state, data):
        service = self.get_fsm_services()[name]
        return service(request=obj, by=request.user, expected_state=expected_state, **data)

    def transition_done_message(self, obj) -> str:
        return gettext("“%(request)s” is now “%(state)s”.") % {
            "request": obj,
            "state": obj.get_state_display(),
        }

    def offered_transitions(self, request, obj: CollabRequest) -> list:
        """Return the transitions `request.user` may run on `obj` now, guards included."""
        user = request.user
        return [
            t
            for t in obj.get_available_user_state_transitions(user=user)
            if self.is_fsm_transition_visible(t)
            and t.name in self.get_fsm_services()
            and permissions.can_transition(user, obj, t.name)
        ]

    def blocked_transitions(self, request, obj: CollabRequest, offered: list) -> list[dict]:
        """Return the transitions the person may run but whose guard is still closed."""
        offered_names = {t.name for t in offered}
        blocked = []
        for t in obj.get_all_state_transitions():
            if (
                t.source == obj.state
                and t.name in GUARDED_TRANSITIONS
                and t.name not in offered_names
                and self.is_fsm_transition_visible(t)
                and permissions.can_transition(request.user, obj, t.name)
            ):
                blocked.append(
                    {
                        "name": t.name,
                        "label": self.get_fsm_label(t),
                        "reason": services.transition_refusal(obj, t.name),
                    }
                )
        return blocked

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            offered = self.offered_transitions(request, obj)
            context["fsm_blocked_transitions"] = self.blocked_transitions(request, obj, offered)
            context["reviews_awaiting_user"] = list(
                permissions.reviews_actable(request.user)
                .filter(request=obj)
                .select_related("department")
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # The bulk 確認立項

    @admin.action(description=_("Confirm selected requests as projects"), permissions=["confirm"])
    def confirm_selected(self, request, queryset):
        """Confirm each eligible request; name every skipped one with the service's reason."""
        confirmed = []
        for obj in queryset:
            try:
                services.request_confirm(request=obj, by=request.user, expected_state=obj.state)
            except errors.REFUSALS as exc:
                self.message_user(
                    request,
                    gettext("Skipped “%(request)s”: %(reason)s")
                    % {"request": obj, "reason": errors.message(exc)},
                    messages.WARNING,
                )
            else:
                confirmed.append(obj)
        if confirmed:
            self.message_user(
                request,
                ngettext(
                    "Confirmed %(count)d request as a project: %(requests)s",
                    "Confirmed %(count)d requests as projects: %(requests)s",
                    len(confirmed),
                )
                % {"count": len(confirmed), "requests": join_list(str(r) for r in confirmed)},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, gettext("No request was confirmed."), messages.WARNING)


# --- reviews -------------------------------------------------------------------------


class AwaitingMeFilter(BaseAwaitingMeFilter):
    """The reviews the person must answer now, as head or as an active deputy."""

    title = _("awaiting my answer")

    def awaiting(self, request):
        return permissions.reviews_actable(request.user).values("pk")


@admin.register(DepartmentReview)
class DepartmentReviewAdmin(VisibleRequestsMixin, ReadOnlyAdmin):
    """Read-only list of the department reviews; answering happens on the portal page."""

    list_display = [
        "request",
        "department",
        "round",
        "decision",
        "due_date",
        "decided_by",
        "decided_at",
        "review_page",
    ]
    list_filter = [
        AwaitingMeFilter,
        "decision",
        ("department", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["request__number", "request__name"]
    list_select_related = ["request", "department", "decided_by"]
    date_hierarchy = "due_date"
    fields = [
        "request",
        "department",
        "round",
        "due_date",
        "decision",
        "comment",
        "committed_tasks",
        "decided_by",
        "on_behalf_of",
        "decided_at",
        "review_page",
    ]
    readonly_fields = fields

    @admin.display(description=_("review page"))
    def review_page(self, obj):
        return portal_link(reverse("requests_app:detail", args=[obj.request_id]))
