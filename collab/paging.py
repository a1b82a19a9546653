"""Paged lists: the page shown and the links of the pager and of the filters."""

from __future__ import annotations

from django.core.paginator import Paginator


def query_without(request, *names: str) -> str:
    """Return the page's query string without `names` (the page number, a tab's key),
    for links that keep the person's filters."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def paginate(request, rows, per_page: int) -> dict:
    """Return the context of a paged list: `page` (the one asked for, else the nearest),
    `page_range` (elided around it) and `query`, the filters without the page number."""
    page = Paginator(rows, per_page).get_page(request.GET.get("page"))
    return {
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2),
        "query": query_without(request, "page"),
    }
