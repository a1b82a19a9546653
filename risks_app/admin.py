"""Django admin of risk reports (風險應對申請表) and of the scoring matrix.

Every list is scoped by risks_app.permissions.visible_risks, as the portal's register is:
a head sees the risks of their departments' requests (and those they reported or own),
the PMO, executives and platform administrators all; another department's risk is "not
found". Heads and executives only view (risks_app.apps grants).

Nothing is written by the admin itself. A risk report's state buttons are the portal's
acts, through the same services:
- "Organise the response" asks for the owner, the deadline and the plan
  (services.risk_accept, 已提報 → 應對中);
- "Mark resolved", "Mark occurred" and "Close as not relevant" ask for the note their
  history keeps (services.risk_resolve / risk_occur / risk_close).
The report itself is filed on the portal. A cell of the matrix is edited in its list
(or on its page) and saved by services.matrix_set_level, which re-levels the open risks
of that cell. An archived case is read-only (requests_app.admin.ArchivedCaseAdminMixin).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_fsm.admin import FSMAdminMixin

from collab.admin import (
    ReadOnlyInline,
    ReadOnlyMixin,
    ServiceTransitionsAdminMixin,
    StateLogInlineMixin,
    portal_link,
)
from collab.formats import join_list
from collab.forms import PersonChoiceField
from collab.models import User
from requests_app import admin as request_admin

from . import permissions, rules, services
from .choices import RiskState
from .forms import moment_field
from .models import Risk, RiskEvent, RiskMatrixCell


def _label(name: str):
    return Risk._meta.get_field(name).verbose_name


class AcceptForm(forms.Form):
    """Asked before "Organise the response": who owns it, by when, and the plan."""

    owner = PersonChoiceField(
        label=_label("owner"),
        queryset=User.objects.filter(is_active=True).select_related("department"),
    )
    response_due = moment_field(_label("response_due"))
    plan = forms.CharField(
        label=_label("response_plan"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )


class NoteForm(forms.Form):
    """Asked before a conclusion (resolved, occurred, closed): what happened, kept in
    the history and sent to the reporter, the owner and the PMO."""

    note = forms.CharField(
        label=_("Note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4, "cols": 60})
    )


# name: (label, help text, who may press it, service call)
TRANSITIONS = {
    "accept": (
        _("Organise the response"),
        _("Name the owner, the deadline and the response plan; the owner is told."),
        lambda user, risk: (
            risk.state == RiskState.REPORTED and permissions.can_organise(user, risk)
        ),
        lambda risk, by, data, expected: services.risk_accept(
            risk=risk,
            by=by,
            owner=data["owner"],
            response_due=data["response_due"],
            plan=data["plan"],
            expected_state=expected,
        ),
    ),
    "resolve": (
        _("Mark resolved"),
        _("已解除: the response worked."),
        permissions.can_conclude,
        lambda risk, by, data, expected: services.risk_resolve(
            risk=risk, by=by, note=data["note"], expected_state=expected
        ),
    ),
    "occur": (
        _("Mark occurred"),
        _("已發生: the risk became an issue."),
        permissions.can_conclude,
        lambda risk, by, data, expected: services.risk_occur(
            risk=risk, by=by, note=data["note"], expected_state=expected
        ),
    ),
    "close": (
        _("Close as not relevant"),
        _("已關閉: the risk is not relevant; the note says why."),
        lambda user, risk: risk.is_open and permissions.can_organise(user, risk),
        lambda risk, by, data, expected: services.risk_close(
            risk=risk, by=by, note=data["note"], expected_state=expected
        ),
    ),
}


class RiskEventInline(StateLogInlineMixin, ReadOnlyInline):
    """The report's history, read-only: whoever may open the report may see it."""

    model = RiskEvent
    state_choices = RiskState
    verbose_name_plural = _("history")
    fields = ["at", "kind", "from_label", "to_label", "by", "on_behalf_of", "text"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("risks_app.view_risk") or request.user.has_perm(
            "risks_app.change_risk"
        )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by", "on_behalf_of")


class LateReportFilter(admin.SimpleListFilter):
    """Reports filed more than 24 hours after the discovery (rules.late_report_q)."""

    title = _("late report")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("1", _("Reported more than 24 hours after its discovery"))]

    def queryset(self, request, queryset):
        return queryset.filter(rules.late_report_q()) if self.value() == "1" else queryset


