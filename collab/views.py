from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import health, notifications, selectors


def home(request):
    """Show the signed-in user's starting page."""
    user = request.user
    context = {
        "headed": user.headed_departments.all(),
        "actable": selectors.departments_actable(user=user),
        "delegations_received": selectors.delegations_active()
        .filter(deputy=user)
        .select_related("head", "department"),
        "delegations_given": user.delegations_given.select_related("deputy", "department")[:5],
    }
    return render(request, "collab/home.html", context)


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Report the database and broker status as JSON: 200 when both are up, else 503."""
    checks = {"database": health.database_status(), "broker": health.broker_status()}
    healthy = all(value in ("ok", "eager") for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )


# --- notifications -------------------------------------------------------------------

NOTIFICATIONS_PER_PAGE = 20


@require_GET
def notification_list(request):
    """List the user's notifications, newest first, unread ones highlighted, by pages."""
    unread_only = request.GET.get("unread") == "1"
    rows = notifications.notifications_for(user=request.user, unread_only=unread_only)
    page = Paginator(rows, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "collab/notifications.html",
        {"page_obj": page, "unread_only": unread_only},
    )


@require_GET
def notification_open(request, pk):
    """Mark the user's notification read and follow its link (others' answer 404)."""
    note = notifications.notification_open(user=request.user, pk=pk)
    if note.url and url_has_allowed_host_and_scheme(
        note.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(note.url)
    return redirect("notifications")


@require_POST
def notification_read_all(request):
    """Mark every unread notification of the user read."""
    count = notifications.mark_read(user=request.user)
    if count:
        messages.success(
            request,
            ngettext(
                "Marked %(count)d notification as read.",
                "Marked %(count)d notifications as read.",
                count,
            )
            % {"count": count},
        )
    return redirect("notifications")
