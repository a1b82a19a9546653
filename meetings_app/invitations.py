"""Meeting invitations: in-app, and by e-mail with the calendar invitation (.ics).

The services call `send_invitation` inside their transaction when a meeting is
scheduled (REQUEST), changed (REQUEST again, same UID, higher SEQUENCE; CANCEL to the
people taken off) or cancelled (CANCEL to all). For each person it writes the in-app
Notification (texts from notifications/meeting_invitation_*.txt in the portal's
language, as collab.notifications does) and an outbox row of the "meeting_invitation"
channel, which after the commit sends the notification's e-mail with the meeting's
iCalendar in it.

The e-mail is laid out as Google Calendar's own invitations are, which Outlook and
Gmail both take as a meeting request: the text/calendar part (with its `method`
parameter) among the text and HTML alternatives, and the same calendar attached as
invite.ics. The calendar is built when the e-mail leaves, from the meeting as it is
then; a message that a later one to the same person about the same meeting has
superseded (an update, a cancellation) is not sent at all, so a calendar never gets
an outdated version after a newer one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEText

from collab import notifications, outbox
from collab.models import Notification, OutboxMessage, User

from . import ics
from .choices import MeetingState
from .models import Meeting

KIND = "meeting_invitation"
EVENT = "meeting_invitation"  # notifications/meeting_invitation_{subject,body}.txt
FILENAME = "invite.ics"


def _purpose(meeting: Meeting, method: str, *, everyone: bool, invited_before: bool) -> str:
    """What the message says: invited; updated (to a person invited before); cancelled
    (the meeting is off: a CANCEL to everyone); removed (a person taken off a meeting
    that goes ahead)."""
    if method == ics.CANCEL:
        off = everyone or meeting.state == MeetingState.CANCELLED
        return "cancelled" if off else "removed"
    return "updated" if invited_before else "invited"


def _key(meeting: Meeting, method: str, user: User) -> str:
    return f"{KIND}:{meeting.pk}:{meeting.ics_sequence}:{method}:{user.pk}"


def send_invitation(
    meeting: Meeting,
    *,
    by: User | None,
    method: str = ics.REQUEST,
    recipients: Iterable[User] | None = None,
) -> list[Notification]:
    """Tell each recipient in-app and queue their e-mail with the calendar invitation.

    Recipients: by default the meeting's organiser, recorder and participants; the
    person acting is included (the organiser wants the event in their own calendar
    too). Each active person once; a person already sent this revision of the meeting
    with this method gets nothing more. Call it inside the service's transaction: the
    e-mails leave once it commits (collab.outbox).
    """
    if method not in (ics.REQUEST, ics.CANCEL):
        raise ValueError(f"An invitation is a REQUEST or a CANCEL, not {method!r}.")
    people = ics.invitees(meeting) if recipients is None else recipients
    unique = {user.pk: user for user in people if user is not None and user.is_active}
    keys = {_key(meeting, method, user): user for user in unique.values()}
    sent = set(OutboxMessage.objects.filter(key__in=list(keys)).values_list("key", flat=True))
    fresh = {key: user for key, user in keys.items() if key not in sent}
    if not fresh:
        return []
    invited_before = set(
        OutboxMessage.objects.filter(
            kind=KIND, params__meeting=meeting.pk, recipient__in=list(fresh.values())
        ).values_list("recipient_id", flat=True)
    )
    context = {
        "meeting": meeting,
        "actor": by or meeting.organiser,
        "place": ics.location(meeting) or meeting.get_form_display(),
        "agenda": list(meeting.agenda.all()),
        "url": meeting.get_absolute_url(),
    }
    texts: dict[str, tuple[str, str]] = {}
    notes = []
    for user in fresh.values():
        purpose = _purpose(
            meeting,
            method,
            everyone=recipients is None,
            invited_before=user.pk in invited_before,
        )
        if purpose not in texts:
            texts[purpose] = notifications._render(EVENT, {**context, "purpose": purpose})
        subject, body = texts[purpose]
        notes.append(
            Notification(recipient=user, title=subject[:200], body=body, url=context["url"])
        )
    rows = Notification.objects.bulk_create(notes)
    outbox.enqueue(
        outbox.Draft(
            kind=KIND,
            key=key,
            params={
                "notification": row.pk,
                "meeting": meeting.pk,
                "sequence": meeting.ics_sequence,
                "method": method,
            },
            recipient=row.recipient,
            summary=row.title,
        )
        for key, row in zip(fresh, rows, strict=True)
    )
    return rows


# --- the e-mail channel ------------------------------------------------------------------


class InvitationEmail(EmailMultiAlternatives):
    """A notification's e-mail carrying a calendar invitation: the text/calendar part
    with its iTIP method among the alternatives, and the same file attached."""

    def __init__(self, email: EmailMultiAlternatives, *, calendar: bytes, method: str):
        super().__init__(
            subject=email.subject,
            body=email.body,
            from_email=email.from_email,
            to=email.to,
            headers=email.extra_headers,
            alternatives=email.alternatives,
        )
        self.calendar = calendar.decode("utf-8")
        self.method = method
        self.attach(self._calendar_part(attached=True))

    def _calendar_part(self, *, attached: bool = False) -> SafeMIMEText:
        part = SafeMIMEText(self.calendar, "calendar", "utf-8")
        part.set_param("method", self.method)
        if attached:
            part.set_param("name", FILENAME)
            part.add_header("Content-Disposition", "attachment", filename=FILENAME)
        return part

    def _create_alternatives(self, msg):
        alternatives = super()._create_alternatives(msg)
        alternatives.attach(self._calendar_part())
        return alternatives


def _superseded(message: OutboxMessage) -> bool:
    """A later invitation message to the same person about the same meeting exists."""
    return OutboxMessage.objects.filter(
        kind=KIND,
        recipient_id=message.recipient_id,
        params__meeting=message.params["meeting"],
        pk__gt=message.pk,
    ).exists()


def email_build(message: OutboxMessage) -> InvitationEmail | None:
    """The outbox channel: the invitation e-mail with the meeting's calendar as it is
    now, or None (nothing to send) when the person was deactivated or has no address, or
    a later message to them about the meeting supersedes this one."""
    note = outbox.addressed_row(message, Notification.objects, "notification")
    if note is None or _superseded(message):
        return None
    meeting = (
        Meeting.objects.select_related("organiser", "recorder", "request")
        .filter(pk=message.params["meeting"])
        .first()
    )
    if meeting is None:
        return None
    method = message.params["method"]
    # A CANCEL to a person taken off a meeting that goes ahead names only them.
    removed = method == ics.CANCEL and meeting.state != MeetingState.CANCELLED
    calendar = ics.meeting_calendar(
        meeting, method=method, recipients=[note.recipient] if removed else None
    )
    email = InvitationEmail(notifications._email(note), calendar=calendar, method=method)
    email.extra_headers["Message-ID"] = message.message_id
    return email


# The notification is marked e-mailed exactly as collab's own notification e-mails are.
outbox.register(KIND, build=email_build, delivered=notifications.email_delivered)
