"""The warning engine end to end in the process: rows, notifications, digests, mail.

collab.warnings.run() records one WarningItem per (rule, object, period, recipient),
makes each an in-app notification, groups them into one WarningDigest per person and,
after commit, hands each digest to Celery (eager in tests) which e-mails it once. The
cases are built with tests.test_warning_rules' World at fixed Taipei moments
(time-machine); on-commit callbacks are run with django_capture_on_commit_callbacks,
except in the race, which commits for real (transaction=True) in two threads.

The scale tests hold the scan's query count flat as rows of every kind are added, and
check on PostgreSQL that the due-soon and overdue scans read the (state, due_at) index.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import threading

import pytest
from django.conf import settings as django_settings
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from collab import outbox
from collab import warnings as engine
from collab.models import (
    Delegation,
    Notification,
    OutboxMessage,
    User,
    WarningDigest,
    WarningItem,
)
from collab.tasks import send_warning_digest_task
from meetings_app.choices import ActionState
from meetings_app.models import ActionItem, Meeting
from requests_app import services as request_services
from requests_app.choices import RequestState
from requests_app.models import CollabRequest, DepartmentReview
from risks_app.choices import RiskState
from risks_app.models import Risk
from tasks_app import services as task_services
from tasks_app import warnings as task_rules
from tasks_app.models import CollabAsk, Task, TaskAssignment
from tests.factories import make_request
from tests.helpers import assert_constant_queries
from tests.test_meetings_warnings import make_action, make_meeting
from tests.test_warning_rules import World, at, due, make_world

D = dt.date


@pytest.fixture
def world(pmo) -> World:
    return make_world(pmo)


def counts() -> tuple[int, int, int, int]:
    return (
        WarningItem.objects.count(),
        WarningDigest.objects.count(),
        Notification.objects.count(),
        len(mail.outbox),
    )


def late_tasks(world: World, time_machine) -> dict[str, Task]:
    """On Mon 3/2: two tasks due Wed 3/4 (one started, so also stale by Friday), one due
    Mon 3/9 (due soon on Friday). At Fri 3/6 06:00 the head has four items."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    tasks = world.start(
        {"name": "主視覺圖初稿", "due": due(D(2026, 3, 4))},
        {"name": "活動頁文案", "due": due(D(2026, 3, 4))},
        {"name": "媒體投放計畫", "due": due(D(2026, 3, 9))},
    )
    tasks["主視覺圖初稿"] = world.begin(tasks["主視覺圖初稿"])
    return tasks


FRIDAY = at(D(2026, 3, 6), 6)


def run_and_send(django_capture_on_commit_callbacks, **kwargs) -> engine.RunResult:
    """Run the engine and fire its on-commit hook, as the commit would."""
    with django_capture_on_commit_callbacks(execute=True):
        return engine.run(**kwargs)


# --- one digest per person, once ---------------------------------------------------------


@pytest.mark.django_db
def test_one_digest_per_person_per_run_however_many_items(
    time_machine, world, django_capture_on_commit_callbacks
):
    """Four items for the head, R and the initiator each: one digest and one mail each."""
    late_tasks(world, time_machine)
    result = run_and_send(django_capture_on_commit_callbacks, now=FRIDAY)
    people = world.people("R", "head", "initiator")
    assert {d.recipient_id for d in result.digests} == people
    assert WarningDigest.objects.count() == len(people)
    for digest in WarningDigest.objects.all():
        # overdue ×2, stale, due soon
        assert sorted(digest.items.values_list("rule", flat=True)) == [
            "task_due_soon",
            "task_overdue",
            "task_overdue",
            "task_stale",
        ]
        assert digest.sent_at is not None
        delivery = OutboxMessage.objects.get(key=f"warning_digest:{digest.pk}")
        assert delivery.state == "sent" and delivery.attempts == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        User.objects.filter(pk__in=people).values_list("email", flat=True)
    )
    assert WarningItem.objects.filter(digest__isnull=True).count() == 0


