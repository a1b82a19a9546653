from django.shortcuts import render
from django.utils import timezone

from collab.permissions import can_view_dashboard, require
from requests_app import selectors as request_selectors
from tasks_app import discussion_views as task_discussion


def todo(request):
    """List what waits on the user: reviews to answer, requests to confirm or revise,
    and the 協作請求 asked of them or of their departments."""
    user = request.user
    context = {
        "reviews": request_selectors.reviews_todo(user=user),
        "to_confirm": list(request_selectors.requests_awaiting_confirmation(user=user)),
        "to_revise": list(request_selectors.requests_to_revise(user=user)),
        "asks": task_discussion.asks_waiting_on(user),
        "today": timezone.localdate(),
    }
    context["empty"] = not (
        context["reviews"] or context["to_confirm"] or context["to_revise"] or context["asks"]
    )
    return render(request, "review_app/todo.html", context)


@require(can_view_dashboard)
def dashboard(request):
    """Show the PMO dashboard, scoped to a head's departments."""
    return render(request, "review_app/dashboard.html", {})
