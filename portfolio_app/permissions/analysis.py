"""Who may open the monthly collaboration analysis 協作分析報告, over what, and who
may see and send its dispatches.

Decisions:

- Opening the report (the PDF on demand). Whoever may open the PMO dashboard, over the
  same departments as the dashboard shows them: the PMO, executives and platform admins
  get the company-wide report; a department head gets the same report over the
  departments they act for (portfolio_app.selectors.dashboard.dashboard_scope), which holds
  only their departments' figures, the feedback concerning them and the suggestions they
  proposed, all of which they may read anyway. Staff get 403.
- The e-mail on the 1st goes to the active executives (portfolio_app.services.analysis);
  it is the company-wide report.
- The dispatch log in admin: the PMO, executives and platform admins see it; the PMO
  and platform admins may send a month that has not gone out yet ("Send now").
"""

from __future__ import annotations

from collab.models import User
from collab.permissions import can_view_dashboard

from ..selectors.dashboard import dashboard_scope


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def can_view_analysis(user: User) -> bool:
    """The report is open to whoever sees the PMO dashboard."""
    return _active(user) and can_view_dashboard(user)


def analysis_scope(user: User) -> tuple[int, ...] | None:
    """Return the departments `user`'s report covers: None for the whole company."""
    return dashboard_scope(user)


def can_view_dispatches(user: User) -> bool:
    """The PMO, executives and platform admins see which months were sent to whom."""
    return _active(user) and user.sees_everything


def can_send_analysis(user: User) -> bool:
    """The PMO and platform admins send a month's report by hand when it did not go out."""
    return _active(user) and (user.is_pmo or user.is_platform_admin)
