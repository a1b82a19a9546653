"""`python manage.py send_warnings [--dry-run] [--now ISO] [--cadence …]` (issue 5 §3, §7).

The command runs the same service as the beat jobs. On the demo data (`seed_demo`) it
sends one digest per person concerned, with the due-soon, stale and overdue items the
demo was built to show, and a second run sends nothing. The command commits for real in
production; here its on-commit hook (the digests handed to Celery, eager in tests) is run
with django_capture_on_commit_callbacks.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.management import CommandError, call_command

from collab.models import Notification, User, WarningDigest, WarningItem
from tasks_app.models import Task
from tests.test_warning_rules import World, at, due, make_world

D = dt.date

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(pmo) -> World:
    return make_world(pmo)


@pytest.fixture
def overdue_task(world, time_machine) -> Task:
    """A task due Wed 4 March 2026, 17:00 Taipei; the clock stays at Mon 2 March."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    return world.start({"name": "主視覺圖初稿", "due": due(D(2026, 3, 4))})["主視覺圖初稿"]


def send_warnings(*args: str, capture=None) -> str:
    out = StringIO()
    if capture is None:
        call_command("send_warnings", *args, stdout=out)
    else:
        with capture(execute=True):
            call_command("send_warnings", *args, stdout=out)
    return out.getvalue()


def recorded() -> tuple[int, int, int]:
    return WarningItem.objects.count(), WarningDigest.objects.count(), Notification.objects.count()


def test_now_shifts_the_time_the_rules_see(overdue_task, world, django_capture_on_commit_callbacks):
    """The clock says Monday; --now Thursday finds the task overdue, Wednesday does not."""
    assert "[task_overdue]" not in send_warnings("--now", "2026-03-04T06:00", "--dry-run")
    assert WarningItem.objects.count() == 0
    out = send_warnings("--now", "2026-03-05T06:00", capture=django_capture_on_commit_callbacks)
    assert "[task_overdue] " in out and overdue_task.number in out
    assert world.head.username in out and world.head.email in out
    items = WarningItem.objects.filter(rule="task_overdue")
    assert {i.recipient_id for i in items} == world.people("R", "head", "initiator")
    assert {i.period for i in items} == {"2026-03-05"}
    assert len(mail.outbox) == 3


def test_now_without_an_offset_is_taipei_time(overdue_task, django_capture_on_commit_callbacks):
    """00:30 on 3/6 is a new Taipei day (16:30 UTC on 3/5): its period is 2026-03-06."""
    send_warnings("--now", "2026-03-05T23:30", capture=django_capture_on_commit_callbacks)
    send_warnings("--now", "2026-03-05T16:30+00:00", capture=django_capture_on_commit_callbacks)
    assert set(WarningItem.objects.values_list("period", flat=True)) == {
        "2026-03-05",
        "2026-03-06",
    }
    # A date alone is midnight, Taipei time: still 3/5, already recorded.
    out = send_warnings("--now", "2026-03-05", capture=django_capture_on_commit_callbacks)
    assert "[task_overdue]" not in out


def test_dry_run_prints_the_warnings_and_records_nothing(
    overdue_task, world, django_capture_on_commit_callbacks
):
    """--dry-run lists who would get what; nothing is recorded, notified or mailed."""
    before = recorded()
    out = send_warnings(
        "--dry-run", "--now", "2026-03-05T06:00", capture=django_capture_on_commit_callbacks
    )
    assert out.count("[task_overdue]") == 3 and overdue_task.number in out
    assert world.initiator.username in out
    assert recorded() == before
    assert mail.outbox == []
    # The real run afterwards finds and sends the same three warnings.
    out = send_warnings("--now", "2026-03-05T06:00", capture=django_capture_on_commit_callbacks)
    assert out.count("[task_overdue]") == 3 and len(mail.outbox) == 3


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-13-45", "2026-03-05T25:00", "5/3/2026", "2026-03-05T06:00Z+"]
)
def test_a_bad_now_is_a_clear_error(value):
    """No traceback: a CommandError naming the option, and nothing recorded."""
    with pytest.raises(CommandError, match="--now"):
        call_command("send_warnings", "--now", value, stdout=StringIO())
    assert WarningItem.objects.count() == 0