@pytest.mark.django_db
def test_a_second_run_at_the_same_time_sends_nothing(
    time_machine, world, django_capture_on_commit_callbacks
):
    """Same moment, same Taipei day: no new items, digests, notifications or mails."""
    late_tasks(world, time_machine)
    first = run_and_send(django_capture_on_commit_callbacks, now=FRIDAY)
    assert len(first.items) == 12 and len(mail.outbox) == 3
    before = counts()
    again = run_and_send(django_capture_on_commit_callbacks, now=FRIDAY)
    assert again.items == [] and again.digests == []
    later_that_day = run_and_send(django_capture_on_commit_callbacks, now=at(D(2026, 3, 6), 22))
    assert later_that_day.items == []
    assert counts() == before


@pytest.mark.django_db
def test_the_next_taipei_day_sends_the_daily_items_again(
    time_machine, world, django_capture_on_commit_callbacks
):
    """Saturday 00:30 Taipei is still Friday in UTC, yet a new day for the warnings."""
    late_tasks(world, time_machine)
    run_and_send(django_capture_on_commit_callbacks, now=FRIDAY)
    saturday = run_and_send(django_capture_on_commit_callbacks, now=at(D(2026, 3, 7), 0, 30))
    assert saturday.items and {i.period for i in saturday.items} == {"2026-03-07"}
    assert len(saturday.digests) == 3
    assert len(mail.outbox) == 6
    assert WarningDigest.objects.filter(recipient=world.head).count() == 2


