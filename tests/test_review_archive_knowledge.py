"""The knowledge base 知識庫 and who reads archived cases: every active member of staff
reads an archived case as a reference, except a confidential one, which keeps the
request's own visibility. Chinese substring search runs on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from collab.models import User
from meetings_app.choices import MeetingKind, MinutesState
from meetings_app.models import Meeting, Minutes, MinutesItem, Problem
from requests_app import permissions as request_permissions
from requests_app.models import CollabRequest, Goal
from review_app.models import Retrospective
from review_app.selectors import archive as selectors
from review_app.services import archive as archive_services
from tasks_app import permissions as task_permissions
from tests import review_archive_fixtures as fixtures
from tests.factories import DepartmentFactory, UserFactory
from tests.helpers import assert_constant_queries
from tests.review_archive_fixtures import quick_archived_case

case, platform_admin = fixtures.case, fixtures.platform_admin  # fixtures of this module

pytestmark = pytest.mark.django_db

PHRASE = "用戶活躍度提升"


def _archive(case, *, confidential=False) -> CollabRequest:
    return archive_services.archive_case(
        request=case.req, by=case.pmo, confidential=confidential
    ).request


def _titles(user, **filters) -> set[str]:
    return {e.title for e in selectors.knowledge_base(user=user, **filters)}


# --- who reads an archived case ------------------------------------------------------


def test_an_archived_case_is_a_reference_for_all_staff(case, client_for):
    """Before archiving an outsider finds nothing; after, the request, the case page and
    the task pages open for them, read-only."""
    outsider = case.outsider
    assert not request_permissions.visible_requests(outsider).filter(pk=case.req.pk).exists()
    assert client_for(outsider).get(case.req.get_absolute_url()).status_code == 404
    _archive(case)
    assert request_permissions.visible_requests(outsider).filter(pk=case.req.pk).exists()
    assert task_permissions.visible_tasks(outsider).filter(pk=case.task.pk).exists()
    client = client_for(outsider)
    assert client.get(case.req.get_absolute_url()).status_code == 200
    assert client.get(case.task.get_absolute_url()).status_code == 200
    assert client.get(reverse("review_app:case", args=[case.req.pk])).status_code == 200
    html = client.get(case.task.get_absolute_url()).content.decode()
    assert 'name="body"' not in html  # no comment box on an archived case


def test_a_member_of_no_department_reads_it_too(case, client_for):
    _archive(case)
    homeless = UserFactory(department=None)
    assert client_for(homeless).get(case.req.get_absolute_url()).status_code == 200


def test_a_disabled_account_reads_nothing(case):
    _archive(case)
    gone = UserFactory(department=case.legal, is_active=False)
    assert not request_permissions.visible_requests(gone).exists()
    assert not task_permissions.visible_tasks(gone).exists()


def test_a_confidential_case_keeps_the_requests_own_visibility(case, client_for):
    _archive(case, confidential=True)
    for user in (case.outsider, case.legal_head, UserFactory(department=None)):
        client = client_for(user)
        assert client.get(case.req.get_absolute_url()).status_code == 404, user
        assert client.get(case.task.get_absolute_url()).status_code == 404, user
    for user in (case.initiator, case.mkt_head, case.tech_head, case.owner, case.pmo):
        client = client_for(user)
        assert client.get(case.req.get_absolute_url()).status_code == 200, user
        assert client.get(case.task.get_absolute_url()).status_code == 200, user


def test_an_unarchived_confidential_flag_changes_nothing_yet(case):
    """is_confidential only matters once archived: an open case keeps its visibility."""
    CollabRequest.objects.filter(pk=case.req.pk).update(is_confidential=True)
    assert request_permissions.visible_requests(case.initiator).filter(pk=case.req.pk).exists()
    assert not request_permissions.visible_requests(case.outsider).filter(pk=case.req.pk).exists()


@pytest.mark.parametrize("confidential", [False, True])
def test_who_sees_the_task_is_exactly_who_may_be_mentioned(case, confidential):
    """tasks_app.permissions.users_who_can_see stays the mirror image of visible_tasks."""
    _archive(case, confidential=confidential)
    UserFactory(department=None)
    UserFactory(department=case.legal, is_active=False)
    task = case.task.__class__.objects.select_related("request").get(pk=case.task.pk)
    fast = set(task_permissions.users_who_can_see(task))
    slow = {u for u in User.objects.filter(is_active=True) if task_permissions.can_view(u, task)}
    assert fast == slow
    assert (case.outsider in fast) is not confidential


def test_the_visibility_filter_does_not_scan_guardian_tables(case):
    """The archived term is a column of the request: the query plan reads guardian's
    table only through its index (NetBox-style restriction stays cheap)."""
    from django.db import connection

    _archive(case)
    queryset = request_permissions.visible_requests(case.outsider)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "Seq Scan on requests_app_collabrequestuserobjectpermission" not in plan


# --- the knowledge base page ---------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "background", "goal", "retrospective"])
def test_a_search_for_a_chinese_substring_finds_the_case(case, field):
    """「活躍度」 finds a case whose name, background, goal or retrospective holds
    「用戶活躍度提升」, and only that field carries the phrase."""
    CollabRequest.objects.filter(pk=case.req.pk).update(name="Q3專案", background="留存率下降")
    Goal.objects.filter(request=case.req).update(description="月活躍用戶增長")
    Retrospective.objects.filter(request=case.req).update(highlights="每日站會")
    if field == "name":
        CollabRequest.objects.filter(pk=case.req.pk).update(name=f"{PHRASE}專案")
    elif field == "background":
        CollabRequest.objects.filter(pk=case.req.pk).update(background=f"為了{PHRASE}")
    elif field == "goal":
        Goal.objects.filter(request=case.req).update(description=PHRASE)
    else:
        Retrospective.objects.filter(request=case.req).update(highlights=f"{PHRASE}超預期")
    case.req = CollabRequest.objects.get(pk=case.req.pk)
    other = quick_archived_case(
        initiator=case.initiator, departments=[case.mkt], pmo=case.pmo, name="預算編制"
    )
    entry = archive_services.archive_case(request=case.req, by=case.pmo)
    found = list(selectors.knowledge_base(user=case.outsider, q="活躍度"))
    assert found == [entry]
    assert other.archive_entry not in found
    assert list(selectors.knowledge_base(user=case.outsider, q="活躍度 不存在的詞")) == []


def test_the_minutes_of_the_cases_meetings_are_searched_too(case):
    """A conclusion of the filed minutes, a problem and an action item of the case's
    meetings find the case; a draft's conclusion does not."""
    start = timezone.now() - dt.timedelta(days=10)
    meeting = Meeting.objects.create(
        request=case.req,
        topic="上線評審會",
        kind=MeetingKind.REVIEW,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        organiser=case.initiator,
        recorder=case.initiator,
    )
    filed = Minutes.objects.create(
        meeting=meeting, version=1, state=MinutesState.FILED, drafted_by=case.initiator
    )
    MinutesItem.objects.create(minutes=filed, title="灰度方案", conclusion="先開放百分之十流量")
    draft = Minutes.objects.create(meeting=meeting, version=2, drafted_by=case.initiator)
    MinutesItem.objects.create(minutes=draft, title="灰度方案", conclusion="草稿裡的構想")
    Problem.objects.create(meeting=meeting, description="監控告警太晚", is_filed=True)
    entry = archive_services.archive_case(request=case.req, by=case.pmo)
    for phrase in ("上線評審", "百分之十流量", "告警太晚"):
        assert list(selectors.knowledge_base(user=case.outsider, q=phrase)) == [entry], phrase
    assert list(selectors.knowledge_base(user=case.outsider, q="草稿裡")) == []


