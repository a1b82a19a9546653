"""In-app notifications and their e-mails.

A service calls `notify()` inside its transaction: the Notification rows are written
with the change they announce (nothing is lost if the mail server is down), and the
e-mail is handed to Celery only once the transaction commits.

Texts come from templates `notifications/<event>_subject.txt` and
`notifications/<event>_body.txt`, rendered in the portal's language (zh-Hant) whatever
language the person who caused the event was using.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import Notification, User


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
    """Write one notification per distinct active recipient and e-mail them on commit.

    The person who caused the event (`actor`) is not told about their own act.
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
    ids = [row.pk for row in rows]

    def send():
        from .tasks import send_notification_emails_task

        send_notification_emails_task.delay(ids)

    transaction.on_commit(send)
    return rows


def send_emails(notification_ids: list[int]) -> int:
    """E-mail the given notifications that were not e-mailed yet; return how many went.

    Each row is claimed under a row lock (SKIP LOCKED) and marked in the same short
    transaction as its message is sent, so a second run, a retry after a failure or two
    workers running at once never mail anyone twice.
    """
    sent = 0
    for pk in sorted(set(notification_ids)):
        with transaction.atomic():
            note = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient")
                .filter(pk=pk, emailed_at__isnull=True)
                .first()
            )
            # Deactivated since the event, or no address: the in-app row is enough.
            if note is None or not note.recipient.is_active or not note.recipient.email:
                continue
            _email(note).send()
            Notification.objects.filter(pk=note.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


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
