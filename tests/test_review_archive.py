"""Archiving a case (歸檔): who may, when, what it writes, and the pages around it."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from collab import notifications
from collab.choices import Role
from collab.models import Notification
from requests_app.choices import EventKind
from requests_app.models import CollabRequest, RequestEvent
from requests_app.services import RequestConflict
from review_app.choices import RetrospectiveState
from review_app.models import ArchiveEntry, Retrospective
from review_app.services import archive as services
from tests import review_archive_fixtures as fixtures
from tests.factories import UserFactory, make_in_progress_request
from tests.review_archive_fixtures import CASE_NAME

case, platform_admin = fixtures.case, fixtures.platform_admin  # fixtures of this module

pytestmark = pytest.mark.django_db


def _archived(req) -> CollabRequest:
    return CollabRequest.objects.get(pk=req.pk)


# --- preconditions and who may archive -------------------------------------------------


def test_archive_files_the_case_read_only(case, django_capture_on_commit_callbacks):
    """One archiving writes the 已歸檔 timeline line, the knowledge-base entry named
    "name-date" with the searchable text, and the archived flag; the initiator is told."""
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.archive_case(request=case.req, by=case.pmo)
    req = _archived(case.req)
    assert req.is_archived and req.archived_at is not None
    assert not req.is_confidential
    completed = timezone.localdate(req.completed_at).strftime("%Y%m%d")
    assert entry.title == f"{CASE_NAME}-{completed}"
    assert entry.archived_by == case.pmo and entry.request == req
    for text in (
        CASE_NAME,
        "留存率下降",  # background
        "月活躍用戶增長",  # goal
        "18",  # actual value
        "每日站會",  # highlights
        "需求變更未走流程",  # shortcomings
        "建立需求變更評審機制",  # improvement action
        "完成3項新功能上線",  # contribution
        "新功能開發",  # task name
    ):
        assert text in entry.search_text, text
    event = RequestEvent.objects.get(request=req, kind=EventKind.ARCHIVED)
    assert event.by == case.pmo and entry.title in event.text
    note = Notification.objects.filter(recipient=case.initiator).latest("pk")
    assert entry.title in note.title
    assert [m.to for m in mail.outbox] == [[case.initiator.email]]


def test_archive_marks_the_case_confidential_when_asked(case):
    entry = services.archive_case(request=case.req, by=case.pmo, confidential=True)
    assert entry.request.is_confidential and _archived(case.req).is_confidential


def test_archive_keeps_the_initiators_confidential_choice_unless_told(case):
    CollabRequest.objects.filter(pk=case.req.pk).update(is_confidential=True)
    services.archive_case(request=case.req, by=case.pmo)
    assert _archived(case.req).is_confidential


def test_only_a_completed_case_is_archived(case):
    req, _tasks = make_in_progress_request(
        initiator=case.initiator,
        departments=[case.mkt],
        pmo=case.pmo,
        tasks=[{"responsible": case.initiator, "accountable": case.mkt_head}],
    )
    with pytest.raises(ValidationError) as info:
        services.archive_case(request=req, by=case.pmo)
    assert [e.code for e in info.value.error_list] == ["not_completed"]
    assert not _archived(req).is_archived
    assert not ArchiveEntry.objects.exists()


@pytest.mark.parametrize("state", ["none", RetrospectiveState.DRAFT])
def test_the_retrospective_must_be_filed_first(case, state):
    if state == "none":
        Retrospective.objects.filter(request=case.req).delete()
    else:
        Retrospective.objects.filter(request=case.req).update(state=state)
    with pytest.raises(ValidationError) as info:
        services.archive_case(request=case.req, by=case.pmo)
    assert [e.code for e in info.value.error_list] == ["no_retrospective"]
    assert not _archived(case.req).is_archived
    assert not RequestEvent.objects.filter(kind=EventKind.ARCHIVED).exists()


def test_feedback_awaiting_handling_holds_the_archive_up(case):
    from review_app.services import feedback as feedback_services

    given = feedback_services.feedback_give(
        request=case.req, by=case.initiator, kind="problem", content="數據交接太晚。"
    )
    with pytest.raises(ValidationError) as info:
        services.archive_case(request=case.req, by=case.pmo)
    assert [e.code for e in info.value.error_list] == ["feedback_unhandled"]
    assert not _archived(case.req).is_archived
    feedback_services.feedback_handle(feedback=given, by=case.pmo, result="已調整需求模板。")
    services.archive_case(request=case.req, by=case.pmo)
    assert _archived(case.req).is_archived


@pytest.mark.parametrize(
    "who", ["initiator", "mkt_head", "tech_head", "owner", "outsider", "executive"]
)
def test_only_the_pmo_or_a_platform_admin_archives(case, executive, who):
    user = executive if who == "executive" else getattr(case, who)
    with pytest.raises(PermissionDenied):
        services.archive_case(request=case.req, by=user)
    assert not _archived(case.req).is_archived


@pytest.mark.parametrize("who", ["platform_admin", "superuser"])
def test_platform_admins_archive_too(case, platform_admin, superuser, who):
    user = platform_admin if who == "platform_admin" else superuser
    entry = services.archive_case(request=case.req, by=user)
    assert entry.archived_by == user


def test_an_inactive_pmo_cannot_archive(case):
    gone = UserFactory(role=Role.PMO, is_active=False)
    with pytest.raises(PermissionDenied):
        services.archive_case(request=case.req, by=gone)


def test_a_second_archiving_is_a_conflict_naming_the_first(case, pmo):
    services.archive_case(request=case.req, by=case.pmo)
    other = UserFactory(role=Role.PMO)
    with pytest.raises(RequestConflict) as info:
        services.archive_case(request=case.req, by=other)  # a copy read before archiving
    assert str(case.pmo) in str(info.value)
    assert ArchiveEntry.objects.count() == 1
    assert RequestEvent.objects.filter(kind=EventKind.ARCHIVED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_pmos_archiving_at_once_make_one_archive(case, monkeypatch):
    """Both load the case, line up, and archive; the first holds the row lock a moment
    longer. One archive, one timeline line; the other gets RequestConflict."""
    second_pmo = UserFactory(role=Role.PMO)
    real = notifications.notify

    def slow_notify(**kwargs):
        time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr(notifications, "notify", slow_notify)
    barrier = threading.Barrier(2)
    results = [None, None]

    def run(index, user):
        try:
            req = CollabRequest.objects.get(pk=case.req.pk)
            barrier.wait(timeout=10)
            results[index] = ("ok", services.archive_case(request=req, by=user))
        except Exception as exc:
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(0, case.pmo)),
        threading.Thread(target=run, args=(1, second_pmo)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    outcomes = sorted(kind for kind, _value in results)
    assert outcomes == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, RequestConflict)
    assert ArchiveEntry.objects.count() == 1
    assert RequestEvent.objects.filter(request=case.req, kind=EventKind.ARCHIVED).count() == 1


# --- the archive button (view) -----------------------------------------------------------


def test_the_pmo_archives_from_the_case_page(case, client_for):
    client = client_for(case.pmo)
    response = client.post(
        reverse("review_app:archive", args=[case.req.pk]), {"confidential": "on"}
    )
    assert response.status_code == 302
    assert response.url == reverse("review_app:case", args=[case.req.pk]) + "#archive"
    req = _archived(case.req)
    assert req.is_archived and req.is_confidential
    page = client.get(response.url)
    html = page.content.decode()
    assert 'id="archive-done"' in html and 'id="archive-entry"' in html
    assert req.archive_entry.title in html
    assert 'id="action-archive"' not in html


@pytest.mark.parametrize("who", ["initiator", "mkt_head", "tech_head", "owner", "executive"])
def test_others_cannot_archive_from_the_page(case, executive, client_for, who):
    user = executive if who == "executive" else getattr(case, who)
    response = client_for(user).post(reverse("review_app:archive", args=[case.req.pk]))
    assert response.status_code == 403
    assert not _archived(case.req).is_archived


def test_an_outsider_does_not_even_find_an_unarchived_case(case, client_for):
    response = client_for(case.outsider).post(reverse("review_app:archive", args=[case.req.pk]))
    assert response.status_code == 404
    assert not _archived(case.req).is_archived


def test_a_refused_archiving_says_why(case, client_for):
    Retrospective.objects.filter(request=case.req).update(state=RetrospectiveState.DRAFT)
    client = client_for(case.pmo)
    response = client.post(reverse("review_app:archive", args=[case.req.pk]), follow=True)
    assert not _archived(case.req).is_archived
    texts = [str(m) for m in response.context["messages"]]
    expected = services.archive_refusals(case.req)[0].messages[0]
    assert texts == [expected]


def test_archiving_needs_a_post(case, client_for):
    response = client_for(case.pmo).get(reverse("review_app:archive", args=[case.req.pk]))
    assert response.status_code == 405


# --- the case page's panel ------------------------------------------------------------


def test_the_panel_offers_the_pmo_the_archive_button_with_the_confidential_box(case, client_for):
    html = client_for(case.pmo).get(reverse("review_app:case", args=[case.req.pk])).content.decode()
    assert 'id="action-archive"' in html
    assert 'id="archive-form"' in html and 'name="confidential"' in html


def test_the_panel_says_why_the_pmo_cannot_archive_yet(case, client_for):
    Retrospective.objects.filter(request=case.req).update(state=RetrospectiveState.DRAFT)
    html = client_for(case.pmo).get(reverse("review_app:case", args=[case.req.pk])).content.decode()
    assert 'id="archive-refusals"' in html
    assert 'id="action-archive"' not in html and 'id="archive-form"' not in html


@pytest.mark.parametrize("who", ["initiator", "mkt_head", "tech_head"])
def test_the_panel_offers_no_button_to_others(case, client_for, who):
    html = (
        client_for(getattr(case, who))
        .get(reverse("review_app:case", args=[case.req.pk]))
        .content.decode()
    )
    assert 'id="archive-not-yet"' in html
    assert 'id="action-archive"' not in html and 'id="archive-form"' not in html


# --- the PMO's to-do -------------------------------------------------------------------


def test_the_pmo_sees_cases_waiting_to_be_archived(case, client_for):
    client = client_for(case.pmo)
    response = client.get(reverse("portfolio_app:todo"))
    assert response.context["archive_todo_count"] == 1
    assert f'data-archive-request="{case.req.pk}"' in response.content.decode()
    services.archive_case(request=case.req, by=case.pmo)
    response = client.get(reverse("portfolio_app:todo"))
    assert response.context["archive_todo_count"] == 0
    assert 'id="todo-archive"' not in response.content.decode()


def test_a_case_without_a_filed_retrospective_is_not_on_the_pmos_to_do(case, client_for):
    Retrospective.objects.filter(request=case.req).update(state=RetrospectiveState.DRAFT)
    response = client_for(case.pmo).get(reverse("portfolio_app:todo"))
    assert response.context["archive_todo_count"] == 0


@pytest.mark.parametrize("who", ["initiator", "mkt_head", "outsider"])
def test_others_have_nothing_to_archive(case, client_for, who):
    response = client_for(getattr(case, who)).get(reverse("portfolio_app:todo"))
    assert response.context["archive_todo_count"] == 0
    assert 'id="todo-archive"' not in response.content.decode()


# --- the request page ------------------------------------------------------------------


def test_the_request_page_shows_the_archived_banner(case, client_for):
    client = client_for(case.initiator)
    url = reverse("requests_app:detail", args=[case.req.pk])
    assert 'id="archived-banner"' not in client.get(url).content.decode()
    services.archive_case(request=case.req, by=case.pmo)
    html = client.get(url).content.decode()
    assert 'id="archived-banner"' in html
    assert 'id="action-edit"' not in html and 'id="action-cancel"' not in html


def test_the_request_form_lets_the_initiator_mark_it_confidential(department, client_for):
    from tests.factories import DepartmentFactory

    initiator = UserFactory(department=department)
    other = DepartmentFactory()
    client = client_for(initiator)
    page = client.get(reverse("requests_app:create")).content.decode()
    assert 'name="is_confidential"' in page and 'id="confidential-field"' in page
    response = client.post(
        reverse("requests_app:create"),
        {
            "action": "draft",
            "expected_state": "draft",
            "name": "機密專案",
            "contact": "8888",
            "priority": "normal",
            "expected_completion": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
            "background": "背景",
            "is_confidential": "on",
            "departments-TOTAL_FORMS": "1",
            "departments-INITIAL_FORMS": "0",
            "departments-0-department": str(other.pk),
            "goals-TOTAL_FORMS": "0",
            "goals-INITIAL_FORMS": "0",
            "milestones-TOTAL_FORMS": "0",
            "milestones-INITIAL_FORMS": "0",
            "resources-TOTAL_FORMS": "0",
            "resources-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert CollabRequest.objects.get(name="機密專案").is_confidential
