"""Demo requests in every state the services can reach today (filled in by seed_demo).

Every request is made the way people make it: filed, submitted, reviewed and confirmed
through requests_app.services, so its numbers, reviews and history are real. Nothing
writes a state directly. 進行中 and 已完成 are left out until the tasks and review
issues register the guards they need (requests_app.guards): forging them would show a
history that never happened.

Idempotent: each request is keyed on its name; one that exists already is left as it is.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from collab import selectors as org
from collab.models import Department, User

from . import services
from .choices import Priority, ResourceKind
from .models import CollabRequest, DepartmentReview


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _dept(code: str) -> Department:
    return Department.objects.get(code=code)


def _days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def _goal(description: str, metric: str, target: str, unit: str) -> dict:
    return {
        "description": description,
        "metric": metric,
        "target_value": Decimal(target),
        "unit": unit,
    }


def _file(spec: dict) -> CollabRequest | None:
    """Create the draft described by `spec`, or return None if it exists already."""
    if CollabRequest.objects.filter(name=spec["name"]).exists():
        return None
    lead = spec["lead"]
    return services.request_save(
        by=_user(spec["initiator"]),
        data={
            "name": spec["name"],
            "background": spec["background"],
            "expected_deliverables": spec["deliverables"],
            "data_needs": spec.get("data_needs", ""),
            "expected_completion": _days(spec["days"]),
            "priority": spec.get("priority", Priority.NORMAL),
            "notes": spec.get("notes", ""),
        },
        departments=[
            {"department": _dept(code), "is_lead": code == lead} for code in spec["departments"]
        ],
        goals=spec["goals"],
        milestones=[{"name": name, "date": _days(days)} for name, days in spec["milestones"]],
        resource_needs=[
            {"department": _dept(code), "kind": kind, "description": text}
            for code, kind, text in spec["resources"]
        ],
    )


def _review(request: CollabRequest, code: str) -> DepartmentReview:
    return request.reviews.get(department__code=code, round=request.review_round)


def _agree(request: CollabRequest, code: str, tasks: str, comment: str = "") -> None:
    services.review_decide(
        review=_review(request, code),
        by=_user(f"{code}_head"),
        approve=True,
        comment=comment,
        committed_tasks=tasks,
    )


# --- the requests ---------------------------------------------------------------------

DRAFT = {
    "name": "客服知識庫智能搜尋",
    "initiator": "cs_staff",
    "departments": ["tech", "cs"],
    "lead": "tech",
    "days": 120,
    "background": (
        "客服同仁目前需在三個系統間切換查找產品規格與退換貨規則,單通來電平均查詢耗時"
        "約 4 分鐘,尖峰時段排隊人數常超過 30 人。希望建立統一的知識庫並提供關鍵字與"
        "語意搜尋,縮短查詢時間。"
    ),
    "deliverables": "知識庫後台、客服工作台搜尋外掛、知識條目維護流程說明",
    "data_needs": "近一年客服工單分類統計\n產品規格書電子檔\n退換貨政策最新版",
    "goals": [
        _goal("縮短客服查詢時間", "平均查詢耗時縮短", "50", "%"),
        _goal("提升首次解決率", "首次來電解決率", "85", "%"),
    ],
    "milestones": [("需求訪談完成", 14), ("知識條目整理完成", 45), ("試營運上線", 90)],
    "resources": [
        ("tech", ResourceKind.PEOPLE, "後端工程師 1 名、前端工程師 1 名,約 6 週"),
        ("cs", ResourceKind.DATA, "資深客服 2 名協助整理 300 條常見問答"),
    ],
    "notes": "草稿,待與技術部確認搜尋引擎方案後再提交。",
}

LAUNCH = {
    "name": "新品上市整合行銷",
    "initiator": "mkt_staff",
    "departments": ["mkt", "prod", "design", "tech"],
    "lead": "mkt",
    "days": 75,
    "priority": Priority.IMPORTANT,
    "background": (
        "第三季將推出新一代智慧手環,需整合產品賣點、主視覺、官網活動頁與會員推播,"
        "於上市首月集中曝光。過去新品上市各部門各自執行,訊息不一致且上線時程延誤,"
        "本次希望由市場部主導,統一節奏。"
    ),
    "deliverables": "上市傳播策略、主視覺與社群素材組、官網活動落地頁、會員推播與成效報表",
    "data_needs": "近 6 個月會員活躍數據\n上一代產品首月銷售數據\n競品定價資料",
    "goals": [
        _goal("提升會員活躍度", "月活躍用戶", "15", "%"),
        _goal("新品首月銷量", "首月銷售台數", "5000", "台"),
        _goal("擴大品牌曝光", "社群曝光次數", "200", "萬次"),
    ],
    "milestones": [
        ("產品賣點確認", 10),
        ("主視覺定稿", 25),
        ("活動頁上線", 45),
        ("上市發表會", 55),
    ],
    "resources": [
        ("prod", ResourceKind.PEOPLE, "產品經理 1 名提供規格與賣點"),
        ("design", ResourceKind.PEOPLE, "視覺設計師 2 名,約 3 週"),
        ("tech", ResourceKind.PEOPLE, "前端工程師 1 名開發活動頁"),
        ("mkt", ResourceKind.BUDGET, "數位廣告投放預算新台幣 80 萬元"),
    ],
}

MEMBER_DAY = {
    "name": "年中會員日促銷活動",
    "initiator": "sales_staff",
    "departments": ["sales", "mkt", "fin"],
    "lead": "sales",
    "days": 45,
    "priority": Priority.URGENT,
    "background": (
        "年中會員日為全年第二大檔期,去年客單價較前年下滑 8%。今年希望以分級會員專屬"
        "優惠提升客單價與回購率,需市場部規劃宣傳、財務部核定折扣與預算。"
    ),
    "deliverables": "活動方案與折扣規則、宣傳素材排程、活動結算報表",
    "data_needs": "去年會員日訂單明細\n各級會員人數與消費分布",
    "goals": [
        _goal("提升客單價", "活動期間客單價", "10", "%"),
        _goal("提升回購率", "30 日回購率", "25", "%"),
    ],
    "milestones": [("折扣方案定案", 7), ("宣傳素材上線", 20), ("活動開跑", 30)],
    "resources": [
        ("mkt", ResourceKind.PEOPLE, "社群小編 1 名、EDM 排程"),
        ("fin", ResourceKind.BUDGET, "折扣補貼預算上限新台幣 120 萬元"),
        ("sales", ResourceKind.DATA, "門市與電商銷售日報"),
    ],
}

WEBSITE = {
    "name": "官網改版與會員中心升級",
    "initiator": "prod_staff",
    "departments": ["prod", "tech", "design", "cs"],
    "lead": "prod",
    "days": 150,
    "priority": Priority.IMPORTANT,
    "background": (
        "現行官網行動版跳出率達 68%,會員中心無法查詢訂單物流與保固資訊,客服每月約"
        "1,200 通來電詢問訂單狀態。計畫改版官網並升級會員中心,提供自助查詢。"
    ),
    "deliverables": "新版官網(響應式)、會員中心訂單與保固查詢、設計規範文件",
    "data_needs": "官網流量分析報表\n客服來電原因分類\n訂單與物流系統介面文件",
    "goals": [
        _goal("降低行動版跳出率", "行動版跳出率", "45", "%"),
        _goal("減少訂單查詢來電", "每月訂單查詢來電數降低", "40", "%"),
        _goal("提升會員滿意度", "會員滿意度評分", "4.5", "分"),
    ],
    "milestones": [
        ("資訊架構與線框圖確認", 20),
        ("視覺設計定稿", 45),
        ("會員中心開發完成", 100),
        ("正式上線", 140),
    ],
    "resources": [
        ("tech", ResourceKind.PEOPLE, "全端工程師 3 名,約 12 週"),
        ("design", ResourceKind.PEOPLE, "UI/UX 設計師 2 名"),
        ("cs", ResourceKind.DATA, "提供常見詢問類型與話術,協助驗收測試"),
        ("prod", ResourceKind.BUDGET, "雲端主機與第三方服務費用新台幣 35 萬元"),
    ],
}

POPUP = {
    "name": "春季門市快閃活動",
    "initiator": "ops_staff",
    "departments": ["ops", "mkt", "sales"],
    "lead": "ops",
    "days": 40,
    "background": (
        "計畫與信義區百貨合作,於春季舉辦為期兩週的快閃店,讓消費者現場體驗新品並導入會員註冊。"
    ),
    "deliverables": "快閃店設計與施工、現場活動企劃、會員導入成效報告",
    "goals": [
        _goal("會員導入", "新增註冊會員數", "3000", "人"),
        _goal("現場銷售", "兩週銷售額", "150", "萬元"),
    ],
    "milestones": [("場地簽約", 7), ("施工完成", 25), ("開幕", 28)],
    "resources": [
        ("mkt", ResourceKind.PEOPLE, "活動企劃 1 名"),
        ("sales", ResourceKind.PEOPLE, "現場銷售人員 4 名輪班"),
        ("ops", ResourceKind.BUDGET, "場租與施工費用新台幣 60 萬元"),
    ],
}


def _seed_draft() -> None:
    _file(DRAFT)


def _seed_pending() -> None:
    """Submitted; tech already agreed, through tech_staff acting for the travelling head."""
    request = _file(LAUNCH)
    if request is None:
        return
    request = services.request_submit(request=request, by=request.initiator)
    tech = _dept("tech")
    deputy = _user("tech_staff")
    # seed_organisation names tech_staff deputy around the day it first runs; should that
    # delegation have lapsed, the head answers in person rather than the seed forging it.
    acting = deputy if org.department_actor(user=deputy, department=tech) else _user("tech_head")
    services.review_decide(
        review=_review(request, "tech"),
        by=acting,
        approve=True,
        comment="技術部可支援活動頁開發,需於主視覺定稿後 3 週內完成。",
        committed_tasks="活動落地頁開發\n會員推播與數據埋點",
    )


def _seed_revision() -> None:
    """Submitted; marketing agreed, finance sent it back with a reason."""
    request = _file(MEMBER_DAY)
    if request is None:
        return
    request = services.request_submit(request=request, by=request.initiator)
    _agree(request, "mkt", "會員日宣傳素材製作\nEDM 與社群排程")
    services.review_decide(
        review=_review(request, "fin"),
        by=_user("fin_head"),
        approve=False,
        comment="預算表未列出各渠道的折扣補貼金額與預估投資回報率,請補充後重新提交。",
    )


def _seed_approved() -> None:
    """Every department agreed and the PMO confirmed it as a project."""
    request = _file(WEBSITE)
    if request is None:
        return
    request = services.request_submit(request=request, by=request.initiator)
    _agree(request, "prod", "需求規格與驗收標準\n上線計畫與對外公告")
    _agree(request, "tech", "會員中心訂單查詢 API\n前端響應式開發\n效能與資安測試")
    _agree(request, "design", "資訊架構與線框圖\n視覺設計與設計規範")
    _agree(request, "cs", "常見問題內容整理\n上線前驗收測試", comment="請預留客服教育訓練時間。")
    services.request_confirm(
        request=request, by=_user("pmo"), comment="符合年度數位轉型重點,同意立項。"
    )


def _seed_cancelled() -> None:
    """Submitted, then withdrawn by its initiator with a reason."""
    request = _file(POPUP)
    if request is None:
        return
    request = services.request_submit(request=request, by=request.initiator)
    services.request_cancel(
        request=request,
        by=request.initiator,
        reason="合作百貨調整春季檔期,場地無法配合,活動改於下半年另案提出。",
    )


def seed_requests() -> None:
    """Create the demo requests, one per state the services can reach today; idempotent."""
    _seed_draft()
    _seed_pending()
    _seed_revision()
    _seed_approved()
    _seed_cancelled()
