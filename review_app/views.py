from django.shortcuts import render

from collab.permissions import can_view_dashboard, require


def todo(request):
    """List what waits on the user: reviews, sign-offs and acceptances."""
    return render(request, "review_app/todo.html", {"items": []})


@require(can_view_dashboard)
def dashboard(request):
    """Show the PMO dashboard, scoped to a head's departments."""
    return render(request, "review_app/dashboard.html", {})
