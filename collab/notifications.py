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
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from .models import Notification, User


def _render(event: str, context: dict) -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"notifications/{event}_subject.txt", context)
        body = render_to_string(f"notifications/{event}_body.txt", context)
    return " ".join(subject.split()), body.strip()


def notify(
    *, event: str, recipients: Iterable[User], context: dict, url: str = ""
) -> list[Notification]:
    """Write one notification per distinct active recipient and e-mail them on commit."""
    unique = {user.pk: user for user in recipients if user is not None and user.is_active}
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
    """E-mail the given notifications that were not e-mailed yet; return how many went."""
    from django.core.mail import EmailMultiAlternatives
    from django.utils import timezone

    sent = 0
    pending = Notification.objects.filter(
        pk__in=notification_ids, emailed_at__isnull=True
    ).select_related("recipient")
    for note in pending:
        if not note.recipient.email:
            continue
        link = settings.SITE_URL.rstrip("/") + note.url if note.url else ""
        context = {"note": note, "link": link, "portal_name": settings.PORTAL_NAME}
        with translation.override(settings.LANGUAGE_CODE):
            text = render_to_string("emails/notification.txt", context)
            html = render_to_string("emails/notification.html", context)
        message = EmailMultiAlternatives(
            subject=settings.EMAIL_SUBJECT_PREFIX + note.title,
            body=text,
            to=[note.recipient.email],
        )
        message.attach_alternative(html, "text/html")
        message.send()
        # Marked one by one so a retry after a failure never mails anyone twice.
        Notification.objects.filter(pk=note.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    from django.utils import timezone

    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
