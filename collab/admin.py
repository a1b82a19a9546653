import inspect
from typing import NoReturn

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Count, Max, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_fsm.admin import FSMObjectTransition, FSMTransitionContext

from . import calendar, errors, outbox, services, warnings
from .formats import join_list
from .models import (
    CalendarDay,
    Delegation,
    Department,
    Notification,
    OutboxMessage,
    User,
    WarningDigest,
    WarningItem,
    WarningRule,
)

admin.site.site_header = _("Collaboration portal administration")
admin.site.site_title = _("Collaboration portal")
admin.site.index_title = _("Management")


class _AdminRefused(Exception):
    """Carries a service's refusal out of an admin save or delete, so that Django rolls
    back its transaction; ServiceAdminMixin then shows the refusal on the page."""

    def __init__(self, error: Exception):
        super().__init__(errors.message(error))
        self.error = error


class ServiceAdminMixin:
    """For every admin whose writes go through services: a refusal is shown, never a 500.

    - `message_refusal(request, exc)` reports a refusal (collab.errors.REFUSALS) as one
      admin message.
    - A save or delete that calls a service hands its refusal to `refuse(exc)`: Django's
      transaction is rolled back, and the form is shown again as it was filled in, with
      the service's reasons next to the fields they name (`service_fields` maps a
      service's key to the form's field of another name) or above the form. A refused
      delete is reported on `delete_refused_url`.
    - A save whose form cannot show the reasons (its rows are inlines) hands its refusal
      to `refuse_with_message(request, exc)` instead: the page comes back with the
      message, and nothing is logged as changed.
    """

    service_fields: dict[str, str] = {}

    def message_refusal(self, request, exc: Exception, level: int = messages.ERROR) -> None:
        self.message_user(request, errors.message(exc), level)

    def refuse(self, exc: Exception) -> NoReturn:
        raise _AdminRefused(exc) from exc

    def refuse_with_message(self, request, exc: Exception) -> None:
        request._admin_refused_with_message = True
        self.message_refusal(request, exc)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _AdminRefused as refused:
            # The first attempt was rolled back; validate again, now with the reasons.
            request._admin_refusal = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        error = getattr(request, "_admin_refusal", None)
        if error is None:
            return form_class
        service_fields = self.service_fields

        class RefusedForm(form_class):
            """The same form, with the service's reasons for refusing the last save."""

            def clean(self):
                cleaned = super().clean()
                if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
                    for key, texts in error.message_dict.items():
                        name = service_fields.get(key, key)
                        self.add_error(name if name in self.fields else None, texts)
                else:
                    self.add_error(None, errors.messages(error))
                return cleaned

        return RefusedForm

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except _AdminRefused as refused:
            # The deletion was rolled back; say why.
            self.message_refusal(request, refused.error)
            return HttpResponseRedirect(self.delete_refused_url(request, object_id))

    def delete_refused_url(self, request, object_id) -> str:
        """Return where a refused delete goes back to: the object's page."""
        opts = self.opts
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change", args=[unquote(object_id)]
        )

    def log_change(self, request, obj, message):
        if getattr(request, "_admin_refused_with_message", False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if getattr(request, "_admin_refused_with_message", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


class ServiceTransitionsAdminMixin(ServiceAdminMixin):
    """For django-fsm-2's FSMAdminMixin on admins whose transitions run through services.

    The one place that overrides django-fsm-2's private methods (`_get_fsm_extra_context`,
    `_apply_fsm_transition`), so that no model transition ever runs in admin and an
    upgrade of django-fsm-2 is checked here only. An app's admin says:

    - `offered_transitions(request, obj)`: the buttons, from its app's permissions;
    - `transition_names()`: the transitions a posted button may name at all;
    - `run_transition(request, obj, name, expected_state=..., data=...)`: run one through
      the same service as the portal page and return the moved object;
    - `transition_done_message(obj)`: what to say once it moved;
    - `transitions_closed(request, obj)`, optionally: why none may run at all (an
      archived case; requests_app.admin.ArchivedCaseAdminMixin).

    A button posted from the change page goes to the service, whose refusal says why (a
    closed guard, someone else's act); a transition with a form (a reason, a note) asks
    for it first on django-fsm-2's form page, open only for the offered transitions.
    The state the person saw travels with the button (`fsm_expected_state_param`), so a
    page that is out of date gets the service's conflict. The note or reason form uses
    one shared template.
    """

    fsm_transition_form_template = "admin/collab/fsm_transition_form.html"
    fsm_expected_state_param = "_fsm_expected_state"

    def offered_transitions(self, request, obj) -> list:
        raise NotImplementedError

    def transition_names(self) -> set[str]:
        raise NotImplementedError

    def run_transition(self, request, obj, name: str, *, expected_state: str, data: dict):
        raise NotImplementedError

    def transition_done_message(self, obj) -> str:
        raise NotImplementedError

    def transitions_closed(self, request, obj) -> str | None:
        return None

    def _change_page(self, obj) -> HttpResponseRedirect:
        opts = self.opts
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["fsm_expected_state_param"] = self.fsm_expected_state_param
        return super().render_change_form(request, context, add, change, form_url, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and self.fsm_post_param in request.POST:
            return self._transition_button(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def _transition_button(self, request, object_id):
        """Handle a transition button without saving the form around it.

        People who may only view the object (a head, or the PMO once a request is
        submitted) still press buttons; the service decides whether they may act.
        """
        obj, refused = self._transition_target(
            request,
            object_id,
            request.POST.get(self.fsm_post_param),
            allowed=lambda obj: self.transition_names(),
            back=lambda obj: HttpResponseRedirect(request.path),
        )
        if refused is not None:
            return refused
        # FSMAdminMixin.response_change sends a transition with a form to its form page,
        # or runs _apply_fsm_transition and comes back to this page.
        return self.response_change(request, obj)

    def fsm_transition_view(self, request, object_id, transition_name, **kwargs):
        _obj, refused = self._transition_target(
            request,
            object_id,
            transition_name,
            allowed=lambda obj: {t.name for t in self.offered_transitions(request, obj)},
            back=self._change_page,
        )
        if refused is not None:
            return refused
        return super().fsm_transition_view(request, object_id, transition_name, **kwargs)

    def _transition_target(self, request, object_id, name, *, allowed, back):
        """Return the object a transition button or form names, and the response that
        refuses it (None when `name` may run): Django's "not found" for a missing
        object, 403 for one the person may not see, and `back(obj)` with a message when
        the case is closed or `name` is not among `allowed(obj)`."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return None, self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        closed = self.transitions_closed(request, obj)
        if closed is not None or name not in allowed(obj):
            self.message_user(
                request, closed or gettext("This action is not possible now."), messages.ERROR
            )
            return obj, back(obj)
        return obj, None

    # django-fsm-2's private methods: the buttons offered, and running one.

    def _get_fsm_extra_context(self, *, request, obj):
        if obj is None or self.transitions_closed(request, obj) is not None:
            return []
        offered = [
            FSMTransitionContext(
                name=t.name, label=self.get_fsm_label(t), help_text=self.get_help_text(t)
            )
            for t in self.offered_transitions(request, obj)
        ]
        if not offered:
            return []
        return [
            FSMObjectTransition(
                fsm_field="state",
                block_label=self.get_fsm_block_label("state"),
                available_transitions=offered,
            )
        ]

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None):
        """Run the transition through the app's service; never the model's method."""
        closed = self.transitions_closed(request, obj)
        if closed is not None:
            self.message_user(request, closed, messages.ERROR)
            return False
        try:
            moved = self.run_transition(
                request,
                obj,
                transition_name,
                expected_state=request.POST.get(self.fsm_expected_state_param) or obj.state,
                data=dict(kwargs or {}),
            )
        except errors.REFUSALS as exc:
            self.message_refusal(request, exc)
            return False
        self.message_user(request, self.transition_done_message(moved), messages.SUCCESS)
        return True


class ReadOnlyMixin:
    """A record the engine writes, or rows shown beside one: viewed in admin, never
    added, changed or deleted. For a ModelAdmin or an inline (an inline's checks also
    get the parent object, hence `obj` on the add check too)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A read-only ModelAdmin (ReadOnlyMixin)."""


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    """A read-only table of rows on their parent's page (ReadOnlyMixin)."""

    extra = 0
    can_delete = False


class StateLogInlineMixin:
    """The history (a collab.models.StateLog) of a state machine on its object's page:
    the comment in the reader's language and the states by their labels. A subclass
    names its state choices (`state_choices`)."""

    state_choices = None

    @admin.display(description=_("comment"))
    def text(self, obj):
        """The line's system text in the reader's language · the person's comment."""
        return obj.text

    def _state_label(self, value: str) -> str:
        choices = self.state_choices
        return choices(value).label if value in choices.values else value

    @admin.display(description=_("from"))
    def from_label(self, obj):
        return self._state_label(obj.from_state)

    @admin.display(description=_("to"))
    def to_label(self, obj):
        return self._state_label(obj.to_state)


def admin_link(obj, text=None):
    """Return a link to `obj`'s admin page, as Django shows a read-only foreign key."""
    if obj is None:
        return "-"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if text is None else text)


def portal_link(url: str, text=None):
    """Return a link from an admin page to another page: by default the portal's page
    of the same thing ("Open in the portal")."""
    return format_html('<a href="{}">{}</a>', url, text or gettext("Open in the portal"))


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "head_names", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["heads"]
    autocomplete_fields = ["parent"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent").prefetch_related("heads")

    @admin.display(description=_("heads"))
    def head_names(self, obj):
        return join_list(str(user) for user in obj.heads.all())

    def save_related(self, request, form, formsets, change):
        before = set(form.instance.heads.values_list("pk", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(form.instance.heads.values_list("pk", flat=True))
        # Becoming or ceasing to be a head changes what a person may open in admin.
        for user in User.objects.filter(pk__in=before ^ after):
            services.user_sync_access(user)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "full_name", "department", "title", "role", "is_active"]
    list_filter = ["role", "department", "is_active", "is_staff"]
    search_fields = ["username", "full_name", "email", "title"]
    list_select_related = ["department"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Personal info"),
            {"fields": ("full_name", "email", "department", "title", "contact")},
        ),
        (_("Role"), {"fields": ("role", "is_active")}),
        (
            _("Advanced permissions"),
            {
                "classes": ("collapse",),
                "fields": ("is_staff", "is_superuser", "groups", "user_permissions"),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "full_name",
                    "department",
                    "role",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.user_sync_access(form.instance)

    def _deputy_search(self, request) -> bool:
        """Return True for the deputy search of the delegation form, by someone who may
        name deputies."""
        match = request.resolver_match
        return (
            match is not None
            and match.view_name == "admin:autocomplete"
            and request.GET.get("app_label") == Delegation._meta.app_label
            and request.GET.get("model_name") == Delegation._meta.model_name
            and request.GET.get("field_name") == "deputy"
            and (
                request.user.has_perm("collab.add_delegation")
                or request.user.has_perm("collab.change_delegation")
            )
        )

    def has_view_permission(self, request, obj=None):
        # Heads do not browse people in admin, but naming a deputy searches them: the
        # search answers names only (Django's autocomplete), of active people.
        return super().has_view_permission(request, obj) or (
            obj is None and self._deputy_search(request)
        )

    def get_search_results(self, request, queryset, search_term):
        if self._deputy_search(request):
            queryset = queryset.filter(is_active=True)
        return super().get_search_results(request, queryset, search_term)


@admin.register(Delegation)
class DelegationAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Delegations, written only through the delegation services, as on the deputies page.

    A head sees the delegations they gave or received and manages those they gave, for
    the departments they lead; a platform admin manages every head's. A refusal of the
    service shows on the form the person filled in.
    """

    list_display = ["head", "deputy", "department", "start_date", "end_date", "reason"]
    list_filter = ["department"]
    search_fields = ["head__username", "head__full_name", "deputy__username", "deputy__full_name"]
    list_select_related = ["head", "deputy", "department"]
    date_hierarchy = "start_date"
    autocomplete_fields = ["deputy"]

    def _manages_all(self, request):
        return request.user.is_platform_admin

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if self._manages_all(request) or request.user.sees_everything:
            return qs
        # A head sees and manages only the delegations they gave or received.
        return qs.filter(head=request.user) | qs.filter(deputy=request.user)

    def get_readonly_fields(self, request, obj=None):
        return [] if self._manages_all(request) else ["head"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department" and not self._manages_all(request):
            kwargs["queryset"] = request.user.headed_departments.all()
        elif db_field.name == "deputy":
            kwargs["queryset"] = User.objects.filter(is_active=True)
        elif db_field.name == "head":
            kwargs["queryset"] = User.objects.filter(
                pk__in=Department.heads.through.objects.values("user_id")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change and not form.has_changed():
            return
        values = {
            "deputy": obj.deputy,
            "department": obj.department,
            "start_date": obj.start_date,
            "end_date": obj.end_date,
            "reason": obj.reason,
        }
        # A head names deputies for themself; only a platform admin picks the head.
        head = obj.head if self._manages_all(request) else None
        try:
            if change:
                saved = services.delegation_update(
                    delegation=obj, head=head, by=request.user, **values
                )
            else:
                saved = services.delegation_create(
                    head=head or request.user, by=request.user, **values
                )
        except ValidationError as exc:
            self.refuse(exc)
        # The admin logs and redirects with the row the service saved.
        obj.pk, obj.head, obj.created_at = saved.pk, saved.head, saved.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        try:
            services.delegation_delete(delegation=obj, by=request.user)
        except ValidationError as exc:
            self.refuse(exc)

    def delete_refused_url(self, request, object_id) -> str:
        return reverse("admin:collab_delegation_changelist")

    def delete_queryset(self, request, queryset):
        # Django has already refused the action if any row is not the person's to delete.
        try:
            with transaction.atomic():
                for delegation in list(queryset):
                    services.delegation_delete(delegation=delegation, by=request.user)
        except ValidationError as exc:
            self.message_refusal(request, exc)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if obj is None or self._manages_all(request):
            return allowed
        return allowed and obj.head_id == request.user.pk

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        if obj is None or self._manages_all(request):
            return allowed
        return allowed and obj.head_id == request.user.pk


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Corrections to the holiday calendar: extra holidays and make-up workdays (補班)."""

    list_display = ["date", "is_workday", "name"]
    list_filter = ["is_workday"]
    search_fields = ["name"]
    date_hierarchy = "date"
    fields = ["date", "is_workday", "name"]

    def _note(self):
        country = getattr(settings, "HOLIDAY_COUNTRY", "TW")
        return gettext(
            "Public holidays come from the holidays package (country: %(country)s). It has "
            "no Taiwan make-up workdays (補班) after 2025: enter every 補班 here, and any "
            "extra holiday (a typhoon day). An entry here wins over the package; saving or "
            "deleting one recomputes the due dates of open reviews."
        ) % {"country": country}

    def get_fieldsets(self, request, obj=None):
        return [(None, {"fields": self.fields, "description": self._note()})]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "calendar_note": self._note()}
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        # Through the calendar service, so stored deadlines (review due dates) follow.
        if change and "date" in form.changed_data:
            calendar.calendar_day_delete(day=form.initial["date"])
        saved = calendar.calendar_day_save(day=obj.date, is_workday=obj.is_workday, name=obj.name)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        calendar.calendar_day_delete(day=obj.date)

    def delete_queryset(self, request, queryset):
        for day in list(queryset.values_list("date", flat=True)):
            calendar.calendar_day_delete(day=day)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """Read-only list of the in-app notifications, for platform admins to check delivery."""

    list_display = ["created_at", "recipient", "title", "read_at", "emailed_at"]
    list_filter = [
        ("read_at", admin.EmptyFieldListFilter),
        ("emailed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["title", "recipient__username", "recipient__full_name"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    fields = ["recipient", "title", "body", "url", "created_at", "read_at", "emailed_at"]
    readonly_fields = fields

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_platform_admin

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_platform_admin


# --- Warnings (DOMAIN §4) ------------------------------------------------------------

THRESHOLD_FIELDS = ("days", "important_days", "urgent_days", "hours")
RECIPIENT_FIELDS = ("to_responsible", "to_accountable", "to_head", "to_initiator", "to_pmo")
THRESHOLD_SHORT = {
    "days": _("days"),
    "important_days": _("important"),
    "urgent_days": _("urgent"),
    "hours": _("hours"),
}
THRESHOLD_HELP = {
    "days": _("The N of the rule's description, in days."),
    "important_days": _("N for tasks of important priority."),
    "urgent_days": _("N for tasks of urgent priority."),
    "hours": _("The N of the rule's description, in hours."),
}
RECIPIENT_SHORT = {
    "to_responsible": _("R"),
    "to_accountable": _("A"),
    "to_head": _("head"),
    "to_initiator": _("initiator"),
    "to_pmo": _("PMO"),
}
RECIPIENT_HELP = {
    "to_responsible": _(
        "Whoever must act: a task's Responsible person (R), or the person or department "
        "a collaboration ask is addressed to."
    ),
    "to_accountable": _("A task's Accountable person (A), who accepts its deliverable."),
    "to_head": _("The heads of the department concerned."),
    "to_initiator": _("Whoever filed the collaboration request (or the ask)."),
    "to_pmo": _("Every active PMO user."),
}
CADENCES = {warnings.DAILY: _("every night"), warnings.HOURLY: _("every hour")}


def _spec(code: str) -> warnings.RuleSpec | None:
    return warnings.registry().get(code)


def _rule_description(spec: warnings.RuleSpec) -> str:
    """Return what the rule looks for: its own description, else its scan's docstring."""
    text = getattr(spec, "description", "") or ""
    if not text:
        doc = inspect.getdoc(spec.scan) or ""
        text = " ".join(doc.split("\n\n")[0].split())
    return str(text)


def _threshold_fields(code: str) -> list[str]:
    """Return the thresholds a rule reads: those it has defaults for (all if unknown)."""
    spec = _spec(code)
    if spec is None:
        return list(THRESHOLD_FIELDS)
    return [name for name in THRESHOLD_FIELDS if name in spec.defaults]


@admin.register(WarningRule)
class WarningRuleAdmin(admin.ModelAdmin):
    """The warning rules: thresholds, on/off and recipients, one row per registered rule.

    The rules themselves come from the code (each app registers its own), so rows are
    neither added nor deleted here: opening the list creates any that are missing.
    Platform admins edit them; the PMO may look.
    """

    list_display = ["label", "code", "is_active", "thresholds", "recipients"]
    list_display_links = ["label"]
    list_filter = ["is_active"]
    readonly_fields = ["about", "code"]

    def changelist_view(self, request, extra_context=None):
        if self.has_view_or_change_permission(request):
            # Every registered rule gets its row, so admins always see all of them.
            warnings.rules_ensure()
        extra_context = {
            **(extra_context or {}),
            "can_see_schedule": request.user.has_perm("django_celery_beat.view_periodictask"),
        }
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("rule"), ordering="code")
    def label(self, obj):
        return str(obj)

    @admin.display(description=_("what it does"))
    def about(self, obj):
        spec = _spec(obj.code)
        if spec is None:
            return gettext("No app registers this rule any more: it finds nothing.")
        return format_html(
            "<strong>{}</strong> ({})<br>{}",
            spec.label,
            CADENCES.get(spec.cadence, spec.cadence),
            _rule_description(spec),
        )

    @admin.display(description=_("thresholds"))
    def thresholds(self, obj):
        parts = [
            f"{THRESHOLD_SHORT[name]} {getattr(obj, name)}"
            for name in _threshold_fields(obj.code)
            if getattr(obj, name) is not None
        ]
        return " · ".join(parts) or "—"

    @admin.display(description=_("recipients"))
    def recipients(self, obj):
        return (
            join_list(str(RECIPIENT_SHORT[name]) for name in RECIPIENT_FIELDS if getattr(obj, name))
            or "—"
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["about", "code", "is_active"]})]
        thresholds = _threshold_fields(obj.code) if obj else list(THRESHOLD_FIELDS)
        if thresholds:
            fieldsets.append(
                (
                    _("Thresholds"),
                    {
                        "fields": thresholds,
                        "description": _("Leave a threshold empty to use the built-in default."),
                    },
                )
            )
        fieldsets.append(
            (
                _("Recipients"),
                {
                    "fields": list(RECIPIENT_FIELDS),
                    "description": _(
                        "Who receives the warning, in the nightly digest and in the portal. "
                        "A role the rule has nobody for (a review has no R) is skipped."
                    ),
                },
            )
        )
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        spec = _spec(obj.code) if obj else None
        defaults = spec.defaults if spec else {}
        for name, meaning in THRESHOLD_HELP.items():
            if name in form.base_fields:
                if name == "days":
                    # Some rules count working days, others calendar days (retrospective): the
                    # description says which, so the label does not claim either.
                    form.base_fields[name].label = gettext("Days (N)")
                default = defaults.get(name)
                form.base_fields[name].help_text = gettext("%(meaning)s Default: %(default)s.") % {
                    "meaning": meaning,
                    "default": "—" if default is None else default,
                }
        for name, meaning in RECIPIENT_HELP.items():
            if name in form.base_fields:
                form.base_fields[name].help_text = meaning
        return form


class WarningRuleFilter(admin.SimpleListFilter):
    """Filter warnings by rule, listed by the rules' names rather than their codes."""

    title = _("rule")
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        return sorted(
            ((code, spec.label) for code, spec in warnings.registry().items()),
            key=lambda choice: str(choice[1]),
        )

    def queryset(self, request, queryset):
        return queryset.filter(rule=self.value()) if self.value() else queryset


class WarningPeriodFilter(admin.SimpleListFilter):
    """Filter warnings by period: the most recent ones, newest first (one query)."""

    title = _("period")
    parameter_name = "period"
    shown = 30

    def lookups(self, request, model_admin):
        rows = (
            WarningItem.objects.values("period")
            .annotate(last=Max("created_at"))
            .order_by("-last")[: self.shown]
        )
        return [(row["period"], row["period"]) for row in rows]

    def queryset(self, request, queryset):
        return queryset.filter(period=self.value()) if self.value() else queryset


class AwaitingMeFilter(admin.SimpleListFilter):
    """ "Awaiting my signature" (or answer): the rows waiting on the person, as head or
    as a deputy acting today. A subclass says which rows (`awaiting`: their ids, or a
    query of them), from the selector its to-do page uses, which field holds their id
    (`field`) and, for an answer rather than a signature, its `title`."""

    title = _("awaiting my signature")
    parameter_name = "awaiting_me"
    field = "pk"

    def awaiting(self, request):
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return [("1", _("Yes"))]

    def queryset(self, request, queryset):
        if self.value() != "1":
            return queryset
        return queryset.filter(**{f"{self.field}__in": self.awaiting(request)})


@admin.register(WarningItem)
class WarningItemAdmin(ReadOnlyAdmin):
    """Every warning sent: to whom, about what, in which period, and whether it was mailed."""

    list_display = ["created_at", "rule_label", "recipient", "text", "period", "digest_sent"]
    list_filter = [WarningRuleFilter, WarningPeriodFilter]
    search_fields = ["recipient__username", "recipient__full_name", "text"]
    list_select_related = ["recipient", "digest"]
    fields = [
        "created_at",
        "rule_label",
        "subject",
        "recipient",
        "text",
        "url",
        "period",
        "run",
        "digest_link",
        "notification_link",
    ]
    readonly_fields = fields

    @admin.display(description=_("rule"), ordering="rule")
    def rule_label(self, obj):
        spec = _spec(obj.rule)
        return str(spec.label) if spec else obj.rule

    @admin.display(description=_("about"))
    def subject(self, obj):
        return f"{obj.content_type.name} #{obj.object_id}"

    # The digest and notification fields have no verbose_name on the model (their label
    # would be English); these show them under translated labels, linked like Django's.

    @admin.display(description=_("warning digest"))
    def digest_link(self, obj):
        return admin_link(obj.digest)

    @admin.display(description=_("notification"))
    def notification_link(self, obj):
        return admin_link(obj.notification)

    @admin.display(description=_("digest sent"), boolean=True)
    def digest_sent(self, obj):
        return obj.digest is not None and obj.digest.sent_at is not None


@admin.register(WarningDigest)
class WarningDigestAdmin(ReadOnlyAdmin):
    """The digest e-mails: one per person and run, with its delivery attempts (its row in
    Outgoing messages)."""

    list_display = ["recipient", "created_at", "sent_at", "attempts", "item_count"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["recipient__username", "recipient__full_name"]
    list_select_related = ["recipient"]
    fields = ["recipient", "run", "created_at", "sent_at", "attempts", "item_count", "item_list"]
    readonly_fields = fields

    def get_queryset(self, request):
        delivery = OutboxMessage.objects.filter(
            key=Concat(Value(f"{warnings.DIGEST_KIND}:"), Cast(OuterRef("pk"), CharField()))
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                item_count=Count("items"),
                attempt_count=Subquery(delivery.values("attempts")[:1]),
            )
        )

    @admin.display(description=_("attempts"), ordering="attempt_count")
    def attempts(self, obj):
        return obj.attempt_count or 0

    @admin.display(description=_("warnings"), ordering="item_count")
    def item_count(self, obj):
        return obj.item_count

    @admin.display(description=_("warnings listed"))
    def item_list(self, obj):
        texts = obj.items.order_by("rule", "pk").values_list("text", flat=True)
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((text,) for text in texts))
        )


OUTBOX_KIND_LABELS = {
    "notification": _("notification e-mail"),
    "warning_digest": _("warning digest"),
    "analysis_report": _("analysis report"),
}


class OutboxKindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind, OUTBOX_KIND_LABELS.get(kind, kind)) for kind in sorted(outbox.channels())]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Every message the portal sends, and where it stands: after an outage the platform
    administrator sees what is waiting and what failed, and sends it again at once."""

    list_display = [
        "created_at",
        "kind_label",
        "recipient",
        "summary",
        "state",
        "attempts",
        "next_attempt_at",
        "error_short",
    ]
    list_filter = ["state", OutboxKindFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["key", "summary", "recipient__username", "recipient__full_name"]
    list_select_related = ["recipient"]
    fields = [
        "kind_label",
        "key",
        "recipient",
        "summary",
        "state",
        "created_at",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "claimed_until",
        "sent_at",
        "message_id_label",
        "last_error",
        "params",
    ]
    readonly_fields = fields
    actions = ["retry_now"]
    show_full_result_count = False

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_platform_admin

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_retry_permission(self, request):
        return self.has_module_permission(request)

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj):
        return OUTBOX_KIND_LABELS.get(obj.kind, obj.kind)

    @admin.display(description=_("last error"))
    def error_short(self, obj):
        return obj.last_error[:80]

    @admin.display(description=_("Message-ID"))
    def message_id_label(self, obj):
        # A model property: without a display description its label would be English.
        return obj.message_id

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        count = outbox.retry_now(queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(count)d message queued to be sent again.",
                "%(count)d messages queued to be sent again.",
                count,
            )
            % {"count": count},
        )


# The third-party admins (beat schedule, login records) in zh-Hant.
from . import admin_third_party  # noqa: E402, F401
