"""The risks card of the request page (templates/requests_app/detail.html).

requests_app sits below risks_app and never imports it; its page template loads this
library by name, as it names the later stages' URLs.
"""

from __future__ import annotations

from django import template

from .. import hooks

register = template.Library()


@register.inclusion_tag("risks_app/includes/panel_case.html", takes_context=True)
def request_risks_card(context, request_obj):
    """The request's open risks by level, with the register and the report button."""
    return hooks.case_context(context["request"].user, request_obj)
