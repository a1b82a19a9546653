"""An archived case is read-only for everyone, at every layer: models, PostgreSQL,
services, permissions and admin. Each test archives a case holding a row of every case
model and then tries a write path; the write is refused and nothing changes."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib import admin as admin_site_module
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_perms, remove_perm

from collab.numbering import next_number
from collab.services import user_sync_access
from meetings_app.choices import MeetingKind, MinutesState
from meetings_app.models import (
    ActionDelivery,
    ActionEvent,
    ActionItem,
    ActionProgress,
    AgendaItem,
    Meeting,
    MeetingComment,
    MeetingEvent,
    MeetingSeries,
    Minutes,
    MinutesAttendance,
    MinutesItem,
    Problem,
)
from requests_app import permissions as request_permissions
from requests_app import services as request_services
from requests_app.admin import ArchivedCaseAdminMixin, is_archived_case
from requests_app.models import (
    Attachment,
    AttachmentVersion,
    CaseArchived,
    CaseRecord,
    CollabRequest,
    DepartmentReview,
    Goal,
    Milestone,
    RequestEvent,
    ResourceNeed,
)
from requests_app.permissions import VIEW_PERMISSION
from review_app.choices import FeedbackKind, Seat
from review_app.models import (
    AcceptanceVerdict,
    Feedback,
    FeedbackInvitation,
    FinalAcceptance,
    FinalSignature,
    TaskAcceptance,
)
from review_app.services import acceptance as acceptance_services
from review_app.services import archive as archive_services
from review_app.services import closing as closing_services
from review_app.services import feedback as feedback_services
from risks_app.models import Risk, RiskEvent
from tasks_app import permissions as task_permissions
from tasks_app import services as task_services
from tasks_app.models import (
    CollabAsk,
    DueDateChange,
    ProgressUpdate,
    Task,
    TaskAssignment,
    TaskComment,
    TaskDeliverable,
)
from tests import review_archive_fixtures as fixtures

case, platform_admin = fixtures.case, fixtures.platform_admin  # fixtures of this module

pytestmark = pytest.mark.django_db

CASE_MODELS = sorted(
    (m for m in apps.get_models() if issubclass(m, CaseRecord)), key=lambda m: m._meta.label
)


def _lookup(model) -> str:
    return model.case_path.replace(".", "__")


def _rows_of(model, req):
    return model.objects.filter(**{_lookup(model): req})


def snapshot(req) -> dict:
    """Every row of the case, as values, per case model, plus the request's own row."""
    state = {m._meta.label: sorted(map(repr, _rows_of(m, req).values())) for m in CASE_MODELS}
    state["request"] = repr(CollabRequest.objects.filter(pk=req.pk).values().get())
    for model in CASE_MODELS:
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            state[through._meta.label] = sorted(
                map(
                    repr,
                    through.objects.filter(
                        **{f"{field.m2m_field_name()}__in": _rows_of(model, req)}
                    ).values(),
                )
            )
    return state


def _meeting_rows(case, req, task) -> None:
    """A weekly series' meeting with filed minutes, a problem and an action item with its
    update, delivery, history and comment (meetings_app)."""
    start = timezone.now() - dt.timedelta(days=3)
    series = MeetingSeries.objects.create(
        request=req,
        topic="專案週例會",
        weekday=4,
        start_time=dt.time(16, 0),
        first_date=timezone.localdate() - dt.timedelta(days=7),
        organiser=case.initiator,
        recorder=case.owner,
    )
    series.departments.add(case.mkt)
    series.participants.add(case.mkt_head)
    meeting = Meeting.objects.create(
        request=req,
        series=series,
        series_date=timezone.localdate() - dt.timedelta(days=3),
        topic="專案週例會",
        kind=MeetingKind.WEEKLY,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        organiser=case.initiator,
        recorder=case.owner,
    )
    meeting.departments.add(case.mkt)
    meeting.participants.add(case.mkt_head)
    AgendaItem.objects.create(meeting=meeting, title="進度同步")
    minutes = Minutes.objects.create(
        meeting=meeting, state=MinutesState.FILED, drafted_by=case.owner, filed_by=case.owner
    )
    minutes.tasks_discussed.add(task)
    MinutesItem.objects.create(minutes=minutes, title="進度同步", conclusion="按計劃推進")
    MinutesAttendance.objects.create(minutes=minutes, user=case.mkt_head, attendance="present")
    problem = Problem.objects.create(
        meeting=meeting, raised_in=minutes, description="數據同步延遲", is_filed=True
    )
    action = ActionItem.objects.create(
        meeting=meeting,
        raised_in=minutes,
        problem=problem,
        description="排查同步延遲原因",
        responsible_department=case.tech,
        owner=case.owner,
        start_date=timezone.localdate(),
        due_at=timezone.now() + dt.timedelta(days=2),
    )
    ActionProgress.objects.create(action=action, author=case.owner, percent=50, note="已定位")
    ActionDelivery.objects.create(action=action, note="排查報告", submitted_by=case.owner)
    ActionEvent.objects.create(action=action, kind="opened", by=case.owner)
    MeetingEvent.objects.create(meeting=meeting, kind="minutes_filed", by=case.owner)
    MeetingComment.objects.create(meeting=meeting, author=case.mkt_head, body="收到")


