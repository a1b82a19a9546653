"""Scale data for the bench, the dashboard and the analysis report (issue 7, `seed_scale`).

`seed_scale(requests=10_000, tasks=100_000, updates=300_000)` writes a company's three
years of collaboration in one transaction, in under three minutes on PostgreSQL (on a
busy two-core machine: about 80 s without the meetings, 140 s with their 1.3 million
rows; most of the difference is COPY and the foreign-key checks at commit):

- an organisation of its own: SCALE_DEPARTMENTS (16 departments under three centres,
  code prefix ``sc-``), 5–30 staff each, a head each (two with a co-head), a few
  deputies (Delegation, one of them acting today), three PMO and three executives
  (username prefix ``scale_``; every password is SCALE_PASSWORD);
- requests filed over the last three years (more of them recently), each living
  through the request cycle up to today: drafts, reviews (hours to days, a long tail
  that leaves some reviews overdue, one round in eight rejected, a quarter of those
  then cancelled), confirmation, work, final acceptance, retrospective, feedback and,
  for two thirds of the cases completed more than two months ago, the archive. Old
  requests are mostly completed, recent ones pending, approved or in progress;
- tasks (about ten per request, from 1 to 40) run by the request's departments, with
  RACI (one R and one A from the responsible department, some C and I), start and due
  dates inside the project, 85 % delivered on time and 15 % late (some very late), an
  acceptance round per delivery (answered within hours to three days, a few percent
  only after 4–15 working days, so some open rounds are past their due date, one of
  their two seats sometimes answered already), and progress updates (rising
  percentages, mostly no risk, some low, medium or high) spread over the started tasks;
- 協作請求 (CollabAsk): on about one started task in twelve, the R (sometimes the A)
  asks another department of the request, or a person of it, for help by a date a few
  working days later; most are answered (some late), a few closed. Tasks still being
  worked on carry open asks too, many of them past their expected date (the ask_overdue
  rule's work);
- meetings (about MEETINGS_PER_REQUEST per request, spread over the requests that were
  confirmed, by how long they ran): a kick-off between 確認立項 and the start, a weekly
  progress meeting (a MeetingSeries, most on Friday 16:00) while the work runs, with
  the next one scheduled for a request in progress, and a review meeting at the final
  acceptance; each with its departments, people and agenda. A past meeting has filed
  minutes (version 1: the agenda items' discussion and conclusion, attendance with a
  few absentees, the next meeting, and problems for some), mostly within hours, some
  after more than 2 working days (the minutes_overdue rule's work); of a request still
  open a few have none yet; a few were cancelled, and those after a request was
  cancelled are. A request's meetings are all settled once it is closed;
- action items (about ACTIONS_PER_MEETING per meeting, on the meetings with filed
  minutes), opened when the minutes were filed, due 2–10 working days after the meeting
  at 17:00, delivered and confirmed like tasks (some late, some still open and
  overdue, a few escalated 需升級); all closed on a closed request;
- risk reports (風險應對申請表, about RISKS_PER_CONFIRMED per confirmed request, more on
  those that ran longer and on those still open), reported by someone taking part
  between 確認立項 and the request's end (or now), discovered hours before (one in ten
  more than 24 hours before: a late report), scored 1–5 × 1–5 and levelled by the
  matrix; the PMO names an owner of the affected departments and a deadline, and the
  risk ends resolved, occurred or closed, each step a line of its history as
  risks_app.services writes it. An open request's risks mix 已提報, 應對中 (some past
  their response deadline) and concluded ones; a closed request's are all concluded.
  They are drawn last, from a random stream of their own (seeded from the seed), so the
  rest of the data is what it was before;
- the grants the services give: a guardian view grant per person with a RACI role on
  a request (CollabRequestUserObjectPermission), as tasks_app.services does.

Everything is derived from `random.Random(seed)` and `now`, so a seed gives the same
data relative to the day it runs.

Speed: rows are generated in Python and written with PostgreSQL's COPY (ids taken from
the tables' sequences beforehand), in one transaction with the archive triggers
switched off (`SET LOCAL collab.archive_guard = 'off'`, review_app migration 0003: the
archived cases are inserted already archived) and `synchronous_commit = off`. The RACI
and foreign-key triggers stay on and check every row at commit. The touched tables are
ANALYZEd at the end, so the planner knows their new sizes. Other databases (SQLite) get
plain INSERTs: it works, slowly.

Marker and reset: scale data is everything in the ``sc-`` departments, the ``scale_``
users and the requests filed by either. A second run refuses (ScaleDataExists) unless
`reset=True`, which first deletes exactly that: the requests with everything that hangs
off them, then the users and the departments, following every foreign key (so rows
the app wrote later, such as notifications and warnings, go too). Demo data
(seed_demo) shares nothing with it and is never touched; the number sequences
(NumberSequence) are advanced past every number handed out, so the application's next
number never collides, and numbers of deleted scale data are not reused.
"""

from __future__ import annotations

import bisect
import datetime as dt
import io
import itertools
import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from collab import calendar, events
from collab import services as org_services
from collab.choices import Role
from collab.models import Delegation, Department, NumberSequence, User
from meetings_app.choices import (
    OPEN_ACTION_STATES,
    ActionState,
    Attendance,
    HolidayRule,
    MeetingEventKind,
    MeetingForm,
    MeetingKind,
    MeetingState,
    MinutesState,
    ProblemStatus,
)
from meetings_app.models import (
    DEFAULT_ACTION_DUE_TIME,
    ActionItem,
    AgendaItem,
    Meeting,
    MeetingEvent,
    MeetingSeries,
    Minutes,
    MinutesAttendance,
    MinutesItem,
    Problem,
)
from requests_app import services as request_services
from requests_app.choices import Priority, RequestState, ReviewDecision
from requests_app.models import (
    CollabRequest,
    CollabRequestUserObjectPermission,
    DepartmentReview,
    Goal,
    RequestDepartment,
    RequestEvent,
)
from requests_app.permissions import VIEW_PERMISSION
from review_app.choices import (
    AcceptanceOutcome,
    FeedbackKind,
    FinalOutcome,
    RetrospectiveState,
    Seat,
    SignatureDecision,
    Verdict,
)
from review_app.models import (
    AcceptanceVerdict,
    ArchiveEntry,
    DepartmentContribution,
    Feedback,
    FeedbackInvitation,
    FinalAcceptance,
    FinalSignature,
    Retrospective,
    TaskAcceptance,
)
from review_app.services.acceptance import ANSWER_WORKING_DAYS
from review_app.services.archive import archive_title
from review_app.services.closing import RETROSPECTIVE_DUE_DAYS
from review_app.services.feedback import FEEDBACK_PREFIX
from risks_app import rules as risk_rules
from risks_app.choices import RiskEventKind, RiskState
from risks_app.models import Risk, RiskEvent
from tasks_app.choices import AskStatus, RaciRole, RiskLevel, TaskState
from tasks_app.models import (
    DEFAULT_DUE_TIME,
    Breakdown,
    BreakdownSignature,
    CollabAsk,
    ProgressUpdate,
    Task,
    TaskAssignment,
)

CODE_PREFIX = "sc-"
USERNAME_PREFIX = "scale_"
SCALE_PASSWORD = "collab-scale"  # scale accounts only; the bench logs in with it
DEFAULT_REQUESTS = 10_000
DEFAULT_TASKS = 100_000
UPDATES_PER_TASK = 3
DEFAULT_SEED = 7
YEARS = 3
MAX_TASKS_PER_REQUEST = 30_000  # Task.sequence is a small integer
ASK_SHARE = 0.08  # started tasks with 協作請求 made while they were worked on
ANSWER_TAIL = 0.04  # deliveries whose acceptance answer comes days after it is due
MEETINGS_PER_REQUEST = 5
ACTIONS_PER_MEETING = 3
MINUTES_LATE_SHARE = 0.08  # minutes filed after more than 2 working days
MINUTES_MISSING_SHARE = 0.1  # past meetings of open requests with no minutes yet
RISKS_PER_CONFIRMED = 0.5  # risk reports per request confirmed (已立項 and later)
RISK_LATE_SHARE = 0.1  # reported more than 24 hours after the discovery
RISK_WAITING_SHARE = 0.1  # reports of open requests the PMO has not taken on yet
RISK_DISMISSED_SHARE = 0.08  # closed as not relevant without a response
RISK_RESPONSE_LATE_SHARE = 0.3  # responses concluded after their deadline
OPEN_RISK_WEIGHT = 5  # an open request draws this many times the risks of a closed one

# (code, name, parent code or None, staff range); the centres come first.
SCALE_DEPARTMENTS = [
    ("sc-ops", "營運中心", None, (5, 10)),
    ("sc-tech", "技術中心", None, (5, 10)),
    ("sc-admin", "管理中心", None, (5, 10)),
    ("sc-bd", "業務開發部", "sc-ops", (15, 30)),
    ("sc-chn", "通路管理部", "sc-ops", (10, 25)),
    ("sc-brand", "品牌行銷部", "sc-ops", (10, 25)),
    ("sc-svc", "客戶服務處", "sc-ops", (15, 30)),
    ("sc-log", "物流倉儲部", "sc-ops", (10, 20)),
    ("sc-it", "資訊系統部", "sc-tech", (15, 30)),
    ("sc-data", "數據分析部", "sc-tech", (10, 20)),
    ("sc-rd", "產品研發部", "sc-tech", (15, 30)),
    ("sc-sec", "資訊安全室", "sc-tech", (10, 15)),
    ("sc-hr", "人力資源部", "sc-admin", (10, 20)),
    ("sc-acct", "會計部", "sc-admin", (10, 20)),
    ("sc-legal", "法務部", "sc-admin", (10, 15)),
    ("sc-proc", "採購部", "sc-admin", (10, 20)),
]
CO_HEADED = {"sc-it", "sc-svc"}

SURNAMES = (
    "陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊"
    "呂江何蕭羅高潘簡朱鍾彭游詹胡施沈余盧梁趙顏柯翁魏孫戴"
)
GIVEN = "志明雅婷家豪怡君宗翰佳穎俊賢淑芬建宏美玲冠宇詩涵承恩欣怡柏翰思妤彥廷宜蓁品睿子軒佩珊文傑"

