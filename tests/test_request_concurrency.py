"""Two people acting on the same request at the same moment, on real PostgreSQL.

Each racer runs in its own thread with its own database connection: it loads what its
page showed, waits at a barrier so both start together, then calls the service. The
winner is slowed down inside its transaction (while it holds the row lock), so the other
really arrives while the first is still at work. Exactly one transition must happen;
the other person gets RequestConflict with a message saying what the request became.
"""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django_fsm import ConcurrentTransition

from collab import notifications
from collab.choices import Role
from collab.models import User
from requests_app import services
from requests_app.choices import EventKind, RequestState, ReviewDecision
from requests_app.models import CollabRequest, DepartmentReview, RequestEvent
from requests_app.services import RequestConflict
from tests.concurrency import race
from tests.factories import DepartmentFactory, UserFactory, make_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_winner(monkeypatch):
    """Make whoever gets the lock first hold it a moment longer (inside its transaction)."""
    real = notifications.notify

    def notify(**kwargs):
        time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr(notifications, "notify", notify)


@pytest.fixture
def setup(pmo):
    """A request submitted to departments b and c, each with its own head."""
    a, b, c = DepartmentFactory(), DepartmentFactory(), DepartmentFactory()
    b_head, c_head = UserFactory(department=b), UserFactory(department=c)
    b.heads.add(b_head)
    c.heads.add(c_head)
    initiator = UserFactory(department=a)
    req = make_request(initiator=initiator, departments=[b, c], lead=b)
    req = services.request_submit(request=req, by=initiator)
    return {
        "request": req,
        "initiator": initiator,
        "b": b,
        "c": c,
        "b_head": b_head,
        "c_head": c_head,
        "pmo": pmo,
    }


def _review_id(req, department) -> int:
    return DepartmentReview.objects.get(request=req, department=department, round=1).pk


def _collaborators_agree(setup, req) -> None:
    """Departments b and c answer 同意 through their heads, one after the other."""
    for dept, head in (("b", "b_head"), ("c", "c_head")):
        services.review_decide(
            review=DepartmentReview.objects.get(pk=_review_id(req, setup[dept])),
            by=setup[head],
            approve=True,
        )


def _decider(review_id: int, user_id: int, *, approve: bool, comment: str = ""):
    def racer(wait):
        review = DepartmentReview.objects.select_related("request").get(pk=review_id)
        user = User.objects.get(pk=user_id)
        wait()
        return services.review_decide(review=review, by=user, approve=approve, comment=comment)

    return racer


def _conflicts(results) -> list[RequestConflict]:
    return [value for kind, value in results if kind == "error"]


def test_two_heads_rejecting_at_once_make_one_transition(setup, slow_winner):
    """Two heads of different departments 駁回 at the same instant: the request goes to
    待修改 once, one rejection is recorded, and the other head is told it moved on."""
    req = setup["request"]
    results = race(
        _decider(
            _review_id(req, setup["b"]), setup["b_head"].pk, approve=False, comment="人力不足"
        ),
        _decider(
            _review_id(req, setup["c"]), setup["c_head"].pk, approve=False, comment="預算不足"
        ),
    )
    oks = [value for kind, value in results if kind == "ok"]
    errors = _conflicts(results)
    assert len(oks) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], RequestConflict)
    req = CollabRequest.objects.get(pk=req.pk)
    assert req.state == RequestState.REVISION
    message = str(errors[0])
    assert message.strip()
    assert str(req.get_state_display()) in message
    rejections = RequestEvent.objects.filter(request=req, kind=EventKind.REVIEW_REJECTED)
    assert rejections.count() == 1
    assert RequestEvent.objects.filter(request=req, to_state=RequestState.REVISION).count() == 1
    reviews = DepartmentReview.objects.filter(request=req, round=1)
    assert reviews.filter(decision=ReviewDecision.REJECTED).count() == 1
    # The loser's review was closed by the winner's rejection, not answered by the loser.
    loser = reviews.exclude(pk=oks[0].pk).get()
    assert loser.decision == ReviewDecision.SUPERSEDED and loser.decided_by is None


