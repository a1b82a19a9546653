"""`make bench` holds the warning scan to hand-written SQL that selects the same rows
(benchmarks/bench.py raw_daily_scan), on seed_scale data and with every task open
(every_task_open). Here: the SQL does select what collab.warnings.find() finds, rule by
rule, and opening every task is undone afterwards."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType
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
        for key, (sql, _heads) in bench._scan_queries().items():
            cursor.execute(sql, params)
            column = 4 if key == "acceptance_overdue" else 0
            # A rule's objects of several kinds (tasks and action items) count together,
            # by id, as the engine's findings below do.
            counter = found.setdefault(bench.rule_of(key), Counter())
            counter.update(row[column] for row in cursor.fetchall())
    return found


def _by_rule_engine(now, model=None) -> dict[str, Counter]:
    """The engine's findings by rule and object id (of `model` only, when given)."""
    found = {bench.rule_of(key): Counter() for key in bench._scan_queries()}
    kind = ContentType.objects.get_for_model(model).pk if model else None
    for finding in engine.find(now=now, cadences=(engine.DAILY,)):
        if kind is None or finding.content_type_id == kind:
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
        overdue = _by_rule_engine(now, Task)["task_overdue"]
        assert found > 100 and len(overdue) == Task.objects.filter(due_at__lt=now).count()
    assert dict(Task.objects.values_list("pk", "state")) == states
