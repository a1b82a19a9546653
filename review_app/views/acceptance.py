"""Pages: task acceptance 成果驗收 (verdicts 通過 / 需整改 / 不通過 on each deliverable).

The acceptance has no page of its own: its panel sits on the task page (added through
tasks_app.hooks.register_task_page), with the answer form for whoever holds an open
seat; the answer view posts there. The to-do page lists the seats waiting on the user,
the case page every task's acceptance.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from collab import errors
from collab.errors import ServiceError
from tasks_app import permissions as task_permissions
from tasks_app import views as task_views
from tasks_app.models import Task

from ..acceptance_forms import AcceptanceAnswerForm, answered_message
from ..choices import AcceptanceOutcome, Verdict
from ..models import AcceptanceVerdict, TaskAcceptance
from ..permissions import acceptance as permissions
from ..services import acceptance as services

PANEL_TEMPLATE = "review_app/acceptance/_panel.html"

# --- the task page's panel ---------------------------------------------------------------


def task_page_context(user, task: Task, *, acceptance_forms: dict | None = None, **_extra) -> dict:
    """Return the acceptance panel's context for the task page (a tasks_app hook).

    `acceptance_forms` ({seat pk: bound form}) comes back from the answer view after an
    error, so the form shows as typed; when the seat is no longer open, the typed text
    is shown to copy instead.
    """
    rounds = services.rounds_of(task)
    if not rounds:
        return {}
    acceptance_forms = acceptance_forms or {}
    current = rounds[0]
    responsible = permissions.responsible_id(task)
    acting = None
    mine = []
    if current.outcome == AcceptanceOutcome.OPEN and user.pk != responsible:
        for verdict in current.answers:
            if verdict.decision != Verdict.PENDING:
                continue
            if verdict.reviewer_id is not None:
                if verdict.reviewer_id != user.pk:
                    continue
                verdict.acting_for = None
            else:
                if acting is None:
                    acting = permissions.acting_for(user)
                if verdict.department_id not in acting:
                    continue
                head = acting[verdict.department_id]
                if head is not None and head.pk == responsible:
                    continue
                verdict.acting_for = head
            verdict.form = acceptance_forms.get(verdict.pk) or AcceptanceAnswerForm(
                verdict=verdict, current_due_at=task.due_at
            )
            mine.append(verdict)
    mine_ids = {v.pk for v in mine}
    unsent = [
        text
        for pk, form in acceptance_forms.items()
        if pk not in mine_ids
        for text in form.typed_text()
    ]
    context = {
        "task_panels": [PANEL_TEMPLATE],
        "acceptance": {
            "rounds": rounds,
            "current": current,
            "my_seats": mine,
            "unsent": unsent,
            "today": timezone.localdate(),
            "open_form": next(iter(acceptance_forms), None),
        },
    }
    if mine:
        context["task_page_actions"] = [
            {
                "label": _("Answer the acceptance"),
                "url": f"#acceptance-seat-{mine[0].pk}",
                "icon": "clipboard-check",
                "id": "action-acceptance",
                "css": "btn-success",
            }
        ]
    return context


@require_POST
def answer(request, pk):
    """Record the user's answer on one seat; show the task page again on an error."""
    verdict = get_object_or_404(AcceptanceVerdict.objects.select_related("acceptance"), pk=pk)
    task = task_permissions.get_visible_or_404(request.user, verdict.acceptance.task_id)
    form = AcceptanceAnswerForm(request.POST, verdict=verdict, current_due_at=task.due_at)

    def again():
        return task_views.render_task_page(request, task.pk, acceptance_forms={verdict.pk: form})

    if not form.is_valid():
        messages.error(request, _("Please correct the errors below."))
        return again()
    try:
        answered = services.acceptance_answer(
            verdict=verdict, by=request.user, **form.answer_values()
        )
    except ValidationError as exc:
        form.add_service_error(exc)
        messages.error(request, _("Please correct the errors below."))
        return again()
    except ServiceError as exc:
        errors.flash(request, exc)
        return again()
    messages.success(request, answered_message(answered))
    return redirect(task.get_absolute_url() + "#acceptance")


urlpatterns: list = [
    path("acceptance/seats/<int:pk>/answer/", answer, name="acceptance-answer"),
]


# --- the case page and the to-do page ----------------------------------------------------


def case_context(user, collab_request) -> dict:
    """Context of this area's panel on the case page: every task with its acceptance.

    Rendered by templates/review_app/case/_acceptance.html; three queries.
    """
    tasks = list(
        Task.objects.filter(request=collab_request)
        .select_related("responsible_department")
        .prefetch_related(
            Prefetch(
                "acceptances",
                queryset=TaskAcceptance.objects.order_by("-round").prefetch_related("verdicts"),
            )
        )
        .order_by("sequence")
    )
    for task in tasks:
        rounds = list(task.acceptances.all())
        task.acceptance_latest = rounds[0] if rounds else None
        task.acceptance_rounds = len(rounds)
        if rounds:
            answers = list(rounds[0].verdicts.all())
            task.acceptance_passed = sum(1 for v in answers if v.decision == Verdict.PASSED)
            task.acceptance_seats = sum(1 for v in answers if v.decision != Verdict.CLOSED)
    return {
        "acceptance_tasks": tasks,
        "acceptance_done": sum(1 for t in tasks if t.state == "done"),
        "acceptance_today": timezone.localdate(),
    }


def todo_context(user) -> dict:
    """Context of this area's section of the to-do page (todo/_acceptance.html).

    The seats waiting on the user: their person seats and the department seats they may
    answer today (a deputy's marked with the head they act for), earliest due first.
    "acceptance_todo_count" says how many; a constant number of queries.
    """
    acting = permissions.acting_for(user)
    rows = permissions.keep_answerable(
        permissions.answerable_verdicts(user, acting=acting)
        .select_related("acceptance__task__request", "department")
        .order_by("acceptance__due_date", "acceptance__task__number", "pk"),
        acting,
    )
    return {
        "acceptance_todo": rows,
        "acceptance_todo_count": len(rows),
        "acceptance_today": timezone.localdate(),
    }
