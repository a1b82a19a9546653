"""Attachments: what an upload must be (size, extension, content agreeing with the
extension), safe names, generated storage names, versions, and who may upload and
download. Sample files are built here, byte by byte, so no fixture file is needed."""

from __future__ import annotations

import io
import re
import struct
import threading
import zipfile
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import Resolver404, resolve, reverse
from PIL import Image

from collab import uploads
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.models import Attachment, AttachmentVersion, CaseArchived, CollabRequest
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_head,
    make_request,
)

# --- sample files ----------------------------------------------------------------------

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"PE\x00\x00"


def image_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (31, 78, 121)).save(buffer, kind)
    return buffer.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def ooxml_bytes(folder: str, main: str) -> bytes:
    """Return a minimal Office Open XML package: content types, rels and the main part."""
    return zip_bytes(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/content-types"/>',
            "_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
            f"{folder}/{main}": "<doc>協作需求</doc>".encode(),
        }
    )


DOCX = ooxml_bytes("word", "document.xml")
XLSX = ooxml_bytes("xl", "workbook.xml")
PPTX = ooxml_bytes("ppt", "presentation.xml")

_END, _FREE, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _ole_entry(name: str, kind: int, *, child=_NOSTREAM, start=_END, size=0) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)  # name length, type, colour (black)
        + struct.pack("<III", _NOSTREAM, _NOSTREAM, child)  # left, right, child
        + b"\0" * 36  # class id, state bits, created and modified times
        + struct.pack("<II", start, size)
        + b"\0" * 4
    )


def ole_bytes(stream: str) -> bytes:
    """Return a minimal OLE2 compound file (the .doc/.xls/.ppt container) with one stream.

    Sector 0 holds the FAT, sector 1 the directory, sectors 2-9 the stream: 4096 bytes,
    the mini-stream cutoff, so it lives in ordinary sectors and no mini FAT is needed.
    """
    sectors = 8
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)  # version 3, 512-byte sectors
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0)  # the first FAT sector
        + struct.pack("<I", _FREE) * 108
    )
    fat = [_FATSECT, _END] + [3 + i for i in range(sectors - 1)] + [_END]
    fat_sector = b"".join(struct.pack("<I", v) for v in fat).ljust(512, b"\xff")
    directory = (
        _ole_entry("Root Entry", 5, child=1) + _ole_entry(stream, 2, start=2, size=sectors * 512)
    ).ljust(512, b"\0")
    return header + fat_sector + directory + b"\x42" * (sectors * 512)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def partner(db):
    """A collaborating department of the request."""
    return DepartmentFactory()


@pytest.fixture
def partner_head(partner):
    return make_head(partner, admin_groups=False)


@pytest.fixture
def partner_deputy(partner, partner_head):
    """A member of the partner department acting for its head today."""
    user = UserFactory(department=partner)
    DelegationFactory(head=partner_head, deputy=user)
    return user


@pytest.fixture
def collab_request(staff, department, partner):
    """A draft filed by `staff` of `department`, with `partner` collaborating."""
    return make_request(initiator=staff, departments=[department, partner], lead=department)


def upload_url(req) -> str:
    return reverse("requests_app:attachment-upload", args=[req.pk])


def download_url(req, version) -> str:
    return reverse("requests_app:attachment-download", args=[req.pk, version.pk])


def post_file(client, req, name, content, note="", attachment=None, **extra):
    client.cookies.pop("messages", None)  # so message_levels sees this post's messages only
    data = {"file": upload(name, content), "note": note}
    if attachment is not None:
        data["attachment"] = str(attachment.pk)
    return client.post(upload_url(req), data, **extra)


def message_levels(response) -> list[str]:
    return [m.level_tag for m in get_messages(response.wsgi_request)]


