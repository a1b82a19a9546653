"""The case page 結案頁: the closing of a case on one page (task acceptance, the final
acceptance, the retrospective, feedback and the archive).

Each section is an area of review_app with a `case_context(user, request)` (and a
`todo_context(user)` for the to-do page). review_app.views, which imports every area,
lists them here with register_areas(); this module imports none, so an area's own view
can show the page again with its refused form as typed (closing) without an import
cycle.
"""

from __future__ import annotations

from types import ModuleType

from django.shortcuts import render
from django.views.decorators.http import require_safe

from requests_app import permissions as request_permissions

# (name, area module), in the order their sections appear on the to-do and case pages.
AREAS: list[tuple[str, ModuleType]] = []


def register_areas(*areas: tuple[str, ModuleType]) -> None:
    """Add the areas, in page order (registering one twice is harmless)."""
    for area in areas:
        if area not in AREAS:
            AREAS.append(area)


def render_case(request, collab_request, *, own: tuple[str, dict] | None = None, status=200):
    """Render the case page; `own` (area name, context) replaces that area's section,
    for a view that shows its refused form again."""
    context = {"object": collab_request, "request_obj": collab_request}
    for name, area in AREAS:
        if own is not None and name == own[0]:
            context.update(own[1])
        else:
            context.update(area.case_context(request.user, collab_request))
    return render(request, "review_app/case.html", context, status=status)


@require_safe
def case(request, pk):
    """The case page. Visible to whoever can see the request."""
    collab_request = request_permissions.get_visible_or_404(request.user, pk)
    return render_case(request, collab_request)