@pytest.mark.django_db
def test_daily_and_hourly_items_share_one_digest(
    time_machine, world, django_capture_on_commit_callbacks
):
    """`send_warnings` runs both cadences at once: still one digest per person."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    tasks = world.start(
        {"name": "today", "due": due(D(2026, 3, 9))},
        {"name": "late", "due": due(D(2026, 3, 4))},
    )
    result = run_and_send(
        django_capture_on_commit_callbacks,
        now=at(D(2026, 3, 9), 12, 5),
        cadences=(engine.DAILY, engine.HOURLY),
    )
    head_rules = sorted(i.rule for i in result.items if i.recipient_id == world.head.pk)
    assert head_rules == ["task_due_soon", "task_last_hours", "task_overdue"]
    assert len([m for m in mail.outbox if m.to == [world.head.email]]) == 1
    assert {i.object_id for i in result.items} == {t.pk for t in tasks.values()}


# --- delivery --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_digest_send_twice_sends_once(time_machine, world, django_capture_on_commit_callbacks):
    """A digest already sent is never sent again, by the service or by its Celery task."""
    late_tasks(world, time_machine)
    result = run_and_send(django_capture_on_commit_callbacks, now=FRIDAY)
    assert len(mail.outbox) == 3
    digest = result.digests[0]
    (row,) = outbox.ids_for_keys([f"warning_digest:{digest.pk}"])
    assert outbox.deliver(row) == outbox.Outcome.BUSY
    assert send_warning_digest_task.delay(digest.pk).get() == {"busy": 1}
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_a_failed_send_is_retried_and_arrives_once(
    time_machine, world, django_capture_on_commit_callbacks, monkeypatch
):
    """SMTP drops the first try: the digest stays unsent and its row waits for its next
    attempt; the retry sends it once, with the same Message-ID as the first try."""
    late_tasks(world, time_machine)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = engine.run(now=FRIDAY)
    assert len(callbacks) == 1
    digest = next(d for d in result.digests if d.recipient_id == world.head.pk)
    from django.core.mail import EmailMultiAlternatives

    real_send = EmailMultiAlternatives.send
    tried: list[str] = []

    def down(self, *args, **kwargs):
        tried.append(self.extra_headers["Message-ID"])
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    (row,) = outbox.ids_for_keys([f"warning_digest:{digest.pk}"])
    monkeypatch.setattr(EmailMultiAlternatives, "send", down)
    assert outbox.deliver(row) == outbox.Outcome.DOWN
    digest.refresh_from_db()
    assert digest.sent_at is None and mail.outbox == []
    waiting = OutboxMessage.objects.get(pk=row)
    assert waiting.state == "pending" and waiting.attempts == 1
    assert "SMTPServerDisconnected" in waiting.last_error
    assert waiting.next_attempt_at > timezone.now()
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    assert outbox.deliver(row) == outbox.Outcome.SENT
    assert outbox.deliver(row) == outbox.Outcome.BUSY
    assert [m.to for m in mail.outbox] == [[world.head.email]]
    assert mail.outbox[0].extra_headers["Message-ID"] == tried[0]
    digest.refresh_from_db()
    assert digest.sent_at is not None


@pytest.mark.django_db
def test_dry_run_records_and_sends_nothing(time_machine, world, django_capture_on_commit_callbacks):
    """dry_run returns what it would send, and writes, schedules and mails nothing."""
    late_tasks(world, time_machine)
    before = counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = engine.run(now=FRIDAY, dry_run=True)
    assert len(result.items) == 12 and result.digests == []
    assert set(result.by_recipient()) == set(
        User.objects.filter(pk__in=world.people("R", "head", "initiator"))
    )
    assert callbacks == []
    assert counts() == before
    # …and the real run afterwards still finds everything.
    assert len(run_and_send(django_capture_on_commit_callbacks, now=FRIDAY).items) == 12


@pytest.mark.django_db
def test_each_item_is_an_in_app_notification(
    time_machine, world, django_capture_on_commit_callbacks
):
    """Same text and link; marked e-mailed, so the per-notification mailer skips it."""
    late_tasks(world, time_machine)
    before = Notification.objects.count()
    run_and_send(django_capture_on_commit_callbacks, now=FRIDAY)
    items = list(WarningItem.objects.select_related("notification"))
    assert Notification.objects.count() - before == len(items) == 12
    assert len({i.notification_id for i in items}) == 12
    for item in items:
        note = item.notification
        assert note.recipient_id == item.recipient_id
        assert note.title == item.text[:200] and note.url == item.url
        assert note.read_at is None and note.emailed_at is not None
    assert len(mail.outbox) == 3  # the digests only


@pytest.mark.django_db
def test_the_mail_lists_number_title_due_time_percent_and_link_in_zh_hant(
    time_machine, world, settings, django_capture_on_commit_callbacks
):
    """「任務『主視覺圖初稿』將於7月15日截止,當前進度50%,請及時跟進」: HTML and text parts,
    each item's text as its template renders it in zh-Hant, and a link on SITE_URL —
    even when the language active at run time is English."""
    settings.SITE_URL = "https://collab.example.tw/"
    time_machine.move_to(at(D(2026, 7, 6)), tick=False)
    task = world.start({"name": "主視覺圖初稿", "due": due(D(2026, 7, 15))})["主視覺圖初稿"]
    task = world.begin(task)
    task_services.progress_log(task=task, by=world.owner, percent=50, done="完成兩版草圖")
    with translation.override("en"):
        run_and_send(django_capture_on_commit_callbacks, now=at(D(2026, 7, 14), 6))
    task.refresh_from_db()
    (message,) = [m for m in mail.outbox if m.to == [world.owner.email]]
    item_text = (
        f"任務「主視覺圖初稿」（{task.number}）將於7月15日 17:00截止，當前進度50%，請及時跟進。"
    )
    with translation.override("zh-hant"):
        footer = gettext("This message was sent automatically; please do not reply.")
    assert "主視覺圖初稿" in item_text and task.number in item_text
    assert "7月15日" in item_text and "50%" in item_text
    link = f"https://collab.example.tw{task.get_absolute_url()}"

    assert message.subject.startswith(django_settings.EMAIL_SUBJECT_PREFIX)
    assert item_text in message.body and link in message.body and footer in message.body
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    assert '<html lang="zh-hant">' in html
    assert f'href="{link}"' in html
    assert escape(item_text) in html
    assert footer in html
    assert message.extra_headers.get("Auto-Submitted") == "auto-generated"


@pytest.mark.django_db
def test_people_without_email_or_no_longer_active_get_no_mail(
    time_machine, world, django_capture_on_commit_callbacks
):
    """The owner has no address: in-app only. The head leaves between the scan and the
    delivery: nothing is mailed to them, and their digest is not retried for ever."""
    User.objects.filter(pk=world.owner.pk).update(email="")
    late_tasks(world, time_machine)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = engine.run(now=FRIDAY)
    assert world.owner.pk in {d.recipient_id for d in result.digests}
    notes = [i.notification for i in result.items if i.recipient_id == world.owner.pk]
    assert len(notes) == 4 and all(n.recipient_id == world.owner.pk for n in notes)
    User.objects.filter(pk=world.head.pk).update(is_active=False)
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [[world.initiator.email]]
    assert not WarningDigest.objects.filter(sent_at__isnull=True).exists()
    # A user inactive at scan time is no recipient at all.
    with django_capture_on_commit_callbacks(execute=True):
        saturday = engine.run(now=at(D(2026, 3, 7), 6))
    assert world.head.pk not in {i.recipient_id for i in saturday.items}


# --- two beat processes at once --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_order", [True, False], ids=["same-order", "reversed-order"])
def test_two_runs_at_the_same_instant_send_each_warning_once(
    time_machine, pmo, monkeypatch, same_order
):
    """Both runs scan, wait for each other, then insert the same rows at once: every
    warning is recorded once, every person gets exactly one digest and one mail.

    With reversed-order, the second run found its hits in the opposite order (two
    processes need not read rows alike): neither may deadlock on the other's rows.
    """
    worlds = [make_world(pmo) for _ in range(6)]
    for w in worlds:
        late_tasks(w, time_machine)
    expected = {
        (i.rule, i.object_id, i.period, i.recipient_id)
        for i in engine.run(now=FRIDAY, dry_run=True).items
    }
    assert len(expected) == 72

    barrier = threading.Barrier(2)
    real_collect = engine.collect

    def collect_then_wait(**kwargs):
        items = real_collect(**kwargs)
        if not same_order and threading.current_thread().name == "racer-1":
            items.reverse()
        barrier.wait(timeout=20)  # both have scanned; now both insert
        return items

    monkeypatch.setattr(engine, "collect", collect_then_wait)
    mail.outbox.clear()  # the services' own notification mails of the set-up
    results: list = [None, None]

    def racer(index):
        try:
            results[index] = ("ok", engine.run(now=FRIDAY))
        except Exception as exc:  # reported below
            results[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer, args=(n,), name=f"racer-{n}") for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a run hung"
    assert [r[0] for r in results] == ["ok", "ok"], results
    made = [item for _status, result in results for item in result.items]
    assert len(made) == len(expected)
    rows = {(i.rule, i.object_id, i.period, i.recipient_id) for i in WarningItem.objects.all()}
    assert rows == expected and WarningItem.objects.count() == len(expected)
    people = {key[3] for key in expected}
    assert WarningDigest.objects.count() == len(people)
    assert sorted(d.recipient_id for d in WarningDigest.objects.all()) == sorted(people)
    assert WarningItem.objects.filter(notification__isnull=True).count() == 0
    emails = sorted(m.to[0] for m in mail.outbox)
    assert emails == sorted(User.objects.filter(pk__in=people).values_list("email", flat=True))


# --- scale -----------------------------------------------------------------------------------


NOW = at(D(2026, 3, 9), 12, 5)  # Monday noon: every kind below is warned about


def _rows_of_every_kind(world: World, time_machine) -> None:
    """Tasks due soon (3 importances), in their last hours, overdue, stale and awaiting
    acceptance; open asks to a person and a department; an unanswered review whose
    head has a deputy; a meeting's overdue minutes and its action items. All seen at
    NOW."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    Delegation.objects.create(
        head=world.tech_head,
        deputy=User.objects.create(username=f"dep-{world.tech.code}", department=world.tech),
        start_date=D(2026, 3, 1),
        end_date=D(2026, 3, 31),
    )
    tasks = world.start(
        {"name": "normal", "due": due(D(2026, 3, 10))},
        {"name": "important", "due": due(D(2026, 3, 11)), "importance": "important"},
        {"name": "urgent", "due": due(D(2026, 3, 12)), "importance": "urgent"},
        {"name": "last hours", "due": due(D(2026, 3, 9))},
        {"name": "overdue", "due": due(D(2026, 3, 6))},
        {"name": "stale", "due": due(D(2026, 3, 31))},
        {"name": "delivered", "due": due(D(2026, 3, 31))},
    )
    stale = world.begin(tasks["stale"])
    world.submit(world.begin(tasks["delivered"]))
    task_services.ask_create(
        task=stale,
        by=world.owner,
        content="請提供素材",
        expected_date=D(2026, 3, 4),
        to_user=world.tech_head,
    )
    task_services.ask_create(
        task=stale,
        by=world.owner,
        content="請協助測試",
        expected_date=D(2026, 3, 4),
        to_department=world.tech,
    )
    req = make_request(
        initiator=world.initiator, departments=[world.mkt, world.tech], lead=world.mkt
    )
    request_services.request_submit(request=req, by=world.initiator)
    # Completed more than a week ago with no retrospective (completion itself needs the
    # acceptance stage, a later issue, so the end state is set directly).
    done = make_request(initiator=world.initiator, departments=[world.mkt])
    CollabRequest.objects.filter(pk=done.pk).update(
        state=RequestState.COMPLETED, completed_at=NOW - dt.timedelta(days=8)
    )
    # A meeting of the running request with its minutes overdue, and its action items
    # due soon, overdue and stale (meetings_app's scans under the task rules).
    meeting = make_meeting(world, stale.request, day=D(2026, 3, 2))
    make_action(meeting, world.owner, due_at=due(D(2026, 3, 10)))
    make_action(meeting, world.owner, due_at=due(D(2026, 3, 6)))
    make_action(
        meeting, world.owner, due_at=due(D(2026, 3, 31)), state=ActionState.IN_PROGRESS,
        started_at=at(D(2026, 3, 2), 10),
    )  # fmt: skip
    # A risk of the running request whose response is overdue (risks_app's rule).
    Risk.objects.create(
        request=stale.request, title="供應商延誤", description="原料延遲", probability=3,
        impact=3, level="medium", suggested_measures="備用供應商",
        discovered_at=at(D(2026, 3, 2), 9), reported_at=at(D(2026, 3, 2), 10),
        reported_by=world.owner, state=RiskState.RESPONDING, owner=world.owner,
        response_due=at(D(2026, 3, 5), 17),
    )  # fmt: skip


