"""A meeting's calendar invitation (.ics): what it holds, how updates and cancellations
keep its identity, the e-mails that carry it over real SMTP, and the download pages.

The calendars are parsed back with icalendar, as a calendar client would read them; the
e-mails are read from the bytes an SMTP server received (tests/smtp_sink.py).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from collab import outbox
from collab.models import Notification, OutboxMessage
from meetings_app import ics, invitations, services
from meetings_app.choices import MeetingForm, MeetingKind
from tests.factories import UserFactory
from tests.live_worker import smtp_sink

TAIPEI = ZoneInfo("Asia/Taipei")


def taipei(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TAIPEI)


@pytest.fixture
def monday(time_machine):
    """Monday 2 March 2026, 09:00 in Taipei (the clock stands still)."""
    time_machine.move_to(taipei(2026, 3, 2, 9, 0), tick=False)


@pytest.fixture
def people(department, pmo):
    """The organiser (the PMO), a recorder and two participants of `department`."""
    return {
        "organiser": pmo,
        "recorder": UserFactory(department=department, full_name="林記錄"),
        "alice": UserFactory(department=department, full_name="王小美"),
        "bob": UserFactory(department=department, full_name="陳大文"),
    }


def schedule(people, department, **fields):
    plan = {
        "by": people["organiser"],
        "topic": "新品上市協作啟動會",
        "kind": MeetingKind.KICKOFF,
        "starts_at": taipei(2026, 3, 4, 14, 0),
        "ends_at": taipei(2026, 3, 4, 15, 30),
        "form": MeetingForm.ON_SITE,
        "location": "3F 大會議室",
        "recorder": people["recorder"],
        "departments": [department],
        "participants": [people["alice"], people["bob"]],
        "agenda": ["確認目標與範圍", "任務分工表"],
        **fields,
    }
    return services.meeting_schedule(**plan)


def parse(data: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def attendee_emails(event) -> set[str]:
    value = event.get("ATTENDEE", [])
    values = value if isinstance(value, list) else [value]
    return {str(a).removeprefix("mailto:") for a in values}


def calendar_parts(message) -> list:
    return [p for p in message.walk() if p.get_content_type() == "text/calendar"]


# --- the calendar itself -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_invitation_holds_the_meeting_with_its_timezone_and_people(
    monday, people, department, settings
):
    """A REQUEST names the meeting's UID at the portal's host, its local time with the
    VTIMEZONE Outlook needs, the room, the numbered agenda, the portal link, the
    organiser and each other person as a participant asked to reply."""
    settings.SITE_URL = "https://collab.example.com"
    meeting = schedule(people, department)
    calendar, event = parse(ics.meeting_calendar(meeting, method="REQUEST"))

    assert str(calendar["METHOD"]) == "REQUEST"
    assert "PRODID" in calendar
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Taipei"]
    assert str(event["UID"]) == f"{meeting.uid}@collab.example.com"
    assert int(event["SEQUENCE"]) == 0
    assert event.get("DTSTART").params["TZID"] == "Asia/Taipei"
    assert event.start == taipei(2026, 3, 4, 14, 0)
    assert event.end == taipei(2026, 3, 4, 15, 30)
    assert "DTSTAMP" in event
    assert str(event["SUMMARY"]) == "新品上市協作啟動會"
    assert str(event["LOCATION"]) == "3F 大會議室"
    assert str(event["STATUS"]) == "CONFIRMED"
    link = f"https://collab.example.com/meetings/{meeting.pk}/"
    assert str(event["URL"]) == link
    description = str(event["DESCRIPTION"])
    assert "1. 確認目標與範圍\n2. 任務分工表" in description
    assert link in description
    assert meeting.get_kind_display() in description

    organizer = event["ORGANIZER"]
    assert str(organizer) == f"mailto:{people['organiser'].email}"
    assert organizer.params["CN"] == str(people["organiser"])
    assert attendee_emails(event) == {
        people["recorder"].email,
        people["alice"].email,
        people["bob"].email,
    }
    for attendee in event["ATTENDEE"]:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
    alice = next(a for a in event["ATTENDEE"] if people["alice"].email in str(a))
    assert alice.params["CN"] == "王小美"


@pytest.mark.django_db
def test_an_online_or_phone_meeting_says_where_to_join(monday, people, department):
    online = schedule(
        people,
        department,
        form=MeetingForm.ONLINE,
        location="",
        online_link="https://meet.example.com/abc",
    )
    _calendar, event = parse(ics.meeting_calendar(online))
    assert str(event["LOCATION"]) == "https://meet.example.com/abc"
    assert "https://meet.example.com/abc" in str(event["DESCRIPTION"])

    phone = schedule(people, department, form=MeetingForm.PHONE, location="")
    _calendar, event = parse(ics.meeting_calendar(phone))
    assert str(event["LOCATION"]) == str(MeetingForm.PHONE.label)  # in the portal's language


@pytest.mark.django_db
def test_an_update_keeps_the_uid_and_raises_the_sequence_and_a_cancel_follows(
    monday, people, department
):
    """A changed time is the same event (UID) at the next SEQUENCE; the cancellation is
    a CANCEL of that UID, STATUS:CANCELLED, at a higher SEQUENCE still."""
    meeting = schedule(people, department)
    _calendar, first = parse(ics.meeting_calendar(meeting))

    meeting = services.meeting_update(
        meeting=meeting,
        by=people["organiser"],
        starts_at=taipei(2026, 3, 5, 10, 0),
        ends_at=taipei(2026, 3, 5, 11, 0),
    )
    _calendar, updated = parse(ics.meeting_calendar(meeting))
    assert str(updated["UID"]) == str(first["UID"])
    assert int(updated["SEQUENCE"]) == int(first["SEQUENCE"]) + 1
    assert updated.start == taipei(2026, 3, 5, 10, 0)

    meeting = services.meeting_cancel(meeting=meeting, by=people["organiser"], reason="延期")
    calendar, cancelled = parse(ics.meeting_calendar(meeting, method="CANCEL"))
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(cancelled["UID"]) == str(first["UID"])
    assert int(cancelled["SEQUENCE"]) == int(updated["SEQUENCE"]) + 1
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert attendee_emails(cancelled) == attendee_emails(first)


@pytest.mark.django_db
def test_a_download_is_published_without_attendees(monday, people, department):
    """RFC 5546: a PUBLISH lists no ATTENDEE; the people are in the description."""
    meeting = schedule(people, department)
    calendar, event = parse(ics.meeting_calendar(meeting, method="PUBLISH"))
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert "ATTENDEE" not in event
    assert "王小美" in str(event["DESCRIPTION"])


# --- the e-mails -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_invitation_e_mail_over_smtp_carries_a_calendar_that_parses(
    monday, people, department, settings
):
    """Each person gets the in-app notification and one e-mail (text, HTML, the
    text/calendar part with method=REQUEST, and invite.ics attached) with the outbox's
    stable Message-ID; the notification is marked e-mailed."""
    with smtp_sink(settings) as sink:
        meeting = schedule(people, department)  # committed: the outbox sends at once
        sink.wait_for(4)
    everyone = [people["organiser"], people["recorder"], people["alice"], people["bob"]]
    assert sorted(r.rcpt_tos[0] for r in sink.received) == sorted(u.email for u in everyone)

    message = sink.to(people["alice"].email)[0]
    # (Django folds a long encoded Subject right after the colon: unfolded, it starts
    # with a blank, which mail clients drop too.)
    assert (
        str(message["Subject"]).strip()
        == "[collab] 會議邀請：新品上市協作啟動會（2026-03-04 14:00）"
    )
    row = OutboxMessage.objects.get(recipient=people["alice"], kind=invitations.KIND)
    assert message["Message-ID"] == row.message_id
    assert "3F 大會議室" in message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)) is not None

    parts = calendar_parts(message)
    assert len(parts) == 2  # the alternative Outlook reads, and the attached file
    inline, attached = parts
    assert inline.get_param("method") == "REQUEST"
    assert inline.get_content_charset() == "utf-8"
    assert attached.get_filename() == "invite.ics"
    assert attached.get_content_disposition() == "attachment"
    calendar, event = parse(attached.get_content().encode())
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]).startswith(meeting.uid + "@")
    assert people["alice"].email in attendee_emails(event)

    note = Notification.objects.get(recipient=people["alice"])
    assert note.title == "會議邀請：新品上市協作啟動會（2026-03-04 14:00）"
    assert note.url == meeting.get_absolute_url()
    assert note.emailed_at is not None


def _mails_to(user) -> list:
    return [m for m in mail.outbox if m.to == [user.email]]


def _calendar_of(email_message) -> tuple[Calendar, object]:
    parts = calendar_parts(email_message.message())
    return parse(parts[-1].get_payload(decode=True))


@pytest.mark.django_db
def test_an_update_re_invites_and_a_removed_person_gets_a_cancel_naming_only_them(
    monday, people, department, django_capture_on_commit_callbacks
):
    """Moving the meeting, taking Bob off and asking Carol: the others get an updated
    invitation (SEQUENCE 1), Carol her first invitation, Bob a CANCEL of the same UID
    that names only him."""
    with django_capture_on_commit_callbacks(execute=True):
        meeting = schedule(people, department)
    mail.outbox.clear()
    carol = UserFactory(department=department, full_name="張佳玲")
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_update(
            meeting=meeting,
            by=people["organiser"],
            starts_at=taipei(2026, 3, 6, 10, 0),
            ends_at=taipei(2026, 3, 6, 11, 0),
            participants=[people["alice"], carol],
        )
    assert len(mail.outbox) == 5  # organiser, recorder, Alice, Carol; Bob's CANCEL

    [to_carol] = _mails_to(carol)
    assert to_carol.subject == "[collab] 會議邀請：新品上市協作啟動會（2026-03-06 10:00）"
    _calendar, event = _calendar_of(to_carol)
    assert int(event["SEQUENCE"]) == 1
    assert carol.email in attendee_emails(event)

    [to_alice] = _mails_to(people["alice"])
    assert to_alice.subject == "[collab] 會議邀請更新：新品上市協作啟動會（2026-03-06 10:00）"
    calendar, event = _calendar_of(to_alice)
    assert (str(calendar["METHOD"]), int(event["SEQUENCE"])) == ("REQUEST", 1)
    assert event.start == taipei(2026, 3, 6, 10, 0)

    [to_bob] = _mails_to(people["bob"])
    assert to_bob.subject.startswith("[collab] 已不在邀請名單")
    calendar, event = _calendar_of(to_bob)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == f"{meeting.uid}@{ics.host()}"
    assert int(event["SEQUENCE"]) == 1
    assert attendee_emails(event) == {people["bob"].email}


@pytest.mark.django_db
def test_a_cancellation_reaches_everyone_with_the_reason(
    monday, people, department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = schedule(people, department)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_cancel(meeting=meeting, by=people["organiser"], reason="客戶改期")
    assert len(mail.outbox) == 4
    message = _mails_to(people["recorder"])[0]
    assert message.subject.startswith("[collab] 會議取消：新品上市協作啟動會")
    assert "客戶改期" in message.body
    calendar, event = _calendar_of(message)
    assert (str(calendar["METHOD"]), str(event["STATUS"])) == ("CANCEL", "CANCELLED")
    part = calendar_parts(message.message())[0]
    assert part.get_param("method") == "CANCEL"


@pytest.mark.django_db
def test_a_deactivated_recipient_gets_nothing(monday, people, department):
    """Deactivated before the e-mail leaves: the message is skipped and nothing is sent
    to them. Deactivated before an invitation: no notification either."""
    meeting = schedule(people, department)  # not committed: the e-mails wait
    bob = people["bob"]
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    rows = OutboxMessage.objects.filter(kind=invitations.KIND).order_by("pk")
    outcomes = {row.recipient_id: outbox.deliver(row.pk) for row in rows}
    assert outcomes[bob.pk] == outbox.Outcome.SKIPPED
    assert {outcome for pk, outcome in outcomes.items() if pk != bob.pk} == {outbox.Outcome.SENT}
    assert _mails_to(bob) == [] and len(mail.outbox) == 3
    assert Notification.objects.get(recipient=bob).emailed_at is None

    before = Notification.objects.filter(recipient=bob).count()
    meeting.ics_sequence += 1
    meeting.save(update_fields=["ics_sequence"])
    made = invitations.send_invitation(meeting, by=people["organiser"])
    assert bob.pk not in {note.recipient_id for note in made}
    assert len(made) == 3
    assert Notification.objects.filter(recipient=bob).count() == before


@pytest.mark.django_db
def test_a_superseded_invitation_is_not_sent_and_a_repeat_sends_nothing(monday, people, department):
    """The mail server was down while the meeting was scheduled and then moved: only the
    newer invitation goes to each person; the first is skipped, not sent out of order.
    Sending the same revision again writes nothing."""
    meeting = schedule(people, department)
    meeting = services.meeting_update(
        meeting=meeting,
        by=people["organiser"],
        starts_at=taipei(2026, 3, 5, 10, 0),
        ends_at=taipei(2026, 3, 5, 11, 0),
    )
    first, second = (
        OutboxMessage.objects.filter(kind=invitations.KIND, recipient=people["alice"])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert outbox.deliver(first) == outbox.Outcome.SKIPPED
    assert outbox.deliver(second) == outbox.Outcome.SENT
    [message] = _mails_to(people["alice"])
    _calendar, event = _calendar_of(message)
    assert int(event["SEQUENCE"]) == 1

    rows = OutboxMessage.objects.count()
    assert invitations.send_invitation(meeting, by=people["organiser"]) == []
    assert OutboxMessage.objects.count() == rows


# --- the download pages ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_participant_downloads_the_meeting_and_an_outsider_gets_404(
    monday, people, department, outsider, client_for
):
    meeting = schedule(people, department)
    url = reverse("meetings_app:ics", args=[meeting.pk])

    response = client_for(people["alice"]).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="meeting-{meeting.pk}.ics"'
    assert "no-store" in response["Cache-Control"]
    calendar, event = parse(response.content)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(event["UID"]) == f"{meeting.uid}@{ics.host()}"

    assert client_for(outsider).get(url).status_code == 404
    assert client_for(people["alice"]).post(url).status_code == 405


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_log_in(monday, people, department, client):
    meeting = schedule(people, department)
    response = client.get(reverse("meetings_app:ics", args=[meeting.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