def _risk_rows(case, req, task) -> None:
    """A risk report with its impact scope and history (risks_app)."""
    reported = timezone.now() - dt.timedelta(days=2)
    risk = Risk.objects.create(
        request=req,
        task=task,
        title="供應商交期",
        description="原料延遲兩週",
        probability=4,
        impact=3,
        level="medium",
        suggested_measures="備用供應商",
        discovered_at=reported - dt.timedelta(hours=3),
        reported_at=reported,
        reported_by=case.owner,
    )
    risk.affected_tasks.add(task)
    risk.affected_departments.add(case.tech)
    risk.affected_goals.add(Goal.objects.filter(request=req).first())
    RiskEvent.objects.create(risk=risk, kind="report", by=case.owner)


@pytest.fixture
def full(case):
    """The case with a row of every case model (and of every many-to-many table), archived.

    Rows the earlier steps did not make are written directly, before archiving.
    """
    req, task = case.req, case.task
    Milestone.objects.create(request=req, name="上線", date=timezone.localdate())
    ResourceNeed.objects.create(
        request=req, department=case.tech, kind="people", description="2名工程師"
    )
    attachment = Attachment.objects.create(request=req, name="分析.txt", created_by=case.initiator)
    AttachmentVersion.objects.create(
        attachment=attachment,
        version=1,
        file="attachments/x.txt",
        original_name="分析.txt",
        size=3,
        content_type="text/plain",
        uploaded_by=case.initiator,
    )
    ProgressUpdate.objects.create(task=task, author=case.owner, percent=100, done="完成")
    DueDateChange.objects.create(
        task=task,
        old_due_at=task.due_at,
        new_due_at=task.due_at + dt.timedelta(days=1),
        reason="技術難點",
        solution="增派1人",
        changed_by=case.initiator,
    )
    TaskDeliverable.objects.create(
        task=task,
        file="deliverables/x.txt",
        original_name="成果.txt",
        size=3,
        content_type="text/plain",
        uploaded_by=case.owner,
    )
    task.supporting_departments.add(case.mkt)
    second = Task.objects.create(
        request=req,
        sequence=99,
        number=f"{req.number}-99",
        name="推廣活動策劃",
        responsible_department=case.mkt,
        start_date=timezone.localdate(),
        due_at=task.due_at,
        state="done",
    )
    second.depends_on.add(task)
    TaskAssignment.objects.create(task=second, user=case.initiator, role="R")
    TaskAssignment.objects.create(task=second, user=case.mkt_head, role="A")
    comment = TaskComment.objects.create(task=task, author=case.owner, body="@initiator 請看")
    comment.mentions.add(case.initiator)
    ask = CollabAsk.objects.create(
        task=task,
        asked_by=case.owner,
        to_user=case.initiator,
        content="請提供用戶數據",
        expected_date=timezone.localdate() + dt.timedelta(days=3),
    )
    if not TaskAcceptance.objects.filter(task=task).exists():
        acceptance = TaskAcceptance.objects.create(
            task=task,
            round=1,
            completion_note="已交付",
            submitted_by=case.owner,
            due_date=timezone.localdate(),
            outcome="passed",
        )
        AcceptanceVerdict.objects.create(
            acceptance=acceptance, seat=Seat.INITIATOR, reviewer=case.initiator, decision="passed"
        )
    final = FinalAcceptance.objects.filter(request=req).first()
    if not FinalSignature.objects.filter(final=final).exists():
        FinalSignature.objects.create(final=final, department=case.mkt, decision="signed")
    if not FeedbackInvitation.objects.filter(request=req).exists():
        FeedbackInvitation.objects.create(request=req, user=case.owner)
    feedback = Feedback.objects.create(
        number=next_number("FK"),
        request=req,
        author=case.owner,
        kind=FeedbackKind.PRAISE,
        content="市場部及時提供需求",
        handling_result="已轉達市場部。",
        handled_by=case.pmo,
        handled_at=timezone.now(),
    )
    feedback.departments.add(case.mkt)
    _meeting_rows(case, req, task)
    _risk_rows(case, req, task)
    archive_services.archive_case(request=req, by=case.pmo)
    # After archiving: the archiving itself writes the knowledge-base entry.
    for model in CASE_MODELS:
        assert _rows_of(model, req).exists(), f"the fixture has no {model.__name__} row"
    req = CollabRequest.objects.get(pk=req.pk)
    return SimpleNamespace(
        **{
            **vars(case),
            "archived": req,
            "task": Task.objects.select_related("request").get(pk=task.pk),
            "second": second,
            "comment": comment,
            "ask": ask,
            "feedback": feedback,
            "goal": Goal.objects.get(request=req),
            "before": snapshot(req),
        }
    )


