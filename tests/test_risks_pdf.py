"""The printable risk report, 風險應對申請表 (risks_app.pdf): every part of the form in
Chinese with the font embedded (request, task, title, level and score, impact scope,
measures, discovery and report times with the late flag, the response, the state, the
history, the signature lines); 404 for whoever may not see the risk."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from risks_app import services
from risks_app.choices import RiskState
from tasks_app.choices import RiskLevel
from tests.risks_fixtures import accepted, report

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.risks_fixtures"]


def _get(user, risk):
    client = Client()
    if user.is_authenticated:
        client.force_login(user)
    return client.get(reverse("risks_app:pdf", args=[risk.pk]))


def _run(tool: list[str], content: bytes, tmp_path) -> str:
    path = tmp_path / "risk.pdf"
    path.write_bytes(content)
    args = [*tool, str(path), "-"] if tool[0] == "pdftotext" else [*tool, str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _text(content: bytes, tmp_path) -> str:
    """The PDF's text without blanks, so that wrapped cells read as one."""
    return "".join(_run(["pdftotext", "-raw"], content, tmp_path).split())


def _flat(text) -> str:
    return "".join(str(text).split())


@pytest.fixture
def risk(risk_world):
    """A high risk (4 × 5) on the second task, found 30 hours before it was reported,
    with its whole impact scope, taken on by the PMO and resolved."""
    w = risk_world
    risk = report(
        w,
        by=w.tech_staff,
        title="測試環境不足",
        description="測試機台只有一台,壓力測試無法如期進行。",
        probability=4,
        impact=5,
        task=w.task_b,
        affected_tasks=[w.task_a, w.task_b],
        affected_departments=[w.mkt, w.tech],
        affected_goals=[w.goal],
        affected_dates="上線日可能延後一週",
        suggested_measures="租用雲端測試環境,並調整測試排程。",
        discovered_at=timezone.now() - dt.timedelta(hours=30),
    )
    risk = accepted(w, risk)
    return services.risk_resolve(risk=risk, by=w.pmo, note="雲端測試環境已上線")


def test_the_risk_report_prints_every_part_of_the_form(risk_world, risk, tmp_path):
    w = risk_world
    response = _get(w.pmo, risk)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    text = _text(response.content, tmp_path)
    risk.refresh_from_db()
    for expected in [
        gettext("Risk response form"),
        w.request.number,
        w.request.name,
        f"{w.task_b.number}{w.task_b.name}",
        "測試環境不足",
        "測試機台只有一台,壓力測試無法如期進行。",
        str(RiskLevel.HIGH.label),
        # The impact scope.
        w.task_a.name,
        "市場部",
        "技術部",
        w.goal.description,
        "上線日可能延後一週",
        "租用雲端測試環境,並調整測試排程。",
        # Discovery, report and the late flag.
        f"{timezone.localtime(risk.discovered_at):%Y-%m-%d%H:%M}",
        f"{timezone.localtime(risk.reported_at):%Y-%m-%d%H:%M}",
        gettext("Reported more than 24 hours after its discovery"),
        "王志明",  # the reporter and the owner
        # The response, the state and the history.
        "改用備用供應商，每日追蹤到貨。",
        f"{timezone.localtime(risk.response_due):%Y-%m-%d%H:%M}",
        str(RiskState.RESOLVED.label),
        "雲端測試環境已上線",
        "周專案",  # the PMO, in the history
        # The signature lines.
        gettext("Reporter"),
        gettext("Response owner"),
    ]:
        assert _flat(expected) in text, expected
    assert re.search(r"4×\D*5=20", text), "probability × impact = score"
    fonts = _run(["pdffonts"], response.content, tmp_path)
    cjk = [line for line in fonts.splitlines() if "Noto" in line or "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts


def test_the_form_is_titled_in_chinese(risk_world, risk, tmp_path):
    """The heading reads 風險應對申請表 in the default language (zh-Hant)."""
    text = _text(_get(risk_world.pmo, risk).content, tmp_path)
    assert "風險應對申請表" in text
    assert "高" in text


def test_a_report_in_time_and_not_yet_answered(risk_world, tmp_path):
    """No late flag, no response yet: the form says the PMO has not organised it."""
    w = risk_world
    fresh = report(w, title="設計稿延誤", probability=2, impact=2)
    text = _text(_get(w.mkt_head, fresh).content, tmp_path)
    assert "設計稿延誤" in text and _flat(RiskLevel.LOW.label) in text
    assert _flat(gettext("Reported more than 24 hours after its discovery")) not in text
    assert _flat(gettext("The PMO has not organised the response yet.")) in text
    assert _flat(RiskState.REPORTED.label) in text


def test_who_may_not_see_the_risk_gets_not_found(risk_world, risk):
    w = risk_world
    for user in (w.other_staff, w.other_head):
        assert _get(user, risk).status_code == 404, user
    response = _get(w.anonymous, risk)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    for user in (w.tech_staff, w.mkt_head, w.tech_head, w.consultant, w.pmo, w.executive):
        assert _get(user, risk).status_code == 200, user
    # The response owner sees it though they take no part in the request.
    other = accepted(w, report(w, title="門市人力不足"), owner=w.other_staff)
    assert _get(w.other_staff, other).status_code == 200
