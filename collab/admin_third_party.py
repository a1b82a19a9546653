"""zh-Hant for the third-party admin pages: the beat schedule (django-celery-beat), which
the platform administrator edits, and the login records (django-axes).

Neither package ships a zh-Hant catalog. Their labels are gettext_lazy() strings, so
the portal's catalog translates them once it holds them (Django merges every catalog,
the portal's first): LABELS marks them for makemessages, which then keeps their
translations. The headers they build from an attribute's name, which no catalog can
translate, come from display callables in small subclasses of their admins, registered
in their place. collab.admin imports this module.
"""

from __future__ import annotations

from axes import admin as axes_admin  # registers axes' admins, replaced below
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_celery_beat import admin as beat_admin  # registers beat's admins, replaced below
from django_celery_beat.models import CrontabSchedule, PeriodicTask

LABELS = (
    # django-celery-beat: the periodic tasks and their schedules
    gettext_noop("Name"),
    gettext_noop("Interval Schedule"),
    gettext_noop("Start Datetime"),
    gettext_noop("Last Run Datetime"),
    gettext_noop("One-off Task"),
    gettext_noop("Clock Time"),
    gettext_noop("crontab"),
    gettext_noop("solar event"),
    gettext_noop("interval"),
    # django-axes: login attempts, logins and failures
    gettext_noop("Attempt Time"),
    gettext_noop("Logout Time"),
    gettext_noop("IP Address"),
    gettext_noop("User Agent"),
    gettext_noop("Username"),
    gettext_noop("Path"),
    gettext_noop("Failed Logins"),
    gettext_noop("Access lock out"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Locked Out"),
)


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    list_display = tuple(
        "schedule_column" if name == "scheduler" else name
        for name in beat_admin.PeriodicTaskAdmin.list_display
    )

    @admin.display(description=_("schedule"))
    def schedule_column(self, obj):
        return obj.scheduler


class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin):
    list_display = ("__str__", "in_words")
    fields = tuple(
        "in_words" if name == "human_readable" else name
        for name in beat_admin.CrontabScheduleAdmin.fields
    )
    readonly_fields = ("in_words",)

    @admin.display(description=_("in words"))
    def in_words(self, obj):
        return obj.human_readable


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    list_display = [
        "lockout_status" if name == "status" else name
        for name in axes_admin.AccessAttemptAdmin.list_display
    ]

    @admin.display(description=_("status"))
    def lockout_status(self, obj):
        return self.status(obj)


for _model, _model_admin in (
    (PeriodicTask, PeriodicTaskAdmin),
    (CrontabSchedule, CrontabScheduleAdmin),
    (AccessAttempt, AccessAttemptAdmin),
):
    if admin.site.is_registered(_model):  # axes registers its admins only when enabled
        admin.site.unregister(_model)
        admin.site.register(_model, _model_admin)