TOPICS = [
    "會員中心", "訂單流程", "庫存管理", "月結報表", "客服工單", "官網", "行動 App", "供應商管理",
    "合約管理", "年度預算", "人才招募", "績效考核", "資安防護", "數據平台", "物流配送", "門市營運",
    "促銷活動", "品牌識別", "電子發票", "差旅報銷", "採購審批", "教育訓練", "客戶滿意度", "退換貨",
    "商品主檔", "通路結算", "雲端備份", "內部稽核", "ESG 報告", "知識庫",
]  # fmt: skip
ACTIONS = [
    "流程優化", "系統升級", "整合專案", "自動化", "改版", "導入", "盤點", "數位化", "效能提升",
    "標準化", "分析專案", "試行計畫",
]  # fmt: skip
TASK_VERBS = [
    "需求訪談", "現況盤點", "流程設計", "系統設計", "功能開發", "整合測試", "資料轉換", "教育訓練",
    "上線準備", "成效追蹤", "文件撰寫", "預算編列", "供應商評選", "合約審閱", "介面設計",
    "報表開發", "權限設定", "試行驗證", "風險評估", "溝通宣導",
]  # fmt: skip
BACKGROUNDS = [
    "現行{topic}作業仰賴人工與多個系統切換,處理時間長且容易出錯,需跨部門協作改善。",
    "{topic}相關抱怨近兩季持續上升,管理層要求於年度內提出改善方案並落地。",
    "配合公司年度策略,{topic}需與各部門資料打通,以支援決策與追蹤。",
    "稽核指出{topic}缺乏一致的控管流程,需建立標準作業並留存紀錄。",
]
DONE_TEXTS = [
    "完成{pct}%:已與相關部門確認細節。",
    "進度{pct}%,初稿完成,待內部審閱。",
    "已完成主要工作項目,目前進度{pct}%。",
    "{pct}%:測試中,修正回報問題。",
    "本週完成資料整理,累計{pct}%。",
]
PROBLEMS = [
    "跨部門資料提供延遲。",
    "需求範圍有變更,需重新評估工時。",
    "外部供應商回覆較慢。",
    "人力被其他專案佔用。",
    "測試環境不穩定。",
]
RISK_NOTES = [
    "可能影響後續任務的開始時間。",
    "若下週仍未解決,需延後交付日期。",
    "已通報主管,評估是否增派人力。",
]
FEEDBACK_TEXTS = {
    FeedbackKind.PRAISE: [
        "各部門配合度高,溝通順暢,交付品質超出預期。",
        "專案負責人主動追蹤進度,協作效率很好。",
        "驗收標準清楚,來回修改次數少。",
    ],
    FeedbackKind.PROBLEM: [
        "需求中途變更多次,時程被壓縮。",
        "部門間溝通窗口不明確,資訊傳遞延遲。",
        "資源不足,關鍵人員同時負責多個專案。",
        "驗收標準不夠明確,造成反覆修改。",
    ],
    FeedbackKind.SUGGESTION: [
        "建議立項前先確認各部門可投入的人力。",
        "建議建立固定的週會機制同步進度。",
        "建議驗收標準在任務分工時就寫清楚。",
    ],
}
ASK_TEXTS = [
    "請協助提供近一年{topic}相關資料,以利現況分析。",
    "請指派一位窗口參加下週的{topic}需求訪談。",
    "介面規格需要貴部門確認,請於期限前回覆。",
    "請協助評估配合{topic}所需的人力與時程。",
    "請提供現行作業流程文件與表單範本。",
    "測試環境需開通帳號與權限,請協助處理。",
    "請協助審閱合約條款並提供修改意見。",
    "上線前需要貴部門協助進行使用者驗收測試。",
]
ANSWER_TEXTS = [
    "資料已上傳至共用資料夾,請查收。",
    "已指派同仁擔任窗口,會準時出席。",
    "規格已確認,補充說明請見附件。",
    "評估需兩人週工時,可於月底前配合。",
    "帳號與權限已開通,如有問題請再告知。",
    "意見已標註於文件中,請參考修訂版本。",
    "已安排人員於下週協助測試。",
]
CANCEL_REASONS = [
    "需求已由其他專案涵蓋,撤回申請。",
    "預算未獲核准,暫停辦理。",
    "業務方向調整,不再需要。",
]
MEETING_TOPICS = {
    MeetingKind.KICKOFF: "{name}協作啟動會",
    MeetingKind.WEEKLY: "{name}週例會",
    MeetingKind.REVIEW: "{name}成果評審會",
}
AGENDAS = {
    MeetingKind.KICKOFF: ["協作目標與範圍確認", "任務分工表與 RACI 確認", "里程碑與溝通機制"],
    MeetingKind.WEEKLY: ["上週行動項追蹤", "{topic}本週進展與卡點"],
    MeetingKind.REVIEW: ["成果驗收結果說明", "遺留問題與後續維護", "復盤重點"],
}
DISCUSSIONS = [
    "各部門同步目前進度,{topic}主要工作按計畫進行。",
    "技術部評估所需工時,市場部說明客戶反饋的優先順序。",
    "討論資料提供時程,確認各部門窗口與交付方式。",
    "檢視上週行動項,兩項已完成,其餘持續追蹤。",
]
CONCLUSIONS = [
    "依現行計畫推進,下週再確認。",
    "優先處理客戶反饋的問題,其餘延至下一階段。",
    "由負責部門於期限前提交成果,發起部門確認。",
    "無異議,依討論結果執行。",
]
MEETING_ACTIONS = [
    "提供{topic}相關資料",
    "確認介面規格並回覆",
    "補充{topic}驗收標準",
    "評估所需人力與時程",
    "整理問題清單並排定處理順序",
    "協調測試環境與帳號",
    "更新進度跟蹤表",
]
ACTION_DELIVERABLES = ["資料清單", "確認回覆郵件", "驗收標準文件", "人力評估表", "問題清單"]
ABSENCE_NOTES = ["出差", "請假", "另有會議"]
ROOMS = ["3F 會議室A", "5F 大會議室", "7F 會議室B"]
MEETING_CANCEL_REASONS = ["與部門月會時間衝突,改期另議。", "主要議題已於線上確認,本週暫停。"]
# (title, description, suggested measures) of a risk report.
RISK_TEXTS = [
    ("{topic}外部廠商交付延遲", "廠商回覆{topic}相關規格的時程一再延後,可能影響後續開發與測試。",
     "每週與廠商確認進度,必要時啟動備案廠商。"),
    ("關鍵人力被其他專案佔用", "負責{topic}的主要同仁同時支援其他專案,本月可投入時數不足。",
     "請部門主管調整人力配置,或由支援部門派員協助。"),
    ("需求範圍持續變更", "{topic}需求於執行中多次變更,工時與時程需重新評估。",
     "凍結本階段需求,變更一律排入下一階段。"),
    ("測試環境不足", "{topic}測試環境只有一套,功能測試與壓力測試無法並行。",
     "租用雲端測試環境,或錯開測試時段。"),
    ("資料品質不一致", "{topic}既有資料約有部分欄位格式不一致,轉換時可能失敗。",
     "先抽樣清洗資料,無法轉換者人工處理。"),
    ("預算可能超支", "{topic}採購報價高於原先預估,可能超出核定預算。",
     "重新議價,或縮減本期範圍並提報追加預算。"),
    ("上線時程與旺季衝突", "{topic}預定上線週與業務旺季重疊,客服與門市可能無法配合。",
     "與業務單位確認檔期,必要時調整上線日。"),
    ("法規要求尚未釐清", "{topic}涉及個資與合約條款,法遵要求尚未確認。",
     "請法務部於兩週內提供審閱意見。"),
]  # fmt: skip
RISK_PLANS = [
    "由負責部門每週回報處理進度,PMO 追蹤至解除。",
    "先執行建議措施,一週後檢視成效,必要時升級。",
    "召集相關部門討論替代方案,於期限前確認。",
]
RISK_CONCLUSIONS = {
    RiskEventKind.RESOLVE: ["措施已見效,風險解除。", "廠商已如期交付,風險解除。"],
    RiskEventKind.OCCUR: ["風險已發生,已轉為問題追蹤並調整時程。", "影響已發生,已提報主管決策。"],
    RiskEventKind.CLOSE: ["經評估與本案無關,關閉。", "情況已改變,不再構成風險。"],
}


class ScaleDataExists(Exception):
    """The database holds scale data already; pass reset=True to replace it."""


class ScaleError(Exception):
    """The sizes asked for cannot be made (e.g. progress updates but no started task)."""


@dataclass
class ScaleReport:
    """What seed_scale made (rows per model), what it deleted first and how long it took."""

    counts: dict[str, int] = field(default_factory=dict)
    deleted: int = 0
    now: dt.datetime | None = None  # the moment the data was made for (aware, local time)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    task_states: dict[str, int] = field(default_factory=dict)
    # Work waiting for the daily warning rules at `now`: 協作請求 open and past their
    # expected date (ask_overdue), open acceptance rounds past due (acceptance_overdue).
    open_asks: int = 0
    overdue_asks: int = 0
    overdue_acceptances: int = 0
    meeting_states: dict[str, int] = field(default_factory=dict)
    action_states: dict[str, int] = field(default_factory=dict)
    risk_states: dict[str, int] = field(default_factory=dict)
    # 應對中 past the response deadline at `now` (risk_response_overdue's work).
    overdue_risks: int = 0


# --- the marker ---------------------------------------------------------------------------


def scale_departments() -> models.QuerySet[Department]:
    return Department.objects.filter(code__startswith=CODE_PREFIX)


def scale_users() -> models.QuerySet[User]:
    return User.objects.filter(username__startswith=USERNAME_PREFIX)


def scale_requests() -> models.QuerySet[CollabRequest]:
    return CollabRequest.objects.filter(
        Q(initiating_department__code__startswith=CODE_PREFIX)
        | Q(initiator__username__startswith=USERNAME_PREFIX)
    )


def scale_data_exists() -> bool:
    return scale_departments().exists() or scale_users().exists()


# --- the entry point ----------------------------------------------------------------------


def seed_scale(
    *,
    requests: int = DEFAULT_REQUESTS,
    tasks: int = DEFAULT_TASKS,
    updates: int | None = None,
    meetings: int | None = None,
    actions: int | None = None,
    risks: int | None = None,
    seed: int = DEFAULT_SEED,
    reset: bool = False,
    now: dt.datetime | None = None,
) -> ScaleReport:
    """Write `requests` requests, `tasks` tasks and `updates` progress updates (default
    3 × tasks), about `meetings` meetings (default 5 × requests), `actions` action
    items (default 3 × meetings) and `risks` risk reports (default RISKS_PER_CONFIRMED
    per confirmed request) with their organisation; see the module docstring.
    Raise ScaleDataExists if scale data is there and `reset` is False, ScaleError for
    impossible sizes."""
    updates = UPDATES_PER_TASK * tasks if updates is None else updates
    meetings = MEETINGS_PER_REQUEST * requests if meetings is None else meetings
    actions = ACTIONS_PER_MEETING * meetings if actions is None else actions
    if min(requests, tasks, updates, meetings, actions, 0 if risks is None else risks) < 0:
        raise ScaleError("Sizes cannot be negative.")
    if tasks and not requests:
        raise ScaleError("Tasks need at least one request.")
    if updates and not tasks:
        raise ScaleError("Progress updates need at least one task.")
    report = ScaleReport()
    started = time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            previous = _switch_guard_off(cursor)
            if scale_data_exists():
                if not reset:
                    raise ScaleDataExists(
                        "This database already holds scale data (departments "
                        f"{CODE_PREFIX}*, users {USERNAME_PREFIX}*)."
                    )
                clock = time.monotonic()
                report.deleted = scale_purge(cursor)
                report.timings["reset"] = time.monotonic() - clock
            clock = time.monotonic()
            # The risks draw from a stream of their own: the draws before stay the same.
            risk_rng = random.Random(f"risks:{seed}")
            plan = _Plan(random.Random(seed), timezone.localtime(now), risk_rng=risk_rng)
            plan.build(requests, tasks, updates, meetings, actions, risks)
            report.timings["generate"] = time.monotonic() - clock
            clock = time.monotonic()
            report.counts = plan.write(cursor)
            report.timings["write"] = time.monotonic() - clock
            _restore_guard(cursor, previous)
        clock = time.monotonic()
    report.timings["commit"] = time.monotonic() - clock
    clock = time.monotonic()
    _analyze(report.counts)
    report.timings["analyze"] = time.monotonic() - clock
    report.states = dict(sorted(plan.request_states.items()))
    report.task_states = dict(sorted(plan.task_states.items()))
    report.now = plan.now
    report.open_asks, report.overdue_asks = plan.open_asks, plan.overdue_asks
    report.overdue_acceptances = plan.overdue_acceptances
    report.meeting_states = dict(sorted(plan.meeting_states.items()))
    report.action_states = dict(sorted(plan.action_states.items()))
    report.risk_states = dict(sorted(plan.risk_states.items()))
    report.overdue_risks = plan.overdue_risks
    report.seconds = time.monotonic() - started
    return report


def _switch_guard_off(cursor) -> str | None:
    if connection.vendor != "postgresql":
        return None
    cursor.execute("SELECT current_setting('collab.archive_guard', true)")
    previous = cursor.fetchone()[0]
    cursor.execute("SET LOCAL collab.archive_guard = 'off'")
    cursor.execute("SET LOCAL synchronous_commit = off")
    return previous or ""


def _restore_guard(cursor, previous: str | None) -> None:
    # Within a caller's transaction (tests), do not leave the archive triggers off.
    if previous is not None:
        cursor.execute("SELECT set_config('collab.archive_guard', %s, true)", [previous])


def _analyze(counts: dict[str, int]) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for label in counts:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(_TABLES[label])}")


# --- reset --------------------------------------------------------------------------------


def scale_purge(cursor=None) -> int:
    """Delete the scale data and every row that refers to it; return the rows deleted.

    Follows the foreign keys of every installed model from the scale requests, then the
    scale users, then the scale departments: a row pointing at a deleted row goes first.
    Generic references (e.g. warnings about a scale task) go with their object. Call it
    inside a transaction with the archive guard off (seed_scale does).
    """
    if cursor is None:
        with connection.cursor() as own:
            return scale_purge(own)
    # Only identifiers from the models' metadata are put into the SQL text below; the
    # marker values are parameters.
    q = connection.ops.quote_name
    code = CODE_PREFIX + "%"
    name = USERNAME_PREFIX.replace("_", "\\_") + "%"
    departments = f"SELECT id FROM {q(Department._meta.db_table)} WHERE code LIKE %s"  # noqa: S608
    users = f"SELECT id FROM {q(User._meta.db_table)} WHERE username LIKE %s ESCAPE '\\'"  # noqa: S608
    roots = [
        (
            CollabRequest,
            f"initiating_department_id IN ({departments}) OR initiator_id IN ({users})",
            (code, name),
        ),
        (User, "username LIKE %s ESCAPE '\\'", (name,)),
        (Department, "code LIKE %s", (code,)),
    ]
    purger = _Purger(cursor)
    for model, where, params in roots:
        purger.purge(model, where, params, ())
    return purger.deleted


class _Purger:
    def __init__(self, cursor):
        self.cursor = cursor
        self.deleted = 0
        self.generic = _generic_references()
        # Every foreign key of every table (many-to-many tables too), by the model it targets.
        self.pointing: dict[type[models.Model], list[models.Field]] = defaultdict(list)
        for model in apps.get_models(include_auto_created=True):
            if model._meta.proxy or not model._meta.managed:
                continue
            for fld in model._meta.concrete_fields:
                if fld.is_relation and fld.remote_field is not None:
                    target = fld.remote_field.model._meta.concrete_model
                    self.pointing[target].append(fld)

    def purge(self, model, where: str, params: tuple, path: tuple) -> None:
        """Delete `model`'s rows matching `where`, after every row that points at them."""
        q = connection.ops.quote_name
        table = q(model._meta.db_table)
        path = (*path, model)
        for fld in self.pointing[model]:
            child = fld.model
            if child is model or child in path:
                continue  # a self-reference goes with the rows themselves
            column, target = q(fld.column), q(fld.target_field.column)
            inner = f"{column} IN (SELECT {target} FROM {table} WHERE {where})"  # noqa: S608
            self.purge(child, inner, params, path)
        if not model._meta.auto_created:
            self._purge_generic(model, where, params)
        self.cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608
        self.deleted += max(self.cursor.rowcount, 0)

    def _purge_generic(self, model, where: str, params: tuple) -> None:
        q = connection.ops.quote_name
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
        for holder, ct_field, fk_field in self.generic:
            pk = q(model._meta.pk.column)
            if fk_field.get_internal_type() in ("CharField", "TextField"):
                pk = f"CAST({pk} AS VARCHAR(255))"
            self.cursor.execute(
                f"DELETE FROM {q(holder._meta.db_table)} WHERE {q(ct_field.column)} = %s "  # noqa: S608
                f"AND {q(fk_field.column)} IN "
                f"(SELECT {pk} FROM {q(model._meta.db_table)} WHERE {where})",
                [content_type.pk, *params],
            )
            self.deleted += max(self.cursor.rowcount, 0)


