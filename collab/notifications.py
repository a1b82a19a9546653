"""In-app notifications and their e-mails.

A service calls `notify()` inside its transaction: the Notification rows and their
e-mails' outbox rows are written with the change they announce, and collab.outbox
delivers each e-mail once after the commit (retried for days if the broker or the mail
server is down).

Texts come from templates `notifications/<event>_subject.txt` and
`notifications/<event>_body.txt`, rendered in the portal's language (zh-Hant) whatever
language the person who caused the event was using.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone, translation

from . import outbox
from .models import Notification, OutboxMessage, User


def _render(event: str, context: dict) -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"notifications/{event}_subject.txt", context)
        body = render_to_string(f"notifications/{event}_body.txt", context)
    return " ".join(subject.split()), body.strip()


def notify(
    *,
    event: str,
    recipients: Iterable[User],
    context: dict,
    url: str = "",
    actor: User | None = None,
) -> list[Notification]:
    """Write one notification per distinct active recipient, and its e-mail to the outbox.

    The person who caused the event (`actor`) is not told about their own act. The
    e-mail leaves through collab.outbox once the caller's transaction commits.
    """
    unique = {
        user.pk: user
        for user in recipients
        if user is not None and user.is_active and (actor is None or user.pk != actor.pk)
    }
    if not unique:
        return []
    subject, body = _render(event, {**context, "url": url})
    rows = Notification.objects.bulk_create(
        Notification(recipient=user, title=subject[:200], body=body, url=url)
        for user in unique.values()
    )
    outbox.enqueue(
        outbox.Draft(
            kind=EMAIL_KIND,
            key=f"{EMAIL_KIND}:{row.pk}",
            params={"notification": row.pk},
            recipient=row.recipient,
            summary=row.title,
        )
        for row in rows
    )
    return rows


# --- the e-mail channel ------------------------------------------------------------------

EMAIL_KIND = "notification"


def email_build(message: OutboxMessage) -> EmailMultiAlternatives | None:
    """The outbox channel: the notification's e-mail, or None when the person was
    deactivated since the event or has no address (the in-app row is enough)."""
    note = outbox.addressed_row(message, Notification.objects, "notification")
    if note is None:
        return None
    email = _email(note)
    email.extra_headers["Message-ID"] = message.message_id
    return email


def email_delivered(message: OutboxMessage) -> None:
    if message.state != OutboxMessage.State.SENT:
        return  # skipped: nobody to e-mail; the in-app row stays "not e-mailed"
    Notification.objects.filter(pk=message.params["notification"], emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )


outbox.register(EMAIL_KIND, build=email_build, delivered=email_delivered)


def _email(note: Notification) -> EmailMultiAlternatives:
    """Build the text + HTML e-mail of one notification, in the portal's language."""
    link = absolute_url(note.url)
    context = {"note": note, "link": link, "portal_name": settings.PORTAL_NAME}
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string("emails/notification.txt", context)
        html = render_to_string("emails/notification.html", context)
    message = EmailMultiAlternatives(
        subject=settings.EMAIL_SUBJECT_PREFIX + note.title,
        body=text,
        to=[note.recipient.email],
        # RFC 3834: tells auto-responders (out-of-office replies) not to answer.
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    return message


def absolute_url(path: str) -> str:
    """Return the portal link for a path such as /requests/1/ ("" for no path)."""
    if not path:
        return ""
    if path.startswith(("http://", "https://")):
        return path
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")


# --- in-app -------------------------------------------------------------------------


def notifications_for(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """Return the user's notifications, newest first."""
    rows = Notification.objects.filter(recipient=user)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-pk")


def unread_count(user: User) -> int:
    """Return how many of the user's notifications are unread (one COUNT query)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's unread notifications (all, or those with `ids`) read; return how many."""
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())


def notification_open(*, user: User, pk: int) -> Notification:
    """Return the user's notification `pk`, marked read; Http404 if it is someone else's."""
    note = get_object_or_404(Notification, pk=pk, recipient=user)
    if note.read_at is None:
        note.read_at = timezone.now()
        note.save(update_fields=["read_at"])
    return note
