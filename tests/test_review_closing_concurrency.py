"""Signers acting on the final acceptance at the same moment, on real PostgreSQL.

Each racer runs in its own thread with its own connection (tests.test_task_concurrency's
race): the head and the deputy of one department sign together → one signature, the
other gets ClosingConflict; the last two departments sign together → both signatures
are kept and the request completes once.
"""

from __future__ import annotations

import pytest

from collab.models import User
from requests_app import services as request_services
from requests_app.choices import EventKind, RequestState
from requests_app.models import CollabRequest, RequestEvent
from review_app.choices import FinalOutcome, SignatureDecision
from review_app.models import FinalAcceptance, FinalSignature, Retrospective
from review_app.services import closing as services
from tests.concurrency import race
from tests.concurrency import slow as _slow
from tests.review_closing_fixtures import build_project, open_final, signature_of

pytestmark = pytest.mark.django_db(transaction=True)


def _signer(signature_id: int, user_id: int, *, refuse: bool = False):
    def racer(wait):
        signature = FinalSignature.objects.get(pk=signature_id)
        user = User.objects.get(pk=user_id)
        wait()
        if refuse:
            return services.final_refuse(signature=signature, by=user, reason="不同意")
        return services.final_sign(signature=signature, by=user)

    return racer


def test_head_and_deputy_signing_at_once_give_one_signature(pmo, monkeypatch):
    project = build_project(pmo)
    final = open_final(project)
    sales = signature_of(final, project.sales)
    _slow(monkeypatch, request_services, "event_log")
    results = race(
        _signer(sales.pk, project.sales_head.pk), _signer(sales.pk, project.sales_deputy.pk)
    )
    kinds = sorted(kind for kind, _value in results)
    assert kinds == ["error", "ok"], results
    (error,) = [value for kind, value in results if kind == "error"]
    assert isinstance(error, services.ClosingConflict)
    sales.refresh_from_db()
    assert sales.decision == SignatureDecision.SIGNED
    assert sales.signed_by in (project.sales_head, project.sales_deputy)
    signed = RequestEvent.objects.filter(request=project.request, kind=EventKind.FINAL_SIGNED)
    assert signed.count() == 1


def test_sign_and_refuse_at_once_leave_one_answer(pmo, monkeypatch):
    """One signs while the other refuses the same department: exactly one answer stands."""
    project = build_project(pmo)
    final = open_final(project)
    sales = signature_of(final, project.sales)
    _slow(monkeypatch, request_services, "event_log")
    results = race(
        _signer(sales.pk, project.sales_head.pk),
        _signer(sales.pk, project.sales_deputy.pk, refuse=True),
    )
    assert sorted(kind for kind, _value in results) == ["error", "ok"], results
    sales.refresh_from_db()
    final.refresh_from_db()
    if sales.decision == SignatureDecision.REFUSED:
        assert final.outcome == FinalOutcome.RETURNED
    else:
        assert final.outcome == FinalOutcome.OPEN
    events = RequestEvent.objects.filter(
        request=project.request, kind__in=[EventKind.FINAL_SIGNED, EventKind.FINAL_RETURNED]
    )
    assert events.count() == 1


def test_the_last_two_departments_signing_at_once_complete_once(pmo, monkeypatch):
    project = build_project(pmo)
    final = open_final(project)
    services.final_sign(signature=signature_of(final, project.mkt), by=project.mkt_head)
    _slow(monkeypatch, request_services, "event_log")
    results = race(
        _signer(signature_of(final, project.design).pk, project.design_head.pk),
        _signer(signature_of(final, project.sales).pk, project.sales_deputy.pk),
    )
    assert [kind for kind, _value in results] == ["ok", "ok"], results
    assert CollabRequest.objects.get(pk=project.request.pk).state == RequestState.COMPLETED
    assert FinalAcceptance.objects.get(pk=final.pk).outcome == FinalOutcome.SIGNED
    completed = RequestEvent.objects.filter(request=project.request, kind=EventKind.COMPLETED)
    assert completed.count() == 1
    assert Retrospective.objects.filter(request=project.request).count() == 1


def test_two_openings_at_once_give_one_round(pmo, monkeypatch):
    """The initiator and the PMO open the final acceptance together: one round."""
    project = build_project(pmo)
    _slow(monkeypatch, request_services, "event_log")

    def opener(user_id):
        def racer(wait):
            req = CollabRequest.objects.get(pk=project.request.pk)
            user = User.objects.get(pk=user_id)
            wait()
            return services.final_open(request=req, by=user, summary="完成")

        return racer

    results = race(opener(project.initiator.pk), opener(project.pmo.pk))
    assert sorted(kind for kind, _value in results) == ["error", "ok"], results
    (error,) = [value for kind, value in results if kind == "error"]
    assert isinstance(error, services.ClosingConflict)
    assert FinalAcceptance.objects.filter(request=project.request).count() == 1
