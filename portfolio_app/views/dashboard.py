"""The PMO dashboard 儀表板 and the lists behind its numbers.

The PMO, executives and platform admins see every department; a head (or a deputy while
a delegation runs) sees the same page scoped to their departments (collab.permissions.
can_view_dashboard decides who may open it, selectors.dashboard_scope what they see).
"""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from collab.paging import paginate
from collab.permissions import can_view_dashboard, require
from collab.ratelimits import rate_limited
from risks_app import selectors as risk_selectors

from ..forms.dashboard import DashboardFilterForm, requested_period
from ..selectors import dashboard as selectors
from .analysis import picker_context

LIST_PAGE_SIZE = 25
LATE_SHOWN = 10


def _long_period(request) -> bool:
    """Whether the filter asks for more than RATE_LIMIT_LONG_PERIOD_DAYS (the counting
    over two or three years is what makes the page expensive; a year is not limited)."""
    period = requested_period(request.GET)
    return (period.end - period.start).days + 1 > settings.RATE_LIMIT_LONG_PERIOD_DAYS


# The dashboard and the lists behind its numbers share one limit per person, counted
# only for long periods (collab.ratelimits).
limit_long_periods = rate_limited("dashboard_long", applies=_long_period)


def _filter(request):
    """Parse the filter bar; return the form (with its errors) and the filter to show."""
    scope = selectors.dashboard_scope(request.user)
    departments = list(selectors.scope_departments(scope))
    form = DashboardFilterForm(request.GET or None, departments=departments)
    return form, form.filter(scope=scope, user=request.user)


def _sort_links(request, sorts) -> dict:
    """Return {sort key: query string} for the column headers of a list."""
    query = request.GET.copy()
    query.pop("page", None)
    links = {}
    for key in sorts:
        query["sort"] = key
        links[key] = query.urlencode()
    return links


def _chart_data(summary: selectors.Summary) -> dict:
    """The numbers the charts draw, with the URL each bar or slice opens."""

    def series(numbers):
        return {
            "labels": [str(n.label) for n in numbers],
            "values": [n.value for n in numbers],
            "urls": [n.url for n in numbers],
            "keys": [n.key for n in numbers],
        }

    departments = summary.departments
    return {
        "states": series(summary.requests_by_state),
        "tasks": series(
            [summary.tasks["done"], summary.tasks["in_progress"], summary.tasks["late"]]
        ),
        "risks": series(summary.risks),
        "departments": {
            "labels": [row.department.name for row in departments],
            "series": [
                {
                    "label": str(selectors.TASK_METRICS[key].label),
                    "key": key,
                    "values": [getattr(row, key).value for row in departments],
                    "urls": [getattr(row, key).url for row in departments],
                }
                for key in ("done", "open", "late")
            ],
        },
        "on_time": {
            "labels": [row.department.name for row in departments],
            "values": [row.on_time_rate for row in departments],
            "urls": [row.on_time_url for row in departments],
            "label": _("On-time rate (%)"),
        },
        "cycle": {
            "labels": [f"{row.month:%Y-%m}" for row in summary.cycle_months],
            "values": [row.average_days for row in summary.cycle_months],
            "counts": [row.count for row in summary.cycle_months],
            "urls": [row.url for row in summary.cycle_months],
            "label": _("Average cycle time (days)"),
            "count_label": _("Completed requests"),
        },
    }


@require(can_view_dashboard)
@require_safe
@limit_long_periods
def dashboard(request):
    """Requests by state, tasks done / in progress / late, the late list, each
    department's workload, on-time rate and review time, its meetings and action items,
    cycle times and risk levels."""
    form, f = _filter(request)
    sort = request.GET.get("sort", selectors.DEFAULT_TASK_SORT)
    if sort not in selectors.TASK_SORTS:
        sort = selectors.DEFAULT_TASK_SORT
    summary = selectors.summary(f)
    late = selectors.late_list(f, sort=sort, limit=LATE_SHOWN)
    meetings = selectors.meeting_summary(f)
    risks = risk_selectors.dashboard_figures(
        request.user,
        since=f.period.start,
        until=f.period.end,
        department_ids=f.department_ids,
    )
    return render(
        request,
        "review_app/dashboard.html",
        {
            "form": form,
            "f": f,
            "summary": summary,
            "meetings": meetings,
            "risks": risks,
            "risk_register_url": reverse("risks_app:register"),
            "late": late,
            "late_sort": sort,
            "late_sort_links": _sort_links(request, selectors.TASK_SORTS),
            "late_all_url": summary.tasks["late"].url + f"&sort={sort}",
            "charts": _chart_data(summary),
            "is_scoped": f.scope is not None,
            "filter_query": f.query(),
            **picker_context(request.user),
        },
    )


