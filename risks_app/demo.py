"""Demo risk reports of 官網改版與會員中心升級 (seed_demo, after the meetings' demo): one in
each state, so that the register, its heat map, the to-do page and the warnings have
something to show.

- 已提報: a high risk reported by the tech staff member, waiting for the PMO;
- 應對中: a medium risk the PMO organised, its response overdue (the warning's work);
- 應對中: a low risk on time;
- 已解除, 已發生, 已關閉: the three ways a risk ends;
- one of them reported more than 24 hours after its discovery (flagged late).

Everything goes through the services, by the people whose job it is. The one exception
is time: the services stamp the present moment, and a deadline must lie in the future
when it is set, so `_backdate` moves a report (and its history) to when it would have
happened, with queryset updates. Demo-only; no service does this.

Idempotent: each report is keyed on its title in the request; a second run adds nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q
from django.utils import timezone

from collab import events
from collab.models import User
from requests_app.choices import RequestState
from requests_app.models import CollabRequest
from tasks_app.demo import WEBSITE

from . import services
from .choices import RiskEventKind
from .models import Risk, RiskEvent

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _backdate(risk: Risk, *, reported: dt.datetime, discovered: dt.datetime) -> None:
    """Move a report and its history back to when it was filed (demo only)."""
    shift = timezone.now() - reported
    Risk.objects.filter(pk=risk.pk).update(reported_at=reported, discovered_at=discovered)
    # A concluded report was closed when its history says, not today.
    concluded = Risk.objects.filter(pk=risk.pk, closed_at__isnull=False)
    concluded.update(closed_at=F("closed_at") - shift)
    for event in RiskEvent.objects.filter(risk=risk):
        RiskEvent.objects.filter(pk=event.pk).update(at=event.at - shift)


# (title, reporter, probability, impact, hours since discovered, days ago reported,
#  what happens: None | ("accept", owner, days left) | ("resolve" | "occur" | "close", note))
REPORTS = [
    (
        "第三方金流介面規格未定",
        "tech_staff",
        4,
        5,
        3,
        0,
        "金流廠商尚未提供正式 API 規格,會員中心訂單付款狀態查詢無法開發。",
        "請產品部協調金流廠商於本週提供規格;必要時先以模擬介面開發。",
        None,
    ),
    (
        "設計稿審核時程延誤",
        "design_staff",
        3,
        3,
        30,
        6,
        "行動版設計稿需經品牌委員會審核,委員會每兩週開會一次。",
        "申請臨時審核會議,或由品牌負責人書面核可。",
        ("accept", "design_head", -2),
    ),
    (
        "客服知識庫遷移人力不足",
        "cs_head",
        2,
        2,
        5,
        3,
        "知識庫文章約 600 篇需重新分類,客服部僅能投入一人。",
        "分批遷移,先遷移前 100 篇熱門文章。",
        ("accept", "cs_head", 10),
    ),
    (
        "測試環境不足",
        "tech_staff",
        3,
        4,
        4,
        12,
        "測試機台只有一台,壓力測試與功能測試無法並行。",
        "租用雲端測試環境兩週。",
        ("resolve", "雲端測試環境已開通,兩組測試並行中。"),
    ),
    (
        "舊會員資料欄位不一致",
        "tech_staff",
        4,
        3,
        6,
        15,
        "舊系統會員資料約 3% 欄位格式不一致,轉檔時發生錯誤。",
        "先清洗資料,無法轉換者人工處理。",
        ("occur", "轉檔時 2,100 筆資料失敗,已轉為資料清洗任務處理。"),
    ),
    (
        "行銷活動與上線日衝突",
        "prod_staff",
        2,
        3,
        2,
        9,
        "雙十一檔期可能與新官網上線同週。",
        "與行銷部確認檔期。",
        ("close", "行銷部確認活動延至上線後兩週,無衝突。"),
    ),
]


def _seed(request: CollabRequest, pmo: User, row) -> None:
    title, reporter, p, i, hours, days_ago, description, measures, outcome = row
    if request.risks.filter(title=title).exists():
        return
    now = timezone.now()
    reported = now - days_ago * DAY - HOUR
    risk = services.risk_report(
        request=request,
        by=_user(reporter),
        title=title,
        description=description,
        probability=p,
        impact=i,
        suggested_measures=measures,
        discovered_at=now - hours * HOUR,
        affected_tasks=list(request.tasks.order_by("sequence")[:1]),
        affected_departments=[_user(reporter).department] if _user(reporter).department else [],
    )
    if outcome is not None:
        owner = _user(outcome[1]) if outcome[0] == "accept" else _user(reporter)
        risk = services.risk_accept(
            risk=risk,
            by=pmo,
            owner=owner,
            response_due=now + 3 * DAY,
            plan=measures,
        )
        if outcome[0] == "accept":
            # The services take a deadline in the future only; the overdue one is set
            # afterwards, and its history says the same deadline (demo only).
            due = now + outcome[2] * DAY
            Risk.objects.filter(pk=risk.pk).update(response_due=due)
            for event in RiskEvent.objects.filter(risk=risk, kind=RiskEventKind.ACCEPT):
                event.params["due"] = events.iso(due)
                RiskEvent.objects.filter(pk=event.pk).update(params=event.params)
        else:
            conclude = {
                "resolve": services.risk_resolve,
                "occur": services.risk_occur,
                "close": services.risk_close,
            }[outcome[0]]
            conclude(risk=risk, by=pmo, note=outcome[1])
    _backdate(risk, reported=reported, discovered=reported - hours * HOUR)


def seed_risks() -> None:
    """Create the demo risk reports; idempotent."""
    request = CollabRequest.objects.filter(
        Q(state=RequestState.APPROVED) | Q(state=RequestState.IN_PROGRESS),
        name=WEBSITE,
        is_archived=False,
    ).first()
    if request is None:
        return
    pmo = User.objects.filter(username="pmo").first()
    if pmo is None:
        return
    for row in REPORTS:
        _seed(request, pmo, row)
