"""The meetings card of the request page (templates/requests_app/detail.html).

requests_app sits below meetings_app and never imports it; its page template loads this
library by name, as it names the later stages' URLs.
"""

from __future__ import annotations

from django import template

from .. import permissions, selectors

register = template.Library()


@register.inclusion_tag("meetings_app/_request_card.html", takes_context=True)
def request_meetings_card(context, request_obj):
    """Show how many meetings the request has and the next one, with a button to call
    one for whoever may (three to five queries)."""
    user = context["request"].user
    return {
        "object": request_obj,
        "summary": selectors.request_summary(user, request_obj),
        "can_schedule": permissions.can_schedule(user, request_obj),
    }
