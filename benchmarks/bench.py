"""`make bench`: the portal's pages at 1k and at 100k tasks, on PostgreSQL, as a table.

    .venv/bin/python benchmarks/bench.py                 # what `make bench` runs
    .venv/bin/python benchmarks/bench.py --runs 15 --reseed

1. Data. Two databases on BENCH_PG_URL (default the local server as postgres):
   collab_bench_1k (100 requests, 1,000 tasks) and collab_bench_100k (10,000 requests,
   100,000 tasks, 300,000 progress updates, about 50,000 meetings, 150,000 action
   items and a risk report per two confirmed requests), migrated and filled by
   `manage.py seed_scale`. Each remembers what filled it (table bench_seed: the seed
   parameters and the row counts after seeding); a later run migrates and reuses a
   database whose record and counts still match, and drops and refills one that does
   not.
2. Pages. For each size a fresh Python process (benchmarks/settings.py: DEBUG off, so
   templates are cached as in production) logs people in with django.test.Client and
   times each page in-process: warm-up runs first, then the median wall time of --runs
   runs, and the number of SQL queries of one more run. The people and cases are chosen
   alike at both sizes (_subjects: the large size takes the nearest to the small one's;
   the report says who and what), and a bare page that renders templates/base.html
   (benchmarks/urls.py) is timed in the same process, before and after the pages, as
   the yardstick. The sizes are measured alternately, --rounds times (default 2), and
   the samples of the rounds pooled, so that the machine's drift over minutes does not
   land on one size.
3. Targets (issue 7): the same query count at both sizes; at most 2x the 1k time at
   100k; the dashboard median at most 300 ms at 100k; the daily warning scan
   (collab.warnings.find: the rules' queries, texts and recipients) at most 2x the
   hand-written SQL that selects the same rows (raw_daily_scan), on the seeded data and
   with every task open (every_task_open: 100k open tasks, in a transaction rolled
   back); each PDF at most 1 s. A missed target is printed as a named gap; the exit
   code is 0 all the same: this is a report.
4. Permissions at scale: EXPLAIN (ANALYZE, BUFFERS) at 10k requests of the scoping as
   the pages use it (requests_app.permissions.visible_requests for a head and for
   staff, tasks_app.permissions for staff), and whether a plan reads a permission table
   or the scoped table sequentially.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "benchmarks.settings"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
# size -> (requests, tasks); the database is collab_bench_<size>
SIZES = {"1k": (100, 1_000), "100k": (10_000, 100_000)}
SMALL, LARGE = "1k", "100k"
# Targets of issue 7.
RATIO_MAX = 2.0
DASHBOARD_MS_MAX = 300.0
SCAN_VS_SQL_MAX = 2.0
PDF_MS_MAX = 1000.0
# 我的任務 is compared for people with the same load at both sizes: the staff member whose
# numbers of open tasks as R and of open tasks watched (A, C, I) are nearest to these (a
# person's own list does not grow with the company; the notes say what they have).
MY_OPEN_TASKS = 10
MY_WATCHED_TASKS = 10
# The request behind the request page, the board and the PDFs has this many tasks.
CASE_TASKS = 10

SEED_TABLE = """
CREATE TABLE IF NOT EXISTS bench_seed (
    id serial PRIMARY KEY,
    requests integer NOT NULL,
    tasks integer NOT NULL,
    command text NOT NULL,
    counts jsonb NOT NULL,
    seconds real NOT NULL,
    seeded_at timestamptz NOT NULL DEFAULT now()
)
"""
# What a seeded database is checked against; a table added here (e.g. when seed_scale
# learns to make 協作請求) makes the databases seeded before it be rebuilt.
COUNTED = {
    "requests": "requests_app_collabrequest",
    "tasks": "tasks_app_task",
    "updates": "tasks_app_progressupdate",
    "users": "collab_user",
    "asks": "tasks_app_collabask",
    "acceptances": "review_app_taskacceptance",
    "meetings": "meetings_app_meeting",
    "action_items": "meetings_app_actionitem",
    "risks": "risks_app_risk",
}


def say(message: str = "") -> None:
    print(message, flush=True)


# --- data: databases filled by seed_scale, reused when they still match -----------------


def _db_url(name: str) -> str:
    parsed = urlparse(PG_URL)
    return urlunparse(parsed._replace(path="/" + name))


def _pg(dbname: str):
    import psycopg2

    parsed = urlparse(_db_url(dbname))
    conn = psycopg2.connect(
        dbname=dbname,
        user=parsed.username or "postgres",
        password=parsed.password or None,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
    )
    conn.autocommit = True
    return conn


def _manage(db: str, *args: str, quiet: bool = False) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": _db_url(db)}
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    out = subprocess.DEVNULL if quiet else None
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=out)  # noqa: S603 (our argv)


def _seed_command(template: str, requests: int, tasks: int) -> list[str]:
    return shlex.split(template.format(requests=requests, tasks=tasks))


def _counts(conn) -> dict:
    with conn.cursor() as cur:
        counts = {}
        for key, table in COUNTED.items():
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (constant names)
            counts[key] = cur.fetchone()[0]
    return counts


def _seed_record(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('bench_seed')")
        if cur.fetchone()[0] is None:
            return None
        cur.execute(
            "SELECT requests, tasks, command, counts, seeded_at FROM bench_seed "
            "ORDER BY id DESC LIMIT 1"
        )
        return cur.fetchone()


def prepare(size: str, db: str, requests: int, tasks: int, args) -> None:
    """Make `db` hold the seed of this size: reuse it, or (re)create, migrate and seed it."""
    # Not `with conn`: psycopg2 would open a transaction, where CREATE DATABASE fails.
    with closing(_pg("postgres")) as admin, admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
        exists = cur.fetchone() is not None
    reason = "it does not exist"
    if exists:
        conn = _pg(db)
        try:
            record = _seed_record(conn)
            if args.reseed:
                reason = "--reseed was given"
            elif record is None:
                reason = "it holds no seed record"
            elif (record[0], record[1]) != (requests, tasks):
                reason = f"it was seeded for {record[0]} requests / {record[1]} tasks"
            else:
                counts = _counts(conn)
                if set(counts) != set(record[3]):
                    reason = "it was seeded by an earlier seed_scale (other tables counted)"
                elif counts != record[3]:
                    reason = f"its rows changed since seeding ({record[3]} -> {counts})"
                else:
                    say(
                        f"[{size}] reusing {db}: {counts['requests']:,} requests, "
                        f"{counts['tasks']:,} tasks, {counts['updates']:,} progress updates, "
                        f"{counts['users']:,} users (seeded {record[4]:%Y-%m-%d %H:%M})"
                    )
                    say(f"[{size}] migrating {db} (new migrations only)")
                    _manage(db, "migrate", "--noinput", "-v0")
                    with conn.cursor() as cur:
                        cur.execute("ANALYZE")
                    return
        finally:
            conn.close()
    say(f"[{size}] building {db} because {reason}")
    with closing(_pg("postgres")) as admin, admin.cursor() as cur:
        if exists:
            cur.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{db}"')
    say(f"[{size}] migrating {db}")
    _manage(db, "migrate", "--noinput", "-v0")
    command = _seed_command(args.seed_command, requests, tasks)
    say(f"[{size}] seeding {db}: {' '.join(command)}")
    started = time.perf_counter()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": _db_url(db)}
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603 (--seed-command)
    seconds = time.perf_counter() - started
    say(f"[{size}] seeded in {seconds:.0f} s")
    conn = _pg(db)
    try:
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
        counts = _counts(conn)
        with conn.cursor() as cur:
            cur.execute(SEED_TABLE)
            cur.execute(
                "INSERT INTO bench_seed (requests, tasks, command, counts, seconds) "
                "VALUES (%s, %s, %s, %s, %s)",
                [requests, tasks, " ".join(command), json.dumps(counts), seconds],
            )
    finally:
        conn.close()
    say(
        f"[{size}] {db} holds {counts['requests']:,} requests, {counts['tasks']:,} tasks, "
        f"{counts['updates']:,} progress updates, {counts['users']:,} users"
    )


def _child(size: str, db: str, extra: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": _db_url(db)}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", size, *extra]
    return subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603 (our argv)


# --- measuring, in a child process per database -----------------------------------------


@dataclass
class Result:
    key: str
    label: str
    kind: str  # page, pdf, scan, sql, bare
    queries: int | None = None
    median_ms: float | None = None
    samples_ms: list[float] = field(default_factory=list)
    error: str = ""


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()


def _timed(call, runs: int, warmup: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        call()
    with CaptureQueriesContext(connection) as ctx:
        call()
    # Now: the next request clears connection.queries (reset_queries on request_started).
    queries = len(ctx.captured_queries)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, queries


class Pages:
    """Log people in once and fetch pages as them, checking each answer."""

    def __init__(self):
        self.clients = {}

    def client(self, user):
        from django.test import Client

        if user.pk not in self.clients:
            client = Client(raise_request_exception=True)
            client.force_login(user)
            self.clients[user.pk] = client
        return self.clients[user.pk]

    def fetcher(self, user, url: str, *, pdf: bool = False):
        client = self.client(user)

        def fetch():
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}")
            body = response.content
            if pdf and not body.startswith(b"%PDF"):
                raise RuntimeError(f"GET {url} did not answer a PDF")
            return body

        return fetch

    def logout(self):
        for client in self.clients.values():
            client.logout()


def _subjects(like: dict | None = None) -> dict:
    """Choose the people and the cases to measure, alike at both sizes.

    The small size chooses by the constants above; the large one then takes whoever
    and whatever is nearest to what the small one chose (`like`, its `_traits`), so
    that a page shows about as much at both sizes and only the database has grown.
    """
    from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value
    from django.db.models.functions import Abs, Coalesce
    from django.utils import timezone

    from collab.choices import Role
    from collab.models import Department, User
    from requests_app.choices import RequestState
    from requests_app.models import CollabRequest
    from review_app.choices import FinalOutcome
    from review_app.models import FinalAcceptance, Retrospective
    from tasks_app.choices import OPEN_TASK_STATES, RaciRole, TaskState
    from tasks_app.models import ProgressUpdate, Task, TaskAssignment

    like = like or {}
    subjects: dict = {}
    subjects["pmo"] = User.objects.filter(role=Role.PMO, is_active=True).order_by("pk").first()
    executive = User.objects.filter(role=Role.EXECUTIVE, is_active=True).order_by("pk").first()
    subjects["executive"] = executive or subjects["pmo"]
    # The head of the department with the most late tasks (so that every list of their
    # dashboard has rows), then the most tasks; at the large size, the same department.
    late = Q(
        responsible_tasks__state__in=[TaskState.TODO, TaskState.IN_PROGRESS],
        responsible_tasks__due_at__lt=timezone.now(),
    )
    departments = Department.objects.filter(heads__is_active=True)
    if "head" in like:
        departments = departments.filter(code=like["head"][0])
    department = (
        departments.annotate(
            n_late=Count("responsible_tasks", filter=late, distinct=True),
            n=Count("responsible_tasks", distinct=True),
        )
        .order_by("-n_late", "-n", "pk")
        .first()
    )
    subjects["head"] = (
        department.heads.filter(is_active=True).order_by("pk").first() if department else None
    )

    # Staff (no headship) with as much on 我的任務 at both sizes: the page lists, without
    # pages, a person's open tasks as R and the open tasks they watch as A, C or I.
    def open_tasks(roles):
        return Coalesce(
            Subquery(
                TaskAssignment.objects.filter(
                    user=OuterRef("pk"), role__in=roles, task__state__in=OPEN_TASK_STATES
                )
                .order_by()
                .values("user")
                .annotate(n=Count("task", distinct=True))
                .values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        )

    open_r, watched = like.get("staff", (MY_OPEN_TASKS, MY_WATCHED_TASKS))
    subjects["staff"] = (
        User.objects.filter(role=Role.STAFF, is_active=True, department__isnull=False)
        .exclude(Exists(Department.heads.through.objects.filter(user=OuterRef("pk"))))
        .annotate(
            open_r=open_tasks([RaciRole.RESPONSIBLE]),
            watched=open_tasks([RaciRole.ACCOUNTABLE, RaciRole.CONSULTED, RaciRole.INFORMED]),
        )
        # Both lists on the page, so that neither is left out for being empty.
        .filter(open_r__gte=1, watched__gte=1)
        .annotate(gap=Abs(F("open_r") - open_r) + Abs(F("watched") - watched))
        .order_by("gap", "pk")
        .first()
    )

    # An ongoing case of CASE_TASKS tasks with the most progress logged (small size), or
    # the one nearest to it in tasks and progress updates (large size).
    def per_request(model, path: str):
        return Coalesce(
            Subquery(
                model.objects.filter(**{path: OuterRef("pk")})
                .order_by()
                .values(path)
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        )

    def updates():
        return per_request(ProgressUpdate, "task__request")

    def tasks():
        return per_request(Task, "request")

    ongoing = CollabRequest.objects.filter(
        state=RequestState.IN_PROGRESS, is_archived=False
    ).annotate(n_tasks=tasks(), n_updates=updates())
    if "case" in like:
        n_tasks, n_updates, initiator_is_staff = like["case"]
        # The viewer alike too: the navbar asks a staff user one more question (may
        # they name deputies?), which is the viewer's role, not the portfolio's size.
        ongoing = (
            ongoing.filter(initiator__is_staff=initiator_is_staff)
            .annotate(gap=Abs(F("n_tasks") - n_tasks) * 10 + Abs(F("n_updates") - n_updates))
            .order_by("gap", "pk")
        )
    else:
        ongoing = ongoing.annotate(gap=Abs(F("n_tasks") - CASE_TASKS)).order_by(
            "gap", "-n_updates", "pk"
        )
    subjects["case"] = ongoing.first()
    # A completed case with its signed final acceptance and its retrospective.
    signed = FinalAcceptance.objects.filter(request=OuterRef("pk"), outcome=FinalOutcome.SIGNED)
    retro = Retrospective.objects.filter(request=OuterRef("pk"))
    n_tasks = like.get("closed", (CASE_TASKS,))[0]
    subjects["closed"] = (
        CollabRequest.objects.filter(state=RequestState.COMPLETED)
        .filter(Exists(signed), Exists(retro))
        .annotate(n_tasks=tasks())
        .annotate(gap=Abs(F("n_tasks") - n_tasks))
        .order_by("gap", "pk")
        .first()
    )
    return subjects


def _traits(subjects: dict) -> dict:
    """Return what _subjects(like=...) matches at the other size."""
    traits = {}
    if subjects["head"] is not None:
        traits["head"] = (subjects["head"].headed_departments.order_by("pk").first().code,)
    if subjects["staff"] is not None:
        traits["staff"] = (subjects["staff"].open_r, subjects["staff"].watched)
    if subjects["case"] is not None:
        case = subjects["case"]
        traits["case"] = (case.n_tasks, case.n_updates, case.initiator.is_staff)
    if subjects["closed"] is not None:
        traits["closed"] = (subjects["closed"].n_tasks,)
    return traits


def _describe(subjects: dict) -> dict:
    from requests_app.permissions import visible_requests

    notes = {}
    head, staff, case, closed = (subjects[k] for k in ("head", "staff", "case", "closed"))
    if subjects["pmo"]:
        notes["pmo"] = subjects["pmo"].username
    if head:
        notes["head"] = (
            f"{head.username} (head of {', '.join(d.code for d in head.headed_departments.all())}"
            f"; sees {visible_requests(head).count():,} requests)"
        )
    if staff:
        notes["staff"] = (
            f"{staff.username} ({staff.open_r} open tasks as R, watches {staff.watched} open "
            f"tasks; sees {visible_requests(staff).count():,} requests)"
        )
    if case:
        notes["case"] = (
            f"request {case.number} (in progress, {case.n_tasks} tasks, {case.n_updates} "
            f"progress updates; viewed by its initiator {case.initiator.username})"
        )
    if closed:
        notes["closed"] = (
            f"request {closed.number} (completed, {closed.n_tasks} tasks, final acceptance "
            f"and retrospective; viewed by its initiator {closed.initiator.username})"
        )
    return notes


def _viewer(request, fallback):
    user = request.initiator
    return user if user is not None and user.is_active else fallback


def _case_meeting(case):
    """The case's meeting with filed minutes and the most action items (the latest of
    those): its page and its 溝通記錄表 are timed."""
    from django.db.models import Count

    from meetings_app.choices import MeetingState
    from meetings_app.models import Meeting

    return (
        Meeting.objects.filter(request=case, state=MeetingState.MINUTES_FILED)
        .annotate(n_actions=Count("actions"))
        .order_by("-n_actions", "-starts_at", "pk")
        .first()
    )


def _case_risk(case):
    """The risk report whose page (and whose request's register) is timed: one 應對中
    (the owner, the deadline, the conclusion forms), the case's if it has one, else the
    latest of a request in progress; failing that a concluded one, then any. So both
    sizes time the same kind of page whatever the case: only the case's own risks vary
    with the data (one per two confirmed requests), and a 已提報 report's page lists the
    people who may own the response, one query more."""
    from django.db.models import Count

    from requests_app.choices import RequestState
    from risks_app.choices import OPEN_RISK_STATES, RiskState
    from risks_app.models import Risk

    rows = Risk.objects.annotate(n_events=Count("events")).select_related("request")
    responding = rows.filter(state=RiskState.RESPONDING, request__is_archived=False)
    latest = ("-reported_at", "pk")
    choices = [
        responding.filter(request=case) if case is not None else rows.none(),
        responding.filter(request__state=RequestState.IN_PROGRESS),
        rows.exclude(state__in=OPEN_RISK_STATES),
        rows,
    ]
    return next((risk for q in choices if (risk := q.order_by(*latest).first())), None)


def measure(
    size: str, runs: int, pdf_runs: int, warmup: int, explain: bool, like: dict | None
) -> dict:
    _setup_django()
    import datetime as dt

    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from collab import warnings as collab_warnings

    subjects = _subjects(like)
    notes = _describe(subjects)
    pages = Pages()
    pmo, head, staff, case, closed = (
        subjects[k] for k in ("pmo", "head", "staff", "case", "closed")
    )
    results: list[Result] = []

    def add(key, label, kind, call, *, n=None, warm=None):
        result = Result(key=key, label=label, kind=kind)
        try:
            samples, queries = _timed(call, n or runs, warmup if warm is None else warm)
        except Exception as exc:  # reported in the table, as an ERROR
            result.error = f"{type(exc).__name__}: {exc}"[:200]
        else:
            result.samples_ms = [round(s, 2) for s in samples]
            result.median_ms = round(statistics.median(samples), 2)
            result.queries = queries
        results.append(result)
        if result.error:
            say(f"  [{size}] {_pad(label, 42)} {result.error}")
        else:
            say(
                f"  [{size}] {_pad(label, 42)} {result.median_ms:8.1f} ms"
                f"  {result.queries:3d} queries"
            )
        return result

    def missing(key, label, kind, why):
        results.append(Result(key=key, label=label, kind=kind, error=why))
        say(f"  [{size}] {_pad(label, 42)} {why}")

    bare_url = reverse("bench-bare")
    bare_before = add("bare", "bare page (base.html)", "bare", pages.fetcher(staff, bare_url))
    dashboard = reverse("portfolio_app:dashboard")
    add("dashboard_pmo", "dashboard (PMO)", "page", pages.fetcher(pmo, dashboard))
    add("dashboard_head", "dashboard (head)", "page", pages.fetcher(head, dashboard))
    add("my_tasks", "我的任務 (staff)", "page", pages.fetcher(staff, reverse("tasks_app:mine")))
    request_list = reverse("requests_app:mine") + "?scope=all"
    add("list_pmo", "request list, all (PMO)", "page", pages.fetcher(pmo, request_list))
    add("list_staff", "request list, all (staff)", "page", pages.fetcher(staff, request_list))
    add(
        "admin_list_head",
        "admin request list (head)",
        "page",
        pages.fetcher(head, "/admin/requests_app/collabrequest/"),
    )
    if case is not None:
        viewer = _viewer(case, pmo)
        add(
            "request_page",
            "request page",
            "page",
            pages.fetcher(viewer, reverse("requests_app:detail", args=[case.pk])),
        )
        add(
            "board",
            "board 需求看板",
            "page",
            pages.fetcher(viewer, reverse("tasks_app:board", args=[case.pk])),
        )
    else:
        for key, label in (("request_page", "request page"), ("board", "board 需求看板")):
            missing(key, label, "page", "no data: no request in progress")
    add(
        "admin_meetings_head",
        "admin meeting list (head)",
        "page",
        pages.fetcher(head, "/admin/meetings_app/meeting/"),
    )
    meeting = _case_meeting(case) if case is not None else None
    if case is not None:
        viewer = _viewer(case, pmo)
        add(
            "meetings_list",
            "meetings of the request",
            "page",
            pages.fetcher(viewer, reverse("meetings_app:request", args=[case.pk])),
        )
    else:
        missing("meetings_list", "meetings of the request", "page", "no data: no request")
    if meeting is not None:
        notes["meeting"] = (
            f"meeting {meeting.pk} of the case ({meeting.kind}, {meeting.n_actions} action "
            "items, minutes filed)"
        )
        add(
            "meeting_page",
            "meeting page",
            "page",
            pages.fetcher(_viewer(case, pmo), reverse("meetings_app:detail", args=[meeting.pk])),
        )
    else:
        missing("meeting_page", "meeting page", "page", "no data: no meeting with minutes")
    risk_register = reverse("risks_app:register")
    add("risks_pmo", "risk register (PMO)", "page", pages.fetcher(pmo, risk_register))
    add("risks_head", "risk register (head)", "page", pages.fetcher(head, risk_register))
    risk = _case_risk(case)
    if risk is not None:
        whose = "the case" if case is not None and risk.request_id == case.pk else "a request"
        notes["risk"] = (
            f"risk report {risk.pk} of {whose} ({risk.state}, {risk.n_events} history lines), "
            f"its page and its request's register viewed by the PMO"
        )
        add(
            "risks_request",
            "risks of the request",
            "page",
            pages.fetcher(pmo, reverse("risks_app:request", args=[risk.request_id])),
        )
        add(
            "risk_page",
            "risk report page",
            "page",
            pages.fetcher(pmo, reverse("risks_app:detail", args=[risk.pk])),
        )
    else:
        for key, label in (
            ("risks_request", "risks of the request"),
            ("risk_page", "risk report page"),
        ):
            missing(key, label, "page", "no data: no risk report")

    now = timezone.now()
    rules = collab_warnings.rules_ensure()
    daily = {
        code: spec
        for code, spec in collab_warnings.registry().items()
        if spec.cadence == collab_warnings.DAILY and rules[code].is_active
    }
    hits = {code: len(list(spec.scan(rules[code], now))) for code, spec in daily.items()}
    notes["scan"] = ", ".join(f"{code} {n:,}" for code, n in hits.items()) + " hits"
    add(
        "warning_select",
        "warning scan: the rules' selection",
        "scan",
        lambda: [list(spec.scan(rules[code], now)) for code, spec in daily.items()],
    )
    add(
        "warning_scan",
        "warning scan: find() (+ texts, recipients)",
        "scan",
        lambda: collab_warnings.find(now=now, cadences=(collab_warnings.DAILY,)),
    )
    add("warning_sql", "  the same rows in hand-written SQL", "sql", lambda: raw_daily_scan(now))
    pdfs = []
    if case is not None:
        viewer = _viewer(case, pmo)
        pdfs += [
            ("pdf_request", "PDF 需求申請表", viewer, "requests_app:pdf", [case.pk], ""),
            ("pdf_breakdown", "PDF 任務分工表", viewer, "tasks_app:breakdown-pdf", [case.pk], ""),
            ("pdf_progress", "PDF 進度跟蹤表", viewer, "tasks_app:progress-pdf", [case.pk], ""),
        ]
    else:
        for key, label in (
            ("pdf_request", "PDF 需求申請表"),
            ("pdf_breakdown", "PDF 任務分工表"),
            ("pdf_progress", "PDF 進度跟蹤表"),
        ):
            missing(key, label, "pdf", "no data: no request in progress")
    if closed is not None:
        viewer = _viewer(closed, pmo)
        pdfs += [
            (
                "pdf_final",
                "PDF 成果驗收確認單",
                viewer,
                "review_app:final-acceptance-pdf",
                [closed.pk],
                "",
            ),
            ("pdf_retro", "PDF 復盤報告", viewer, "review_app:retrospective-pdf", [closed.pk], ""),
        ]
    else:
        for key, label in (("pdf_final", "PDF 成果驗收確認單"), ("pdf_retro", "PDF 復盤報告")):
            missing(key, label, "pdf", "no data: no completed case with its final acceptance")
    if meeting is not None:
        pdfs.append(
            (
                "pdf_minutes",
                "PDF 溝通記錄表",
                _viewer(case, pmo),
                "meetings_app:minutes-pdf",
                [meeting.pk],
                "",
            )
        )
    else:
        missing("pdf_minutes", "PDF 溝通記錄表", "pdf", "no data: no meeting with minutes")
    if risk is not None:
        pdfs.append(("pdf_risk", "PDF 風險應對申請表", pmo, "risks_app:pdf", [risk.pk], ""))
    else:
        missing("pdf_risk", "PDF 風險應對申請表", "pdf", "no data: no risk report")
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    pdfs.append(
        (
            "pdf_analysis",
            "PDF 協作分析報告",
            subjects["executive"],
            "portfolio_app:analysis-pdf",
            [],
            f"?month={last_month}",
        )
    )
    for key, label, user, name, url_args, query in pdfs:
        try:
            url = reverse(name, args=url_args) + query
        except NoReverseMatch:
            missing(key, label, "pdf", "not available (no such URL yet)")
            continue
        add(key, label, "pdf", pages.fetcher(user, url, pdf=True), n=pdf_runs)

    bare_after = add("bare_after", "bare page, again", "bare", pages.fetcher(staff, bare_url))
    pages.logout()
    # The same, with every task open (in progress, on a request in progress), inside a
    # transaction that is rolled back: the scan over 100k open tasks of issue 7.
    # Last: opening every task leaves dead rows, which every_task_open vacuums away.
    with every_task_open() as opened:
        found = collab_warnings.find(now=now, cadences=(collab_warnings.DAILY,))
        notes["open"] = (
            f"{opened:,} tasks open; find() makes {len(found):,} warnings for "
            f"{sum(len(f.recipients) for f in found):,} recipients"
        )
        open_runs = max(3, runs // 2)
        add(
            "warning_open_scan",
            "warning scan, every task open: find()",
            "scan",
            lambda: collab_warnings.find(now=now, cadences=(collab_warnings.DAILY,)),
            n=open_runs,
            warm=1,
        )
        add(
            "warning_open_sql",
            "  the same rows in hand-written SQL",
            "sql",
            lambda: raw_daily_scan(now),
            n=open_runs,
            warm=1,
        )

    bare_samples = bare_before.samples_ms + bare_after.samples_ms
    out = {
        "size": size,
        "notes": notes,
        "traits": _traits(subjects),
        "bare_ms": statistics.median(bare_samples) if bare_samples else None,
        "bare_samples": bare_samples,
        "results": [asdict(r) for r in results if not r.key.startswith("bare")],
        "bare": asdict(bare_before),
    }
    if explain:
        out["explain"] = explain_scoping(subjects)
    return out


# --- the daily scan by hand: the rows the daily rules select, in plain SQL ---------------

# Every task rule selects tasks of ongoing requests with their R and A and the request's
# initiator, joined in one query per rule; the departments' active heads (HEADS) and
# today's deputies (DEPUTIES) are read once per rule that escalates to heads.
_TASK_PEOPLE = """
SELECT t.id, t.number, t.name, t.due_at, t.progress_percent, t.last_progress_at, t.started_at,
       t.responsible_department_id, ru.id, ru.username, ru.email, ru.is_active,
       au.id, au.username, au.email, au.is_active, iu.id, iu.username, iu.email, iu.is_active
  FROM tasks_app_task t
  JOIN requests_app_collabrequest r ON r.id = t.request_id
  JOIN collab_user iu ON iu.id = r.initiator_id
  LEFT JOIN tasks_app_taskassignment ra ON ra.task_id = t.id AND ra.role = 'R'
  LEFT JOIN collab_user ru ON ru.id = ra.user_id
  LEFT JOIN tasks_app_taskassignment aa ON aa.task_id = t.id AND aa.role = 'A'
  LEFT JOIN collab_user au ON au.id = aa.user_id
 WHERE r.state = 'in_progress' AND {where}
"""
HEADS = """
SELECT dh.department_id, h.id, h.username, h.email
  FROM collab_department_heads dh JOIN collab_user h ON h.id = dh.user_id
 WHERE h.is_active
"""
DUE_SOON_WHERE = """t.state IN ('todo', 'in_progress') AND t.due_at >= %(now)s
   AND ((t.importance = 'normal' AND t.due_at <= %(normal)s)
     OR (t.importance = 'important' AND t.due_at <= %(important)s)
     OR (t.importance = 'urgent' AND t.due_at <= %(urgent)s))"""
STALE_WHERE = """t.state = 'in_progress'
   AND COALESCE(t.last_progress_at, t.started_at) <= CASE t.importance
       WHEN 'important' THEN %(stale_important)s WHEN 'urgent' THEN %(stale_urgent)s
       ELSE %(stale_normal)s END"""
OVERDUE_WHERE = "t.state IN ('todo', 'in_progress') AND t.due_at < %(now)s"
# meetings_app's action items under the same task rules (the same WHERE, on the item's
# own columns), of meetings of an open request or of none; and minutes_overdue.
_OPEN_OR_NONE = """(m.request_id IS NULL
       OR r.state IN ('draft', 'pending', 'revision', 'approved', 'in_progress'))"""
_ACTION_PEOPLE = (
    """
SELECT t.id, t.description, t.due_at, t.progress_percent, t.last_progress_at, t.started_at,
       t.responsible_department_id, ou.id, ou.username, ou.email, ou.is_active,
       gu.id, gu.username, gu.email, gu.is_active, iu.id, iu.username, iu.email, m.topic
  FROM meetings_app_actionitem t
  JOIN meetings_app_meeting m ON m.id = t.meeting_id
  JOIN collab_user ou ON ou.id = t.owner_id
  JOIN collab_user gu ON gu.id = m.organiser_id
  LEFT JOIN requests_app_collabrequest r ON r.id = m.request_id
  LEFT JOIN collab_user iu ON iu.id = r.initiator_id
 WHERE """
    + _OPEN_OR_NONE
    + """ AND {where}
"""
)
MINUTES = (
    """
SELECT m.id, m.topic, m.starts_at, ru.id, ru.username, ru.email, gu.id, gu.username, gu.email
  FROM meetings_app_meeting m
  JOIN collab_user ru ON ru.id = m.recorder_id
  JOIN collab_user gu ON gu.id = m.organiser_id
  LEFT JOIN requests_app_collabrequest r ON r.id = m.request_id
 WHERE m.state = 'scheduled' AND m.starts_at < %(minutes_cutoff)s AND """
    + _OPEN_OR_NONE
)
ASKS = """
SELECT k.id, k.content, k.expected_date, t.id, t.number, k.asked_by_id, ab.username, ab.email,
       k.to_user_id, tu.username, tu.email, k.to_department_id,
       (SELECT array_agg(ARRAY[h.id::text, h.username, h.email])
          FROM collab_department_heads dh JOIN collab_user h ON h.id = dh.user_id
         WHERE dh.department_id = k.to_department_id AND h.is_active) AS heads
  FROM tasks_app_collabask k
  JOIN tasks_app_task t ON t.id = k.task_id
  JOIN requests_app_collabrequest r ON r.id = t.request_id
  JOIN collab_user ab ON ab.id = k.asked_by_id
  LEFT JOIN collab_user tu ON tu.id = k.to_user_id
 WHERE k.status = 'open' AND k.expected_date < %(today)s
   AND r.state IN ('approved', 'in_progress') AND t.state <> 'done'
"""
REVIEWS = """
SELECT v.id, v.due_date, r.id, r.number, r.name, ini.id, ini.username, ini.email, d.id, d.name,
       (SELECT array_agg(ARRAY[h.id::text, h.username, h.email])
          FROM collab_department_heads dh JOIN collab_user h ON h.id = dh.user_id
         WHERE dh.department_id = v.department_id AND h.is_active) AS heads
  FROM requests_app_departmentreview v
  JOIN requests_app_collabrequest r ON r.id = v.request_id
  JOIN collab_user ini ON ini.id = r.initiator_id
  JOIN collab_department d ON d.id = v.department_id
 WHERE v.decision = 'pending' AND r.state = 'pending' AND v.due_date < %(today)s
   AND v.round = r.review_round
"""
RETROSPECTIVES = """
SELECT r.id, r.number, r.name, r.completed_at, ini.id, ini.username, ini.email
  FROM requests_app_collabrequest r
  JOIN collab_user ini ON ini.id = r.initiator_id
 WHERE r.state = 'completed' AND r.completed_at < %(retro_cutoff)s AND NOT r.is_archived
   AND NOT EXISTS (SELECT 1 FROM review_app_retrospective x
                    WHERE x.request_id = r.id AND x.state = 'filed')
"""
# risks_app's risk_response_overdue: 應對中 past the response deadline, not archived, with
# the owner and the request's initiator (the rule reads which of them are active apart).
RISKS = """
SELECT k.id, k.title, k.response_due, ou.id, ou.username, ou.email, ou.is_active,
       iu.id, iu.username, iu.email, iu.is_active
  FROM risks_app_risk k
  JOIN requests_app_collabrequest r ON r.id = k.request_id
  JOIN collab_user iu ON iu.id = r.initiator_id
  LEFT JOIN collab_user ou ON ou.id = k.owner_id
 WHERE k.state = 'responding' AND k.response_due < %(now)s AND NOT r.is_archived
"""
ACCEPTANCES = """
SELECT c.id, c.round, c.due_date, c.submitted_at, t.id, t.number, t.name,
       (SELECT array_agg(ARRAY[v.seat, v.department_id::text, u.id::text, u.username, u.email])
          FROM review_app_acceptanceverdict v LEFT JOIN collab_user u ON u.id = v.reviewer_id
         WHERE v.acceptance_id = c.id AND v.decision = 'pending') AS seats,
       (SELECT array_agg(ARRAY[vd.department_id::text, h.id::text, h.username, h.email])
          FROM review_app_acceptanceverdict vd
          JOIN collab_department_heads dh ON dh.department_id = vd.department_id
          JOIN collab_user h ON h.id = dh.user_id
         WHERE vd.acceptance_id = c.id AND vd.decision = 'pending' AND h.is_active) AS heads,
       (SELECT array_agg(a.user_id) FROM tasks_app_taskassignment a
         WHERE a.task_id = t.id AND a.role = 'R') AS responsible
  FROM review_app_taskacceptance c
  JOIN tasks_app_task t ON t.id = c.task_id
  JOIN requests_app_collabrequest r ON r.id = t.request_id
 WHERE c.outcome = 'open' AND c.due_date < %(today)s AND t.state = 'submitted'
   AND r.state = 'in_progress'
"""


def _scan_params(now) -> dict:
    """The thresholds of the daily rules at `now`, read as the rules read them (the
    task rules' moments from tasks_app.deadlines)."""
    import datetime as dt

    from django.utils import timezone

    from collab.models import WarningRule
    from meetings_app import metrics
    from tasks_app.deadlines import Deadlines

    rules = {r.code: r for r in WarningRule.objects.all()}
    today = timezone.localdate(now)
    deadlines = Deadlines(now=now, rules=rules)
    minutes_days = metrics.minutes_days(rules.get(metrics.MINUTES_RULE))
    minutes_day = deadlines.calendar.subtract(today, minutes_days)

    def days(code, attr, default):
        rule = rules.get(code)
        value = getattr(rule, attr, None) if rule else None
        return default if value is None else value

    return {
        "now": now,
        "today": today,
        "normal": deadlines.due_soon_by("normal"),
        "important": deadlines.due_soon_by("important"),
        "urgent": deadlines.due_soon_by("urgent"),
        "stale_normal": deadlines.stale_since("normal"),
        "stale_important": deadlines.stale_since("important"),
        "stale_urgent": deadlines.stale_since("urgent"),
        "retro_cutoff": now - dt.timedelta(days=days("retrospective_overdue", "days", 7)),
        "minutes_cutoff": timezone.make_aware(dt.datetime.combine(minutes_day, dt.time.min)),
    }


def _scan_queries() -> dict[str, tuple[str, bool]]:
    """The SQL of each active daily rule (its first column is the id of what the rule's
    findings are about, but for acceptance_overdue: the round's, with the task's id
    fifth), and whether it reads the heads (HEADS) apart. A rule that finds more than
    one kind of object has a query per kind, keyed "<rule>+<kind>" (the task rules'
    action items)."""
    from collab.models import WarningRule

    active = set(WarningRule.objects.filter(is_active=True).values_list("code", flat=True))
    queries = {
        "task_due_soon": (_TASK_PEOPLE.format(where=DUE_SOON_WHERE), True),
        "task_due_soon+actions": (_ACTION_PEOPLE.format(where=DUE_SOON_WHERE), True),
        "task_stale": (_TASK_PEOPLE.format(where=STALE_WHERE), True),
        "task_stale+actions": (_ACTION_PEOPLE.format(where=STALE_WHERE), True),
        "task_overdue": (_TASK_PEOPLE.format(where=OVERDUE_WHERE), True),
        "task_overdue+actions": (_ACTION_PEOPLE.format(where=OVERDUE_WHERE), True),
        "ask_overdue": (ASKS, False),
        "review_overdue": (REVIEWS, False),
        "retrospective_overdue": (RETROSPECTIVES, False),
        "acceptance_overdue": (ACCEPTANCES, False),
        "minutes_overdue": (MINUTES, False),
        "risk_response_overdue": (RISKS, False),
    }
    return {code: query for code, query in queries.items() if rule_of(code) in active}


def rule_of(query_key: str) -> str:
    """The rule a key of _scan_queries belongs to ("task_overdue+actions": task_overdue)."""
    return query_key.split("+")[0]


# Each rule that escalates to heads also reads today's delegations (their deputies).
DEPUTIES = """
SELECT g.head_id, g.department_id, u.id, u.username, u.email
  FROM collab_delegation g
  JOIN collab_user u ON u.id = g.deputy_id
  JOIN collab_user h ON h.id = g.head_id
 WHERE g.start_date <= %(today)s AND g.end_date >= %(today)s AND u.is_active AND h.is_active
"""


OPEN_EVERY_TASK = """
SET LOCAL collab.archive_guard = 'off';
UPDATE requests_app_collabrequest SET state = 'in_progress', completed_at = NULL,
       is_archived = false
 WHERE state <> 'in_progress' AND id IN (SELECT request_id FROM tasks_app_task);
UPDATE tasks_app_task SET state = 'in_progress', submitted_at = NULL, completed_at = NULL,
       progress_percent = LEAST(progress_percent, 90),
       started_at = COALESCE(started_at, created_at)
 WHERE state <> 'in_progress';
ANALYZE tasks_app_task;
ANALYZE requests_app_collabrequest;
"""


@contextmanager
def every_task_open():
    """Inside a transaction that is rolled back on exit: every task in progress (not
    delivered, its percentage at most 90, its dates kept) on a request in progress, with
    the planner's statistics of the change. Yields the number of open tasks; afterwards
    both tables are rewritten (VACUUM FULL), as the rollback leaves a dead row each."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(OPEN_EVERY_TASK)
            cursor.execute("SELECT count(*) FROM tasks_app_task WHERE state = 'in_progress'")
            opened = cursor.fetchone()[0]
        try:
            yield opened
        finally:
            transaction.set_rollback(True)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The rolled-back UPDATE left a dead version of every row: rewrite both tables,
        # so that the next measurement (or bench run) reads them as seeded.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (FULL, ANALYZE) tasks_app_task, requests_app_collabrequest")


def raw_daily_scan(now) -> int:
    """Select, in hand-written SQL, the rows (objects and people) the daily rules select.

    Under the same conditions as collab.warnings.find(), which pauses Python's cyclic
    garbage collector while it scans: the yardstick gets the same help."""
    from django.db import connection

    from collab.warnings import paused_cycle_collection

    params = _scan_params(now)
    rows = 0
    with paused_cycle_collection(), connection.cursor() as cursor:
        for sql, heads_apart in _scan_queries().values():
            cursor.execute(sql, params)
            rows += len(cursor.fetchall())
            if heads_apart:
                cursor.execute(HEADS)
                cursor.fetchall()
            if heads_apart or "heads" in sql:
                cursor.execute(DEPUTIES, params)
                cursor.fetchall()
    return rows


# --- permissions at scale: EXPLAIN of the scoping queries --------------------------------

PERMISSION_TABLES = (
    "requests_app_collabrequestuserobjectpermission",
    "requests_app_collabrequestgroupobjectpermission",
    "tasks_app_taskuserobjectpermission",
    "tasks_app_taskgroupobjectpermission",
    "guardian_userobjectpermission",
    "guardian_groupobjectpermission",
    "requests_app_requestdepartment",
    "tasks_app_taskassignment",
    "collab_department_heads",
    "collab_delegation",
)
SCOPED_TABLES = ("requests_app_collabrequest", "tasks_app_task")
# A user who may see more than this share of a table is best served by reading it all
# for a count; below it, a Seq Scan of the scoped table is a gap.
SEQ_SCAN_SHARE = 0.2


def _explain(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _sql(queryset, *, count: bool = False):
    """Return the SQL of `queryset` (of its .count() when `count`) with its parameters."""
    if count:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        return f"SELECT count(*) FROM ({sql}) AS counted", params  # noqa: S608 (Django's SQL)
    return queryset.query.sql_with_params()


def explain_scoping(subjects: dict) -> list[dict]:
    """EXPLAIN the scoping as the pages use it: for a head and for staff, the request
    list (its first page and its count) and a request's page; for staff, 我的任務 and
    the count of the open tasks they see.

    Each carries the share of the scoped table the user may see: reading the whole table
    is the right plan for a count over half of it, never for a page of 25 or one row.
    """
    from requests_app import selectors as request_selectors
    from requests_app.models import CollabRequest
    from requests_app.permissions import visible_requests
    from tasks_app.choices import OPEN_TASK_STATES, RaciRole
    from tasks_app.models import Task
    from tasks_app.permissions import tasks_held, visible_tasks

    cases = []
    case = subjects["case"]
    total = CollabRequest.objects.count()
    shares = {}
    for who in ("head", "staff"):
        user = subjects[who]
        if user is None:
            continue
        shares[who] = visible_requests(user).count() / total
        listed = request_selectors.request_list(user=user, scope="all")
        cases += [
            (f"visible_requests({who}): the request list's first page", listed[:25], {}),
            (
                f"visible_requests({who}): the request list's count",
                listed,
                {"requests_app_collabrequest": shares[who]},
            ),
        ]
        if case is not None:
            one = visible_requests(user).filter(pk=case.pk)
            cases.append((f"visible_requests({who}): one request by pk", one, {}))
    staff = subjects["staff"]
    if staff is not None:
        mine = tasks_held(staff, [RaciRole.RESPONSIBLE])
        open_tasks = Task.objects.filter(state__in=OPEN_TASK_STATES)
        seen = visible_tasks(staff, open_tasks)
        cases += [
            (
                "tasks_held(staff, R): 我的任務, the open tasks as R",
                mine.filter(state__in=OPEN_TASK_STATES).order_by("due_at", "number"),
                {},
            ),
            (
                "visible_tasks(staff): the count of the open tasks they see",
                seen,
                {
                    "requests_app_collabrequest": shares["staff"],
                    "tasks_app_task": seen.count() / max(open_tasks.count(), 1),
                },
            ),
        ]
    out = []
    for title, queryset, share in cases:
        counted = "count" in title
        plan = _explain(*_sql(queryset, count=counted))
        # A Seq Scan the executor never ran (another branch answered) costs nothing.
        seq = sorted(
            {
                m.group(1)
                for m in re.finditer(r"Seq Scan on (\w+).*", plan)
                if "never executed" not in m.group(0)
            }
        )
        out.append(
            {
                "title": title,
                "plan": plan,
                "permission": [t for t in seq if t in PERMISSION_TABLES],
                "scoped": {t: share.get(t, 0) for t in seq if t in SCOPED_TABLES},
                "other": [t for t in seq if t not in PERMISSION_TABLES + SCOPED_TABLES],
            }
        )
    return out


# --- the report -------------------------------------------------------------------------


def _fmt_ms(value) -> str:
    return "—" if value is None else f"{value:,.1f}"


# Each scan and the hand-written SQL it is held to (≤ SCAN_VS_SQL_MAX times).
SCAN_AGAINST = {
    "warning_select": "warning_sql",
    "warning_scan": "warning_sql",
    "warning_open_scan": "warning_open_sql",
}


def report(small: dict, large: dict) -> list[str]:
    """Print the table and the targets; return the gaps, each named."""
    gaps: list[str] = []
    by_small = {r["key"]: r for r in small["results"]}
    by_large = {r["key"]: r for r in large["results"]}
    rows = [
        [
            "bare page (base.html, logged in)",
            str(small["bare"]["queries"]),
            str(large["bare"]["queries"]),
            _fmt_ms(small["bare_ms"]),
            _fmt_ms(large["bare_ms"]),
            f"{large['bare_ms'] / small['bare_ms']:.2f}",
            "1.0",
            "yardstick",
        ]
    ]
    pages_queries = pages_ratio = True
    for r in large["results"]:
        s = by_small.get(r["key"], {})
        label = r["label"].strip()
        q1, q2 = s.get("queries"), r.get("queries")
        t1, t2 = s.get("median_ms"), r.get("median_ms")
        ratio = t2 / t1 if t1 and t2 else None
        times_bare = t2 / large["bare_ms"] if t2 and large["bare_ms"] else None
        error = r.get("error") or s.get("error")
        verdict = []
        if error:
            expected = error.startswith(("no data", "not available"))
            verdict.append(error if expected else "ERROR")
            if not error.startswith("not available"):
                gaps.append(f"{label}: {error}")
        elif r["kind"] in ("page", "pdf"):
            if q1 != q2:
                pages_queries = False
                verdict.append(f"queries {q1}→{q2}")
                gaps.append(f"{label}: {q1} queries at {SMALL}, {q2} at {LARGE}")
            if ratio > RATIO_MAX:
                pages_ratio = False
                verdict.append(f"ratio {ratio:.1f}×")
                gaps.append(
                    f"{label}: {t2:,.0f} ms at {LARGE} is {ratio:.1f}× its {t1:,.0f} ms at "
                    f"{SMALL} (target ≤ {RATIO_MAX:g}×)"
                )
            if r["key"].startswith("dashboard") and t2 > DASHBOARD_MS_MAX:
                verdict.append(f"> {DASHBOARD_MS_MAX:.0f} ms")
                gaps.append(
                    f"{label}: {t2:,.0f} ms at {LARGE} (target ≤ {DASHBOARD_MS_MAX:.0f} ms)"
                )
            if r["kind"] == "pdf" and max(t1, t2) > PDF_MS_MAX:
                verdict.append(f"> {PDF_MS_MAX / 1000:g} s")
                gaps.append(f"{label}: {max(t1, t2):,.0f} ms (target ≤ {PDF_MS_MAX:.0f} ms)")
        elif r["kind"] == "scan":
            sql = by_large.get(SCAN_AGAINST[r["key"]], {}).get("median_ms")
            if sql:
                factor = t2 / sql
                verdict.append(f"{factor:.1f}× the SQL")
                if factor > SCAN_VS_SQL_MAX:
                    gaps.append(
                        f"{label}: {t2:,.0f} ms at {LARGE} is {factor:.1f}× the {sql:,.0f} ms "
                        f"of the hand-written SQL (target ≤ {SCAN_VS_SQL_MAX:g}×)"
                    )
        rows.append(
            [
                r["label"],
                "—" if q1 is None else str(q1),
                "—" if q2 is None else str(q2),
                _fmt_ms(t1),
                _fmt_ms(t2),
                "—" if ratio is None else f"{ratio:.2f}",
                "—" if times_bare is None else f"{times_bare:.1f}",
                ", ".join(verdict) or {"sql": "reference", "scan": "—"}.get(r["kind"], "ok"),
            ]
        )
    headers = ["page", f"q@{SMALL}", f"q@{LARGE}", f"t@{SMALL} ms", f"t@{LARGE} ms", "ratio"]
    headers += [f"×bare@{LARGE}", "verdict"]
    widths = [max(_width(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    say()
    say(_line(headers, widths))
    say(_line(["-" * w for w in widths], widths))
    for row in rows:
        say(_line(row, widths))
    say()
    say(
        f"Medians of wall time over {small.get('rounds', 1)} rounds of one process per size, "
        "the sizes alternating (django.test.Client, DEBUG off);"
    )
    say("×bare: the page's time over the bare page's, both at the large size.")
    say()
    say("Who and what was measured (the large size takes the nearest to the small one's):")
    for key in ("pmo", "head", "staff", "case", "meeting", "risk", "closed", "scan", "open"):
        say(f"  {key:<7}{SMALL:>5}: {small['notes'].get(key, '— none —')}")
        say(f"  {'':<7}{LARGE:>5}: {large['notes'].get(key, '— none —')}")
    say()
    say("Targets:")
    _target("the same query count at both sizes, for every page and PDF", pages_queries)
    _target(f"every page and PDF at {LARGE} ≤ {RATIO_MAX:g}× its time at {SMALL}", pages_ratio)
    for key in ("dashboard_pmo", "dashboard_head"):
        r = by_large.get(key, {})
        if r.get("median_ms") is not None:
            _target(
                f"{r['label']} median ≤ {DASHBOARD_MS_MAX:.0f} ms at {LARGE}: "
                f"{r['median_ms']:,.0f} ms",
                r["median_ms"] <= DASHBOARD_MS_MAX,
            )
    for key, against in SCAN_AGAINST.items():
        r = by_large.get(key, {})
        sql = by_large.get(against, {}).get("median_ms")
        if sql and r.get("median_ms") is not None:
            factor = r["median_ms"] / sql
            _target(
                f"{r['label']} ≤ {SCAN_VS_SQL_MAX:g}× the SQL at {LARGE}: "
                f"{r['median_ms']:,.0f} vs {sql:,.0f} ms = {factor:.1f}×",
                factor <= SCAN_VS_SQL_MAX,
            )
    scan_small = by_small.get("warning_scan", {}).get("queries")
    scan_large = by_large.get("warning_scan", {}).get("queries")
    if scan_small != scan_large:
        say(
            f"  (the scan's queries, {scan_small} at {SMALL} and {scan_large} at {LARGE}: a "
            "rule that finds nothing fetches no people; see the hits above)"
        )
    pdfs = [
        (r["label"], max(by_small.get(r["key"], {}).get("median_ms") or 0, r["median_ms"]))
        for r in large["results"]
        if r["kind"] == "pdf" and r.get("median_ms") is not None
    ]
    if pdfs:
        label, worst = max(pdfs, key=lambda p: p[1])
        _target(
            f"each PDF ≤ {PDF_MS_MAX / 1000:g} s median: the slowest, {label}, {worst:,.0f} ms",
            worst <= PDF_MS_MAX,
        )
    return gaps


def _target(text: str, met: bool) -> None:
    say(f"  {'met' if met else 'GAP':<4} {text}")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _line(cells: list[str], widths: list[int]) -> str:
    out = []
    for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        pad = " " * (width - _width(cell))
        out.append(cell + pad if i in (0, len(cells) - 1) else pad + cell)
    return " | ".join(out).rstrip()


def report_explain(large: dict) -> list[str]:
    """Print the plans; a Seq Scan of a permission table is a gap, and so is one of the
    scoped table itself unless the user may see more than SEQ_SCAN_SHARE of it."""
    gaps = []
    say()
    say(f"Permissions at scale: EXPLAIN (ANALYZE, BUFFERS) at {LARGE} (10k requests)")
    for item in large.get("explain", []):
        say()
        say(f"--- {item['title']}")
        say(item["plan"])
        verdict = []
        if item["permission"]:
            verdict.append(f"Seq Scan on the permission table(s) {', '.join(item['permission'])}")
            gaps.append(f"{item['title']}: Seq Scan on {', '.join(item['permission'])}")
        for table, share in item["scoped"].items():
            if share > SEQ_SCAN_SHARE:
                verdict.append(
                    f"Seq Scan on {table}, of which the user sees {share:.0%}: reading it "
                    "all is the cheaper plan"
                )
            else:
                verdict.append(f"Seq Scan on {table}")
                gaps.append(f"{item['title']}: Seq Scan on {table}")
        if not item["permission"]:
            verdict.append("no Seq Scan on a permission table")
        if not item["scoped"]:
            verdict.append("none on the scoped table")
        if item["other"]:
            verdict.append(f"small tables read whole: {', '.join(item['other'])}")
        say(">>> " + "; ".join(verdict))
    return gaps


# --- main --------------------------------------------------------------------------------


def _pooled(measured: list[dict]) -> dict:
    """One size's rounds as one: each result's samples pooled and their median, the
    first round's notes and people, the last round's EXPLAIN. A query count that
    differs between rounds is reported as an error of that result."""
    first = measured[0]
    pooled = {**first, "explain": measured[-1].get("explain")}
    results = []
    for result in first["results"]:
        same = [r for m in measured for r in m["results"] if r["key"] == result["key"]]
        merged = dict(result)
        errors = [r["error"] for r in same if r.get("error")]
        if errors:
            merged["error"] = errors[0]
        else:
            merged["samples_ms"] = [x for r in same for x in r["samples_ms"]]
            merged["median_ms"] = round(statistics.median(merged["samples_ms"]), 2)
            counts = sorted({r["queries"] for r in same})
            if len(counts) > 1:
                merged["error"] = f"query count differs between rounds: {counts}"
        results.append(merged)
    pooled["results"] = results
    bare = [x for m in measured for x in m["bare_samples"]]
    pooled["bare_ms"] = statistics.median(bare) if bare else None
    pooled["rounds"] = len(measured)
    return pooled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per page (median)")
    parser.add_argument("--pdf-runs", type=int, default=5, help="timed runs per PDF")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="measure the sizes this many times, alternately, and pool the samples",
    )
    parser.add_argument("--reseed", action="store_true", help="rebuild both databases")
    parser.add_argument("--db-prefix", default="collab_bench", help="database name prefix")
    parser.add_argument(
        "--sizes",
        default="",
        help="override the sizes, e.g. '1k=100:1000,100k=10000:100000' (requests:tasks)",
    )
    parser.add_argument(
        "--seed-command",
        default=f"{sys.executable} manage.py seed_scale --requests {{requests}} --tasks {{tasks}}",
        help="command that fills a database ({requests} and {tasks} are replaced)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--explain", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--like", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        like = json.loads(args.like) if args.like else None
        data = measure(args.child, args.runs, args.pdf_runs, args.warmup, args.explain, like)
        Path(args.json).write_text(json.dumps(data, default=str))
        return 0

    sizes = dict(SIZES)
    if args.sizes:
        sizes = {}
        for part in args.sizes.split(","):
            name, numbers = part.split("=")
            requests, tasks = numbers.split(":")
            sizes[name] = (int(requests), int(tasks))
    names = list(sizes)
    global SMALL, LARGE
    SMALL, LARGE = names[0], names[-1]
    described = (f"{n} = {r:,} requests / {t:,} tasks" for n, (r, t) in sizes.items())
    say(f"make bench: {', '.join(described)}")
    for name, (requests, tasks) in sizes.items():
        prepare(name, f"{args.db_prefix}_{name}", requests, tasks, args)
    # The sizes are measured alternately, --rounds times, and each result's samples are
    # pooled: the machine's speed drifts over minutes, and a ratio of two sizes measured
    # minutes apart would carry that drift.
    rounds: dict[str, list[dict]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(1, args.rounds + 1):
            for name in names:
                say(
                    f"[{name}] measuring, round {round_} of {args.rounds} ({args.runs} runs "
                    f"per page, {args.pdf_runs} per PDF, after {args.warmup} warm-up runs)"
                )
                out = Path(tmp) / f"{name}-{round_}.json"
                extra = ["--json", str(out), "--runs", str(args.runs)]
                extra += ["--pdf-runs", str(args.pdf_runs), "--warmup", str(args.warmup)]
                if name != SMALL:
                    # The same kind of person and case as at the small size (_subjects).
                    extra += ["--like", json.dumps(rounds[SMALL][0]["traits"])]
                if name == LARGE and round_ == args.rounds:
                    extra.append("--explain")
                _child(name, f"{args.db_prefix}_{name}", extra)
                rounds[name].append(json.loads(out.read_text()))
    data = {name: _pooled(measured) for name, measured in rounds.items()}
    gaps = report(data[SMALL], data[LARGE])
    gaps += report_explain(data[LARGE])
    say()
    if gaps:
        say(f"GAPS ({len(gaps)}):")
        for gap in gaps:
            say(f"  - {gap}")
    else:
        say("Every target met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
