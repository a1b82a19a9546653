"""The retrospective rule, and the review deadline an administrator sets on its rule."""

import datetime as dt

import pytest
from django.utils import timezone

from collab import calendar, warnings
from collab.models import WarningRule
from requests_app import services
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from tests.factories import DepartmentFactory, UserFactory, make_request


@pytest.mark.django_db
def test_completed_request_without_retrospective_warns_after_a_week(pmo):
    """7 days after completion the initiator and the PMO are told; not before."""
    mkt = DepartmentFactory()
    initiator = UserFactory(department=mkt)
    req = make_request(initiator=initiator, departments=[mkt])
    # Completion needs the acceptance stage (a later issue); set the end state directly.
    done_at = timezone.now() - dt.timedelta(days=8)
    CollabRequest.objects.filter(pk=req.pk).update(
        state=RequestState.COMPLETED, completed_at=done_at, number="XQ202601001"
    )
    items = warnings.collect(now=timezone.now(), cadences=(warnings.DAILY,))
    found = {i.recipient for i in items if i.rule == "retrospective_overdue"}
    assert found == {initiator, pmo}
    early = warnings.collect(now=done_at + dt.timedelta(days=6), cadences=(warnings.DAILY,))
    assert not [i for i in early if i.rule == "retrospective_overdue"]


@pytest.mark.django_db
def test_review_deadline_follows_the_rule_threshold_set_in_admin():
    """Setting the review rule to 5 working days gives new reviews 5 working days."""
    warnings.rules_ensure()
    WarningRule.objects.filter(code="review_overdue").update(days=5)
    mkt = DepartmentFactory()
    initiator = UserFactory(department=mkt)
    req = services.request_submit(
        request=make_request(initiator=initiator, departments=[mkt]), by=initiator
    )
    review = req.reviews.get()
    assert review.due_date == calendar.add_working_days(timezone.localdate(), 5)
