"""Writes: sending the monthly collaboration analysis 協作分析報告 to the executives.

On the 1st of each month beat runs review_app.tasks.send_monthly_analysis_task, which
calls `analysis_send` for the previous month: the company-wide report is rendered to
PDF once and e-mailed, in the portal's language, to every active executive with an
e-mail address, one message each (a refused address does not hide behind the others).

Once per month and per person. The month's AnalysisDispatch row (month unique) is
created if missing. Each executive's message is sent with the row locked and the
address added to its `recipients` in the same transaction, after SMTP accepted it: an
SMTP error rolls that address back and propagates, the task's autoretry runs again
later and mails only those not mailed yet. When everyone is mailed, `sent_at` is set
and later runs for the month send nothing. Two runs at once wait on the row lock and
skip the addresses the other one sent. (Only a crash between SMTP accepting a message
and the commit could send one twice; the same trade as collab.warnings.digest_send.)

No executive to send to: the row is recorded with sent_at empty and a warning is
logged; a later run for the month (say "Send now" in admin, once an executive has an
address) sends it then.
"""

from __future__ import annotations

import datetime as dt
import logging
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

from collab.choices import Role
from collab.models import User
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
    return absolute_url(f"{reverse('review_app:analysis-pdf')}?{query}")


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


def analysis_send(*, month: dt.date, now: dt.datetime | None = None) -> AnalysisDispatch:
    """E-mail the company-wide 協作分析報告 of `month` to the executives, once.

    Return the month's dispatch row; its `sent_now` attribute says whether this call
    mailed anyone (False: sent before, or nobody to send it to).
    """
    month = selectors.month_start(month)
    dispatch, _created = AnalysisDispatch.objects.get_or_create(month=month)
    dispatch.sent_now = False
    if dispatch.sent_at is not None:
        return dispatch
    addresses = [user.email for user in analysis_recipients()]
    if not addresses:
        logger.warning(
            "The collaboration analysis report of %s was not sent: "
            "no active executive has an e-mail address.",
            f"{month:%Y-%m}",
        )
        return dispatch
    mail = None
    sent = 0
    for address in addresses:
        with transaction.atomic():
            locked = AnalysisDispatch.objects.select_for_update().get(pk=dispatch.pk)
            if locked.sent_at is not None or address in _addresses(locked):
                continue  # another run sent it meanwhile
            if mail is None:
                mail = _mail(selectors.monthly_analysis(month, scope=None, now=now))
            mail.to(address).send()
            locked.recipients = "\n".join([*_addresses(locked), address])
            locked.save(update_fields=["recipients"])
        sent += 1
    with transaction.atomic():
        locked = AnalysisDispatch.objects.select_for_update().get(pk=dispatch.pk)
        if locked.sent_at is None:
            locked.sent_at = timezone.now()
            locked.save(update_fields=["sent_at"])
    locked.sent_now = sent > 0
    return locked
