"""Reads of the closing: the final acceptance 成果驗收確認單 and the retrospective 復盤報告.

The page and PDF reads start from requests_app.permissions (a request the person cannot
see is a 404) and fetch their related rows up front: the number of queries does not grow
with the number of departments, tasks, goals or answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from collab import selectors as org
from collab.models import Department, User
from collab.selectors import Actor
from requests_app.choices import EventKind, RequestState
from requests_app.models import CollabRequest, Goal, RequestDepartment, RequestEvent
from tasks_app.choices import TaskState
from tasks_app.models import Task, TaskDeliverable

from ..choices import FinalOutcome, RetrospectiveState, SignatureDecision
from ..models import (
    AcceptanceVerdict,
    DepartmentContribution,
    FinalAcceptance,
    FinalSignature,
    Retrospective,
    RetrospectiveAction,
    TaskAcceptance,
)
from ..permissions import closing as permissions

# --- involved departments ------------------------------------------------------------


def involved_departments_query(request: CollabRequest) -> QuerySet[Department]:
    """Return the request's collaborating departments and its initiating department.

    Each department once, by code: they sign the final acceptance and write their
    contribution to the retrospective.
    """
    links = RequestDepartment.objects.filter(request=request.pk).values("department_id")
    return Department.objects.filter(
        Q(pk=request.initiating_department_id) | Q(pk__in=Subquery(links))
    ).order_by("code", "pk")


def involved_departments(request: CollabRequest) -> list[Department]:
    return list(involved_departments_query(request))


# --- goals: target against actual -----------------------------------------------------

PERCENT_STEP = Decimal("0.1")


def achievement_percent(target: Decimal | None, actual: Decimal | None) -> Decimal | None:
    """Return actual / target × 100 rounded half up to one decimal (達成率).

    None when it cannot be computed: no actual value yet, or a target of zero (a goal
    of "0" has no ratio). The seed's example: target +15 (%), actual +18 → 120.0.
    """
    if target is None or actual is None:
        return None
    target, actual = Decimal(target), Decimal(actual)
    if target == 0:
        return None
    return (actual / target * 100).quantize(PERCENT_STEP, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class GoalRow:
    """One goal of the retrospective: its target, its actual value and the achievement."""

    goal: Goal
    percent: Decimal | None

    @property
    def status(self) -> str:
        """ "missing" (no actual yet), "undefined" (zero target), "met" (≥ 100 %) or "short"."""
        if self.goal.actual_value is None:
            return "missing"
        if self.percent is None:
            return "undefined"
        return "met" if self.percent >= 100 else "short"


def goal_rows(goals) -> list[GoalRow]:
    return [
        GoalRow(goal=g, percent=achievement_percent(g.target_value, g.actual_value)) for g in goals
    ]


# --- the final acceptance --------------------------------------------------------------


def _signatures_prefetch() -> Prefetch:
    return Prefetch(
        "signatures",
        queryset=FinalSignature.objects.select_related(
            "department", "signed_by", "on_behalf_of"
        ).prefetch_related("department__heads"),
    )


def final_rounds(request: CollabRequest) -> list[FinalAcceptance]:
    """Return every round of the request's final acceptance, newest first, with signatures."""
    return list(
        FinalAcceptance.objects.filter(request=request)
        .select_related("opened_by")
        .prefetch_related(_signatures_prefetch())
        .order_by("-round")
    )


# The lines of the request's timeline that belong to its closing (the case page's history).
CLOSING_EVENT_KINDS = (
    EventKind.FINAL_OPENED,
    EventKind.FINAL_SIGNED,
    EventKind.FINAL_RETURNED,
    EventKind.COMPLETED,
    EventKind.RETROSPECTIVE,
    EventKind.ARCHIVED,
)


def closing_history(request: CollabRequest) -> list[RequestEvent]:
    """Return the closing's lines of the request's timeline, oldest first (one query).

    Each line reads in the viewer's language (RequestEvent.text, collab.events).
    """
    return list(
        RequestEvent.objects.filter(request=request, kind__in=CLOSING_EVENT_KINDS)
        .select_related("by", "on_behalf_of", "department")
        .order_by("at", "pk")
    )


@dataclass(frozen=True)
class Readiness:
    """Whether every task is done, so that the final acceptance can be opened."""

    task_count: int
    open_tasks: list[Task]

    @property
    def done_count(self) -> int:
        return self.task_count - len(self.open_tasks)

    @property
    def ready(self) -> bool:
        return self.task_count > 0 and not self.open_tasks


