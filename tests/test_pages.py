"""The portal shell: every page answered for each role that may or may not see it."""

import pytest
from django.urls import reverse

from tests.helpers import assert_query_count

NAV_PAGES = ["home", "requests_app:mine", "tasks_app:mine", "portfolio_app:todo"]
ROLES = ["staff", "head", "deputy", "outsider", "pmo", "executive", "superuser"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", NAV_PAGES)
def test_everyone_signed_in_sees_the_shell_pages(request, client, role, page):
    user = request.getfixturevalue(role)
    client.force_login(user)
    response = client.get(reverse(page))
    assert response.status_code == 200
    body = response.content.decode()
    assert "我的需求" in body and "我的任務" in body and "待辦事項" in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staff", 403),
        ("deputy", 200),  # acting for the head while the delegation runs
        ("outsider", 403),
        ("head", 200),
        ("pmo", 200),
        ("executive", 200),
        ("superuser", 200),
    ],
)
def test_dashboard_is_for_heads_pmo_and_executives(request, client, role, status):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("portfolio_app:dashboard")).status_code == status


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "shown"), [("staff", False), ("head", True), ("pmo", True)])
def test_navigation_shows_dashboard_and_admin_only_to_those_who_may(request, client, role, shown):
    client.force_login(request.getfixturevalue(role))
    body = client.get(reverse("home")).content.decode()
    assert (reverse("portfolio_app:dashboard") in body) is shown
    assert (reverse("admin:index") in body) is shown


@pytest.mark.django_db
def test_home_shows_the_deputy_what_they_cover(client, deputy, head):
    client.force_login(deputy)
    body = client.get(reverse("home")).content.decode()
    assert "代理" in body
    assert str(head) in body


@pytest.mark.django_db
def test_home_query_count(client, staff):
    client.force_login(staff)
    client.get(reverse("home"))  # warm the session
    with assert_query_count(8):  # session, user, headship, department, heads, deputies,
        # the bell, and whether to show department tasks
        client.get(reverse("home"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [("staff", 302), ("outsider", 302), ("head", 200), ("pmo", 200), ("superuser", 200)],
)
def test_admin_index_for_managers_only(request, client, role, status):
    """Heads and PMO work in Django admin; staff are sent to the admin login."""
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("admin:index")).status_code == status


@pytest.mark.django_db
def test_head_sees_only_own_delegations_in_admin(client, head, deputy):
    from tests.factories import DelegationFactory, UserFactory

    stranger_head = UserFactory()
    foreign = DelegationFactory(head=stranger_head, deputy=UserFactory())
    client.force_login(head)
    listing = client.get(reverse("admin:collab_delegation_changelist"))
    assert listing.status_code == 200
    assert str(deputy) in listing.content.decode()
    assert str(foreign.deputy) not in listing.content.decode()
    url = reverse("admin:collab_delegation_change", args=[foreign.pk])
    assert client.get(url).status_code == 302  # not found in the head's scope → index


@pytest.mark.django_db
def test_platform_admin_manages_departments_and_users(client, superuser, department):
    client.force_login(superuser)
    assert client.get(reverse("admin:collab_department_changelist")).status_code == 200
    assert client.get(reverse("admin:collab_user_changelist")).status_code == 200
    assert (
        client.get(reverse("admin:collab_department_change", args=[department.pk])).status_code
        == 200
    )