def _generic_references() -> list[tuple[type[models.Model], models.Field, models.Field]]:
    """Return (model, content type field, object id field) of every generic reference:
    the declared GenericForeignKeys, and the conventional content_type + object_id (or
    object_pk) pairs without one (collab.WarningItem, admin's LogEntry)."""
    found = {}
    for model in apps.get_models():
        for gfk in model._meta.private_fields:
            if isinstance(gfk, GenericForeignKey):
                pair = (model._meta.get_field(gfk.ct_field), model._meta.get_field(gfk.fk_field))
                found[(model, pair[1].name)] = (model, *pair)
        names = {f.name: f for f in model._meta.concrete_fields}
        content_type = names.get("content_type")
        if content_type is None or not content_type.is_relation:
            continue
        if content_type.remote_field.model is not ContentType:
            continue
        for name in ("object_id", "object_pk"):
            if name in names:
                found.setdefault((model, name), (model, content_type, names[name]))
    return list(found.values())


# --- writing ------------------------------------------------------------------------------

# Each label of ScaleReport.counts and the model written under it, in writing order.
_MODELS: dict[str, type[models.Model]] = {
    "departments": Department,
    "users": User,
    "department heads": Department.heads.through,
    "user groups": User.groups.through,
    "delegations": Delegation,
    "requests": CollabRequest,
    "request departments": RequestDepartment,
    "goals": Goal,
    "department reviews": DepartmentReview,
    "request events": RequestEvent,
    "breakdowns": Breakdown,
    "breakdown signatures": BreakdownSignature,
    "tasks": Task,
    "task supporting departments": Task.supporting_departments.through,
    "task dependencies": Task.depends_on.through,
    "RACI assignments": TaskAssignment,
    "progress updates": ProgressUpdate,
    "collaboration asks": CollabAsk,
    "task acceptances": TaskAcceptance,
    "acceptance verdicts": AcceptanceVerdict,
    "final acceptances": FinalAcceptance,
    "final signatures": FinalSignature,
    "retrospectives": Retrospective,
    "department contributions": DepartmentContribution,
    "feedback invitations": FeedbackInvitation,
    "feedback": Feedback,
    "feedback departments": Feedback.departments.through,
    "archive entries": ArchiveEntry,
    "request view grants": CollabRequestUserObjectPermission,
    "meeting series": MeetingSeries,
    "meeting series departments": MeetingSeries.departments.through,
    "meeting series participants": MeetingSeries.participants.through,
    "meetings": Meeting,
    "meeting departments": Meeting.departments.through,
    "meeting participants": Meeting.participants.through,
    "agenda items": AgendaItem,
    "meeting events": MeetingEvent,
    "minutes": Minutes,
    "minutes items": MinutesItem,
    "minutes attendance": MinutesAttendance,
    "problems": Problem,
    "action items": ActionItem,
    "risk reports": Risk,
    "risk affected tasks": Risk.affected_tasks.through,
    "risk affected departments": Risk.affected_departments.through,
    "risk events": RiskEvent,
}
_TABLES = {label: model._meta.db_table for label, model in _MODELS.items()}


class _Table:
    """Rows of one model as tuples of the named columns; every other column gets its
    field's default (auto_now fields: `now`), written once per row as a constant."""

    def __init__(self, model, columns: Sequence[str], now: dt.datetime):
        self.model = model
        self.columns = list(columns)
        self.rows: list[tuple] = []
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(self.columns) - set(by_attname)
        if unknown:
            raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
        self.rest: list[tuple[str, object]] = []
        for attname, fld in by_attname.items():
            if attname in self.columns or fld.primary_key:
                continue
            if getattr(fld, "auto_now", False) or getattr(fld, "auto_now_add", False):
                value = now
            else:
                value = fld.get_default()
            if value is None and not fld.null:
                raise ValueError(f"{model.__name__}.{attname} needs a value")
            self.rest.append((fld.column, value))
        self.db_columns = [by_attname[c].column for c in self.columns] + [c for c, _ in self.rest]

    def add(self, *values) -> None:
        self.rows.append(values)

    def __len__(self) -> int:
        return len(self.rows)

    def write(self, cursor, chunk: int = 50_000) -> None:
        if not self.rows:
            return
        q = connection.ops.quote_name
        table = q(self.model._meta.db_table)
        columns = ", ".join(q(c) for c in self.db_columns)
        if connection.vendor == "postgresql":
            suffix = "".join("\t" + _pg(v) for _c, v in self.rest) + "\n"
            sql = f"COPY {table} ({columns}) FROM STDIN"
            for start in range(0, len(self.rows), chunk):
                text = "".join(
                    "\t".join(map(_pg, row)) + suffix for row in self.rows[start : start + chunk]
                )
                cursor.copy_expert(sql, io.StringIO(text))
        else:
            rest = tuple(_plain(v) for _c, v in self.rest)
            marks = ", ".join(["%s"] * len(self.db_columns))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                [tuple(_plain(v) for v in row) + rest for row in self.rows],
            )


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _pg(value) -> str:
    """Return `value` in COPY's text format."""
    if value is None:
        return r"\N"
    kind = type(value)
    if kind is str:
        return value.translate(_ESCAPES)
    if kind is bool:
        return "t" if value else "f"
    if kind is dt.datetime or kind is dt.date:
        return value.isoformat()
    return str(value)


