"""How the history lines risks_app writes read (collab.events); registered in ready().

A report says its level and score, and whether it came more than 24 hours after the
discovery; the PMO's response names the owner and the deadline. What a person typed (the
note of a conclusion) is the line's comment and shows as it is.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from collab import events

from .choices import LEVEL_CHOICES, RiskEventKind

RISK_EVENT = "risks_app.RiskEvent"


def _level(value: str) -> str:
    return str(dict(LEVEL_CHOICES).get(value, value))


def _reported(params: dict) -> str:
    text = _("Level %(level)s (probability %(probability)d × impact %(impact)d)") % {
        "level": _level(params["level"]),
        "probability": params["probability"],
        "impact": params["impact"],
    }
    if params.get("late"):
        text += events.SEPARATOR + _("reported more than 24 hours after its discovery")
    return text


def _accepted(params: dict) -> str:
    return _("Owner %(owner)s, respond by %(due)s") % {
        "owner": params["owner_name"],
        "due": events.moment_text(params["due"]),
    }


def register() -> None:
    events.register(RISK_EVENT, RiskEventKind.REPORT, _reported)
    events.register(RISK_EVENT, RiskEventKind.ACCEPT, _accepted)
    events.register(
        RISK_EVENT,
        RiskEventKind.CLOSE,
        lambda p: _("Closed with the request when it was completed") if p.get("with_case") else "",
    )
