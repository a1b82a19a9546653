"""History lines read in the reader's language, whatever language the actor used (issue 14).

A line stores its kind, its values (`params`) and only what a person typed (`comment`);
the system's sentence is rendered when read (collab.events). So an English-speaking
head's action reads in Chinese to a zh-Hant reader and the reverse, on the request's
history, the task's history and the case page. Also here: the locale-aware list and
date helpers (collab.formats), the conversion of the lines stored translated before
(requests_app 0008, tasks_app 0007), and the 需整改 deadline that moves a due date
earlier only when confirmed and says by how many working days.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from collab import calendar, events, formats
from requests_app.choices import EventKind
from requests_app.models import RequestEvent
from review_app.choices import Verdict
from review_app.services import acceptance as acceptance_services
from review_app.services import archive as archive_services
from tasks_app.choices import TaskEventKind
from tasks_app.models import DueDateChange, Task, TaskEvent
from tests.review_acceptance_fixtures import make_world, seat, submit
from tests.review_archive_fixtures import case  # noqa: F401  (fixture)
from tests.review_closing_fixtures import build_project, open_final, sign_all

pytestmark = pytest.mark.django_db

request_migration = importlib.import_module("requests_app.migrations.0008_event_params")
task_migration = importlib.import_module("tasks_app.migrations.0007_event_params")


def _client(user, language: str) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _html(user, language: str, url: str) -> str:
    response = _client(user, language).get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- the request's history -----------------------------------------------------------------


def _signed_version(w) -> int:
    return w.request.events.filter(kind=EventKind.SIGNED).first().params["version"]


def test_an_english_heads_signature_reads_in_chinese_on_the_request_history(pmo):
    with translation.override("en"):  # the heads sign the breakdown in the English UI
        w = make_world(pmo)
    version = _signed_version(w)
    html = _html(w.initiator, "zh-hant", w.request.get_absolute_url())
    assert f"第 {version} 版" in html
    assert "所有相關部門負責人皆已簽署任務分工表。" in html
    assert f"新增 {w.task}" in html
    assert f"Version {version}" not in html and "Every involved head signed" not in html


def test_a_chinese_heads_signature_reads_in_english_on_the_request_history(pmo):
    w = make_world(pmo)  # the heads sign in zh-Hant, the portal's language
    version = _signed_version(w)
    html = _html(w.initiator, "en", w.request.get_absolute_url())
    assert f"Version {version}" in html
    assert "Every involved head signed the task breakdown." in html
    assert f"Added {w.task}" in html
    assert f"第 {version} 版" not in html and "所有相關部門負責人" not in html


def test_the_request_admin_shows_the_history_in_the_readers_language(pmo):
    w = make_world(pmo)
    pmo.is_staff = True
    pmo.save(update_fields=["is_staff"])
    version = _signed_version(w)
    url = reverse("admin:requests_app_collabrequest_change", args=[w.request.pk])
    assert f"Version {version}" in _html(pmo, "en", url)
    assert f"第 {version} 版" in _html(pmo, "zh-hant", url)


def test_voided_signatures_list_departments_with_the_readers_separator(pmo):
    w = make_world(pmo)
    RequestEvent.objects.create(
        request=w.request,
        kind=EventKind.SIGNATURES_VOIDED,
        by=w.initiator,
        params={"departments": [{"id": w.mkt.pk, "name": "甲"}, {"id": w.tech.pk, "name": "乙"}]},
    )
    event = w.request.events.get(kind=EventKind.SIGNATURES_VOIDED)
    with translation.override("zh-hant"):
        assert event.text == "甲、乙"
    with translation.override("en"):
        assert event.text == "甲, 乙"


# --- the task's history --------------------------------------------------------------------


def _answer(user, language: str, verdict, **fields):
    prefix = f"seat{verdict.pk}-"
    return _client(user, language).post(
        reverse("review_app:acceptance-answer", args=[verdict.pk]),
        {prefix + key: value for key, value in fields.items()},
    )


def test_an_english_heads_answer_reads_in_chinese_on_the_task_history(pmo):
    w = make_world(pmo)
    submit(w)
    verdict = seat(w.task, department=w.design)
    assert _answer(w.design_head, "en", verdict, decision="passed").status_code == 302
    event = TaskEvent.objects.get(task=w.task, kind=TaskEventKind.VERDICT)
    assert event.comment == "" and event.params["decision"] == Verdict.PASSED
    html = _html(w.consulted, "zh-hant", w.task.get_absolute_url())
    assert f"第 1 輪驗收 · {w.design}：通過" in html
    assert "Acceptance round 1" not in html


def test_a_chinese_heads_answer_reads_in_english_on_the_task_history(pmo):
    w = make_world(pmo)
    submit(w)
    verdict = seat(w.task, department=w.design)
    response = _answer(w.design_head, "zh-hant", verdict, decision="failed", reason="配色不符")
    assert response.status_code == 302
    html = _html(w.consulted, "en", w.task.get_absolute_url())
    assert f"Acceptance round 1 · {w.design}: Failed" in html
    assert "配色不符" in html  # the reason stays as typed
    assert "第 1 輪驗收" not in html


def test_progress_keeps_what_was_done_as_typed_and_the_percentage_as_a_value(pmo):
    from tasks_app import services as task_services

    w = make_world(pmo)
    with translation.override("en"):
        task_services.progress_log(task=w.task, by=w.owner, percent=40, done="完成初稿")
    event = TaskEvent.objects.get(task=w.task, kind=TaskEventKind.PROGRESS)
    assert (event.params, event.comment, event.text) == (
        {"percent": 40},
        "完成初稿",
        "40% · 完成初稿",
    )


# --- the case page -------------------------------------------------------------------------


def _case_url(project) -> str:
    return reverse("review_app:case", args=[project.request.pk])


def test_english_heads_signatures_read_in_chinese_on_the_case_page(pmo):
    project = build_project(pmo)
    with translation.override("en"):  # the initiator and the heads use the English UI
        sign_all(project, open_final(project))
    html = _html(project.initiator, "zh-hant", _case_url(project))
    assert 'id="case-history"' in html
    assert "所有參與部門皆已簽署成果驗收確認單。" in html
    assert "第 1 輪" in html and "三項新功能已上線" in html
    assert "Every involved department signed" not in html and "Round 1" not in html


def test_chinese_heads_signatures_read_in_english_on_the_case_page(pmo):
    project = build_project(pmo)
    sign_all(project, open_final(project))
    html = _html(project.initiator, "en", _case_url(project))
    assert "Every involved department signed the final acceptance." in html
    assert "Round 1" in html and "三項新功能已上線" in html
    assert "所有參與部門皆已簽署" not in html and "第 1 輪" not in html


def test_the_archive_line_says_confidential_in_the_readers_language(case):  # noqa: F811
    with translation.override("en"):
        entry = archive_services.archive_case(request=case.req, by=case.pmo, confidential=True)
    event = RequestEvent.objects.get(request=case.req, kind=EventKind.ARCHIVED)
    assert event.params == {"title": entry.title, "confidential": True} and event.comment == ""
    with translation.override("zh-hant"):
        assert event.text == f"{entry.title}（機密）"
    with translation.override("en"):
        assert event.text == f"{entry.title} (confidential)"


# --- the formats ---------------------------------------------------------------------------


def test_lists_and_short_dates_follow_the_language():
    day = dt.date(2025, 3, 6)
    moment = timezone.make_aware(dt.datetime(2025, 3, 6, 17, 0))
    with translation.override("zh-hant"):
        assert formats.join_list(["甲", "乙", "丙"]) == "甲、乙、丙"
        assert formats.short_date(day) == "3月6日"
        assert formats.short_datetime(moment) == "3月6日 17:00"
    with translation.override("en"):
        assert formats.join_list(["A", "B"]) == "A, B"
        assert formats.short_date(day) == "Mar 6"
        assert formats.short_datetime(moment) == "Mar 6, 17:00"


def test_a_line_without_the_values_it_needs_shows_its_comment_alone(pmo):
    """A line left as it was (not recognised by the conversion) still reads as before."""
    w = make_world(pmo)
    event = RequestEvent.objects.create(
        request=w.request, kind=EventKind.SIGNED, by=w.initiator, comment="舊的文字"
    )
    assert events.describe(event) == "" and event.text == "舊的文字"


# --- 需整改 can pull the due date earlier only on purpose ---------------------------------


def _earlier_deadline(task: Task) -> dt.datetime:
    """A deadline three calendar days before the task's due date (still in the future)."""
    return task.due_at - dt.timedelta(days=3)


