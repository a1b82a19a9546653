"""The warning jobs end to end: a real Celery worker on Redis, a real SMTP server, beat.

What runs for real here:
- the broker: the test Redis (REDIS_URL); a worker started in-process
  (celery.contrib.testing.worker, solo pool, in a thread) consumes the nightly and hourly
  scan tasks and the digest e-mail tasks they queue after commit;
- SMTP: Django's smtp EmailBackend talks to an aiosmtpd server on 127.0.0.1 (tests/
  smtp_sink.py); the messages are parsed back from the bytes that went over the wire;
- the clock: time-machine moves it for the whole process, so the worker thread sees the
  same Asia/Taipei day as the test;
- beat: the configured scheduler (a django-celery-beat DatabaseScheduler) installs
  CELERY_BEAT_SCHEDULE into its tables, which the admin lists and edits.

The worker writes through its own database connection, so the tests run in real
transactions (django_db(transaction=True)). Nothing here sleeps blindly: every wait polls
a condition with a deadline. A broker that cannot be reached fails the test; it never
skips.

The scenario (the `world` fixture), in the week of Monday 6 July 2026 (no TW holiday):
request 新品上市推廣 is under way with two tasks of its own besides the generated ones:
- 主視覺圖初稿 (tech, R bob, A tech_head), due Tue 7 July 17:00, 50% done, progress
  logged on Sunday → "due soon" from Monday on, for bob, tech_head and alice (initiator);
- 新聞稿定稿 (mkt, R carol, A mkt_head), due Fri 3 July 17:00, started Tuesday and never
  updated (3 working days by Friday 10:00) → "overdue" and "stale", for carol, mkt_head
  and alice.
So the nightly job writes 9 warnings in 5 digests: alice 3 items, carol and mkt_head 2,
bob and tech_head 1.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
import redis
import time_machine
from celery import signals
from celery.utils.imports import symbol_by_name
from django.conf import settings as django_settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from collab import outbox
from collab.celery import app
from collab.choices import Role
from collab.models import Notification, OutboxMessage, User, WarningDigest, WarningItem
from collab.services import role_groups_ensure, user_sync_access
from collab.tasks import outbox_deliver_task, outbox_sweep_task, warnings_scan_task
from tasks_app import services as task_services
from tasks_app.models import Task
from tests.factories import DepartmentFactory, UserFactory, make_approved_request, make_task
from tests.helpers import wait_for
from tests.live_worker import celery_on_test_redis, smtp_sink, worker
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)

TAIPEI = ZoneInfo("Asia/Taipei")


def taipei(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TAIPEI)


TUESDAY = taipei(2026, 6, 30, 10, 0)  # the request is under way, both tasks started
SUNDAY = taipei(2026, 7, 5, 15, 0)  # bob logs progress on 主視覺圖初稿
MONDAY_6AM = taipei(2026, 7, 6, 6, 0)  # the nightly job (Sunday 22:00 UTC)


# --- the scenario ---------------------------------------------------------------------


@dataclass
class World:
    clock: time_machine.Traveller
    alice: User  # mkt, the initiator
    bob: User  # tech, R of 主視覺圖初稿
    carol: User  # mkt, R of 新聞稿定稿
    mkt_head: User
    tech_head: User
    soon: Task  # 主視覺圖初稿, due Tue 7 July 17:00
    late: Task  # 新聞稿定稿, due Fri 3 July 17:00

    def daily_expected(self) -> dict[User, set[tuple[str, int]]]:
        """Who the nightly job warns about what, while nothing changes."""
        soon = {("task_due_soon", self.soon.pk)}
        late = {("task_overdue", self.late.pk), ("task_stale", self.late.pk)}
        return {
            self.alice: soon | late,
            self.bob: soon,
            self.tech_head: soon,
            self.carol: late,
            self.mkt_head: late,
        }


@pytest.fixture
def world(transactional_db):
    """Build the scenario with the clock set in July 2026; leave it at Monday 06:00.

    Built with eager tasks and the in-memory mail backend (the test settings), so the
    notification e-mails of the set-up never reach the broker or the SMTP sink.
    """
    with time_machine.travel(TUESDAY, tick=True) as clock:
        role_groups_ensure()
        pmo = UserFactory(username="pmo", role=Role.PMO)
        user_sync_access(pmo)
        mkt = DepartmentFactory(code="mkt", name="行銷部")
        tech = DepartmentFactory(code="tech", name="技術部")
        mkt_head = UserFactory(username="mkt_head", department=mkt)
        tech_head = UserFactory(username="tech_head", department=tech)
        mkt.heads.add(mkt_head)
        tech.heads.add(tech_head)
        for head in (mkt_head, tech_head):
            user_sync_access(head)
        alice = UserFactory(username="alice", department=mkt)
        bob = UserFactory(username="bob", department=tech)
        carol = UserFactory(username="carol", department=mkt)

        req = make_approved_request(initiator=alice, departments=[mkt, tech], lead=mkt, pmo=pmo)
        soon = make_task(
            request=req,
            responsible=bob,
            accountable=tech_head,
            department=tech,
            name="主視覺圖初稿",
            due_at=task_services.due_at(dt.date(2026, 7, 7)),
        )
        late = make_task(
            request=req,
            responsible=carol,
            accountable=mkt_head,
            department=mkt,
            name="新聞稿定稿",
            due_at=task_services.due_at(dt.date(2026, 7, 3)),
        )
        task_services.breakdown_sign(request=req, by=mkt_head, department=mkt)
        task_services.breakdown_sign(request=req, by=tech_head, department=tech)
        soon = task_services.task_start(task=soon, by=bob)
        late = task_services.task_start(task=late, by=carol)

        clock.move_to(SUNDAY)
        task_services.progress_log(task=soon, by=bob, percent=50, done="完成草圖三版")

        clock.move_to(MONDAY_6AM)
        yield World(
            clock=clock,
            alice=alice,
            bob=bob,
            carol=carol,
            mkt_head=mkt_head,
            tech_head=tech_head,
            soon=Task.objects.get(pk=soon.pk),
            late=Task.objects.get(pk=late.pk),
        )


# --- the live pipeline: worker on Redis + SMTP sink -----------------------------------


@dataclass
class Live:
    """The running worker and SMTP sink, and what the worker reported through signals."""

    sink: SmtpSink
    broker: redis.Redis
    scans: list[tuple[str, object, str]] = field(default_factory=list)  # cadence, retval, state
    threads: set[str] = field(default_factory=set)
    sweeps: list[int] = field(default_factory=list)  # rows each finished sweep queued
    deliveries: int = 0  # finished delivery tasks

    def broker_idle(self) -> bool:
        """No message waiting in the queue and none delivered but not yet acknowledged."""
        queue = app.conf.task_default_queue
        return self.broker.llen(queue) == 0 and self.broker.hlen("unacked") == 0

    def settle(self) -> None:
        """Wait until every digest is sent and the worker has nothing left to do."""
        wait_for(
            lambda: (
                not WarningDigest.objects.filter(sent_at__isnull=True).exists()
                and self.broker_idle()
            ),
            "every digest to be sent and the broker to be idle",
        )

    def scan(self, cadence: str, *, deliver: bool = True) -> int:
        """Queue the beat job's task on Redis, wait for the worker to run it; its result.

        With `deliver`, also wait until the digests it queued have gone out.
        """
        before = len(self.scans)
        warnings_scan_task.delay(cadence)
        wait_for(lambda: len(self.scans) > before, f"the {cadence} scan to run on the worker")
        ran, retval, state = self.scans[before]
        assert (ran, state) == (cadence, "SUCCESS")
        if deliver:
            self.settle()
        return retval

    def mails_to(self, user: User) -> list:
        return self.sink.to(user.email)

    def sweep(self) -> None:
        """Queue the beat's outbox sweep on Redis and wait until the worker ran it and
        every delivery task it queued (counted by signal: the broker's queue looks empty
        for a moment while the worker takes a message)."""
        swept, delivered = len(self.sweeps), self.deliveries
        outbox_sweep_task.delay()
        wait_for(lambda: len(self.sweeps) > swept, "the sweep to run on the worker")
        batches = -(-self.sweeps[swept] // django_settings.OUTBOX_BATCH)
        wait_for(
            lambda: self.deliveries >= delivered + batches,
            "the deliveries the sweep queued to finish",
        )


@pytest.fixture
def live(world, settings):
    """Start an SMTP sink and a Celery worker on the test Redis, with eager mode off."""
    with smtp_sink(settings) as sink, celery_on_test_redis(settings):
        pipeline = Live(sink=sink, broker=redis.Redis.from_url(settings.REDIS_URL))

        def on_postrun(sender=None, task=None, args=None, retval=None, state=None, **kwargs):
            pipeline.threads.add(threading.current_thread().name)
            if task.name == warnings_scan_task.name:
                pipeline.scans.append((args[0] if args else "daily", retval, state))
            elif task.name == outbox_sweep_task.name:
                pipeline.sweeps.append(retval)
            elif task.name == outbox_deliver_task.name:
                pipeline.deliveries += 1

        signals.task_postrun.connect(on_postrun, weak=False)
        try:
            with worker():
                yield pipeline
        finally:
            signals.task_postrun.disconnect(on_postrun)
            pipeline.broker.close()


# --- checks ---------------------------------------------------------------------------


def items_of(user: User, **filters) -> list[WarningItem]:
    return list(WarningItem.objects.filter(recipient=user, **filters).order_by("rule", "pk"))


def assert_digest(message, user: User, items: list[WarningItem], settings) -> None:
    """One parsed digest e-mail: addressed to `user`, text + HTML, listing `items`."""
    assert [a.addr_spec for a in message["To"].addresses] == [user.email]
    assert message["From"].addresses[0].addr_spec == settings.DEFAULT_FROM_EMAIL
    assert message["Auto-Submitted"] == "auto-generated"
    subject = str(message["Subject"])
    assert subject.startswith(settings.EMAIL_SUBJECT_PREFIX)
    assert str(len(items)) in subject
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    page = message.get_body(preferencelist=("html",)).get_content()
    site = settings.SITE_URL.rstrip("/")
    for item in items:
        assert item.text and item.text in text
        assert f"{site}{item.url}" in text
        assert html.escape(item.text) in page
        assert f'href="{site}{item.url}"' in page


def assert_nightly_mails(live: Live, world: World, settings, *, period: str) -> None:
    """Each person concerned got exactly one mail per digest, the one of `period` listing
    their items of that day. Runs go one after the other, so the n-th mail to a person
    is their n-th digest."""
    for user, wanted in world.daily_expected().items():
        items = items_of(user, period=period)
        assert {(i.rule, i.object_id) for i in items} == wanted, user.username
        digests = list(WarningDigest.objects.filter(recipient=user).order_by("pk"))
        [digest] = [d for d in digests if d.run == items[0].run]
        assert {i.digest_id for i in items} == {digest.pk}
        mails = live.mails_to(user)
        assert len(mails) == len(digests), f"{user.username}: {len(mails)} mails"
        assert_digest(mails[digests.index(digest)], user, items, settings)


# --- 1. the nightly job end to end ----------------------------------------------------


@pytest.mark.celery_worker
def test_nightly_job_mails_one_digest_per_person_and_a_second_run_sends_nothing(
    world, live, settings
):
    """The beat task runs on the worker; each person gets one text+HTML digest over SMTP.

    A second run the same day finds every warning already recorded and mails nobody.
    """
    expected = world.daily_expected()
    assert live.scan("daily") == 9

    received = live.sink.received
    assert Counter(rcpt for r in received for rcpt in r.rcpt_tos) == Counter(
        {u.email: 1 for u in expected}
    )
    assert_nightly_mails(live, world, settings, period="2026-07-06")
    digests = list(WarningDigest.objects.all())
    assert len(digests) == 5
    assert all(d.sent_at is not None for d in digests)
    deliveries = OutboxMessage.objects.filter(kind="warning_digest")
    assert sorted(deliveries.values_list("state", "attempts")) == [("sent", 1)] * 5
    # The text reads as the example: task name, due date, percent.
    [bob_mail] = live.mails_to(world.bob)
    text = bob_mail.get_body(preferencelist=("plain",)).get_content()
    assert "主視覺圖初稿" in text and world.soon.number in text
    assert "7月7日" in text and "50%" in text
    # The worker did the work, not the test's thread.
    assert live.threads and threading.main_thread().name not in live.threads
    # Each warning is an in-app notification too, not e-mailed on its own.
    notes = Notification.objects.filter(pk__in=WarningItem.objects.values("notification"))
    assert notes.count() == 9
    assert not notes.filter(emailed_at__isnull=True).exists()

    world.clock.shift(dt.timedelta(minutes=30))
    assert live.scan("daily") == 0
    assert len(live.sink.received) == 5
    assert WarningDigest.objects.count() == 5
    assert WarningItem.objects.count() == 9


# --- 2. SMTP down ---------------------------------------------------------------------


@pytest.mark.celery_worker
def test_smtp_down_digests_wait_in_the_outbox_and_arrive_exactly_once(world, live, settings):
    """With the SMTP port closed the first attempt fails and the digests wait in the
    outbox, each with its error and next attempt; sweeps while the server is down try
    again and back off; once it is up each digest arrives exactly once."""
    live.sink.stop()
    live.scan("daily", deliver=False)
    deliveries = OutboxMessage.objects.filter(kind="warning_digest")
    wait_for(
        lambda: deliveries.count() == 5 and deliveries.filter(attempts=1).exists(),
        "the first delivery attempt to fail",
    )
    wait_for(lambda: live.deliveries == 1, "the delivery task to finish")
    assert live.sink.received == []
    # The batch stopped at the unreachable server: one attempt, not five time-outs.
    assert sorted(deliveries.values_list("attempts", flat=True)) == [0, 0, 0, 0, 1]
    failed = deliveries.get(attempts=1)
    assert failed.state == "pending" and "ConnectionRefusedError" in failed.last_error
    assert failed.next_attempt_at - failed.last_attempt_at == outbox.backoff(1)

    # Beat's sweep while the server is still down: the due rows are queued again, and
    # again the batch stops at the first attempt.
    world.clock.shift(dt.timedelta(minutes=3))
    live.sweep()
    assert live.sink.received == []
    assert sum(deliveries.values_list("attempts", flat=True)) == 2
    assert set(deliveries.values_list("state", flat=True)) == {"pending"}
    assert not WarningDigest.objects.filter(sent_at__isnull=False).exists()

    live.sink.start()  # the same port opens
    world.clock.shift(dt.timedelta(minutes=5))
    live.sweep()
    live.settle()

    assert Counter(rcpt for r in live.sink.received for rcpt in r.rcpt_tos) == Counter(
        {u.email: 1 for u in world.daily_expected()}
    )
    assert_nightly_mails(live, world, settings, period="2026-07-06")
    assert set(deliveries.values_list("state", "last_error")) == {("sent", "")}
    assert sum(deliveries.values_list("attempts", flat=True)) == 5 + 2
    # Every message carries its row's Message-ID.
    assert {str(r.message["Message-ID"]) for r in live.sink.received} == {
        d.message_id for d in deliveries
    }
    # Nothing is left for a later sweep to send again.
    world.clock.shift(dt.timedelta(hours=1))
    live.sweep()
    assert len(live.sink.received) == 5


@pytest.mark.celery_worker
def test_a_refused_recipient_is_retried_and_the_others_are_not_sent_again(world, live, settings):
    """The server answers 451 to alice twice: the other four go at once, only her digest
    waits and is retried by the sweeps, and arrives once."""
    live.sink.refuse(world.alice.email, times=2)
    live.scan("daily", deliver=False)
    wait_for(lambda: live.deliveries == 1, "the first delivery task to finish")
    assert len(live.sink.received) == 4
    for _ in range(2):
        world.clock.shift(dt.timedelta(minutes=5))
        live.sweep()
    live.settle()

    assert Counter(rcpt for r in live.sink.received for rcpt in r.rcpt_tos) == Counter(
        {u.email: 1 for u in world.daily_expected()}
    )
    assert_nightly_mails(live, world, settings, period="2026-07-06")
    attempts = dict(
        OutboxMessage.objects.filter(kind="warning_digest").values_list(
            "recipient__username", "attempts"
        )
    )
    assert attempts == {"alice": 3, "bob": 1, "carol": 1, "mkt_head": 1, "tech_head": 1}


# --- 3. time: once per Asia/Taipei day, once per due time -----------------------------


@pytest.mark.celery_worker
def test_the_daily_job_runs_once_per_taipei_calendar_day(world, live, settings):
    """06:00 and 23:50 Taipei are one day: the second run sends nothing. 00:10 Taipei the
    next day is still the same day in UTC, yet it is a new day: the items go again."""
    assert live.scan("daily") == 9  # Mon 06:00 Taipei = Sun 22:00 UTC
    assert len(live.sink.received) == 5

    world.clock.move_to(taipei(2026, 7, 6, 23, 50))  # Mon 15:50 UTC
    assert live.scan("daily") == 0
    assert len(live.sink.received) == 5

    world.clock.move_to(taipei(2026, 7, 7, 0, 10))
    assert timezone.now().astimezone(dt.UTC).date() == dt.date(2026, 7, 6)  # Monday in UTC
    assert live.scan("daily") == 9
    assert_nightly_mails(live, world, settings, period="2026-07-07")
    assert Counter(rcpt for r in live.sink.received for rcpt in r.rcpt_tos) == Counter(
        {u.email: 2 for u in world.daily_expected()}
    )
    assert set(WarningItem.objects.values_list("period", flat=True)) == {
        "2026-07-06",
        "2026-07-07",
    }
    assert WarningDigest.objects.filter(sent_at__isnull=False).count() == 10


@pytest.mark.celery_worker
def test_last_hours_warns_each_task_once_per_due_time(world, live, settings):
    """The hourly job warns R and the head once, 6 hours before the due time; hourly
    runs after that add nothing. A new due time is warned about once again."""
    soon = world.soon  # due Tue 7 July 17:00, not submitted

    def hourly_at(*when) -> int:
        world.clock.move_to(taipei(*when))
        return live.scan("hourly")

    assert hourly_at(2026, 7, 7, 10, 5) == 0  # 17:00 is more than 6 hours away
    assert hourly_at(2026, 7, 7, 11, 5) == 2
    assert hourly_at(2026, 7, 7, 12, 5) == 0
    assert hourly_at(2026, 7, 7, 16, 5) == 0
    assert hourly_at(2026, 7, 7, 17, 5) == 0  # past due: the nightly overdue rule's turn

    # The Accountable person moves the due date a day. The notice to R goes through the
    # worker to the in-memory outbox, so the sink holds the digests only.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sent_before = len(mail.outbox)
    task_services.task_change_due(
        task=soon,
        by=world.tech_head,
        new_due_at=task_services.due_at(dt.date(2026, 7, 8)),
        reason="客戶追加需求",
        solution="延後一天交付",
    )
    wait_for(
        lambda: (
            not Notification.objects.filter(emailed_at__isnull=True).exists() and live.broker_idle()
        ),
        "the due-change notice to be e-mailed",
    )
    assert [m.to for m in mail.outbox[sent_before:]] == [[world.bob.email]]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

    assert hourly_at(2026, 7, 8, 10, 5) == 0
    assert hourly_at(2026, 7, 8, 11, 5) == 2
    assert hourly_at(2026, 7, 8, 13, 5) == 0

    warned = defaultdict(list)
    for item in WarningItem.objects.filter(rule="task_last_hours").order_by("pk"):
        warned[item.recipient.username].append(item.period)
    assert warned == {
        "bob": ["due 2026-07-07T17:00", "due 2026-07-08T17:00"],
        "tech_head": ["due 2026-07-07T17:00", "due 2026-07-08T17:00"],
    }
    assert Counter(rcpt for r in live.sink.received for rcpt in r.rcpt_tos) == Counter(
        {world.bob.email: 2, world.tech_head.email: 2}
    )
    for user in (world.bob, world.tech_head):
        for message, period in zip(
            live.mails_to(user), ["due 2026-07-07T17:00", "due 2026-07-08T17:00"], strict=True
        ):
            assert_digest(message, user, items_of(user, period=period), settings)


# --- 4. beat: the schedule in the database, in Taipei time, in the admin --------------


def _admin_form_data(response) -> dict:
    """The POST data of an admin change form as shown (main form and inlines)."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def start_beat_scheduler():
    """The scheduler `celery beat` uses (CELERY_BEAT_SCHEDULER, a django-celery-beat
    DatabaseScheduler), started on the test database as beat starts it."""
    scheduler_class = symbol_by_name(app.conf.beat_scheduler)
    assert issubclass(scheduler_class, DatabaseScheduler)
    scheduler = scheduler_class(app=app, lazy=True)
    # It would sync to the database at interpreter exit, when the test database is gone.
    scheduler._finalize.cancel()
    scheduler.setup_schedule()
    return scheduler