# --- validation: collab.uploads --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("計畫書.pdf", PDF, "application/pdf"),
        ("圖.png", image_bytes("PNG"), "image/png"),
        ("photo.JPG", image_bytes("JPEG"), "image/jpeg"),
        ("photo.jpeg", image_bytes("JPEG"), "image/jpeg"),
        ("anim.gif", image_bytes("GIF"), "image/gif"),
        ("方案.docx", DOCX, uploads.CONTENT_TYPES["docx"]),
        ("預算.xlsx", XLSX, uploads.CONTENT_TYPES["xlsx"]),
        ("簡報.pptx", PPTX, uploads.CONTENT_TYPES["pptx"]),
        ("data.zip", zip_bytes({"a.txt": b"hello"}), "application/zip"),
        ("說明.txt", "繁體中文說明\n第二行".encode(), "text/plain; charset=utf-8"),
        ("bom.csv", "\ufeff部門,人數\n市場部,3\n".encode(), "text/csv; charset=utf-8"),
        ("舊系統.csv", "部門,人數\n市場部,3\n".encode("cp950"), "text/csv; charset=Big5"),
        ("old.doc", ole_bytes("WordDocument"), "application/msword"),
        ("old.xls", ole_bytes("Workbook"), "application/vnd.ms-excel"),
        ("old95.xls", ole_bytes("Book"), "application/vnd.ms-excel"),
        ("old.ppt", ole_bytes("PowerPoint Document"), "application/vnd.ms-powerpoint"),
    ],
)
def test_real_files_are_accepted_with_a_content_type_from_their_extension(
    name, content, content_type
):
    """A genuine file of each allowed type passes; the stored type follows the checked
    extension (plus the detected charset for text), never the browser's claim."""
    checked = uploads.upload_validate(upload(name, content, "text/html"))
    assert checked.content_type == content_type
    assert checked.size == len(content)
    assert checked.name == name


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("fake.pdf", b"just some text pretending to be a PDF"),
        ("setup.pdf", EXE),
        ("page.png", HTML),
        ("photo.jpg", image_bytes("PNG")),
        ("photo.png", image_bytes("JPEG")),
        ("doc.pdf", DOCX),
        ("report.docx", PDF),
        ("plain-zip.docx", zip_bytes({"word/document.xml": b"<doc/>"})),  # no content types
        ("sheet.xlsx", DOCX),  # an OOXML package, but a Word one
        ("deck.pptx", XLSX),
        ("bundle.zip", EXE + zip_bytes({"a.txt": b"x"})),  # an executable with a zip appended
        ("archive.zip", PDF),
        ("notes.txt", b"text\x00with a NUL byte"),
        ("notes.txt", EXE),
        ("table.csv", b"\xff\xfe\xff\xfe not text in any encoding"),
        ("old.doc", ole_bytes("Workbook")),  # an Excel file renamed .doc
        ("old.xls", ole_bytes("WordDocument")),
        ("old.ppt", DOCX),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000),  # broken container
    ],
)
def test_content_that_disagrees_with_the_extension_is_refused(name, content):
    """Sniffing must agree with the extension: an .exe or HTML renamed .pdf/.png, a PDF
    called .docx, a zip without [Content_Types].xml called .docx... are all refused with
    a message naming the file and its extension."""
    with pytest.raises(ValidationError) as info:
        uploads.upload_validate(upload(name, content))
    assert info.value.error_list[0].code == "mismatch"
    message = info.value.messages[0]
    assert name in message
    assert f".{name.rsplit('.', 1)[1]}" in message


def test_size_limit_comes_from_settings_at_call_time(settings):
    """UPLOAD_MAX_BYTES is read when a file arrives: a file at the limit passes, one
    byte more is refused."""
    settings.UPLOAD_MAX_BYTES = len(PDF)
    assert uploads.upload_validate(upload("a.pdf", PDF)).size == len(PDF)
    settings.UPLOAD_MAX_BYTES = len(PDF) - 1
    with pytest.raises(ValidationError) as info:
        uploads.upload_validate(upload("a.pdf", PDF))
    assert info.value.error_list[0].code == "too_large"


def test_default_size_limit_is_20_mib():
    """Without an override, files up to 20 MiB are accepted."""
    assert uploads.max_upload_bytes() == 20 * 1024 * 1024


