"""What risks_app shows on the other apps' pages (issue 16 §1).

- the task page (tasks_app.hooks.register_task_page): the task's open risk reports, a
  "Report a risk" action, and, when the latest progress update is marked high risk and
  no report came from it yet, the offer to file one pre-filled from it;
- the case page and the to-do page (review_app.views registers this module as the area
  "risks"): the case's risk card with its open risks by level, and the reports waiting
  on the person (the PMO: to organise; an owner: to conclude).

Each panel reads in a fixed number of queries.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from requests_app.models import CollabRequest
from tasks_app import hooks as task_hooks
from tasks_app.choices import RiskLevel as ProgressRisk
from tasks_app.models import ProgressUpdate

from . import permissions, rules, selectors
from .choices import RiskState
from .models import Risk

TASK_PANEL = "risks_app/includes/panel_task.html"


def task_page(user, task, **extra) -> dict:
    """The task's risks and the offer to report one."""
    request = task.request
    can_report = permissions.can_report(user, request)
    risks = list(
        permissions.visible_risks(user, Risk.objects.filter(rules.open_q()))
        .filter(task=task)
        .order_by("-reported_at")
    )
    offer = None
    if can_report:
        latest = ProgressUpdate.objects.filter(task=task).order_by("-created_at", "-pk").first()
        if (
            latest is not None
            and latest.risk_level == ProgressRisk.HIGH
            and not Risk.objects.filter(progress_update=latest).exists()
        ):
            offer = latest
    if not (risks or offer or can_report):
        return {}
    context = {
        "task_panels": [TASK_PANEL] if (risks or offer) else [],
        "task_risks": risks,
        "risk_offer": offer,
        "risk_offer_url": f"{reverse('risks_app:new')}?progress={offer.pk}" if offer else "",
    }
    if can_report:
        context["task_page_actions"] = [
            {
                "label": _("Report a risk"),
                "url": f"{reverse('risks_app:new')}?request={request.pk}&task={task.pk}",
                "icon": "exclamation-triangle",
                "id": "report-risk",
                "css": "btn-outline-danger",
            }
        ]
    return context


def case_context(user, collab_request: CollabRequest) -> dict:
    """The case page's risk card: the open risks `user` sees, by level, with the list
    and the report button."""
    now = timezone.now()
    base = selectors.register_base(user, collab_request.pk)
    return {
        "risks_case": {
            "summary": selectors.summary(base, now),
            "open": list(
                base.filter(rules.open_q()).select_related("owner").order_by("-reported_at")[:5]
            ),
            "can_report": permissions.can_report(user, collab_request),
            "list_url": reverse("risks_app:request", args=[collab_request.pk]),
            "new_url": f"{reverse('risks_app:new')}?request={collab_request.pk}",
        }
    }


def todo_context(user) -> dict:
    """The reports waiting on `user`: to organise (the PMO) or to conclude (an owner)."""
    rows = Risk.objects.exclude(request__is_archived=True).select_related("request")
    to_organise = (
        list(rows.filter(state=RiskState.REPORTED).order_by("reported_at"))
        if (user.is_pmo or user.is_platform_admin)
        else []
    )
    mine = list(rows.filter(state=RiskState.RESPONDING, owner=user).order_by("response_due"))
    return {
        "risks_todo": {"to_organise": to_organise, "mine": mine, "now": timezone.now()},
        "risks_todo_count": len(to_organise) + len(mine),
    }


def register() -> None:
    task_hooks.register_task_page(task_page)
