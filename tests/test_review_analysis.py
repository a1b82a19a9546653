"""The monthly collaboration analysis 協作分析報告: its numbers, its scope, its queries,
its months, and sending it to the executives once a month (service, task, beat, admin).

The hand-made month is described in tests/review_analysis_fixtures.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from django_celery_beat.models import PeriodicTask

from collab import outbox
from collab.celery import app
from collab.choices import Role
from collab.models import OutboxMessage
from portfolio_app.forms.analysis import AnalysisMonthForm
from portfolio_app.models import AnalysisDispatch
from portfolio_app.selectors import analysis as selectors
from portfolio_app.services import analysis as services
from portfolio_app.tasks import send_monthly_analysis_task
from requests_app.models import CollabRequest
from review_app.choices import FeedbackKind
from review_app.models import Feedback
from tests.factories import DepartmentFactory, UserFactory
from tests.helpers import assert_constant_queries
from tests.review_analysis_cases import (
    FEBRUARY,
    LONG_PROBLEM,
    MARCH,
    NOW,
    TAIPEI,
    at,
    feedback,
    suggestion,
)

pytest_plugins = ["tests.review_analysis_fixtures"]
pytestmark = pytest.mark.django_db


def _values(numbers) -> dict:
    return {n.key: n.value for n in numbers}


# --- the numbers -------------------------------------------------------------------------


def test_company_report_counts_the_hand_made_month(march):
    """Volumes, states, tasks, on-time rates, review and cycle times, risks and the
    department rows are exactly those of the month described in the fixtures."""
    report = selectors.monthly_analysis(dt.date(2025, 3, 17), now=NOW)
    s = report.summary
    assert report.month == MARCH and report.is_company_wide and not report.is_partial
    assert (report.period.start, report.period.end) == (MARCH, dt.date(2025, 3, 31))

    assert {k: n.value for k, n in s.volumes.items()} == {
        "submitted": 3,
        "confirmed": 2,
        "completed": 2,
    }
    states = _values(s.requests_by_state)
    assert (states["state_pending"], states["state_in_progress"], states["state_completed"]) == (
        1,
        1,
        1,
    )
    assert sum(states.values()) == 3

    tasks = {k: n.value for k, n in s.tasks.items()}
    assert {k: tasks[k] for k in ("all", "done", "on_time", "done_late")} == {
        "all": 6,
        "done": 3,
        "on_time": 2,
        "done_late": 1,
    }
    assert {k: tasks[k] for k in ("open", "in_progress", "late", "settled")} == {
        "open": 3,
        "in_progress": 1,
        "late": 2,
        "settled": 5,
    }
    assert s.on_time_rate == 40.0

    assert (s.review_count, s.review_days) == (2, 2.0)
    assert (s.cycle_count, s.cycle_days) == (2, 40.5)
    assert _values(s.cycle_buckets) == {
        "cycle_30": 1,
        "cycle_60": 0,
        "cycle_90": 1,
        "cycle_more": 0,
    }
    assert _values(s.risks) == {"risk_none": 1, "risk_low": 0, "risk_medium": 1, "risk_high": 1}

    rows = {row.department.code: row for row in s.departments}
    mkt, tech = rows["mkt"], rows["tech"]
    assert (mkt.open.value, mkt.done.value, mkt.late.value, mkt.on_time_rate) == (1, 2, 0, 50.0)
    assert (tech.open.value, tech.done.value, tech.late.value, tech.on_time_rate) == (
        2,
        1,
        2,
        33.3,
    )
    assert (mkt.reviews.value, mkt.review_days, tech.reviews.value, tech.review_days) == (
        1,
        1.0,
        1,
        3.0,
    )
    assert "design" not in rows  # no numbers, company-wide: not listed
    assert not any(n.url for n in s.tasks.values())  # a PDF has no links


def test_previous_month_and_changes(march):
    """February beside March, and the changes management reads first."""
    report = selectors.monthly_analysis(MARCH, now=NOW)
    assert report.previous.filter.period.start == FEBRUARY
    by_key = {c.key: c for c in report.comparisons}
    assert (by_key["submitted"].value, by_key["submitted"].previous) == (3, 1)
    assert by_key["submitted"].delta == 2 and by_key["submitted"].tone == ""
    assert (by_key["tasks_late"].value, by_key["tasks_late"].previous) == (2, 0)
    assert by_key["tasks_late"].tone == "bad"
    assert (by_key["on_time_rate"].value, by_key["on_time_rate"].previous) == (40.0, 100.0)
    assert by_key["on_time_rate"].delta == -60.0 and by_key["on_time_rate"].tone == "bad"
    assert by_key["tasks_done"].tone == "good"  # 3 against 1
    assert (by_key["cycle_days"].value, by_key["cycle_days"].previous) == (40.5, None)
    assert by_key["cycle_days"].delta is None and by_key["cycle_days"].tone == ""
    assert (by_key["feedback"].value, by_key["feedback"].previous) == (4, 1)


def test_cycle_trend_is_twelve_months_ending_with_the_month(march):
    report = selectors.monthly_analysis(MARCH, now=NOW)
    months = [row.month for row in report.cycle_trend]
    assert months[0] == dt.date(2024, 4, 1) and months[-1] == MARCH and len(months) == 12
    assert (report.cycle_trend[-1].count, report.cycle_trend[-1].average_days) == (2, 40.5)
    assert all(row.count == 0 and row.average_days is None for row in report.cycle_trend[:-1])


def test_cycle_trend_reaches_back_beyond_the_month(march):
    """R1 completed in January instead (5 days after submission): the trend shows it in
    January, March keeps R2; a completion 12 months back is outside, in scope or not."""
    r1, r2 = march.requests[:2]
    CollabRequest.objects.filter(pk=r1.pk).update(completed_at=at(1, 15))
    CollabRequest.objects.filter(pk=r2.pk).update(
        submitted_at=dt.datetime(2024, 3, 1, 9, tzinfo=TAIPEI),
        completed_at=dt.datetime(2024, 3, 31, 9, tzinfo=TAIPEI),
    )
    trend = {row.month: (row.count, row.average_days) for row in selectors.cycle_trend(MARCH)}
    assert trend[dt.date(2025, 1, 1)] == (1, 5.0)
    assert trend[MARCH] == (0, None)
    assert dt.date(2024, 3, 1) not in trend
    assert sum(count for count, _days in trend.values()) == 1
    scoped = selectors.cycle_trend(MARCH, (march.roles.design.pk,))
    assert all(row.count == 0 for row in scoped)


def test_feedback_themes(march):
    """Feedback given in the month by kind and handling, the departments most often
    concerned, and the latest pieces of each kind, clipped, newest first."""
    themes = selectors.monthly_analysis(MARCH, now=NOW).feedback
    assert (themes.total, themes.handled, themes.handled_rate) == (4, 2, 50.0)
    assert {k.kind: (k.count, k.handled) for k in themes.kinds} == {
        "praise": (1, 1),
        "problem": (2, 1),
        "suggestion": (1, 0),
    }
    assert [(d.name, d.total, d.praise, d.problem, d.suggestion) for d in themes.departments] == [
        ("技術部", 3, 0, 2, 1),
        ("市場部", 2, 1, 1, 0),
    ]
    problems = themes.excerpts["problem"]
    f1, f2 = march.feedback[0], march.feedback[1]
    assert [e.number for e in problems] == [f2.number, f1.number]  # newest first
    assert problems[0].text.endswith("…") and len(problems[0].text) == selectors.EXCERPT_CHARS
    assert LONG_PROBLEM.startswith(problems[0].text[:-1])
    assert problems[0].departments == sorted(["技術部", "市場部"])
    assert problems[0].request_number == march.requests[0].number
    assert (problems[0].handled, problems[1].handled) == (False, True)
    groups = [(kind.kind, [e.number for e in rows]) for kind, rows in themes.excerpt_groups]
    assert [kind for kind, _rows in groups] == ["problem", "suggestion", "praise"]


def test_only_the_latest_excerpts_of_each_kind(march):
    """Six more problems: the report quotes the latest EXCERPTS of them, and still all
    the other kinds."""
    r = march.roles
    made = [
        feedback(
            march.requests[0], r.staff, FeedbackKind.PROBLEM, f"問題{i}", [r.tech], at(3, 26, 9 + i)
        )
        for i in range(6)
    ]
    themes = selectors.monthly_analysis(MARCH, now=NOW).feedback
    assert [e.number for e in themes.excerpts["problem"]] == [f.number for f in reversed(made[1:])]
    assert len(themes.excerpts["praise"]) == 1 and len(themes.excerpts["suggestion"]) == 1
    assert themes.count("problem") == 8


def test_suggestions_filed_in_the_month_by_state(march):
    suggestions = selectors.monthly_analysis(MARCH, now=NOW).suggestions
    assert suggestions.total == 2
    assert {s.state: s.count for s in suggestions.states} == {
        "submitted": 1,
        "evaluating": 0,
        "adopted": 1,
        "rejected": 0,
        "implemented": 0,
    }
    s1, s2, _s3 = march.suggestions
    assert [(line.number, line.department) for line in suggestions.recent] == [
        (s2.number, "技術部"),
        (s1.number, "市場部"),
    ]


def test_a_heads_report_covers_their_departments_only(march):
    """Marketing's scope: its tasks and reviews, the requests it takes part in, the
    feedback concerning it and the suggestions it proposed."""
    r = march.roles
    report = selectors.monthly_analysis(MARCH, scope=(r.mkt.pk,), now=NOW)
    s = report.summary
    assert not report.is_company_wide
    assert [d.code for d in report.scope_departments] == ["mkt"]
    assert [row.department.code for row in s.departments] == ["mkt"]
    assert s.volumes["submitted"].value == 3  # Marketing filed them all
    assert (s.tasks["all"].value, s.tasks["late"].value, s.on_time_rate) == (3, 0, 50.0)
    assert (s.review_count, s.review_days) == (1, 1.0)
    assert (report.feedback.total, [d.name for d in report.feedback.departments]) == (
        2,
        ["市場部"],
    )
    assert {e.number for rows in report.feedback.excerpts.values() for e in rows} == {
        march.feedback[1].number,
        march.feedback[2].number,
    }
    assert report.suggestions.total == 1

    design = selectors.monthly_analysis(MARCH, scope=(r.design.pk,), now=NOW)
    assert design.summary.tasks["all"].value == 0 and design.feedback.total == 0
    assert design.is_empty and [d.code for d in design.scope_departments] == ["design"]


def test_an_empty_month(db):
    report = selectors.monthly_analysis(dt.date(2024, 6, 1), now=NOW)
    assert report.is_empty
    assert report.summary.on_time_rate is None and report.feedback.handled_rate is None
    assert all(c.delta in (0, None) for c in report.comparisons)


def test_the_report_takes_a_fixed_number_of_queries(march):
    """More departments, tasks, reviews, feedback and suggestions in the month: the
    same number of queries (no N+1 over rows)."""
    r = march.roles
    r3 = march.requests[2]
    task = march.tasks[0]

    def make_rows(n):
        for _ in range(n):
            department = DepartmentFactory()
            person = UserFactory(department=department)
            clone = type(task).objects.get(pk=task.pk)
            clone.pk = None
            clone.sequence = type(task).objects.filter(request=r3).count() + 50
            clone.number = f"{r3.number}-X{clone.sequence}"
            clone.responsible_department = department
            clone.save()
            for assignment in task.assignments.all():
                assignment.pk = None
                assignment.task = clone
                assignment.save()
            concerned = [department, r.tech]
            feedback(
                march.requests[0], person, FeedbackKind.PROBLEM, "再一個", concerned, at(3, 27)
            )
            suggestion(department, person, "再一個建議", at(3, 27))

    def fetch():
        selectors.monthly_analysis(MARCH, now=NOW)

    queries = assert_constant_queries(make_rows, fetch, small=2, large=7)
    assert queries <= 21  # 20, and the month's risk reports (risks_app)


def test_a_month_without_feedback_takes_as_many_queries(march, django_assert_num_queries):
    """`make bench` compares query counts across databases: the month's report costs the
    same queries once its feedback is gone (the departments quoted are not a prefetch,
    which would be skipped)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as full:
        report = selectors.monthly_analysis(MARCH, now=NOW)
    assert report.feedback.total > 0
    assert any(e.departments for rows in report.feedback.excerpts.values() for e in rows)
    Feedback.objects.all().delete()
    with django_assert_num_queries(len(full.captured_queries)):
        without = selectors.monthly_analysis(MARCH, now=NOW)
    assert without.feedback.total == 0 and not any(without.feedback.excerpts.values())


