"""Naming a deputy (代理人): one service decides, for the deputies page and Django admin.

Issue 13, part 3: a head could name anyone as deputy for a department they do not lead
through Django admin (the admin set the head after the model's check had run without
it), and the deputy then read that department's cases. Every delegation is now created,
changed, ended and removed through collab.services, which checks the caller, the
department, the deputy, the dates and overlaps; the page and the admin show its
refusals on their forms.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from collab import selectors, services
from collab.choices import Role
from collab.models import Delegation
from requests_app import services as request_services
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_head,
    make_request,
)
from tests.helpers import assert_constant_queries
from tests.helpers import days_from_today as _days

PAGE = reverse("delegations")
ADMIN_ADD = reverse("admin:collab_delegation_add")


@pytest.fixture
def org(db):
    """mkt and cs, each with a head and a staff member; ops files requests to cs."""
    services.role_groups_ensure()
    mkt, cs, ops = (DepartmentFactory() for _ in range(3))
    admin = UserFactory(role=Role.ADMIN, department=None)
    services.user_sync_access(admin)

    o = SimpleNamespace()
    o.mkt, o.cs, o.ops = mkt, cs, ops
    o.mkt_head, o.cs_head = make_head(mkt), make_head(cs)
    o.mkt_staff, o.cs_staff = UserFactory(department=mkt), UserFactory(department=cs)
    o.ops_staff = UserFactory(department=ops)
    o.admin = admin
    return o


def _create(o, **overrides):
    values = {
        "head": o.mkt_head,
        "deputy": o.mkt_staff,
        "department": o.mkt,
        "start_date": _days(0),
        "end_date": _days(7),
        "by": o.mkt_head,
        **overrides,
    }
    return services.delegation_create(**values)


def _refusal(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- the service -------------------------------------------------------------------------


class TestCreate:
    def test_head_names_a_deputy_for_a_department_they_lead(self, org):
        """The deputy then acts for the head in that department, and in no other."""
        made = _create(org, reason=" 出差 ")
        assert made.reason == "出差"
        actor = selectors.department_actor(user=org.mkt_staff, department=org.mkt)
        assert actor.on_behalf_of == org.mkt_head
        assert selectors.department_actor(user=org.mkt_staff, department=org.cs) is None

    def test_another_department_is_refused_on_the_department_field(self, org):
        """The hole of the issue: mkt's head naming a deputy for cs."""
        with pytest.raises(ValidationError) as excinfo:
            _create(org, department=org.cs)
        assert _refusal(excinfo)["department"] == ["此負責人並未主管該部門。"]
        assert not Delegation.objects.exists()

    def test_every_department_needs_a_head_who_leads_one(self, org):
        """No department means every department the head leads: someone leading none
        cannot give one (a platform admin tries it for a staff member)."""
        with pytest.raises(ValidationError) as excinfo:
            _create(org, head=org.ops_staff, department=None, by=org.admin)
        assert list(_refusal(excinfo)) == ["head"]
        assert not Delegation.objects.exists()

    def test_the_head_cannot_be_their_own_deputy(self, org):
        """A ValidationError on the deputy field, not the database's IntegrityError."""
        with pytest.raises(ValidationError) as excinfo:
            _create(org, deputy=org.mkt_head)
        assert _refusal(excinfo)["deputy"] == ["負責人不能指定自己為代理人。"]

    def test_an_inactive_deputy_is_refused(self, org):
        org.mkt_staff.is_active = False
        org.mkt_staff.save()
        with pytest.raises(ValidationError) as excinfo:
            _create(org)
        assert list(_refusal(excinfo)) == ["deputy"]

    @pytest.mark.parametrize(("start", "end"), [(3, 2), (-5, -1)])
    def test_bad_dates_are_refused_on_the_end_date(self, org, start, end):
        """The end before the start; a new delegation that already ended."""
        with pytest.raises(ValidationError) as excinfo:
            _create(org, start_date=_days(start), end_date=_days(end))
        assert list(_refusal(excinfo)) == ["end_date"]

    def test_a_delegation_may_start_in_the_past_when_it_runs_on(self, org):
        made = _create(org, start_date=_days(-3), end_date=_days(0))
        assert made.pk is not None

    @pytest.mark.parametrize(
        ("first", "second"),
        [("mkt", "mkt"), (None, "mkt"), ("mkt", None), (None, None)],
    )
    def test_overlapping_delegations_for_the_same_department_are_refused(self, org, first, second):
        """A delegation for every department overlaps each department's, and back."""
        _create(org, department=getattr(org, first) if first else None)
        with pytest.raises(ValidationError) as excinfo:
            _create(
                org,
                deputy=UserFactory(department=org.mkt),
                department=getattr(org, second) if second else None,
                start_date=_days(7),
                end_date=_days(9),
            )
        assert NON_FIELD_ERRORS in _refusal(excinfo)
        assert Delegation.objects.count() == 1

    def test_other_days_or_another_led_department_do_not_overlap(self, org):
        second = DepartmentFactory()
        second.heads.add(org.mkt_head)
        _create(org)
        _create(org, start_date=_days(8), end_date=_days(9))
        _create(org, department=second)
        # Another head's delegation for the same department and days is theirs.
        co_head = make_head(org.mkt)
        _create(org, head=co_head, by=co_head)
        assert Delegation.objects.count() == 4

    def test_only_the_head_or_a_platform_admin_may_name_the_deputy(self, org):
        for stranger in (org.cs_head, org.mkt_staff):
            with pytest.raises(PermissionDenied):
                _create(org, by=stranger)
        assert not Delegation.objects.exists()

    def test_a_platform_admin_names_deputies_for_any_head_within_the_same_rules(self, org):
        with pytest.raises(ValidationError):
            _create(org, department=org.cs, by=org.admin)
        with pytest.raises(ValidationError):
            _create(org, deputy=org.mkt_head, by=org.admin)
        made = _create(org, by=org.admin)
        assert made.head == org.mkt_head


