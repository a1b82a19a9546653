"""Risk reports in the synthetic data: seed_scale's (devtools_app.scale), in proportion
to the confirmed requests and consistent with them, their history as the services write
it, removed by --reset (demo risks kept); and seed_demo's (risks_app.demo), one in every
state, a second run adding nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from collab import warnings as collab_warnings
from devtools_app import scale
from requests_app.choices import RequestState
from requests_app.models import CollabRequest, RequestDepartment, RequestEvent
from risks_app import rules
from risks_app import warnings as risk_warnings
from risks_app.choices import OPEN_RISK_STATES, RiskEventKind, RiskState
from risks_app.models import Risk, RiskEvent
from tasks_app.demo import WEBSITE
from tests.risks_fixtures import make_risk_world, report

pytestmark = pytest.mark.django_db

CLOSED_REQUEST = (RequestState.COMPLETED, RequestState.CANCELLED)
CONCLUDED = (RiskState.RESOLVED, RiskState.OCCURRED, RiskState.CLOSED)


# More risk reports than the default (one per two confirmed requests, about 140 here), so
# that every state and some overdue responses occur whatever the day: only one request
# in ten is still open, and the open risks are theirs. The default's proportion is
# checked below on a smaller seed.
RISKS = 600


@pytest.fixture
def scaled():
    return scale.seed_scale(requests=300, tasks=2000, updates=3000, seed=5, risks=RISKS)


# --- seed_scale --------------------------------------------------------------------------


def test_scale_makes_the_risk_reports_asked_in_every_state(scaled):
    confirmed = CollabRequest.objects.filter(approved_at__isnull=False).count()
    risks = Risk.objects.count()
    assert risks == RISKS
    assert scaled.counts["risk reports"] == risks
    assert scaled.counts["risk events"] == RiskEvent.objects.count()
    assert sum(scaled.risk_states.values()) == risks
    # Every state, as the report says and as the database holds.
    assert set(scaled.risk_states) == set(RiskState.values)
    assert dict(Counter(Risk.objects.values_list("state", flat=True))) == scaled.risk_states
    # Spread over many requests, more on some than on others.
    per_request = Counter(Risk.objects.values_list("request_id", flat=True))
    assert len(per_request) > confirmed / 4
    assert max(per_request.values()) >= 2


def test_scale_risks_agree_with_their_request(scaled):
    now = timezone.now()
    risks = Risk.objects.all()
    # Only on confirmed requests, reported while 已立項 or 進行中, found before reported.
    assert not risks.filter(request__approved_at__isnull=True).exists()
    assert not risks.filter(reported_at__lt=F("request__approved_at")).exists()
    assert not risks.filter(reported_at__gt=F("request__completed_at")).exists()
    cancelled = dict(RequestEvent.objects.filter(kind="cancel").values_list("request_id", "at"))
    for request_id, reported in risks.filter(request__state=RequestState.CANCELLED).values_list(
        "request_id", "reported_at"
    ):
        assert reported <= cancelled[request_id]
    assert not risks.filter(discovered_at__gt=F("reported_at")).exists()
    assert not risks.filter(reported_at__gt=now).exists()
    # A closed request's risks are concluded; an open request's are not all concluded.
    assert not risks.filter(request__state__in=CLOSED_REQUEST, state__in=OPEN_RISK_STATES)
    assert risks.filter(request__state=RequestState.IN_PROGRESS, state__in=OPEN_RISK_STATES)
    assert risks.filter(request__state=RequestState.COMPLETED).exists()
    # The risks of archived cases were loaded with them.
    assert risks.filter(request__is_archived=True).exists()
    # The level is the shipped matrix's.
    for probability, impact, level in risks.values_list("probability", "impact", "level"):
        assert level == rules.default_level(probability, impact)
    assert {"high", "medium", "low"} <= set(risks.values_list("level", flat=True))
    # About one in ten reported more than 24 hours after the discovery.
    late = risks.filter(rules.late_report_q()).count()
    assert 0 < late < 0.3 * risks.count()
    # The reporter takes part in the request; the scope is the request's.
    departments = set(RequestDepartment.objects.values_list("request_id", "department_id"))
    for risk in risks.prefetch_related("affected_departments", "affected_tasks"):
        affected = [d.pk for d in risk.affected_departments.all()]
        assert affected and all((risk.request_id, d) in departments for d in affected)
        assert all(t.request_id == risk.request_id for t in risk.affected_tasks.all())
        if risk.task_id is not None:
            assert risk.task.request_id == risk.request_id


def test_scale_risk_responses_and_conclusions(scaled):
    now = timezone.now()
    risks = Risk.objects.all()
    departments = set(RequestDepartment.objects.values_list("request_id", "department_id"))
    # 已提報: no owner yet. 應對中: an owner of the request's departments, a deadline
    # after the report and a plan; some past the deadline.
    waiting = risks.filter(state=RiskState.REPORTED)
    assert not waiting.filter(
        Q(owner__isnull=False) | Q(response_due__isnull=False) | Q(closed_at__isnull=False)
    ).exists()
    responding = risks.filter(state=RiskState.RESPONDING)
    assert not responding.filter(
        Q(owner__isnull=True) | Q(response_due__isnull=True) | Q(response_plan="")
    ).exists()
    assert not responding.filter(closed_at__isnull=False).exists()
    for request_id, department_id in responding.values_list("request_id", "owner__department_id"):
        assert (request_id, department_id) in departments
    assert not responding.filter(response_due__lte=F("reported_at")).exists()
    overdue = risks.filter(rules.response_overdue_q(now))
    assert overdue.exists()
    assert scaled.overdue_risks == overdue.count()
    assert responding.filter(response_due__gt=now).exists()
    # Concluded: closed after the report, never in the future, nor after the request.
    concluded = risks.filter(state__in=CONCLUDED)
    assert not concluded.filter(closed_at__isnull=True).exists()
    assert not concluded.filter(closed_at__lt=F("reported_at")).exists()
    assert not concluded.filter(closed_at__gt=now).exists()
    assert not concluded.filter(closed_at__gt=F("request__completed_at")).exists()
    # Some closed as not relevant before any response, the others after one.
    assert concluded.filter(state=RiskState.CLOSED, owner__isnull=True).exists()
    assert concluded.filter(owner__isnull=False).exists()


def test_scale_risk_history_is_what_the_services_write(scaled):
    steps = {
        RiskState.REPORTED: [RiskEventKind.REPORT],
        RiskState.RESPONDING: [RiskEventKind.REPORT, RiskEventKind.ACCEPT],
    }
    by_risk: dict[int, list[RiskEvent]] = {}
    for event in RiskEvent.objects.order_by("at", "pk"):
        by_risk.setdefault(event.risk_id, []).append(event)
    risks = list(Risk.objects.all())
    assert set(by_risk) == {risk.pk for risk in risks}
    for risk in risks:
        rows = by_risk[risk.pk]
        kinds = [row.kind for row in rows]
        if risk.state in steps:
            assert kinds == steps[risk.state], (risk.state, kinds)
        else:
            assert kinds[0] == RiskEventKind.REPORT and len(kinds) in (2, 3), kinds
            assert kinds[-1] in (RiskEventKind.RESOLVE, RiskEventKind.OCCUR, RiskEventKind.CLOSE)
            assert rows[-1].comment and rows[-1].at == risk.closed_at
        # The states chain from 已提報 to where the risk is now.
        assert rows[0].from_state == "" and rows[0].to_state == RiskState.REPORTED
        for before, after in itertools.pairwise(rows):
            assert after.from_state == before.to_state and after.at >= before.at
            assert after.transition == after.kind
        assert rows[-1].to_state == risk.state
        report_row = rows[0]
        assert report_row.at == risk.reported_at and report_row.by_id == risk.reported_by_id
        assert report_row.params == {
            "level": risk.level,
            "probability": risk.probability,
            "impact": risk.impact,
            "late": rules.is_late_report(risk),
        }
        accept = next((row for row in rows if row.kind == RiskEventKind.ACCEPT), None)
        if accept is not None:
            assert set(accept.params) == {"owner", "owner_name", "due"}
            assert accept.params["owner"] == risk.owner_id
            assert accept.params["owner_name"] == str(risk.owner)
            assert parse_datetime(accept.params["due"]) == risk.response_due
            assert accept.by.is_pmo
            assert risk.response_due > accept.at


def test_scale_risks_show_on_the_register_and_their_pages(scaled):
    pmo = scale.scale_users().filter(role="pmo").order_by("pk").first()
    client = Client()
    client.force_login(pmo)
    page = client.get("/risks/")
    assert page.status_code == 200
    assert page.context["summary"]["total"] == Risk.objects.count()
    risk = (
        Risk.objects.filter(state=RiskState.RESPONDING, request__is_archived=False)
        .order_by("pk")
        .first()
    )
    page = client.get(risk.get_absolute_url())
    assert page.status_code == 200
    assert risk.title in page.content.decode()
    assert [e.kind for e in page.context["events"]] == [RiskEventKind.REPORT, RiskEventKind.ACCEPT]
    assert all(e.system_text for e in page.context["events"])
    # An archived case's risk reads too.
    archived = Risk.objects.filter(request__is_archived=True).order_by("pk").first()
    assert client.get(archived.get_absolute_url()).status_code == 200


def test_scale_overdue_responses_are_the_warning_rules_work(scaled):
    rule = collab_warnings.rules_ensure()[risk_warnings.RULE]
    found = {hit.object_id for hit in risk_warnings.scan_response_overdue(rule, timezone.now())}
    expected = set(
        Risk.objects.filter(rules.response_overdue_q(timezone.now()))
        .exclude(request__is_archived=True)
        .values_list("pk", flat=True)
    )
    assert found == expected and found


def test_scale_default_proportion_same_seed_and_the_other_draws_alone():
    """By default one risk report per two confirmed requests; a seed gives the same
    risks; and they draw from their own stream: asking for none changes nothing else."""
    now = timezone.now()
    sizes = {"requests": 60, "tasks": 400, "updates": 400, "seed": 9, "now": now}

    def rest():
        return (
            list(CollabRequest.objects.order_by("number", "name").values_list("name", "state")),
            list(
                scale.scale_requests()
                .annotate(n=Count("tasks", distinct=True), m=Count("meetings", distinct=True))
                .order_by("number", "name")
                .values_list("n", "m")
            ),
        )

    def risks():
        return list(
            Risk.objects.order_by("reported_at", "title").values_list(
                "title", "state", "level", "reported_at", "discovered_at", "response_due"
            )
        )

    scale.seed_scale(**sizes, risks=0)
    assert not Risk.objects.exists()
    without = rest()
    report_ = scale.seed_scale(**sizes, reset=True)
    confirmed = CollabRequest.objects.filter(approved_at__isnull=False).count()
    assert Risk.objects.count() == round(scale.RISKS_PER_CONFIRMED * confirmed) > 0
    assert report_.counts["risk reports"] == Risk.objects.count()
    assert rest() == without
    first = risks()
    scale.seed_scale(**sizes, reset=True)
    assert risks() == first


def test_scale_reset_removes_the_risks_and_keeps_the_demo_ones(scaled):
    w = make_risk_world()
    demo_risk = report(w)
    before = set(Risk.objects.exclude(pk=demo_risk.pk).values_list("pk", flat=True))
    assert before
    report_ = scale.seed_scale(requests=20, tasks=100, updates=100, seed=1, reset=True)
    assert not Risk.objects.filter(pk__in=before).exists()
    assert not RiskEvent.objects.filter(risk_id__in=before).exists()
    scale_risks = Risk.objects.filter(request__in=scale.scale_requests())
    assert scale_risks.count() == report_.counts.get("risk reports", 0)
    assert set(Risk.objects.exclude(request__in=scale.scale_requests())) == {demo_risk}
    assert demo_risk.events.count() == 1


def test_the_command_counts_the_risk_reports(db):
    from io import StringIO

    out = StringIO()
    call_command("seed_scale", requests=40, tasks=200, updates=100, risks=7, stdout=out)
    assert Risk.objects.count() == 7
    assert "risk reports" in out.getvalue()


# --- seed_demo ---------------------------------------------------------------------------


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)


def _demo_counts():
    return (
        Risk.objects.count(),
        RiskEvent.objects.count(),
        Risk.affected_departments.through.objects.count(),
        Risk.affected_tasks.through.objects.count(),
    )


def test_demo_risks_in_every_state(seeded):
    request = CollabRequest.objects.get(name=WEBSITE)
    risks = request.risks.all()
    assert set(risks.values_list("state", flat=True)) == set(RiskState.values)
    now = timezone.now()
    # One reported late, one response overdue, one on time; all in the past.
    assert risks.filter(rules.late_report_q()).exists()
    assert risks.filter(rules.response_overdue_q(now)).exists()
    assert risks.filter(state=RiskState.RESPONDING, response_due__gt=now).exists()
    assert not risks.filter(Q(reported_at__gt=now) | Q(discovered_at__gt=F("reported_at")))
    for risk in risks:
        assert risk.level == rules.default_level(risk.probability, risk.impact)
        rows = list(risk.events.order_by("at", "pk"))
        assert rows[0].kind == RiskEventKind.REPORT and rows[-1].to_state == risk.state
        assert all(row.at <= now for row in rows)
        # The history is where the report is (demo.py moves both back in time).
        assert abs(rows[0].at - risk.reported_at) < dt.timedelta(seconds=5)
        if risk.state in CONCLUDED:
            assert abs(rows[-1].at - risk.closed_at) < dt.timedelta(seconds=5)


def test_demo_a_second_run_adds_no_risk(seeded, django_capture_on_commit_callbacks):
    before = _demo_counts()
    assert before[0] == 6
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    assert _demo_counts() == before
