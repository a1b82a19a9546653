"""Notifications: who is told what by the request services, the e-mails, and the pages.

The e-mails run through the Celery task in eager mode here (CELERY_TASK_ALWAYS_EAGER in
the test settings); tests/test_celery_worker.py covers a real worker.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.db import transaction
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from collab import notifications, outbox
from collab.context_processors import portal
from collab.models import Notification, OutboxMessage
from collab.tasks import send_notification_emails_task
from requests_app import services
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_head,
    make_request,
)
from tests.helpers import assert_constant_queries, count_queries

# --- the request's cast --------------------------------------------------------------


@pytest.fixture
def org(db, pmo):
    """Marketing files a request with Tech; Tech's head has a deputy for today."""
    mkt, tech = DepartmentFactory(code="mkt"), DepartmentFactory(code="tech")
    mkt_head = make_head(mkt, admin_groups=False)
    tech_head = make_head(tech, admin_groups=False)
    tech_deputy = UserFactory(department=tech)
    DelegationFactory(head=tech_head, deputy=tech_deputy, department=tech)
    return SimpleNamespace(
        mkt=mkt,
        tech=tech,
        mkt_head=mkt_head,
        tech_head=tech_head,
        tech_deputy=tech_deputy,
        initiator=UserFactory(department=mkt),
        colleague=UserFactory(department=mkt),
        outsider=UserFactory(department=DepartmentFactory()),
        pmo=pmo,
    )


@pytest.fixture
def submitted(org, django_capture_on_commit_callbacks):
    """A request submitted to Marketing and Tech, its e-mails sent, the outbox emptied."""
    req = make_request(initiator=org.initiator, departments=[org.mkt, org.tech], lead=org.mkt)
    with django_capture_on_commit_callbacks(execute=True):
        req = services.request_submit(request=req, by=org.initiator)
    mail.outbox.clear()
    req.reviews_by_code = {r.department.code: r for r in req.reviews.all()}
    return req


def _mail_to() -> dict[str, list]:
    """Return the outbox as {address: [messages]}."""
    inbox: dict[str, list] = {}
    for message in mail.outbox:
        for address in message.to:
            inbox.setdefault(address, []).append(message)
    return inbox


def _emails(*users) -> set[str]:
    return {user.email for user in users}


def _rows(users, title_contains: str = "") -> dict[int, Notification]:
    rows = Notification.objects.filter(recipient__in=users)
    return {row.recipient_id: row for row in rows if title_contains in row.title}


# --- who receives what ---------------------------------------------------------------


@pytest.mark.django_db
def test_submit_tells_every_head_and_active_deputy_and_nobody_else(
    org, django_capture_on_commit_callbacks
):
    """Submitting notifies the collaborating heads and today's deputies, once each."""
    req = make_request(initiator=org.initiator, departments=[org.mkt, org.tech], lead=org.mkt)
    with django_capture_on_commit_callbacks(execute=True):
        req = services.request_submit(request=req, by=org.initiator)
    expected = [org.mkt_head, org.tech_head, org.tech_deputy]
    inbox = _mail_to()
    assert set(inbox) == _emails(*expected)
    assert all(len(messages) == 1 for messages in inbox.values())
    rows = Notification.objects.filter(recipient__in=expected)
    assert rows.count() == 3
    assert not Notification.objects.exclude(recipient__in=expected).exists()
    for row in rows:
        assert row.url == req.get_absolute_url()
        assert req.number in row.title
        assert row.read_at is None and row.emailed_at is not None
        assert inbox[row.recipient.email][0].subject == settings.EMAIL_SUBJECT_PREFIX + row.title


