"""Writes over the organisation: role groups, access flags and delegations."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .choices import Role
from .models import Delegation, Department, User
from .registry import registry

HEAD_GROUP = "department-head"

# Model permissions each role group holds in Django admin for collab's own pages. Object
# scoping (which rows) is done by the apps' permissions modules; these only open the
# admin pages. Later apps add theirs with collab.registry.grant() from AppConfig.ready();
# role_permissions() is the whole table.
BASE_ROLE_PERMISSIONS: dict[str, set[str]] = {
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


def role_permissions() -> dict[str, set[str]]:
    """Return each role group's model permissions: collab's own plus every app's grants."""
    table = {name: set(codes) for name, codes in BASE_ROLE_PERMISSIONS.items()}
    for grants in registry["role_permissions"].values():
        for name, codes in grants.items():
            table.setdefault(name, set()).update(codes)
    return table


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
    for name, codes in role_permissions().items():
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
    managed = set(role_permissions())
    keep = list(user.groups.exclude(name__in=managed))
    user.groups.set(keep + list(Group.objects.filter(name__in=names)))
    is_staff = user.is_superuser or names != {Role.STAFF.value}
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])


# --- delegations (代理人) ---------------------------------------------------------------
#
# Every delegation is created, changed, ended and removed here: from the deputies page
# and from Django admin alike. A deputy acts for the head on every case of the
# departments the delegation covers, so the checks below are what keeps a head from
# handing out access to a department they do not lead.


# The people and the department are checked by _check_delegation; clean_fields checks
# the rest (the reason's length) without a query per relation.
_RELATED = ["head", "deputy", "department"]


def _may_manage_deputies(by: User, head: User) -> bool:
    """Return True when `by` may name, change or end `head`'s deputies."""
    return by.is_active and (by.pk == head.pk or by.is_platform_admin)


def _gone() -> ValidationError:
    return ValidationError(
        _("This delegation was changed or removed meanwhile. Reload the page and try again.")
    )