def test_analysis_months_offers_the_months_with_data(march):
    """Up to 12 months, newest first, not before the first submitted request (Jan 2025),
    always with the previous month (the default)."""
    assert selectors.analysis_months(dt.date(2025, 4, 9)) == [
        dt.date(2025, 4, 1),
        dt.date(2025, 3, 1),
        dt.date(2025, 2, 1),
        dt.date(2025, 1, 1),
    ]
    months = selectors.analysis_months(dt.date(2027, 6, 1))
    assert len(months) == 12 and months[0] == dt.date(2027, 6, 1)


def test_analysis_months_without_data(db):
    assert selectors.analysis_months(dt.date(2025, 4, 9)) == [
        dt.date(2025, 4, 1),
        dt.date(2025, 3, 1),
    ]


@pytest.mark.parametrize(
    ("text", "month"),
    [("2025-03", dt.date(2025, 3, 1)), ("", dt.date(2025, 3, 1)), ("2025-04", dt.date(2025, 4, 1))],
)
def test_the_month_form_reads_a_month(text, month):
    form = AnalysisMonthForm({"month": text}, today=dt.date(2025, 4, 9))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["month"] == month


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2025-13", "invalid"),
        ("March", "invalid"),
        ("2025-3", "invalid"),
        ("2025-03-01", "max_length"),
        ("0000-01", "invalid"),
        ("2025-05", "future"),
        ("1999-12", "too_early"),
    ],
)
def test_the_month_form_refuses_what_is_not_a_month(text, code):
    form = AnalysisMonthForm({"month": text}, today=dt.date(2025, 4, 9))
    assert not form.is_valid()
    assert form.errors.as_data()["month"][0].code == code