class TestChangeEndDelete:
    def test_a_change_is_checked_like_a_new_delegation(self, org):
        first = _create(org, end_date=_days(3))
        second = _create(org, start_date=_days(5), end_date=_days(9))
        common = {"deputy": org.mkt_staff, "department": org.mkt, "by": org.mkt_head}
        with pytest.raises(ValidationError) as excinfo:
            services.delegation_update(
                delegation=second, start_date=_days(2), end_date=_days(9), **common
            )
        assert NON_FIELD_ERRORS in _refusal(excinfo)
        with pytest.raises(ValidationError) as excinfo:
            services.delegation_update(
                delegation=second,
                start_date=_days(5),
                end_date=_days(9),
                **{**common, "department": org.cs},
            )
        assert list(_refusal(excinfo)) == ["department"]
        second.refresh_from_db()
        assert (second.start_date, second.department) == (_days(5), org.mkt)
        moved = services.delegation_update(
            delegation=first, start_date=_days(0), end_date=_days(4), reason="延長", **common
        )
        assert (moved.end_date, moved.reason) == (_days(4), "延長")

    def test_an_end_date_cannot_be_moved_into_the_past(self, org):
        running = DelegationFactory(
            head=org.mkt_head, deputy=org.mkt_staff, start_date=_days(-5), end_date=_days(5)
        )
        with pytest.raises(ValidationError) as excinfo:
            services.delegation_update(
                delegation=running,
                deputy=org.mkt_staff,
                start_date=_days(-5),
                end_date=_days(-2),
                by=org.mkt_head,
            )
        assert list(_refusal(excinfo)) == ["end_date"]

    def test_an_ended_delegation_is_a_record(self, org):
        ended = DelegationFactory(
            head=org.mkt_head, deputy=org.mkt_staff, start_date=_days(-9), end_date=_days(-2)
        )
        with pytest.raises(ValidationError):
            services.delegation_update(
                delegation=ended,
                deputy=org.cs_staff,
                start_date=_days(-9),
                end_date=_days(-2),
                by=org.mkt_head,
            )
        with pytest.raises(ValidationError):
            services.delegation_end(delegation=ended, by=org.mkt_head)
        ended.refresh_from_db()
        assert ended.deputy == org.mkt_staff

    def test_only_its_head_or_a_platform_admin_changes_or_removes_it(self, org):
        made = _create(org)
        with pytest.raises(PermissionDenied):
            services.delegation_update(
                delegation=made,
                deputy=org.cs_staff,
                start_date=made.start_date,
                end_date=made.end_date,
                by=org.cs_head,
            )
        with pytest.raises(PermissionDenied):
            services.delegation_update(
                delegation=made,
                head=org.cs_head,
                deputy=org.mkt_staff,
                start_date=made.start_date,
                end_date=made.end_date,
                by=org.mkt_head,
            )
        for stranger in (org.cs_head, org.mkt_staff):
            with pytest.raises(PermissionDenied):
                services.delegation_end(delegation=made, by=stranger)
            with pytest.raises(PermissionDenied):
                services.delegation_delete(delegation=made, by=stranger)
        services.delegation_delete(delegation=made, by=org.admin)
        assert not Delegation.objects.exists()

    def test_ending_a_running_delegation_keeps_it_up_to_yesterday(self, org):
        running = DelegationFactory(
            head=org.mkt_head, deputy=org.mkt_staff, start_date=_days(-3), end_date=_days(5)
        )
        kept = services.delegation_end(delegation=running, by=org.mkt_head)
        assert kept.end_date == _days(-1)
        assert selectors.department_actor(user=org.mkt_staff, department=org.mkt) is None

    @pytest.mark.parametrize("start", [0, 2])
    def test_ending_one_that_starts_today_or_later_removes_it(self, org, start):
        made = _create(org, start_date=_days(start))
        assert services.delegation_end(delegation=made, by=org.mkt_head) is None
        assert not Delegation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_saves_at_once_cannot_both_pass(monkeypatch):
    """Two saves for one head race (each in its own connection); the first holds the
    head's lock while it checks, so the second sees its row and is refused."""
    department = DepartmentFactory()
    head = UserFactory(department=department)
    department.heads.add(head)
    deputies = [UserFactory(department=department) for _ in range(2)]
    real_check = services._check_delegation

    def slow_check(**kwargs):
        real_check(**kwargs)
        time.sleep(0.3)  # the winner holds its lock a moment longer

    monkeypatch.setattr(services, "_check_delegation", slow_check)
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(index):
        try:
            barrier.wait(timeout=10)
            results[index] = services.delegation_create(
                head=head,
                deputy=deputies[index],
                department=department,
                start_date=_days(0),
                end_date=_days(5),
                by=head,
            )
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(isinstance(r, Delegation) for r in results) == 1, results
    assert sum(isinstance(r, ValidationError) for r in results) == 1, results
    assert Delegation.objects.filter(head=head).count() == 1


