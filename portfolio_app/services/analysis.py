"""Writes: sending the monthly collaboration analysis 協作分析報告 to the executives.

On the 1st of each month beat runs portfolio_app.tasks.send_monthly_analysis_task, which
calls `analysis_send` for the previous month: the company-wide report is rendered to
PDF once and e-mailed, in the portal's language, to every active executive with an
e-mail address, one message each (a refused address does not hide behind the others).

Once per month and per person. The month's AnalysisDispatch row (month unique) is
created if missing and locked while the messages are queued: one collab.outbox row per
executive, keyed by month and person, so a second run, "Send now" or a retry queues
nothing twice. The outbox sends them after commit and retries a mail server that is
down or busy for days; as each one goes its address is added to `recipients`, and
`sent_at` is stamped when none is left waiting. Every message has one Message-ID.

No executive to send to: the row is recorded with sent_at empty and a warning is
logged; a later run for the month (say "Send now" in admin, once an executive has an
address) sends it then.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from collab import outbox
from collab.choices import Role
from collab.models import OutboxMessage, User
from collab.notifications import absolute_url

from .. import pdf
from ..models import AnalysisDispatch
from ..selectors import analysis as selectors

logger = logging.getLogger(__name__)


def analysis_recipients() -> list[User]:
    """Return the active executives with an e-mail address, by username."""
    return list(
        User.objects.filter(role=Role.EXECUTIVE, is_active=True)
        .exclude(email="")
        .order_by("username")
    )


def analysis_link(month: dt.date) -> str:
    """Return the portal address of the month's report PDF."""
    query = urlencode({"month": f"{month:%Y-%m}"})
    return absolute_url(f"{reverse('portfolio_app:analysis-pdf')}?{query}")


@dataclass(frozen=True)
class _Mail:
    subject: str
    body: str
    filename: str
    attachment: bytes

    def to(self, address: str) -> EmailMessage:
        message = EmailMessage(
            subject=settings.EMAIL_SUBJECT_PREFIX + self.subject,
            body=self.body,
            to=[address],
            # RFC 3834: tells auto-responders (out-of-office replies) not to answer.
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach(self.filename, self.attachment, "application/pdf")
        return message


def _mail(report: selectors.MonthlyAnalysis) -> _Mail:
    """Render the e-mail and its PDF once, in the portal's language."""
    with translation.override(settings.LANGUAGE_CODE):
        month_label = date_format(report.month, "YEAR_MONTH_FORMAT")
        context = {
            "report": report,
            "month_label": month_label,
            "link": analysis_link(report.month),
            "portal_name": settings.PORTAL_NAME,
        }
        return _Mail(
            subject=_("Collaboration analysis report %(month)s") % {"month": month_label},
            body=render_to_string("emails/analysis_report.txt", context),
            filename=pdf.analysis_filename(report),
            attachment=pdf.analysis_pdf(report),
        )


def _addresses(dispatch: AnalysisDispatch) -> list[str]:
    return dispatch.recipients.split()


def _key(month: dt.date, user_id: int) -> str:
    return f"{ANALYSIS_KIND}:{month:%Y-%m}:{user_id}"


def analysis_send(*, month: dt.date, now: dt.datetime | None = None) -> AnalysisDispatch:
    """Queue the company-wide 協作分析報告 of `month` for every active executive, once.

    Return the month's dispatch row; its `sent_now` attribute says whether this call
    queued a message (False: queued before, or nobody to send it to, which `nobody`
    says). The e-mails leave
    through collab.outbox after commit; the row's `recipients` and `sent_at` are filled
    in as they go.
    """
    month = selectors.month_start(month)
    AnalysisDispatch.objects.get_or_create(month=month)
    with transaction.atomic():
        dispatch = AnalysisDispatch.objects.select_for_update().get(month=month)
        dispatch.sent_now = dispatch.nobody = False
        if dispatch.sent_at is not None:
            return dispatch
        executives = analysis_recipients()
        if not executives:
            logger.warning(
                "The collaboration analysis report of %s was not sent: "
                "no active executive has an e-mail address.",
                f"{month:%Y-%m}",
            )
            dispatch.nobody = True
            return dispatch
        params = {"month": f"{month:%Y-%m}", "dispatch": dispatch.pk}
        if now is not None:
            params["now"] = now.isoformat()
        queued = outbox.enqueue(
            outbox.Draft(
                kind=ANALYSIS_KIND,
                key=_key(month, user.pk),
                params=params,
                recipient=user,
                summary=f"{month:%Y-%m} {user.email}",
            )
            for user in executives
        )
        dispatch.sent_now = bool(queued)
    return dispatch


# --- the outbox channel --------------------------------------------------------------------

ANALYSIS_KIND = "analysis_report"
_rendered: dict[tuple[str, str], tuple[float, _Mail]] = {}


def _month_mail(month: str, now: str | None) -> _Mail:
    """Render the month's mail and PDF once for the executives of one send (kept for a
    minute: a delivery task sends them one after another)."""
    key = (month, now or "")
    cached = _rendered.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    moment = dt.datetime.fromisoformat(now) if now else None
    report = selectors.monthly_analysis(selectors.parse_month(month), scope=None, now=moment)
    mail = _mail(report)
    _rendered.clear()
    _rendered[key] = (time.monotonic() + 60, mail)
    return mail


def analysis_build(message: OutboxMessage) -> EmailMessage | None:
    user = message.recipient
    if user is None or not user.is_active or not user.email:
        return None
    email = _month_mail(message.params["month"], message.params.get("now")).to(user.email)
    email.extra_headers["Message-ID"] = message.message_id
    return email


def analysis_delivered(message: OutboxMessage) -> None:
    """Add the address to the month's dispatch; stamp sent_at once nobody waits."""
    dispatch = AnalysisDispatch.objects.select_for_update().get(pk=message.params["dispatch"])
    changed = []
    if message.state == OutboxMessage.State.SENT and message.recipient and message.recipient.email:
        address = message.recipient.email
        if address not in _addresses(dispatch):
            dispatch.recipients = "\n".join([*_addresses(dispatch), address])
            changed.append("recipients")
    prefix = f"{ANALYSIS_KIND}:{dispatch.month:%Y-%m}:"
    waiting = OutboxMessage.objects.filter(
        key__startswith=prefix, state=OutboxMessage.State.PENDING
    )
    if dispatch.sent_at is None and not waiting.exists():
        dispatch.sent_at = timezone.now()
        changed.append("sent_at")
    if changed:
        dispatch.save(update_fields=changed)


outbox.register(ANALYSIS_KIND, build=analysis_build, delivered=analysis_delivered)
