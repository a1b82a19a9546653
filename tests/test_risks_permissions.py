"""Who sees and does what with risk reports (risks_app.permissions, issue 16 §1).

- Seeing follows the request's rules (requests_app.permissions.visible_requests), plus
  the report's reporter and its response owner.
- Reporting: whoever takes part in the request or holds a RACI role on one of its
  tasks, and the PMO, while the request is 已立項 or 進行中 and not archived.
- The PMO (and platform administrators) organise and close; the PMO or the owner
  conclude a response under way. Nothing changes on an archived case.
"""

from __future__ import annotations

import pytest
from django.http import Http404

from collab.models import User
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from risks_app import permissions
from risks_app.choices import RiskState
from risks_app.models import Risk
from tests.factories import UserFactory, make_approved_request, make_request
from tests.risks_fixtures import RiskWorld, accepted, make_risk_world, report

pytestmark = pytest.mark.django_db

ROLES = [
    "pmo",
    "executive",
    "admin",
    "mkt_head",
    "tech_head",
    "tech_deputy",
    "other_head",
    "initiator",
    "mkt_staff",
    "tech_staff",
    "other_staff",
    "consultant",
    "inactive",
    "anonymous",
]
# Who takes part in the request (its departments' people, the initiator) or sees it
# through a RACI role (the consultant), and who sees everything.
ON_THE_REQUEST = {
    "mkt_head",
    "tech_head",
    "tech_deputy",
    "initiator",
    "mkt_staff",
    "tech_staff",
    "consultant",
}
SEES_EVERYTHING = {"pmo", "executive", "admin"}
MANAGERS = {"pmo", "admin"}


@pytest.fixture
def w(db) -> RiskWorld:
    return make_risk_world()


@pytest.fixture
def risk(w) -> Risk:
    return report(w)


# --- seeing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_a_report_is_seen_as_its_request_is(w, risk, role):
    user = getattr(w, role)
    seen = permissions.visible_risks(user).filter(pk=risk.pk).exists()
    assert seen == (role in ON_THE_REQUEST | SEES_EVERYTHING)
    if seen:
        assert permissions.get_visible_or_404(user, risk.pk) == risk
    else:
        with pytest.raises(Http404):
            permissions.get_visible_or_404(user, risk.pk)


def test_visible_risks_narrows_a_given_queryset(w, risk):
    other = report(w, title="設計人力不足")
    rows = Risk.objects.filter(pk=other.pk)
    assert list(permissions.visible_risks(w.mkt_staff, rows)) == [other]
    assert list(permissions.visible_risks(w.other_staff, rows)) == []
    assert set(permissions.visible_risks(w.pmo)) == {risk, other}


def test_the_response_owner_from_outside_the_request_sees_the_report(w, risk):
    """The PMO may name an owner from a department that takes no part: they see the
    report they own, and nothing else of the request's risks."""
    assert not permissions.visible_risks(w.other_staff).filter(pk=risk.pk).exists()
    accepted(w, risk, owner=w.other_staff)
    another = report(w, title="設計人力不足")
    seen = set(permissions.visible_risks(w.other_staff))
    assert seen == {risk}
    assert another not in seen


def test_the_reporter_keeps_sight_of_the_report_after_moving_department(w):
    """A marketing colleague with no role on a task reports, then moves to 運營部, which
    takes no part: they still see their report, not the request's other risks."""
    reporter = UserFactory(department=w.mkt)
    theirs = report(w, by=reporter)
    another = report(w, by=w.tech_staff, title="設計人力不足")
    User.objects.filter(pk=reporter.pk).update(department=w.other)
    moved = User.objects.get(pk=reporter.pk)
    assert set(permissions.visible_risks(moved)) == {theirs}
    assert another not in set(permissions.visible_risks(moved))
    assert not permissions.can_report(moved, w.request)


def test_a_deactivated_reporter_or_owner_sees_nothing(w, risk):
    accepted(w, risk)
    for user in (w.mkt_staff, w.tech_staff):
        User.objects.filter(pk=user.pk).update(is_active=False)
        assert not permissions.visible_risks(User.objects.get(pk=user.pk)).exists()


def test_a_confidential_requests_risks_stay_with_its_people(w, risk):
    """Another request, of a department that takes no part in the world's: its people
    see its risk, the world's people do not (the executive and the PMO see both)."""
    elsewhere = make_approved_request(
        initiator=w.other_staff, departments=[w.other], lead=w.other, pmo=w.pmo
    )
    theirs = report(w, request=elsewhere, by=w.other_staff)
    assert set(permissions.visible_risks(w.other_head)) == {theirs}
    assert set(permissions.visible_risks(w.mkt_head)) == {risk}
    assert set(permissions.visible_risks(w.executive)) == {risk, theirs}


# --- reporting -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_who_may_report_on_a_running_request(w, role):
    """The request's people, the consultant who holds only a RACI role on a task, the
    PMO and those who see everything; not another department, not a deactivated or
    anonymous user."""
    user = getattr(w, role)
    expected = role in ON_THE_REQUEST | SEES_EVERYTHING
    assert permissions.can_report(user, w.request) is expected
    assert permissions.reportable_requests(user).filter(pk=w.request.pk).exists() is expected


def test_a_raci_role_on_a_task_is_enough_to_report(w):
    """The consultant's department takes no part: only the C on the tech task lets them
    report, and the request is theirs to choose in the form."""
    assert not permissions.request_permissions.takes_part(w.consultant, w.request)
    assert permissions.can_report(w.consultant, w.request)
    assert list(permissions.reportable_requests(w.consultant)) == [w.request]
    # Their colleague without a role does not.
    assert not permissions.can_report(w.other_staff, w.request)
    assert not permissions.reportable_requests(w.other_staff).exists()