# --- sending -----------------------------------------------------------------------------


@pytest.fixture
def executives(roles):
    second = UserFactory(username="exec2", role=Role.EXECUTIVE, department=None)
    UserFactory(username="exec_left", role=Role.EXECUTIVE, is_active=False)
    UserFactory(username="exec_nomail", role=Role.EXECUTIVE, email="")
    return [roles.executive, second]


def test_send_mails_each_executive_the_pdf_once(
    march, executives, settings, django_capture_on_commit_callbacks
):
    """One message per active executive with an address, in zh-Hant, with the PDF, each
    through its own outbox row; the dispatch row records them; a second run sends
    nothing."""
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch = services.analysis_send(month=dt.date(2025, 3, 20), now=NOW)
    assert dispatch.sent_now and dispatch.month == MARCH
    assert [m.to for m in mail.outbox] == [[executives[0].email], [executives[1].email]]
    dispatch.refresh_from_db()
    assert dispatch.recipients.split() == [u.email for u in executives]
    assert dispatch.sent_at is not None
    rows = OutboxMessage.objects.filter(kind="analysis_report").order_by("pk")
    assert [(r.recipient, r.state) for r in rows] == [(u, "sent") for u in executives]
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [r.message_id for r in rows]

    message = mail.outbox[0]
    with translation.override("zh-hant"):
        title = translation.gettext("Collaboration analysis report")
    assert message.subject.startswith(settings.EMAIL_SUBJECT_PREFIX + title)
    assert "2025年3月" in message.subject
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    ((filename, content, mimetype),) = message.attachments
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    assert filename == f"{title} 2025-03.pdf"
    assert "/review/analysis.pdf?month=2025-03" in message.body
    assert "40%" in message.body  # the on-time rate among the key figures

    with django_capture_on_commit_callbacks(execute=True):
        again = services.analysis_send(month=MARCH, now=NOW)
    assert not again.sent_now and len(mail.outbox) == 2
    assert AnalysisDispatch.objects.count() == 1
    assert rows.count() == 2


