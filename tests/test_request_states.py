"""The request's state machine through its services: every legal and every illegal move.

States are built through the services, never by writing the state field. The guards that
later issues complete (the signed breakdown, the final acceptance) are opened only inside
the tests that need them, by registering a check in requests_app.guards and removing it
afterwards.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from collab.models import User
from requests_app import guards, services
from requests_app.choices import EventKind, RequestState, ReviewDecision
from requests_app.models import CollabRequest, DepartmentReview, RequestEvent
from requests_app.services import RequestConflict, TransitionRefused
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory, make_request

S = RequestState
REFUSALS = (TransitionRefused, PermissionDenied, ValidationError, RequestConflict)
GUARDS = ("breakdown_signed", "final_acceptance_passed")


# --- the world ------------------------------------------------------------------------


@dataclass
class World:
    initiator: User
    b_head: User
    c_head: User
    d_head: User
    b_staff: User
    pmo: User
    b: object
    c: object
    d: object


@pytest.fixture
def world(db, pmo):
    """An initiator in one department; departments b and c collaborate (b leads)."""
    a, b, c, d = (DepartmentFactory() for _ in range(4))
    heads = []
    for dept in (b, c, d):
        head = UserFactory(department=dept)
        dept.heads.add(head)
        heads.append(head)
    return World(
        initiator=UserFactory(department=a),
        b_head=heads[0],
        c_head=heads[1],
        d_head=heads[2],
        b_staff=UserFactory(department=b),
        pmo=pmo,
        b=b,
        c=c,
        d=d,
    )


@contextlib.contextmanager
def guard_check(name: str, check=lambda request: True):
    """Register `check` behind guard `name` for the block, then restore what was there."""
    missing = object()
    previous = guards._checks.get(name, missing)
    guards.register(name, check)
    try:
        yield
    finally:
        if previous is missing:
            guards._checks.pop(name, None)
        else:
            guards._checks[name] = previous


@contextlib.contextmanager
def guards_open():
    with guard_check(GUARDS[0]), guard_check(GUARDS[1]):
        yield


@contextlib.contextmanager
def guard_unregistered(name: str):
    """Remove any registered check behind `name` for the block (a later app may add one)."""
    missing = object()
    previous = guards._checks.pop(name, missing)
    try:
        yield
    finally:
        if previous is not missing:
            guards._checks[name] = previous


@pytest.fixture
def open_guards():
    """Open both later guards for one test; they close again afterwards."""
    with guards_open():
        yield


def fresh(req: CollabRequest) -> CollabRequest:
    return CollabRequest.objects.get(pk=req.pk)


def current_review(req: CollabRequest, department) -> DepartmentReview:
    return DepartmentReview.objects.get(request=req, department=department, round=req.review_round)


def agree_all(w: World, req: CollabRequest) -> None:
    for dept, head in ((w.b, w.b_head), (w.c, w.c_head)):
        services.review_decide(
            review=current_review(req, dept), by=head, approve=True, committed_tasks="任務一"
        )


AGREED = "agreed"  # pending, and every department agreed: the PMO may confirm
BUILT_STATES = [
    S.DRAFT,
    S.PENDING,
    AGREED,
    S.REVISION,
    S.APPROVED,
    S.IN_PROGRESS,
    S.COMPLETED,
    S.CANCELLED,
]


def build(w: World, state: str) -> CollabRequest:
    """Return a request brought to `state` through the services only."""
    req = make_request(initiator=w.initiator, departments=[w.b, w.c], lead=w.b)
    if state == S.DRAFT:
        return fresh(req)
    req = services.request_submit(request=req, by=w.initiator)
    if state == S.PENDING:
        return fresh(req)
    if state == S.CANCELLED:
        services.request_cancel(request=req, by=w.initiator, reason="合作方案已改變")
        return fresh(req)
    if state == S.REVISION:
        services.review_decide(
            review=current_review(req, w.c), by=w.c_head, approve=False, comment="預算不足"
        )
        return fresh(req)
    agree_all(w, req)
    if state == AGREED:
        return fresh(req)
    services.request_confirm(request=fresh(req), by=w.pmo)
    if state == S.APPROVED:
        return fresh(req)
    with guards_open():
        services.request_start(request=fresh(req), by=w.pmo)
        if state == S.IN_PROGRESS:
            return fresh(req)
        services.request_complete(request=fresh(req), by=w.pmo)
    return fresh(req)


def snapshot(req: CollabRequest) -> tuple:
    """Everything a refused action must leave untouched."""
    req = fresh(req)
    return (
        req.state,
        req.review_round,
        req.number,
        req.cancel_reason,
        req.submitted_at,
        req.approved_at,
        req.completed_at,
        list(req.events.order_by("pk").values_list("pk", "kind")),
        list(
            req.reviews.order_by("pk").values_list(
                "pk", "round", "decision", "comment", "decided_by"
            )
        ),
    )


ACTIONS = ["submit", "approve", "reject", "confirm", "start", "complete", "cancel"]


def act(w: World, req: CollabRequest, action: str):
    """Run `action` as the person who would normally do it."""
    if action == "submit":
        return services.request_submit(request=req, by=w.initiator)
    if action in ("approve", "reject"):
        review = current_review(req, w.b)
        return services.review_decide(
            review=review,
            by=w.b_head,
            approve=action == "approve",
            comment="" if action == "approve" else "時程太緊",
            committed_tasks="設計主視覺",
        )
    if action == "confirm":
        return services.request_confirm(request=req, by=w.pmo, comment="同意立項")
    if action == "start":
        return services.request_start(request=req, by=w.pmo, comment="開工")
    if action == "complete":
        return services.request_complete(request=req, by=w.pmo, comment="驗收通過")
    if action == "cancel":
        return services.request_cancel(request=req, by=w.initiator, reason="需求取消")
    raise AssertionError(action)


# (state, action) → (state after, event kind, actor attribute, comment)
LEGAL = {
    (S.DRAFT, "submit"): (S.PENDING, EventKind.SUBMITTED, "initiator", ""),
    (S.DRAFT, "cancel"): (S.CANCELLED, EventKind.CANCELLED, "initiator", "需求取消"),
    (S.PENDING, "reject"): (S.REVISION, EventKind.REVIEW_REJECTED, "b_head", "時程太緊"),
    (S.PENDING, "cancel"): (S.CANCELLED, EventKind.CANCELLED, "initiator", "需求取消"),
    (AGREED, "confirm"): (S.APPROVED, EventKind.CONFIRMED, "pmo", "同意立項"),
    (AGREED, "cancel"): (S.CANCELLED, EventKind.CANCELLED, "initiator", "需求取消"),
    (S.REVISION, "submit"): (S.PENDING, EventKind.RESUBMITTED, "initiator", ""),
    (S.REVISION, "cancel"): (S.CANCELLED, EventKind.CANCELLED, "initiator", "需求取消"),
    (S.APPROVED, "start"): (S.IN_PROGRESS, EventKind.STARTED, "pmo", "開工"),
    (S.APPROVED, "cancel"): (S.CANCELLED, EventKind.CANCELLED, "initiator", "需求取消"),
    (S.IN_PROGRESS, "complete"): (S.COMPLETED, EventKind.COMPLETED, "pmo", "驗收通過"),
    (S.IN_PROGRESS, "cancel"): (S.CANCELLED, EventKind.CANCELLED, "initiator", "需求取消"),
}
# Not a transition: an agreement is recorded and the request stays pending.
RECORDED = {(S.PENDING, "approve")}
# A draft has no review to answer yet.
NOT_APPLICABLE = {(S.DRAFT, "approve"), (S.DRAFT, "reject")}
ILLEGAL = [
    (state, action)
    for state in BUILT_STATES
    for action in ACTIONS
    if (state, action) not in LEGAL and (state, action) not in RECORDED | NOT_APPLICABLE
]


def _state_of(state: str) -> str:
    return S.PENDING if state == AGREED else state


# --- legal moves ------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "action"), list(LEGAL), ids=lambda v: str(v))
@pytest.mark.django_db
def test_legal_transition_changes_state_and_logs_it(world, open_guards, state, action):
    """A legal move changes the state once and writes one history row saying who,
    on whose behalf, from, to and why."""
    req = build(world, state)
    target, kind, actor, comment = LEGAL[(state, action)]
    before = set(req.events.values_list("pk", flat=True))
    act(world, req, action)
    req = fresh(req)
    assert req.state == target
    new = RequestEvent.objects.filter(request=req).exclude(pk__in=before)
    transitions = new.exclude(to_state="")
    assert transitions.count() == 1
    event = transitions.get()
    assert event.kind == kind
    assert event.by == getattr(world, actor)
    assert event.on_behalf_of is None
    assert event.from_state == _state_of(state)
    assert event.to_state == target
    assert event.comment == comment
    assert event.at is not None


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=lambda v: str(v))
@pytest.mark.django_db
def test_illegal_move_is_refused_and_changes_nothing(world, open_guards, state, action):
    """Every move the state does not allow is refused with a clear message, even with
    the later guards open, and leaves the request and its history exactly as they were."""
    req = build(world, state)
    before = snapshot(req)
    with pytest.raises(REFUSALS) as info:
        act(world, req, action)
    message = " ".join(info.value.messages) if hasattr(info.value, "messages") else str(info.value)
    assert message.strip()
    assert "%(" not in message
    assert snapshot(req) == before
    if action in ("approve", "reject"):
        # The review cannot be answered any more: someone moved the request on.
        assert info.type is RequestConflict
        if state != AGREED:
            assert str(req.get_state_display()) in message
    else:
        assert info.type is TransitionRefused
        if (state, action) != (S.PENDING, "confirm"):
            assert str(req.get_state_display()) in message


def test_every_state_and_action_is_covered():
    """The tables above name every state × action exactly once."""
    pairs = set(LEGAL) | RECORDED | NOT_APPLICABLE | set(ILLEGAL)
    assert len(pairs) == len(BUILT_STATES) * len(ACTIONS)
    assert {_state_of(s) for s in BUILT_STATES} == set(S.values)


@pytest.mark.django_db
def test_agreeing_records_the_answer_without_a_transition(world):
    """同意 stores the committed tasks and a history row for the department; the request
    stays pending until every department agreed, then one 'all agreed' row is written."""
    req = build(world, S.PENDING)
    services.review_decide(
        review=current_review(req, world.b),
        by=world.b_head,
        approve=True,
        comment="可以配合",
        committed_tasks="主視覺設計\n\n落地頁切版 ",
    )
    req = fresh(req)
    assert req.state == S.PENDING
    review = current_review(req, world.b)
    assert review.decision == ReviewDecision.APPROVED
    assert review.committed_task_lines == ["主視覺設計", "落地頁切版"]
    assert review.decided_by == world.b_head and review.on_behalf_of is None
    assert review.decided_at is not None
    event = req.events.get(kind=EventKind.REVIEW_APPROVED)
    assert (event.by, event.department, event.comment) == (world.b_head, world.b, "可以配合")
    assert (event.from_state, event.to_state) == ("", "")
    assert not req.events.filter(kind=EventKind.ALL_AGREED).exists()
    services.review_decide(review=current_review(req, world.c), by=world.c_head, approve=True)
    assert fresh(req).state == S.PENDING
    assert req.events.filter(kind=EventKind.ALL_AGREED).count() == 1


@pytest.mark.django_db
def test_submit_numbers_the_request_and_opens_one_review_per_department(world):
    """Submitting gives the number, stamps the time and opens a review per collaborating
    department in round 1, due 3 working days later."""
    from collab import calendar

    req = build(world, S.DRAFT)
    assert req.number is None and req.review_round == 0
    services.request_submit(request=req, by=world.initiator)
    req = fresh(req)
    assert req.number and req.submitted_at is not None and req.review_round == 1
    reviews = list(req.reviews.all())
    assert {r.department for r in reviews} == {world.b, world.c}
    due = calendar.add_working_days(timezone.localdate(), 3)
    assert all(r.round == 1 and r.decision == ReviewDecision.PENDING for r in reviews)
    assert all(r.due_date == due for r in reviews)


# --- the later guards are never skipped -------------------------------------------------


@pytest.mark.django_db
def test_start_is_refused_without_a_registered_breakdown_check(world):
    """With no app registering the signed-breakdown check, 已立項 → 進行中 is refused."""
    req = build(world, S.APPROVED)
    before = snapshot(req)
    with guard_unregistered("breakdown_signed"), pytest.raises(TransitionRefused) as info:
        services.request_start(request=req, by=world.pmo)
    assert str(info.value).strip()
    assert snapshot(req) == before


@pytest.mark.django_db
def test_start_is_refused_while_the_breakdown_check_says_no(world):
    """A registered check that answers False keeps the request approved."""
    req = build(world, S.APPROVED)
    seen = []

    def check(request):
        seen.append(request.pk)
        return False

    before = snapshot(req)
    with guard_check("breakdown_signed", check), pytest.raises(TransitionRefused):
        services.request_start(request=req, by=world.pmo)
    assert seen == [req.pk]
    assert snapshot(req) == before


@pytest.mark.django_db
def test_complete_is_refused_without_a_registered_acceptance_check(world):
    """With no app registering the final-acceptance check, 進行中 → 已完成 is refused."""
    req = build(world, S.IN_PROGRESS)
    before = snapshot(req)
    with guard_unregistered("final_acceptance_passed"), pytest.raises(TransitionRefused) as info:
        services.request_complete(request=req, by=world.pmo)
    assert str(info.value).strip()
    assert snapshot(req) == before


@pytest.mark.django_db
def test_complete_is_refused_while_the_acceptance_check_says_no(world):
    req = build(world, S.IN_PROGRESS)
    before = snapshot(req)
    with (
        guard_check("final_acceptance_passed", lambda r: False),
        pytest.raises(TransitionRefused),
    ):
        services.request_complete(request=req, by=world.pmo)
    assert snapshot(req) == before


# --- reasons ----------------------------------------------------------------------------


@pytest.mark.parametrize("comment", ["", "   \n "])
@pytest.mark.django_db
def test_reject_requires_a_reason(world, comment):
    """駁回 without a written reason is refused; nothing changes."""
    req = build(world, S.PENDING)
    before = snapshot(req)
    with pytest.raises(ValidationError) as info:
        services.review_decide(
            review=current_review(req, world.b), by=world.b_head, approve=False, comment=comment
        )
    assert "comment" in info.value.message_dict
    assert snapshot(req) == before


@pytest.mark.parametrize("reason", ["", "  "])
@pytest.mark.parametrize("state", [S.DRAFT, S.PENDING, S.REVISION, S.APPROVED])
@pytest.mark.django_db
def test_cancel_requires_a_reason(world, state, reason):
    req = build(world, state)
    before = snapshot(req)
    with pytest.raises(ValidationError) as info:
        services.request_cancel(request=req, by=world.initiator, reason=reason)
    assert "reason" in info.value.message_dict
    assert snapshot(req) == before


@pytest.mark.parametrize(
    "state", [S.DRAFT, S.PENDING, AGREED, S.REVISION, S.APPROVED, S.IN_PROGRESS]
)
@pytest.mark.django_db
def test_pmo_can_cancel_every_open_state(world, state):
    """The PMO, like the initiator, cancels from any open state; the reason is kept,
    and reviews still waiting for an answer stop counting."""
    req = build(world, state)
    services.request_cancel(request=req, by=world.pmo, reason="公司策略調整")
    req = fresh(req)
    assert req.state == S.CANCELLED
    assert req.cancel_reason == "公司策略調整"
    assert not req.reviews.filter(decision=ReviewDecision.PENDING).exists()
    event = req.events.get(kind=EventKind.CANCELLED)
    assert (event.by, event.comment, event.from_state) == (
        world.pmo,
        "公司策略調整",
        state if state != AGREED else S.PENDING,
    )


@pytest.mark.parametrize("state", [S.COMPLETED, S.CANCELLED])
@pytest.mark.django_db
def test_closed_requests_cannot_be_cancelled_even_by_the_pmo(world, state):
    req = build(world, state)
    before = snapshot(req)
    with pytest.raises(TransitionRefused) as info:
        services.request_cancel(request=req, by=world.pmo, reason="再取消一次")
    assert str(req.get_state_display()) in str(info.value)
    assert snapshot(req) == before


# --- who may act ------------------------------------------------------------------------


WRONG_ACTOR = [
    (S.DRAFT, "submit", "b_head"),
    (S.REVISION, "submit", "b_staff"),
    (S.PENDING, "approve", "b_staff"),
    (S.PENDING, "reject", "c_head"),  # head of another department than the review's
    (S.PENDING, "reject", "d_head"),  # head of an uninvolved department
    (AGREED, "confirm", "b_head"),
    (AGREED, "confirm", "initiator"),
    (S.APPROVED, "start", "b_head"),
    (S.IN_PROGRESS, "complete", "b_staff"),
    (S.PENDING, "cancel", "b_head"),
    (S.APPROVED, "cancel", "b_staff"),
]


@pytest.mark.parametrize(("state", "action", "who"), WRONG_ACTOR, ids=lambda v: str(v))
@pytest.mark.django_db
def test_wrong_person_is_refused_and_nothing_changes(world, open_guards, state, action, who):
    """A move the state allows is still refused to someone without the right to make it."""
    req = build(world, state)
    before = snapshot(req)
    user = getattr(world, who)
    with pytest.raises(PermissionDenied) as info:
        if action == "submit":
            services.request_submit(request=req, by=user)
        elif action in ("approve", "reject"):
            services.review_decide(
                review=current_review(req, world.b),
                by=user,
                approve=action == "approve",
                comment="理由",
            )
        elif action == "confirm":
            services.request_confirm(request=req, by=user)
        elif action == "start":
            services.request_start(request=req, by=user)
        elif action == "complete":
            services.request_complete(request=req, by=user)
        else:
            services.request_cancel(request=req, by=user, reason="理由")
    assert str(info.value).strip()
    assert snapshot(req) == before


@pytest.mark.django_db
def test_deputy_reject_is_logged_on_behalf_of_the_head(world):
    """A deputy's 駁回 is logged with the deputy as actor and the head as principal."""
    deputy = UserFactory(department=world.b)
    DelegationFactory(head=world.b_head, deputy=deputy)
    req = build(world, S.PENDING)
    services.review_decide(
        review=current_review(req, world.b), by=deputy, approve=False, comment="人力不足"
    )
    event = fresh(req).events.get(kind=EventKind.REVIEW_REJECTED)
    assert (event.by, event.on_behalf_of) == (deputy, world.b_head)
    assert (event.from_state, event.to_state, event.comment) == (S.PENDING, S.REVISION, "人力不足")
    assert event.department == world.b