def test_empty_file_is_refused():
    with pytest.raises(ValidationError) as info:
        uploads.upload_validate(upload("empty.pdf", b""))
    assert info.value.error_list[0].code == "empty"


@pytest.mark.parametrize(
    "name",
    ["virus.exe", "page.html", "image.svg", "script.js", "noextension", "archive.tar.gz", ".pdf"],
)
def test_extensions_outside_the_allow_list_are_refused(name):
    with pytest.raises(ValidationError) as info:
        uploads.upload_validate(upload(name, PDF))
    assert info.value.error_list[0].code == "extension"


def test_allow_list_comes_from_settings(settings):
    """UPLOAD_EXTENSIONS narrows (or widens) the allow-list at call time."""
    settings.UPLOAD_EXTENSIONS = ["pdf"]
    with pytest.raises(ValidationError) as info:
        uploads.upload_validate(upload("a.png", image_bytes("PNG")))
    assert info.value.error_list[0].code == "extension"
    assert uploads.upload_validate(upload("a.pdf", PDF)).extension == "pdf"
    # An added type that filetype knows must really be of that type.
    settings.UPLOAD_EXTENSIONS = ["pdf", "bmp"]
    assert uploads.upload_validate(upload("a.bmp", image_bytes("BMP"))).extension == "bmp"
    with pytest.raises(ValidationError):
        uploads.upload_validate(upload("a.bmp", PDF))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\a.pdf", "a.pdf"),
        ("C:\\Users\\王小明\\桌面\\專案 計畫書(定稿).docx", "專案 計畫書(定稿).docx"),
        ("  .hidden.txt", "hidden.txt"),
        ('a<b>c:d|e?f*g".pdf', "a_b_c_d_e_f_g_.pdf"),
        ("tab\tand\n  newline.txt", "tab and newline.txt"),
        ("ctrl\x00\x07\x1b.pdf", "ctrl.pdf"),
        ("報告\u202efdp.exe", "報告fdp.exe"),  # a right-to-left override is dropped
        ("", "attachment"),
        ("../..", "attachment"),
        ("\x00\x01", "attachment"),
        ("trailing dots...", "trailing dots"),
    ],
)
def test_filenames_are_sanitised(raw, clean):
    assert uploads.filename_sanitise(raw) == clean


def test_long_filenames_are_capped_keeping_the_extension():
    name = uploads.filename_sanitise("計畫書" * 100 + ".docx")
    assert len(name) == uploads.MAX_FILENAME_LENGTH
    assert name.endswith(".docx")
    assert name.startswith("計畫書")


# --- upload view ---------------------------------------------------------------------


@pytest.mark.django_db
def test_upload_creates_version_one_and_logs_it(client_for, staff, collab_request):
    """The first upload creates the attachment named after the file, as version 1 with
    its note, and writes an "attachment" line on the timeline in the same go."""
    response = post_file(client_for(staff), collab_request, "計畫書.pdf", PDF, note="初稿")
    assert response.status_code == 302
    assert response.url == reverse("requests_app:detail", args=[collab_request.pk])
    assert message_levels(response) == ["success"]
    attachment = Attachment.objects.get(request=collab_request)
    assert attachment.name == "計畫書.pdf"
    version = attachment.versions.get()
    assert (version.version, version.note, version.uploaded_by) == (1, "初稿", staff)
    assert version.content_type == "application/pdf"
    assert version.size == len(PDF)
    event = collab_request.events.get(kind=EventKind.ATTACHMENT)
    assert event.by == staff
    # The note is the person's; the file and version are values, rendered when read.
    assert event.comment == "初稿"
    assert event.params["file"] == "計畫書.pdf" and event.params["version"] == 1
    assert "計畫書.pdf v1" in event.text and "初稿" in event.text


