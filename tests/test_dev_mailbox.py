"""The local mailbox /dev/mail/ (make run): each person reads their own mail, decoded.

Real mails go through django.core.mail and the file backend into a temporary folder,
as under `make run`; the dev URLs are mounted the way collab/urls.py mounts them when
DEBUG is on.
"""

from __future__ import annotations

import importlib

import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.defaultfilters import filesizeformat
from django.test import override_settings
from django.urls import NoReverseMatch, clear_url_caches, reverse
from django.utils import translation
from playwright.sync_api import expect

import collab.urls
from collab import dev_mailbox
from tests.factories import UserFactory

SITE = "http://127.0.0.1:8000"
SUBJECT = "待簽署成果驗收確認單：XQ202612007 客服常見問題自助服務上線"
LINK = SITE + "/review/requests/8/case/#closing-final"


def _reload_urls() -> None:
    importlib.reload(collab.urls)
    clear_url_caches()


@pytest.fixture
def dev(settings, tmp_path):
    """DEBUG on (so collab/urls.py mounts /dev/), mail written to files under tmp_path."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.SITE_URL = SITE
    with override_settings(DEBUG=True):
        _reload_urls()
        yield tmp_path / "mail"
    _reload_urls()


def send(to, subject=SUBJECT, *, cc=(), text=None, html=True, attachments=()):
    """Send one mail the way the portal does: text plus an HTML alternative."""
    text = text if text is not None else f"{subject}\n\n在平台中開啟： {LINK}\n"
    message = EmailMultiAlternatives(subject=subject, body=text, to=list(to), cc=list(cc))
    if html:
        message.attach_alternative(
            f'<!doctype html><html><head><meta charset="utf-8"></head><body>'
            f'<h1 style="font-size:18px">{subject}</h1>'
            f'<p><a href="{LINK}" style="color:#fff">在平台中開啟</a></p></body></html>',
            "text/html",
        )
    for name, content, mimetype in attachments:
        message.attach(name, content, mimetype)
    message.send()


@pytest.fixture
def people(db, head, staff, pmo, superuser):
    """A mail each to the head, the staff member and the PMO."""
    return head, staff, pmo, superuser


def _page(client, user, **extra):
    client.force_login(user)
    response = client.get("/dev/mail/", **extra)
    assert response.status_code == 200
    return response.content.decode()


def test_a_head_sees_only_their_own_mail(dev, client, people):
    """Heads are admin staff; they no longer read everyone's mail."""
    head, staff, pmo, _admin = people
    send([head.email], "給部門負責人的郵件")
    send([staff.email], "給同事的郵件")
    send([pmo.email], "給PMO的郵件", cc=[staff.email])
    html = _page(client, head)
    assert "給部門負責人的郵件" in html
    assert "給同事的郵件" not in html and "給PMO的郵件" not in html


def test_staff_see_mail_sent_to_them_and_copied_to_them(dev, client, people):
    head, staff, pmo, _admin = people
    send([head.email], "給部門負責人的郵件")
    send([staff.email], "給同事的郵件")
    send([pmo.email], "給PMO的郵件", cc=[staff.email.upper()])
    html = _page(client, staff)
    assert "給同事的郵件" in html and "給PMO的郵件" in html
    assert "給部門負責人的郵件" not in html


def test_the_superuser_sees_everyones_mail(dev, client, people):
    head, staff, pmo, admin = people
    send([head.email], "給部門負責人的郵件")
    send([staff.email], "給同事的郵件")
    send([pmo.email], "給PMO的郵件")
    html = _page(client, admin)
    for subject in ("給部門負責人的郵件", "給同事的郵件", "給PMO的郵件"):
        assert subject in html
    assert "本機寄出的所有郵件" in html


def test_someone_without_mail_sees_a_translated_empty_state(dev, client, people):
    head, _staff, _pmo, _admin = people
    send([head.email])
    nobody = UserFactory()
    assert "尚未有寄給您的郵件。" in _page(client, nobody)
    nobody.email = ""
    nobody.save()
    assert "您的帳號沒有電子郵件地址" in _page(client, nobody)


def test_the_mail_is_decoded_not_shown_as_raw_mime(dev, client, people):
    """Subject (Chinese, RFC 2047-encoded in the file), sender, recipient, date, body."""
    head = people[0]
    send([head.email])
    raw = next(dev.glob("*.log")).read_bytes()
    assert SUBJECT.encode() not in raw.split(b"\n\n", 1)[0]  # encoded in the header
    html = _page(client, head)
    assert f'<h2 class="h6 mb-2 mail-subject">{SUBJECT}</h2>' in html
    assert head.email in html and "collab@localhost" in html
    for raw_mime in ("=?utf-8?", "Content-Type:", "MIME-Version:", "boundary=", "--===="):
        assert raw_mime not in html
    assert "寄件者" in html and "收件者" in html


def test_the_mailbox_is_not_shown_in_the_messages_alert(dev, client, people):
    """The context variable no longer collides with Django's messages framework."""
    head = people[0]
    send([head.email])
    html = _page(client, head)
    assert 'class="messages"' not in html and "alert-dismissible" not in html
    assert "{&#x27;name&#x27;" not in html and "&#x27;body&#x27;" not in html


def test_links_to_the_site_point_at_the_server_being_browsed(dev, client, people):
    """A mail's SITE_URL links follow the request's host and port (runserver :8123)."""
    head = people[0]
    send([head.email])
    html = _page(client, head)
    assert "http://testserver/review/requests/8/case/#closing-final" in html
    assert SITE not in html
    html = _page(client, head, HTTP_HOST="127.0.0.1:8123")
    assert 'href="http://127.0.0.1:8123/review/requests/8/case/#closing-final"' in html