def readiness(request: CollabRequest) -> Readiness:
    tasks = list(Task.objects.filter(request=request).only("pk", "number", "name", "state"))
    return Readiness(
        task_count=len(tasks), open_tasks=[t for t in tasks if t.state != TaskState.DONE]
    )


@dataclass
class SignatureRow:
    """A department's signature on the shown round, and how the viewer may answer it."""

    signature: FinalSignature
    actor: Actor | None = None
    form: object = None  # the sign / refuse form, set by the view for the viewer's rows

    @property
    def department(self) -> Department:
        return self.signature.department

    @property
    def heads(self) -> list[User]:
        return list(self.signature.department.heads.all())


@dataclass
class FinalPanel:
    """The final acceptance part of the case page."""

    request: CollabRequest
    readiness: Readiness | None
    current: FinalAcceptance | None
    rows: list[SignatureRow]
    earlier: list[FinalAcceptance]
    can_open: bool

    @property
    def signed_count(self) -> int:
        return sum(1 for r in self.rows if r.signature.decision == SignatureDecision.SIGNED)

    @property
    def awaiting_viewer(self) -> list[SignatureRow]:
        return [r for r in self.rows if r.actor is not None]


def final_panel(user: User, request: CollabRequest) -> FinalPanel:
    """Return the current round with its signatures, the earlier rounds and what `user` may do."""
    rounds = final_rounds(request)
    current = rounds[0] if rounds else None
    rows = [SignatureRow(signature=s) for s in current.signatures.all()] if current else []
    in_progress = request.state == RequestState.IN_PROGRESS
    if current is not None and current.outcome == FinalOutcome.OPEN and in_progress:
        pending = [r for r in rows if r.signature.decision == SignatureDecision.PENDING]
        actors = permissions.actors_by_department(user, [r.department for r in pending])
        for row in pending:
            row.actor = actors.get(row.department.pk)
    open_now = current is not None and current.outcome == FinalOutcome.OPEN
    return FinalPanel(
        request=request,
        readiness=readiness(request) if in_progress else None,
        current=current,
        rows=rows,
        earlier=rounds[1:],
        can_open=not open_now and permissions.can_open_final(user, request),
    )


# --- the retrospective -----------------------------------------------------------------


def retrospective_of(request: CollabRequest, *, lock: bool = False) -> Retrospective | None:
    queryset = Retrospective.objects.select_related("request", "filed_by")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    return queryset.filter(request=request).first()


@dataclass
class ActionRow:
    action: RetrospectiveAction
    suggest_url: str | None = None


@dataclass
class RetrospectiveView:
    """A retrospective with everything its page, its panel and its PDF show."""

    request: CollabRequest
    retrospective: Retrospective
    goals: list[GoalRow]
    actions: list[ActionRow]
    contributions: list[DepartmentContribution]

    @property
    def missing_actuals(self) -> list[Goal]:
        return [row.goal for row in self.goals if row.goal.actual_value is None]

    @property
    def is_filed(self) -> bool:
        return self.retrospective.state == RetrospectiveState.FILED


def retrospective_view(request: CollabRequest) -> RetrospectiveView | None:
    """Return the request's retrospective with its goals, actions and contributions, or None."""
    retrospective = (
        Retrospective.objects.filter(request=request)
        .select_related("filed_by")
        .prefetch_related(
            Prefetch("actions", queryset=RetrospectiveAction.objects.select_related("department")),
            Prefetch(
                "contributions",
                queryset=DepartmentContribution.objects.select_related("department"),
            ),
        )
        .first()
    )
    if retrospective is None:
        return None
    retrospective.request = request
    return RetrospectiveView(
        request=request,
        retrospective=retrospective,
        goals=goal_rows(Goal.objects.filter(request=request).order_by("position", "pk")),
        actions=[ActionRow(action=a) for a in retrospective.actions.all()],
        contributions=list(retrospective.contributions.all()),
    )


# --- the to-do page --------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureTodo:
    signature: FinalSignature
    actor: Actor

    @property
    def request(self) -> CollabRequest:
        return self.signature.final.request


def signatures_awaiting(user: User) -> list[SignatureTodo]:
    """Return the pending signatures of open final acceptances waiting on `user`'s departments."""
    if not (user.is_authenticated and user.is_active):
        return []
    signatures = list(
        FinalSignature.objects.filter(
            decision=SignatureDecision.PENDING,
            final__outcome=FinalOutcome.OPEN,
            final__request__state=RequestState.IN_PROGRESS,
            department__in=org.departments_actable(user=user),
        )
        .select_related("final__request__initiating_department", "final__opened_by", "department")
        .prefetch_related("department__heads")
        .order_by("final__opened_at", "pk")
    )
    actors = permissions.actors_by_department(user, [s.department for s in signatures])
    return [
        SignatureTodo(signature=s, actor=actors[s.department_id])
        for s in signatures
        if s.department_id in actors
    ]


