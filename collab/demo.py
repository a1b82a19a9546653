"""Demo data for `make run`. Every seeder is idempotent: a second run changes nothing.

collab seeds the organisation; higher apps register their own seeders from
AppConfig.ready(), so this module never imports them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from . import services
from .choices import Role
from .models import Delegation, Department, User
from .registry import registry

DEMO_PASSWORD = "collab-demo"  # documented in the README; demo accounts only

# (code, name, head's name, staff member's name)
DEPARTMENTS = [
    ("mkt", "市場部", "林美玲", "陳怡君"),
    ("prod", "產品部", "張志明", "王雅婷"),
    ("sales", "銷售部", "李建宏", "黃淑芬"),
    ("cs", "客服部", "吳佩珊", "劉家豪"),
    ("tech", "技術部", "蔡宗翰", "楊子軒"),
    ("design", "設計部", "許雅雯", "鄭宇辰"),
    ("fin", "財務部", "謝文傑", "郭欣怡"),
    ("ops", "運營部", "周俊賢", "洪佳穎"),
]

_seeders: list[tuple[int, Callable[[], None]]] = registry["demo_seeders"]


def register(seeder: Callable[[], None], *, order: int) -> None:
    """Add an app's demo seeder; lower `order` runs first (the organisation is 0)."""
    if seeder not in [s for _o, s in _seeders]:
        _seeders.append((order, seeder))


def _user(username: str, **fields) -> User:
    user, _created = User.objects.update_or_create(username=username, defaults=fields)
    if not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def seed_organisation() -> None:
    """Create the eight departments and the demo accounts."""
    _user(
        "admin",
        full_name="系統管理員",
        email="admin@example.com",
        role=Role.ADMIN,
        is_superuser=True,
        is_staff=True,
        title="平台管理員",
    )
    _user("pmo", full_name="趙雅琪", email="pmo@example.com", role=Role.PMO, title="PMO 專員")
    _user(
        "exec", full_name="孫國棟", email="exec@example.com", role=Role.EXECUTIVE, title="分管副總"
    )
    for code, name, head_name, staff_name in DEPARTMENTS:
        department, _created = Department.objects.update_or_create(
            code=code, defaults={"name": name, "is_active": True}
        )
        head = _user(
            f"{code}_head",
            full_name=head_name,
            email=f"{code}_head@example.com",
            department=department,
            title=f"{name}經理",
            contact=f"分機 {1000 + DEPARTMENTS.index((code, name, head_name, staff_name)) * 10}",
            role=Role.STAFF,
        )
        _user(
            f"{code}_staff",
            full_name=staff_name,
            email=f"{code}_staff@example.com",
            department=department,
            title="專員",
            contact="",
            role=Role.STAFF,
        )
        department.heads.add(head)
    for user in User.objects.filter(username__in=_demo_usernames()):
        services.user_sync_access(user)
    # The technology head is away: their staff member acts as deputy around today.
    today = timezone.localdate()
    tech_head = User.objects.get(username="tech_head")
    if not Delegation.objects.filter(head=tech_head).exists():
        services.delegation_create(
            head=tech_head,
            deputy=User.objects.get(username="tech_staff"),
            start_date=today - dt.timedelta(days=1),
            end_date=today + dt.timedelta(days=30),
            reason="出差",
            by=tech_head,
        )


def _demo_usernames() -> list[str]:
    names = ["admin", "pmo", "exec"]
    for code, *_rest in DEPARTMENTS:
        names += [f"{code}_head", f"{code}_staff"]
    return names


register(seed_organisation, order=0)


@transaction.atomic
def seed_all() -> None:
    services.role_groups_ensure()
    for _order, seeder in sorted(_seeders, key=lambda item: item[0]):
        seeder()
