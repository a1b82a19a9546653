"""Writes over the organisation: role groups, access flags and delegations."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .choices import Role
from .models import Delegation, Department, User

HEAD_GROUP = "department-head"

# Model permissions each role group holds in Django admin. Object scoping (which rows)
# is done by the apps' permissions modules; these only open the admin pages.
# Later apps extend this table from their AppConfig.ready().
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.ADMIN.value: {
        "collab.add_department",
        "collab.change_department",
        "collab.view_department",
        "collab.add_user",
        "collab.change_user",
        "collab.view_user",
        "collab.add_delegation",
        "collab.change_delegation",
        "collab.delete_delegation",
        "collab.view_delegation",
        "collab.add_calendarday",
        "collab.change_calendarday",
        "collab.delete_calendarday",
        "collab.view_calendarday",
        # Warning rules: thresholds, on/off and recipients; the warnings and digests sent.
        "collab.view_warningrule",
        "collab.change_warningrule",
        "collab.view_warningitem",
        "collab.view_warningdigest",
        # The beat schedule of the warning scans (nightly and hourly), editable in admin.
        "django_celery_beat.view_periodictask",
        "django_celery_beat.change_periodictask",
        "django_celery_beat.view_crontabschedule",
        # A new time (say 07:00) is a new crontab row, picked on the periodic task's form.
        "django_celery_beat.add_crontabschedule",
    },
    Role.PMO.value: {
        "collab.view_department",
        "collab.view_user",
        "collab.view_delegation",
        "collab.view_warningrule",
        "collab.view_warningitem",
    },
    Role.EXECUTIVE.value: {
        "collab.view_department",
        "collab.view_delegation",
    },
    HEAD_GROUP: {
        "collab.add_delegation",
        "collab.change_delegation",
        "collab.delete_delegation",
        "collab.view_delegation",
    },
    Role.STAFF.value: set(),
}


def _permissions(codes: set[str]) -> list[Permission]:
    perms = []
    for code in sorted(codes):
        app_label, codename = code.split(".", 1)
        perm = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if perm is not None:  # an app not migrated yet gets its turn on its own migrate
            perms.append(perm)
    return perms


def role_groups_ensure() -> dict[str, Group]:
    """Create or update one Group per role with exactly the permissions in the table."""
    groups = {}
    for name, codes in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions(codes))
        groups[name] = group
    return groups


def role_groups_sync_on_migrate(*, using="default", **kwargs) -> None:
    """Create every app's permissions, then the role groups that hold them.

    collab migrates before the apps whose permissions its groups name, so the
    permissions are created here first rather than waiting for their own signal.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0, using=using)
    role_groups_ensure()
    from .beat import beat_schedule_ensure

    beat_schedule_ensure()


def user_sync_access(user: User) -> None:
    """Put the user in the groups their role and headships imply, and open admin to them.

    Heads, PMO, executives and platform admins work in Django admin; staff do not.
    """
    names = {user.role}
    if user.headed_departments.exists():
        names.add(HEAD_GROUP)
    managed = set(ROLE_PERMISSIONS)
    keep = list(user.groups.exclude(name__in=managed))
    user.groups.set(keep + list(Group.objects.filter(name__in=names)))
    is_staff = user.is_superuser or names != {Role.STAFF.value}
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])


@transaction.atomic
def delegation_create(
    *,
    head: User,
    deputy: User,
    start_date: dt.date,
    end_date: dt.date,
    department: Department | None = None,
    reason: str = "",
    by: User,
) -> Delegation:
    """Record that `deputy` acts for `head` over a date range.

    Only the head themself or a platform admin may name a deputy.
    """
    if by.pk != head.pk and not by.is_platform_admin:
        raise PermissionDenied(_("Only the head or a platform administrator can name a deputy."))
    if not head.headed_departments.exists():
        raise ValidationError(_("%(user)s does not lead any department.") % {"user": head})
    delegation = Delegation(
        head=head,
        deputy=deputy,
        department=department,
        start_date=start_date,
        end_date=end_date,
        reason=reason,
    )
    delegation.full_clean()
    delegation.save()
    return delegation