def _plain(value):
    """Return `value` as the other backends' INSERT takes it (UTC naive datetimes)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _allocate_ids(cursor, model, count: int) -> list[int]:
    """Reserve `count` primary keys of `model` (its sequence on PostgreSQL)."""
    if count == 0:
        return []
    q = connection.ops.quote_name
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [q(table), count],
        )
        return [row[0] for row in cursor.fetchall()]
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {q(table)}")  # noqa: S608
    first = cursor.fetchone()[0] + 1
    return list(range(first, first + count))


# --- the plan -----------------------------------------------------------------------------


class _Person:
    __slots__ = ("department", "id", "username", "weight")

    def __init__(self, username, department, weight):
        self.id = None
        self.username = username
        self.department = department
        self.weight = weight


class _Dept:
    __slots__ = ("code", "cum", "deputy", "heads", "id", "name", "parent", "staff")

    def __init__(self, code, name, parent):
        self.id = None
        self.code, self.name, self.parent = code, name, parent
        self.staff: list[_Person] = []
        self.heads: list[_Person] = []
        self.deputy: _Person | None = None

    def pick(self, rng, exclude=None) -> _Person:
        """A staff member, busier ones more often."""
        for _ in range(5):
            person = rng.choices(self.staff, cum_weights=self.cum)[0]
            if person is not exclude:
                return person
        return next(p for p in self.staff if p is not exclude)


class _Review:
    __slots__ = ("behalf", "by", "created", "decided_at", "decision", "dept", "due", "round")

    def __init__(self, dept, rnd, due, created):
        self.dept, self.round, self.due, self.created = dept, rnd, due, created
        self.decision = ReviewDecision.PENDING
        self.decided_at = None
        self.by = self.behalf = None


class _Request:
    __slots__ = (
        "all_agreed",
        "approved",
        "archived",
        "cancel_reason",
        "cancelled",
        "completed",
        "confidential",
        "confirm_by",
        "created",
        "dept",
        "depts",
        "duration",
        "events",
        "expected",
        "final_closed",
        "final_opened",
        "first_submit",
        "id",
        "initiator",
        "lead",
        "name",
        "number",
        "priority",
        "reviews",
        "round",
        "started",
        "state",
        "submitted",
        "tasks",
        "topic",
    )  # fmt: skip

    def __init__(self):
        self.number = None
        self.submitted = self.first_submit = self.approved = self.started = None
        self.completed = self.cancelled = self.archived = None
        self.final_opened = self.final_closed = self.all_agreed = None
        self.cancel_reason = ""
        self.round = 0
        self.reviews: list[_Review] = []
        self.events: list[tuple] = []
        self.tasks: list[_Task] = []
        self.confidential = False


class _Task:
    __slots__ = (
        "a",
        "c",
        "completed",
        "dept",
        "due_at",
        "i",
        "id",
        "importance",
        "last_update",
        "late",
        "name",
        "percent",
        "r",
        "request",
        "risk",
        "seq",
        "start_date",
        "started",
        "state",
        "submitted",
        "support",
        "updates",
    )  # fmt: skip


class _Series:
    __slots__ = ("first", "hour", "id", "meetings", "request", "uid", "until", "weekday")


class _Meeting:
    __slots__ = (
        "actions", "agenda", "cancel_reason", "cancelled", "created", "ends", "filed", "form", "id",
        "kind", "minutes_id", "next_at", "organiser", "people", "problems", "recorder",
        "request", "series", "series_date", "starts", "state", "uid",
    )  # fmt: skip


class _Risk:
    __slots__ = (
        "closed", "depts", "discovered", "due", "events", "id", "impact", "level", "owner",
        "plan", "probability", "reported", "reporter", "request", "state", "task", "texts",
    )  # fmt: skip


class _Plan:
    def __init__(self, rng: random.Random, now: dt.datetime, risk_rng: random.Random | None = None):
        self.rng = rng
        self.risk_rng = risk_rng if risk_rng is not None else random.Random("risks")
        self.now = now
        self.tz = now.tzinfo
        self.today = now.date()
        self.depts: list[_Dept] = []
        self.people: list[_Person] = []
        self.pmo: list[_Person] = []
        self.executives: list[_Person] = []
        self.delegations: list[tuple] = []
        self.requests: list[_Request] = []
        self.tasks: list[_Task] = []
        # 協作請求: (task, created, asker, to department, to person, content, expected
        # date, status, answer, answered by, answered at).
        self.asks: list[tuple] = []
        self.open_asks = self.overdue_asks = self.overdue_acceptances = 0
        self.request_states: dict[str, int] = defaultdict(int)
        self.task_states: dict[str, int] = defaultdict(int)
        self.meetings: list[_Meeting] = []
        self.series: list[_Series] = []
        self.meeting_states: dict[str, int] = defaultdict(int)
        self.action_states: dict[str, int] = defaultdict(int)
        self.risks: list[_Risk] = []
        self.risk_states: dict[str, int] = defaultdict(int)
        self.overdue_risks = 0
        self._due_cache: dict[tuple[dt.date, int], dt.date] = {}
        self._next_workday: dict[dt.date, dt.date] = {}
        self.review_days = request_services.review_working_days()

    # --- time helpers --------------------------------------------------------------------

    def office(self, moment: dt.datetime) -> dt.datetime:
        """Move `moment` into office hours (09:00–18:00, Monday to Friday)."""
        if moment.hour < 9:
            moment = moment.replace(hour=9)
        elif moment.hour >= 18:
            moment = (moment + dt.timedelta(days=1)).replace(hour=9)
        while moment.weekday() >= 5:
            moment += dt.timedelta(days=1)
        return moment

    def after(self, moment: dt.datetime, hours: float) -> dt.datetime:
        return self.office(moment + dt.timedelta(seconds=int(hours * 3600)))

    def at(self, day: dt.date, hour: float) -> dt.datetime:
        seconds = int(hour * 3600)
        return dt.datetime.combine(day, dt.time(seconds // 3600, seconds % 3600 // 60), self.tz)

    @staticmethod
    def workday(day: dt.date) -> dt.date:
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return day

    def working_days_after(self, day: dt.date, days: int) -> dt.date:
        """calendar.add_working_days(day, days), stepping from one working day to the
        next: one calendar query per day of the three years at most, however many
        (day, days) pairs are asked for."""
        key = (day, days)
        if key not in self._due_cache:
            result = day
            for _ in range(days):
                following = self._next_workday.get(result)
                if following is None:
                    following = calendar.add_working_days(result, 1)
                    self._next_workday[result] = following
                result = following
            self._due_cache[key] = result
        return self._due_cache[key]

    # --- the organisation ----------------------------------------------------------------

    def build_organisation(self) -> None:
        rng = self.rng
        by_code = {}
        used_names = set()

        def full_name():
            while True:
                name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))
                if name not in used_names or len(used_names) > 5000:
                    used_names.add(name)
                    return name

        self.full_names = {}
        for code, name, parent, (low, high) in SCALE_DEPARTMENTS:
            dept = _Dept(code, name, by_code.get(parent))
            by_code[code] = dept
            self.depts.append(dept)
            short = code[len(CODE_PREFIX) :]
            for n in range(1, (2 if code in CO_HEADED else 1) + 1):
                head = _Person(f"{USERNAME_PREFIX}{short}_head{'' if n == 1 else n}", dept, 1.0)
                dept.heads.append(head)
                self.people.append(head)
            for n in range(1, rng.randint(low, high) + 1):
                person = _Person(
                    f"{USERNAME_PREFIX}{short}_{n:02d}", dept, rng.lognormvariate(0, 0.6)
                )
                dept.staff.append(person)
                self.people.append(person)
            dept.cum = list(_cumulative(p.weight for p in dept.staff))
        for n in range(1, 4):
            self.pmo.append(_Person(f"{USERNAME_PREFIX}pmo{n}", None, 1.0))
            self.executives.append(_Person(f"{USERNAME_PREFIX}exec{n}", None, 1.0))
        self.people += self.pmo + self.executives
        for person in self.people:
            self.full_names[person.username] = full_name()
        # Deputies: a third of the departments; one of them acts today, the others did.
        for index, dept in enumerate(self.depts):
            if index % 3 != 1:
                continue
            dept.deputy = dept.staff[0]
            if index == 1 or rng.random() < 0.3:
                start = self.today - dt.timedelta(days=rng.randint(0, 5))
                end = self.today + dt.timedelta(days=rng.randint(5, 20))
            else:
                start = self.today - dt.timedelta(days=rng.randint(30, 700))
                end = start + dt.timedelta(days=rng.randint(3, 14))
            reason = rng.choice(["出差", "休假", "受訓"])
            self.delegations.append((dept.heads[0], dept.deputy, dept, start, end, reason))
        # Activity: some departments file far more requests than others.
        self.dept_weights = [rng.lognormvariate(0, 0.5) for _ in self.depts]
        self.dept_cum = list(_cumulative(self.dept_weights))

    def head_of(self, dept: _Dept) -> tuple[_Person, _Person | None]:
        """Who answers for the department: a head, or (sometimes) the deputy for them."""
        if dept.deputy is not None and self.rng.random() < 0.12:
            return dept.deputy, dept.heads[0]
        return self.rng.choice(dept.heads), None

    # --- requests ------------------------------------------------------------------------

    def build(
        self,
        n_requests: int,
        n_tasks: int,
        n_updates: int,
        n_meetings: int = 0,
        n_actions: int = 0,
        n_risks: int | None = 0,
    ) -> None:
        self.build_organisation()
        for index in range(n_requests):
            self.requests.append(self.build_request(forced=index == 0))
        self.requests.sort(key=lambda r: r.created)
        eligible = [r for r in self.requests if r.approved is not None]
        counts = _spread(n_tasks, [self.rng.lognormvariate(0, 0.6) for _ in eligible], minimum=1)
        if any(c > MAX_TASKS_PER_REQUEST for c in counts):
            raise ScaleError("Too many tasks per request; ask for more requests.")
        for request, count in zip(eligible, counts, strict=True):
            self.build_work(request, count)
        started = [t for t in self.tasks if t.started is not None]
        if n_updates and not started:
            raise ScaleError("No task has started, so no progress update can be made.")
        weights = [
            (1 + (t.due_at - t.started).days / 7) * self.rng.lognormvariate(0, 0.4) for t in started
        ]
        for task, count in zip(started, _spread(n_updates, weights), strict=True):
            self.build_updates(task, count)
        self.build_asks()
        self.build_meetings(n_meetings, n_actions)
        self.build_risks(n_risks)
        for request in self.requests:
            self.request_states[request.state] += 1
        for task in self.tasks:
            self.task_states[task.state] += 1

    def build_request(self, *, forced: bool) -> _Request:
        """One request's life up to now. `forced`: old and through every stage."""
        rng, now = self.rng, self.now
        r = _Request()
        r.dept = self.depts[_pick_index(rng, self.dept_cum)]
        r.initiator = r.dept.pick(rng) if rng.random() < 0.9 else r.dept.heads[0]
        others = [d for d in self.depts if d is not r.dept]
        r.depts = [r.dept, *rng.sample(others, rng.choice((1, 1, 2, 2, 2, 3)))]
        r.lead = r.dept if rng.random() < 0.5 else rng.choice(r.depts[1:])
        r.topic = rng.choice(TOPICS)
        r.name = f"{r.topic}{rng.choice(ACTIONS)}"
        r.priority = rng.choices(
            (Priority.NORMAL, Priority.IMPORTANT, Priority.URGENT), (70, 22, 8)
        )[0]
        r.confidential = rng.random() < 0.05
        age = 400 + rng.random() * 600 if forced else YEARS * 365 * rng.random() ** 1.25
        day = self.workday((now - dt.timedelta(days=age)).date())
        r.created = self.at(day, 9 + rng.random() * 9)
        if r.created > now:
            r.created = now - dt.timedelta(hours=1 + rng.random())
        r.duration = 20 + rng.lognormvariate(3.6, 0.5)  # project length in days
        r.expected = (r.created + dt.timedelta(days=r.duration + rng.uniform(20, 60))).date()
        r.events.append(("created", r.created, r.initiator, None, "", "", "", None))
        # Draft: most are submitted within days; a few are left or dropped.
        if rng.random() < 0.015 and not forced:
            return self.end_draft(r)
        delay = rng.choices(
            (rng.uniform(1, 24), rng.uniform(24, 120), rng.uniform(120, 480)), (60, 30, 10)
        )[0]
        submitted = self.after(r.created, delay)
        if submitted > now:
            return self.end(r, RequestState.DRAFT)
        r.first_submit = submitted
        self.submit(r, submitted, resubmit=False)
        # Round 1; one in eight is rejected by one department.
        rejecter = None if forced or rng.random() >= 0.12 else rng.choice(r.depts)
        outcome = self.review_round(r, submitted, rejecter)
        if outcome is not None:
            return outcome
        if rejecter is not None:
            reject_at = next(
                v.decided_at for v in r.reviews if v.decision == ReviewDecision.REJECTED
            )
            if rng.random() < 0.25:
                cancel_at = self.after(reject_at, rng.uniform(24, 360))
                if cancel_at <= now:
                    return self.cancel(r, cancel_at, RequestState.REVISION, r.initiator)
                return self.end(r, RequestState.REVISION)
            resubmit = self.after(reject_at, rng.uniform(24, 240))
            if resubmit > now:
                return self.end(r, RequestState.REVISION)
            self.submit(r, resubmit, resubmit=True)
            outcome = self.review_round(r, resubmit, None)
            if outcome is not None:
                return outcome
        confirm = self.after(r.all_agreed, rng.lognormvariate(2.5, 0.8))
        if confirm > now:
            return self.end(r, RequestState.PENDING)
        r.approved = confirm
        r.confirm_by = rng.choice(self.pmo)
        r.events.append(
            ("confirm", confirm, r.confirm_by, None, "confirm", "pending", "approved", None)
        )
        r.state = RequestState.APPROVED
        r.started = self.after(confirm, rng.uniform(72, 360))
        r.expected = (r.started + dt.timedelta(days=r.duration + rng.uniform(5, 30))).date()
        return r

    def end(self, r: _Request, state: str) -> _Request:
        r.state = state
        return r

    def end_draft(self, r: _Request) -> _Request:
        dropped = self.after(r.created, self.rng.uniform(24, 2000))
        if self.rng.random() < 0.4 and dropped <= self.now:
            return self.cancel(r, dropped, RequestState.DRAFT, r.initiator)
        return self.end(r, RequestState.DRAFT)

    def cancel(self, r: _Request, when, from_state, by) -> _Request:
        r.cancelled = when
        r.cancel_reason = self.rng.choice(CANCEL_REASONS)
        for review in r.reviews:
            if review.decision == ReviewDecision.PENDING:
                review.decision = ReviewDecision.SUPERSEDED
        r.events.append(
            ("cancel", when, by, None, "cancel", from_state, "cancelled", None, r.cancel_reason)
        )
        return self.end(r, RequestState.CANCELLED)

    def submit(self, r: _Request, when: dt.datetime, *, resubmit: bool) -> None:
        r.submitted = when
        r.round += 1
        for review in r.reviews:
            if review.decision == ReviewDecision.PENDING:
                review.decision = ReviewDecision.SUPERSEDED
        kind = "resubmit" if resubmit else "submit"
        source = "revision" if resubmit else "draft"
        r.events.append((kind, when, r.initiator, None, "submit", source, "pending", None))
        due = self.working_days_after(when.date(), self.review_days)
        r.reviews += [_Review(d, r.round, due, when) for d in r.depts]

    def review_round(self, r: _Request, submitted, rejecter) -> _Request | None:
        """Answer the round's reviews; return the request if it stops here (now or a
        rejection still to come), None once every department agreed or one rejected."""
        rng, now = self.rng, self.now
        current = [v for v in r.reviews if v.round == r.round]
        for review in current:
            hours = min(rng.lognormvariate(3.0, 1.0), 480)
            review.decided_at = self.after(submitted, hours)
        if rejecter is not None:
            rejecting = next(v for v in current if v.dept is rejecter)
            reject_at = rejecting.decided_at
            for review in sorted(current, key=lambda v: v.decided_at):
                if review is rejecting:
                    continue
                if review.decided_at < reject_at and review.decided_at <= now:
                    self.agree(r, review)
                else:
                    review.decided_at = None  # still pending, or superseded by the 駁回
            if reject_at > now:
                rejecting.decided_at = None
                return self.end(r, RequestState.PENDING)
            rejecting.decision = ReviewDecision.REJECTED
            rejecting.by, rejecting.behalf = self.head_of(rejecting.dept)
            for review in current:
                if review.decision == ReviewDecision.PENDING and review is not rejecting:
                    review.decision = ReviewDecision.SUPERSEDED
            r.events.append(
                (
                    "reject", reject_at, rejecting.by, rejecting.behalf, "send_back",
                    "pending", "revision", rejecting.dept, "資源排程衝突,請調整時程後再提交。",
                )
            )  # fmt: skip
            return None
        pending = False
        for review in sorted(current, key=lambda v: v.decided_at):
            if review.decided_at > now:
                review.decided_at = None
                pending = True
            else:
                self.agree(r, review)
        if pending:
            return self.end(r, RequestState.PENDING)
        last = max(current, key=lambda v: v.decided_at)
        r.all_agreed = last.decided_at
        r.events.append(("all_agreed", last.decided_at, last.by, last.behalf, "", "", "", None))
        return None

    def agree(self, r: _Request, review: _Review) -> None:
        review.decision = ReviewDecision.APPROVED
        review.by, review.behalf = self.head_of(review.dept)
        r.events.append(
            (
                "review_approved", review.decided_at, review.by, review.behalf, "", "", "",
                review.dept,
            )
        )  # fmt: skip

    # --- the work ------------------------------------------------------------------------

    def build_work(self, r: _Request, count: int) -> None:
        """Tasks of an approved request, and the request's end (in progress, completed)."""
        rng, now = self.rng, self.now
        if count == 0:
            # Approved but nothing broken down: still being planned, or dropped.
            r.started = None
            when = self.after(r.approved, rng.uniform(48, 480))
            if when <= now:
                self.cancel(r, when, RequestState.APPROVED, r.confirm_by)
            return
        start = r.started
        for seq in range(1, count + 1):
            task = self.build_task(r, seq, start)
            r.tasks.append(task)
            self.tasks.append(task)
        if start > now:
            r.started = None  # 已立項: the breakdown is not signed yet, nothing started
            for task in r.tasks:
                task.started = task.submitted = task.completed = None
            return
        lead_head = r.lead.heads[0]
        r.events.append(("start", start, lead_head, None, "start", "approved", "in_progress", None))
        r.state = RequestState.IN_PROGRESS
        last_done = max(t.completed for t in r.tasks)
        r.final_opened = self.after(last_done, rng.uniform(4, 72))
        r.final_closed = self.after(r.final_opened, rng.uniform(4, 150))
        if r.final_closed <= now:
            r.state = RequestState.COMPLETED
            r.completed = r.final_closed
            r.events.append(("final_opened", r.final_opened, r.initiator, None, "", "", "", None))
            r.events.append(
                (
                    "complete", r.completed, lead_head, None, "complete", "in_progress",
                    "completed", None,
                )
            )  # fmt: skip
            for task in r.tasks:
                task.state = TaskState.DONE
            filed = self.after(r.completed, rng.uniform(24, 220))
            if filed > now or rng.random() < 0.03:
                return
            r.events.append(("retrospective", filed, r.initiator, None, "", "", "", None))
            archive = self.after(r.completed, rng.uniform(30, 90) * 24)
            if filed + dt.timedelta(days=14) <= archive <= now and rng.random() < 0.67:
                r.archived = archive
            return
        if r.final_opened > now:
            r.final_opened = None
        else:
            r.events.append(("final_opened", r.final_opened, r.initiator, None, "", "", "", None))
        r.final_closed = None
        for task in r.tasks:
            self.task_state_now(task)

    def build_task(self, r: _Request, seq: int, start: dt.datetime) -> _Task:
        rng = self.rng
        t = _Task()
        t.request, t.seq = r, seq
        t.name = f"{r.topic}{rng.choice(TASK_VERBS)}"
        t.dept = r.lead if rng.random() < 0.35 else rng.choice(r.depts)
        others = [d for d in r.depts if d is not t.dept]
        t.support = [rng.choice(others)] if others and rng.random() < 0.2 else []
        offset = r.duration * 0.75 * rng.random() ** 1.3
        t.start_date = self.workday((start + dt.timedelta(days=offset)).date())
        length = max(2.0, min(r.duration - offset, rng.lognormvariate(2.6, 0.6)))
        t.due_at = self.at(self.workday(t.start_date + dt.timedelta(days=length)), 17)
        t.due_at = t.due_at.replace(hour=DEFAULT_DUE_TIME.hour, minute=DEFAULT_DUE_TIME.minute)
        t.importance = rng.choices(
            (Priority.NORMAL, Priority.IMPORTANT, Priority.URGENT),
            (50, 35, 15) if r.priority != Priority.NORMAL else (75, 20, 5),
        )[0]
        t.r = t.dept.pick(rng)
        t.a = t.dept.heads[0] if rng.random() < 0.4 else t.dept.pick(rng, exclude=t.r)
        t.c = []
        t.i = []
        if rng.random() < 0.25:
            other = rng.choice(t.support or r.depts)
            person = other.pick(rng)
            if person is not t.r and person is not t.a:
                t.c.append(person)
        if rng.random() < 0.2 and r.initiator not in (t.r, t.a):
            t.i.append(r.initiator)
        t.state = TaskState.TODO
        t.started = t.submitted = t.completed = None
        t.percent = 0
        t.risk = RiskLevel.NONE
        t.updates = []
        t.last_update = None
        # How it will go: started around its start date (some late), delivered on time
        # 85 % of the time; 1 % are stuck for months.
        began = self.at(t.start_date, 9 + rng.random() * 8)
        if rng.random() < 0.04:
            began += dt.timedelta(days=rng.uniform(2, 20))
        t.started = self.office(max(began, start))
        if t.started >= t.due_at:
            t.started = t.due_at - dt.timedelta(hours=rng.uniform(8, 48))
        t.late = rng.random() < 0.15
        span = (t.due_at - t.started).total_seconds()
        if t.late:
            extra = rng.uniform(30, 200) if rng.random() < 0.07 else rng.uniform(0.2, 15)
            t.submitted = self.office(t.due_at + dt.timedelta(days=extra))
            t.completed = self.after(t.submitted, rng.uniform(2, 72))
        else:
            t.submitted = t.started + dt.timedelta(seconds=int(span * rng.uniform(0.5, 0.95)))
            wait = min(rng.uniform(2, 60) * 3600, (t.due_at - t.submitted).total_seconds() * 0.9)
            t.completed = t.submitted + dt.timedelta(seconds=int(wait))
        if rng.random() < ANSWER_TAIL:
            # The reviewers take 4–15 working days (the acceptance_overdue rule's work).
            # On time or late is decided by the submission, so that share stays put.
            day = self.working_days_after(t.submitted.date(), rng.randint(4, 15))
            t.completed = self.at(day, 9 + rng.random() * 9)
        return t

    def task_state_now(self, t: _Task) -> None:
        """The state at `now` of a task of a request in progress."""
        now = self.now
        if t.started > now:
            t.state = TaskState.TODO
            t.started = t.submitted = t.completed = None
        elif t.completed <= now:
            t.state = TaskState.DONE
        elif t.submitted <= now:
            t.state = TaskState.SUBMITTED
            t.completed = None
        else:
            t.state = TaskState.IN_PROGRESS
            planned = (t.submitted - t.started).total_seconds()
            done = (now - t.started).total_seconds() / planned if planned > 0 else 0.5
            t.percent = max(5, min(95, int(100 * done * self.rng.uniform(0.7, 1.1))))
            t.submitted = t.completed = None

    def build_updates(self, t: _Task, count: int) -> None:
        if count == 0:
            return
        rng = self.rng
        end = t.submitted
        if end is None:  # in progress: the last update was hours or days ago
            end = max(
                t.started + dt.timedelta(minutes=5),
                self.now - dt.timedelta(days=rng.lognormvariate(0.3, 0.9)),
            )
        span = max((end - t.started).total_seconds(), 60.0)
        moments = sorted(rng.random() for _ in range(count))
        final = 100 if t.state in (TaskState.SUBMITTED, TaskState.DONE) else t.percent
        percents = sorted(int(5 + (final - 5) * rng.random()) for _ in range(count))
        percents[-1] = final
        profile = rng.choices(
            (RiskLevel.NONE, RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH),
            (35, 25, 25, 15) if t.late else (72, 15, 9, 4),
        )[0]
        for index in range(count):
            at = t.started + dt.timedelta(seconds=int(span * (0.05 + 0.9 * moments[index])))
            risk = profile if rng.random() < 0.6 else RiskLevel.NONE
            if index == count - 1:
                at = end - dt.timedelta(seconds=int(min(span * 0.02, 3600)))
                if final == 100:
                    risk = RiskLevel.NONE
                elif profile != RiskLevel.NONE:
                    risk = profile
            author = t.r if rng.random() < 0.9 else t.a
            t.updates.append((at, percents[index], risk, author))
        t.updates.sort(key=lambda u: u[0])
        at, percent, risk, _author = t.updates[-1]
        t.percent, t.risk, t.last_update = percent, risk, at

    # --- 協作請求 -------------------------------------------------------------------------

    def build_asks(self) -> None:
        """協作請求 made while tasks were worked on (answered, some late, a few closed,
        still open when the answer is not in yet), and open asks on tasks still to be
        delivered of requests approved or in progress, many past their expected date."""
        rng, now = self.rng, self.now
        active = (RequestState.APPROVED, RequestState.IN_PROGRESS)
        for t in self.tasks:
            r = t.request
            if t.started is not None and rng.random() < ASK_SHARE:
                end = t.submitted or now
                for _ in range(rng.choice((1, 1, 1, 2))):
                    self.ask(t, t.started + (end - t.started) * rng.uniform(0.05, 0.8))
            if t.state not in (TaskState.TODO, TaskState.IN_PROGRESS) or r.state not in active:
                continue
            if t.state == TaskState.IN_PROGRESS:
                share = 0.25
            else:  # not started yet: preparing, or the request's work has not begun
                share = 0.06 if r.state == RequestState.IN_PROGRESS else 0.03
            if rng.random() < share:
                since = t.started or r.started or r.approved
                days = min((now - since).total_seconds() / 86400, 25) * rng.random()
                self.ask(t, now - dt.timedelta(days=days), answered=False)

    def ask(self, t: _Task, created: dt.datetime, *, answered: bool = True) -> None:
        """One 協作請求 on `t` made at `created`, by its R (sometimes its A), to another of
        the request's departments or a person of it. Answered after hours or days, a few
        closed unanswered; open if `answered` is False or the answer comes after `now`
        while the task is worked on. A delivered task's asks were settled before delivery."""
        rng = self.rng
        r = t.request
        end = t.submitted or self.now  # the task's working span ends here
        moved = self.office(created)
        created = moved if moved <= end else created
        asker = t.r if rng.random() < 0.85 else t.a
        dept = rng.choice([d for d in r.depts if d is not t.dept])
        to_user = dept.pick(rng) if rng.random() < 0.4 else None
        expected = self.working_days_after(created.date(), rng.randint(2, 5))
        content = rng.choice(ASK_TEXTS).format(topic=r.topic)
        status, text, by, at = AskStatus.OPEN, "", None, None
        if answered and rng.random() < 0.06:
            status = AskStatus.CLOSED  # no longer needed; closed by the asker
        elif answered:
            at = self.after(created, min(rng.lognormvariate(3.4, 1.1), 720))
            if at > end and t.submitted is not None:  # answered before the delivery
                at = created + (end - created) * rng.uniform(0.6, 1.0)
            if at <= end:
                status, text = AskStatus.ANSWERED, rng.choice(ANSWER_TEXTS)
                by = to_user or (rng.choice(dept.heads) if rng.random() < 0.3 else dept.pick(rng))
            else:
                at = None  # the answer is still to come
        if status == AskStatus.OPEN:
            self.open_asks += 1
            self.overdue_asks += expected < self.today
        self.asks.append(
            (t, created, asker, None if to_user else dept, to_user, content, expected, status,
             text, by, at)
        )  # fmt: skip

    # --- meetings and action items -------------------------------------------------------

    def meeting_slots(self, r: _Request) -> tuple[list[tuple], dict | None]:
        """The meetings a confirmed request would hold: (kind, start) of a kick-off after
        確認立項, a weekly meeting from the start to the final acceptance (or the next
        one to come, while in progress) and a review meeting at the final acceptance;
        and the weekly series' day and hour."""
        rng, now = self.rng, self.now
        slots = []
        if r.started is not None:
            kickoff = self.office(r.approved + (r.started - r.approved) * rng.uniform(0.2, 0.6))
            if kickoff >= r.started:
                kickoff = r.approved + (r.started - r.approved) / 2
        else:
            kickoff = self.at(
                self.workday(r.approved.date() + dt.timedelta(days=rng.randint(1, 4))),
                rng.choice((10, 14)),
            )
        slots.append((MeetingKind.KICKOFF, kickoff))
        weekly = None
        if r.started is not None:
            weekday = rng.choice((4, 4, 4, 4, 0, 1, 2, 3))
            weekly = {"weekday": weekday, "hour": 16 if weekday == 4 else rng.choice((10, 14))}
            day = r.started.date() + dt.timedelta(days=1)
            day += dt.timedelta(days=(weekday - day.weekday()) % 7)
            last = (r.final_opened or now + dt.timedelta(days=7)).date()
            while day <= last:
                start = self.at(day, weekly["hour"])
                if r.final_opened is not None and start >= r.final_opened:
                    break  # the final acceptance's day, after it opened: the review meets
                slots.append((MeetingKind.WEEKLY, start))
                if start > now:
                    break  # the next one only
                day += dt.timedelta(days=7)
        if r.final_opened is not None:
            review = self.after(r.final_opened, rng.uniform(4, 48))
            if r.final_closed is not None and review + dt.timedelta(hours=1) > r.final_closed:
                review = r.final_opened + (r.final_closed - r.final_opened) / 3
            slots.append((MeetingKind.REVIEW, review))
        return slots, weekly

    def build_meetings(self, n_meetings: int, n_actions: int) -> None:
        """The meetings of the confirmed requests, about `n_meetings`, and `n_actions`
        action items spread over those whose minutes are filed."""
        rng = self.rng
        eligible = [r for r in self.requests if r.approved is not None]
        planned = [self.meeting_slots(r) for r in eligible]
        counts = _spread(n_meetings, [len(slots) for slots, _weekly in planned])
        for r, (slots, weekly), count in zip(eligible, planned, counts, strict=True):
            if count == 0:
                continue
            fixed = [s for s in slots if s[0] != MeetingKind.WEEKLY]
            weeklies = [s for s in slots if s[0] == MeetingKind.WEEKLY]
            keep = max(0, count - len(fixed))
            if keep < len(weeklies):
                chosen = sorted(rng.sample(range(len(weeklies) - 1), max(0, keep - 1)))
                weeklies = [weeklies[i] for i in chosen] + weeklies[-1:] if keep else []
            self.build_request_meetings(r, sorted(fixed + weeklies, key=lambda s: s[1]), weekly)
        filed = [m for m in self.meetings if m.filed is not None]
        weights = [rng.lognormvariate(0, 0.4) for _ in filed]
        for meeting, count in zip(filed, _spread(n_actions, weights), strict=True):
            self.build_actions(meeting, count)
        for meeting in self.meetings:
            self.meeting_states[meeting.state] += 1

    def build_request_meetings(self, r: _Request, slots: list[tuple], weekly) -> None:
        rng, now = self.rng, self.now
        organiser = r.initiator if rng.random() < 0.8 else r.lead.heads[0]
        recorder = r.dept.pick(rng, exclude=organiser)
        team = [organiser, recorder]  # and one person of each other department
        for dept in r.depts:
            person = dept.pick(rng) if dept is not r.dept else None
            if person is not None and person not in team:
                team.append(person)
        series = None
        if weekly is not None and sum(kind == MeetingKind.WEEKLY for kind, _s in slots) >= 2:
            series = _Series()
            series.request, series.meetings = r, []
            series.weekday, series.hour = weekly["weekday"], weekly["hour"]
            series.uid = f"{rng.getrandbits(128):032x}"
            self.series.append(series)
        closed_at = r.completed or r.cancelled  # a closed request's meetings are settled
        made = []
        for kind, starts in slots:
            m = _Meeting()
            m.request, m.kind, m.starts = r, kind, starts
            m.ends = starts + dt.timedelta(minutes=rng.choice((60, 60, 90)))
            if r.completed is not None and starts < r.completed < m.ends:
                # A review meeting just before the final acceptance closed: it ends
                # before the request is 已完成.
                m.ends = starts + (r.completed - starts) * 0.9
            m.organiser, m.recorder = organiser, recorder
            m.people = (
                team
                if kind != MeetingKind.KICKOFF
                else team + [d.heads[0] for d in r.depts if d.heads[0] not in team]
            )
            m.agenda = [title.format(topic=r.topic) for title in AGENDAS[kind]]
            m.form = rng.choices(
                (MeetingForm.ON_SITE, MeetingForm.ONLINE, MeetingForm.PHONE), (60, 35, 5)
            )[0]
            m.uid = f"{rng.getrandbits(128):032x}"
            m.series = series if kind == MeetingKind.WEEKLY else None
            m.series_date = starts.date() if m.series else None
            if m.series:
                series.meetings.append(m)
            created = starts - dt.timedelta(days=rng.uniform(1.2, 7))
            m.created = min(max(created, r.approved + dt.timedelta(minutes=10)), now)
            m.filed = m.cancelled = None
            m.cancel_reason = ""
            m.problems, m.actions = [], []
            m.next_at = None
            m.state = MeetingState.SCHEDULED
            if r.cancelled is not None and m.ends > r.cancelled:
                m.state, m.cancelled = MeetingState.CANCELLED, max(r.cancelled, m.created)
                m.cancel_reason = r.cancel_reason
            elif m.ends > now:
                pass  # still to come (or going on)
            elif kind == MeetingKind.WEEKLY and rng.random() < 0.02:
                m.state = MeetingState.CANCELLED
                m.cancelled = max(m.created, starts - dt.timedelta(hours=rng.uniform(2, 48)))
                m.cancel_reason = rng.choice(MEETING_CANCEL_REASONS)
            elif closed_at is None and rng.random() < MINUTES_MISSING_SHARE:
                pass  # held, the minutes not written yet
            else:
                if rng.random() < MINUTES_LATE_SHARE:
                    day = self.working_days_after(m.ends.date(), rng.randint(3, 6))
                    filed = self.at(day, 9 + rng.random() * 9)
                else:
                    filed = self.after(m.ends, rng.uniform(0.5, 30))
                if closed_at is not None and filed >= closed_at:
                    filed = m.ends + (closed_at - m.ends) * rng.uniform(0.2, 0.8)
                if filed <= now:
                    m.state, m.filed = MeetingState.MINUTES_FILED, filed
            made.append(m)
            self.meetings.append(m)
        held = [m for m in made if m.state != MeetingState.CANCELLED]
        for m, following in itertools.pairwise(held):
            if m.filed is not None:
                m.next_at = following.starts
        for m in made:
            if m.filed is not None:
                self.build_problems(m, closed_at)
        if series is not None:
            series.first = series.meetings[0].starts.date()
            series.until = closed_at.date() if closed_at is not None else None

    def build_problems(self, m: _Meeting, closed_at) -> None:
        rng, now = self.rng, self.now
        for _ in range(rng.choices((0, 1, 2), (50, 35, 15))[0]):
            status, changed, note = ProblemStatus.OPEN, None, ""
            old = now - m.filed > dt.timedelta(days=21)
            if closed_at is not None or (old and rng.random() < 0.85) or rng.random() < 0.2:
                status, note = ProblemStatus.RESOLVED, "已處理完成。"
            elif old and rng.random() < 0.3:
                status, note = ProblemStatus.ESCALATE, "部門間無法協調,提請上級決定。"
            if status != ProblemStatus.OPEN:
                end = closed_at or now
                changed = m.filed + (end - m.filed) * rng.uniform(0.1, 0.9)
            dept = rng.choice(m.request.depts)
            m.problems.append((rng.choice(PROBLEMS), dept, status, note, changed))

    def build_actions(self, m: _Meeting, count: int) -> None:
        """`count` action items of `m`'s minutes, opened when they were filed and worked
        on like tasks (all closed once the request is)."""
        rng, now = self.rng, self.now
        r = m.request
        closed_at = r.completed or r.cancelled
        actions = []
        for position in range(1, count + 1):
            dept = rng.choice(r.depts)
            owner = next((p for p in m.people if p.department is dept), None) or dept.pick(rng)
            day = self.working_days_after(m.starts.date(), rng.randint(2, 10))
            due = self.at(day, DEFAULT_ACTION_DUE_TIME.hour)
            started = self.after(m.filed, rng.uniform(1, 48))
            late = rng.random() < 0.18
            if late:
                submitted = self.office(due + dt.timedelta(days=rng.uniform(0.5, 12)))
            else:
                submitted = started + (due - started) * rng.uniform(0.4, 0.95)
            submitted = max(submitted, started + dt.timedelta(hours=2))
            accepted = self.after(submitted, rng.uniform(2, 48))
            if closed_at is not None and accepted >= closed_at:
                accepted = m.filed + (closed_at - m.filed) * rng.uniform(0.7, 0.95)
                submitted = m.filed + (accepted - m.filed) * rng.uniform(0.6, 0.95)
                started = m.filed + (submitted - m.filed) * rng.uniform(0.1, 0.5)
            state, percent, progress_at, escalated = ActionState.DONE, 100, submitted, None
            if closed_at is not None:
                if rng.random() < 0.05:
                    state, submitted, progress_at = ActionState.CANCELLED, None, None
            elif started > now or rng.random() < 0.04:
                state, percent, progress_at = ActionState.TODO, 0, None
                started = submitted = accepted = None
            elif accepted > now and submitted <= now:
                state, accepted = ActionState.SUBMITTED, None
            elif submitted > now:
                state = ActionState.IN_PROGRESS
                planned = (submitted - started).total_seconds()
                done = (now - started).total_seconds() / planned if planned > 0 else 0.5
                percent = max(5, min(95, int(100 * done * rng.uniform(0.6, 1.1))))
                progress_at = max(started, now - dt.timedelta(days=rng.lognormvariate(0.5, 0.9)))
                submitted = accepted = None
            if state in OPEN_ACTION_STATES and rng.random() < 0.05:
                escalated = m.filed + (now - m.filed) * rng.uniform(0.3, 0.95)
            problem = rng.randrange(len(m.problems)) if m.problems and rng.random() < 0.5 else None
            importance = rng.choices(
                (Priority.NORMAL, Priority.IMPORTANT, Priority.URGENT), (80, 15, 5)
            )[0]
            text = rng.choice(MEETING_ACTIONS).format(topic=r.topic)
            actions.append(
                (position, text, dept, owner, rng.choice(ACTION_DELIVERABLES), m.starts.date(),
                 due, importance, state, percent, progress_at, started, submitted,
                 accepted if state == ActionState.DONE else (
                     m.filed + (closed_at - m.filed) / 2 if state == ActionState.CANCELLED else None
                 ),
                 escalated, problem)
            )  # fmt: skip
            self.action_states[state] += 1
        m.actions = actions

    # --- risk reports ----------------------------------------------------------------------

    def build_risks(self, n_risks: int | None) -> None:
        """`n_risks` risk reports (default RISKS_PER_CONFIRMED per confirmed request),
        spread over the confirmed requests by how long they ran, the open ones
        (OPEN_RISK_WEIGHT) more: the register's open risks are theirs. Drawn from
        `risk_rng` only, after everything else."""
        rng = self.risk_rng
        eligible = [r for r in self.requests if r.approved is not None]
        if n_risks is None:
            n_risks = round(RISKS_PER_CONFIRMED * len(eligible))
        if not n_risks or not eligible:
            return
        levels = risk_rules.matrix()
        weights = [
            (((r.completed or r.cancelled or self.now) - r.approved).days + 14)
            * (1 if r.completed or r.cancelled else OPEN_RISK_WEIGHT)
            * rng.lognormvariate(0, 0.5)
            for r in eligible
        ]
        for r, count in zip(eligible, _spread(n_risks, weights), strict=True):
            for _ in range(count):
                self.risks.append(self.build_risk(r, levels))
        for risk in self.risks:
            self.risk_states[risk.state] += 1
            if risk.state == RiskState.RESPONDING and risk.due < self.now:
                self.overdue_risks += 1

    def build_risk(self, r: _Request, levels: dict[tuple[int, int], str]) -> _Risk:
        """One risk report of `r`, reported while it was 已立項 or 進行中, and what the
        PMO made of it up to its request's end (or now)."""
        rng, now = self.risk_rng, self.now
        closed_at = r.completed or r.cancelled
        end = closed_at or now
        k = _Risk()
        k.request = r
        # Uniform over a closed request's life; more recent on an open one (the older
        # risks of a running project are mostly settled, the recent ones not yet).
        share = rng.uniform(0.02, 0.98) if closed_at else 1 - 0.98 * rng.random() ** 1.6
        k.reported = r.approved + (end - r.approved) * share
        if self.office(k.reported) < end:
            k.reported = self.office(k.reported)
        late = rng.random() < RISK_LATE_SHARE
        hours = rng.uniform(25, 24 * 7) if late else rng.uniform(0.25, 23.5)
        k.discovered = k.reported - dt.timedelta(hours=hours)
        started = [t for t in r.tasks if t.started is not None and t.started <= k.reported]
        k.task = rng.choice(started) if started and rng.random() < 0.7 else None
        if k.task is not None and rng.random() < 0.5:
            k.reporter = k.task.r
        elif rng.random() < 0.35:
            k.reporter = r.initiator
        else:
            k.reporter = rng.choice(r.depts).pick(rng)
        k.depts = [d for d in r.depts if d is k.reporter.department or rng.random() < 0.3]
        if not k.depts:
            k.depts = [rng.choice(r.depts)]
        k.probability = rng.choices(range(1, 6), (15, 30, 30, 17, 8))[0]
        k.impact = rng.choices(range(1, 6), (10, 25, 35, 20, 10))[0]
        k.level = levels[(k.probability, k.impact)]
        k.texts = tuple(text.format(topic=r.topic) for text in rng.choice(RISK_TEXTS))
        k.state, k.owner, k.due, k.plan, k.closed = RiskState.REPORTED, None, None, "", None
        k.events = [(RiskEventKind.REPORT, "", RiskState.REPORTED, k.reporter, k.reported, "")]
        pmo = rng.choice(self.pmo)
        taken = self.after(k.reported, rng.uniform(1, 72))
        if closed_at is not None and taken >= closed_at:
            taken = k.reported + (closed_at - k.reported) * rng.uniform(0.1, 0.4)
        if closed_at is None and (taken > now or rng.random() < RISK_WAITING_SHARE):
            return k  # waiting for the PMO
        if rng.random() < RISK_DISMISSED_SHARE:
            return self.conclude_risk(k, RiskEventKind.CLOSE, taken, pmo)
        dept = rng.choice(k.depts)
        k.owner = dept.pick(rng) if rng.random() < 0.7 else dept.heads[0]
        day = self.working_days_after(taken.date(), rng.randint(2, 10))
        k.due = self.at(day, 17)
        k.plan = rng.choice(RISK_PLANS)
        k.state = RiskState.RESPONDING
        k.events.append(
            (RiskEventKind.ACCEPT, RiskState.REPORTED, RiskState.RESPONDING, pmo, taken, "")
        )
        if rng.random() < RISK_RESPONSE_LATE_SHARE:
            concluded = k.due + dt.timedelta(days=rng.uniform(1, 40))
        else:
            concluded = taken + (k.due - taken) * rng.uniform(0.3, 1.0)
        if closed_at is not None and concluded >= closed_at:
            concluded = taken + (closed_at - taken) * rng.uniform(0.3, 0.95)
        if closed_at is None and concluded > now:
            return k  # under way (past its deadline when `due` has gone by)
        kind = rng.choices(
            (RiskEventKind.RESOLVE, RiskEventKind.OCCUR, RiskEventKind.CLOSE), (60, 25, 15)
        )[0]
        by = pmo if kind == RiskEventKind.CLOSE or rng.random() < 0.4 else k.owner
        return self.conclude_risk(k, kind, concluded, by)

    def conclude_risk(self, k: _Risk, kind: str, when: dt.datetime, by: _Person) -> _Risk:
        state = {
            RiskEventKind.RESOLVE: RiskState.RESOLVED,
            RiskEventKind.OCCUR: RiskState.OCCURRED,
            RiskEventKind.CLOSE: RiskState.CLOSED,
        }[kind]
        note = self.risk_rng.choice(RISK_CONCLUSIONS[kind])
        k.events.append((kind, k.state, state, by, when, note))
        k.state, k.closed = state, when
        return k

    # --- rows ----------------------------------------------------------------------------

    def write(self, cursor) -> dict[str, int]:
        rows = _Writer(cursor, self.now)
        self.write_organisation(rows)
        self.write_requests(rows)
        self.write_tasks(rows)
        self.write_asks(rows)
        self.write_closing(rows)
        self.write_meetings(rows)
        self.write_risks(rows)
        self.advance_sequences()
        return rows.flush()

    def write_organisation(self, w: _Writer) -> None:
        rng = self.rng
        for dept, pk in zip(self.depts, w.ids(Department, len(self.depts)), strict=True):
            dept.id = pk
        table = w.table("departments", ["id", "name", "code", "parent_id", "is_active"])
        for dept in self.depts:
            table.add(dept.id, dept.name, dept.code, dept.parent.id if dept.parent else None, True)
        for person, pk in zip(self.people, w.ids(User, len(self.people)), strict=True):
            person.id = pk
        password = make_password(SCALE_PASSWORD)
        joined = self.now - dt.timedelta(days=YEARS * 365 + 120)
        heads = {p.id for d in self.depts for p in d.heads}
        table = w.table(
            "users",
            [
                "id", "password", "username", "email", "full_name", "department_id", "title",
                "role", "is_staff", "is_active", "is_superuser", "date_joined", "contact",
            ],
        )  # fmt: skip
        roles = {p.id: Role.PMO for p in self.pmo} | {p.id: Role.EXECUTIVE for p in self.executives}
        titles = {Role.PMO: "PMO 專員", Role.EXECUTIVE: "副總經理"}
        for person in self.people:
            role = roles.get(person.id, Role.STAFF)
            dept = person.department
            if person.id in heads:
                title = f"{dept.name}經理"
            else:
                title = titles.get(role) or rng.choice(("專員", "專員", "資深專員", "主任"))
            table.add(
                person.id, password, person.username, f"{person.username}@scale.example.com",
                self.full_names[person.username], dept.id if dept else None, title, role,
                role != Role.STAFF or person.id in heads, True, False, joined,
                f"分機 {rng.randint(2000, 8999)}",
            )  # fmt: skip
        table = w.table("department heads", ["department_id", "user_id"])
        for dept in self.depts:
            for head in dept.heads:
                table.add(dept.id, head.id)
        # The groups collab.services.user_sync_access gives: the role's, and the heads'.
        org_services.role_groups_ensure()
        groups = dict(Group.objects.values_list("name", "pk"))
        table = w.table("user groups", ["user_id", "group_id"])
        for person in self.people:
            table.add(person.id, groups[roles.get(person.id, Role.STAFF)])
            if person.id in heads:
                table.add(person.id, groups[org_services.HEAD_GROUP])
        table = w.table(
            "delegations",
            ["head_id", "deputy_id", "department_id", "start_date", "end_date", "reason",
             "created_at"],
        )  # fmt: skip
        for head, deputy, dept, start, end, reason in self.delegations:
            created = self.at(start - dt.timedelta(days=3), 10)
            table.add(head.id, deputy.id, dept.id, start, end, reason, created)

    def write_requests(self, w: _Writer) -> None:
        rng = self.rng
        requests = self.requests
        for request, pk in zip(requests, w.ids(CollabRequest, len(requests)), strict=True):
            request.id = pk
        self.number_requests()
        table = w.table(
            "requests",
            [
                "id", "number", "name", "initiating_department_id", "initiator_id", "contact",
                "background", "expected_deliverables", "data_needs", "expected_completion",
                "priority", "notes", "state", "review_round", "submitted_at", "approved_at",
                "completed_at", "cancel_reason", "is_archived", "archived_at",
                "is_confidential", "created_at", "updated_at",
            ],
        )  # fmt: skip
        for r in requests:
            updated = max(
                e[1] for e in r.events if e[1] is not None
            )  # the last line of its timeline
            if r.archived:
                updated = max(updated, r.archived)
            table.add(
                r.id, r.number, r.name, r.dept.id, r.initiator.id,
                self.full_names[r.initiator.username],
                rng.choice(BACKGROUNDS).format(topic=r.topic),
                f"{r.topic}改善方案、執行紀錄與成效報告", "", r.expected, r.priority, "",
                r.state, r.round, r.submitted, r.approved, r.completed, r.cancel_reason,
                r.archived is not None, r.archived, r.confidential, r.created, updated,
            )  # fmt: skip
        table = w.table("request departments", ["request_id", "department_id", "is_lead"])
        goals = w.table(
            "goals",
            ["request_id", "description", "metric", "target_value", "unit", "actual_value",
             "position"],
        )  # fmt: skip
        for r in requests:
            for dept in r.depts:
                table.add(r.id, dept.id, dept is r.lead)
            target = Decimal(rng.choice((10, 15, 20, 30, 50)))
            actual = None
            if r.state == RequestState.COMPLETED:
                actual = (target * Decimal(rng.uniform(0.6, 1.3))).quantize(Decimal("0.1"))
            goals.add(r.id, f"{r.topic}效率提升", "處理時間縮短", target, "%", actual, 0)
        table = w.table(
            "department reviews",
            [
                "request_id", "department_id", "round", "due_date", "decision", "comment",
                "committed_tasks", "decided_by_id", "on_behalf_of_id", "decided_at",
                "created_at",
            ],
        )  # fmt: skip
        for r in requests:
            committed = defaultdict(list)
            for task in r.tasks[:30]:
                committed[task.dept].append(task.name)
            for v in r.reviews:
                approved = v.decision == ReviewDecision.APPROVED
                comment = "" if v.decision != ReviewDecision.REJECTED else "資源排程衝突。"
                lines = "\n".join(committed.get(v.dept, [])[:3]) if approved else ""
                decided = v.decided_at if v.by is not None else None
                table.add(
                    r.id, v.dept.id, v.round, v.due, v.decision, comment, lines,
                    v.by.id if decided else None,
                    v.behalf.id if decided and v.behalf else None, decided, v.created,
                )  # fmt: skip
        table = w.table(
            "request events",
            ["request_id", "kind", "transition", "from_state", "to_state", "by_id",
             "on_behalf_of_id", "at", "comment", "department_id"],
        )  # fmt: skip
        for r in requests:
            if r.archived:
                r.events.append(("archived", r.archived, self.rng.choice(self.pmo), None,
                                 "", "", "", None, self.archive_title(r)))  # fmt: skip
            for kind, at, by, behalf, transition, source, target, dept, *comment in sorted(
                r.events, key=lambda e: e[1]
            ):
                table.add(
                    r.id, kind, transition, source, target, by.id, behalf.id if behalf else None,
                    at, comment[0] if comment else "", dept.id if dept else None,
                )  # fmt: skip

    def archive_title(self, r: _Request) -> str:
        fake = CollabRequest(name=r.name, completed_at=r.completed)
        return archive_title(fake)

    def number_requests(self) -> None:
        """Number the submitted requests per month of their first submission, after the
        numbers the application handed out already, and advance the sequences."""
        by_month = defaultdict(list)
        for r in self.requests:
            if r.first_submit is not None:
                by_month[f"{request_services.NUMBER_PREFIX}{r.first_submit:%Y%m}"].append(r)
        self.sequence_moves = {}
        last = _sequences_locked(list(by_month))
        for key, members in by_month.items():
            members.sort(key=lambda r: r.first_submit)
            base = last.get(key, 0)
            for offset, r in enumerate(members, start=1):
                r.number = f"{key}{base + offset:03d}"
            self.sequence_moves[key] = base + len(members)

    def write_tasks(self, w: _Writer) -> None:
        rng = self.rng
        tasks = self.tasks
        for task, pk in zip(tasks, w.ids(Task, len(tasks)), strict=True):
            task.id = pk
        breakdowns = [r for r in self.requests if r.approved is not None]
        table = w.table(
            "breakdowns", ["id", "request_id", "version", "last_sequence", "updated_at"]
        )
        signatures = w.table(
            "breakdown signatures",
            ["breakdown_id", "department_id", "version", "signed_by_id", "on_behalf_of_id",
             "signed_at"],
        )  # fmt: skip
        for r, pk in zip(breakdowns, w.ids(Breakdown, len(breakdowns)), strict=True):
            version = len(r.tasks) + rng.randint(0, 3) if r.tasks else 1
            started = r.state in (RequestState.IN_PROGRESS, RequestState.COMPLETED)
            table.add(pk, r.id, version, len(r.tasks), r.started or r.approved)
            if not started:
                continue
            for dept in r.depts:
                by, behalf = self.head_of(dept)
                span = (r.started - r.approved).total_seconds()
                signed = r.approved + dt.timedelta(seconds=int(span * rng.uniform(0.3, 0.99)))
                signatures.add(pk, dept.id, version, by.id, behalf.id if behalf else None, signed)
        table = w.table(
            "tasks",
            [
                "id", "request_id", "sequence", "number", "name", "description",
                "responsible_department_id", "start_date", "due_at", "deliverable",
                "acceptance_criteria", "importance", "buffer_days", "state",
                "progress_percent", "last_progress_at", "risk_level", "started_at",
                "submitted_at", "completed_at", "completion_note", "created_at", "updated_at",
            ],
        )  # fmt: skip
        support = w.table("task supporting departments", ["task_id", "department_id"])
        depends = w.table("task dependencies", ["from_task_id", "to_task_id"])
        raci = w.table("RACI assignments", ["task_id", "user_id", "role"])
        updates = w.table(
            "progress updates",
            ["task_id", "author_id", "created_at", "percent", "done", "problems",
             "support_needed", "risk_note", "risk_level"],
        )  # fmt: skip
        grants = set()
        for t in tasks:
            r = t.request
            delivered = t.state in (TaskState.SUBMITTED, TaskState.DONE)
            percent = 100 if delivered else t.percent
            created = r.approved
            updated = t.completed or t.submitted or t.last_update or t.started or created
            table.add(
                t.id, r.id, t.seq, f"{r.number}-{t.seq:02d}", t.name, "",
                t.dept.id, t.start_date, t.due_at, f"{t.name}成果文件", "經負責部門主管確認",
                t.importance, 0, t.state, percent, t.last_update, t.risk,
                t.started if t.state != TaskState.TODO else None, t.submitted, t.completed,
                "已完成並提交驗收。" if delivered else "", created, updated,
            )  # fmt: skip
            for dept in t.support:
                support.add(t.id, dept.id)
            if t.seq > 1 and rng.random() < 0.15:
                previous = r.tasks[t.seq - 2]
                if t.started is None or (previous.completed and previous.completed <= t.started):
                    depends.add(t.id, previous.id)
            raci.add(t.id, t.r.id, RaciRole.RESPONSIBLE)
            raci.add(t.id, t.a.id, RaciRole.ACCOUNTABLE)
            for person in t.c:
                raci.add(t.id, person.id, RaciRole.CONSULTED)
            for person in t.i:
                raci.add(t.id, person.id, RaciRole.INFORMED)
            for person in (t.r, t.a, *t.c, *t.i):
                grants.add((person.id, r.id))
            for at, pct, risk, author in t.updates:
                risky = risk != RiskLevel.NONE
                updates.add(
                    t.id, author.id, at, pct, rng.choice(DONE_TEXTS).format(pct=pct),
                    rng.choice(PROBLEMS) if risky else "",
                    "請相關部門協助提供資料。" if risky and rng.random() < 0.5 else "",
                    rng.choice(RISK_NOTES) if risky else "", risk,
                )  # fmt: skip
        view = Permission.objects.get(
            content_type=ContentType.objects.get_for_model(CollabRequest),
            codename=VIEW_PERMISSION,
        )
        table = w.table("request view grants", ["user_id", "permission_id", "content_object_id"])
        for user_id, request_id in sorted(grants):
            table.add(user_id, view.pk, request_id)
        self.write_acceptances(w)

    def write_acceptances(self, w: _Writer) -> None:
        """One acceptance round per delivered task: passed when done, open when submitted
        (one of two seats answered already, sometimes)."""
        rng, now = self.rng, self.now
        delivered = [t for t in self.tasks if t.state in (TaskState.SUBMITTED, TaskState.DONE)]
        table = w.table(
            "task acceptances",
            ["id", "task_id", "round", "completion_note", "submitted_by_id", "submitted_at",
             "due_date", "outcome", "closed_at"],
        )  # fmt: skip
        verdicts = w.table(
            "acceptance verdicts",
            ["acceptance_id", "seat", "reviewer_id", "department_id", "decision",
             "decided_by_id", "decided_at"],
        )  # fmt: skip
        for t, pk in zip(delivered, w.ids(TaskAcceptance, len(delivered)), strict=True):
            done = t.state == TaskState.DONE
            due = self.working_days_after(t.submitted.date(), ANSWER_WORKING_DAYS)
            table.add(
                pk, t.id, 1, "已完成並提交驗收。", t.r.id, t.submitted, due,
                AcceptanceOutcome.PASSED if done else AcceptanceOutcome.OPEN,
                t.completed if done else None,
            )  # fmt: skip
            seats = [(Seat.ACCOUNTABLE, t.a)]
            initiator = t.request.initiator
            if initiator is not t.r and initiator is not t.a:
                seats.append((Seat.INITIATOR, initiator))
            answered = None
            if not done:
                self.overdue_acceptances += due < self.today
                if len(seats) == 2 and rng.random() < 0.4:
                    answered = rng.randrange(2)
            for index, (seat, person) in enumerate(seats):
                if index == answered:
                    at = t.submitted + (now - t.submitted) * rng.random()
                    verdicts.add(pk, seat, person.id, None, Verdict.PASSED, person.id, at)
                elif done:
                    last = index == len(seats) - 1
                    span = (t.completed - t.submitted).total_seconds()
                    at = (
                        t.completed
                        if last
                        else t.submitted + dt.timedelta(seconds=int(span * rng.random()))
                    )
                    verdicts.add(pk, seat, person.id, None, Verdict.PASSED, person.id, at)
                else:
                    verdicts.add(pk, seat, person.id, None, Verdict.PENDING, None, None)

    def write_asks(self, w: _Writer) -> None:
        table = w.table(
            "collaboration asks",
            ["task_id", "asked_by_id", "to_department_id", "to_user_id", "content",
             "expected_date", "status", "answer", "answered_by_id", "answered_at", "created_at"],
        )  # fmt: skip
        for t, created, asker, dept, user, content, expected, status, text, by, at in self.asks:
            table.add(
                t.id, asker.id, dept.id if dept else None, user.id if user else None, content,
                expected, status, text, by.id if by else None, at, created,
            )  # fmt: skip

    def write_closing(self, w: _Writer) -> None:
        """Final acceptances, retrospectives, feedback and the archive."""
        rng = self.rng
        closing = [r for r in self.requests if r.final_opened is not None]
        finals = w.table(
            "final acceptances",
            ["id", "request_id", "round", "summary", "opened_by_id", "opened_at", "outcome",
             "closed_at"],
        )  # fmt: skip
        signatures = w.table(
            "final signatures",
            ["final_id", "department_id", "decision", "comment", "signed_by_id",
             "on_behalf_of_id", "signed_at"],
        )  # fmt: skip
        for r, pk in zip(closing, w.ids(FinalAcceptance, len(closing)), strict=True):
            signed = r.final_closed is not None
            finals.add(
                pk, r.id, 1, f"{r.name}各項任務均已完成並通過驗收。", r.initiator.id,
                r.final_opened, FinalOutcome.SIGNED if signed else FinalOutcome.OPEN,
                r.final_closed,
            )  # fmt: skip
            end = r.final_closed or self.now
            span = (end - r.final_opened).total_seconds()
            for index, dept in enumerate(r.depts):
                at = r.final_opened + dt.timedelta(seconds=int(span * rng.random()))
                if signed and index == 0:
                    at = r.final_closed
                if signed or rng.random() < 0.5:
                    by, behalf = self.head_of(dept)
                    signatures.add(
                        pk, dept.id, SignatureDecision.SIGNED, "", by.id,
                        behalf.id if behalf else None, at,
                    )  # fmt: skip
                else:
                    signatures.add(pk, dept.id, SignatureDecision.PENDING, "", None, None, None)
        completed = [r for r in self.requests if r.state == RequestState.COMPLETED]
        retros = w.table(
            "retrospectives",
            ["id", "request_id", "due_date", "highlights", "shortcomings", "state", "filed_by_id",
             "filed_at", "created_at", "updated_at"],
        )  # fmt: skip
        contributions = w.table(
            "department contributions", ["retrospective_id", "department_id", "contribution"]
        )
        filed_at = {
            r.id: next((e[1] for e in r.events if e[0] == "retrospective"), None) for r in completed
        }
        # A few recent completions have no retrospective yet (the overdue rule's work).
        with_retro = [r for r in completed if filed_at[r.id] or rng.random() < 0.7]
        for r, pk in zip(with_retro, w.ids(Retrospective, len(with_retro)), strict=True):
            filed = filed_at[r.id]
            due = r.completed.date() + dt.timedelta(days=RETROSPECTIVE_DUE_DAYS)
            retros.add(
                pk, r.id, due, "跨部門協作順暢,如期交付主要成果。" if filed else "",
                "部分任務因資料延遲而延期。" if filed else "",
                RetrospectiveState.FILED if filed else RetrospectiveState.DRAFT,
                r.initiator.id if filed else None, filed, r.completed, filed or r.completed,
            )  # fmt: skip
            for dept in r.depts:
                contributions.add(pk, dept.id, f"{dept.name}負責相關任務的執行。" if filed else "")
        self.write_feedback(w, completed)
        archive = w.table(
            "archive entries", ["request_id", "title", "archived_by_id", "archived_at",
                                "search_text"]
        )  # fmt: skip
        archived_by = {
            r.id: next(e[2] for e in r.events if e[0] == "archived")
            for r in completed
            if r.archived
        }
        for r in completed:
            if r.archived:
                text = "\n".join([r.number, r.name, *(t.name for t in r.tasks)])
                archive.add(r.id, self.archive_title(r), archived_by[r.id].id, r.archived, text)

    def write_feedback(self, w: _Writer, completed: list[_Request]) -> None:
        rng, now = self.rng, self.now
        invitations = w.table(
            "feedback invitations", ["request_id", "user_id", "created_at", "answered_at"]
        )
        given = []  # (request, author, kind, created)
        for r in completed:
            people = [r.initiator]
            for t in r.tasks:
                if t.r not in people:
                    people.append(t.r)
                if len(people) >= 4:
                    break
            answered = {}
            if rng.random() < 0.35:
                for person in rng.sample(people, min(len(people), rng.choice((1, 1, 2)))):
                    created = self.after(r.completed, rng.uniform(4, 240))
                    if r.archived and created >= r.archived:
                        created = r.completed + (r.archived - r.completed) / 3
                    if created <= now:
                        answered[person.id] = created
                        kind = rng.choices(
                            (FeedbackKind.PRAISE, FeedbackKind.PROBLEM, FeedbackKind.SUGGESTION),
                            (45, 30, 25),
                        )[0]
                        given.append((r, person, kind, created))
            for person in people:
                invitations.add(r.id, person.id, r.completed, answered.get(person.id))
        given.sort(key=lambda g: g[3])
        by_month = defaultdict(list)
        for item in given:
            by_month[f"{FEEDBACK_PREFIX}{item[3]:%Y%m}"].append(item)
        last = _sequences_locked(list(by_month))
        numbers = {}
        for key, items in by_month.items():
            base = last.get(key, 0)
            for offset, item in enumerate(items, start=1):
                numbers[id(item)] = f"{key}{base + offset:03d}"
            self.sequence_moves[key] = base + len(items)
        feedback = w.table(
            "feedback",
            ["id", "number", "request_id", "author_id", "kind", "content", "suggested_handling",
             "handling_result", "handled_by_id", "handled_at", "created_at"],
        )  # fmt: skip
        concerned = w.table("feedback departments", ["feedback_id", "department_id"])
        for item, pk in zip(given, w.ids(Feedback, len(given)), strict=True):
            r, person, kind, created = item
            handled = None
            if r.archived or rng.random() < 0.8:
                handled = created + dt.timedelta(days=rng.uniform(1, 14))
                if r.archived:
                    handled = min(handled, r.archived - dt.timedelta(hours=1))
                if handled > now:
                    handled = None
            feedback.add(
                pk, numbers[id(item)], r.id, person.id, kind,
                rng.choice(FEEDBACK_TEXTS[kind]), "",
                "已轉交相關部門檢討。" if handled else "",
                rng.choice(self.pmo).id if handled else None, handled, created,
            )  # fmt: skip
            for dept in rng.sample(r.depts, min(len(r.depts), rng.choice((1, 1, 2)))):
                concerned.add(pk, dept.id)

    def write_meetings(self, w: _Writer) -> None:
        """The series, meetings, their people, agenda, history, minutes, problems and
        action items, as the services would have written them."""
        rng = self.rng
        for series, pk in zip(self.series, w.ids(MeetingSeries, len(self.series)), strict=True):
            series.id = pk
        table = w.table(
            "meeting series",
            ["id", "request_id", "topic", "kind", "weekday", "start_time", "duration_minutes",
             "first_date", "until", "holiday_rule", "form", "location", "online_link",
             "organiser_id", "recorder_id", "guests", "agenda_template", "uid", "is_active",
             "created_by_id", "created_at"],
        )  # fmt: skip
        series_depts = w.table("meeting series departments", ["meetingseries_id", "department_id"])
        series_people = w.table("meeting series participants", ["meetingseries_id", "user_id"])
        for series in self.series:
            r, first = series.request, series.meetings[0]
            table.add(
                series.id, r.id, MEETING_TOPICS[MeetingKind.WEEKLY].format(name=r.name),
                MeetingKind.WEEKLY, series.weekday, dt.time(series.hour), 60, series.first,
                series.until, HolidayRule.SKIP, MeetingForm.ON_SITE, ROOMS[0], "",
                first.organiser.id, first.recorder.id, "",
                "\n".join(AGENDAS[MeetingKind.WEEKLY]).format(topic=r.topic), series.uid,
                series.until is None, first.organiser.id, first.created,
            )  # fmt: skip
            for dept in r.depts:
                series_depts.add(series.id, dept.id)
            for person in first.people:
                if person is not first.organiser and person is not first.recorder:
                    series_people.add(series.id, person.id)
        meetings = self.meetings
        for m, pk in zip(meetings, w.ids(Meeting, len(meetings)), strict=True):
            m.id = pk
        filed = [m for m in meetings if m.filed is not None]
        for m, pk in zip(filed, w.ids(Minutes, len(filed)), strict=True):
            m.minutes_id = pk
        table = w.table(
            "meetings",
            ["id", "request_id", "series_id", "series_date", "topic", "kind", "starts_at",
             "ends_at", "form", "location", "online_link", "organiser_id", "recorder_id",
             "focus", "state", "cancel_reason", "uid", "ics_sequence", "invited_at",
             "minutes_filed_at", "created_by_id", "created_at", "updated_at"],
        )  # fmt: skip
        depts = w.table("meeting departments", ["meeting_id", "department_id"])
        people = w.table("meeting participants", ["meeting_id", "user_id"])
        agenda = w.table("agenda items", ["meeting_id", "position", "title", "department_id"])
        history = w.table(
            "meeting events",
            ["meeting_id", "kind", "transition", "from_state", "to_state", "by_id", "at",
             "comment", "params"],
        )  # fmt: skip
        for m in meetings:
            r = m.request
            cancelled = m.state == MeetingState.CANCELLED
            table.add(
                m.id, r.id, m.series.id if m.series else None, m.series_date,
                MEETING_TOPICS[m.kind].format(name=r.name), m.kind, m.starts, m.ends, m.form,
                rng.choice(ROOMS) if m.form == MeetingForm.ON_SITE else "",
                "https://meet.example.com/" + m.uid[:10] if m.form == MeetingForm.ONLINE else "",
                m.organiser.id, m.recorder.id, "", m.state, m.cancel_reason, m.uid,
                1 if cancelled else 0, m.created, m.filed, m.organiser.id, m.created,
                m.cancelled or m.filed or m.created,
            )  # fmt: skip
            for dept in r.depts:
                depts.add(m.id, dept.id)
            for person in m.people:
                if person is not m.organiser and person is not m.recorder:
                    people.add(m.id, person.id)
            for position, title in enumerate(m.agenda, start=1):
                agenda.add(m.id, position, title, None)
            times = {"starts_at": events.iso(m.starts), "ends_at": events.iso(m.ends)}
            history.add(
                m.id, MeetingEventKind.SCHEDULED, MeetingEventKind.SCHEDULED, "",
                MeetingState.SCHEDULED, m.organiser.id, m.created, "", json.dumps(times),
            )  # fmt: skip
            if cancelled:
                history.add(
                    m.id, MeetingEventKind.CANCELLED, "cancel", MeetingState.SCHEDULED,
                    MeetingState.CANCELLED, m.organiser.id, m.cancelled, m.cancel_reason, "{}",
                )  # fmt: skip
            elif m.filed is not None:
                params = {"version": 1, "minutes_id": m.minutes_id}
                history.add(
                    m.id, MeetingEventKind.MINUTES_FILED, "file_minutes", MeetingState.SCHEDULED,
                    MeetingState.MINUTES_FILED, m.recorder.id, m.filed, "", json.dumps(params),
                )  # fmt: skip
        self.write_minutes(w, filed)

    def write_minutes(self, w: _Writer, filed: list[_Meeting]) -> None:
        rng = self.rng
        minutes = w.table(
            "minutes",
            ["id", "meeting_id", "version", "state", "actual_start", "actual_end",
             "next_meeting_at", "next_focus", "other_matters", "breakdown_agreed",
             "breakdown_version", "drafted_by_id", "filed_by_id", "filed_at", "created_at",
             "updated_at"],
        )  # fmt: skip
        items = w.table(
            "minutes items", ["minutes_id", "position", "title", "discussion", "conclusion"]
        )
        attendance = w.table("minutes attendance", ["minutes_id", "user_id", "attendance", "note"])
        problems = w.table(
            "problems",
            ["id", "meeting_id", "raised_in_id", "position", "description", "department_id",
             "status", "is_filed", "status_note", "status_changed_at", "created_at"],
        )  # fmt: skip
        actions = w.table(
            "action items",
            ["meeting_id", "raised_in_id", "problem_id", "position", "description",
             "responsible_department_id", "owner_id", "deliverable", "start_date", "due_at",
             "importance", "state", "progress_percent", "last_progress_at", "started_at",
             "submitted_at", "completed_at", "escalated_at", "escalation_reason", "created_at",
             "updated_at"],
        )  # fmt: skip
        n_problems = sum(len(m.problems) for m in filed)
        problem_ids = iter(w.ids(Problem, n_problems))
        for m in filed:
            kickoff = m.kind == MeetingKind.KICKOFF
            late_start = dt.timedelta(minutes=rng.randint(0, 10))
            minutes.add(
                m.minutes_id, m.id, 1, MinutesState.FILED, m.starts + late_start,
                m.ends + dt.timedelta(minutes=rng.randint(-15, 15)) + late_start, m.next_at,
                "追蹤本次行動項進度與問題處理結果" if m.next_at else "", "", kickoff,
                1 if kickoff else None, m.recorder.id, m.recorder.id, m.filed, m.ends, m.filed,
            )  # fmt: skip
            for position, title in enumerate(m.agenda, start=1):
                items.add(
                    m.minutes_id, position, title,
                    rng.choice(DISCUSSIONS).format(topic=m.request.topic), rng.choice(CONCLUSIONS),
                )  # fmt: skip
            for person in m.people:
                absent = person is not m.organiser and rng.random() < 0.08
                attendance.add(
                    m.minutes_id, person.id,
                    Attendance.ABSENT if absent else Attendance.PRESENT,
                    rng.choice(ABSENCE_NOTES) if absent else "",
                )  # fmt: skip
            ids = []
            for position, (text, dept, status, note, changed) in enumerate(m.problems, start=1):
                pk = next(problem_ids)
                ids.append(pk)
                problems.add(
                    pk, m.id, m.minutes_id, position, text, dept.id, status, True, note,
                    changed, m.filed,
                )  # fmt: skip
            for (
                position, text, dept, owner, deliverable, start, due, importance, state,
                percent, progress_at, started, submitted, completed, escalated, problem,
            ) in m.actions:  # fmt: skip
                updated = max(
                    t for t in (m.filed, progress_at, submitted, completed, escalated) if t
                )
                actions.add(
                    m.id, m.minutes_id, ids[problem] if problem is not None else None, position,
                    text, dept.id, owner.id, deliverable, start, due, importance, state, percent,
                    progress_at, started, submitted, completed, escalated,
                    "跨部門無法協調資源,需上級決定。" if escalated else "", m.filed, updated,
                )  # fmt: skip

    def write_risks(self, w: _Writer) -> None:
        """The risk reports, their scope and their history, as risks_app.services would
        have written them."""
        risks = self.risks
        for k, pk in zip(risks, w.ids(Risk, len(risks)), strict=True):
            k.id = pk
        table = w.table(
            "risk reports",
            ["id", "request_id", "task_id", "title", "description", "probability", "impact",
             "level", "affected_dates", "suggested_measures", "discovered_at", "reported_at",
             "reported_by_id", "state", "owner_id", "response_due", "response_plan",
             "closed_at", "updated_at"],
        )  # fmt: skip
        tasks = w.table("risk affected tasks", ["risk_id", "task_id"])
        depts = w.table("risk affected departments", ["risk_id", "department_id"])
        history = w.table(
            "risk events",
            ["risk_id", "kind", "transition", "from_state", "to_state", "by_id", "at",
             "comment", "params"],
        )  # fmt: skip
        for k in risks:
            title, description, measures = k.texts
            table.add(
                k.id, k.request.id, k.task.id if k.task else None, title, description,
                k.probability, k.impact, k.level, "", measures, k.discovered, k.reported,
                k.reporter.id, k.state, k.owner.id if k.owner else None, k.due, k.plan,
                k.closed, k.events[-1][4],
            )  # fmt: skip
            if k.task is not None:
                tasks.add(k.id, k.task.id)
            for dept in k.depts:
                depts.add(k.id, dept.id)
            for kind, source, target, by, at, comment in k.events:
                if kind == RiskEventKind.REPORT:
                    params = {
                        "level": k.level,
                        "probability": k.probability,
                        "impact": k.impact,
                        "late": k.reported - k.discovered > risk_rules.REPORT_WITHIN,
                    }
                elif kind == RiskEventKind.ACCEPT:
                    params = {
                        "owner": k.owner.id,
                        "owner_name": self.full_names[k.owner.username],
                        "due": events.iso(k.due),
                    }
                else:
                    params = {}
                history.add(
                    k.id, kind, kind, source, target, by.id, at, comment, json.dumps(params)
                )

    def advance_sequences(self) -> None:
        for key, last in self.sequence_moves.items():
            NumberSequence.objects.filter(key=key).update(last=last)