def test_the_answer_form_shows_the_current_due_date(pmo):
    w = make_world(pmo)
    submit(w)
    due = timezone.localtime(w.task.due_at).strftime("%Y-%m-%d %H:%M")
    html = _html(w.design_head, "zh-hant", w.task.get_absolute_url())
    assert f"目前為 {due}" in html and "confirm_earlier" in html
    html = _html(w.design_head, "en", w.task.get_absolute_url())
    assert f"(now {due})" in html


def test_an_earlier_deadline_without_confirmation_is_refused_on_the_page(pmo):
    w = make_world(pmo)
    task = submit(w)
    verdict = seat(task, department=w.design)
    deadline = _earlier_deadline(task)
    response = _answer(
        w.design_head,
        "zh-hant",
        verdict,
        decision="rectify",
        reason="配色不符",
        rectify_date=f"{timezone.localdate(deadline):%Y-%m-%d}",
        rectify_time="17:00",
    )
    assert response.status_code == 200
    assert "此整改期限早於任務目前的截止時間" in response.content.decode()
    assert Task.objects.get(pk=task.pk).due_at == task.due_at
    assert seat(task, department=w.design).decision == Verdict.PENDING
    response = _answer(
        w.design_head,
        "en",
        verdict,
        decision="rectify",
        reason="colours",
        rectify_date=f"{timezone.localdate(deadline):%Y-%m-%d}",
        rectify_time="17:00",
    )
    assert "This deadline is earlier than the task&#x27;s current due date" in (
        response.content.decode()
    )


