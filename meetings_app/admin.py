"""Django admin for the PMO, heads and executives: meetings, their minutes and action items.

Every list is scoped by meetings_app.permissions (visible_meetings, visible_actions):
a head sees the meetings of their departments' requests and those they attend, the
PMO and executives all; another department's meeting is "not found". A draft's minutes,
problems and action items show only to the meeting's editors (organiser, recorder, PMO).

Nothing is written by the admin itself:
- a meeting's plan (topic, time, place, focus) is saved by services.meeting_update, which
  re-sends the invitation; its people and agenda are changed on the portal's page;
- "Cancel meeting" asks for the reason and calls services.meeting_cancel (CANCEL to every
  calendar);
- an action item's closure confirmation, sending back and cancelling are its state
  buttons (services.action_accept / action_send_back / action_cancel), and "Escalate"
  (需升級, not a state) asks for the reason and calls services.action_escalate.
The minutes themselves are written and filed on the portal. An archived case is
read-only (requests_app.admin.ArchivedCaseAdminMixin).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django_fsm.admin import FSMAdminMixin, FSMTransitionContext

from collab import errors
from collab.admin import (
    ReadOnlyInline,
    ReadOnlyMixin,
    ServiceTransitionsAdminMixin,
    StateLogInlineMixin,
    admin_link,
    portal_link,
)
from collab.formats import join_list
from requests_app import admin as request_admin
from tasks_app.admin import DueFilter

from . import permissions, services
from .choices import ActionState, MeetingState, MinutesState
from .models import (
    ActionDelivery,
    ActionEvent,
    ActionItem,
    ActionProgress,
    AgendaItem,
    Meeting,
    MeetingEvent,
    MeetingSeries,
    Minutes,
    Problem,
)

# The fields of a meeting's plan the admin form may change (services.meeting_update).
PLAN_FIELDS = ["topic", "starts_at", "ends_at", "form", "location", "online_link", "focus"]


class MeetingAdminForm(forms.ModelForm):
    """The meeting's plan, with the meeting's revision when the page was shown, so that
    services.meeting_update refuses a save over someone else's newer change."""

    revision = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["revision"].initial = services.revision(self.instance)


class ReasonForm(forms.Form):
    """Asked before a cancellation, a sending back or an escalation: why, kept in the
    history and sent to the people concerned."""

    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4, "cols": 60})
    )


class NoteForm(forms.Form):
    """Asked before the closure confirmation: an optional note."""

    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )


def _done_message(obj) -> str:
    return gettext("“%(object)s” is now “%(state)s”.") % {
        "object": obj,
        "state": obj.get_state_display(),
    }


# --- rows shown on a meeting's or an action item's page --------------------------------