class _Writer:
    """The tables being filled, written in _MODELS order by flush()."""

    def __init__(self, cursor, now):
        self.cursor = cursor
        self.now = now
        self.tables: dict[str, _Table] = {}

    def ids(self, model, count: int) -> list[int]:
        return _allocate_ids(self.cursor, model, count)

    def table(self, label: str, columns: Sequence[str]) -> _Table:
        model = _MODELS[label]
        self.tables[label] = _Table(model, columns, self.now)
        return self.tables[label]

    def flush(self) -> dict[str, int]:
        counts = {}
        for label in _MODELS:
            table = self.tables.get(label)
            if table is None:
                continue
            table.write(self.cursor)
            counts[label] = len(table)
        return counts


def _sequences_locked(keys: list[str]) -> dict[str, int]:
    """Create the NumberSequence rows of `keys`, lock them and return their last numbers."""
    existing = set(NumberSequence.objects.filter(key__in=keys).values_list("key", flat=True))
    NumberSequence.objects.bulk_create(
        [NumberSequence(key=key) for key in keys if key not in existing], ignore_conflicts=True
    )
    return dict(
        NumberSequence.objects.select_for_update()
        .filter(key__in=keys)
        .order_by("key")
        .values_list("key", "last")
    )


# --- small helpers ------------------------------------------------------------------------


def _cumulative(values: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _pick_index(rng: random.Random, cum: list[float]) -> int:
    return bisect.bisect_right(cum, rng.random() * cum[-1])


def _spread(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split `total` into len(weights) integers in proportion to the weights, exactly.

    Each gets at least `minimum` while the total allows; the remainder goes to the
    largest fractions."""
    count = len(weights)
    if count == 0:
        return []
    floor = minimum if total >= minimum * count else 0
    left = total - floor * count
    whole = sum(weights) or 1.0
    shares = [left * w / whole for w in weights]
    result = [floor + math.floor(s) for s in shares]
    remainder = total - sum(result)
    order = sorted(range(count), key=lambda i: shares[i] - math.floor(shares[i]), reverse=True)
    for i in order[:remainder]:
        result[i] += 1
    return result