def _list_page(request, template: str, form, f, queryset, *, title, sorts, sort: str, **extra):
    """Render the list behind a number of the dashboard (tasks, requests or reviews):
    one page of it, sortable by its columns, with the way back."""
    context = {
        "form": form,
        "f": f,
        "title": title,
        **paginate(request, queryset, LIST_PAGE_SIZE),
        "sort": sort,
        "sort_links": _sort_links(request, sorts),
        "back_url": f"{reverse('portfolio_app:dashboard')}?{f.query()}",
        **extra,
    }
    return render(request, template, context)


def _picked(request, choices, default: str) -> str:
    value = request.GET.get("sort", default)
    return value if value in choices else default


@require(can_view_dashboard)
@require_safe
@limit_long_periods
def dashboard_tasks(request):
    """The tasks behind a task number of the dashboard."""
    form, f = _filter(request)
    metric = request.GET.get("metric", "all")
    if metric not in selectors.TASK_METRICS:
        metric = "all"
    sort = _picked(request, selectors.TASK_SORTS, selectors.DEFAULT_TASK_SORT)
    return _list_page(
        request,
        "review_app/dashboard_tasks.html",
        form,
        f,
        selectors.task_list(f, metric, sort=sort),
        title=str(selectors.TASK_METRICS[metric].label),
        sorts=selectors.TASK_SORTS,
        sort=sort,
        metric=metric,
        kind="tasks",
    )


@require(can_view_dashboard)
@require_safe
@limit_long_periods
def dashboard_requests(request):
    """The requests behind a request number of the dashboard."""
    form, f = _filter(request)
    metric = request.GET.get("metric", "submitted")
    if metric not in selectors.REQUEST_METRICS:
        metric = "submitted"
    cycle = request.GET.get("cycle", "")
    buckets = {key: label for key, label, _lower, _upper in selectors.CYCLE_BUCKETS}
    if metric != "completed" or cycle not in buckets:
        cycle = ""
    default = "completed" if metric == "completed" else "submitted"
    sort = _picked(request, selectors.REQUEST_SORTS, default)
    title = str(selectors.REQUEST_METRICS[metric].label)
    if cycle:
        title = f"{title} · {buckets[cycle]}"
    return _list_page(
        request,
        "review_app/dashboard_requests.html",
        form,
        f,
        selectors.request_list(f, metric, cycle=cycle, sort=sort),
        title=title,
        sorts=selectors.REQUEST_SORTS,
        sort=sort,
        metric=metric,
        kind="requests",
    )


@require(can_view_dashboard)
@require_safe
@limit_long_periods
def dashboard_reviews(request):
    """The review answers behind a department's review time."""
    form, f = _filter(request)
    sort = _picked(request, selectors.REVIEW_SORTS, "decided")
    return _list_page(
        request,
        "review_app/dashboard_reviews.html",
        form,
        f,
        selectors.review_list(f, sort=sort),
        title=_("Review answers"),
        sorts=selectors.REVIEW_SORTS,
        sort=sort,
        kind="reviews",
    )


urlpatterns = [
    path("dashboard/", dashboard, name="dashboard"),
    path("dashboard/tasks/", dashboard_tasks, name="dashboard-tasks"),
    path("dashboard/requests/", dashboard_requests, name="dashboard-requests"),
    path("dashboard/reviews/", dashboard_reviews, name="dashboard-reviews"),
]