@pytest.mark.django_db
def test_submit_of_an_incomplete_request_is_refused_without_a_number(world):
    """A request without goals cannot be submitted; it stays a draft with no number."""
    req = make_request(initiator=world.initiator, departments=[world.b], goals=0)
    before = snapshot(req)
    with pytest.raises(ValidationError):
        services.request_submit(request=req, by=world.initiator)
    assert snapshot(req) == before


# --- review rounds ----------------------------------------------------------------------


@pytest.mark.django_db
def test_resubmission_starts_a_new_round_and_keeps_the_old_one(world):
    """After 駁回 the initiator resubmits: a new round of fresh reviews opens; the old
    round keeps its answers, and the reviews it left unanswered become superseded."""
    req = make_request(initiator=world.initiator, departments=[world.b, world.c, world.d])
    req = services.request_submit(request=req, by=world.initiator)
    number = req.number
    services.review_decide(
        review=current_review(req, world.b), by=world.b_head, approve=True, committed_tasks="甲"
    )
    services.review_decide(
        review=current_review(req, world.c), by=world.c_head, approve=False, comment="資源不足"
    )
    req = fresh(req)
    assert req.state == S.REVISION
    round1 = {r.department_id: r for r in req.reviews.filter(round=1)}
    assert round1[world.b.pk].decision == ReviewDecision.APPROVED
    assert round1[world.c.pk].decision == ReviewDecision.REJECTED
    assert round1[world.c.pk].comment == "資源不足"
    assert round1[world.d.pk].decision == ReviewDecision.SUPERSEDED
    # The unanswered department can no longer answer the closed round.
    with pytest.raises(RequestConflict):
        services.review_decide(review=round1[world.d.pk], by=world.d_head, approve=True)

    services.request_submit(request=req, by=world.initiator)
    req = fresh(req)
    assert (req.state, req.review_round, req.number) == (S.PENDING, 2, number)
    round2 = list(req.reviews.filter(round=2))
    assert len(round2) == 3
    assert all(r.decision == ReviewDecision.PENDING and r.decided_by is None for r in round2)
    after = {r.department_id: r for r in req.reviews.filter(round=1)}
    assert {k: (v.decision, v.comment, v.committed_tasks) for k, v in after.items()} == {
        k: (v.decision, v.comment, v.committed_tasks) for k, v in round1.items()
    }
    kinds = list(req.events.order_by("pk").values_list("kind", flat=True))
    assert kinds == [
        EventKind.CREATED,
        EventKind.SUBMITTED,
        EventKind.REVIEW_APPROVED,
        EventKind.REVIEW_REJECTED,
        EventKind.RESUBMITTED,
    ]
    # The old round's answer does not count in the new one.
    with pytest.raises(TransitionRefused):
        services.request_confirm(request=req, by=world.pmo)


