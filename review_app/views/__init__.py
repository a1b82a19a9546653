from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from requests_app import permissions as request_permissions
from requests_app import selectors as request_selectors
from tasks_app import discussion_views as task_discussion
from tasks_app import selectors as task_selectors

from . import acceptance, archive, closing, feedback

# The areas of review_app, in the order their sections appear on the to-do and case pages.
AREAS = (
    ("acceptance", acceptance),
    ("closing", closing),
    ("feedback", feedback),
    ("archive", archive),
)


def todo(request):
    """List what waits on the user: reviews to answer, requests to confirm or revise,
    task breakdowns to sign, the 協作請求 asked of them or of their departments, and
    each review_app area's items (acceptance answers, final signatures,
    retrospectives, feedback forms)."""
    user = request.user
    context = {
        "reviews": request_selectors.reviews_todo(user=user),
        "to_confirm": list(request_selectors.requests_awaiting_confirmation(user=user)),
        "to_revise": list(request_selectors.requests_to_revise(user=user)),
        "breakdowns_to_sign": task_selectors.breakdowns_awaiting_signature(user),
        "asks": task_discussion.asks_waiting_on(user),
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


@require_safe
def case(request, pk):
    """The closing of a case on one page: task acceptance, the final acceptance, the
    retrospective, feedback and the archive. Visible to whoever can see the request."""
    collab_request = request_permissions.get_visible_or_404(request.user, pk)
    context = {"object": collab_request, "request_obj": collab_request}
    for _name, area in AREAS:
        context.update(area.case_context(request.user, collab_request))
    return render(request, "review_app/case.html", context)
