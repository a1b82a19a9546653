from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health, selectors


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
