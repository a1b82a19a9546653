"""Demo breakdowns and tasks in every state (filled in by seed_demo, after the requests).

Like requests_app.demo, everything goes through the services: the breakdown is edited by
the initiator, signed by every head (tech through its deputy, so 代理 shows), and the
tasks are started, logged, submitted and accepted by the people whose job it is. Nothing
writes a state directly.

The one exception is time: a seed runs in a second, but a stale task (no update for 3+
working days) needs an old progress update. `_backdate` moves the progress updates' times into
the past with a queryset update; it is demo-only and says so.

Idempotent: each case is keyed on its request's name, and is only worked on while its
request is untouched (已立項, breakdown version 1, nobody signed yet), so a second run,
or a run after someone played with the demo, changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from collab import selectors as org
from collab.models import Department, User
from collab.registry import registry
from requests_app import demo as request_demo
from requests_app import services as request_services
from requests_app.choices import Priority, RequestState, ResourceKind
from requests_app.models import CollabRequest

from . import services
from .choices import RaciRole, RiskLevel
from .models import Breakdown, ProgressUpdate, Task

WEBSITE = "官網改版與會員中心升級"  # filed and confirmed by requests_app.demo

# How a submitted delivery gets accepted: review_app registers its acceptance procedure
# (every reviewer passes), since this app never imports it.
_acceptors: list = registry["demo_acceptors"]


def register_acceptor(accept) -> None:
    """Register `accept(task)`, run on the demo task that is to end 已完成."""
    if accept not in _acceptors:
        _acceptors.append(accept)


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _dept(code: str) -> Department:
    return Department.objects.get(code=code)


def _day(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def _untouched(request: CollabRequest | None) -> bool:
    """True while the request waits for its breakdown exactly as 確認立項 generated it."""
    if request is None or request.state != RequestState.APPROVED:
        return False
    breakdown = Breakdown.objects.filter(request=request).first()
    return breakdown is not None and breakdown.version == 1 and not breakdown.signatures.exists()


def _tech_signer() -> User:
    """tech_staff acts for the travelling head (seed_organisation's delegation); should
    that delegation have lapsed, the head signs in person rather than the seed forging it."""
    deputy = _user("tech_staff")
    return (
        deputy
        if org.department_actor(user=deputy, department=_dept("tech"))
        else _user("tech_head")
    )


# --- 官網改版與會員中心升級: the breakdown ------------------------------------------------
#
# Keyed on the lines the departments committed in requests_app.demo (one draft task
# each). Days are relative to today: negative = in the past. Dependencies name earlier
# tasks of this list.

PLAN = [
    {
        "name": "需求規格與驗收標準",
        "dept": "prod",
        "R": "prod_staff",
        "A": "prod_head",
        "C": ["cs_staff", "tech_head"],
        "I": ["design_head"],
        "supporting": ["cs"],
        "start": -20,
        "due": -8,
        "buffer": 2,
        "importance": Priority.IMPORTANT,
        "description": "彙整官網改版與會員中心的功能需求,訂定每項功能的驗收標準。",
        "deliverable": "需求規格書 v1.0(含會員中心訂單、物流與保固查詢流程)",
        "criteria": "各部門負責人審閱通過;每項功能都有可驗證的驗收條件",
    },
    {
        "name": "資訊架構與線框圖",
        "dept": "design",
        "R": "design_staff",
        "A": "prod_staff",
        "C": ["prod_head", "cs_staff"],
        "I": ["tech_staff"],
        "depends_on": ["需求規格與驗收標準"],
        "start": -12,
        "due": 2,
        "buffer": 1,
        "description": "重新規劃官網選單與會員中心頁面結構,產出主要頁面的線框圖。",
        "deliverable": "網站地圖、12 個主要頁面線框圖(行動版與桌機版)",
        "criteria": "產品部確認流程完整;客服部確認常見查詢路徑在 3 次點擊內完成",
    },
    {
        "name": "視覺設計與設計規範",
        "dept": "design",
        "R": "design_head",
        "A": "prod_staff",
        "C": ["mkt_head"],  # 市場部 takes no part in the request, but owns the brand
        "I": ["tech_staff"],
        "depends_on": ["資訊架構與線框圖"],
        "start": -6,
        "due": -2,  # moved by A below, with a reason and a solution
        "buffer": 2,
        "importance": Priority.IMPORTANT,
        "description": "依線框圖完成視覺稿,整理元件與色彩規範供前端使用。",
        "deliverable": "視覺設計稿(Figma)、設計規範文件(元件、色彩、字級)",
        "criteria": "符合品牌識別規範;主要元件皆有狀態說明;色彩對比符合 WCAG AA",
    },
    {
        "name": "會員中心訂單查詢 API",
        "dept": "tech",
        "R": "tech_staff",
        "A": "tech_head",
        "C": ["cs_head"],
        "I": ["design_staff"],
        "depends_on": ["需求規格與驗收標準"],
        "start": -10,
        "due": -1,  # late: due yesterday and still in progress
        "buffer": 2,
        "importance": Priority.URGENT,
        "description": "串接訂單、物流與保固系統,提供會員中心查詢用的 API。",
        "deliverable": "訂單/物流/保固查詢 API 與 API 文件",
        "criteria": "95% 請求在 500 毫秒內回應;通過資安檢測;API 文件經前端確認",
    },
    {
        "name": "前端響應式開發",
        "dept": "tech",
        "R": "tech_staff",
        "A": "prod_staff",
        "C": ["design_staff"],
        "I": ["cs_staff"],
        "supporting": ["design"],
        "depends_on": ["視覺設計與設計規範", "會員中心訂單查詢 API"],
        "start": 11,
        "due": 45,
        "buffer": 3,
        "description": "依設計規範開發新版官網與會員中心前端,支援行動裝置。",
        "deliverable": "新版官網與會員中心前端程式(測試環境)",
        "criteria": "主流瀏覽器與 iOS/Android 顯示正常;行動版 Lighthouse 效能分數 80 以上",
    },
    {
        "name": "效能與資安測試",
        "dept": "tech",
        "R": "tech_head",
        "A": "prod_staff",
        "I": ["prod_head"],
        "depends_on": ["前端響應式開發"],
        "start": 46,
        "due": 70,
        "buffer": 2,
        "description": "上線前進行壓力測試與弱點掃描,修正發現的問題。",
        "deliverable": "壓力測試報告、弱點掃描報告與修正紀錄",
        "criteria": "可承受 2,000 同時連線;無高風險弱點",
    },
    {
        "name": "常見問題內容整理",
        "dept": "cs",
        "R": "cs_staff",
        "A": "prod_staff",
        "C": ["prod_head"],
        "I": ["design_staff"],
        "supporting": ["prod"],
        "start": -12,
        "due": 1,  # due tomorrow
        "buffer": 1,
        "description": "整理會員最常詢問的訂單、物流與保固問題,撰寫自助查詢說明。",
        "deliverable": "常見問題 60 則與會員中心操作說明",
        "criteria": "涵蓋近一年前 20 大來電原因;經產品部審閱用語",
    },
    {
        "name": "上線前驗收測試",
        "dept": "cs",
        "R": "cs_head",
        "A": "prod_staff",
        "C": ["tech_staff"],
        "I": ["prod_head"],
        "supporting": ["prod", "tech"],
        "depends_on": ["前端響應式開發", "效能與資安測試", "常見問題內容整理"],
        "start": 71,
        "due": 85,
        "buffer": 3,
        "description": "以客服實際情境進行驗收測試,並安排客服教育訓練。",
        "deliverable": "驗收測試紀錄、問題清單與客服教育訓練簡報",
        "criteria": "驗收案例 100% 執行;無未解決的重大問題",
    },
    {
        "name": "上線計畫與對外公告",
        "dept": "prod",
        "R": "prod_head",
        "A": "prod_staff",
        "C": ["cs_head"],
        "I": ["design_head", "tech_head"],
        "start": -9,
        "due": 20,
        "buffer": 2,
        "description": "規劃分階段上線時程、回滾方案與會員公告內容。",
        "deliverable": "上線計畫書、回滾方案、會員公告與 EDM 文案",
        "criteria": "各部門確認上線時程;公告文案經法務與客服審閱",
    },
]


def _save_plan(request: CollabRequest) -> dict[str, Task]:
    """Fill in each generated draft task (or add it if missing) as the initiator would."""
    by = request.initiator
    tasks = {task.name: task for task in request.tasks.all()}
    for spec in PLAN:
        tasks[spec["name"]] = services.task_save(
            request=request,
            by=by,
            task=tasks.get(spec["name"]),
            data={
                "name": spec["name"],
                "description": spec["description"],
                "responsible_department": _dept(spec["dept"]),
                "start_date": _day(spec["start"]),
                "due_at": services.due_at(_day(spec["due"])),
                "deliverable": spec["deliverable"],
                "acceptance_criteria": spec["criteria"],
                "importance": spec.get("importance", Priority.NORMAL),
                "buffer_days": spec["buffer"],
            },
            raci={
                "R": _user(spec["R"]),
                "A": _user(spec["A"]),
                "C": [_user(name) for name in spec.get("C", [])],
                "I": [_user(name) for name in spec.get("I", [])],
            },
            supporting=[_dept(code) for code in spec.get("supporting", [])],
            depends_on=[tasks[name] for name in spec.get("depends_on", [])],
        )
    return tasks


def _sign(request: CollabRequest, codes: list[str]) -> None:
    for code in codes:
        by = _tech_signer() if code == "tech" else _user(f"{code}_head")
        services.breakdown_sign(request=request, by=by, department=_dept(code))


def _log(task: Task, updates: list[dict]) -> Task:
    """Log each update as the task's R; return the task fresh from the database."""
    owner = task.assignments.get(role=RaciRole.RESPONSIBLE).user
    made = []
    for update in updates:
        days_ago = update.pop("days_ago")
        made.append((services.progress_log(task=task, by=owner, **update), days_ago))
    _backdate(task, made)
    return Task.objects.get(pk=task.pk)


def _backdate(task: Task, made: list[tuple[ProgressUpdate, int]]) -> None:
    """DEMO BACKDATING ONLY: put each progress update on the day it would have been made.

    ProgressUpdate.created_at is auto_now_add, so the seed moves it (and the task's
    last_progress_at, which the stale warning reads) with a queryset update. No service
    ever does this.
    """
    now = timezone.now()
    latest = None
    for update, days_ago in made:
        when = now - dt.timedelta(days=days_ago, hours=2)
        ProgressUpdate.objects.filter(pk=update.pk).update(created_at=when)
        latest = when if latest is None or when > latest else latest
    if latest is not None:
        Task.objects.filter(pk=task.pk).update(last_progress_at=latest)


def _work(tasks: dict[str, Task]) -> None:
    """Move the tasks on as their people would have over the past weeks."""

    def fresh(name: str) -> Task:
        return Task.objects.get(pk=tasks[name].pk)

    def owner(name: str) -> User:
        return fresh(name).assignments.get(role=RaciRole.RESPONSIBLE).user

    # Done: submitted, then passed by every reviewer (review_app's acceptance).
    name = "需求規格與驗收標準"
    services.task_start(task=fresh(name), by=owner(name))
    task = _log(
        fresh(name),
        [
            {"days_ago": 17, "percent": 40, "done": "完成各部門需求訪談,整理出 32 項功能需求。"},
            {
                "days_ago": 11,
                "percent": 85,
                "done": "規格書初稿完成,送各部門審閱。",
                "problems": "保固查詢需串接原廠系統,介面尚未確認。",
                "risk_note": "若原廠介面延誤,保固查詢可能分階段上線。",
                "risk_level": RiskLevel.LOW,
            },
        ],
    )
    task = services.task_submit(
        task=task,
        by=owner(name),
        completion_note="需求規格書 v1.0 已完成,並附各部門審閱意見與修訂紀錄。",
    )
    for accept in _acceptors:
        accept(task)

    # Submitted, awaiting acceptance.
    name = "資訊架構與線框圖"
    services.task_start(task=fresh(name), by=owner(name))
    task = _log(
        fresh(name),
        [
            {"days_ago": 6, "percent": 50, "done": "網站地圖定稿,完成會員中心 6 頁線框圖。"},
            {"days_ago": 2, "percent": 90, "done": "全部線框圖完成,與客服部走查查詢路徑。"},
        ],
    )
    services.task_submit(
        task=task,
        by=owner(name),
        completion_note="網站地圖與 12 頁線框圖已上傳 Figma,附客服走查紀錄。",
    )

    # Late: due yesterday, in progress, high risk and asking for support.
    name = "會員中心訂單查詢 API"
    services.task_start(task=fresh(name), by=owner(name))
    _log(
        fresh(name),
        [
            {"days_ago": 7, "percent": 30, "done": "完成訂單查詢 API 與單元測試。"},
            {
                "days_ago": 1,
                "percent": 60,
                "done": "物流查詢 API 串接中,保固查詢待原廠介面。",
                "problems": "物流商測試環境回應時間不穩定,常超過 3 秒。",
                "support_needed": "請產品部協調物流商提供穩定的測試環境。",
                "risk_note": "可能延誤前端開發的串接時程約一週。",
                "risk_level": RiskLevel.HIGH,
            },
        ],
    )

    # Started early by A's override (its predecessor awaits acceptance); due date moved.
    name = "視覺設計與設計規範"
    services.task_override_dependencies(
        task=fresh(name),
        by=_user("prod_staff"),
        reason="線框圖已完成待驗收,主要頁面結構不會再變,視覺設計可先行。",
    )
    services.task_start(task=fresh(name), by=owner(name))
    services.task_change_due(
        task=fresh(name),
        by=_user("prod_staff"),
        new_due_at=services.due_at(_day(10)),
        reason="品牌識別將於下週更新主色,視覺稿需配合調整。",
        solution="先完成版面與元件,主色確認後兩天內套用;前端開發時程不受影響。",
    )
    _log(
        fresh(name),
        [
            {"days_ago": 3, "percent": 20, "done": "完成首頁與會員中心視覺方向兩案。"},
            {
                "days_ago": 0,
                "percent": 40,
                "done": "首頁視覺定稿,開始整理元件規範。",
                "problems": "新品牌色在深色模式下對比不足。",
                "support_needed": "請市場部確認品牌色的深色模式延伸規範。",
                "risk_note": "若品牌色未於本週確認,設計規範可能延後交付。",
                "risk_level": RiskLevel.MEDIUM,
            },
        ],
    )

    # Due tomorrow, on track.
    name = "常見問題內容整理"
    services.task_start(task=fresh(name), by=owner(name))
    _log(
        fresh(name),
        [
            {"days_ago": 8, "percent": 40, "done": "整理近一年來電原因,擬定 60 則問題清單。"},
            {"days_ago": 1, "percent": 80, "done": "完成 48 則問答撰寫,送產品部審閱用語。"},
        ],
    )

    # Stale: nothing logged for eight days (over 3 working days even across a long
    # weekend: stale counts working days), and behind plan.
    name = "上線計畫與對外公告"
    services.task_start(task=fresh(name), by=owner(name))
    _log(
        fresh(name),
        [
            {
                "days_ago": 8,
                "percent": 10,
                "done": "完成上線時程草案。",
                "problems": "法務審閱公告文案的時間尚未排定。",
            }
        ],
    )
    # 前端響應式開發, 效能與資安測試 and 上線前驗收測試 stay 待執行.


def _seed_website() -> None:
    """官網改版: a signed breakdown (tech signed by its deputy), tasks in every state."""
    request = CollabRequest.objects.filter(name=WEBSITE).first()
    if not _untouched(request):
        return
    tasks = _save_plan(request)
    _sign(request, ["prod", "design", "cs", "tech"])
    request.refresh_from_db()
    if request.state != RequestState.IN_PROGRESS:  # pragma: no cover - a seed bug
        raise RuntimeError(f"{WEBSITE} did not start after every head signed.")
    _work(tasks)


# --- 年度客戶滿意度調查: waiting for its last signature ------------------------------------

SURVEY = {
    "name": "年度客戶滿意度調查",
    "initiator": "cs_staff",
    "departments": ["cs", "mkt"],
    "lead": "cs",
    "days": 60,
    "background": (
        "年度客戶滿意度調查是客服品質改善的依據。去年問卷回收率僅 12%,樣本集中於"
        "高齡會員。今年希望由市場部協助推播與抽獎,提高回收率並涵蓋年輕客群。"
    ),
    "deliverables": "問卷題目、推播與抽獎活動、滿意度分析報告",
    "goals": [
        {
            "description": "提高問卷回收率",
            "metric": "問卷回收率",
            "target_value": Decimal("25"),
            "unit": "%",
        },
        {
            "description": "了解整體滿意度",
            "metric": "整體滿意度評分",
            "target_value": Decimal("4.2"),
            "unit": "分",
        },
    ],
    "milestones": [("問卷定稿", 14), ("問卷回收截止", 40), ("分析報告完成", 55)],
    "resources": [
        ("mkt", ResourceKind.BUDGET, "抽獎獎品預算新台幣 5 萬元"),
        ("cs", ResourceKind.PEOPLE, "客服專員 2 名負責電訪"),
    ],
}


def _seed_survey() -> None:
    """Confirmed; its draft tasks are signed by 客服部 only, so 市場部's head can sign
    and watch the request start."""
    request = request_demo._file(SURVEY)
    if request is None:
        return
    request = request_services.request_submit(request=request, by=request.initiator)
    request_demo._agree(request, "cs", "問卷題目設計\n電訪與問卷回收\n滿意度分析報告")
    request_demo._agree(request, "mkt", "問卷推播與抽獎活動")
    request.refresh_from_db()
    request = request_services.request_confirm(
        request=request, by=_user("pmo"), comment="年度例行調查,同意立項。"
    )
    _sign(request, ["cs"])


def seed_tasks() -> None:
    """Create the demo breakdowns, tasks and progress logs; idempotent."""
    _seed_website()
    _seed_survey()