@pytest.mark.django_db
def test_the_scan_runs_a_constant_number_of_queries(time_machine, pmo):
    """collect() at NOW finds every kind of warning in as many queries with 8 cases of
    each as with 2: no per-row query for people, departments, requests or texts."""

    def make_rows(n):
        for _ in range(n):
            _rows_of_every_kind(make_world(pmo), time_machine)

    def fetch():
        items = engine.collect(now=NOW, cadences=(engine.DAILY, engine.HOURLY))
        rules = {i.rule for i in items}
        assert rules == set(engine.registry()), rules
        return items

    engine.rules_ensure()
    ContentType.objects.get_for_models(Task, CollabAsk, DepartmentReview, Meeting, ActionItem, Risk)
    assert_constant_queries(make_rows, fetch, small=2, large=8)


@pytest.mark.django_db
def test_a_run_runs_a_constant_number_of_queries(time_machine, pmo):
    """Recording, notifying and grouping into digests is bulk work too."""
    worlds: list[World] = []

    def make_rows(n):
        for _ in range(n):
            worlds.append(make_world(pmo))
            _rows_of_every_kind(worlds[-1], time_machine)
        # Each measured run must find new rows: forget what the previous run recorded.
        WarningItem.objects.all().delete()
        WarningDigest.objects.all().delete()

    engine.rules_ensure()
    ContentType.objects.get_for_models(Task, CollabAsk, DepartmentReview, Meeting, ActionItem)
    assert_constant_queries(make_rows, lambda: engine.run(now=NOW), small=2, large=6)