def test_the_service_refuses_an_earlier_deadline_unless_confirmed(pmo):
    w = make_world(pmo)
    task = submit(w)
    with pytest.raises(ValidationError) as info:
        acceptance_services.acceptance_answer(
            verdict=seat(task, department=w.design),
            by=w.design_head,
            decision=Verdict.RECTIFY,
            reason="配色不符",
            rectify_due_at=_earlier_deadline(task),
        )
    assert "confirm_earlier" in info.value.message_dict


def test_a_confirmed_earlier_deadline_says_by_how_many_working_days(pmo):
    w = make_world(pmo)
    task = submit(w)
    old_due = task.due_at
    deadline = _earlier_deadline(task)
    response = _answer(
        w.design_head,
        "en",
        seat(task, department=w.design),
        decision="rectify",
        reason="colours",
        rectify_date=f"{timezone.localdate(deadline):%Y-%m-%d}",
        rectify_time="17:00",
        confirm_earlier="on",
    )
    assert response.status_code == 302
    assert Task.objects.get(pk=task.pk).due_at == deadline
    days = calendar.working_days_between(timezone.localdate(deadline), timezone.localdate(old_due))
    assert days > 0
    event = TaskEvent.objects.get(task=task, kind=TaskEventKind.DUE_CHANGED)
    assert event.params["earlier_by"] == days and event.comment == "colours"
    zh = _html(w.consulted, "zh-hant", task.get_absolute_url())
    assert f"（提前 {days} 個工作日）" in zh
    en = _html(w.consulted, "en", task.get_absolute_url())
    plural = "day" if days == 1 else "days"
    assert f"(earlier by {days} working {plural})" in en


def test_a_later_deadline_needs_no_confirmation_and_says_nothing_of_earlier(pmo):
    w = make_world(pmo)
    task = submit(w)
    deadline = task.due_at + dt.timedelta(days=2)
    acceptance_services.acceptance_answer(
        verdict=seat(task, department=w.design),
        by=w.design_head,
        decision=Verdict.RECTIFY,
        reason="配色不符",
        rectify_due_at=deadline,
    )
    event = TaskEvent.objects.get(task=task, kind=TaskEventKind.DUE_CHANGED)
    assert "earlier_by" not in event.params
    with translation.override("en"):
        assert "earlier" not in event.text


# --- the conversion of the lines stored translated -----------------------------------------


