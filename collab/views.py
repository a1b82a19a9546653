import sys

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import errors, health, notifications, permissions, selectors, services
from .forms import DelegationForm


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
    """Report the database and broker status as JSON: 200 when both are up, else 503.

    The outbox's backlog is reported beside them (waiting, failed, the oldest message's
    age) for monitoring; a backlog does not make the web unhealthy.
    """
    checks = {"database": health.database_status(), "broker": health.broker_status()}
    healthy = all(value in ("ok", "eager") for value in checks.values())
    outbox = health.outbox_status() if checks["database"] == "ok" else {"state": "unknown"}
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks, "outbox": outbox},
        status=200 if healthy else 503,
    )


# --- deputies (代理人) -----------------------------------------------------------------

DELEGATIONS_PER_PAGE = 20


def _delegations_or_404(user):
    """Heads manage their own deputies, platform admins everyone's; others get 404."""
    if not permissions.can_manage_delegations(user):
        raise Http404
    return selectors.delegations_managed(user=user)


@require_http_methods(["GET", "POST"])
def delegation_list(request):
    """List the deputies a head has named, and name another through the service."""
    user = request.user
    rows = _delegations_or_404(user)
    if request.method == "POST":
        form = DelegationForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                delegation = services.delegation_create(
                    head=data.get("head") or user,
                    deputy=data["deputy"],
                    department=data["department"],
                    start_date=data["start_date"],
                    end_date=data["end_date"],
                    reason=data["reason"],
                    by=user,
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request, _("Deputy named: %(delegation)s.") % {"delegation": delegation}
                )
                return redirect("delegations")
    else:
        form = DelegationForm(user=user, initial={"start_date": timezone.localdate()})
    page = Paginator(rows, DELEGATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "collab/delegations.html",
        {
            "form": form,
            "page": page,
            "page_range": page.paginator.get_elided_page_range(page.number),
            "today": timezone.localdate(),
        },
    )


@require_POST
def delegation_end(request, pk):
    """End a running delegation, or drop one that has not started, through the service."""
    user = request.user
    delegation = get_object_or_404(_delegations_or_404(user), pk=pk)
    try:
        kept = services.delegation_end(delegation=delegation, by=user)
    except ValidationError as exc:
        errors.flash(request, exc)
    else:
        if kept is None:
            text = _("The delegation to %(deputy)s was removed.")
        else:
            text = _(
                "The delegation to %(deputy)s ended: from today they no longer act for %(head)s."
            )
        messages.success(request, text % {"deputy": delegation.deputy, "head": delegation.head})
    return redirect("delegations")


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


# --- errors -------------------------------------------------------------------------------

# The database cannot be reached (down, restarting, out of connections): not a bug in
# the page, so 503 "try again shortly" rather than 500.
UNAVAILABLE = (OperationalError, InterfaceError)


@login_not_required
def server_error(request):
    """handler500: a translated page that needs no database; 503 when the database is
    what failed (Django calls this inside the except block, so sys.exc_info() holds it).
    """
    exc = sys.exc_info()[1]
    unavailable = isinstance(exc, UNAVAILABLE) or (
        isinstance(exc, DatabaseError) and isinstance(exc.__cause__, UNAVAILABLE)
    )
    if translation.get_language() is None:
        translation.activate(settings.LANGUAGE_CODE)
    template = "503.html" if unavailable else "500.html"
    response = HttpResponse(loader.render_to_string(template), status=503 if unavailable else 500)
    if unavailable:
        response["Retry-After"] = "60"
    return response
