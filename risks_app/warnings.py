"""The warning of risk reports (collab.warnings), registered in ready().

risk_response_overdue: a risk 應對中 past its response deadline (rules.response_overdue_q).
Every day until it is concluded, its response owner (as Responsible) hears of it, and the
PMO too (who organised the response), as the admin row says. Two queries per run (the
risks, then which of their people are active).
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from collab.warnings import Hit, People, RuleSpec, link, moment_text, register

from . import rules
from .models import Risk

RULE = "risk_response_overdue"


def scan_response_overdue(rule, now):
    """The risks whose response is overdue, with their owner."""
    rows = list(
        Risk.objects.filter(rules.response_overdue_q(now))
        .exclude(request__is_archived=True)
        .order_by()
        .values_list("pk", "title", "response_due", "owner_id", "request__initiator_id", named=True)
    )
    today = timezone.localdate(now)
    # Read who of them is active: the engine sends to active people only.
    People(
        users=[u for row in rows for u in (row.owner_id, row.request__initiator_id)],
        departments=(),
        on=today,
    )
    local = timezone.get_current_timezone()
    url = link("risks_app:detail")
    for row in rows:
        days = max(1, (today - row.response_due.astimezone(local).date()).days)
        yield Hit(
            row.pk,
            {"responsible": (row.owner_id,), "initiator": (row.request__initiator_id,)},
            {"title": row.title, "due": moment_text(row.response_due), "days": days},
            url(row.pk),
        )


def response_overdue_message(days: int) -> str:
    return ngettext(
        "The response to the risk “%(title)s” was due on %(due)s and is %(days)s day "
        "overdue. Please conclude it, or tell the PMO what stands in the way.",
        "The response to the risk “%(title)s” was due on %(due)s and is %(days)s days "
        "overdue. Please conclude it, or tell the PMO what stands in the way.",
        days,
    )


def register_rules() -> None:
    register(
        RuleSpec(
            code=RULE,
            label=_("Risk response overdue"),
            model=Risk,
            scan=scan_response_overdue,
            message=response_overdue_message,
            count="days",
            defaults={"to_responsible": True, "to_pmo": True},
        ),
    )
