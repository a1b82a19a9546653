from django.conf import settings

from .permissions import can_view_dashboard


def portal(request):
    """Expose the portal name and the navigation the user may see to every template."""
    user = getattr(request, "user", None)
    return {
        "PORTAL_NAME": settings.PORTAL_NAME,
        "nav_can_dashboard": bool(user is not None and can_view_dashboard(user)),
    }
