"""Demo cases that went all the way: one archived in the knowledge base, one in acceptance.

Like the other apps' demo modules, everything goes through the services, by the people
whose job it is: the request is filed and reviewed, the breakdown signed, the tasks
started, logged and submitted, every reviewer answers (one deliverable after a 需整改
round), the departments sign the 成果驗收確認單, the retrospective is filed, participants
give feedback, the PMO handles it and evaluates a suggestion, and the PMO archives.

Idempotent: each case is keyed on its request's name and only seeded when it does not
exist yet; a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from collab import selectors as org
from collab.models import Department, User
from requests_app import services as request_services
from requests_app.models import CollabRequest
from tasks_app import services as task_services
from tasks_app.choices import RaciRole
from tasks_app.models import Task

from .choices import Verdict
from .models import AcceptanceVerdict, FinalSignature
from .services import acceptance, archive, closing, feedback

ARCHIVED = "Q3 用戶活躍度提升專案"
IN_ACCEPTANCE = "客服常見問題自助服務上線"


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _dept(code: str) -> Department:
    return Department.objects.get(code=code)


def _day(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def _file(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/plain")


def _file_request(*, name, initiator, departments, background, goals, deliverables, days):
    """File, submit and get every department's agreement, then the PMO's 確認立項."""
    request = request_services.request_save(
        by=initiator,
        data={
            "name": name,
            "background": background,
            "expected_deliverables": deliverables,
            "expected_completion": _day(days),
            "priority": "important",
            "contact": initiator.contact or "分機 1001",
        },
        departments=[
            {"department": _dept(code), "is_lead": i == 0} for i, code in enumerate(departments)
        ],
        goals=goals,
    )
    request = request_services.request_submit(request=request, by=initiator)
    for review in request.reviews.select_related("department"):
        request_services.review_decide(
            review=review,
            by=review.department.heads.first(),
            approve=True,
            comment="本部門可配合。",
        )
    request.refresh_from_db()
    request = request_services.request_confirm(request=request, by=_user("pmo"))
    for task in list(request.tasks.all()):  # the plan below replaces the committed lines
        task_services.task_remove(task=task, by=initiator)
    return CollabRequest.objects.get(pk=request.pk)


def _plan(request: CollabRequest, plan: list[dict]) -> list[Task]:
    tasks = []
    for spec in plan:
        tasks.append(
            task_services.task_save(
                request=request,
                by=request.initiator,
                data={
                    "name": spec["name"],
                    "responsible_department": _dept(spec["dept"]),
                    "start_date": _day(-20),
                    "due_at": task_services.due_at(_day(spec["due"])),
                    "deliverable": spec["deliverable"],
                    "acceptance_criteria": spec["criteria"],
                },
                raci={"R": _user(spec["R"]), "A": _user(spec["A"])},
            )
        )
    for link in request.department_links.select_related("department"):
        signer = next(
            (
                head
                for head in link.department.heads.all()
                if org.department_actor(user=head, department=link.department)
            ),
            link.department.heads.first(),
        )
        task_services.breakdown_sign(request=request, by=signer, department=link.department)
    return [Task.objects.get(pk=task.pk) for task in tasks]


def _deliver(task: Task, note: str, file_name: str, percent_note: str) -> Task:
    owner = task.assignments.get(role=RaciRole.RESPONSIBLE).user
    if task.state == "todo":
        task = task_services.task_start(task=task, by=owner)
    task_services.progress_log(
        task=Task.objects.get(pk=task.pk), by=owner, percent=80, done=percent_note
    )
    return task_services.task_submit(
        task=Task.objects.get(pk=task.pk),
        by=owner,
        completion_note=note,
        files=[_file(file_name, note)],
    )


def _answer_all(task: Task, *, rectify: str | None = None) -> None:
    """Every open seat of the task's round answers 通過; with `rectify`, the first seat asks
    for rectification instead (which closes the round)."""
    responsible = task.assignments.get(role=RaciRole.RESPONSIBLE).user_id
    pending = AcceptanceVerdict.objects.filter(
        acceptance__task=task, acceptance__outcome="open", decision=Verdict.PENDING
    ).select_related("reviewer", "department")
    for verdict in pending:
        if verdict.reviewer_id:
            by = verdict.reviewer
        else:
            by = next(
                head
                for head in verdict.department.heads.exclude(pk=responsible)
                if org.department_actor(user=head, department=verdict.department)
            )
        if rectify:
            acceptance.acceptance_answer(
                verdict=verdict,
                by=by,
                decision=Verdict.RECTIFY,
                reason=rectify,
                rectify_due_at=task_services.due_at(_day(3)),
                earlier_confirmed=True,  # the demo's reviewer means the date, earlier or not
            )
            return
        acceptance.acceptance_answer(verdict=verdict, by=by, decision=Verdict.PASSED)


def _sign_final(request: CollabRequest, *, leave: set[str] = frozenset()) -> None:
    for signature in FinalSignature.objects.filter(
        final__request=request, final__outcome="open", decision="pending"
    ).select_related("department"):
        if signature.department.code in leave:
            continue
        head = signature.department.heads.first()
        closing.final_sign(signature=signature, by=head, comment="成果符合需求,同意驗收。")


ACTIVITY_PLAN = [
    {
        "name": "用戶需求收集",
        "dept": "sales",
        "R": "sales_staff",
        "A": "mkt_head",
        "due": -12,
        "deliverable": "《用戶需求匯總報告》",
        "criteria": "覆蓋 100 條有效需求",
    },
    {
        "name": "需求評審與功能開發",
        "dept": "prod",
        "R": "prod_staff",
        "A": "mkt_head",
        "due": -4,
        "deliverable": "3 項新功能上線",
        "criteria": "功能測試通過率 100%",
    },
    {
        "name": "推廣活動策劃",
        "dept": "mkt",
        "R": "mkt_staff",
        "A": "prod_head",
        "due": -6,
        "deliverable": "《推廣活動方案》",
        "criteria": "包含用戶裂變與激勵設計",
    },
]


def seed_archived_case() -> None:
    """Q3 用戶活躍度提升專案 (seed 000's example), from request to knowledge base."""
    if CollabRequest.objects.filter(name=ARCHIVED).exists():
        return
    initiator = _user("mkt_head")
    request = _file_request(
        name=ARCHIVED,
        initiator=initiator,
        departments=["mkt", "prod", "sales"],
        background="近 3 個月用戶留存率下降 5%,需通過功能升級與活動策劃提升用戶活躍度。",
        deliverables="3 項新功能上線、推廣活動方案、用戶需求匯總報告",
        goals=[
            {
                "description": "Q3 月活躍用戶增長",
                "metric": "月活躍用戶增長率",
                "target_value": 15,
                "unit": "%",
            },
            {
                "description": "新功能使用率",
                "metric": "新功能使用率",
                "target_value": 30,
                "unit": "%",
            },
        ],
        days=-1 + 30,
    )
    tasks = _plan(request, ACTIVITY_PLAN)
    needs, build, promo = tasks
    _deliver(
        needs, "已收集 126 條有效需求並完成分類。", "用戶需求匯總報告.txt", "需求整理完成八成。"
    )
    _answer_all(needs)
    _deliver(build, "3 項新功能已上線,測試通過率 100%。", "功能測試報告.txt", "開發完成,測試中。")
    _answer_all(build)
    _deliver(promo, "推廣方案初稿,含三個線上渠道。", "推廣活動方案-v1.txt", "方案撰寫中。")
    _answer_all(promo, rectify="方案缺少用戶裂變與激勵設計,請補充後重新提交。")
    _deliver(
        Task.objects.get(pk=promo.pk),
        "補充裂變與激勵設計(邀請好友得點數),預算明細更新。",
        "推廣活動方案-v2.txt",
        "依驗收意見補充激勵設計。",
    )
    _answer_all(promo)
    request = CollabRequest.objects.get(pk=request.pk)
    closing.final_open(
        request=request,
        by=initiator,
        summary="三項任務成果均已驗收通過:需求報告、新功能上線、推廣活動方案。",
    )
    _sign_final(request)
    request = CollabRequest.objects.get(pk=request.pk)
    retrospective = request.retrospective
    goals = {goal.metric: goal for goal in request.goals.all()}
    closing.retrospective_save(
        retrospective=retrospective,
        by=initiator,
        highlights="每日站會同步進度,跨部門問題當天解決。",
        shortcomings="需求變更未走流程,導致開發返工一次。",
        actual_values={
            goals["月活躍用戶增長率"].pk: Decimal("18"),
            goals["新功能使用率"].pk: Decimal("34"),
        },
        actions=[
            {
                "description": "所有需求變更需提交《變更申請表》,經產品部評審後同步協作組。",
                "department": _dept("prod"),
            },
        ],
        contributions={
            _dept("mkt").pk: "主導推廣活動策劃,協調各部門時程。",
            _dept("prod").pk: "完成 3 項新功能開發與上線。",
            _dept("sales").pk: "收集 126 條用戶需求,提前 2 天交付。",
        },
    )
    closing.retrospective_file(retrospective=request.retrospective, by=initiator)
    given = feedback.feedback_give(
        request=request,
        by=_user("sales_staff"),
        kind="problem",
        content="市場部在開發中途才提出需提供客戶復購率數據,導致數據延遲 3 天。",
        departments=[_dept("mkt"), _dept("sales")],
        suggested_handling="需求發起階段明確所需數據及提前量。",
    )
    praise = feedback.feedback_give(
        request=request,
        by=_user("prod_staff"),
        kind="praise",
        content="銷售部及時提供客戶需求,縮短方案制定時間 2 天。",
        departments=[_dept("sales")],
    )
    feedback.feedback_handle(
        feedback=given,
        by=_user("pmo"),
        result="市場部已優化需求模板,增加「數據需求清單」欄位。",
    )
    feedback.feedback_handle(
        feedback=praise, by=_user("pmo"), result="已轉達銷售部主管並於月會表揚。"
    )
    action = request.retrospective.actions.first()
    suggestion = feedback.suggestion_create(
        by=initiator,
        data={
            "department": _dept("mkt"),
            "contact": initiator.contact,
            "pain_point": "需求變更未走流程,開發返工。",
            "proposal": "新增需求變更申請與評審環節。",
            "expected_effect": "返工次數減半。",
        },
        source_action=action,
    )
    suggestion = feedback.suggestion_transition(
        suggestion=suggestion, by=_user("pmo"), name="evaluate", comment="排入本月流程會議。"
    )
    feedback.suggestion_transition(
        suggestion=suggestion, by=_user("pmo"), name="adopt", comment="採納,下月上線。"
    )
    archive.archive_case(request=CollabRequest.objects.get(pk=request.pk), by=_user("pmo"))


FAQ_PLAN = [
    {
        "name": "常見問題分類與撰寫",
        "dept": "cs",
        "R": "cs_staff",
        "A": "ops_head",
        "due": -2,
        "deliverable": "《常見問題 80 則》",
        "criteria": "涵蓋前 20 大來電原因",
    },
    {
        "name": "自助服務頁面上線",
        "dept": "ops",
        "R": "ops_staff",
        "A": "cs_head",
        "due": 3,
        "deliverable": "自助服務頁面",
        "criteria": "行動版與桌面版皆可搜尋問題",
    },
]


def seed_case_in_acceptance() -> None:
    """客服常見問題自助服務上線: every task accepted, the 成果驗收確認單 awaiting signatures."""
    if CollabRequest.objects.filter(name=IN_ACCEPTANCE).exists():
        return
    initiator = _user("cs_head")
    request = _file_request(
        name=IN_ACCEPTANCE,
        initiator=initiator,
        departments=["cs", "ops"],
        background="客服來電量一年成長 30%,多數為重複問題,需上線自助服務分流。",
        deliverables="常見問題 80 則、自助服務頁面",
        goals=[
            {"description": "來電量下降", "metric": "月來電量降幅", "target_value": 20, "unit": "%"}
        ],
        days=20,
    )
    faq, page = _plan(request, FAQ_PLAN)
    _deliver(faq, "完成 82 則常見問題,經客服組長審閱。", "常見問題清單.txt", "完成 60 則。")
    _answer_all(faq)
    _deliver(page, "自助服務頁面已上線,支援全文搜尋。", "上線檢查表.txt", "頁面測試中。")
    _answer_all(page)
    closing.final_open(
        request=CollabRequest.objects.get(pk=request.pk),
        by=initiator,
        summary="常見問題與自助服務頁面均已驗收通過,待各部門簽署。",
    )
    _sign_final(request, leave={"ops"})


def seed_review() -> None:
    seed_archived_case()
    seed_case_in_acceptance()