def test_cadence_picks_the_rules(time_machine, world, django_capture_on_commit_callbacks):
    """--cadence hourly runs only the last-hours rule; daily leaves it out."""
    time_machine.move_to(at(D(2026, 3, 2)), tick=False)
    world.start({"name": "today", "due": due(D(2026, 3, 9))})
    hourly = send_warnings("--cadence", "hourly", "--now", "2026-03-09T12:05", "--dry-run")
    daily = send_warnings("--cadence", "daily", "--now", "2026-03-09T12:05", "--dry-run")
    both = send_warnings("--now", "2026-03-09T12:05", "--dry-run")
    assert "[task_last_hours]" in hourly and "[task_due_soon]" not in hourly
    assert "[task_due_soon]" in daily and "[task_last_hours]" not in daily
    assert "[task_due_soon]" in both and "[task_last_hours]" in both


# --- the demo ----------------------------------------------------------------------------


DEMO_MOMENTS = [
    at(D(2026, 3, 4), 6),  # a Wednesday morning, before the daily job
    at(D(2026, 3, 6), 18),  # a Friday evening: "tomorrow" is a Saturday
]


@pytest.mark.parametrize("moment", DEMO_MOMENTS, ids=["wednesday", "friday-evening"])
def test_demo_sends_one_digest_per_person_concerned_then_nothing(
    time_machine, moment, django_capture_on_commit_callbacks
):
    """`seed_demo` then `send_warnings`: each person concerned gets one digest listing
    the due-soon (常見問題內容整理), stale (上線計畫與對外公告) and overdue (會員中心訂單
    查詢 API) tasks; the second run records and sends nothing."""
    time_machine.move_to(moment, tick=False)
    call_command("seed_demo", stdout=StringIO())
    mail.outbox.clear()  # the seed's own notification mails
    out = send_warnings(capture=django_capture_on_commit_callbacks)

    items = list(WarningItem.objects.select_related("recipient"))
    # The task rules warn about the demo's action items too (meetings_app): tasks only.
    task_type = ContentType.objects.get_for_model(Task).pk
    task_items = [i for i in items if i.content_type_id == task_type]
    by_rule = {
        rule: {Task.objects.get(pk=i.object_id).name for i in task_items if i.rule == rule}
        for rule in ("task_due_soon", "task_stale", "task_overdue")
    }
    assert "常見問題內容整理" in by_rule["task_due_soon"]
    assert "上線計畫與對外公告" in by_rule["task_stale"]
    assert "會員中心訂單查詢 API" in by_rule["task_overdue"]

    # The overdue API task: its R (tech_staff), its head (tech_head) and the initiator.
    overdue = Task.objects.get(name="會員中心訂單查詢 API")
    warned = {i.recipient.username for i in task_items if i.object_id == overdue.pk}
    assert {"tech_staff", "tech_head", overdue.request.initiator.username} <= warned

    people = {i.recipient for i in items}
    digests = Counter(WarningDigest.objects.values_list("recipient__username", flat=True))
    assert digests == Counter({user.username: 1 for user in people})
    mailed = Counter(m.to[0] for m in mail.outbox)
    assert mailed == Counter({user.email: 1 for user in people if user.email})
    for message in mail.outbox:
        user = User.objects.get(email=message.to[0])
        texts = [i.text for i in items if i.recipient_id == user.pk]
        assert all(text in message.body for text in texts)
        assert message.alternatives and message.alternatives[0][1] == "text/html"
    for user in people:
        assert user.username in out

    before = recorded()
    sent = len(mail.outbox)
    again = send_warnings(capture=django_capture_on_commit_callbacks)
    assert recorded() == before and len(mail.outbox) == sent
    assert "[task_" not in again