def test_without_executives_the_month_is_recorded_not_sent(
    march, caplog, django_capture_on_commit_callbacks
):
    """Nobody to mail: logged, the row says so (not sent), and a later run sends."""
    march.roles.executive.delete()
    mail.outbox.clear()
    with caplog.at_level(logging.WARNING, logger="portfolio_app.services.analysis"):
        dispatch = services.analysis_send(month=MARCH, now=NOW)
    assert not dispatch.sent_now and dispatch.nobody
    assert dispatch.sent_at is None and dispatch.recipients == ""
    assert mail.outbox == []
    assert "no active executive" in caplog.text

    boss = UserFactory(role=Role.EXECUTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch = services.analysis_send(month=MARCH, now=NOW)
    assert dispatch.sent_now and [m.to for m in mail.outbox] == [[boss.email]]


class FlakySMTP:
    """A mail backend whose server refuses the first `failures` messages to `address`."""

    failures: dict[str, int] = {}
    sent: list = []

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        for message in messages:
            (to,) = message.to
            if FlakySMTP.failures.get(to):
                FlakySMTP.failures[to] -= 1
                raise smtplib.SMTPRecipientsRefused({to: (451, b"try again later")})
            FlakySMTP.sent.append(to)
        return len(messages)


def test_an_smtp_error_is_retried_without_mailing_anyone_twice(
    march, executives, settings, django_capture_on_commit_callbacks, time_machine
):
    """The second executive's server refuses once (451): the first is mailed and
    recorded, the second waits in the outbox; its retry mails only the second one, and
    the month is stamped sent when nobody waits any more."""
    settings.EMAIL_BACKEND = f"{__name__}.FlakySMTP"
    FlakySMTP.sent = []
    FlakySMTP.failures = {executives[1].email: 1}
    # The scenario's own notification e-mails (built without commits) are not the point.
    OutboxMessage.objects.update(state="skipped")
    time_machine.move_to(timezone.now(), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.analysis_send(month=MARCH, now=NOW)
    dispatch = AnalysisDispatch.objects.get(month=MARCH)
    assert dispatch.sent_at is None and dispatch.recipients.split() == [executives[0].email]
    waiting = OutboxMessage.objects.get(recipient=executives[1], kind="analysis_report")
    assert waiting.state == "pending" and "451" in waiting.last_error

    # A second run queues nothing new; the sweeper finds the row only once it is due.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.analysis_send(month=MARCH, now=NOW).sent_now is False
        assert outbox.sweep() == 0
    time_machine.move_to(waiting.next_attempt_at, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep() == 1
    dispatch.refresh_from_db()
    assert dispatch.sent_at is not None
    assert dispatch.recipients.split() == [u.email for u in executives]
    assert FlakySMTP.sent == [executives[0].email, executives[1].email]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.analysis_send(month=MARCH, now=NOW).sent_now is False
        assert outbox.sweep(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert FlakySMTP.sent == [executives[0].email, executives[1].email]


def test_the_task_sends_the_previous_taipei_month_by_default(
    march, django_capture_on_commit_callbacks
):
    """At 00:30 on 1 April in Taipei (still 31 March in UTC) the default is March."""
    mail.outbox.clear()
    moment = dt.datetime(2025, 4, 1, 0, 30, tzinfo=TAIPEI)
    with (
        time_machine.travel(moment, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert send_monthly_analysis_task.delay().get() is True
    assert AnalysisDispatch.objects.get().month == MARCH
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert send_monthly_analysis_task.delay("2025-03").get() is False
        assert send_monthly_analysis_task.delay("2025-02").get() is True
    assert list(AnalysisDispatch.objects.values_list("month", flat=True)) == [MARCH, FEBRUARY]


def test_beat_sends_it_on_the_first_at_seven_taipei_time(db):
    """The schedule row exists after migrate, and names a task the worker knows."""
    entry = PeriodicTask.objects.get(name="analysis-monthly")
    crontab = entry.crontab
    assert (crontab.day_of_month, crontab.hour, crontab.minute) == ("1", "7", "0")
    assert (crontab.month_of_year, crontab.day_of_week) == ("*", "*")
    assert str(crontab.timezone) == "Asia/Taipei"
    assert entry.task == "review_app.tasks.send_monthly_analysis_task"
    app.loader.import_default_modules()
    assert entry.task in app.tasks
    # The task moved to portfolio_app under its first name, which stored rows name.
    assert app.tasks[entry.task].run.__module__ == "portfolio_app.tasks"
    # 08:00 on 31 March in Taipei, last run 1 March: due at 07:00 on 1 April, Taipei.
    with time_machine.travel(dt.datetime(2025, 3, 31, 8, 0, tzinfo=TAIPEI), tick=False):
        remaining = crontab.schedule.remaining_estimate(at(3, 1, 7))
    assert remaining == dt.timedelta(hours=23)


# --- admin -------------------------------------------------------------------------------


def test_admin_lists_the_dispatches_read_only(client, march):
    r = march.roles
    services.analysis_send(month=MARCH, now=NOW)
    url = reverse("admin:portfolio_app_analysisdispatch_changelist")
    for user in (r.pmo, r.executive, r.admin, r.superuser):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, user
        assert "/review/analysis.pdf?month=2025-03" in response.content.decode()
    dispatch = AnalysisDispatch.objects.get()
    client.force_login(r.pmo)
    change = reverse("admin:portfolio_app_analysisdispatch_change", args=[dispatch.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"recipients": "x@example.com"}).status_code == 403
    assert client.get(reverse("admin:portfolio_app_analysisdispatch_add")).status_code == 403
    for user in (r.mkt_head, r.staff):
        client.force_login(user)
        assert client.get(url).status_code in (302, 403), user


def test_admin_send_now_is_for_the_pmo(client, march, django_capture_on_commit_callbacks):
    """The PMO sends a month that did not go out; an executive sees no such action."""
    r = march.roles
    r.executive.delete()
    services.analysis_send(month=MARCH, now=NOW)  # nobody to send to: recorded only
    boss = UserFactory(role=Role.EXECUTIVE)
    dispatch = AnalysisDispatch.objects.get()
    url = reverse("admin:portfolio_app_analysisdispatch_changelist")
    mail.outbox.clear()

    client.force_login(r.pmo)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"action": "send_now", "_selected_action": [dispatch.pk]}, follow=True
        )
    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [[boss.email]]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "send_now", "_selected_action": [dispatch.pk]})
    assert len(mail.outbox) == 1

    client.force_login(boss)
    assert "send_now" not in client.get(url).content.decode()


def test_feedback_of_other_months_and_scopes_stays_out(march):
    """A piece of feedback given at 00:00 on 1 April Taipei time is April's."""
    r = march.roles
    feedback(march.requests[0], r.staff, FeedbackKind.PRAISE, "四月", [r.mkt], at(4, 1, 0))
    assert selectors.monthly_analysis(MARCH, now=NOW).feedback.total == 4
    assert Feedback.objects.count() == 6
