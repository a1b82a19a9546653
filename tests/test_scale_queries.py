"""The pages `make bench` times run as many queries on a big portfolio as on a small one.

Issue 7 holds every page to the same query count at 1k and at 100k tasks; the bench
(benchmarks/bench.py) checks that at full size, this test at small sizes, so that an
N+1 fails the suite. Both sizes are seed_scale data (devtools_app.scale), and the people
and cases are chosen as the bench chooses them: at the larger size, the ones nearest
to those of the smaller size. The dashboard and the analysis report have their own
query-count tests (test_review_dashboard, test_review_analysis*); the warning scan's
is in test_warning_engine.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from benchmarks import bench
from devtools_app import scale
from tests.helpers import count_queries

pytestmark = pytest.mark.django_db

SMALL = {"requests": 60, "tasks": 480, "seed": 11}
LARGE = {"requests": 240, "tasks": 1920, "seed": 11}


def _pages(subjects: dict) -> dict[str, tuple]:
    """Return {page: (user, url)} for every page and PDF of the bench but the dashboard
    and the analysis report."""
    pmo, head, staff = subjects["pmo"], subjects["head"], subjects["staff"]
    case, closed = subjects["case"], subjects["closed"]
    assert case is not None and closed is not None, "the seed has no ongoing or closed case"
    listed = reverse("requests_app:mine") + "?scope=all"
    risk = bench._case_risk(case)
    assert risk is not None, "the seed has no risk report"
    risks = reverse("risks_app:register")
    return {
        "我的任務 (staff)": (staff, reverse("tasks_app:mine")),
        "request list (PMO)": (pmo, listed),
        "request list (staff)": (staff, listed),
        "admin request list (head)": (head, "/admin/requests_app/collabrequest/"),
        "request page": (case.initiator, reverse("requests_app:detail", args=[case.pk])),
        "board": (case.initiator, reverse("tasks_app:board", args=[case.pk])),
        "PDF request": (case.initiator, reverse("requests_app:pdf", args=[case.pk])),
        "PDF breakdown": (case.initiator, reverse("tasks_app:breakdown-pdf", args=[case.pk])),
        "PDF progress": (case.initiator, reverse("tasks_app:progress-pdf", args=[case.pk])),
        "PDF final acceptance": (
            closed.initiator,
            reverse("review_app:final-acceptance-pdf", args=[closed.pk]),
        ),
        "PDF retrospective": (
            closed.initiator,
            reverse("review_app:retrospective-pdf", args=[closed.pk]),
        ),
        "risk register (PMO)": (pmo, risks),
        "risk register (head)": (head, risks),
        "risks of the request": (pmo, reverse("risks_app:request", args=[risk.request_id])),
        "risk report page": (pmo, reverse("risks_app:detail", args=[risk.pk])),
        "PDF risk report": (pmo, reverse("risks_app:pdf", args=[risk.pk])),
    }


def _count(pages: dict[str, tuple]) -> dict[str, tuple[int, list]]:
    """Fetch each page twice (the first warms the caches) and count the second's queries."""
    counts = {}
    clients: dict[int, Client] = {}
    for name, (user, url) in pages.items():
        if user.pk not in clients:
            clients[user.pk] = Client()
            clients[user.pk].force_login(user)
        client = clients[user.pk]
        assert client.get(url).status_code == 200, name
        counts[name] = count_queries(lambda c=client, u=url: c.get(u))
    return counts


def _format(queries: list) -> str:
    return "\n".join(f"  {i}. {q['sql'][:300]}" for i, q in enumerate(queries, start=1))


def test_bench_pages_run_as_many_queries_on_four_times_the_data():
    """Every bench page but the dashboard and the analysis report: the same number of
    queries after the portfolio grows fourfold, each page then showing more rows (the
    person and the cases nearest to twice the small size's tasks and updates)."""
    scale.seed_scale(**SMALL)
    small_subjects = bench._subjects()
    small = _count(_pages(small_subjects))
    traits = bench._traits(small_subjects)

    scale.seed_scale(**LARGE, reset=True)
    # The same head's department; a person and cases with about twice as much, the
    # case viewed by an initiator of the same kind (staff or not).
    bigger = {
        key: values if key == "head" else tuple(2 * n for n in values)
        for key, values in traits.items()
        if key != "case"
    }
    n_tasks, n_updates, initiator_is_staff = traits["case"]
    bigger["case"] = (2 * n_tasks, 2 * n_updates, initiator_is_staff)
    # The busiest staff member: the seed spreads the larger portfolio over four times the
    # people too, so on some days nobody has twice the small one's open tasks.
    bigger["staff"] = (10**6, 10**6)
    large_subjects = bench._subjects(like=bigger)
    large = _count(_pages(large_subjects))

    # Otherwise a query per row would go unnoticed.
    grown = bench._traits(large_subjects)
    assert sum(grown["staff"]) > sum(traits["staff"]), (traits, grown)
    assert grown["case"][0] > traits["case"][0], (traits, grown)
    assert grown["case"][1] > traits["case"][1], (traits, grown)
    assert grown["closed"][0] > traits["closed"][0], (traits, grown)
    grew = {name: (small[name], large[name]) for name in small if small[name][0] != large[name][0]}
    assert not grew, "\n".join(
        f"{name}: {s[0]} queries at {SMALL['tasks']} tasks, {g[0]} at {LARGE['tasks']}\n"
        f"--- small ---\n{_format(s[1])}\n--- large ---\n{_format(g[1])}"
        for name, (s, g) in grew.items()
    )