def test_the_conversion_recognises_both_languages():
    convert = request_migration.to_params
    assert convert("signed", "Version 3") == ({"version": 3}, "")
    assert convert("signed", "第 3 版") == ({"version": 3}, "")
    assert convert("breakdown", "新增 XQ1-01 設計") == (
        {"msg": "task_added", "task": "XQ1-01 設計"},
        "",
    )
    assert convert("breakdown", "依各部門承接的任務建立 2 項草稿任務") == (
        {"msg": "drafts", "count": 2},
        "",
    )
    assert convert("start", "所有相關部門負責人皆已簽署任務分工表。") == ({"msg": "all_signed"}, "")
    assert convert("start", "開工") is None  # a person's comment stays
    assert convert("final_opened", "第 2 輪：已交付\n兩項") == ({"round": 2}, "已交付\n兩項")
    assert convert("attachment", "a v2.pdf v3 — 修訂") == (
        {"file": "a v2.pdf", "version": 3},
        "修訂",
    )
    assert convert("archived", "案-20250306 · 機密") == (
        {"title": "案-20250306", "confidential": True},
        "",
    )
    assert convert("voided", "設計部、銷售部", {"設計部": 7}) == (
        {"departments": [{"id": 7, "name": "設計部"}, {"id": None, "name": "銷售部"}]},
        "",
    )
    convert = task_migration.to_params
    params, comment = convert(
        "verdict",
        "第 1 輪驗收 · 設計部：需整改 （整改期限：2025-03-06 17:00）\n補色票",
        {"設計部": 7},
    )
    assert comment == "補色票"
    assert params["decision"] == "rectify" and params["department_id"] == 7
    assert params["rectify_due_at"] == timezone.make_aware(dt.datetime(2025, 3, 6, 17)).isoformat()
    params, comment = convert("verdict", "Acceptance round 2 · Initiator: Passed")
    assert (params, comment) == ({"round": 2, "decision": "passed", "seat": "initiator"}, "")
    assert convert("progress", "60% 完成初稿") == ({"percent": 60}, "完成初稿")
    assert convert("accept", "所有驗收人均已通過第 2 輪驗收。") == (
        {"msg": "all_passed", "round": 2},
        "",
    )
    assert convert("due_changed", "隨便寫的") is None


def _run(migration, direction: str) -> None:
    with connection.schema_editor() as editor:
        getattr(migration, direction)(django_apps, editor)


def test_the_conversion_converts_rows_of_an_archived_case_and_back(case):  # noqa: F811
    """Old rows in English and zh-Hant, on a case archived afterwards (its rows are then
    read-only in the database), are converted and read in either language; backwards
    they get their English text again."""
    old = timezone.make_aware(dt.datetime(2025, 3, 3, 17))
    moved = timezone.make_aware(dt.datetime(2025, 3, 6, 17))
    request_rows = {
        "signed_en": RequestEvent.objects.create(
            request=case.req, kind=EventKind.SIGNED, by=case.tech_head, comment="Version 2"
        ),
        "final_zh": RequestEvent.objects.create(
            request=case.req,
            kind=EventKind.FINAL_OPENED,
            by=case.initiator,
            comment="第 1 輪：成果",
        ),
    }
    task_rows = {
        "due_en": TaskEvent.objects.create(
            task=case.task,
            kind=TaskEventKind.DUE_CHANGED,
            by=case.initiator,
            comment="2025-03-03 17:00 → 2025-03-06 17:00: 客戶延期",
        ),
        "verdict_zh": TaskEvent.objects.create(
            task=case.task,
            kind=TaskEventKind.VERDICT,
            by=case.tech_head,
            comment=f"第 1 輪驗收 · {case.tech}：通過",
        ),
    }
    archive_services.archive_case(request=case.req, by=case.pmo)
    with pytest.raises(DatabaseError), transaction.atomic():  # read-only in the database
        RequestEvent.objects.filter(pk=request_rows["signed_en"].pk).update(comment="x")

    _run(request_migration, "forwards")
    _run(task_migration, "forwards")

    signed = RequestEvent.objects.get(pk=request_rows["signed_en"].pk)
    final = RequestEvent.objects.get(pk=request_rows["final_zh"].pk)
    due = TaskEvent.objects.get(pk=task_rows["due_en"].pk)
    verdict = TaskEvent.objects.get(pk=task_rows["verdict_zh"].pk)
    assert (signed.params, signed.comment) == ({"version": 2}, "")
    assert (final.params, final.comment) == ({"round": 1}, "成果")
    assert due.params == {"old": old.isoformat(), "new": moved.isoformat()}
    assert due.comment == "客戶延期"
    assert verdict.params["department_id"] == case.tech.pk and verdict.comment == ""
    with translation.override("zh-hant"):
        assert signed.text == "第 2 版"
        assert final.text == "第 1 輪 · 成果"
        assert verdict.text == f"第 1 輪驗收 · {case.tech}：通過"
    with translation.override("en"):
        assert due.text == "2025-03-03 17:00 → 2025-03-06 17:00 · 客戶延期"
        assert verdict.text == f"Acceptance round 1 · {case.tech}: Passed"

    _run(task_migration, "backwards")
    _run(request_migration, "backwards")
    signed.refresh_from_db()
    due.refresh_from_db()
    verdict.refresh_from_db()
    final.refresh_from_db()
    assert (signed.comment, signed.params) == ("Version 2", {})
    assert due.comment == "2025-03-03 17:00 → 2025-03-06 17:00: 客戶延期"
    assert verdict.comment == f"Acceptance round 1 · {case.tech}: Passed"
    assert final.comment == "Round 1: 成果"
    # The switch was on for the conversion's writes only: the case is read-only again.
    with pytest.raises(DatabaseError), transaction.atomic():
        TaskEvent.objects.filter(pk=due.pk).update(comment="x")