@pytest.mark.parametrize(
    ("state", "reportable"),
    [
        (RequestState.DRAFT, False),
        (RequestState.PENDING, False),
        (RequestState.REVISION, False),
        (RequestState.APPROVED, True),
        (RequestState.IN_PROGRESS, True),
        (RequestState.COMPLETED, False),
        (RequestState.CANCELLED, False),
    ],
)
def test_reporting_is_open_while_the_request_is_approved_or_running(w, state, reportable):
    CollabRequest.objects.filter(pk=w.request.pk).update(state=state)
    request = CollabRequest.objects.get(pk=w.request.pk)
    for user in (w.mkt_staff, w.consultant, w.pmo, w.admin):
        assert permissions.can_report(user, request) is reportable
        assert permissions.reportable_requests(user).filter(pk=request.pk).exists() is reportable


def test_nobody_reports_on_an_archived_case(w, risk):
    CollabRequest.objects.filter(pk=w.request.pk).update(is_archived=True)
    request = CollabRequest.objects.get(pk=w.request.pk)
    for user in (w.mkt_staff, w.consultant, w.pmo, w.admin):
        assert not permissions.can_report(user, request)
        assert not permissions.reportable_requests(user).filter(pk=request.pk).exists()
    # Still readable: an archived case is a reference.
    assert permissions.visible_risks(w.mkt_staff).filter(pk=risk.pk).exists()


def test_reportable_requests_lists_each_request_once(w):
    """The form's choice: the request of a person who both takes part and holds RACI
    roles on several of its tasks appears once, beside a draft they cannot report on."""
    draft = make_request(initiator=w.initiator, departments=[w.mkt], lead=w.mkt)
    for user in (w.initiator, w.tech_head, w.tech_staff, w.mkt_staff, w.consultant):
        rows = list(permissions.reportable_requests(user))
        assert rows == [w.request], (user, rows)
        assert permissions.reportable_requests(user).count() == 1
    assert draft not in permissions.reportable_requests(w.pmo)
    assert list(permissions.reportable_requests(w.pmo)) == [w.request]


def test_a_new_department_member_may_report_at_once(w):
    newcomer = UserFactory(department=w.tech)
    assert permissions.can_report(newcomer, w.request)


# --- organising and concluding ---------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_the_pmo_and_platform_administrators_organise(w, risk, role):
    user = getattr(w, role)
    assert permissions.can_organise(user, risk) is (role in MANAGERS)
    for name in ("accept", "close"):
        assert permissions.can_transition(user, risk, name) is (role in MANAGERS)


@pytest.mark.parametrize("role", ROLES)
def test_the_pmo_or_the_owner_concludes_a_response_under_way(w, risk, role):
    user = getattr(w, role)
    # Before the response is organised, nobody concludes it.
    assert permissions.can_conclude(user, risk) is False
    risk = accepted(w, risk)  # owner: tech_staff
    expected = role in MANAGERS | {"tech_staff"}
    assert permissions.can_conclude(user, risk) is expected
    for name in ("resolve", "occur"):
        assert permissions.can_transition(user, risk, name) is expected
    # The owner does not dismiss the report as not relevant.
    assert permissions.can_transition(user, risk, "close") is (role in MANAGERS)


@pytest.mark.parametrize("state", [RiskState.RESOLVED, RiskState.OCCURRED, RiskState.CLOSED])
def test_a_concluded_risk_is_concluded_by_nobody(w, risk, state):
    risk = accepted(w, risk)
    Risk.objects.filter(pk=risk.pk).update(state=state)
    risk = Risk.objects.get(pk=risk.pk)
    for user in (w.pmo, w.admin, w.tech_staff):
        assert not permissions.can_conclude(user, risk)
        assert not permissions.can_transition(user, risk, "resolve")


def test_nothing_is_organised_or_concluded_on_an_archived_case(w, risk):
    risk = accepted(w, risk)
    CollabRequest.objects.filter(pk=w.request.pk).update(is_archived=True)
    risk = Risk.objects.select_related("request").get(pk=risk.pk)
    for user in (w.pmo, w.admin, w.tech_staff):
        for name in ("accept", "close", "resolve", "occur"):
            assert not permissions.can_transition(user, risk, name)
        assert not permissions.can_organise(user, risk)
        assert not permissions.can_conclude(user, risk)


def test_a_deactivated_pmo_member_is_nobody(w, risk):
    User.objects.filter(pk=w.pmo.pk).update(is_active=False)
    pmo = User.objects.get(pk=w.pmo.pk)
    assert not permissions.can_organise(pmo, risk)
    assert not permissions.can_report(pmo, w.request)
    assert not permissions.visible_risks(pmo).exists()
    assert not permissions.reportable_requests(pmo).exists()


def test_heads_of_an_affected_department_see_a_high_risk_only(risk_world, client):
    """A high risk tells the heads of the departments it affects, who then read it
    (without links to a request they may not see); a lower one stays the request's."""
    from django.urls import reverse

    from tests.risks_fixtures import report

    w = risk_world
    high = report(w, title="高", probability=5, impact=5, affected_departments=[w.other])
    low = report(w, title="低", probability=1, impact=1, affected_departments=[w.other])
    seen = set(permissions.visible_risks(w.other_head))
    assert high in seen and low not in seen
    assert w.other_staff not in {n.recipient for n in high_notified(high)}
    client.force_login(w.other_head)
    page = client.get(high.get_absolute_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="request-name"' in body and 'id="request-link"' not in body
    assert reverse("risks_app:request", args=[w.request.pk]) not in body
    assert client.get(low.get_absolute_url()).status_code == 404


def high_notified(risk):
    from collab.models import Notification

    return Notification.objects.filter(url=risk.get_absolute_url())