# --- the deputies page -------------------------------------------------------------------


def _form(o, **overrides):
    data = {
        "deputy": o.mkt_staff.pk,
        "department": o.mkt.pk,
        "start_date": _days(0).isoformat(),
        "end_date": _days(7).isoformat(),
        "reason": "出差",
        **overrides,
    }
    return {k: "" if v is None else v for k, v in data.items()}


class TestPage:
    @pytest.mark.parametrize("who", ["mkt_staff", "ops_staff", "pmo", "deputy"])
    def test_those_who_lead_nothing_get_404(self, org, client_for, who, pmo):
        if who == "deputy":
            user = UserFactory(department=org.mkt)
            DelegationFactory(head=org.mkt_head, deputy=user, department=org.mkt)
        else:
            user = pmo if who == "pmo" else getattr(org, who)
        made = DelegationFactory(head=org.mkt_head, deputy=org.mkt_staff, start_date=_days(2))
        client = client_for(user)
        assert client.get(PAGE).status_code == 404
        assert client.post(PAGE, _form(org)).status_code == 404
        end = reverse("delegation-end", args=[made.pk])
        assert client.post(end).status_code == 404
        assert Delegation.objects.filter(pk=made.pk).exists()

    def test_a_head_names_sees_and_ends_a_deputy(self, org, client_for):
        client = client_for(org.mkt_head)
        page = client.get(PAGE)
        assert page.status_code == 200
        body = page.content.decode()
        assert "代理人設定" in body and "指定代理人" in body
        # Only the departments the head leads are offered.
        assert list(page.context["form"].fields["department"].queryset) == [org.mkt]
        response = client.post(PAGE, _form(org), follow=True)
        made = Delegation.objects.get()
        assert (made.head, made.deputy, made.department) == (org.mkt_head, org.mkt_staff, org.mkt)
        body = response.content.decode()
        assert "已指定代理人" in body and f'data-delegation="{made.pk}"' in body
        assert "代理中" in body
        response = client.post(reverse("delegation-end", args=[made.pk]), follow=True)
        assert not Delegation.objects.exists()  # it started today: nothing to keep
        assert "已移除" in response.content.decode()

    def test_a_running_delegation_ends_yesterday(self, org, client_for):
        running = DelegationFactory(
            head=org.mkt_head, deputy=org.mkt_staff, start_date=_days(-4), end_date=_days(4)
        )
        client = client_for(org.mkt_head)
        response = client.post(reverse("delegation-end", args=[running.pk]), follow=True)
        running.refresh_from_db()
        assert running.end_date == _days(-1)
        assert "已結束" in response.content.decode()

    @pytest.mark.parametrize(
        ("overrides", "field", "text"),
        [
            ({"department": "cs"}, "department", "選擇有效的選項"),
            ({"deputy": "self"}, "deputy", "選擇有效的選項"),
            ({"start_date": 3, "end_date": 1}, "end_date", "結束日期不能早於開始日期。"),
            ({"start_date": -5, "end_date": -1}, "end_date", "新的代理設定結束日期不能早於今天。"),
        ],
    )
    def test_refusals_show_on_the_form_and_save_nothing(
        self, org, client_for, overrides, field, text
    ):
        values = {}
        for key, value in overrides.items():
            if key == "department":
                values[key] = org.cs.pk
            elif key == "deputy":
                values[key] = org.mkt_head.pk
            else:
                values[key] = _days(value).isoformat()
        response = client_for(org.mkt_head).post(PAGE, _form(org, **values))
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert any(text in message for message in errors[field]), errors
        assert text in response.content.decode()
        assert not Delegation.objects.exists()

    def test_an_overlap_is_refused_by_the_service_above_the_form(self, org, client_for):
        DelegationFactory(
            head=org.mkt_head, deputy=org.cs_staff, department=None, end_date=_days(10)
        )
        response = client_for(org.mkt_head).post(PAGE, _form(org))
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        assert "重疊" in response.content.decode()
        assert Delegation.objects.count() == 1

    def test_a_platform_admin_names_deputies_for_a_head_under_the_same_rules(self, org, client_for):
        client = client_for(org.admin)
        refused = client.post(PAGE, _form(org, head=org.mkt_head.pk, department=org.cs.pk))
        assert refused.context["form"].errors["department"] == ["此負責人並未主管該部門。"]
        itself = client.post(PAGE, _form(org, head=org.mkt_head.pk, deputy=org.mkt_head.pk))
        assert itself.context["form"].errors["deputy"] == ["負責人不能指定自己為代理人。"]
        assert not Delegation.objects.exists()
        client.post(PAGE, _form(org, head=org.cs_head.pk, department=org.cs.pk))
        made = Delegation.objects.get()
        assert (made.head, made.department) == (org.cs_head, org.cs)

    def test_a_head_cannot_end_another_heads_delegation(self, org, client_for):
        theirs = DelegationFactory(head=org.cs_head, deputy=org.cs_staff, department=org.cs)
        response = client_for(org.mkt_head).post(reverse("delegation-end", args=[theirs.pk]))
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.end_date == _days(7)

    def test_the_menu_and_the_home_page_link_to_it_for_heads_only(self, org, client_for):
        body = client_for(org.mkt_head).get(reverse("home")).content.decode()
        assert 'id="nav-delegations"' in body and 'id="home-delegations"' in body
        body = client_for(org.admin).get(reverse("home")).content.decode()
        assert 'id="nav-delegations"' in body
        body = client_for(org.mkt_staff).get(reverse("home")).content.decode()
        assert PAGE not in body

    def test_the_list_runs_the_same_queries_for_more_rows(self, org, client_for):
        client = client_for(org.mkt_head)
        client.get(PAGE)
        start = [0]

        def make_rows(n):
            for _ in range(n):
                begin = _days(start[0])
                DelegationFactory(
                    head=org.mkt_head,
                    deputy=UserFactory(department=DepartmentFactory()),
                    department=org.mkt,
                    start_date=begin,
                    end_date=begin,
                    reason="出差",
                )
                start[0] += 1

        def fetch():
            response = client.get(PAGE)
            assert response.status_code == 200

        assert_constant_queries(make_rows, fetch)


