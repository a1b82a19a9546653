"""The task breakdown 任務分工表 from 立項 to 進行中 (DOMAIN §2, issue 4 item 3).

On 確認立項 the lines each department committed become draft tasks. While the request
is 已立項 the initiator and the PMO edit the breakdown; every edit makes a new version
and voids the signatures given so far. Each involved head (or their deputy) signs; the
last signature moves the request to 進行中, exactly once. Dependencies never form a
cycle, and a task others depend on cannot be removed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from collab.models import Notification
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestState
from requests_app.models import CollabRequest, RequestEvent
from tasks_app import selectors, services
from tasks_app.choices import RaciRole, TaskState
from tasks_app.models import BreakdownSignature, ProgressUpdate, Task
from tasks_app.services import TaskConflict, TaskRefused
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_head,
    make_mkt_tech_request,
    make_request,
)
from tests.helpers import days_from_today as _days

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(pmo):
    """A 已立項 request between marketing (lead) and tech; each committed two lines."""
    w = make_mkt_tech_request(pmo=pmo, committed="需求規格\n上線推廣")
    w.mkt_staff = UserFactory(department=w.mkt)
    w.tech_staff = UserFactory(department=w.tech)
    return w


def _tasks(w) -> list[Task]:
    return list(Task.objects.filter(request=w.request).order_by("sequence"))


def _add(w, *, name="新增任務", by=None, depends_on=(), **raci) -> Task:
    return services.task_save(
        request=w.request,
        by=by or w.initiator,
        data={
            "name": name,
            "responsible_department": w.tech,
            "start_date": _days(1),
            "due_at": services.due_at(_days(20)),
        },
        raci={"R": raci.get("R", w.tech_staff), "A": raci.get("A", w.initiator)},
        depends_on=depends_on,
    )


def _edit(w, task: Task, *, depends_on=(), by=None, **data) -> Task:
    raci = selectors.raci_of(task)
    return services.task_save(
        request=w.request,
        by=by or w.initiator,
        task=task,
        data=data,
        raci={"R": raci["R"][0], "A": raci["A"][0], "C": raci["C"], "I": raci["I"]},
        supporting=list(task.supporting_departments.all()),
        depends_on=depends_on,
    )


def _version(w) -> int:
    w.request.breakdown.refresh_from_db()
    return w.request.breakdown.version


def _state(w) -> str:
    return CollabRequest.objects.get(pk=w.request.pk).state


# --- generation on 確認立項 ----------------------------------------------------------------


def test_draft_tasks_generated_from_each_departments_commitment(pmo):
    """One draft task per committed line, for the department that committed it: R is the
    head who agreed (or the head a deputy answered for), A the initiator, numbered
    <request number>-01, -02, … with the lead department's lines first. A department
    that committed nothing gets no task."""
    # The lead's code sorts last, so lead-first numbering is not an accident of codes.
    mkt = DepartmentFactory(code="zz-mkt")
    tech, design = DepartmentFactory(code="aa-tech"), DepartmentFactory(code="bb-design")
    mkt_head, tech_head, design_head = (
        make_head(mkt, admin_groups=False),
        make_head(tech, admin_groups=False),
        make_head(design, admin_groups=False),
    )
    deputy = UserFactory(department=tech)
    DelegationFactory(head=tech_head, deputy=deputy)
    initiator = UserFactory(department=mkt)
    req = make_request(initiator=initiator, departments=[mkt, tech, design], lead=mkt)
    req = request_services.request_submit(request=req, by=initiator)
    answers = {
        mkt.pk: (mkt_head, "市場調研\n  \n推廣方案"),
        tech.pk: (deputy, "活動頁開發"),
        design.pk: (design_head, ""),
    }
    for review in req.reviews.all():
        by, lines = answers[review.department_id]
        request_services.review_decide(review=review, by=by, approve=True, committed_tasks=lines)
    req.refresh_from_db()
    req = request_services.request_confirm(request=req, by=pmo)

    tasks = list(req.tasks.order_by("sequence"))
    assert [t.number for t in tasks] == [f"{req.number}-0{i}" for i in (1, 2, 3)]
    assert [(t.name, t.responsible_department_id) for t in tasks] == [
        ("市場調研", mkt.pk),
        ("推廣方案", mkt.pk),
        ("活動頁開發", tech.pk),
    ]
    for task in tasks:
        assert task.state == TaskState.TODO
        assert task.origin_review.department_id == task.responsible_department_id
        raci = {a.role: a.user for a in task.assignments.all()}
        assert set(raci) == {RaciRole.RESPONSIBLE, RaciRole.ACCOUNTABLE}
        assert raci["A"] == initiator
        assert raci["R"] == (tech_head if task.responsible_department == tech else mkt_head)
    assert req.breakdown.version == 1 and req.breakdown.last_sequence == 3
    assert req.events.filter(kind=EventKind.BREAKDOWN).count() == 1


def test_only_the_last_rounds_commitments_count(pmo):
    """After a 駁回 and a resubmission, the lines of the final round become the tasks."""
    mkt, tech = DepartmentFactory(), DepartmentFactory()
    mkt_head, tech_head = make_head(mkt, admin_groups=False), make_head(tech, admin_groups=False)
    initiator = UserFactory(department=mkt)
    req = make_request(initiator=initiator, departments=[mkt, tech], lead=mkt)
    req = request_services.request_submit(request=req, by=initiator)
    for review in req.reviews.select_related("department"):
        if review.department == mkt:
            request_services.review_decide(
                review=review, by=mkt_head, approve=True, committed_tasks="舊的任務"
            )
        else:
            request_services.review_decide(
                review=review, by=tech_head, approve=False, comment="人力不足"
            )
    req.refresh_from_db()
    req = request_services.request_submit(request=req, by=initiator)
    for review in req.reviews.filter(round=2).select_related("department"):
        head = mkt_head if review.department == mkt else tech_head
        request_services.review_decide(
            review=review, by=head, approve=True, committed_tasks=f"{review.department}新任務"
        )
    req.refresh_from_db()
    req = request_services.request_confirm(request=req, by=pmo)
    assert sorted(req.tasks.values_list("name", flat=True)) == sorted(
        [f"{mkt}新任務", f"{tech}新任務"]
    )


def test_numbers_are_never_reused(w):
    """Removing a task leaves a gap: the next task takes a new number, even when the
    removed one was the highest."""
    _first, second, _third, fourth = _tasks(w)
    services.task_remove(task=fourth, by=w.initiator)
    added = _add(w)
    assert added.number == f"{w.request.number}-05"
    services.task_remove(task=added, by=w.initiator)
    services.task_remove(task=second, by=w.initiator)
    assert _add(w).number == f"{w.request.number}-06"
    assert [t.sequence for t in _tasks(w)] == [1, 3, 6]


# --- edits void signatures ------------------------------------------------------------------


def _edit_add(w):
    _add(w, name="補充任務")


def _edit_change(w):
    _edit(w, _tasks(w)[0], name="需求規格(修訂)")


def _edit_remove(w):
    services.task_remove(task=_tasks(w)[-1], by=w.initiator)


def _edit_raci(w):
    task = _tasks(w)[0]
    raci = selectors.raci_of(task)
    services.task_save(
        request=w.request,
        by=w.pmo,
        task=task,
        data={},
        raci={"R": raci["R"][0], "A": raci["A"][0], "C": [w.tech_staff]},
    )


def _edit_dependency(w):
    first, second, *_rest = _tasks(w)
    _edit(w, second, depends_on=[first])


def _edit_due(w):
    task = _tasks(w)[0]
    services.task_change_due(
        task=task,
        by=w.initiator,  # A of the generated tasks
        new_due_at=task.due_at + dt.timedelta(days=7),
        reason="規格需再確認",
        solution="延後一週並提前訪談",
    )


EDITS = {
    "add": _edit_add,
    "change": _edit_change,
    "remove": _edit_remove,
    "raci": _edit_raci,
    "dependency": _edit_dependency,
    "due": _edit_due,
}


@pytest.mark.parametrize("edit", EDITS)
def test_any_edit_makes_a_new_version_and_voids_signatures(w, edit):
    """Adding, changing or removing a task, changing its RACI, its dependencies or its due
    date: a new version; the signature given is voided (time set, logged on the request's
    timeline), the signer is asked to sign again, and may then sign the new version."""
    signature = services.breakdown_sign(request=w.request, by=w.mkt_head, department=w.mkt)
    version = _version(w)
    asked_again = Notification.objects.filter(
        recipient=w.mkt_head, url=reverse("tasks_app:breakdown", args=[w.request.pk])
    )
    assert not asked_again.exists()

    EDITS[edit](w)

    assert _version(w) == version + 1
    signature.refresh_from_db()
    assert signature.voided_at is not None and not signature.is_valid
    voided = w.request.events.filter(kind=EventKind.SIGNATURES_VOIDED).get()
    assert str(w.mkt) in voided.text
    assert asked_again.count() == 1
    assert selectors.breakdown_missing_signatures(w.request.breakdown) == [
        link.department for link in w.request.department_links.all()
    ]
    again = services.breakdown_sign(request=w.request, by=w.mkt_head, department=w.mkt)
    assert again.version == version + 1 and again.is_valid
    assert _state(w) == RequestState.APPROVED


def test_edit_without_signatures_counts_a_version_and_voids_nothing(w):
    version = _version(w)
    _edit_change(w)
    assert _version(w) == version + 1
    assert not w.request.events.filter(kind=EventKind.SIGNATURES_VOIDED).exists()
    assert w.request.events.filter(kind=EventKind.BREAKDOWN).count() == 2  # generation + edit


def test_voiding_a_deputys_signature_tells_the_deputy_and_the_head(w):
    deputy = UserFactory(department=w.tech)
    DelegationFactory(head=w.tech_head, deputy=deputy)
    services.breakdown_sign(request=w.request, by=deputy, department=w.tech)
    _edit_change(w)
    url = reverse("tasks_app:breakdown", args=[w.request.pk])
    for user in (deputy, w.tech_head):
        assert Notification.objects.filter(recipient=user, url=url).exists()


# --- signing -------------------------------------------------------------------------------


def test_head_and_deputy_sign_and_the_last_signature_starts_the_work(w):
    """A deputy signs on behalf of the head; the head of the other department signs last:
    the request goes 已立項 → 進行中 with one "start" event, and the initiator and the
    owners are told."""
    deputy = UserFactory(department=w.tech)
    DelegationFactory(head=w.tech_head, deputy=deputy)
    by_deputy = services.breakdown_sign(request=w.request, by=deputy, department=w.tech)
    assert (by_deputy.signed_by, by_deputy.on_behalf_of) == (deputy, w.tech_head)
    assert by_deputy.version == _version(w) and by_deputy.signed_at is not None
    event = w.request.events.get(kind=EventKind.SIGNED)
    assert (event.by, event.on_behalf_of, event.department) == (deputy, w.tech_head, w.tech)
    assert _state(w) == RequestState.APPROVED

    by_head = services.breakdown_sign(request=w.request, by=w.mkt_head, department=w.mkt)
    assert (by_head.signed_by, by_head.on_behalf_of) == (w.mkt_head, None)
    assert _state(w) == RequestState.IN_PROGRESS
    start = RequestEvent.objects.get(request=w.request, kind=EventKind.STARTED)
    assert (start.from_state, start.to_state, start.by) == (
        RequestState.APPROVED,
        RequestState.IN_PROGRESS,
        w.mkt_head,
    )
    url = w.request.get_absolute_url()
    for user in (w.initiator, w.tech_head):  # tech_head is R of the generated tech tasks
        assert Notification.objects.filter(recipient=user, url=url).exists()


def test_signing_twice_for_the_same_version_is_refused(w):
    services.breakdown_sign(request=w.request, by=w.mkt_head, department=w.mkt)
    with pytest.raises(TaskConflict) as info:
        services.breakdown_sign(request=w.request, by=w.mkt_head, department=w.mkt)
    assert str(info.value).strip()
    assert BreakdownSignature.objects.filter(department=w.mkt).count() == 1


def test_signing_a_breakdown_with_no_tasks_is_refused(pmo):
    dept = DepartmentFactory()
    head = make_head(dept, admin_groups=False)
    req = make_approved_request(
        initiator=UserFactory(department=dept), departments=[dept], pmo=pmo, committed=""
    )
    assert not req.tasks.exists()
    with pytest.raises(ValidationError):
        services.breakdown_sign(request=req, by=head, department=dept)
    assert not BreakdownSignature.objects.exists()
    assert CollabRequest.objects.get(pk=req.pk).state == RequestState.APPROVED


@pytest.mark.parametrize("who", ["mkt_staff", "initiator", "pmo", "tech_head"])
def test_only_the_departments_head_or_deputy_signs(w, who):
    """Staff, the initiator, the PMO and the head of another department cannot sign for
    marketing."""
    with pytest.raises(PermissionDenied):
        services.breakdown_sign(request=w.request, by=getattr(w, who), department=w.mkt)
    assert not BreakdownSignature.objects.exists()


def test_a_department_outside_the_request_cannot_sign(w):
    other = DepartmentFactory()
    head = make_head(other, admin_groups=False)
    with pytest.raises(PermissionDenied):
        services.breakdown_sign(request=w.request, by=head, department=other)


def test_expired_deputy_cannot_sign(w):
    deputy = UserFactory(department=w.tech)
    DelegationFactory(head=w.tech_head, deputy=deputy, start_date=_days(-9), end_date=_days(-1))
    with pytest.raises(PermissionDenied):
        services.breakdown_sign(request=w.request, by=deputy, department=w.tech)


def test_signing_outside_approved_is_refused(w, pmo):
    """Once 進行中 the breakdown is closed to signatures; a request still under review has
    none to sign either."""
    services.breakdown_sign(request=w.request, by=w.mkt_head, department=w.mkt)
    services.breakdown_sign(request=w.request, by=w.tech_head, department=w.tech)
    assert _state(w) == RequestState.IN_PROGRESS
    count = BreakdownSignature.objects.count()
    with pytest.raises(TaskRefused) as info:
        services.breakdown_sign(request=w.request, by=w.mkt_head, department=w.mkt)
    assert str(info.value).strip()
    assert BreakdownSignature.objects.count() == count

    pending = make_request(initiator=w.initiator, departments=[w.mkt], lead=w.mkt)
    pending = request_services.request_submit(request=pending, by=w.initiator)
    with pytest.raises(TaskRefused):
        services.breakdown_sign(request=pending, by=w.mkt_head, department=w.mkt)
    assert RequestEvent.objects.filter(kind=EventKind.STARTED).count() == 1


# --- editing -------------------------------------------------------------------------------


def test_editing_outside_approved_is_refused(w):
    """Once 進行中 no task is added, changed or removed, whoever asks."""
    services.breakdown_sign(request=w.request, by=w.mkt_head, department=w.mkt)
    services.breakdown_sign(request=w.request, by=w.tech_head, department=w.tech)
    version = _version(w)
    first = _tasks(w)[0]
    for by in (w.initiator, w.pmo):
        with pytest.raises(TaskRefused):
            _add(w, by=by)
        with pytest.raises(TaskRefused):
            _edit(w, first, by=by, name="改名")
        with pytest.raises(TaskRefused):
            services.task_remove(task=first, by=by)
    assert _version(w) == version and len(_tasks(w)) == 4
    assert Task.objects.get(pk=first.pk).name == first.name


@pytest.mark.parametrize("who", ["mkt_staff", "mkt_head", "tech_staff"])
def test_only_initiator_or_pmo_edit(w, who):
    version = _version(w)
    with pytest.raises(PermissionDenied):
        _add(w, by=getattr(w, who))
    with pytest.raises(PermissionDenied):
        services.task_remove(task=_tasks(w)[0], by=getattr(w, who))
    assert _version(w) == version and len(_tasks(w)) == 4


def test_pmo_edits_the_breakdown(w):
    task = _add(w, by=w.pmo, name="PMO 補充")
    assert task.events.get().by == w.pmo


# --- dependencies --------------------------------------------------------------------------


def test_a_cycle_is_refused(w):
    """A→B→C→A is refused on depends_on; the chain A→B→C stays as it was."""
    a, b, c, _d = _tasks(w)
    _edit(w, b, depends_on=[a])
    _edit(w, c, depends_on=[b])
    version = _version(w)
    with pytest.raises(ValidationError) as info:
        _edit(w, a, depends_on=[c])
    assert "depends_on" in info.value.message_dict
    assert list(Task.objects.get(pk=a.pk).depends_on.all()) == []
    assert _version(w) == version


def test_a_task_cannot_depend_on_itself(w):
    a = _tasks(w)[0]
    with pytest.raises(ValidationError) as info:
        _edit(w, a, depends_on=[a])
    assert "depends_on" in info.value.message_dict


def test_a_task_cannot_depend_on_another_requests_task(w, pmo):
    other = make_approved_request(
        initiator=w.initiator, departments=[w.mkt], lead=w.mkt, pmo=pmo, committed="別案任務"
    )
    with pytest.raises(ValidationError) as info:
        _edit(w, _tasks(w)[0], depends_on=[other.tasks.get()])
    assert "depends_on" in info.value.message_dict


def test_a_task_with_dependents_cannot_be_removed(w):
    a, b, *_rest = _tasks(w)
    _edit(w, b, depends_on=[a])
    version = _version(w)
    with pytest.raises(ValidationError):
        services.task_remove(task=a, by=w.initiator)
    assert Task.objects.filter(pk=a.pk).exists() and _version(w) == version
    _edit(w, b, depends_on=[])
    services.task_remove(task=a, by=w.initiator)
    assert not Task.objects.filter(pk=a.pk).exists()


# --- the demo data ---------------------------------------------------------------------------


def _demo_counts() -> tuple[int, int, int, int]:
    return (
        Task.objects.count(),
        ProgressUpdate.objects.count(),
        BreakdownSignature.objects.count(),
        RequestEvent.objects.count(),
    )


def test_seed_demo_twice_adds_nothing_and_covers_every_case():
    """seed_demo is idempotent, and leaves tasks in every state, one late, one due
    tomorrow, one stale (no update for 3+ days), and a 已立項 request waiting for its
    last signature."""
    call_command("seed_demo", verbosity=0)
    first = _demo_counts()
    call_command("seed_demo", verbosity=0)
    assert _demo_counts() == first

    website = CollabRequest.objects.get(name="官網改版與會員中心升級")
    assert website.state == RequestState.IN_PROGRESS
    tasks = list(website.tasks.all())
    assert 6 <= len(tasks) <= 10
    assert {t.state for t in tasks} == set(TaskState.values)
    assert any(t.is_overdue for t in tasks)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert any(
        timezone.localdate(t.due_at) == tomorrow and t.state != TaskState.DONE for t in tasks
    )
    three_days_ago = timezone.now() - dt.timedelta(days=3)
    stale = [
        t
        for t in tasks
        if t.state == TaskState.IN_PROGRESS
        and t.last_progress_at is not None
        and t.last_progress_at <= three_days_ago
    ]
    assert stale
    assert all(
        t.progress_updates.latest("created_at").created_at == t.last_progress_at for t in stale
    )
    assert ProgressUpdate.objects.filter(task__request=website).exclude(problems="").exists()
    assert ProgressUpdate.objects.filter(task__request=website).exclude(support_needed="").exists()
    deputy_signature = BreakdownSignature.objects.get(
        breakdown__request=website, department__code="tech", voided_at__isnull=True
    )
    assert deputy_signature.on_behalf_of is not None
    assert deputy_signature.on_behalf_of.username == "tech_head"
    assert deputy_signature.signed_by.username == "tech_staff"
    assert website.events.filter(kind=EventKind.STARTED).count() == 1

    waiting = [
        r
        for r in CollabRequest.objects.filter(state=RequestState.APPROVED)
        if r.tasks.exists()
        and len(selectors.breakdown_missing_signatures(r.breakdown)) == 1
        and selectors.breakdown_valid_signatures(r.breakdown).count() >= 1
    ]
    assert waiting, "a 已立項 request with one signature left to give"