def test_two_pmo_users_confirming_at_once_confirm_once(setup, slow_winner):
    """Two PMO users press 確認立項 together: one confirmation, one clear conflict."""
    req = setup["request"]
    _collaborators_agree(setup, req)
    other_pmo = UserFactory(role=Role.PMO, department=None)

    def confirmer(user_id):
        def racer(wait):
            page = CollabRequest.objects.get(pk=req.pk)  # what each PMO's page showed
            user = User.objects.get(pk=user_id)
            wait()
            return services.request_confirm(request=page, by=user)

        return racer

    results = race(confirmer(setup["pmo"].pk), confirmer(other_pmo.pk))
    errors = _conflicts(results)
    assert len(errors) == 1, results
    assert isinstance(errors[0], RequestConflict)
    req = CollabRequest.objects.get(pk=req.pk)
    assert req.state == RequestState.APPROVED
    assert str(req.get_state_display()) in str(errors[0])
    assert RequestEvent.objects.filter(request=req, kind=EventKind.CONFIRMED).count() == 1


def test_confirm_and_cancel_at_once_make_one_transition(setup, slow_winner):
    """The PMO confirms while the initiator cancels: whichever is first wins, alone."""
    req = setup["request"]
    _collaborators_agree(setup, req)

    def confirm(wait):
        page = CollabRequest.objects.get(pk=req.pk)
        wait()
        return services.request_confirm(request=page, by=setup["pmo"])

    def cancel(wait):
        page = CollabRequest.objects.get(pk=req.pk)
        wait()
        return services.request_cancel(request=page, by=setup["initiator"], reason="改期")

    results = race(confirm, cancel)
    errors = _conflicts(results)
    assert len(errors) == 1 and isinstance(errors[0], RequestConflict), results
    req = CollabRequest.objects.get(pk=req.pk)
    assert req.state in (RequestState.APPROVED, RequestState.CANCELLED)
    assert str(req.get_state_display()) in str(errors[0])
    moves = RequestEvent.objects.filter(request=req, from_state=RequestState.PENDING)
    assert moves.exclude(to_state="").count() == 1


def test_last_two_heads_agreeing_at_once_both_count_and_all_agreed_is_logged_once(
    setup, slow_winner
):
    """Two heads 同意 together: both answers are kept and 'all agreed' is written once."""
    req = setup["request"]
    results = race(
        _decider(_review_id(req, setup["b"]), setup["b_head"].pk, approve=True),
        _decider(_review_id(req, setup["c"]), setup["c_head"].pk, approve=True),
    )
    assert [kind for kind, _value in results] == ["ok", "ok"], results
    events = RequestEvent.objects.filter(request=req)
    assert events.filter(kind=EventKind.REVIEW_APPROVED).count() == 2
    assert events.filter(kind=EventKind.ALL_AGREED).count() == 1
    assert CollabRequest.objects.get(pk=req.pk).state == RequestState.PENDING


def test_a_stale_page_gets_a_conflict_not_a_second_transition(setup):
    """A PMO acting on a page loaded before someone else confirmed gets RequestConflict."""
    req = setup["request"]
    _collaborators_agree(setup, req)
    stale = CollabRequest.objects.get(pk=req.pk)
    services.request_confirm(request=CollabRequest.objects.get(pk=req.pk), by=setup["pmo"])
    with pytest.raises(RequestConflict) as info:
        services.request_cancel(request=stale, by=setup["pmo"], reason="重複")
    assert str(CollabRequest.objects.get(pk=req.pk).get_state_display()) in str(info.value)
    assert CollabRequest.objects.get(pk=req.pk).state == RequestState.APPROVED
    assert not RequestEvent.objects.filter(request=req, kind=EventKind.CANCELLED).exists()


def test_concurrent_transition_mixin_refuses_to_save_over_a_newer_state(setup):
    """An instance loaded before another process changed the state cannot be saved
    over that change (django-fsm's ConcurrentTransitionMixin), even bypassing services."""
    req = setup["request"]
    mine = CollabRequest.objects.get(pk=req.pk)
    theirs = CollabRequest.objects.get(pk=req.pk)
    with transaction.atomic():
        theirs.cancel()
        theirs.save()
    mine.send_back()
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        mine.save()
    assert CollabRequest.objects.get(pk=req.pk).state == RequestState.CANCELLED


def test_concurrent_transition_mixin_sees_an_update_made_behind_its_back(setup):
    """The same holds when the other process wrote with a plain UPDATE."""
    req = setup["request"]
    mine = CollabRequest.objects.get(pk=req.pk)
    CollabRequest.objects.filter(pk=req.pk).update(state=RequestState.REVISION)
    mine.cancel()
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        mine.save(update_fields=["state"])
    assert CollabRequest.objects.get(pk=req.pk).state == RequestState.REVISION
