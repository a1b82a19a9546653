"""The organisation: departments, roles, delegations and the demo data."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from collab import selectors, services
from collab.choices import Role
from collab.models import Delegation, Department, User
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory


@pytest.mark.django_db
class TestDelegation:
    def test_head_acts_in_own_name(self, head, department):
        actor = selectors.department_actor(user=head, department=department)
        assert actor is not None and actor.user == head and not actor.is_deputy

    def test_deputy_acts_only_inside_its_dates(self, head, department):
        """A deputy acts for the head from the start date to the end date, inclusive."""
        deputy = UserFactory(department=department)
        start = dt.date(2026, 3, 2)
        DelegationFactory(head=head, deputy=deputy, start_date=start, end_date=dt.date(2026, 3, 6))
        before = selectors.department_actor(
            user=deputy, department=department, on=dt.date(2026, 3, 1)
        )
        first = selectors.department_actor(user=deputy, department=department, on=start)
        last = selectors.department_actor(
            user=deputy, department=department, on=dt.date(2026, 3, 6)
        )
        after = selectors.department_actor(
            user=deputy, department=department, on=dt.date(2026, 3, 7)
        )
        assert before is None and after is None
        assert first.on_behalf_of == head and last.on_behalf_of == head
        assert first.is_deputy

    def test_deputy_limited_to_named_department(self, head, department):
        other = DepartmentFactory()
        other.heads.add(head)
        deputy = UserFactory(department=department)
        DelegationFactory(head=head, deputy=deputy, department=department)
        assert selectors.department_actor(user=deputy, department=department) is not None
        assert selectors.department_actor(user=deputy, department=other) is None

    def test_deputy_without_department_covers_every_department_led(self, head, department):
        other = DepartmentFactory()
        other.heads.add(head)
        deputy = UserFactory(department=department)
        DelegationFactory(head=head, deputy=deputy, department=None)
        assert selectors.department_actor(user=deputy, department=other).on_behalf_of == head
        assert set(selectors.departments_actable(user=deputy)) == {department, other}

    def test_outsider_and_inactive_deputy_cannot_act(self, head, department, outsider):
        deputy = UserFactory(department=department, is_active=False)
        DelegationFactory(head=head, deputy=deputy)
        assert selectors.department_actor(user=outsider, department=department) is None
        assert selectors.department_actor(user=deputy, department=department) is None

    def test_end_before_start_is_refused_by_the_database(self, head, department):
        deputy = UserFactory(department=department)
        with pytest.raises(IntegrityError), transaction.atomic():
            Delegation.objects.create(
                head=head,
                deputy=deputy,
                start_date=dt.date(2026, 3, 5),
                end_date=dt.date(2026, 3, 1),
            )

    def test_service_checks_who_may_name_a_deputy(self, head, department, outsider):
        deputy = UserFactory(department=department)
        today = timezone.localdate()
        with pytest.raises(PermissionDenied):
            services.delegation_create(
                head=head, deputy=deputy, start_date=today, end_date=today, by=outsider
            )
        with pytest.raises(ValidationError):
            services.delegation_create(
                head=head, deputy=head, start_date=today, end_date=today, by=head
            )
        made = services.delegation_create(
            head=head, deputy=deputy, start_date=today, end_date=today, by=head
        )
        assert made.pk is not None


@pytest.mark.django_db
def test_department_cannot_be_its_own_ancestor():
    top = DepartmentFactory()
    child = DepartmentFactory(parent=top)
    top.parent = child
    with pytest.raises(ValidationError):
        top.full_clean()


@pytest.mark.django_db
def test_access_follows_role_and_headship(department):
    services.role_groups_ensure()
    user = UserFactory(department=department)
    services.user_sync_access(user)
    assert not user.is_staff
    department.heads.add(user)
    services.user_sync_access(user)
    assert user.is_staff
    assert user.has_perm("collab.add_delegation")
    department.heads.remove(user)
    user = User.objects.get(pk=user.pk)  # drop the permission cache
    services.user_sync_access(user)
    assert not user.is_staff
    assert not user.has_perm("collab.add_delegation")


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_counts():
    """seed_demo is idempotent: a second run creates nothing more."""
    call_command("seed_demo", verbosity=0)
    first = (User.objects.count(), Department.objects.count(), Delegation.objects.count())
    call_command("seed_demo", verbosity=0)
    second = (User.objects.count(), Department.objects.count(), Delegation.objects.count())
    assert first == second
    assert first[1] == 8
    codes = set(Department.objects.values_list("code", flat=True))
    assert codes == {"mkt", "prod", "sales", "cs", "tech", "design", "fin", "ops"}
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="pmo").role == Role.PMO
    assert User.objects.get(username="exec").role == Role.EXECUTIVE
    mkt = Department.objects.get(code="mkt")
    assert list(mkt.heads.values_list("username", flat=True)) == ["mkt_head"]
    assert User.objects.get(username="mkt_staff").department == mkt