@admin.register(Risk)
class RiskAdmin(
    request_admin.ArchivedCaseAdminMixin,
    ServiceTransitionsAdminMixin,
    FSMAdminMixin,
    ReadOnlyMixin,
    admin.ModelAdmin,
):
    """Risk reports, read-only, with the PMO's (and the owner's) state buttons."""

    fsm_fields = ["state"]
    fsm_forms = {
        "accept": AcceptForm,
        "resolve": NoteForm,
        "occur": NoteForm,
        "close": NoteForm,
    }
    change_form_template = "admin/collab/fsm_change_form.html"

    list_display = [
        "title",
        "request",
        "level",
        "score_text",
        "state",
        "owner",
        "response_due",
        "reported_at",
        "late",
    ]
    list_display_links = ["title"]
    list_filter = [
        "state",
        "level",
        LateReportFilter,
        # Only the requests of the rows the person may see (a plain related filter would
        # list every request's name).
        ("request", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "request__number", "request__name"]
    list_select_related = ["request", "owner"]
    show_full_result_count = False
    actions = None  # nothing is deleted; a report is closed with a note
    inlines = [RiskEventInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "request",
                    "task",
                    "progress_update",
                    "state",
                    "level",
                    "score_text",
                    "portal_page",
                ]
            },
        ),
        (
            _("The report"),
            {
                "fields": [
                    "description",
                    "task_names",
                    "department_names",
                    "goal_names",
                    "affected_dates",
                    "suggested_measures",
                    "discovered_at",
                    "reported_at",
                    "late",
                    "reported_by",
                ]
            },
        ),
        (
            _("The response"),
            {"fields": ["owner", "response_due", "response_plan", "closed_at", "updated_at"]},
        ),
    ]
    readonly_fields = [name for _name, options in fieldsets for name in options["fields"]]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("request", "owner")
        return permissions.visible_risks(request.user, queryset)

    # Columns

    @admin.display(description=_("score"), ordering="level")
    def score_text(self, obj):
        return gettext("%(probability)d × %(impact)d = %(score)d") % {
            "probability": obj.probability,
            "impact": obj.impact,
            "score": obj.score,
        }

    @admin.display(description=_("late report"), boolean=True)
    def late(self, obj):
        return obj.is_late_report

    @admin.display(description=_label("affected_tasks"))
    def task_names(self, obj):
        return join_list(f"{t.number} {t.name}" for t in obj.affected_tasks.all()) or "—"

    @admin.display(description=_label("affected_departments"))
    def department_names(self, obj):
        return join_list(str(d) for d in obj.affected_departments.all()) or "—"

    @admin.display(description=_label("affected_goals"))
    def goal_names(self, obj):
        return join_list(g.description for g in obj.affected_goals.all()) or "—"

    @admin.display(description=_("portal page"))
    def portal_page(self, obj):
        return portal_link(obj.get_absolute_url())

    # Transitions: offered through permissions, run through services

    @staticmethod
    def get_fsm_block_label(fsm_field_name: str) -> str:
        return gettext("Change the state")

    def get_fsm_label(self, transition) -> str:
        return str(TRANSITIONS[transition.name][0])

    def get_help_text(self, transition) -> str | None:
        return str(TRANSITIONS[transition.name][1])

    def transition_names(self) -> set[str]:
        return set(TRANSITIONS)

    def offered_transitions(self, request, obj: Risk) -> list:
        return [
            t
            for t in obj.get_available_state_transitions()
            if t.name in TRANSITIONS and TRANSITIONS[t.name][2](request.user, obj)
        ]

    def run_transition(self, request, obj, name, *, expected_state, data):
        return TRANSITIONS[name][3](obj, request.user, data, expected_state)

    def transition_done_message(self, obj) -> str:
        return gettext("“%(object)s” is now “%(state)s”.") % {
            "object": obj,
            "state": obj.get_state_display(),
        }


@admin.register(RiskMatrixCell)
class RiskMatrixCellAdmin(admin.ModelAdmin):
    """The 5×5 scoring matrix: each cell's level, edited in the list. A change goes
    through services.matrix_set_level, which re-levels the open risks of the cell; the
    25 cells are neither added nor deleted."""

    list_display = ["cell", "probability", "impact", "score", "level"]
    list_display_links = ["cell"]
    list_editable = ["level"]
    list_filter = ["level"]
    fields = ["probability", "impact", "score", "level"]
    readonly_fields = ["probability", "impact", "score"]
    actions = None

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("probability × impact"))
    def cell(self, obj):
        return str(obj)

    @admin.display(description=_("score"))
    def score(self, obj):
        return obj.score

    def save_model(self, request, obj, form, change):
        """Save the level through the service, so the open risks follow."""
        if "level" not in form.changed_data:
            return
        count = services.matrix_set_level(
            cell=obj, level=form.cleaned_data["level"], by=request.user
        )
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(count)d open risk of %(cell)s was re-levelled.",
                    "%(count)d open risks of %(cell)s were re-levelled.",
                    count,
                )
                % {"count": count, "cell": obj},
                messages.INFO,
            )