@pytest.mark.django_db
def test_resubmission_tells_the_heads_again_with_its_own_subject(
    org, submitted, django_capture_on_commit_callbacks
):
    """After 駁回 and a resubmission the heads hear of it again, as a resubmission."""
    first_title = Notification.objects.get(recipient=org.tech_head).title
    services.review_decide(
        review=submitted.reviews_by_code["tech"], by=org.tech_head, approve=False, comment="不足"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(request=submitted, by=org.initiator, expected_state="revision")
    assert set(_mail_to()) >= _emails(org.mkt_head, org.tech_head, org.tech_deputy)
    newest = Notification.objects.filter(recipient=org.tech_head).first()
    with translation.override(settings.LANGUAGE_CODE):
        submitted.refresh_from_db()
        expected = render_to_string(
            "notifications/request_submitted_subject.txt",
            {"request": submitted, "resubmission": True},
        )
    assert newest.title == " ".join(expected.split())
    assert newest.title != first_title


@pytest.mark.django_db
def test_deputy_outside_the_delegation_dates_is_not_told(org, django_capture_on_commit_callbacks):
    """A delegation that ended yesterday no longer brings the deputy the head's mail."""
    org.tech_head.delegations_given.update(
        start_date=timezone.localdate() - dt.timedelta(days=10),
        end_date=timezone.localdate() - dt.timedelta(days=1),
    )
    req = make_request(initiator=org.initiator, departments=[org.tech])
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(request=req, by=org.initiator)
    assert set(_mail_to()) == _emails(org.tech_head)
    assert not Notification.objects.filter(recipient=org.tech_deputy).exists()


@pytest.mark.django_db
def test_rejection_tells_only_the_initiator_with_the_reason(
    org, submitted, django_capture_on_commit_callbacks
):
    """駁回 notifies the initiator alone; the message carries the head's reason."""
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        services.review_decide(
            review=submitted.reviews_by_code["tech"],
            by=org.tech_head,
            approve=False,
            comment="本季人力不足,請延後",
        )
    assert set(_mail_to()) == _emails(org.initiator)
    (message,) = mail.outbox
    row = Notification.objects.get(recipient=org.initiator)
    assert Notification.objects.count() == before + 1
    assert message.subject == settings.EMAIL_SUBJECT_PREFIX + row.title
    assert submitted.number in row.title
    assert "本季人力不足,請延後" in row.body and "本季人力不足,請延後" in message.body


@pytest.mark.django_db
def test_only_the_last_agreement_tells_the_initiator_and_the_pmo(
    org, submitted, django_capture_on_commit_callbacks
):
    """The first 同意 sends nothing; the last one tells the initiator and the PMO."""
    with django_capture_on_commit_callbacks(execute=True):
        services.review_decide(
            review=submitted.reviews_by_code["mkt"], by=org.mkt_head, approve=True
        )
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        # The deputy answers for Tech: the request is still all-agreed.
        services.review_decide(
            review=submitted.reviews_by_code["tech"], by=org.tech_deputy, approve=True
        )
    assert set(_mail_to()) == _emails(org.initiator, org.pmo)
    assert all(len(messages) == 1 for messages in _mail_to().values())
    rows = _rows([org.initiator, org.pmo])
    assert set(rows) == {org.initiator.pk, org.pmo.pk}
    assert rows[org.initiator.pk].title == rows[org.pmo.pk].title


@pytest.mark.django_db
def test_confirmation_tells_the_initiator_and_the_heads(
    org, submitted, django_capture_on_commit_callbacks
):
    """立項 notifies the initiator (and the heads who now break the work down)."""
    for code, head in (("mkt", org.mkt_head), ("tech", org.tech_head)):
        services.review_decide(review=submitted.reviews_by_code[code], by=head, approve=True)
    submitted.refresh_from_db()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_confirm(request=submitted, by=org.pmo)
    inbox = _mail_to()
    assert org.initiator.email in inbox
    assert set(inbox) == _emails(org.initiator, org.mkt_head, org.tech_head, org.tech_deputy)
    assert org.pmo.email not in inbox and org.outsider.email not in inbox
    assert len(inbox[org.initiator.email]) == 1


# --- the e-mail itself ---------------------------------------------------------------


@pytest.mark.django_db
def test_email_has_text_and_html_parts_linking_to_site_url(
    org, settings, django_capture_on_commit_callbacks
):
    """Both parts carry the link built on SITE_URL; the HTML part escapes user text."""
    settings.SITE_URL = "https://collab.example.com.tw/"
    req = make_request(initiator=org.initiator, departments=[org.tech], name="<b>新品</b>上市")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(request=req, by=org.initiator)
    message = _mail_to()[org.tech_head.email][0]
    link = f"https://collab.example.com.tw/requests/{req.pk}/"
    assert message.content_subtype == "plain"
    assert link in message.body
    assert "<b>新品</b>上市" in message.body  # plain text is not HTML-escaped
    assert len(message.alternatives) == 1
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{link}"' in html
    assert "&lt;b&gt;新品&lt;/b&gt;上市" in html and "<b>新品</b>" not in html
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert message.to == [org.tech_head.email]


@pytest.mark.django_db
def test_texts_are_rendered_in_zh_hant_whatever_the_actors_language(
    org, django_capture_on_commit_callbacks
):
    """An initiator browsing in English still sends zh-Hant mail to the heads."""
    req = make_request(initiator=org.initiator, departments=[org.tech])
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        req = services.request_submit(request=req, by=org.initiator)
    due = req.reviews.get().due_date
    message = _mail_to()[org.tech_head.email][0]
    with translation.override("zh-hant"):
        title = render_to_string(
            "notifications/request_submitted_subject.txt",
            {"request": req, "resubmission": False},
        )
    assert message.subject == settings.EMAIL_SUBJECT_PREFIX + " ".join(title.split())
    # Dates follow the zh-Hant format (Y年n月j日), not the English one.
    assert f"{due.year}年{due.month}月{due.day}日" in message.body
    html = message.alternatives[0][0]
    assert f"{due.year}年{due.month}月{due.day}日" in html
    assert 'lang="zh-hant"' in html


@pytest.mark.django_db
def test_nothing_is_sent_or_kept_when_the_transaction_rolls_back(
    org, django_capture_on_commit_callbacks
):
    """Rows are written inside the transaction; the e-mail waits for the commit."""
    req = make_request(initiator=org.initiator, departments=[org.mkt, org.tech])
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.request_submit(request=req, by=org.initiator)
        assert Notification.objects.count() == 3
        assert mail.outbox == []  # not before the commit
        raise RuntimeError("something later in the transaction failed")
    assert callbacks == []
    assert mail.outbox == []
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_running_the_email_task_twice_sends_nothing_twice(org, django_capture_on_commit_callbacks):
    """The outbox skips rows already sent, so a retry, a redelivered task, the task name
    of the old release or a sweep sends nothing more."""
    req = make_request(initiator=org.initiator, departments=[org.mkt, org.tech])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.request_submit(request=req, by=org.initiator)
    (send,) = callbacks
    send()
    assert len(mail.outbox) == 3
    stamped = dict(Notification.objects.values_list("pk", "emailed_at"))
    assert all(stamped.values())
    send()
    assert send_notification_emails_task.delay(list(stamped)).get() == {"busy": 3}
    rows = list(OutboxMessage.objects.values_list("pk", flat=True))
    assert outbox.deliver_many(rows) == {"busy": 3}
    assert outbox.sweep(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert len(mail.outbox) == 3
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
    assert dict(Notification.objects.values_list("pk", "emailed_at")) == stamped


@pytest.mark.django_db
def test_inactive_users_get_neither_row_nor_mail(org, django_capture_on_commit_callbacks):
    """A deactivated head (and the deputy acting for them) hear nothing."""
    org.tech_head.is_active = False
    org.tech_head.save(update_fields=["is_active"])
    req = make_request(initiator=org.initiator, departments=[org.mkt, org.tech])
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(request=req, by=org.initiator)
    assert set(_mail_to()) == _emails(org.mkt_head)
    assert set(Notification.objects.values_list("recipient", flat=True)) == {org.mkt_head.pk}


@pytest.mark.django_db
def test_user_deactivated_before_the_mail_goes_gets_no_mail(
    org, django_capture_on_commit_callbacks
):
    """The task checks again: someone deactivated since the event is not e-mailed."""
    req = make_request(initiator=org.initiator, departments=[org.tech])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.request_submit(request=req, by=org.initiator)
    org.tech_deputy.is_active = False
    org.tech_deputy.save(update_fields=["is_active"])
    callbacks[0]()
    assert set(_mail_to()) == _emails(org.tech_head)
    assert Notification.objects.get(recipient=org.tech_deputy).emailed_at is None
    assert OutboxMessage.objects.get(recipient=org.tech_deputy).state == "skipped"


@pytest.mark.django_db
def test_user_without_address_still_gets_the_in_app_notification(
    org, django_capture_on_commit_callbacks
):
    org.tech_head.email = ""
    org.tech_head.save(update_fields=["email"])
    req = make_request(initiator=org.initiator, departments=[org.tech])
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(request=req, by=org.initiator)
    row = Notification.objects.get(recipient=org.tech_head)
    assert row.emailed_at is None and row.read_at is None
    assert set(_mail_to()) == _emails(org.tech_deputy)


# --- the notifications page ----------------------------------------------------------


def _note(user, title="通知", *, minutes_ago=0, read=False, url="/requests/1/"):
    note = Notification.objects.create(recipient=user, title=title, body="內容", url=url)
    moment = timezone.now() - dt.timedelta(minutes=minutes_ago)
    Notification.objects.filter(pk=note.pk).update(
        created_at=moment, read_at=moment if read else None
    )
    note.refresh_from_db()
    return note


def _listed(body: str) -> list[tuple[int, str]]:
    """Return (id, data-unread) of each notification shown, in page order."""
    return [
        (int(pk), unread)
        for pk, unread in re.findall(r'data-notification-id="(\d+)" data-unread="([01])"', body)
    ]


@pytest.mark.django_db
def test_list_shows_own_notifications_newest_first_unread_marked(client, staff, outsider):
    """The page lists only the user's rows, newest first, unread ones flagged and linked."""
    old = _note(staff, "舊通知", minutes_ago=60, read=True)
    new = _note(staff, "新通知", minutes_ago=1)
    middle = _note(staff, "中間的通知", minutes_ago=30)
    theirs = _note(outsider, "別人的通知")
    client.force_login(staff)
    response = client.get(reverse("notifications"))
    assert response.status_code == 200
    body = response.content.decode()
    assert _listed(body) == [(new.pk, "1"), (middle.pk, "1"), (old.pk, "0")]
    assert "別人的通知" not in body and f'data-notification-id="{theirs.pk}"' not in body
    for note in (old, new, middle):
        assert f'href="{reverse("notification-open", args=[note.pk])}"' in body
    assert 'id="notifications-unread" data-unread="2"' in body
    assert reverse("notifications-read-all") in body


@pytest.mark.django_db
def test_list_is_paginated_and_filters_unread(client, staff):
    """20 rows a page; ?unread=1 shows only the unread ones."""
    for minute in range(25):
        _note(staff, f"通知{minute}", minutes_ago=minute, read=minute % 5 == 0)
    client.force_login(staff)
    first = _listed(client.get(reverse("notifications")).content.decode())
    second = _listed(client.get(reverse("notifications"), {"page": 2}).content.decode())
    assert len(first) == 20 and len(second) == 5
    assert not {pk for pk, _ in first} & {pk for pk, _ in second}
    past_the_end = _listed(client.get(reverse("notifications"), {"page": 99}).content.decode())
    assert past_the_end == second
    unread = _listed(client.get(reverse("notifications"), {"unread": "1"}).content.decode())
    assert len(unread) == 20 and all(flag == "1" for _, flag in unread)


@pytest.mark.django_db
def test_empty_list(client, staff):
    client.force_login(staff)
    body = client.get(reverse("notifications")).content.decode()
    assert 'id="notifications-empty"' in body
    assert 'id="notifications-read-all"' not in body


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_rows(client, staff):
    """The page costs 7 queries whatever the number of rows: no N+1.

    Session, user, the shell's dashboard check and department, the pager's COUNT, the
    page's SELECT and the bell's COUNT.
    """
    client.force_login(staff)
    client.get(reverse("notifications"))

    def make_rows(n):
        for _ in range(n):
            _note(staff)
            _note(staff, read=True)

    def fetch():
        assert client.get(reverse("notifications")).status_code == 200

    assert assert_constant_queries(make_rows, fetch) == 8  # incl. the navigation's checks


@pytest.mark.django_db
def test_opening_marks_read_and_follows_the_link(client, staff):
    note = _note(staff, url="/requests/42/")
    client.force_login(staff)
    response = client.get(reverse("notification-open", args=[note.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/requests/42/"
    note.refresh_from_db()
    first_read = note.read_at
    assert first_read is not None
    client.get(reverse("notification-open", args=[note.pk]))
    note.refresh_from_db()
    assert note.read_at == first_read  # opening again keeps the first reading time


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["outsider", "head", "pmo", "superuser"])
def test_only_the_recipient_may_open_a_notification(request, client, staff, role):
    """Anyone else, whatever their role, gets 404 and the row stays unread."""
    note = _note(staff)
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("notification-open", args=[note.pk])).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["", "https://evil.example.com/", "//evil.example.com/x"])
def test_open_without_a_safe_link_returns_to_the_list(client, staff, url):
    note = _note(staff, url=url)
    client.force_login(staff)
    response = client.get(reverse("notification-open", args=[note.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications")
    note.refresh_from_db()
    assert note.read_at is not None


@pytest.mark.django_db
def test_mark_all_read_is_a_post_and_touches_only_own_rows(client, staff, outsider):
    mine = [_note(staff), _note(staff), _note(staff, read=True)]
    theirs = _note(outsider)
    client.force_login(staff)
    assert client.get(reverse("notifications-read-all")).status_code == 405
    assert notifications.unread_count(staff) == 2
    response = client.post(reverse("notifications-read-all"))
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications")
    assert notifications.unread_count(staff) == 0
    assert all(Notification.objects.get(pk=n.pk).read_at for n in mine)
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "args", "method"),
    [
        ("notifications", [], "get"),
        ("notification-open", [1], "get"),
        ("notifications-read-all", [], "post"),
    ],
)
def test_anonymous_visitors_are_sent_to_login(client, name, args, method):
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- the bell ------------------------------------------------------------------------


@pytest.mark.django_db
def test_navbar_bell_shows_the_unread_count(client, staff):
    """The bell links to the page and carries the unread count; none when all read."""
    _note(staff)
    _note(staff)
    _note(staff, read=True)
    client.force_login(staff)
    body = client.get(reverse("home")).content.decode()
    bell = re.search(r'<a [^>]*id="nav-notifications"[^>]*>.*?</a>', body, re.S).group(0)
    assert 'data-unread="2"' in bell
    assert f'href="{reverse("notifications")}"' in bell
    assert re.search(r"badge[^>]*>2<", bell)
    client.post(reverse("notifications-read-all"))
    body = client.get(reverse("home")).content.decode()
    bell = re.search(r'<a [^>]*id="nav-notifications"[^>]*>.*?</a>', body, re.S).group(0)
    assert 'data-unread="0"' in bell and "badge" not in bell


@pytest.mark.django_db
def test_navbar_bell_caps_large_counts(client, staff):
    Notification.objects.bulk_create(
        Notification(recipient=staff, title=f"通知{i}") for i in range(120)
    )
    client.force_login(staff)
    body = client.get(reverse("home")).content.decode()
    assert 'data-unread="120"' in body and ">99+<" in body


@pytest.mark.django_db
def test_nav_unread_is_one_count_query_and_absent_for_anonymous(staff):
    """The context processor counts lazily with one COUNT; anonymous visitors cost none."""
    _note(staff)
    _note(staff, read=True)
    request = RequestFactory().get("/")
    request.user = staff
    context = portal(request)
    queries, captured = count_queries(lambda: str(context["nav_unread"]))
    assert str(context["nav_unread"]) == "1"
    assert queries == 1 and "COUNT(" in captured[0]["sql"]
    request.user = AnonymousUser()
    queries, _ = count_queries(lambda: portal(request))
    assert queries == 0
    assert "nav_unread" not in portal(request)


@pytest.mark.django_db
def test_head_finds_the_submitted_request_through_the_bell(
    client, org, django_capture_on_commit_callbacks
):
    """End to end: submit → the head's bell counts it → opening it lands on the request."""
    req = make_request(initiator=org.initiator, departments=[org.tech])
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(request=req, by=org.initiator)
    client.force_login(org.tech_head)
    assert 'data-unread="1"' in client.get(reverse("home")).content.decode()
    ((pk, flag),) = _listed(client.get(reverse("notifications")).content.decode())
    assert flag == "1"
    response = client.get(reverse("notification-open", args=[pk]))
    assert response["Location"] == req.get_absolute_url()
    assert notifications.unread_count(org.tech_head) == 0


# --- in the browser ------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_bell_list_open_and_mark_all_read_in_the_browser(page, live_server, staff):
    """The bell counts, the list opens a notification at its link, 'mark all' clears it."""
    _note(staff, "舊的通知", minutes_ago=5, url=reverse("requests_app:mine"))
    _note(staff, "新的任務通知", minutes_ago=1, url=reverse("tasks_app:mine"))
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("使用者名稱").fill(staff.username)
    page.get_by_label("密碼").fill("pw-for-tests")
    page.get_by_role("button", name="登入").click()
    page.wait_for_url(live_server.url + reverse("home"))
    bell = page.locator("#nav-notifications")
    assert bell.get_attribute("data-unread") == "2"
    assert bell.locator(".badge").inner_text().startswith("2")
    bell.click()
    page.wait_for_url(live_server.url + reverse("notifications"))
    items = page.locator("#notification-list [data-notification-id]")
    assert items.count() == 2
    assert "新的任務通知" in items.first.inner_text()
    items.first.click()
    page.wait_for_url(live_server.url + reverse("tasks_app:mine"))
    assert page.locator("#nav-notifications").get_attribute("data-unread") == "1"
    page.goto(live_server.url + reverse("notifications"))
    page.locator("#notifications-read-all").click()
    page.wait_for_url(live_server.url + reverse("notifications"))
    assert page.locator("#nav-notifications").get_attribute("data-unread") == "0"
    assert page.locator("#nav-notifications .badge").count() == 0
    assert page.locator('#notification-list [data-unread="1"]').count() == 0
