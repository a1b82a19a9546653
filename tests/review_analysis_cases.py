"""Builders of the monthly analysis tests: a hand-made March 2025 and its February.

The fixtures that use them are in tests/review_analysis_fixtures.py (test modules load
them with `pytest_plugins = ["tests.review_analysis_fixtures"]`).

The cases are built through the services (tests/factories.py), then their timestamps and
states are set with queryset updates, so that every number of the report is known:

Requests (initiated by Marketing, with Marketing and Tech collaborating):
- R1 completed: submitted 2025-01-10, approved 01-20, completed 03-12 → cycle 61 days.
- R2 completed: submitted 03-02, approved 03-05, completed 03-22 → cycle 20 days.
- R3 in progress: submitted 03-03, approved 03-10; holds T1..T7; its two reviews were
  asked 03-03 10:00 and answered by Marketing a day later, by Tech three days later.
- R4 in progress: submitted 02-15, approved 02-20; holds T8.
- R5 pending: submitted 03-25 (its reviews are unanswered).
So March: 3 submitted (completed, in progress, pending), 2 confirmed, 2 completed
(average cycle 40.5 days: one up to 30 days, one 61-90); February: 1, 1, 0.

Tasks due in March, as of NOW (2025-04-01 07:00):
- T1 mkt done, due 03-10 17:00, delivered 03-09 → on time
- T2 mkt done, due 03-12, delivered 03-14 → late
- T3 tech done, due 03-15 17:00, delivered 03-15 12:00 → on time
- T4 tech in progress, due 03-20, high risk → late
- T5 tech to do, due 03-28, medium risk → late
- T7 mkt submitted 03-24, due 03-25 → open, in progress on time
- T6 mkt in progress, due 04-05 → not in March
So 6 due: 3 done (2 on time, 1 late), 3 open (1 on time, 2 late), on-time rate
2 / 5 = 40.0%; Marketing 1 / 2 = 50.0%, Tech 1 / 3 = 33.3%. February: T8 done on time.

Feedback given in March (on R1): F1 problem (Tech, handled), F2 problem (Tech and
Marketing, long), F3 praise (Marketing, handled), F4 suggestion (Tech); February: F5.
Suggestions filed in March: S1 by Marketing (submitted), S2 by Tech (adopted); S3 by
Tech in February.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from requests_app.models import CollabRequest
from review_app.choices import SuggestionState
from review_app.models import Feedback, Suggestion
from tasks_app.models import Task

TAIPEI = ZoneInfo("Asia/Taipei")
MARCH = dt.date(2025, 3, 1)
FEBRUARY = dt.date(2025, 2, 1)
NOW = dt.datetime(2025, 4, 1, 7, 0, tzinfo=TAIPEI)

LONG_PROBLEM = (
    "市場部在開發中途才提出需提供客戶復購率數據，該數據需從CRM系統導出且需總部審批，"
    "導致原定提交的數據延遲三天，影響方案進度；建議需求發起階段就列明所需數據及提前量，"
    "並建立跨部門數據需求提報表，提前五個工作日提交數據申請，以免再次延誤整體排程與上線。"
)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=TAIPEI)


def request_times(req, **times) -> None:
    CollabRequest.objects.filter(pk=req.pk).update(**times)


def task_update(task, **fields) -> None:
    Task.objects.filter(pk=task.pk).update(**fields)


def feedback(request, author, kind, content, departments, created_at, *, handled=False):
    row = Feedback.objects.create(
        number=f"FKT{Feedback.objects.count() + 1:05d}",
        request=request,
        author=author,
        kind=kind,
        content=content,
    )
    row.departments.set(departments)
    Feedback.objects.filter(pk=row.pk).update(
        created_at=created_at,
        handled_at=created_at + dt.timedelta(days=1) if handled else None,
        handling_result="已處理" if handled else "",
    )
    return row


def suggestion(department, proposer, pain_point, created_at, state=SuggestionState.SUBMITTED):
    row = Suggestion.objects.create(
        number=f"YJT{Suggestion.objects.count() + 1:05d}",
        department=department,
        proposer=proposer,
        pain_point=pain_point,
        proposal="新增電子簽批功能",
        expected_effect="審核耗時縮短",
    )
    Suggestion.objects.filter(pk=row.pk).update(created_at=created_at, state=state)
    return row