def _lock_heads(head_ids) -> list[Delegation]:
    """Lock the heads' user rows, then their delegations, and return those delegations.

    The user row is what serialises two saves for one head: a head without any
    delegation yet has no delegation row to lock. Rows are locked in key order, so two
    writers never wait on each other in a circle.
    """
    ids = sorted(set(head_ids))
    list(User.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
    return list(
        Delegation.objects.select_for_update(of=("self",))
        .filter(head_id__in=ids)
        .select_related("head", "deputy", "department")
        .order_by("pk")
    )


def _lock_delegation(
    delegation: Delegation, *also_heads: User
) -> tuple[Delegation, list[Delegation]]:
    """Lock `delegation` (with every delegation of its head and of `also_heads`).

    Return the row as stored, and the locked delegations for the overlap check.
    """
    head_id = Delegation.objects.filter(pk=delegation.pk).values_list("head_id", flat=True).first()
    if head_id is None:
        raise _gone()
    locked = _lock_heads([head_id, *(head.pk for head in also_heads)])
    current = next((row for row in locked if row.pk == delegation.pk), None)
    if current is None:  # moved to another head between the read and the lock
        raise _gone()
    return current, locked


def _check_manager(by: User, *heads: User) -> None:
    if not all(_may_manage_deputies(by, head) for head in heads):
        raise PermissionDenied(
            _(
                "Only the head who named the deputy or a platform administrator can change "
                "or end this delegation."
            )
        )


def _check_delegation(
    *,
    head: User,
    deputy: User,
    department: Department | None,
    start_date: dt.date,
    end_date: dt.date,
    locked: list[Delegation],
    current: Delegation | None = None,
) -> None:
    """Raise a ValidationError, keyed by field, unless the delegation may be saved.

    `current` is the stored row being changed (None for a new delegation); `locked`
    holds the head's delegations, locked by the caller, for the overlap check.
    """
    today = timezone.localdate()
    if current is not None and current.end_date < today:
        raise ValidationError(
            _("This delegation has ended: it is kept as a record and cannot be changed.")
        )
    errors: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    led = set(head.headed_departments.values_list("pk", flat=True))
    if department is not None:
        if department.pk not in led:
            refuse("department", _("The head does not lead this department."))
    elif not led:
        refuse("head", _("%(user)s does not lead any department.") % {"user": head})
    if deputy.pk == head.pk:
        refuse("deputy", _("A head cannot name themselves as deputy."))
    elif not deputy.is_active:
        refuse("deputy", _("The deputy must be an active user."))
    if end_date < start_date:
        refuse("end_date", _("The end date cannot be before the start date."))
    else:
        if current is None and end_date < today:
            refuse("end_date", _("A new delegation cannot end in the past."))
        elif current is not None and end_date != current.end_date and end_date < today:
            refuse("end_date", _("The end date cannot be in the past."))
        # One deputy at a time per department: a delegation for every department the
        # head leads overlaps each of the head's department delegations, and back.
        clash = next(
            (
                other
                for other in locked
                if other.head_id == head.pk
                and (current is None or other.pk != current.pk)
                and other.start_date <= end_date
                and other.end_date >= start_date
                and (department is None or other.department_id in (None, department.pk))
            ),
            None,
        )
        if clash is not None:
            refuse(
                NON_FIELD_ERRORS,
                _(
                    "These dates overlap another delegation of the head for the same "
                    "department: %(delegation)s."
                )
                % {"delegation": clash},
            )
    if errors:
        raise ValidationError(errors)


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
    """Record that `deputy` acts for `head` over a date range, ends inclusive.

    Only the head themself or a platform admin may name a deputy; the head must lead
    the department (or, with no department, at least one: the delegation then covers
    every department they lead), and no other delegation of the head may cover the
    same department on any of those days.
    """
    if not _may_manage_deputies(by, head):
        raise PermissionDenied(_("Only the head or a platform administrator can name a deputy."))
    return _delegation_write(
        Delegation(),
        head=head,
        deputy=deputy,
        department=department,
        start_date=start_date,
        end_date=end_date,
        reason=reason,
        locked=_lock_heads([head.pk]),
    )


@transaction.atomic
def delegation_update(
    *,
    delegation: Delegation,
    deputy: User,
    start_date: dt.date,
    end_date: dt.date,
    department: Department | None = None,
    reason: str = "",
    head: User | None = None,
    by: User,
) -> Delegation:
    """Change a delegation that has not ended; return the row as saved.

    `delegation` names the row (only its key is read: the stored row is locked and
    changed). `head` moves it to another head, which only a platform admin may do.
    The checks are those of delegation_create; the end date may stay where it is, but
    a new end date cannot be in the past.
    """
    current, locked = _lock_delegation(delegation, *([head] if head is not None else []))
    head = head or current.head
    _check_manager(by, current.head, head)
    return _delegation_write(
        current,
        head=head,
        deputy=deputy,
        department=department,
        start_date=start_date,
        end_date=end_date,
        reason=reason,
        locked=locked,
        current=current,
    )


def _delegation_write(
    row: Delegation,
    *,
    head: User,
    start_date: dt.date,
    end_date: dt.date,
    deputy: User,
    department: Department | None,
    reason: str,
    locked: list[Delegation],
    current: Delegation | None = None,
) -> Delegation:
    """Check the delegation (_check_delegation) and write it to `row`: a new row, or the
    stored one (`current`) changed in place."""
    _check_delegation(
        head=head,
        deputy=deputy,
        department=department,
        start_date=start_date,
        end_date=end_date,
        locked=locked,
        current=current,
    )
    row.head, row.deputy, row.department = head, deputy, department
    row.start_date, row.end_date, row.reason = start_date, end_date, reason.strip()
    row.clean_fields(exclude=_RELATED)
    fields = ["head", "deputy", "department", "start_date", "end_date", "reason"]
    row.save(update_fields=fields if current is not None else None)
    return row


@transaction.atomic
def delegation_end(*, delegation: Delegation, by: User) -> Delegation | None:
    """End a delegation now: from today the deputy no longer acts for the head.

    One that has not started, or started today, is removed: nothing happened under it
    worth a record. One running since an earlier day now ends yesterday and stays as
    the record of who could act when; it is returned. One already ended is refused.
    """
    current, _locked = _lock_delegation(delegation)
    _check_manager(by, current.head)
    today = timezone.localdate()
    if current.end_date < today:
        raise ValidationError(_("This delegation has already ended."))
    if current.start_date >= today:
        current.delete()
        return None
    current.end_date = today - dt.timedelta(days=1)
    current.save(update_fields=["end_date"])
    return current


@transaction.atomic
def delegation_delete(*, delegation: Delegation, by: User) -> None:
    """Remove a delegation outright (Django admin's delete): the head or a platform admin."""
    current, _locked = _lock_delegation(delegation)
    _check_manager(by, current.head)
    current.delete()