@pytest.mark.django_db
def test_path_traversal_name_is_sanitised_and_stored_under_a_generated_name(
    client_for, staff, collab_request
):
    """The person's name is only metadata: the file lands in
    attachments/<request id>/<uuid>.<ext>, never at a path built from that name."""
    post_file(client_for(staff), collab_request, "../../etc/passwd.pdf", PDF)
    version = AttachmentVersion.objects.get(attachment__request=collab_request)
    assert version.original_name == "passwd.pdf"
    assert re.fullmatch(rf"attachments/{collab_request.pk}/[0-9a-f]{{32}}\.pdf", version.file.name)
    assert "passwd" not in version.file.name
    stored = settings.MEDIA_ROOT / version.file.name
    assert stored.read_bytes() == PDF
    assert not (settings.MEDIA_ROOT.parent / "etc").exists()


@pytest.mark.django_db
def test_new_version_keeps_the_old_one_downloadable(client_for, staff, collab_request):
    """Uploading to an existing attachment adds version n+1 with its note; every
    version stays downloadable with its own content, and each upload is logged."""
    client = client_for(staff)
    post_file(client, collab_request, "方案.docx", DOCX, note="初稿")
    attachment = Attachment.objects.get(request=collab_request)
    pdf_version = PDF.replace(b"%%EOF", b"% v2\n%%EOF")
    response = post_file(
        client,
        collab_request,
        "方案-修訂.pdf",
        pdf_version,
        note="依審核意見修改",
        attachment=attachment,
    )
    assert message_levels(response) == ["success"]
    v1, v2 = attachment.versions.order_by("version")
    assert (v1.version, v2.version) == (1, 2)
    assert v2.note == "依審核意見修改" and v2.original_name == "方案-修訂.pdf"
    assert Attachment.objects.filter(request=collab_request).count() == 1
    assert b"".join(client.get(download_url(collab_request, v1)).streaming_content) == DOCX
    second = client.get(download_url(collab_request, v2))
    assert b"".join(second.streaming_content) == pdf_version
    assert second["Content-Type"] == "application/pdf"
    lines = [e.text for e in collab_request.events.filter(kind=EventKind.ATTACHMENT)]
    assert len(lines) == 2 and "v2" in lines[1] and "依審核意見修改" in lines[1]


@pytest.mark.django_db
def test_new_version_needs_a_note(client_for, staff, collab_request):
    """A later version must say what changed; without a note nothing is stored."""
    client = client_for(staff)
    post_file(client, collab_request, "a.pdf", PDF)
    attachment = Attachment.objects.get()
    response = post_file(client, collab_request, "a.pdf", PDF, note="  ", attachment=attachment)
    assert message_levels(response) == ["error"]
    assert attachment.versions.count() == 1


@pytest.mark.django_db
def test_attachment_of_another_request_cannot_get_a_version(client_for, staff, department):
    """The `attachment` field must name an attachment of this very request."""
    client = client_for(staff)
    first = make_request(initiator=staff, departments=[department])
    second = make_request(initiator=staff, departments=[department])
    post_file(client, first, "a.pdf", PDF)
    foreign = Attachment.objects.get(request=first)
    response = post_file(client, second, "b.pdf", PDF, note="x", attachment=foreign)
    assert message_levels(response) == ["error"]
    assert foreign.versions.count() == 1
    assert not Attachment.objects.filter(request=second).exists()
    client.cookies.pop("messages", None)
    response = client.post(upload_url(second), {"file": upload("b.pdf", PDF), "attachment": "x"})
    assert message_levels(response) == ["error"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"),
    [("fake.pdf", HTML), ("virus.exe", EXE), ("big.pdf", PDF + b"0" * 64)],
)
def test_refused_upload_redirects_with_an_error_and_stores_nothing(
    client_for, staff, collab_request, settings, name, content
):
    """Size, extension and content refusals come back as an error message; no row, no
    file and no timeline line is left behind."""
    settings.UPLOAD_MAX_BYTES = len(PDF) + 10
    response = post_file(client_for(staff), collab_request, name, content)
    assert response.status_code == 302
    assert message_levels(response) == ["error"]
    assert not Attachment.objects.exists()
    assert not collab_request.events.filter(kind=EventKind.ATTACHMENT).exists()
    media = settings.MEDIA_ROOT / "attachments"
    assert not media.exists() or not any(media.rglob("*.*"))