# --- Django admin ------------------------------------------------------------------------


def _admin_form(o, **overrides):
    return {**_form(o, **overrides), "_save": "Save"}


def _admin_errors(response) -> str:
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    assert form.errors, "the admin form was accepted"
    return str(form.errors)


class TestAdmin:
    def test_a_head_adds_a_deputy_for_their_department(self, org, client_for):
        response = client_for(org.mkt_head).post(ADMIN_ADD, _admin_form(org))
        assert response.status_code == 302
        made = Delegation.objects.get()
        assert (made.head, made.deputy, made.department) == (org.mkt_head, org.mkt_staff, org.mkt)

    def test_the_issue_another_departments_deputy_is_refused_end_to_end(self, org, client_for):
        """mkt's head names mkt's staff as deputy for cs in admin: a form error, no row,
        and mkt's staff still gets 404 on a request of cs."""
        req = make_request(initiator=org.ops_staff, departments=[org.cs], lead=org.cs)
        req = request_services.request_submit(request=req, by=org.ops_staff)
        detail = reverse("requests_app:detail", args=[req.pk])
        client = client_for(org.mkt_head)
        assert list(
            client.get(ADMIN_ADD).context["adminform"].form.fields["department"].queryset
        ) == [org.mkt]
        errors = _admin_errors(client.post(ADMIN_ADD, _admin_form(org, department=org.cs.pk)))
        assert "department" in errors
        assert not Delegation.objects.exists()
        assert client_for(org.mkt_staff).get(detail).status_code == 404
        # The check is real: cs's own head may name them, and then they see it.
        client_for(org.cs_head).post(ADMIN_ADD, _admin_form(org, department=org.cs.pk))
        assert Delegation.objects.get().head == org.cs_head
        assert client_for(org.mkt_staff).get(detail).status_code == 200

    def test_naming_oneself_is_a_form_error_not_a_500(self, org, client_for):
        response = client_for(org.mkt_head).post(
            ADMIN_ADD, _admin_form(org, deputy=org.mkt_head.pk)
        )
        assert "負責人不能指定自己為代理人。" in _admin_errors(response)
        assert not Delegation.objects.exists()

    def test_an_overlap_is_a_form_error(self, org, client_for):
        DelegationFactory(head=org.mkt_head, deputy=org.cs_staff, department=org.mkt)
        response = client_for(org.mkt_head).post(ADMIN_ADD, _admin_form(org))
        assert "重疊" in _admin_errors(response)
        assert Delegation.objects.count() == 1

    @pytest.mark.parametrize(("start", "end"), [(3, 1), (-5, -1)])
    def test_bad_dates_are_a_form_error(self, org, client_for, start, end):
        response = client_for(org.mkt_head).post(
            ADMIN_ADD,
            _admin_form(org, start_date=_days(start).isoformat(), end_date=_days(end).isoformat()),
        )
        _admin_errors(response)
        assert not Delegation.objects.exists()

    def test_a_platform_admin_adds_for_any_head_under_the_same_rules(self, org, client_for):
        client = client_for(org.admin)
        errors = _admin_errors(
            client.post(ADMIN_ADD, _admin_form(org, head=org.mkt_head.pk, department=org.cs.pk))
        )
        assert "此負責人並未主管該部門。" in errors
        _admin_errors(
            client.post(ADMIN_ADD, _admin_form(org, head=org.mkt_head.pk, deputy=org.mkt_head.pk))
        )
        assert not Delegation.objects.exists()
        response = client.post(
            ADMIN_ADD, _admin_form(org, head=org.cs_head.pk, deputy=org.cs_staff.pk, department="")
        )
        assert response.status_code == 302
        made = Delegation.objects.get()
        assert (made.head, made.department) == (org.cs_head, None)

    def test_a_head_cannot_change_or_delete_someone_elses(self, org, client_for):
        """Another head's delegation is outside the head's list (admin redirects as for a
        missing row); one they only received is read-only (403 on POST)."""
        theirs = DelegationFactory(head=org.cs_head, deputy=org.cs_staff, department=org.cs)
        received = DelegationFactory(head=org.cs_head, deputy=org.mkt_head, department=org.cs)
        client = client_for(org.mkt_head)
        change = reverse("admin:collab_delegation_change", args=[theirs.pk])
        delete = reverse("admin:collab_delegation_delete", args=[theirs.pk])
        assert client.post(change, _admin_form(org)).status_code == 302
        assert client.post(delete, {"post": "yes"}).status_code == 302
        change = reverse("admin:collab_delegation_change", args=[received.pk])
        delete = reverse("admin:collab_delegation_delete", args=[received.pk])
        assert client.post(change, _admin_form(org)).status_code == 403
        assert client.post(delete, {"post": "yes"}).status_code == 403
        bulk = client.post(
            reverse("admin:collab_delegation_changelist"),
            {"action": "delete_selected", "_selected_action": [received.pk], "post": "yes"},
        )
        assert bulk.status_code == 403
        theirs.refresh_from_db()
        received.refresh_from_db()
        assert (theirs.deputy, received.deputy) == (org.cs_staff, org.mkt_head)
        assert (theirs.department, received.department) == (org.cs, org.cs)

    def test_a_heads_own_change_goes_through_the_service(self, org, client_for):
        DelegationFactory(
            head=org.mkt_head, deputy=org.cs_staff, start_date=_days(10), end_date=_days(12)
        )
        own = DelegationFactory(
            head=org.mkt_head,
            deputy=org.mkt_staff,
            department=org.mkt,
            start_date=_days(1),
            end_date=_days(3),
        )
        client = client_for(org.mkt_head)
        change = reverse("admin:collab_delegation_change", args=[own.pk])
        overlapping = _admin_form(
            org, start_date=_days(1).isoformat(), end_date=_days(11).isoformat()
        )
        assert "重疊" in _admin_errors(client.post(change, overlapping))
        own.refresh_from_db()
        assert own.end_date == _days(3)
        moved = _admin_form(org, start_date=_days(1).isoformat(), end_date=_days(5).isoformat())
        assert client.post(change, moved).status_code == 302
        own.refresh_from_db()
        assert own.end_date == _days(5)

    def test_a_head_deletes_their_own_through_the_service(self, org, client_for, monkeypatch):
        own = DelegationFactory(head=org.mkt_head, deputy=org.mkt_staff)
        other = DelegationFactory(
            head=org.mkt_head, deputy=org.cs_staff, start_date=_days(20), end_date=_days(22)
        )
        called = []
        real = services.delegation_delete

        def spy(**kwargs):
            called.append(kwargs["delegation"].pk)
            return real(**kwargs)

        monkeypatch.setattr(services, "delegation_delete", spy)
        client = client_for(org.mkt_head)
        delete = reverse("admin:collab_delegation_delete", args=[own.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 302
        bulk = client.post(
            reverse("admin:collab_delegation_changelist"),
            {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"},
        )
        assert bulk.status_code == 302
        assert called == [own.pk, other.pk]
        assert not Delegation.objects.exists()

    def test_the_deputy_search_answers_heads_with_active_people_only(self, org, client_for):
        """Heads may not browse people in admin, but the deputy field's search works."""
        UserFactory(full_name="離職同事", is_active=False)
        active = UserFactory(full_name="在職同事")
        client = client_for(org.mkt_head)
        url = reverse("admin:autocomplete")
        params = {
            "app_label": "collab",
            "model_name": "delegation",
            "field_name": "deputy",
            "term": "同事",
        }
        response = client.get(url, params)
        assert response.status_code == 200
        ids = {row["id"] for row in response.json()["results"]}
        assert str(active.pk) in ids
        assert all(row["text"] != "離職同事" for row in response.json()["results"])
        # Only that search: the people list itself stays closed to heads.
        assert client.get(reverse("admin:collab_user_changelist")).status_code == 403
        other_field = {**params, "model_name": "notification", "field_name": "recipient"}
        assert client.get(url, other_field).status_code == 403
        assert client_for(org.mkt_staff).get(url, params).status_code == 302


# --- in the browser ----------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_head_names_and_ends_a_deputy_in_the_browser(page, live_server):
    """From the user menu to the deputies page, name a deputy, then remove them (real
    Chromium, zh-Hant, no console errors)."""
    services.role_groups_ensure()
    department = DepartmentFactory(name="市場部")
    head = make_head(department, username="mkt_boss")
    UserFactory(full_name="陳代理", department=department)
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("使用者名稱").fill(head.username)
    page.get_by_label("密碼").fill("pw-for-tests")
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(live_server.url + reverse("home"))
    page.locator(".navbar .dropdown-toggle", has_text=str(head)).click()
    page.locator("#nav-delegations").click()
    page.wait_for_url(live_server.url + PAGE)
    form = page.locator("#delegation-form")
    form.get_by_label("代理人").select_option(label="陳代理 · 市場部")
    form.get_by_label("結束日期").fill(_days(3).isoformat())
    form.get_by_label("原因").fill("出差")
    page.locator("#delegation-submit").click()
    row = page.locator("#delegation-table tbody tr")
    shown = row.inner_text()
    assert "陳代理" in shown and "代理中" in shown and "您所負責的所有部門" in shown
    made = Delegation.objects.get()
    assert (made.head, made.department, made.end_date) == (head, None, _days(3))
    row.get_by_role("button", name="移除").click()
    page.locator("#delegations-empty").wait_for()
    assert not Delegation.objects.exists()
