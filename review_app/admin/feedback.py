"""Admin pages: Feedback 協作反饋表 and process-improvement suggestions 流程優化建議.

Nothing here writes by itself:

- Feedback: everything is read-only but the handling result, which the PMO may change
  while the case is not archived; saving it calls services.feedback_handle (who and when
  are stamped there, the author is told). An archived case's feedback is read-only.
- Suggestions: their content is the proposer's (edited on the portal while 已提交); the
  state moves only through the buttons, each of which asks for the evaluation note and
  calls services.suggestion_transition (lock, expected state, history row, notice).
- Invitations are a read-only record.

Each list is scoped by review_app.permissions.feedback.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm.admin import FSMAdminMixin

from collab import errors
from collab.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceAdminMixin,
    ServiceTransitionsAdminMixin,
    StateLogInlineMixin,
    portal_link,
)
from collab.formats import join_list
from requests_app.admin import ArchivedCaseAdminMixin, VisibleRequestsMixin

from ..choices import SuggestionState
from ..models import Feedback, FeedbackInvitation, Suggestion, SuggestionEvent
from ..permissions import feedback as permissions
from ..services import feedback as services

# --- feedback ------------------------------------------------------------------------------


class HandledFilter(admin.SimpleListFilter):
    title = _("handling")
    parameter_name = "handled"

    def lookups(self, request, model_admin):
        return [("no", _("Awaiting handling")), ("yes", _("Handled"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(handled_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(handled_at__isnull=False)
        return queryset


@admin.register(Feedback)
class FeedbackAdmin(ArchivedCaseAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["number", "request", "author", "kind", "handled", "handled_by", "created_at"]
    list_display_links = ["number"]
    list_filter = [HandledFilter, "kind", ("departments", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["request", "author", "handled_by"]
    search_fields = ["number", "request__number", "request__name", "content"]
    date_hierarchy = "created_at"
    fields = [
        "number",
        "request",
        "author",
        "kind",
        "content",
        "concerned",
        "suggested_handling",
        "handling_result",
        "handled_by",
        "handled_at",
        "created_at",
        "portal_page",
    ]
    readonly_fields = [f for f in fields if f != "handling_result"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).prefetch_related("departments")
        return permissions.visible_feedback(request.user, queryset)

    def has_add_permission(self, request):
        return False  # feedback is given on the portal by the invited participants

    def has_change_permission(self, request, obj=None):
        """Only the handling changes, by the PMO, until the case is archived."""
        allowed = super().has_change_permission(request, obj)
        return allowed and permissions.can_handle_feedback(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("handled"), boolean=True)
    def handled(self, obj):
        return obj.handled_at is not None

    @admin.display(description=_("departments concerned"))
    def concerned(self, obj):
        return join_list(str(d) for d in obj.departments.all()) or "—"

    @admin.display(description=_("portal page"))
    def portal_page(self, obj):
        return portal_link(obj.get_absolute_url())

    def save_model(self, request, obj, form, change):
        """Hand the handling to the service; the form never saves the row itself."""
        try:
            services.feedback_handle(
                feedback=obj, by=request.user, result=form.cleaned_data.get("handling_result", "")
            )
        except errors.REFUSALS as exc:
            self.refuse_with_message(request, exc)

    def save_related(self, request, form, formsets, change):
        """Nothing related is edited here."""


@admin.register(FeedbackInvitation)
class FeedbackInvitationAdmin(ArchivedCaseAdminMixin, VisibleRequestsMixin, ReadOnlyAdmin):
    """Who was asked for feedback on which case, and when they answered (read-only)."""

    list_display = ["request", "user", "created_at", "answered_at"]
    list_select_related = ["request", "user"]
    list_filter = [("answered_at", admin.EmptyFieldListFilter)]
    search_fields = ["request__number", "request__name", "user__username", "user__full_name"]
    fields = ["request", "user", "created_at", "answered_at"]
    readonly_fields = fields


# --- suggestions -----------------------------------------------------------------------------


class NoteForm(forms.Form):
    """The evaluation note asked before a suggestion moves on."""

    comment = forms.CharField(
        label=_("Evaluation note"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )


class RequiredNoteForm(NoteForm):
    """Adopting or not adopting says why."""

    comment = forms.CharField(
        label=_("Evaluation note"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )


TRANSITION_HELP = {
    "evaluate": _("Start evaluating the suggestion; the proposer can no longer edit it."),
    "adopt": _("Adopt the suggestion; say why and what happens next. The proposer is told."),
    "reject": _("Do not adopt the suggestion; say why. The proposer is told."),
    "implement": _("Record that the adopted suggestion is in place."),
}
TRANSITION_LABELS = {
    "evaluate": _("Start evaluating"),
    "adopt": _("Adopt"),
    "reject": _("Do not adopt"),
    "implement": _("Mark as implemented"),
}


class SuggestionEventInline(StateLogInlineMixin, ReadOnlyInline):
    model = SuggestionEvent
    state_choices = SuggestionState
    verbose_name_plural = _("history")
    fields = ["at", "transition", "from_label", "to_label", "by", "text"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("review_app.view_suggestion")


@admin.register(Suggestion)
class SuggestionAdmin(ServiceTransitionsAdminMixin, FSMAdminMixin, admin.ModelAdmin):
    fsm_fields = ["state"]
    fsm_forms = {
        "evaluate": NoteForm,
        "adopt": RequiredNoteForm,
        "reject": RequiredNoteForm,
        "implement": NoteForm,
    }
    change_form_template = "admin/review_app/suggestion/change_form.html"

    list_display = ["number", "department", "proposer", "state", "created_at", "request"]
    list_display_links = ["number"]
    list_filter = ["state", ("department", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["department", "proposer", "request"]
    search_fields = ["number", "pain_point", "proposal"]
    date_hierarchy = "created_at"
    inlines = [SuggestionEventInline]
    fields = [
        "number",
        "state",
        "department",
        "proposer",
        "contact",
        "pain_point",
        "proposal",
        "expected_effect",
        "notes",
        "evaluation",
        "request",
        "source_action",
        "source_feedback",
        "created_at",
        "updated_at",
        "portal_page",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return permissions.visible_suggestions(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # raised on the portal by a member of staff

    def has_change_permission(self, request, obj=None):
        return False  # the content is the proposer's; the state moves by the buttons

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("portal page"))
    def portal_page(self, obj):
        return portal_link(obj.get_absolute_url())

    # Transitions: offered through permissions, run through the service

    @staticmethod
    def get_fsm_block_label(fsm_field_name: str) -> str:
        return gettext("Evaluate")

    def get_fsm_label(self, transition) -> str:
        return str(TRANSITION_LABELS.get(transition.name, transition.name))

    def get_help_text(self, transition) -> str | None:
        return TRANSITION_HELP.get(transition.name)

    def offered_transitions(self, request, obj: Suggestion) -> list:
        return [
            t
            for t in obj.get_available_state_transitions()
            if permissions.can_transition_suggestion(request.user, obj, t.name)
        ]

    def transition_names(self) -> set[str]:
        return set(TRANSITION_LABELS)

    def run_transition(self, request, obj, name, *, expected_state, data):
        return services.suggestion_transition(
            suggestion=obj,
            name=name,
            by=request.user,
            comment=data.get("comment", ""),
            expected_state=expected_state,
        )

    def transition_done_message(self, obj) -> str:
        return gettext("“%(suggestion)s” is now “%(state)s”.") % {
            "suggestion": obj,
            "state": obj.get_state_display(),
        }
