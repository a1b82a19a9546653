"""Pages of review_app, one module per area, and the case page that shows them together
(case_page). The to-do page that lists each area's items is portfolio_app's. The
meetings and minutes of a case are meetings_app's area (meetings_app.hooks), its risk
reports risks_app's (risks_app.hooks)."""

from meetings_app import hooks as meetings
from risks_app import hooks as risks

from . import acceptance, archive, closing, feedback
from .case_page import AREAS, case, register_areas

register_areas(
    ("acceptance", acceptance),
    ("closing", closing),
    ("feedback", feedback),
    ("archive", archive),
    ("meetings", meetings),
    ("risks", risks),
)

__all__ = ["AREAS", "case"]