class _MeetingRowsInline(ReadOnlyInline):
    """Read-only rows of a meeting: whoever may open the meeting may see them."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("meetings_app.view_meeting") or request.user.has_perm(
            "meetings_app.change_meeting"
        )


class AgendaItemInline(_MeetingRowsInline):
    model = AgendaItem
    verbose_name_plural = _("agenda")
    fields = ["position", "title", "department"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department")


class MinutesInline(_MeetingRowsInline):
    """Every version of the minutes, the superseded ones included, with its PDF."""

    model = Minutes
    verbose_name_plural = _("minutes versions")
    fields = ["version", "state", "filed_by", "filed_at", "correction_reason", "pdf"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("filed_by")

    @admin.display(description=_("printed minutes"))
    def pdf(self, obj):
        url = reverse("meetings_app:minutes-pdf", args=[obj.meeting_id])
        return portal_link(f"{url}?version={obj.version}", gettext("Print"))


class ProblemInline(_MeetingRowsInline):
    model = Problem
    verbose_name_plural = _("problems")
    fields = ["description", "department", "status", "status_note", "status_changed_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department")


class ActionItemInline(_MeetingRowsInline):
    model = ActionItem
    fk_name = "meeting"
    verbose_name_plural = _("action items")
    fields = [
        "item",
        "responsible_department",
        "owner",
        "deliverable",
        "due_at",
        "state",
        "progress",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("responsible_department", "owner")
        return permissions.visible_actions(request.user, queryset)

    @admin.display(description=_("action item"))
    def item(self, obj):
        return admin_link(obj, obj.description[:60])

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.progress_percent}%"


class MeetingEventInline(StateLogInlineMixin, _MeetingRowsInline):
    model = MeetingEvent
    state_choices = MeetingState
    verbose_name_plural = _("history")
    fields = ["at", "kind", "from_label", "to_label", "by", "on_behalf_of", "text"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by", "on_behalf_of")


# --- meetings --------------------------------------------------------------------------


class MinutesFilter(admin.SimpleListFilter):
    """Meetings held whose minutes are still to be filed, or filed."""

    title = _("minutes")
    parameter_name = "minutes"

    def lookups(self, request, model_admin):
        return [("awaiting", _("To be written")), ("filed", pgettext_lazy("minutes", "Filed"))]

    def queryset(self, request, queryset):
        if self.value() == "awaiting":
            return queryset.filter(state=MeetingState.SCHEDULED, ends_at__lt=timezone.now())
        if self.value() == "filed":
            return queryset.filter(state=MeetingState.MINUTES_FILED)
        return queryset


TRANSITION_LABELS = {"cancel": _("Cancel meeting")}
TRANSITION_HELP = {
    "cancel": _("Call the meeting off; every participant's calendar gets the cancellation."),
}


@admin.register(Meeting)
class MeetingAdmin(
    request_admin.ArchivedCaseAdminMixin,
    ServiceTransitionsAdminMixin,
    FSMAdminMixin,
    admin.ModelAdmin,
):
    fsm_fields = ["state"]
    fsm_forms = {"cancel": ReasonForm}
    change_form_template = "admin/collab/fsm_change_form.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    form = MeetingAdminForm

    list_display = ["topic", "request", "kind", "starts_at", "state", "minutes_filed"]
    list_display_links = ["topic"]
    list_filter = [
        MinutesFilter,
        "state",
        "kind",
        "form",
        ("series", admin.EmptyFieldListFilter),
        "departments",
    ]
    search_fields = ["topic", "request__number", "request__name"]
    list_select_related = ["request"]
    show_full_result_count = False
    # No date hierarchy: its two passes over every meeting a head may see cost more than
    # the list itself (`make bench`); the filters slice it instead.
    actions = None  # nothing is deleted; a meeting is cancelled with a reason
    inlines = [
        AgendaItemInline,
        MinutesInline,
        ProblemInline,
        ActionItemInline,
        MeetingEventInline,
    ]
    fieldsets = [
        (
            None,
            {"fields": ["topic", "request", "kind", "state", "series", "previous", "portal_page"]},
        ),
        (
            _("Time and place"),
            {"fields": ["starts_at", "ends_at", "form", "location", "online_link"]},
        ),
        (
            pgettext_lazy("meeting admin", "People"),
            {
                "fields": [
                    "organiser",
                    "recorder",
                    "department_names",
                    "participant_names",
                    "guests",
                ]
            },
        ),
        (None, {"fields": ["focus"]}),
        (
            _("Record"),
            {
                "classes": ["collapse"],
                "fields": [
                    "cancel_reason",
                    "minutes_filed_at",
                    "invited_at",
                    "ics_sequence",
                    "created_by",
                    "created_at",
                    "updated_at",
                ],
            },
        ),
    ]
    readonly_fields = [
        "request",
        "kind",
        "series",
        "previous",
        "portal_page",
        "organiser",
        "recorder",
        "department_names",
        "participant_names",
        "guests",
        "cancel_reason",
        "minutes_filed_at",
        "invited_at",
        "ics_sequence",
        "created_by",
        "created_at",
        "updated_at",
    ]

    # Scoping and permissions

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("request")
        return permissions.visible_meetings(request.user, queryset)

    def has_add_permission(self, request):
        return False  # scheduled on the portal, where the invitation is written

    def has_change_permission(self, request, obj=None):
        """Open the form only while the plan may change (permissions.can_edit)."""
        allowed = super().has_change_permission(request, obj)
        return allowed if obj is None else allowed and permissions.can_edit(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fieldsets(self, request, obj=None):
        """The revision goes with a form that may save (a read-only page has none)."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not self.has_change_permission(request, obj):
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": [*options["fields"], "revision"]}), *rest]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))  # the state, too
        if obj is not None and self.has_change_permission(request, obj):
            return fields
        return [*fields, *PLAN_FIELDS]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        """A draft's minutes and problems are the editors' only (the action items are
        scoped by permissions.visible_actions in their inline)."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj is not None and not permissions.is_editor(request.user, obj):
            if inline.model is Minutes:
                kwargs["queryset"] = kwargs["queryset"].exclude(state=MinutesState.DRAFT)
            elif inline.model is Problem:
                kwargs["queryset"] = kwargs["queryset"].filter(is_filed=True)
        return kwargs

    # Saving the plan through services.meeting_update

    def save_model(self, request, obj, form, change):
        """Hand the changed fields to the service (it re-sends the invitation)."""
        fields = {
            name: form.cleaned_data[name] for name in form.changed_data if name in PLAN_FIELDS
        }
        if not fields:
            return
        meeting = Meeting.objects.get(pk=obj.pk)  # the service compares with what is saved
        try:
            services.meeting_update(
                meeting=meeting,
                by=request.user,
                expected_revision=form.cleaned_data.get("revision") or None,
                **fields,
            )
        except errors.REFUSALS as exc:
            self.refuse(exc)  # the form comes back as filled in, with the reasons

    def save_related(self, request, form, formsets, change):
        """The inlines are read-only; the people and the agenda change on the portal."""

    def construct_change_message(self, request, form, formsets, add=False):
        # The inlines are never saved, so only the meeting's own fields go into the log.
        return super().construct_change_message(request, form, [], add)

    # Columns

    @admin.display(description=_("minutes filed"), boolean=True, ordering="minutes_filed_at")
    def minutes_filed(self, obj):
        return obj.minutes_filed_at is not None

    @admin.display(description=_("departments"))
    def department_names(self, obj):
        return join_list(str(d) for d in obj.departments.all()) or "—"

    @admin.display(description=_("participants"))
    def participant_names(self, obj):
        return join_list(str(u) for u in obj.participants.all()) or "—"

    @admin.display(description=_("portal page"))
    def portal_page(self, obj):
        return portal_link(obj.get_absolute_url())

    # Transitions: offered through permissions, run through services

    @staticmethod
    def get_fsm_block_label(fsm_field_name: str) -> str:
        return gettext("Change the state")

    def get_fsm_label(self, transition) -> str:
        return str(TRANSITION_LABELS.get(transition.name, transition.name))

    def get_help_text(self, transition) -> str | None:
        return TRANSITION_HELP.get(transition.name)

    def transition_names(self) -> set[str]:
        return set(TRANSITION_LABELS)

    def offered_transitions(self, request, obj: Meeting) -> list:
        return [
            t
            for t in obj.get_available_state_transitions()
            if t.name == "cancel" and permissions.can_cancel(request.user, obj)
        ]

    def run_transition(self, request, obj, name, *, expected_state, data):
        return services.meeting_cancel(
            meeting=obj, by=request.user, reason=data["reason"], expected_state=expected_state
        )

    def transition_done_message(self, obj) -> str:
        return _done_message(obj)


# --- action items ----------------------------------------------------------------------


class ActionDueFilter(DueFilter):
    """The timing verdicts of tasks_app.deadlines, read from an action item exactly as
    from a task (overdue, due soon, no progress update)."""

    conditions = {name: DueFilter.conditions[name] for name in ("overdue", "due_soon", "stale")}

    def lookups(self, request, model_admin):
        return [
            item for item in super().lookups(request, model_admin) if item[0] in self.conditions
        ]


class EscalatedFilter(admin.SimpleListFilter):
    title = _("escalation")
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", pgettext_lazy("action item", "Escalated"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(escalated_at__isnull=False)
        return queryset


class _ActionRowsInline(ReadOnlyInline):
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("meetings_app.view_actionitem") or request.user.has_perm(
            "meetings_app.change_actionitem"
        )


class ActionProgressInline(_ActionRowsInline):
    model = ActionProgress
    verbose_name_plural = _("progress updates")
    fields = ["created_at", "author", "percent", "note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class ActionDeliveryInline(_ActionRowsInline):
    model = ActionDelivery
    verbose_name_plural = _("deliveries")
    fields = ["round", "note", "original_name", "submitted_by", "submitted_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("submitted_by")


class ActionEventInline(StateLogInlineMixin, _ActionRowsInline):
    model = ActionEvent
    state_choices = ActionState
    verbose_name_plural = _("history")
    fields = ["at", "kind", "from_label", "to_label", "by", "on_behalf_of", "text"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by", "on_behalf_of")


ACTION_TRANSITIONS = {
    # name: (label, help text, service call)
    "accept": (
        _("Confirm closure"),
        _("閉環確認: the deliverable resolves the item; the owner is told."),
        lambda action, by, data: services.action_accept(
            action=action, by=by, note=data.get("note", "")
        ),
    ),
    "send_back": (
        _("Send back"),
        _("The deliverable is not enough: back to the owner, with the reason."),
        lambda action, by, data: services.action_send_back(
            action=action, by=by, reason=data["reason"]
        ),
    ),
    "cancel": (
        _("Cancel action item"),
        _("No longer needed; the reason is kept in its history."),
        lambda action, by, data: services.action_cancel(
            action=action, by=by, reason=data["reason"]
        ),
    ),
}
# Who may press each button (meetings_app.permissions).
ACTION_CHECKS = {
    "accept": permissions.can_confirm,
    "send_back": permissions.can_confirm,
    "cancel": permissions.can_cancel_action,
}
ESCALATE_LABEL = _("Escalate")
ESCALATE_HELP = _(
    "需升級: it cannot be settled at this level. The reason goes to the organiser and the "
    "escalation ladder."
)


@admin.register(ActionItem)
class ActionItemAdmin(
    request_admin.ArchivedCaseAdminMixin,
    ServiceTransitionsAdminMixin,
    FSMAdminMixin,
    ReadOnlyMixin,
    admin.ModelAdmin,
):
    """Action items, read-only, with the confirmer's buttons and "Escalate"."""

    fsm_fields = ["state"]
    fsm_forms = {"accept": NoteForm, "send_back": ReasonForm, "cancel": ReasonForm}
    change_form_template = "admin/meetings_app/actionitem/change_form.html"

    list_display = [
        "short_description",
        "meeting",
        "responsible_department",
        "owner",
        "due_at",
        "state",
        "escalated",
    ]
    list_display_links = ["short_description"]
    list_filter = [
        "state",
        ActionDueFilter,
        EscalatedFilter,
        "importance",
        "responsible_department",
    ]
    search_fields = ["description", "meeting__topic", "owner__full_name", "owner__username"]
    list_select_related = ["meeting", "responsible_department", "owner"]
    show_full_result_count = False
    # Latest deadline first, on the item's own column (the model's order goes through
    # the meeting: a join and a sort of every row a head may see). No date hierarchy:
    # its two passes over those rows cost more than the list (`make bench`).
    ordering = ["-due_at", "-pk"]
    actions = None
    inlines = [ActionProgressInline, ActionDeliveryInline, ActionEventInline]
    fields = [
        "description",
        "meeting_link",
        "problem",
        "responsible_department",
        "owner",
        "deliverable",
        "start_date",
        "due_at",
        "importance",
        "state",
        "progress_percent",
        "last_progress_at",
        "submitted_at",
        "completed_at",
        "escalated_at",
        "escalation_reason",
        "converted_task",
        "portal_page",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = (
            super()
            .get_queryset(request)
            .select_related("meeting", "responsible_department", "owner")
        )
        return permissions.visible_actions(request.user, queryset)

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/escalate/",
                self.admin_site.admin_view(self.escalate_view),
                name=f"{opts.app_label}_{opts.model_name}_escalate",
            ),
            *super().get_urls(),
        ]

    # Columns

    @admin.display(description=_("action item"), ordering="description")
    def short_description(self, obj):
        return str(obj)

    @admin.display(description=pgettext_lazy("action item", "Escalated"), boolean=True)
    def escalated(self, obj):
        return obj.is_escalated

    @admin.display(description=_("meeting"))
    def meeting_link(self, obj):
        return admin_link(obj.meeting)

    @admin.display(description=_("portal page"))
    def portal_page(self, obj):
        return portal_link(obj.get_absolute_url())

    # Transitions: offered through permissions, run through services

    @staticmethod
    def get_fsm_block_label(fsm_field_name: str) -> str:
        return gettext("Change the state")

    def get_fsm_label(self, transition) -> str:
        return str(ACTION_TRANSITIONS[transition.name][0])

    def get_help_text(self, transition) -> str | None:
        return str(ACTION_TRANSITIONS[transition.name][1])

    def transition_names(self) -> set[str]:
        return set(ACTION_TRANSITIONS)

    def offered_transitions(self, request, obj: ActionItem) -> list:
        return [
            t
            for t in obj.get_available_state_transitions()
            if t.name in ACTION_CHECKS and ACTION_CHECKS[t.name](request.user, obj)
        ]

    def run_transition(self, request, obj, name, *, expected_state, data):
        if obj.state != expected_state:
            raise errors.Conflict(
                gettext("Someone changed this action item meanwhile; reload the page.")
            )
        return ACTION_TRANSITIONS[name][2](obj, request.user, data)

    def transition_done_message(self, obj) -> str:
        return _done_message(obj)

    # 需升級: not a state, so its own button and form (the shared transition form page)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if (
            obj is not None
            and self.transitions_closed(request, obj) is None
            and permissions.can_escalate(request.user, obj)
        ):
            context["escalate_url"] = reverse(
                "admin:meetings_app_actionitem_escalate", args=[obj.pk]
            )
            context["escalate_label"] = ESCALATE_LABEL
            context["escalate_help"] = ESCALATE_HELP
        return super().render_change_form(request, context, add, change, form_url, obj)

    def escalate_view(self, request, object_id):
        """Ask for the reason, then call services.action_escalate."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        back = self._change_page(obj)
        closed = self.transitions_closed(request, obj)
        if closed is not None or not permissions.can_escalate(request.user, obj):
            self.message_user(
                request, closed or gettext("This action is not possible now."), messages.ERROR
            )
            return back
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                services.action_escalate(
                    action=obj, by=request.user, reason=form.cleaned_data["reason"]
                )
            except errors.REFUSALS as exc:
                self.message_refusal(request, exc)
            else:
                self.message_user(
                    request,
                    gettext("“%(object)s” is marked as needing escalation.") % {"object": obj},
                    messages.SUCCESS,
                )
            return back
        return render(
            request,
            self.fsm_transition_form_template,
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": obj,
                "transition": FSMTransitionContext(
                    name="escalate", label=str(ESCALATE_LABEL), help_text=str(ESCALATE_HELP)
                ),
                "transition_form": form,
            },
        )


# --- weekly series ---------------------------------------------------------------------


class SeriesMeetingInline(_MeetingRowsInline):
    """The meetings the series made, each linking to its own admin page."""

    model = Meeting
    fk_name = "series"
    verbose_name_plural = _("meetings")
    fields = ["meeting", "series_date", "state", "minutes_filed_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return permissions.visible_meetings(request.user, super().get_queryset(request))

    @admin.display(description=_("meeting"))
    def meeting(self, obj):
        return admin_link(obj)


@admin.register(MeetingSeries)
class MeetingSeriesAdmin(request_admin.ArchivedCaseAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """The weekly series (週例會), read-only: they are set up on the portal."""

    list_display = ["topic", "request", "weekday", "start_time", "organiser", "is_active"]
    list_filter = ["is_active", "kind", "holiday_rule"]
    search_fields = ["topic", "request__number", "request__name"]
    list_select_related = ["request", "organiser"]
    inlines = [SeriesMeetingInline]
    fields = [
        "topic",
        "request",
        "kind",
        "weekday",
        "start_time",
        "duration_minutes",
        "first_date",
        "until",
        "holiday_rule",
        "form",
        "location",
        "online_link",
        "organiser",
        "recorder",
        "guests",
        "agenda_template",
        "is_active",
        "created_by",
        "created_at",
        "portal_page",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        """The series the person may see, as the pages see them."""
        return permissions.visible_series(request.user, super().get_queryset(request))

    @admin.display(description=_("portal page"))
    def portal_page(self, obj):
        return portal_link(obj.get_absolute_url())