def _many_tasks(n: int, world: World, time_machine) -> None:
    """Add n tasks cheaply (bulk INSERTs, with their R and A) to a running request, shaped
    like a portal after years of use: 90% done long ago, 10% open and due over the coming
    months, a handful of those overdue."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    (seed,) = world.start({"name": "seed", "due": due(D(2026, 3, 31))}).values()
    past, future = at(D(2024, 1, 1), 17), at(D(2026, 3, 10), 17)
    tasks = Task.objects.bulk_create(
        Task(
            request=seed.request,
            sequence=100 + k,
            number=f"{seed.request.number}-{100 + k}",
            name=f"任務{k}",
            responsible_department=world.mkt,
            start_date=D(2024, 1, 1),
            due_at=future + dt.timedelta(hours=k) if k % 10 == 0 else past + dt.timedelta(hours=k),
            state=("in_progress" if k % 20 else "todo") if k % 10 == 0 else "done",
        )
        for k in range(n)
    )
    # Overdue at NOW: a handful of open tasks due last week.
    Task.objects.filter(pk__in=[t.pk for t in tasks[0:200:20]]).update(due_at=at(D(2026, 3, 3), 17))
    TaskAssignment.objects.bulk_create(
        TaskAssignment(task=task, user=user, role=role)
        for task in tasks
        for user, role in ((world.owner, "R"), (world.accountable, "A"))
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_app_task")
        cursor.execute("ANALYZE requests_app_collabrequest")


def _task_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tasks_app_task'"
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db
def test_due_soon_and_overdue_scans_read_an_index_not_the_whole_table(time_machine, world):
    """With 4,000 tasks (90% done), EXPLAIN shows the scans read (state, due_at).

    Task.state has no index of its own (migration 0003): the planner would pick a
    state-only index and filter due_at row by row; with the composite index alone the
    deadline is part of the index condition.
    """
    _many_tasks(4000, world, time_machine)
    indexes = _task_indexes()
    (state_due,) = [name for name, sql in indexes.items() if sql.endswith("(state, due_at)")]
    rule = engine.rules_ensure()["task_due_soon"]
    scans = {
        "due soon": lambda: task_rules.due_soon_tasks(rule, NOW),
        "overdue": lambda: task_rules.overdue_tasks(NOW),
    }
    for name, scan in scans.items():
        plan = scan().explain()
        assert "Seq Scan on tasks_app_task" not in plan, (name, plan)
        assert "Index Cond: (((state)::text = ANY" in plan or "Index Cond: ((state)" in plan

    assert not [n for n, sql in indexes.items() if re.search(r"\(state( \w+)?\)$", sql)]
    for name, scan in scans.items():
        plan = scan().explain()
        assert f"Index Scan on {state_due}" in plan or f"using {state_due}" in plan, (name, plan)
        assert "Seq Scan on tasks_app_task" not in plan, (name, plan)
        conditions = [line for line in plan.splitlines() if "Index Cond" in line]
        assert any("due_at" in line for line in conditions), (name, plan)