@pytest.mark.django_db
def test_confirm_only_when_every_department_agreed_in_the_current_round(world):
    """確認立項 needs every department's 同意 in the current round, not an earlier one."""
    req = make_request(initiator=world.initiator, departments=[world.b, world.c])
    req = services.request_submit(request=req, by=world.initiator)
    services.review_decide(review=current_review(req, world.b), by=world.b_head, approve=True)
    with pytest.raises(TransitionRefused):
        services.request_confirm(request=fresh(req), by=world.pmo)
    services.review_decide(
        review=current_review(req, world.c), by=world.c_head, approve=False, comment="不同意"
    )
    req = services.request_submit(request=fresh(req), by=world.initiator)
    # Round 2: only c agreed so far; b's agreement was in round 1.
    services.review_decide(review=current_review(req, world.c), by=world.c_head, approve=True)
    before = snapshot(req)
    with pytest.raises(TransitionRefused) as info:
        services.request_confirm(request=fresh(req), by=world.pmo)
    assert str(info.value).strip()
    assert snapshot(req) == before
    services.review_decide(review=current_review(req, world.b), by=world.b_head, approve=True)
    services.request_confirm(request=fresh(req), by=world.pmo)
    req = fresh(req)
    assert req.state == S.APPROVED and req.approved_at is not None


