"""The permission matrix at the rule level (requests_app.permissions): each role × each
rule, in each state where the rule depends on the state. Views, downloads, PDFs and
admin all ask these rules, so this is where who-may-do-what is pinned."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from guardian.shortcuts import assign_perm

from collab.choices import Role
from collab.models import Department, User
from collab.selectors import Actor
from collab.services import role_groups_ensure
from requests_app import guards, permissions, services
from requests_app.choices import EventKind, RequestState, ReviewDecision
from requests_app.models import (
    CollabRequest,
    CollabRequestUserObjectPermission,
    DepartmentReview,
)
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory, make_request
from tests.helpers import assert_constant_queries

S = RequestState
TODAY = timezone.localdate


def _days(n: int) -> dt.date:
    return TODAY() + dt.timedelta(days=n)


@dataclass
class World:
    a: Department
    b: Department
    c: Department
    o: Department
    users: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None


ROLES = [
    "initiator",  # filed the request (department a)
    "a_staff",  # colleague in the initiating department
    "b_head",  # head of a collaborating department (b)
    "deputy",  # b staff, named deputy of b_head from yesterday to next week
    "deputy_past",  # b staff, whose delegation ended yesterday
    "deputy_future",  # b staff, whose delegation starts tomorrow
    "b_staff",  # staff of the collaborating department
    "c_head",  # head of the other collaborating department (c)
    "outsider",  # staff of an uninvolved department
    "o_head",  # head of an uninvolved department
    "pmo",
    "executive",
    "superuser",
    "inactive_staff",  # deactivated member of the initiating department
    "inactive_pmo",  # deactivated PMO user
    "anonymous",
]


@pytest.fixture
def world(db):
    role_groups_ensure()
    a, b, c, o = (DepartmentFactory() for _ in range(4))
    w = World(a=a, b=b, c=c, o=o)
    u = w.users
    u["initiator"] = UserFactory(department=a)
    u["a_staff"] = UserFactory(department=a)
    for name, dept in (("b_head", b), ("c_head", c), ("o_head", o)):
        u[name] = UserFactory(department=dept)
        dept.heads.add(u[name])
    for name, start, end in (
        ("deputy", -1, 7),
        ("deputy_past", -10, -1),
        ("deputy_future", 1, 10),
    ):
        u[name] = UserFactory(department=b)
        DelegationFactory(
            head=u["b_head"], deputy=u[name], start_date=_days(start), end_date=_days(end)
        )
    u["b_staff"] = UserFactory(department=b)
    u["outsider"] = UserFactory(department=o)
    u["pmo"] = UserFactory(role=Role.PMO, department=None)
    u["executive"] = UserFactory(role=Role.EXECUTIVE, department=None)
    u["superuser"] = UserFactory(is_superuser=True, is_staff=True, department=None)
    u["inactive_staff"] = UserFactory(department=a, is_active=False)
    u["inactive_pmo"] = UserFactory(role=Role.PMO, department=None, is_active=False)
    u["anonymous"] = AnonymousUser()
    return w


@contextlib.contextmanager
def _open_guards():
    saved = dict(guards._checks)
    guards.register("breakdown_signed", lambda r: True)
    guards.register("final_acceptance_passed", lambda r: True)
    try:
        yield
    finally:
        guards._checks.clear()
        guards._checks.update(saved)


def build(w: World, state: str) -> CollabRequest:
    """Return a request from a to b (lead) and c, brought to `state` by the services."""
    req = make_request(initiator=w.initiator, departments=[w.b, w.c], lead=w.b)
    if state == S.DRAFT:
        return CollabRequest.objects.get(pk=req.pk)
    req = services.request_submit(request=req, by=w.initiator)
    if state == S.CANCELLED:
        services.request_cancel(request=req, by=w.initiator, reason="取消")
    elif state == S.REVISION:
        review = req.reviews.get(department=w.c)
        services.review_decide(review=review, by=w.c_head, approve=False, comment="不足")
    elif state != S.PENDING:
        for dept, head in ((w.b, w.b_head), (w.c, w.c_head)):
            services.review_decide(review=req.reviews.get(department=dept), by=head, approve=True)
        services.request_confirm(request=req, by=w.pmo)
        with _open_guards():
            if state in (S.IN_PROGRESS, S.COMPLETED):
                services.request_start(request=CollabRequest.objects.get(pk=req.pk), by=w.pmo)
            if state == S.COMPLETED:
                services.request_complete(request=CollabRequest.objects.get(pk=req.pk), by=w.pmo)
    return CollabRequest.objects.get(pk=req.pk)


ALL_STATES = list(S.values)
OPEN = {S.DRAFT, S.PENDING, S.REVISION, S.APPROVED, S.IN_PROGRESS}
EDITABLE = {S.DRAFT, S.REVISION}

SEES = {
    "initiator",
    "a_staff",
    "b_head",
    "deputy",
    "deputy_past",
    "deputy_future",
    "b_staff",
    "c_head",
    "pmo",
    "executive",
    "superuser",
}
EDITORS = {"initiator", "pmo", "superuser"}
CONFIRMERS = {"pmo", "superuser"}
STARTERS = {"initiator", "pmo", "superuser"}
CANCELLERS = {"initiator", "pmo", "superuser"}


# --- visibility -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_visibility(world, role):
    """The initiating and collaborating departments, PMO, executives and superusers see a
    request; an uninvolved department, an inactive user and an anonymous one get 404."""
    req = build(world, S.PENDING)
    other = make_request(initiator=world.outsider, departments=[world.o])
    user = getattr(world, role)
    visible = set(permissions.visible_requests(user).values_list("pk", flat=True))
    assert (req.pk in visible) == (role in SEES)
    assert permissions.can_view(user, req) == (role in SEES)
    if role in SEES:
        assert permissions.get_visible_or_404(user, req.pk) == req
    else:
        with pytest.raises(Http404):
            permissions.get_visible_or_404(user, req.pk)
    # The outsider's own request stays in the outsider's department (and the all-seeing).
    sees_other = role in {"outsider", "o_head", "pmo", "executive", "superuser"}
    assert (other.pk in visible) == sees_other


@pytest.mark.django_db
def test_visible_requests_narrows_a_given_queryset(world):
    req = build(world, S.PENDING)
    draft = build(world, S.DRAFT)
    qs = CollabRequest.objects.filter(state=S.DRAFT)
    assert list(permissions.visible_requests(world.b_staff, qs)) == [draft]
    assert req not in permissions.visible_requests(world.pmo, qs)


@pytest.mark.parametrize("pk", [0, 999_999, "abc", None])
@pytest.mark.django_db
def test_get_visible_or_404_hides_missing_and_malformed_ids(world, pk):
    build(world, S.PENDING)
    with pytest.raises(Http404):
        permissions.get_visible_or_404(world.pmo, pk)


@pytest.mark.django_db
def test_a_guardian_grant_shows_a_request_to_an_outsider(world):
    """A per-object view permission (guardian's direct-FK table) makes one request
    visible to someone outside its departments, and only that request."""
    req = build(world, S.PENDING)
    second = build(world, S.PENDING)
    assert not permissions.can_view(world.outsider, req)
    assign_perm("view_collabrequest", world.outsider, req)
    assert CollabRequestUserObjectPermission.objects.filter(
        user=world.outsider, content_object=req
    ).exists()
    assert permissions.get_visible_or_404(world.outsider, req.pk) == req
    with pytest.raises(Http404):
        permissions.get_visible_or_404(world.outsider, second.pk)
    # Seeing is not acting: the grant (a RACI role's sight of the request) opens no
    # transition and adds no file; the person takes no part in the request.
    assert not permissions.takes_part(world.outsider, req)
    assert not permissions.can_attach(world.outsider, req)
    assert not permissions.can_edit(world.outsider, req)
    assert not permissions.can_cancel(world.outsider, req)
    assert not any(
        permissions.can_transition(world.outsider, req, name)
        for name in ("submit", "confirm", "start", "complete", "cancel")
    )


@pytest.mark.django_db
def test_a_guardian_grant_does_not_revive_an_inactive_user(world):
    req = build(world, S.PENDING)
    inactive = UserFactory(department=world.o, is_active=False)
    assign_perm("view_collabrequest", inactive, req)
    assert not permissions.can_view(inactive, req)


@pytest.mark.django_db
def test_another_permission_grant_does_not_show_the_request(world):
    """Only the view permission counts, not, say, a change permission."""
    req = build(world, S.PENDING)
    assign_perm("change_collabrequest", world.outsider, req)
    assert not permissions.can_view(world.outsider, req)


@pytest.mark.django_db
def test_visible_requests_runs_the_same_queries_for_more_rows(world):
    """The list selector does not grow with the number of requests."""

    def make_rows(n):
        for _ in range(n):
            req = build(world, S.PENDING)
            assign_perm("view_collabrequest", world.outsider, req)

    assert_constant_queries(
        make_rows, lambda: list(permissions.visible_requests(world.b_staff)), small=2, large=6
    )
    assert permissions.visible_requests(world.outsider).count() == 6


# --- rules by state -------------------------------------------------------------------


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.django_db
def test_edit_submit_attach_cancel_by_state(world, state):
    """Who may edit, submit, attach to and cancel a request in each state."""
    req = build(world, state)
    for role in ROLES:
        user = getattr(world, role)
        expected_edit = role in EDITORS and state in EDITABLE
        assert permissions.can_edit(user, req) is expected_edit, (role, "edit")
        assert permissions.can_submit(user, req) is expected_edit, (role, "submit")
        expected_attach = role in SEES and state in OPEN
        assert permissions.can_attach(user, req) is expected_attach, (role, "attach")
        expected_cancel = role in CANCELLERS and state in OPEN
        assert permissions.can_cancel(user, req) is expected_cancel, (role, "cancel")


@pytest.mark.django_db
def test_an_archived_request_is_read_only(world):
    req = build(world, S.REVISION)
    CollabRequest.objects.filter(pk=req.pk).update(is_archived=True)
    req = CollabRequest.objects.get(pk=req.pk)
    for role in ROLES:
        user = getattr(world, role)
        assert not permissions.can_edit(user, req)
        assert not permissions.can_attach(user, req)
    assert permissions.can_view(world.initiator, req)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_confirm_start_complete_by_role(world, role):
    """確認立項 is for the PMO (and superusers); starting and completing also for the
    initiator; these rules answer who, the state machine answers when."""
    req = build(world, S.PENDING)
    user = getattr(world, role)
    assert permissions.can_confirm(user, req) is (role in CONFIRMERS)
    assert permissions.can_start(user, req) is (role in STARTERS)
    assert permissions.can_complete(user, req) is (role in STARTERS)


TRANSITION_RULE = {
    "submit": (S.DRAFT, EDITORS),
    "confirm": (S.PENDING, CONFIRMERS),
    "start": (S.APPROVED, STARTERS),
    "complete": (S.IN_PROGRESS, STARTERS),
    "cancel": (S.PENDING, CANCELLERS),
}


@pytest.mark.parametrize("name", list(TRANSITION_RULE))
@pytest.mark.django_db
def test_can_transition_by_name(world, name):
    """can_transition (django-fsm's permission hook) answers like the named rule."""
    state, allowed = TRANSITION_RULE[name]
    req = build(world, state)
    for role in ROLES:
        assert permissions.can_transition(getattr(world, role), req, name) is (role in allowed), (
            role
        )


@pytest.mark.parametrize("name", ["send_back", "archive", ""])
@pytest.mark.django_db
def test_can_transition_refuses_unknown_names(world, name):
    """A name without a rule is refused to everyone, superuser included (never open)."""
    req = build(world, S.PENDING)
    for role in ROLES:
        assert permissions.can_transition(getattr(world, role), req, name) is False


# --- review actor and delegation ------------------------------------------------------


REVIEW_ACTOR = {"b_head": None, "deputy": "b_head"}  # role → on whose behalf


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.django_db
def test_review_actor(world, role):
    """Only b's head, or b's deputy inside the delegation dates, may answer b's review."""
    req = build(world, S.PENDING)
    review = req.reviews.get(department=world.b)
    user = getattr(world, role)
    actor = permissions.review_actor(user, review)
    if role in REVIEW_ACTOR:
        principal = REVIEW_ACTOR[role]
        expected = Actor(user=user, on_behalf_of=getattr(world, principal) if principal else None)
        assert actor == expected
        assert review in permissions.reviews_actable(user)
    else:
        assert actor is None
        if user.is_authenticated:
            assert review not in permissions.reviews_actable(user)


@pytest.mark.django_db
def test_c_head_answers_only_c_review(world):
    req = build(world, S.PENDING)
    c_review = req.reviews.get(department=world.c)
    assert permissions.review_actor(world.c_head, c_review) == Actor(user=world.c_head)
    assert list(permissions.reviews_actable(world.c_head)) == [c_review]


@pytest.mark.parametrize("state", [S.DRAFT, S.REVISION, S.APPROVED, S.CANCELLED])
@pytest.mark.django_db
def test_no_review_actor_once_the_request_left_pending(world, state):
    req = build(world, state)
    for review in req.reviews.all():
        assert permissions.review_actor(world.b_head, review) is None
        assert permissions.review_actor(world.deputy, review) is None
    assert not permissions.reviews_actable(world.b_head).exists()


@pytest.mark.django_db
def test_no_review_actor_for_an_answered_review(world):
    req = build(world, S.PENDING)
    review = req.reviews.get(department=world.b)
    services.review_decide(review=review, by=world.b_head, approve=True)
    review = DepartmentReview.objects.get(pk=review.pk)
    assert permissions.review_actor(world.b_head, review) is None
    assert permissions.review_actor(world.deputy, review) is None


@pytest.mark.parametrize(
    ("start", "end", "acts"),
    [
        (0, 0, True),  # a one-day delegation covers today
        (-3, 0, True),  # ends today, inclusive
        (0, 3, True),  # starts today, inclusive
        (-3, -1, False),  # ended yesterday
        (1, 3, False),  # starts tomorrow
    ],
)
@pytest.mark.django_db
def test_deputy_acts_only_inside_the_delegation_dates(world, start, end, acts):
    req = build(world, S.PENDING)
    review = req.reviews.get(department=world.b)
    deputy = UserFactory(department=world.b)
    DelegationFactory(
        head=world.b_head, deputy=deputy, start_date=_days(start), end_date=_days(end)
    )
    actor = permissions.review_actor(deputy, review)
    assert (actor is not None) is acts
    if acts:
        assert actor.on_behalf_of == world.b_head and actor.is_deputy


@pytest.mark.django_db
def test_a_delegation_for_another_department_does_not_cover_this_one(world):
    """A head leading two departments may delegate only one of them."""
    other = DepartmentFactory()
    other.heads.add(world.b_head)
    req = build(world, S.PENDING)
    deputy = UserFactory(department=world.b)
    DelegationFactory(head=world.b_head, deputy=deputy, department=other)
    assert permissions.review_actor(deputy, req.reviews.get(department=world.b)) is None


@pytest.mark.django_db
def test_an_inactive_head_or_deputy_cannot_answer(world):
    req = build(world, S.PENDING)
    review = req.reviews.get(department=world.b)
    User.objects.filter(pk=world.deputy.pk).update(is_active=False)
    assert permissions.review_actor(User.objects.get(pk=world.deputy.pk), review) is None
    # When the head leaves, their delegation lapses with them.
    deputy2 = UserFactory(department=world.b)
    DelegationFactory(head=world.b_head, deputy=deputy2)
    assert permissions.review_actor(deputy2, review) is not None
    User.objects.filter(pk=world.b_head.pk).update(is_active=False)
    assert permissions.review_actor(User.objects.get(pk=world.b_head.pk), review) is None
    assert permissions.review_actor(deputy2, review) is None


@pytest.mark.django_db
def test_deputy_decision_is_recorded_on_behalf_of_the_head(world):
    """A deputy's 同意 is stored with decided_by = deputy and on_behalf_of = head, and the
    history row says so too (the timeline shows 代理)."""
    req = build(world, S.PENDING)
    review = req.reviews.get(department=world.b)
    services.review_decide(
        review=review, by=world.deputy, approve=True, comment="代主管同意", committed_tasks="甲"
    )
    review = DepartmentReview.objects.get(pk=review.pk)
    assert review.decision == ReviewDecision.APPROVED
    assert (review.decided_by, review.on_behalf_of) == (world.deputy, world.b_head)
    event = req.events.get(kind=EventKind.REVIEW_APPROVED)
    assert (event.by, event.on_behalf_of, event.department) == (world.deputy, world.b_head, world.b)


@pytest.mark.parametrize("role", ["deputy_past", "deputy_future", "b_staff", "c_head", "pmo"])
@pytest.mark.django_db
def test_review_decide_refuses_whoever_cannot_act_for_the_department(world, role):
    req = build(world, S.PENDING)
    review = req.reviews.get(department=world.b)
    with pytest.raises(PermissionDenied):
        services.review_decide(review=review, by=getattr(world, role), approve=True)
    review = DepartmentReview.objects.get(pk=review.pk)
    assert review.decision == ReviewDecision.PENDING and review.decided_by is None
    assert not req.events.filter(kind=EventKind.REVIEW_APPROVED).exists()


@pytest.mark.django_db
def test_the_head_still_answers_while_a_deputy_is_named(world):
    """Naming a deputy does not take the head's own right away; the head acts in person."""
    req = build(world, S.PENDING)
    review = req.reviews.get(department=world.b)
    services.review_decide(review=review, by=world.b_head, approve=False, comment="回來了,不同意")
    event = req.events.get(kind=EventKind.REVIEW_REJECTED)
    assert (event.by, event.on_behalf_of) == (world.b_head, None)
