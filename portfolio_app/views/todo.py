"""Page: the to-do list 待辦 of everything that waits on the user, from every app.

It reads each lower app (requests_app, tasks_app, and each area of review_app through
its `todo_context`, meetings_app's among them), which is why it lives here, at the top
of the layering.
"""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from requests_app import selectors as request_selectors
from review_app.views import AREAS
from tasks_app import selectors as task_selectors


def todo(request):
    """List what waits on the user: reviews to answer, requests to confirm or revise,
    task breakdowns to sign, the 協作請求 asked of them or of their departments, and
    each area's items (acceptance answers, final signatures, retrospectives, feedback
    forms; minutes to write, action items to confirm, my open action items)."""
    user = request.user
    context = {
        "reviews": request_selectors.reviews_todo(user=user),
        "to_confirm": list(request_selectors.requests_awaiting_confirmation(user=user)),
        "to_revise": list(request_selectors.requests_to_revise(user=user)),
        "breakdowns_to_sign": task_selectors.breakdowns_awaiting_signature(user),
        "asks": task_selectors.asks_waiting_on(user),
        "today": timezone.localdate(),
    }
    area_count = 0
    for name, area in AREAS:
        area_context = area.todo_context(user)
        area_count += area_context.get(f"{name}_todo_count", 0)
        context.update(area_context)
    context["empty"] = not (
        context["reviews"]
        or context["to_confirm"]
        or context["to_revise"]
        or context["breakdowns_to_sign"]
        or context["asks"]
        or area_count
    )
    return render(request, "review_app/todo.html", context)


urlpatterns: list = [
    path("todo/", todo, name="todo"),
]