@pytest.mark.django_db
def test_upload_without_a_file_is_an_error(client_for, staff, collab_request):
    response = client_for(staff).post(upload_url(collab_request), {"note": "x"})
    assert message_levels(response) == ["error"]
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_upload_view_accepts_only_post(client_for, staff, collab_request):
    assert client_for(staff).get(upload_url(collab_request)).status_code == 405


@pytest.mark.django_db
def test_htmx_upload_returns_the_refreshed_panel(client_for, staff, collab_request):
    """An htmx upload answers with the attachments partial (new version listed, with a
    result flag) instead of a redirect; a refused one shows the error in the panel."""
    client = client_for(staff)
    response = post_file(
        client, collab_request, "圖.png", image_bytes("PNG"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    version = AttachmentVersion.objects.get()
    assert 'id="attachments"' in html
    assert 'data-upload-result="ok"' in html
    assert f'data-download="{version.pk}"' in html
    assert download_url(collab_request, version) in html
    assert 'id="attachment-upload-form"' in html
    assert f'<option value="{version.attachment_id}">' in html
    response = post_file(client, collab_request, "page.png", HTML, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-upload-result="error"' in response.content.decode()
    assert AttachmentVersion.objects.count() == 1


# --- download view -------------------------------------------------------------------


@pytest.mark.django_db
def test_download_is_an_attachment_with_utf8_filename_and_nosniff(
    client_for, staff, collab_request
):
    """Chinese names survive as an RFC 5987 filename*; the file is always a download,
    typed from the stored content type and marked nosniff."""
    name = "專案計畫書 (第一版).pdf"
    client = client_for(staff)
    post_file(client, collab_request, name, PDF)
    version = AttachmentVersion.objects.get()
    assert version.original_name == name
    response = client.get(download_url(collab_request, version))
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{quote(name)}" in disposition
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PDF


@pytest.mark.django_db
def test_text_download_keeps_its_charset(client_for, staff, collab_request):
    """A Big5 CSV is served with its charset, so it opens readable."""
    client = client_for(staff)
    post_file(client, collab_request, "名單.csv", "姓名\n王小明\n".encode("cp950"))
    version = AttachmentVersion.objects.get()
    response = client.get(download_url(collab_request, version))
    assert response["Content-Type"] == "text/csv; charset=Big5"


@pytest.mark.django_db
def test_version_of_another_request_is_404(client_for, staff, department, collab_request):
    """A version id only downloads under its own request, even for someone who sees both."""
    client = client_for(staff)
    other = make_request(initiator=staff, departments=[department])
    post_file(client, other, "a.pdf", PDF)
    version = AttachmentVersion.objects.get()
    assert client.get(download_url(other, version)).status_code == 200
    assert client.get(download_url(collab_request, version)).status_code == 404


@pytest.mark.django_db
def test_missing_file_is_404(client_for, staff, collab_request):
    client = client_for(staff)
    post_file(client, collab_request, "a.pdf", PDF)
    version = AttachmentVersion.objects.get()
    (settings.MEDIA_ROOT / version.file.name).unlink()
    assert client.get(download_url(collab_request, version)).status_code == 404


@pytest.mark.django_db
def test_media_url_is_never_served(client_for, staff, collab_request):
    """Uploaded files are reachable only through the permission-checked view."""
    client = client_for(staff)
    post_file(client, collab_request, "a.pdf", PDF)
    version = AttachmentVersion.objects.get()
    direct = f"{settings.MEDIA_URL}{version.file.name}"
    with pytest.raises(Resolver404):
        resolve(direct)
    assert client.get(direct).status_code == 404


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, staff, collab_request):
    services.attachment_add(request=collab_request, by=staff, file=upload("a.pdf", PDF))
    version = AttachmentVersion.objects.get()
    for response in (
        client.get(download_url(collab_request, version)),
        client.post(upload_url(collab_request), {"file": upload("b.pdf", PDF)}),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert AttachmentVersion.objects.count() == 1


# --- permissions: each role × upload and download ------------------------------------

ROLES_WHO_SEE = ["staff", "head", "deputy", "partner_head", "partner_deputy", "pmo", "executive"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES_WHO_SEE)
def test_everyone_who_sees_an_open_request_may_upload_and_download(
    request, client_for, collab_request, role
):
    """The initiator, the heads (and deputies) of the initiating and collaborating
    departments, the PMO and executives may add files to an open request and fetch
    every version."""
    user = request.getfixturevalue(role)
    client = client_for(user)
    response = post_file(client, collab_request, f"{role}.pdf", PDF, note=role)
    assert response.status_code == 302
    version = AttachmentVersion.objects.get(uploaded_by=user)
    assert version.attachment.request == collab_request
    assert client.get(download_url(collab_request, version)).status_code == 200


@pytest.mark.django_db
def test_outsider_gets_404_on_upload_and_download(client_for, staff, outsider, collab_request):
    """A department that takes no part learns nothing: 404 for both, nothing stored."""
    services.attachment_add(request=collab_request, by=staff, file=upload("a.pdf", PDF))
    version = AttachmentVersion.objects.get()
    client = client_for(outsider)
    assert post_file(client, collab_request, "b.pdf", PDF).status_code == 404
    assert client.get(download_url(collab_request, version)).status_code == 404
    assert AttachmentVersion.objects.count() == 1


def _cancel(req, by):
    return services.request_cancel(request=req, by=by, reason="需求取消")


def _archive(req, by):
    CollabRequest.objects.filter(pk=req.pk).update(state=RequestState.COMPLETED, is_archived=True)


@pytest.mark.django_db
@pytest.mark.parametrize("close", [_cancel, _archive], ids=["cancelled", "archived"])
@pytest.mark.parametrize("role", ["staff", "partner_head", "pmo"])
def test_closed_request_refuses_uploads_but_still_serves_files(
    request, client_for, staff, collab_request, close, role
):
    """Cancelled and archived cases are read-only: uploads get 403 (for the initiator
    and the PMO alike) and the service refuses too; existing files still download."""
    services.attachment_add(request=collab_request, by=staff, file=upload("a.pdf", PDF))
    version = AttachmentVersion.objects.get()
    close(collab_request, staff)
    collab_request.refresh_from_db()
    user = request.getfixturevalue(role)
    client = client_for(user)
    assert post_file(client, collab_request, "b.pdf", PDF, note="x").status_code == 403
    assert (
        post_file(client, collab_request, "b.pdf", PDF, note="x", attachment=version.attachment)
    ).status_code == 403
    # An archived case is refused first as such (CaseArchived), a cancelled one as closed.
    refusal = CaseArchived if close is _archive else PermissionDenied
    with pytest.raises(refusal):
        services.attachment_add(request=collab_request, by=user, file=upload("c.pdf", PDF))
    assert AttachmentVersion.objects.count() == 1
    assert client.get(download_url(collab_request, version)).status_code == 200


# --- concurrency -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_new_versions_get_distinct_numbers(staff, collab_request):
    """Two people uploading a new version of the same file at the same instant get
    versions 2 and 3, never two version 2s (the attachment row is locked)."""
    first = services.attachment_add(request=collab_request, by=staff, file=upload("a.pdf", PDF))
    attachment = first.attachment
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def add(note):
        try:
            barrier.wait(timeout=10)
            services.attachment_add(
                request=collab_request,
                by=staff,
                file=upload("a.pdf", PDF),
                note=note,
                attachment=attachment,
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(f"並行{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(attachment.versions.values_list("version", flat=True)) == [1, 2, 3]
    assert collab_request.events.filter(kind=EventKind.ATTACHMENT).count() == 3