def test_the_page_finds_活躍度_for_any_member_of_staff(case, client_for):
    entry = archive_services.archive_case(request=case.req, by=case.pmo)
    response = client_for(case.outsider).get(reverse("review_app:knowledge"), {"q": "活躍度"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-entry="{entry.pk}"' in html and entry.title in html
    assert case.req.get_absolute_url() in html
    response = client_for(case.outsider).get(reverse("review_app:knowledge"), {"q": "找不到"})
    assert 'id="knowledge-empty"' in response.content.decode()


def test_a_confidential_case_is_found_by_participants_only(case, client_for):
    entry = _archive(case, confidential=True).archive_entry
    url = reverse("review_app:knowledge")
    for user in (case.outsider, case.legal_head):
        html = client_for(user).get(url, {"q": "活躍度"}).content.decode()
        assert f'data-entry="{entry.pk}"' not in html, user
    for user in (case.initiator, case.tech_head, case.owner, case.pmo):
        html = client_for(user).get(url, {"q": "活躍度"}).content.decode()
        assert f'data-entry="{entry.pk}"' in html, user
        assert "data-confidential" in html


def test_the_knowledge_base_filters_by_department_and_year(case):
    sales = DepartmentFactory()
    mine = _archive(case).archive_entry
    theirs = quick_archived_case(
        initiator=UserFactory(department=sales), departments=[sales], pmo=case.pmo, name="銷售案"
    ).archive_entry
    user = case.outsider
    assert _titles(user) == {mine.title, theirs.title}
    assert _titles(user, department=case.tech.pk) == {mine.title}  # a collaborating one
    assert _titles(user, department=case.mkt.pk) == {mine.title}  # the initiating one
    assert _titles(user, department=sales.pk) == {theirs.title}
    year = timezone.localdate(case.req.completed_at).year
    assert _titles(user, year=year) == {mine.title, theirs.title}
    assert _titles(user, year=year - 1) == set()
    assert selectors.knowledge_base_years(user=user) == [year]


def test_the_page_filters_and_ignores_bad_values(case, client_for):
    entry = _archive(case).archive_entry
    client = client_for(case.outsider)
    url = reverse("review_app:knowledge")
    html = client.get(url, {"department": case.legal.pk}).content.decode()
    assert f'data-entry="{entry.pk}"' not in html
    html = client.get(url, {"department": "abc", "year": "x", "q": "活躍"}).content.decode()
    assert f'data-entry="{entry.pk}"' in html


def test_the_knowledge_base_is_for_signed_in_staff(client, case):
    response = client.get(reverse("review_app:knowledge"))
    assert response.status_code == 302 and "login" in response.url


def test_the_navigation_links_to_the_knowledge_base(case, client_for):
    html = client_for(case.outsider).get(reverse("portfolio_app:todo")).content.decode()
    assert 'id="nav-knowledge"' in html and reverse("review_app:knowledge") in html


def test_the_knowledge_base_is_paginated(case, client_for, settings):
    from review_app.views import archive as views

    views.PAGE_SIZE, saved = 2, views.PAGE_SIZE
    try:
        for index in range(3):
            quick_archived_case(
                initiator=case.initiator, departments=[case.mkt], pmo=case.pmo, name=f"案{index}"
            )
        client = client_for(case.outsider)
        first = client.get(reverse("review_app:knowledge"))
        assert first.context["page"].paginator.num_pages == 2
        assert len(first.context["page"].object_list) == 2
        second = client.get(reverse("review_app:knowledge"), {"page": 2})
        assert len(second.context["page"].object_list) == 1
    finally:
        views.PAGE_SIZE = saved


def test_the_knowledge_base_runs_a_constant_number_of_queries(case, client_for):
    client = client_for(case.outsider)
    departments = [case.mkt, case.tech]

    def make_rows(n):
        for index in range(n):
            quick_archived_case(
                initiator=UserFactory(department=case.mkt),
                departments=departments,
                pmo=case.pmo,
                name=f"參考案{index}",
            )

    def fetch():
        response = client.get(reverse("review_app:knowledge"), {"q": "參考"})
        assert response.status_code == 200

    assert_constant_queries(make_rows, fetch, small=2, large=8)