def unchanged(full) -> None:
    assert snapshot(full.archived) == full.before


# --- (a) the models ------------------------------------------------------------------


@pytest.mark.parametrize("model", CASE_MODELS, ids=lambda m: m.__name__)
def test_every_case_model_refuses_save_and_delete_once_archived(full, model):
    """CaseRecord: a row of an archived case, read from the database, cannot be saved,
    deleted, or copied into a new row of the case."""
    row = _rows_of(model, full.archived).first()
    with pytest.raises(CaseArchived):
        row.save()
    row = model.objects.get(pk=row.pk)
    with pytest.raises(CaseArchived):
        row.delete()
    row = model.objects.get(pk=row.pk)
    row.pk = None
    row._state.adding = True
    with pytest.raises(CaseArchived):
        row.save()
    unchanged(full)


def test_the_request_itself_refuses_save_and_delete_once_archived(full):
    req = CollabRequest.objects.get(pk=full.archived.pk)
    req.name = "改名"
    with pytest.raises(CaseArchived) as info:
        req.save()
    assert info.value.code == "archived"
    with pytest.raises(CaseArchived):
        req.delete()
    unchanged(full)


def test_a_copy_read_before_archiving_is_refused_after_refresh(case):
    """refresh_from_db keeps the guard's view of the row in step with the database."""
    stale = CollabRequest.objects.get(pk=case.req.pk)
    archive_services.archive_case(request=case.req, by=case.pmo)
    stale.refresh_from_db()
    assert stale.is_archived
    with pytest.raises(CaseArchived):
        stale.save()
    with pytest.raises(CaseArchived):
        Goal(request=stale, description="新目標", metric="x", target_value=1).save()


def test_the_archiving_save_itself_goes_through(case):
    """Archiving is the one save of a case that is not yet archived; later ones are refused."""
    entry = archive_services.archive_case(request=case.req, by=case.pmo)
    assert entry.request.archived_when_loaded()
    with pytest.raises(CaseArchived):
        entry.request.save()


# --- (b) PostgreSQL ----------------------------------------------------------------------


def _trigger_args() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgargs FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'case_archived_read_only'"
        )
        return {
            table: [a.decode() for a in bytes(args).split(b"\x00") if a]
            for table, args in cursor.fetchall()
        }


def _path_to_request(model) -> list[str]:
    """The trigger's arguments for `model`: its column, then (table, column) hops."""
    args, current = [], model
    for index, name in enumerate(model.case_path.split(".")):
        field = current._meta.get_field(name)
        if index:
            args.append(current._meta.db_table)
        args.append(field.column)
        current = field.related_model
    assert current is CollabRequest
    return args


def test_every_case_table_and_its_many_to_many_tables_carry_the_trigger():
    """A new case model (or many-to-many field) needs a migration adding its trigger."""
    installed = _trigger_args()
    assert installed.pop("requests_app_collabrequest") == []  # its own trigger, see below
    expected = {}
    for model in CASE_MODELS:
        expected[model._meta.db_table] = _path_to_request(model)
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            if through._meta.auto_created:
                expected[through._meta.db_table] = [
                    field.m2m_column_name(),
                    model._meta.db_table,
                    *_path_to_request(model),
                ]
    assert installed == expected
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'case_archived_read_only' "
            "AND c.relname = 'requests_app_collabrequest'"
        )
        assert cursor.fetchone()[0] == 1


