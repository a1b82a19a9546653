"""The knowledge-base entry (ArchiveEntry) of an archived case is read-only at every
layer, like the rest of the case: the model (CaseRecord), PostgreSQL (the case trigger,
review_app migration 0004), the archive service and admin. The archiving itself still
writes it, in the transaction that makes the case read-only."""

from __future__ import annotations

import pytest
from django.contrib import admin as admin_site
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from requests_app.admin import ArchivedCaseAdminMixin
from requests_app.models import CaseArchived, CaseRecord, CollabRequest
from requests_app.services import RequestConflict
from review_app.models import ArchiveEntry
from review_app.services import archive as archive_services
from tests import review_archive_fixtures as fixtures

case, platform_admin = fixtures.case, fixtures.platform_admin  # fixtures of this module

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(case):
    """The case archived through the service; its entry as read from the database."""
    archive_services.archive_case(request=case.req, by=case.pmo)
    return ArchiveEntry.objects.select_related("request").get(request=case.req)


def _state(entry) -> list:
    return list(ArchiveEntry.objects.filter(request_id=entry.request_id).values())


@pytest.fixture
def before(entry):
    return _state(entry)


def _refused_by_postgresql(write) -> None:
    """The same refusal as every other case table's (tests/test_review_archive_readonly)."""
    with pytest.raises(DatabaseError, match="archived and read-only"), transaction.atomic():
        write()


# --- the archiving writes it -----------------------------------------------------------


def test_archiving_still_files_the_entry_in_the_same_transaction(case):
    """The trigger lets the archiving's insert through: the case is not archived yet when
    the entry is written, and is archived when the transaction commits."""
    entry = archive_services.archive_case(request=case.req, by=case.pmo)
    stored = ArchiveEntry.objects.get(request=case.req)
    assert stored.pk == entry.pk and stored.title.startswith(fixtures.CASE_NAME + "-")
    assert "月活躍用戶增長" in stored.search_text
    assert CollabRequest.objects.get(pk=case.req.pk).is_archived


def test_the_entry_is_a_case_record_with_the_case_trigger(entry):
    assert issubclass(ArchiveEntry, CaseRecord)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgargs FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'case_archived_read_only' AND c.relname = 'review_app_archiveentry'"
        )
        (args,) = cursor.fetchone()
    assert [a.decode() for a in bytes(args).split(b"\x00") if a] == ["request_id"]


# --- (a) the model -----------------------------------------------------------------------


def test_saving_the_entry_is_refused(entry, before):
    entry.title = "改過的標題"
    with pytest.raises(CaseArchived) as info:
        entry.save()
    assert info.value.code == "archived"
    assert info.value.messages == [str(CaseArchived().messages[0])]
    assert _state(entry) == before


def test_deleting_the_entry_is_refused(entry, before):
    with pytest.raises(CaseArchived) as info:
        entry.delete()
    assert info.value.code == "archived"
    assert _state(entry) == before


def test_a_second_entry_for_the_archived_case_is_refused(entry, before):
    copy = ArchiveEntry.objects.get(pk=entry.pk)
    copy.pk = None
    copy._state.adding = True
    with pytest.raises(CaseArchived):
        copy.save()
    assert _state(entry) == before


# --- (b) PostgreSQL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        lambda e: ArchiveEntry.objects.filter(pk=e.pk).update(title="改過的標題"),
        lambda e: ArchiveEntry.objects.filter(pk=e.pk).update(search_text=""),
        lambda e: ArchiveEntry.objects.filter(pk=e.pk).delete(),
        lambda e: ArchiveEntry.objects.all().delete(),
        lambda e: ArchiveEntry.objects.bulk_create(
            [ArchiveEntry(request_id=e.request_id, title="x", archived_by_id=e.archived_by_id)]
        ),
        lambda e: connection.cursor().execute(
            "DELETE FROM review_app_archiveentry WHERE id = %s", [e.pk]
        ),
    ],
    ids=["update-title", "update-search-text", "delete", "delete-all", "bulk-create", "raw"],
)
def test_postgresql_refuses_queryset_writes(entry, before, write):
    """Queryset update()/delete(), bulk_create and raw SQL bypass the model."""
    _refused_by_postgresql(lambda: write(entry))
    assert _state(entry) == before


def test_an_entry_cannot_be_moved_to_another_case(entry, before, case):
    from tests.factories import make_request

    other = make_request(initiator=case.initiator, departments=[case.mkt])
    _refused_by_postgresql(lambda: ArchiveEntry.objects.filter(pk=entry.pk).update(request=other))
    assert _state(entry) == before


def test_the_maintenance_switch_lets_data_maintenance_through(entry, before):
    """`SET LOCAL collab.archive_guard = 'off'` (review_app 0003) covers this table too,
    for that transaction only."""

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL collab.archive_guard = 'off'")
        assert ArchiveEntry.objects.filter(pk=entry.pk).update(title="維護") == 1
        raise Rollback
    assert _state(entry) == before
    _refused_by_postgresql(lambda: ArchiveEntry.objects.filter(pk=entry.pk).update(title="x"))


def test_the_entry_of_a_case_not_archived_stays_writable(case):
    """The trigger asks whether the case is archived, not whether an entry exists."""
    ArchiveEntry.objects.create(
        request=case.req, title="草稿", archived_by=case.pmo, search_text="x"
    )
    assert ArchiveEntry.objects.filter(request=case.req).update(title="改") == 1
    ArchiveEntry.objects.filter(request=case.req).delete()
    assert not ArchiveEntry.objects.filter(request=case.req).exists()


# --- (c) the service ---------------------------------------------------------------------


def test_archiving_again_is_refused_and_leaves_the_entry_alone(entry, before, case):
    """The only service that writes an entry refuses an archived case (under its lock)."""
    with pytest.raises(RequestConflict):
        archive_services.archive_case(request=case.req, by=case.pmo, confidential=True)
    assert _state(entry) == before


# --- (d) admin ---------------------------------------------------------------------------


def test_admin_refuses_changing_the_entry(entry, before, superuser, client):
    client.force_login(superuser)
    url = reverse("admin:review_app_archiveentry_change", args=[entry.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    response = client.post(url, {"title": "改過的標題", "search_text": ""})
    assert response.status_code == 403
    assert _state(entry) == before


def test_admin_refuses_deleting_the_entry(entry, before, superuser, client):
    client.force_login(superuser)
    url = reverse("admin:review_app_archiveentry_delete", args=[entry.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert _state(entry) == before


def test_admin_offers_no_bulk_delete_and_its_mixin_refuses_one(entry, before, superuser, client):
    client.force_login(superuser)
    changelist = reverse("admin:review_app_archiveentry_changelist")
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert _state(entry) == before
    model_admin = admin_site.site._registry[ArchiveEntry]
    assert isinstance(model_admin, ArchivedCaseAdminMixin)
    request = RequestFactory().post(changelist)
    request.user = superuser
    with pytest.raises(PermissionDenied) as info:
        model_admin.delete_queryset(request, ArchiveEntry.objects.filter(pk=entry.pk))
    assert str(info.value) == str(CaseArchived().messages[0])
    assert _state(entry) == before


def test_admin_shows_the_entry_read_only_even_to_the_platform_admin(entry, platform_admin):
    model_admin = admin_site.site._registry[ArchiveEntry]
    request = RequestFactory().get("/admin/")
    request.user = platform_admin
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)
    assert entry.request.archived_at <= timezone.now()