@pytest.mark.django_db
def test_all_departments_agreed_guard_is_false_before_any_round():
    """A draft, which has no review round, is never 'all agreed' (no vacuous truth)."""
    dept = DepartmentFactory()
    req = make_request(initiator=UserFactory(department=dept), departments=[dept])
    assert guards.all_departments_agreed(req) is False


# --- the protected field ----------------------------------------------------------------


@pytest.mark.django_db
def test_state_cannot_be_assigned_directly(world):
    """The state field is protected: only transitions change it."""
    req = build(world, S.DRAFT)
    with pytest.raises(AttributeError):
        req.state = S.APPROVED
    assert fresh(req).state == S.DRAFT


# --- demo data --------------------------------------------------------------------------


def _counts():
    return (
        CollabRequest.objects.count(),
        DepartmentReview.objects.count(),
        RequestEvent.objects.count(),
    )


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_request_counts(django_capture_on_commit_callbacks):
    """seed_demo adds demo requests in each state it can reach honestly through the
    services, and a second run adds no request, review or history row."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    first = _counts()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    assert _counts() == first

    states = set(CollabRequest.objects.values_list("state", flat=True))
    assert states == {
        S.DRAFT,
        S.PENDING,
        S.REVISION,
        S.APPROVED,
        S.IN_PROGRESS,
        S.COMPLETED,
        S.CANCELLED,
    }
    # Demo data is never forged: every request has a creation row, every state change
    # has its history row.
    for req in CollabRequest.objects.all():
        assert req.events.filter(kind=EventKind.CREATED).count() == 1
        if req.state != S.DRAFT:
            assert req.number and req.number.startswith("XQ")
            last = req.events.exclude(to_state="").order_by("pk").last()
            assert last.to_state == req.state
        assert req.goals.exists() and req.department_links.filter(is_lead=True).count() == 1

    launch = CollabRequest.objects.get(name="新品上市整合行銷")
    assert launch.state == S.PENDING
    assert launch.initiator.username == "mkt_staff"
    assert set(launch.departments.values_list("code", flat=True)) == {
        "mkt",
        "prod",
        "design",
        "tech",
    }
    assert launch.department_links.get(is_lead=True).department.code == "mkt"
    tech = launch.reviews.get(department__code="tech", round=launch.review_round)
    assert tech.decision == ReviewDecision.APPROVED
    assert (tech.decided_by.username, tech.on_behalf_of.username) == ("tech_staff", "tech_head")
    agreed = launch.events.get(kind=EventKind.REVIEW_APPROVED)
    assert agreed.on_behalf_of.username == "tech_head"

    revision = CollabRequest.objects.get(state=S.REVISION)
    rejected = revision.reviews.get(decision=ReviewDecision.REJECTED)
    assert rejected.comment.strip()
    approved = CollabRequest.objects.get(state=S.APPROVED)
    assert not approved.reviews.filter(round=approved.review_round).exclude(
        decision=ReviewDecision.APPROVED
    )
    assert approved.events.get(kind=EventKind.CONFIRMED).by.username == "pmo"
    cancelled = CollabRequest.objects.get(state=S.CANCELLED)
    assert cancelled.cancel_reason.strip()