def _raw(sql: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _refused(write) -> None:
    with pytest.raises(DatabaseError, match="archived and read-only"), transaction.atomic():
        write()


@pytest.mark.parametrize(
    "write",
    [
        lambda f: CollabRequest.objects.filter(pk=f.archived.pk).update(name="改名"),
        lambda f: CollabRequest.objects.filter(pk=f.archived.pk).update(is_archived=False),
        lambda f: _raw("DELETE FROM requests_app_collabrequest WHERE id = %s", f.archived.pk),
        lambda f: Goal.objects.filter(request=f.archived).update(actual_value=99),
        lambda f: Goal.objects.filter(request=f.archived).delete(),
        lambda f: Goal.objects.bulk_create(
            [Goal(request=f.archived, description="x", metric="y", target_value=1)]
        ),
        lambda f: RequestEvent.objects.filter(request=f.archived).delete(),
        lambda f: Task.objects.filter(request=f.archived).update(name="改名"),
        lambda f: Task.objects.filter(pk=f.second.pk).delete(),
        lambda f: TaskComment.objects.filter(task__request=f.archived).update(body="改"),
        lambda f: ProgressUpdate.objects.bulk_create(
            [ProgressUpdate(task=f.task, author=f.owner, percent=1, done="x")]
        ),
        lambda f: AcceptanceVerdict.objects.filter(acceptance__task__request=f.archived).update(
            reason="改"
        ),
        lambda f: Feedback.objects.filter(request=f.archived).update(handling_result="已處理"),
        lambda f: DepartmentReview.objects.filter(request=f.archived).update(comment="改"),
        lambda f: f.task.supporting_departments.add(f.tech),
        lambda f: f.task.supporting_departments.clear(),
        lambda f: f.second.depends_on.clear(),
        lambda f: f.comment.mentions.add(f.owner),
        lambda f: f.feedback.departments.clear(),
        lambda f: Task.objects.filter(pk=f.task.pk).update(request=f.other_request),
        lambda f: Risk.objects.filter(request=f.archived).update(state="closed"),
        lambda f: Risk.objects.get(request=f.archived).affected_departments.clear(),
        lambda f: RiskEvent.objects.filter(risk__request=f.archived).delete(),
    ],
    ids=[
        "request-update",
        "request-unarchive",
        "request-delete",
        "goal-update",
        "goal-delete",
        "goal-bulk-create",
        "events-delete",
        "task-update",
        "task-delete",
        "comment-update",
        "progress-bulk-create",
        "verdict-update",
        "feedback-update",
        "review-update",
        "supporting-add",
        "supporting-clear",
        "depends-on-clear",
        "mentions-add",
        "feedback-departments-clear",
        "task-moved-out",
        "risk-update",
        "risk-m2m-clear",
        "risk-event-delete",
    ],
)
def test_postgresql_refuses_queryset_writes_on_an_archived_case(full, write):
    """Queryset update()/delete(), bulk_create and many-to-many changes bypass the models;
    the triggers refuse them."""
    from tests.factories import make_request

    full.other_request = make_request(initiator=full.initiator, departments=[full.mkt])
    _refused(lambda: write(full))
    unchanged(full)


def test_a_row_cannot_be_moved_into_an_archived_case(full):
    from tests.factories import make_request

    other = make_request(initiator=full.initiator, departments=[full.mkt])
    _refused(lambda: Goal.objects.filter(request=other).update(request=full.archived))
    assert Goal.objects.filter(request=other).count() == 1
    unchanged(full)


def test_open_cases_stay_writable_through_querysets(full):
    from tests.factories import make_request

    other = make_request(initiator=full.initiator, departments=[full.mkt])
    assert Goal.objects.filter(request=other).update(actual_value=5) == 1
    CollabRequest.objects.filter(pk=other.pk).update(name="改名")
    Goal.objects.filter(request=other).delete()
    assert CollabRequest.objects.get(pk=other.pk).name == "改名"


def test_object_permissions_stay_writable_on_an_archived_case(full, outsider):
    """django-guardian's tables are access control, not case content."""
    assign_perm(VIEW_PERMISSION, full.outsider, full.archived)
    assert VIEW_PERMISSION in get_perms(full.outsider, full.archived)
    remove_perm(VIEW_PERMISSION, full.outsider, full.archived)
    user_sync_access(full.tech_head)
    user_sync_access(full.owner)
    unchanged(full)


# --- (c) the services ------------------------------------------------------------------


def _txt() -> SimpleUploadedFile:
    return SimpleUploadedFile("說明.txt", "更新說明".encode(), content_type="text/plain")


SERVICE_CALLS = {
    "request_save": lambda f: request_services.request_save(
        by=f.initiator,
        request=f.archived,
        data={"name": "改名"},
        departments=[{"department": f.mkt, "is_lead": True}],
    ),
    "request_submit": lambda f: request_services.request_submit(request=f.archived, by=f.initiator),
    "review_decide": lambda f: request_services.review_decide(
        review=DepartmentReview.objects.filter(request=f.archived).first(),
        by=f.mkt_head,
        approve=True,
    ),
    "request_confirm": lambda f: request_services.request_confirm(request=f.archived, by=f.pmo),
    "request_start": lambda f: request_services.request_start(request=f.archived, by=f.pmo),
    "request_complete": lambda f: request_services.request_complete(request=f.archived, by=f.pmo),
    # As the signing and the final acceptance call them (no check of who acts).
    "request_start_unchecked": lambda f: request_services.request_start_unchecked(
        request=f.archived, by=f.mkt_head
    ),
    "request_complete_unchecked": lambda f: request_services.request_complete_unchecked(
        request=f.archived, by=f.mkt_head
    ),
    "request_cancel": lambda f: request_services.request_cancel(
        request=f.archived, by=f.pmo, reason="不做了"
    ),
    "attachment_add": lambda f: request_services.attachment_add(
        request=f.archived, by=f.initiator, file=_txt()
    ),
    "attachment_add_version": lambda f: request_services.attachment_add(
        request=f.archived,
        by=f.initiator,
        file=_txt(),
        note="第二版",
        attachment=Attachment.objects.get(request=f.archived),
    ),
    "task_save": lambda f: task_services.task_save(
        request=f.archived,
        by=f.pmo,
        data={"name": "改名"},
        raci={"R": f.owner, "A": f.initiator},
        task=f.task,
    ),
    "task_add": lambda f: task_services.task_save(
        request=f.archived,
        by=f.pmo,
        data={
            "name": "新任務",
            "responsible_department": f.tech,
            "start_date": timezone.localdate(),
            "due_at": f.task.due_at,
        },
        raci={"R": f.owner, "A": f.initiator},
    ),
    "task_remove": lambda f: task_services.task_remove(task=f.second, by=f.pmo),
    "breakdown_sign": lambda f: task_services.breakdown_sign(
        request=f.archived, by=f.mkt_head, department=f.mkt
    ),
    "task_start": lambda f: task_services.task_start(task=f.task, by=f.owner),
    "task_override_dependencies": lambda f: task_services.task_override_dependencies(
        task=f.task, by=f.initiator, reason="急"
    ),
    "task_submit": lambda f: task_services.task_submit(
        task=f.task, by=f.owner, completion_note="再交", files=[_txt()]
    ),
    # As the acceptance procedure calls them (review_app.services.acceptance).
    "task_accept_unchecked": lambda f: task_services.task_accept_unchecked(
        task=f.task, by=f.initiator
    ),
    "task_reject_delivery_unchecked": lambda f: task_services.task_reject_delivery_unchecked(
        task=f.task, by=f.initiator, reason="重做"
    ),
    "task_change_due": lambda f: task_services.task_change_due(
        task=f.task,
        by=f.pmo,
        new_due_at=f.task.due_at + dt.timedelta(days=5),
        reason="延期",
        solution="加人",
    ),
    "progress_log": lambda f: task_services.progress_log(
        task=f.task, by=f.owner, percent=100, done="補充"
    ),
    "comment_add": lambda f: task_services.comment_add(task=f.task, by=f.owner, body="補充說明"),
    "ask_create": lambda f: task_services.ask_create(
        task=f.task,
        by=f.owner,
        content="再請協助",
        expected_date=timezone.localdate() + dt.timedelta(days=2),
        to_department=f.mkt,
    ),
    "ask_answer": lambda f: task_services.ask_answer(ask=f.ask, by=f.initiator, answer="好的"),
    "ask_close": lambda f: task_services.ask_close(ask=f.ask, by=f.owner),
}


# review_app's own services (acceptance, closing, feedback), called the way their pages do.
SERVICE_CALLS.update(
    {
        "acceptance_open": lambda f: acceptance_services.acceptance_open(task=f.task, by=f.owner),
        "acceptance_answer": lambda f: acceptance_services.acceptance_answer(
            verdict=AcceptanceVerdict.objects.filter(acceptance__task=f.task).first(),
            by=f.initiator,
            decision="passed",
        ),
        "final_open": lambda f: closing_services.final_open(
            request=f.archived, by=f.initiator, summary="再驗收"
        ),
        "retrospective_save": lambda f: closing_services.retrospective_save(
            retrospective=f.retrospective, by=f.initiator, highlights="改寫亮點"
        ),
        "retrospective_file": lambda f: closing_services.retrospective_file(
            retrospective=f.retrospective, by=f.initiator
        ),
        "feedback_give": lambda f: feedback_services.feedback_give(
            request=f.archived, by=f.owner, kind=FeedbackKind.PROBLEM, content="晚到的反饋"
        ),
        "feedback_handle": lambda f: feedback_services.feedback_handle(
            feedback=f.feedback, by=f.pmo, result="已處理"
        ),
    }
)


@pytest.mark.parametrize("name", sorted(SERVICE_CALLS))
def test_every_service_refuses_an_archived_case_first(full, name):
    """Each service says the case is archived (translated, code "archived") before any
    other check, and writes nothing."""
    with pytest.raises(CaseArchived) as info:
        SERVICE_CALLS[name](full)
    assert info.value.code == "archived"
    unchanged(full)


# An archived case has only answered signatures in a closed round, so the closing
# services refuse a signature as already given; the models and the database back them.
ANSWERED_CALLS = {
    "final_sign": lambda f: closing_services.final_sign(
        signature=FinalSignature.objects.filter(final__request=f.archived).first(),
        by=f.mkt_head,
    ),
    "final_refuse": lambda f: closing_services.final_refuse(
        signature=FinalSignature.objects.filter(final__request=f.archived).first(),
        by=f.mkt_head,
        reason="不同意",
    ),
}


@pytest.mark.parametrize("name", sorted(ANSWERED_CALLS))
def test_the_final_signatures_of_an_archived_case_stay_as_they_are(full, name):
    with pytest.raises((CaseArchived, closing_services.ClosingConflict)):
        ANSWERED_CALLS[name](full)
    unchanged(full)


def test_services_refuse_even_when_the_caller_holds_a_copy_read_before_archiving(case):
    stale_task = Task.objects.select_related("request").get(pk=case.task.pk)
    archive_services.archive_case(request=case.req, by=case.pmo)
    with pytest.raises(CaseArchived):
        task_services.comment_add(task=stale_task, by=case.owner, body="晚了一步")
    with pytest.raises(CaseArchived):
        request_services.request_cancel(request=case.req, by=case.pmo, reason="x")
    assert not TaskComment.objects.filter(task=stale_task).exists()


# --- (c) the permissions -----------------------------------------------------------------

rp, tp = request_permissions, task_permissions

# name → (request state, task state, who, rule). The rule holds on the case while it is
# not archived, so the test can only pass because the archive closed it.
RULES = {
    "requests.can_edit": ("draft", None, "initiator", lambda w: rp.can_edit(w.user, w.req)),
    "requests.can_submit": ("draft", None, "initiator", lambda w: rp.can_submit(w.user, w.req)),
    "requests.can_attach": (
        "in_progress",
        None,
        "initiator",
        lambda w: rp.can_attach(w.user, w.req),
    ),
    "requests.review_actor": (
        "pending",
        None,
        "mkt_head",
        lambda w: rp.review_actor(w.user, w.review) is not None,
    ),
    "requests.can_confirm": ("pending", None, "pmo", lambda w: rp.can_confirm(w.user, w.req)),
    "requests.can_start": ("approved", None, "initiator", lambda w: rp.can_start(w.user, w.req)),
    "requests.can_complete": (
        "in_progress",
        None,
        "pmo",
        lambda w: rp.can_complete(w.user, w.req),
    ),
    "requests.can_cancel": ("in_progress", None, "pmo", lambda w: rp.can_cancel(w.user, w.req)),
    "requests.can_transition": (
        "in_progress",
        None,
        "pmo",
        lambda w: rp.can_transition(w.user, w.req, "cancel"),
    ),
    "tasks.can_edit_breakdown": (
        "approved",
        None,
        "pmo",
        lambda w: tp.can_edit_breakdown(w.user, w.req),
    ),
    "tasks.signing_actor": (
        "approved",
        None,
        "mkt_head",
        lambda w: tp.signing_actor(w.user, w.req, w.mkt) is not None,
    ),
    "tasks.can_start": ("in_progress", "todo", "owner", lambda w: tp.can_start(w.user, w.task)),
    "tasks.can_log_progress": (
        "in_progress",
        "in_progress",
        "owner",
        lambda w: tp.can_log_progress(w.user, w.task),
    ),
    "tasks.can_submit": (
        "in_progress",
        "in_progress",
        "owner",
        lambda w: tp.can_submit(w.user, w.task),
    ),
    "tasks.can_override_dependencies": (
        "in_progress",
        "todo",
        "initiator",
        lambda w: tp.can_override_dependencies(w.user, w.task),
    ),
    "tasks.can_change_due": (
        "in_progress",
        "in_progress",
        "pmo",
        lambda w: tp.can_change_due(w.user, w.task),
    ),
    "tasks.can_comment": ("in_progress", None, "owner", lambda w: tp.can_comment(w.user, w.task)),
    "tasks.can_write_task": (
        "in_progress",
        None,
        "owner",
        lambda w: tp.can_write_task(w.user, w.task),
    ),
    "tasks.can_answer_ask": (
        "in_progress",
        None,
        "initiator",
        lambda w: tp.can_answer_ask(w.user, w.ask),
    ),
}

# Rules that do not concern one case, or that must keep saying yes (reading).
NOT_WRITES = {
    "requests.can_view",
    "requests.can_create",
    "tasks.can_view",
    "tasks.can_view_department_tasks",
}


def test_every_rule_of_both_permission_modules_is_checked_here():
    """A new can_* must be added to RULES (or, if it grants no write, to NOT_WRITES)."""
    names = set()
    for prefix, module in (("requests", rp), ("tasks", tp)):
        names |= {
            f"{prefix}.{name}"
            for name in dir(module)
            if name.startswith("can_") or name in ("review_actor", "signing_actor")
        }
    assert names == set(RULES) | NOT_WRITES


def _world(case, who, ask):
    from review_app.models import ArchiveEntry  # noqa: F401  (keeps imports honest)

    req = CollabRequest.objects.get(pk=case.req.pk)
    review = DepartmentReview.objects.select_related("request").get(
        request=req, department=case.mkt, round=req.review_round
    )
    return SimpleNamespace(
        user=getattr(case, who),
        req=req,
        review=review,
        task=Task.objects.select_related("request").get(pk=case.task.pk),
        ask=CollabAsk.objects.select_related("task__request").get(pk=ask.pk),
        mkt=case.mkt,
    )


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_says_no_on_an_archived_case(case, name):
    request_state, task_state, who, rule = RULES[name]
    ask = CollabAsk.objects.create(
        task=case.task,
        asked_by=case.owner,
        to_user=case.initiator,
        content="請提供數據",
        expected_date=timezone.localdate() + dt.timedelta(days=3),
    )
    CollabRequest.objects.filter(pk=case.req.pk).update(state=request_state)
    DepartmentReview.objects.filter(request=case.req, department=case.mkt).update(
        decision="pending"
    )
    if task_state:
        Task.objects.filter(pk=case.task.pk).update(state=task_state)
    assert rule(_world(case, who, ask)), "the rule should allow this on an open case"
    CollabRequest.objects.filter(pk=case.req.pk).update(
        is_archived=True, archived_at=timezone.now()
    )
    assert not rule(_world(case, who, ask))


# --- (d) admin ---------------------------------------------------------------------------


def _admin_post(client, url, data=None):
    return client.post(url, data or {})


def test_admin_refuses_a_superuser_changing_an_archived_request_and_goals(full, superuser, client):
    client.force_login(superuser)
    url = reverse("admin:requests_app_collabrequest_change", args=[full.archived.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'id="fsm-transitions"' not in html
    response = _admin_post(
        client,
        url,
        {
            "name": "改名",
            "contact": "1",
            "priority": "normal",
            "expected_completion": timezone.localdate().isoformat(),
            "background": "改",
            "goals-TOTAL_FORMS": "1",
            "goals-INITIAL_FORMS": "1",
            "goals-0-id": str(full.goal.pk),
            "goals-0-request": str(full.archived.pk),
            "goals-0-description": "改過的目標",
            "goals-0-metric": "x",
            "goals-0-target_value": "1",
        },
    )
    assert response.status_code == 403
    unchanged(full)


def test_admin_refuses_a_superuser_deleting_an_archived_request(full, superuser, client):
    client.force_login(superuser)
    url = reverse("admin:requests_app_collabrequest_delete", args=[full.archived.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    unchanged(full)


def test_admin_refuses_a_state_button_on_an_archived_request(full, superuser, client):
    client.force_login(superuser)
    url = reverse("admin:requests_app_collabrequest_change", args=[full.archived.pk])
    response = client.post(url, {"_fsm_transition_to": "cancel"}, follow=True)
    assert response.status_code == 200
    unchanged(full)
    transition = reverse(
        "admin:requests_app_collabrequest_transition", args=[full.archived.pk, "cancel"]
    )
    response = client.post(transition, {"reason": "不做了"}, follow=True)
    assert response.status_code == 200
    unchanged(full)


def test_admin_refuses_a_superuser_changing_or_deleting_an_archived_task(full, superuser, client):
    client.force_login(superuser)
    change = reverse("admin:tasks_app_task_change", args=[full.task.pk])
    assert 'name="_save"' not in client.get(change).content.decode()
    response = client.post(
        change,
        {
            "name": "改名",
            "responsible_department": str(full.tech.pk),
            "start_date": timezone.localdate().isoformat(),
            "due_at_0": timezone.localdate().isoformat(),
            "due_at_1": "17:00",
            "importance": "normal",
            "buffer_days": "0",
            "assignments-TOTAL_FORMS": "0",
            "assignments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 403
    delete = reverse("admin:tasks_app_task_delete", args=[full.task.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    unchanged(full)


def _case_admins():
    """Every registered admin of a case model, and every inline of one."""
    for model, model_admin in admin_site_module.site._registry.items():
        if issubclass(model, (CollabRequest, CaseRecord)):
            yield model, model_admin


def test_every_case_admin_and_inline_is_read_only_on_an_archived_case(full, superuser):
    """Whatever admin a case model has (review_app's included), an archived object offers
    no change or delete, and its inlines no add, change or delete, even to a superuser."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    checked = 0
    for model, model_admin in _case_admins():
        obj = (
            full.archived
            if model is CollabRequest
            else _rows_of(model, full.archived).order_by("pk").first()
        )
        assert is_archived_case(obj)
        assert not model_admin.has_change_permission(request, obj), model
        assert not model_admin.has_delete_permission(request, obj), model
        for inline in model_admin.get_inline_instances(request, obj):
            assert not inline.has_add_permission(request, obj), (model, inline)
            assert not inline.has_change_permission(request, obj), (model, inline)
            assert not inline.has_delete_permission(request, obj), (model, inline)
        checked += 1
    assert checked >= 3  # requests, tasks, signatures at least


def test_the_admin_mixin_refuses_a_bulk_delete_that_includes_an_archived_case(full, superuser):
    class GoalAdmin(ArchivedCaseAdminMixin, admin_site_module.ModelAdmin):
        pass

    goal_admin = GoalAdmin(Goal, admin_site_module.site)
    request = RequestFactory().post("/admin/")
    request.user = superuser
    with pytest.raises(PermissionDenied):
        goal_admin.delete_queryset(request, Goal.objects.filter(request=full.archived))
    unchanged(full)


def test_the_admin_mixin_offers_no_archived_case_to_attach_a_row_to(full, superuser):
    from tests.factories import make_request

    class MilestoneAdmin(ArchivedCaseAdminMixin, admin_site_module.ModelAdmin):
        pass

    open_request = make_request(initiator=full.initiator, departments=[full.mkt])
    request = RequestFactory().get("/admin/")
    request.user = superuser
    field = MilestoneAdmin(Milestone, admin_site_module.site).formfield_for_foreignkey(
        Milestone._meta.get_field("request"), request
    )
    choices = set(field.queryset.values_list("pk", flat=True))
    assert open_request.pk in choices and full.archived.pk not in choices