def test_beat_installs_the_schedule_in_taipei_time_and_the_admin_edits_it(client, superuser):
    """Beat copies CELERY_BEAT_SCHEDULE into its tables: the nightly scan at 06:00 and the
    hourly one at :05, Asia/Taipei; the admin lists the jobs, and a time changed there is
    what beat uses, also after it starts again."""
    names = ["warnings-nightly", "warnings-hourly"]
    PeriodicTask.objects.filter(name__in=names).delete()  # migrate seeds them; beat must too
    start_beat_scheduler()
    scheduler = start_beat_scheduler()  # beat restarted: still one row per job

    assert PeriodicTask.objects.filter(name__startswith="warnings-").count() == 2
    jobs = {
        t.name: t for t in PeriodicTask.objects.select_related("crontab").filter(name__in=names)
    }
    nightly, hourly = jobs["warnings-nightly"], jobs["warnings-hourly"]
    for job, cadence in ((nightly, "daily"), (hourly, "hourly")):
        assert job.enabled
        assert job.task == warnings_scan_task.name
        assert json.loads(job.args) == [cadence]
    cron = nightly.crontab
    every_day = ("*", "*", "*")
    assert (cron.minute, cron.hour) == ("0", "6")
    assert (cron.day_of_week, cron.day_of_month, cron.month_of_year) == every_day
    assert str(cron.timezone) == "Asia/Taipei"
    cron = hourly.crontab
    assert (cron.minute, cron.hour) == ("5", "*")
    assert str(cron.timezone) == "Asia/Taipei"

    # 05:00 in Taipei: the nightly job is an hour away (06:00 UTC would be 9 hours),
    # the hourly one five minutes.
    with time_machine.travel(taipei(2026, 7, 6, 5, 0), tick=False):
        schedule = scheduler.all_as_schedule()
        nightly_at = schedule["warnings-nightly"].schedule
        assert nightly_at.remaining_estimate(taipei(2026, 7, 5, 6, 0)) == dt.timedelta(hours=1)
        hourly_at = schedule["warnings-hourly"].schedule
        assert hourly_at.remaining_estimate(taipei(2026, 7, 6, 4, 5)) == dt.timedelta(minutes=5)

    client.force_login(superuser)
    page = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert page.status_code == 200
    assert b"warnings-nightly" in page.content and b"warnings-hourly" in page.content
    page = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[nightly.pk]))
    assert page.status_code == 200

    # An administrator moves the nightly scan to 07:00 (its crontab's change form).
    url = reverse("admin:django_celery_beat_crontabschedule_change", args=[nightly.crontab_id])
    data = _admin_form_data(client.get(url))
    assert data["hour"] == "6" and str(data["timezone"]) == "Asia/Taipei"
    response = client.post(url, {**data, "hour": "7"})
    assert response.status_code == 302, response.context and response.context["errors"]
    assert CrontabSchedule.objects.get(pk=nightly.crontab_id).hour == "7"

    for beat in (scheduler, start_beat_scheduler()):  # running, then started again
        with time_machine.travel(taipei(2026, 7, 6, 5, 0), tick=False):
            entry = beat.all_as_schedule()["warnings-nightly"]
            assert entry.schedule.hour == {7}
            since = taipei(2026, 7, 5, 7, 0)
            assert entry.schedule.remaining_estimate(since) == dt.timedelta(hours=2)
    nightly.refresh_from_db()
    assert (nightly.crontab.minute, nightly.crontab.hour) == ("0", "7")
