"""A new request's first save carries its attachments (issue 13, part 5).

The new-request form has a file input inside the form: saving the draft or submitting
stores each file as version 1 of a new attachment, logged on the request's history, in
the same transaction as the request. A refused file saves nothing and the page says the
files must be chosen again. The edit page keeps the attachments panel instead.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from requests_app.choices import EventKind, RequestState
from requests_app.models import Attachment, AttachmentVersion, CollabRequest
from tests.factories import DepartmentFactory, UserFactory, make_request
from tests.test_request_pages import _form_data, _goal

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(db):
    partner = DepartmentFactory(name="技術部")
    partner.heads.add(UserFactory(department=partner))
    return partner


def _files():
    return [
        SimpleUploadedFile("需求說明.txt", "會員資料欄位清單".encode(), content_type="text/plain"),
        SimpleUploadedFile(
            "預算.csv", "項目,金額\n工程,100000\n".encode(), content_type="text/csv"
        ),
    ]


def test_the_new_request_form_has_a_file_input_inside_the_form(client, staff):
    """The files are chosen in the form itself, which posts as multipart."""
    client.force_login(staff)
    html = client.get(reverse("requests_app:create")).content.decode()
    form = html.split('id="request-form"')[1].split("</form>")[0]
    assert 'enctype="multipart/form-data"' in form
    assert 'type="file" name="files"' in form and " multiple" in form
    assert "儲存草稿或提交時即一併附加這些檔案" in form


@pytest.mark.parametrize("action", ["draft", "submit"])
def test_the_first_save_stores_the_files(
    action, client, staff, department, head, partner, django_capture_on_commit_callbacks
):
    """Save as draft or submit: each file becomes version 1 of an attachment, in history."""
    client.force_login(staff)
    data = _form_data(
        action=action,
        departments=[{"department": department.pk, "is_lead": True}, {"department": partner.pk}],
        goals=[_goal()],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("requests_app:create"), {**data, "files": _files()})
    req = CollabRequest.objects.get()
    assert response.status_code == 302 and response.url == req.get_absolute_url()
    expected = RequestState.PENDING if action == "submit" else RequestState.DRAFT
    assert req.state == expected
    versions = AttachmentVersion.objects.filter(attachment__request=req).order_by("original_name")
    assert [(v.original_name, v.version, v.uploaded_by) for v in versions] == [
        ("需求說明.txt", 1, staff),
        ("預算.csv", 1, staff),
    ]
    with versions[0].file.open("rb") as stored:
        assert stored.read().decode() == "會員資料欄位清單"
    assert req.events.filter(kind=EventKind.ATTACHMENT).count() == 2
    # The files are attached before the submission, so the history lists them first.
    kinds = list(req.events.order_by("pk").values_list("kind", flat=True))
    assert kinds[:3] == [EventKind.CREATED, EventKind.ATTACHMENT, EventKind.ATTACHMENT]
    detail = client.get(req.get_absolute_url()).content.decode()
    assert "需求說明.txt" in detail and "預算.csv" in detail


def test_a_refused_file_saves_nothing_and_asks_for_the_files_again(client, staff, department):
    """A file whose content does not match its extension refuses the whole save: no
    request, no attachment; the error sits under the file input with a note that the
    chosen files must be picked again, and what was typed is still there."""
    client.force_login(staff)
    data = _form_data(departments=[{"department": department.pk, "is_lead": True}])
    fake = SimpleUploadedFile("報價.pdf", b"not a pdf at all", content_type="application/pdf")
    response = client.post(reverse("requests_app:create"), {**data, "files": [*_files(), fake]})
    assert response.status_code == 200
    assert not CollabRequest.objects.exists() and not Attachment.objects.exists()
    assert response.context["form"].errors["files"]
    html = response.content.decode()
    assert 'id="files-dropped"' in html
    assert "跨部門數據平台" in html  # the typed name is kept


def test_an_ordinary_form_error_also_says_the_files_were_not_kept(client, staff, department):
    client.force_login(staff)
    data = _form_data(name="", departments=[{"department": department.pk, "is_lead": True}])
    response = client.post(reverse("requests_app:create"), {**data, "files": _files()})
    assert response.status_code == 200 and not CollabRequest.objects.exists()
    assert 'id="files-dropped"' in response.content.decode()
    response = client.post(reverse("requests_app:create"), data)
    assert 'id="files-dropped"' not in response.content.decode()


def test_the_edit_page_keeps_the_attachments_panel(client, staff, department):
    """Once saved, files and new versions go through the panel, not the form."""
    req = make_request(initiator=staff, departments=[department], lead=department)
    client.force_login(staff)
    html = client.get(reverse("requests_app:edit", args=[req.pk])).content.decode()
    assert 'name="files"' not in html
    assert 'id="attachment-upload-form"' in html
