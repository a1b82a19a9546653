from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from . import calendar, services
from .models import CalendarDay, Delegation, Department, Notification, User

admin.site.site_header = _("Collaboration portal administration")
admin.site.site_title = _("Collaboration portal")
admin.site.index_title = _("Management")


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
        return "、".join(str(user) for user in obj.heads.all())

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


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
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

    def save_model(self, request, obj, form, change):
        if not self._manages_all(request):
            obj.head = request.user
        super().save_model(request, obj, form, change)

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
class NotificationAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
