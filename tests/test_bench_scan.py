"""`make bench` holds the warning scan to hand-written SQL that selects the same rows
(benchmarks/bench.py raw_daily_scan), on seed_scale data and with every task open
(every_task_open). Here: the SQL does select what collab.warnings.find() finds, rule by
rule, and opening every task is undone afterwards."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from benchmarks import bench
from collab import warnings as engine
from devtools_app import scale
from tasks_app.models import Task

pytestmark = pytest.mark.django_db


def _by_rule_sql(now) -> dict[str, Counter]:
    engine.rules_ensure()
    params = bench._scan_params(now)
    found = {}
    with connection.cursor() as cursor:
        for code, (sql, _heads) in bench._scan_queries().items():
            cursor.execute(sql, params)
            column = 4 if code == "acceptance_overdue" else 0
            found[code] = Counter(row[column] for row in cursor.fetchall())
    return found


def _by_rule_engine(now) -> dict[str, Counter]:
    found = {code: Counter() for code in bench._scan_queries()}
    for finding in engine.find(now=now, cadences=(engine.DAILY,)):
        found[finding.rule][finding.object_id] += 1
    return found


def _same(now) -> int:
    sql, found = _by_rule_sql(now), _by_rule_engine(now)
    assert sql == found
    return sum(sum(c.values()) for c in found.values())


def test_the_hand_written_scan_selects_what_the_engine_finds():
    scale.seed_scale(requests=300, tasks=2400, updates=5000, seed=5)
    now = timezone.now()
    assert _same(now) > 0
    assert bench.raw_daily_scan(now) == sum(sum(c.values()) for c in _by_rule_sql(now).values())


def test_every_task_open_opens_them_all_and_rolls_back():
    scale.seed_scale(requests=100, tasks=800, updates=1600, seed=5)
    states = dict(Task.objects.values_list("pk", "state"))
    assert set(states.values()) - {"in_progress"}
    now = timezone.now()
    with bench.every_task_open() as opened:
        assert opened == 800 == Task.objects.filter(state="in_progress").count()
        found = _same(now)
        overdue = _by_rule_engine(now)["task_overdue"]
        assert found > 100 and len(overdue) == Task.objects.filter(due_at__lt=now).count()
    assert dict(Task.objects.values_list("pk", "state")) == states
