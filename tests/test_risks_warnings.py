"""The warning rule of risk reports (issue 16 §1: "the warning rules cover the response
deadline"), through the real engine at fixed Taipei moments.

risk_response_overdue: a risk 應對中 past its response deadline warns its response owner
(as R) and the PMO, once a day until it is concluded; not a risk concluded or not yet
taken on, not before the deadline, not an archived case's. The administrator's row
chooses the recipients.

Dates are 2026: Monday 2 March starts a plain week (tests.test_warning_rules).
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from collab import warnings as engine
from collab.models import Notification, User, WarningItem
from risks_app import services
from risks_app import warnings as risk_warnings
from risks_app.models import Risk
from tests.risks_fixtures import RiskWorld, accepted, archive, make_risk_world, report
from tests.test_warning_rules import at, rule

D = dt.date
MONDAY = D(2026, 3, 2)
DUE = at(D(2026, 3, 4), 17)  # Wednesday 17:00
RULE = risk_warnings.RULE

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(time_machine) -> RiskWorld:
    time_machine.move_to(at(MONDAY), tick=False)
    return make_risk_world()


def responding(w: RiskWorld, *, title: str = "供應商交期延誤", due: dt.datetime = DUE) -> Risk:
    """A risk reported on Monday and taken on by the PMO: the tech staff member owns the
    response, due Wednesday 17:00."""
    return accepted(w, report(w, title=title), due=due)


def warned(now: dt.datetime) -> dict[int, set[int]]:
    """{risk id: recipient ids} of what the rule finds at `now`."""
    kind = ContentType.objects.get_for_model(Risk).pk
    hits: dict[int, set[int]] = {}
    for item in engine.collect(now=now, cadences=(engine.DAILY,)):
        if item.rule == RULE:
            assert item.content_type_id == kind
            hits.setdefault(item.object_id, set()).add(item.recipient_id)
    return hits


def items(risk: Risk):
    return WarningItem.objects.filter(rule=RULE, object_id=risk.pk)


def test_the_rule_is_registered_with_its_recipients(w):
    row = engine.rules_ensure()[RULE]
    assert row.is_active and row.to_responsible and row.to_pmo
    assert not (row.to_accountable or row.to_head or row.to_initiator)
    assert engine.registry()[RULE].model is Risk


def test_a_response_past_its_deadline_warns_the_owner_and_the_pmo(w):
    risk = responding(w)
    assert warned(at(D(2026, 3, 4), 16, 59)) == {}  # before the deadline
    assert warned(at(D(2026, 3, 4), 17, 1)) == {risk.pk: {w.tech_staff.pk, w.pmo.pk}}
    assert warned(at(D(2026, 3, 5), 6)) == {risk.pk: {w.tech_staff.pk, w.pmo.pk}}


def test_the_warning_says_what_is_late_and_links_to_the_report(w, time_machine):
    risk = responding(w)
    now = at(D(2026, 3, 6), 6)  # two days after the deadline
    time_machine.move_to(now, tick=False)
    result = engine.run(now=now)
    mine = [i for i in result.items if i.rule == RULE]
    assert {i.recipient_id for i in mine} == {w.tech_staff.pk, w.pmo.pk}
    [text] = {i.text for i in mine}
    assert text == risk_warnings.response_overdue_message(2) % {
        "title": "供應商交期延誤",
        "due": engine.moment_text(DUE),
        "days": 2,
    }
    assert "供應商交期延誤" in text
    assert {i.url for i in mine} == {reverse("risks_app:detail", args=[risk.pk])}
    notes = Notification.objects.filter(url=risk.get_absolute_url(), title=text[:200])
    assert {n.recipient_id for n in notes} == {w.tech_staff.pk, w.pmo.pk}


def test_once_a_day_and_never_twice_the_same_day(w, time_machine):
    risk = responding(w)
    thursday = at(D(2026, 3, 5), 6)
    time_machine.move_to(thursday, tick=False)
    engine.run(now=thursday)
    assert items(risk).count() == 2
    notes = Notification.objects.filter(url=risk.get_absolute_url()).count()
    # A second run the same day (or a second beat process) sends nothing more.
    again = engine.run(now=at(D(2026, 3, 5), 18))
    assert not [i for i in again.items if i.rule == RULE]
    assert items(risk).count() == 2
    assert Notification.objects.filter(url=risk.get_absolute_url()).count() == notes
    # The next day, a new warning for each.
    friday = at(D(2026, 3, 6), 6)
    time_machine.move_to(friday, tick=False)
    engine.run(now=friday)
    assert items(risk).count() == 4
    assert set(items(risk).values_list("period", flat=True)) == {"2026-03-05", "2026-03-06"}


def test_the_nightly_command_mails_the_owner_a_digest(
    w, time_machine, django_capture_on_commit_callbacks
):
    risk = responding(w)
    time_machine.move_to(at(D(2026, 3, 5), 6), tick=False)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_warnings", "--now", "2026-03-05T06:00", stdout=out)
    assert f"[{RULE}]" in out.getvalue()
    [digest] = [m for m in mail.outbox if m.to == [w.tech_staff.email]]
    assert "供應商交期延誤" in digest.body
    assert reverse("risks_app:detail", args=[risk.pk]) in digest.body


@pytest.mark.parametrize("conclude", ["risk_resolve", "risk_occur", "risk_close"])
def test_a_concluded_risk_is_not_warned(w, conclude):
    risk = responding(w)
    late = at(D(2026, 3, 5), 6)
    assert risk.pk in warned(late)
    getattr(services, conclude)(risk=risk, by=w.pmo, note="已處理")
    assert warned(late) == {}


def test_a_report_not_taken_on_has_no_deadline_to_miss(w):
    report(w)
    assert warned(at(D(2026, 3, 31), 6)) == {}


def test_an_archived_cases_risk_is_not_warned(w):
    risk = responding(w)
    kept = responding(w, title="設計人力不足")
    late = at(D(2026, 3, 5), 6)
    assert set(warned(late)) == {risk.pk, kept.pk}
    archive(w.request, by=w.pmo)
    assert warned(late) == {}


def test_only_the_late_risk_of_several_is_warned(w):
    late = responding(w)
    later = responding(w, title="設計人力不足", due=at(D(2026, 3, 10), 17))
    found = warned(at(D(2026, 3, 5), 6))
    assert set(found) == {late.pk}
    assert later.pk in warned(at(D(2026, 3, 11), 6))


def test_a_deactivated_owner_is_left_out(w):
    risk = responding(w)
    User.objects.filter(pk=w.tech_staff.pk).update(is_active=False)
    assert warned(at(D(2026, 3, 5), 6)) == {risk.pk: {w.pmo.pk}}


def test_the_administrators_row_chooses_who_hears(w):
    risk = responding(w)
    now = at(D(2026, 3, 5), 6)
    rule(RULE, to_pmo=False)
    assert warned(now) == {risk.pk: {w.tech_staff.pk}}
    rule(RULE, to_initiator=True)
    assert warned(now) == {risk.pk: {w.tech_staff.pk, w.initiator.pk}}
    rule(RULE, is_active=False)
    assert warned(now) == {}
