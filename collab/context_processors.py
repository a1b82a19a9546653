from django.conf import settings
from django.utils.functional import SimpleLazyObject

from . import notifications
from .permissions import (
    can_manage_delegations,
    can_view_dashboard,
    can_view_department_work,
)


def portal(request):
    """Expose the portal name and the navigation the user may see to every template.

    `nav_unread` (the bell's count) is lazy: one COUNT query on the pages that show the
    navbar, none elsewhere (admin, mails) and none for anonymous visitors.
    """
    user = getattr(request, "user", None)
    context = {
        "PORTAL_NAME": settings.PORTAL_NAME,
        "nav_can_dashboard": bool(user is not None and can_view_dashboard(user)),
    }
    if user is not None and user.is_authenticated:
        context["nav_unread"] = SimpleLazyObject(lambda: notifications.unread_count(user))
        context["nav_can_department"] = SimpleLazyObject(lambda: can_view_department_work(user))
        # The deputies page is for heads and platform admins, who are all staff (admin
        # users, user_sync_access): the is_staff test spares everyone else a query.
        context["nav_can_delegate"] = SimpleLazyObject(
            lambda: user.is_staff and can_manage_delegations(user)
        )
    return context