# --- a 需整改's due date change: its solution is said in the reader's language ----------

due_change_migration = importlib.import_module("tasks_app.migrations.0008_due_change_rectify_round")


def test_a_rectifications_solution_reads_in_the_readers_language(pmo):
    """An English reviewer's 需整改 moves the due date; the change's solution is the
    round's, said in Chinese to a zh-Hant reader of the task page and the reverse."""
    w = make_world(pmo)
    task = submit(w)
    with translation.override("en"):
        acceptance_services.acceptance_answer(
            verdict=seat(task, department=w.design),
            by=w.design_head,
            decision=Verdict.RECTIFY,
            reason="colours",
            rectify_due_at=task.due_at + dt.timedelta(days=2),
        )
    change = DueDateChange.objects.get(task=task)
    assert (change.rectify_round, change.solution) == (1, "")
    zh = _html(w.consulted, "zh-hant", task.get_absolute_url())
    assert "依第 1 輪驗收要求整改後重新提交。" in zh
    assert "Rectify and submit again" not in zh
    en = _html(w.consulted, "en", task.get_absolute_url())
    assert "Rectify and submit again (acceptance round 1 asked for it)." in en


def test_stored_rectification_sentences_convert_in_both_languages_and_back(case):  # noqa: F811
    """Old rows said the sentence in the reviewer's language, on a case archived since;
    the conversion keeps the round and clears the sentence; a person's text stays."""
    old = case.task.due_at
    rows = [
        DueDateChange.objects.create(
            task=case.task,
            old_due_at=old,
            new_due_at=old + dt.timedelta(days=n),
            reason="r",
            solution=solution,
            changed_by=case.pmo,
        )
        for n, solution in (
            (1, "Rectify and submit again (acceptance round 2 asked for it)."),
            (2, "依第 3 輪驗收要求整改後重新提交。"),
            (3, "加派人手，週五前完成"),
        )
    ]
    archive_services.archive_case(request=case.req, by=case.pmo)

    _run(due_change_migration, "forwards")
    english, chinese, typed = (DueDateChange.objects.get(pk=row.pk) for row in rows)
    assert (english.rectify_round, english.solution) == (2, "")
    assert (chinese.rectify_round, chinese.solution) == (3, "")
    assert (typed.rectify_round, typed.solution) == (None, "加派人手，週五前完成")
    with translation.override("en"):
        assert (
            chinese.solution_text == "Rectify and submit again (acceptance round 3 asked for it)."
        )
    with translation.override("zh-hant"):
        assert english.solution_text == "依第 2 輪驗收要求整改後重新提交。"
        assert typed.solution_text == "加派人手，週五前完成"

    _run(due_change_migration, "backwards")
    chinese = DueDateChange.objects.get(pk=rows[1].pk)
    assert chinese.solution == "Rectify and submit again (acceptance round 3 asked for it)."