def retrospectives_to_write(user: User) -> list[Retrospective]:
    """Return the draft retrospectives of the requests `user` initiated, soonest due first."""
    if not (user.is_authenticated and user.is_active):
        return []
    return list(
        Retrospective.objects.filter(
            state=RetrospectiveState.DRAFT, request__initiator=user, request__is_archived=False
        )
        .select_related("request")
        .order_by("due_date", "pk")
    )


def requests_awaiting_final(user: User) -> list[CollabRequest]:
    """Return `user`'s requests 進行中 whose tasks are all done and whose final acceptance
    is not open yet (a returned round counts as not open)."""
    if not (user.is_authenticated and user.is_active):
        return []
    tasks = Task.objects.filter(request=OuterRef("pk"))
    open_final = FinalAcceptance.objects.filter(request=OuterRef("pk"), outcome=FinalOutcome.OPEN)
    return list(
        CollabRequest.objects.filter(state=RequestState.IN_PROGRESS, initiator=user)
        .filter(Exists(tasks), ~Exists(tasks.exclude(state=TaskState.DONE)), ~Exists(open_final))
        .order_by("number", "pk")
    )


# --- the PDFs --------------------------------------------------------------------------


@dataclass
class TaskRow:
    """A task of the 成果驗收確認單: its deliverable and its last acceptance round."""

    task: Task
    acceptance: TaskAcceptance | None
    rounds: int
    files: list[TaskDeliverable] = field(default_factory=list)

    @property
    def verdicts(self) -> list[AcceptanceVerdict]:
        return list(self.acceptance.verdicts.all()) if self.acceptance else []


@dataclass
class FinalSheet:
    request: CollabRequest
    departments: list[Department]
    final: FinalAcceptance | None
    signatures: dict[int, FinalSignature]
    tasks: list[TaskRow]

    @property
    def blocks(self) -> list[tuple[Department, FinalSignature | None]]:
        """One signature block per involved department, in department order."""
        return [(d, self.signatures.get(d.pk)) for d in self.departments]


def _task_rows(request: CollabRequest) -> list[TaskRow]:
    verdicts = AcceptanceVerdict.objects.select_related(
        "reviewer", "department", "decided_by", "on_behalf_of"
    )
    tasks = (
        Task.objects.filter(request=request)
        .select_related("responsible_department")
        .prefetch_related(
            Prefetch(
                "acceptances",
                queryset=TaskAcceptance.objects.prefetch_related(
                    Prefetch("verdicts", queryset=verdicts)
                ).order_by("-round"),
            ),
            Prefetch("deliverables", queryset=TaskDeliverable.objects.order_by("round", "pk")),
        )
        .order_by("sequence")
    )
    rows = []
    for task in tasks:
        acceptances = list(task.acceptances.all())
        files = list(task.deliverables.all())
        last_round = max((f.round for f in files), default=None)
        rows.append(
            TaskRow(
                task=task,
                acceptance=acceptances[0] if acceptances else None,
                rounds=len(acceptances),
                files=[f for f in files if f.round == last_round],
            )
        )
    return rows


def _sheet_request(user: User, request_pk) -> CollabRequest:
    """Return the request a printed sheet is of, with what its heading shows; 404 when
    `user` may not see it."""
    return permissions.get_visible_or_404(
        user,
        request_pk,
        CollabRequest.objects.select_related("initiating_department", "initiator"),
    )


def final_sheet(*, user: User, request_pk) -> FinalSheet:
    """Return the 成果驗收確認單 of a request `user` can see: its latest round."""
    request = _sheet_request(user, request_pk)
    rounds = final_rounds(request)
    final = rounds[0] if rounds else None
    return FinalSheet(
        request=request,
        departments=involved_departments(request),
        final=final,
        signatures={s.department_id: s for s in final.signatures.all()} if final else {},
        tasks=_task_rows(request),
    )


def retrospective_sheet(*, user: User, request_pk) -> RetrospectiveView:
    """Return the 復盤報告 of a request `user` can see; 404 when it has none yet."""
    request = _sheet_request(user, request_pk)
    view = retrospective_view(request)
    if view is None:
        raise Http404
    return view
