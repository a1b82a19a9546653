"""Portal-wide permission rules. Views ask here; they never test roles themselves.

Each app keeps its own object rules in its permissions module (built on
django-guardian); this one holds the rules that depend only on the person.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from .models import User


def get_or_404(rows: QuerySet, pk):
    """Return row `pk` among `rows` (those a person may see); otherwise 404, a malformed
    pk included, so that whether the row exists stays hidden."""
    try:
        return rows.get(pk=pk)
    except (rows.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def can_view_dashboard(user: User) -> bool:
    """PMO, executives and platform admins see the whole dashboard; department heads, and
    deputies while a delegation runs, see it scoped to their departments."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.sees_everything or can_view_department_work(user)


def can_view_department_work(user: User) -> bool:
    """Heads, and deputies while a delegation runs, see their departments' work."""
    from .selectors import departments_actable

    return (
        bool(user.is_authenticated and user.is_active) and departments_actable(user=user).exists()
    )


def can_manage_delegations(user: User) -> bool:
    """Heads name their own deputies; platform admins name them for any head."""
    from .selectors import user_is_head

    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_platform_admin or user_is_head(user)


def require(rule):
    """Decorate a view so that it answers 403 unless `rule(request.user)` holds."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not rule(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
