"""Reads over the organisation: who heads what, and who may act for whom today."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from .choices import Role
from .models import Delegation, Department, User


@dataclass(frozen=True)
class Actor:
    """Who did an act, and on whose behalf when a deputy acted for a head."""

    user: User
    on_behalf_of: User | None = None

    @property
    def is_deputy(self) -> bool:
        return self.on_behalf_of is not None


def delegations_active(*, on: dt.date | None = None) -> QuerySet[Delegation]:
    """Return the delegations in force on a date (today by default), ends inclusive."""
    on = on or timezone.localdate()
    return Delegation.objects.filter(
        start_date__lte=on, end_date__gte=on, head__is_active=True, deputy__is_active=True
    )


def department_actor(
    *, user: User, department: Department, on: dt.date | None = None
) -> Actor | None:
    """Return how `user` may act as head of `department` on a date, or None.

    A head acts in their own name. A deputy acts on behalf of a head who has named them
    for a range covering the date, for that department or for all the head leads.
    """
    if not user.is_active:
        return None
    head_ids = set(department.heads.values_list("pk", flat=True))
    if user.pk in head_ids:
        return Actor(user=user)
    delegation = (
        delegations_active(on=on)
        .filter(deputy=user, head_id__in=head_ids)
        .filter(Q(department__isnull=True) | Q(department=department))
        .select_related("head")
        .order_by("start_date", "pk")
        .first()
    )
    if delegation is None:
        return None
    return Actor(user=user, on_behalf_of=delegation.head)


def departments_actable(*, user: User, on: dt.date | None = None) -> QuerySet[Department]:
    """Return the departments `user` may act for as head on a date: led or deputised."""
    deputised = delegations_active(on=on).filter(deputy=user)
    return Department.objects.filter(
        Q(heads=user)
        | Q(pk__in=deputised.filter(department__isnull=False).values("department"))
        | Q(
            heads__in=deputised.filter(department__isnull=True).values("head"),
        )
    ).distinct()


def acting_for(user: User, *, on: dt.date | None = None) -> dict[int, User | None]:
    """Return {department id: the head `user` acts for there, None for their own}.

    Every department `user` may act for as head on a date (today by default), with the
    head a deputy stands in for, chosen as department_actor chooses (the earliest
    delegation covering it). Three queries, whatever the number of departments.
    """
    if not (user.is_authenticated and user.is_active):
        return {}
    result: dict[int, User | None] = dict.fromkeys(
        user.headed_departments.values_list("pk", flat=True)
    )
    delegations = list(
        delegations_active(on=on)
        .filter(deputy=user)
        .select_related("head")
        .order_by("start_date", "pk")
    )
    if not delegations:
        return result
    led: dict[int, set[int]] = defaultdict(set)
    for head_id, department_id in Department.heads.through.objects.filter(
        user_id__in={d.head_id for d in delegations}
    ).values_list("user_id", "department_id"):
        led[head_id].add(department_id)
    for delegation in delegations:
        covered = led[delegation.head_id]
        if delegation.department_id is not None:
            covered = covered & {delegation.department_id}
        for department_id in covered:
            result.setdefault(department_id, delegation.head)
    return result


def heads_and_deputies(departments: Iterable[Department]) -> list[User]:
    """Return the active heads of the departments and whoever acts for them today.

    The people a message "to the head" reaches: the rule of ActingHeads (a deputy
    covers the departments of their delegation, or all their head leads).
    """
    department_ids = [d.pk for d in departments]
    links = list(
        Department.heads.through.objects.filter(
            department_id__in=department_ids, user__is_active=True
        ).select_related("user")
    )
    acting = ActingHeads()
    people: dict[int, User] = {}
    for link in links:
        people.setdefault(link.user_id, link.user)
    for link in links:
        for deputy in acting.of(link.department_id, [link.user])[1:]:
            people.setdefault(deputy.pk, deputy)
    return list(people.values())


def pmo_users() -> list[User]:
    """Return the active PMO members (確認立項, the case's closing, suggestions)."""
    return list(User.objects.filter(role=Role.PMO, is_active=True))


def user_department_ids(user: User) -> set[int]:
    """Return the ids of the departments a user belongs to or leads."""
    ids = set(user.headed_departments.values_list("pk", flat=True))
    if user.department_id:
        ids.add(user.department_id)
    return ids


def user_is_head(user: User) -> bool:
    return user.headed_departments.exists()


def delegations_managed(*, user: User) -> QuerySet[Delegation]:
    """Return the delegations `user` manages: those they gave, or all for a platform admin.

    Newest first, with the people and department each row shows.
    """
    rows = Delegation.objects.select_related("head", "deputy", "department")
    if not user.is_platform_admin:
        rows = rows.filter(head=user)
    return rows.order_by("-start_date", "-pk")


class ActingHeads:
    """Today's heads and deputies of any department, from one query of delegations.

    For scans that escalate "to the head" over many rows: `of(department, heads)` adds
    the deputies acting for those heads (for that department or for all they lead).
    """

    def __init__(self, *, on: dt.date | None = None):
        self._by_head: dict[int, list[Delegation]] = {}
        for delegation in delegations_active(on=on).select_related("deputy"):
            self._by_head.setdefault(delegation.head_id, []).append(delegation)

    def _acting(self, department_id: int, head_ids: Iterable[int]) -> list[Delegation]:
        return [
            d
            for head in head_ids
            for d in self._by_head.get(head, [])
            if d.department_id in (None, department_id)
        ]

    def of(self, department_id: int, heads: list[User]) -> list[User]:
        return heads + [d.deputy for d in self._acting(department_id, [h.pk for h in heads])]

    def deputy_ids(self, department_id: int, head_ids: Iterable[int]) -> list[int]:
        """The ids of the deputies acting for those heads of the department."""
        return [d.deputy_id for d in self._acting(department_id, head_ids)]

    def all_deputy_ids(self) -> set[int]:
        """Everyone acting as a deputy on the day (all active: delegations_active)."""
        return {d.deputy_id for ds in self._by_head.values() for d in ds}

    def heads_deputised_by(self, user_id: int) -> set[int]:
        """The ids of the heads `user_id` acts for on the day, for some or all they lead."""
        return {d.head_id for ds in self._by_head.values() for d in ds if d.deputy_id == user_id}

    def actor(self, user: User, department_id: int, heads: list[User]) -> Actor | None:
        """Return how `user` may act as head of the department on the day, or None.

        `heads` are the department's heads. The answer is department_actor's, for many
        departments from the one query of delegations: a head acts in their own name,
        a deputy on behalf of the head of their earliest delegation covering it.
        """
        if not user.is_active:
            return None
        by_pk = {head.pk: head for head in heads}
        if user.pk in by_pk:
            return Actor(user=user)
        mine = [d for d in self._acting(department_id, by_pk) if d.deputy_id == user.pk]
        if not mine:
            return None
        first = min(mine, key=lambda d: (d.start_date, d.pk))
        return Actor(user=user, on_behalf_of=by_pk[first.head_id])