def test_the_html_part_is_served_sandboxed_with_rewritten_links(dev, client, people):
    head = people[0]
    send([head.email])
    file = next(dev.glob("*.log")).name
    html = _page(client, head)
    url = reverse("dev-mail-html", args=[file, 0])
    assert f'src="{url}"' in html and 'sandbox="' in html
    response = client.get(url, HTTP_HOST="127.0.0.1:8123")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    policy = response["Content-Security-Policy"]
    assert policy.startswith("sandbox") and "script-src" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    body = response.content.decode()
    assert 'href="http://127.0.0.1:8123/review/requests/8/case/#closing-final"' in body
    assert '<base target="_blank">' in body and SITE not in body


def test_nobody_reads_the_html_part_of_someone_elses_mail(dev, client, people):
    head, staff, _pmo, admin = people
    send([staff.email])
    url = reverse("dev-mail-html", args=[next(dev.glob("*.log")).name, 0])
    client.force_login(head)
    assert client.get(url).status_code == 404
    client.force_login(admin)
    assert client.get(url).status_code == 200
    assert client.get(reverse("dev-mail-html", args=["missing.log", 0])).status_code == 404
    assert client.get("/dev/mail/..%2Fsecret.log/0/html").status_code == 404
    client.force_login(staff)
    assert client.get(url).status_code == 200
    assert client.get(url.replace("/0/html", "/1/html")).status_code == 404


def test_attachments_are_listed_with_name_and_size(dev, client, people):
    head = people[0]
    pdf = b"%PDF-1.7\n" + b"0" * 2000
    send(
        [head.email],
        "協作分析報告",
        attachments=[("協作分析報告-2025-03.pdf", pdf, "application/pdf")],
    )
    html = _page(client, head)
    with translation.override("zh-hant"):
        size = filesizeformat(len(pdf))
    assert f"協作分析報告-2025-03.pdf ({size})" in html
    assert "JVBERi0" not in html  # no base64 of the file


def test_every_message_of_a_file_is_read_and_a_line_of_dashes_does_not_split_one(
    dev, client, people
):
    """One connection writes several messages into one file, each ended by 79 dashes."""
    head = people[0]
    body = "第一段\n" + "-" * 79 + "\n第二段\n"
    messages = [EmailMessage(subject=f"第{n}封", body=body, to=[head.email]) for n in range(1, 4)]
    with mail.get_connection() as connection:
        connection.send_messages(messages)
    (file,) = dev.glob("*.log")
    parsed = dev_mailbox.parse(file.read_bytes(), file.name)
    assert [m.subject for m in parsed] == ["第1封", "第2封", "第3封"]
    assert all("第二段" in m.text for m in parsed)
    html = _page(client, head)
    assert html.index("第3封") < html.index("第2封") < html.index("第1封")  # newest first


def test_the_link_rewrite_replaces_whole_origins_only():
    base = "http://127.0.0.1:8123/"
    assert dev_mailbox.rewrite_links(f"{SITE}/x/ {SITE}", SITE, base) == (
        "http://127.0.0.1:8123/x/ http://127.0.0.1:8123/"
    )
    assert dev_mailbox.rewrite_links("http://127.0.0.1:80001/x", SITE, base) == (
        "http://127.0.0.1:80001/x"
    )
    assert dev_mailbox.rewrite_links("https://example.com/x", SITE, base) == "https://example.com/x"


def test_without_debug_there_is_no_mailbox(client, people, settings, tmp_path):
    """DEBUG off: collab/urls.py does not mount /dev/ at all."""
    settings.EMAIL_FILE_PATH = str(tmp_path)
    _reload_urls()
    client.force_login(people[3])
    assert client.get("/dev/mail/").status_code == 404
    with pytest.raises(NoReverseMatch):
        reverse("dev-mailbox")


def test_the_views_refuse_when_debug_is_switched_off_after_mounting(dev, client, people, settings):
    """Even mounted, the views answer 404 unless DEBUG is on."""
    head, _staff, _pmo, admin = people
    send([head.email])
    url = reverse("dev-mail-html", args=[next(dev.glob("*.log")).name, 0])
    client.force_login(admin)
    with override_settings(DEBUG=False):
        assert client.get("/dev/mail/").status_code == 404
        assert client.get(url).status_code == 404
    assert client.get(url).status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chromium_shows_the_html_part_in_its_sandbox_without_csp_errors(dev, page, live_server):
    """The mailbox page frames the HTML part (CSP frame-src 'self') and the part's own
    policy (sandbox, frame-ancestors 'self') lets it be framed: no console error."""
    reader = UserFactory(username="mailreader")
    send([reader.email])
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("使用者名稱").fill("mailreader")
    page.get_by_label("密碼").fill("pw-for-tests")
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(live_server.url + reverse("home"))
    page.goto(live_server.url + "/dev/mail/")
    expect(page.locator(".mail-subject")).to_contain_text(SUBJECT)
    page.get_by_text("HTML 版本").click()
    frame = page.frame_locator("iframe.mail-html")
    expect(frame.locator("h1")).to_have_text(SUBJECT)
    link = frame.get_by_role("link", name="在平台中開啟")
    expect(link).to_have_attribute(
        "href", live_server.url + "/review/requests/8/case/#closing-final"
    )
