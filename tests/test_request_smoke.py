"""The request's review cycle end to end through the services."""

import pytest
from django.core import mail

from requests_app import services
from requests_app.choices import RequestState, ReviewDecision
from tests.factories import DepartmentFactory, UserFactory, make_head, make_request


@pytest.mark.django_db
def test_submit_reject_resubmit_approve_confirm(pmo, django_capture_on_commit_callbacks):
    mkt, tech = DepartmentFactory(code="mkt"), DepartmentFactory(code="tech")
    mkt_head = make_head(mkt, admin_groups=False)
    tech_head = make_head(tech, admin_groups=False)
    staff = UserFactory(department=mkt)
    req = make_request(initiator=staff, departments=[mkt, tech], lead=mkt)
    with django_capture_on_commit_callbacks(execute=True):
        req = services.request_submit(request=req, by=staff)
    assert req.state == RequestState.PENDING
    assert req.number.startswith("XQ") and len(req.number) == 11
    assert len(mail.outbox) == 2
    reviews = {r.department.code: r for r in req.reviews.all()}
    services.review_decide(review=reviews["mkt"], by=mkt_head, approve=True, committed_tasks="a\nb")
    services.review_decide(review=reviews["tech"], by=tech_head, approve=False, comment="資源不足")
    req.refresh_from_db()
    assert req.state == RequestState.REVISION
    req = services.request_submit(request=req, by=staff)
    assert req.review_round == 2
    for review in req.reviews.filter(round=2):
        head = mkt_head if review.department == mkt else tech_head
        services.review_decide(review=review, by=head, approve=True)
    req.refresh_from_db()
    services.request_confirm(request=req, by=pmo)
    req.refresh_from_db()
    assert req.state == RequestState.APPROVED
    kinds = list(req.events.values_list("kind", flat=True))
    assert kinds[0] == "created" and kinds[-1] == "confirm"
    assert req.reviews.filter(round=1, decision=ReviewDecision.APPROVED).count() == 1
