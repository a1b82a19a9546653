"""seed_scale (devtools_app.scale): exact sizes, consistent states and times, RACI, 協作請求,
acceptance rounds waiting past due, the daily warning rules' work, the number sequences,
the refusal of a second run, --reset, and demo data left alone."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.utils import timezone

from collab import calendar
from collab import demo as collab_demo
from collab import warnings as collab_warnings
from collab.models import Department, NumberSequence, User
from devtools_app import scale
from requests_app import services as request_services
from requests_app.choices import RequestState, ReviewDecision
from requests_app.models import (
    CollabRequest,
    CollabRequestUserObjectPermission,
    DepartmentReview,
    RequestDepartment,
    RequestEvent,
)
from review_app.choices import AcceptanceOutcome, RetrospectiveState, Verdict
from review_app.models import (
    AcceptanceVerdict,
    ArchiveEntry,
    Feedback,
    Retrospective,
    TaskAcceptance,
)
from review_app.services.acceptance import ANSWER_WORKING_DAYS
from tasks_app.choices import AskStatus, RaciRole, TaskState
from tasks_app.models import CollabAsk, ProgressUpdate, Task, TaskAssignment
from tests.factories import make_approved_request, make_request

pytestmark = pytest.mark.django_db

SMALL = {"requests": 20, "tasks": 150, "updates": 300}
NOW = timezone.make_aware(dt.datetime(2026, 3, 18, 15, 30))


@pytest.fixture
def seeded():
    return scale.seed_scale(**SMALL)


@pytest.fixture
def spread():
    """Big enough for every request state to occur (a couple of seconds)."""
    return scale.seed_scale(requests=400, tasks=2500, updates=6000, seed=3)


@pytest.fixture
def busy():
    """Enough work in progress at a fixed moment for the daily rules on asks and
    acceptance answers to find some (about 100 requests in progress; a few seconds)."""
    return scale.seed_scale(requests=1000, tasks=10_000, updates=10_000, seed=3, now=NOW)


def _deferred_constraints_hold():
    """Run the deferred triggers (RACI "exactly one", foreign keys) now, as COMMIT would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# --- sizes -----------------------------------------------------------------------------


def test_makes_exactly_the_sizes_asked(seeded):
    assert CollabRequest.objects.count() == 20
    assert Task.objects.count() == 150
    assert ProgressUpdate.objects.count() == 300
    assert seeded.counts["requests"] == 20
    assert seeded.counts["tasks"] == 150
    assert seeded.counts["progress updates"] == 300
    assert seeded.seconds > 0


def test_updates_default_to_three_per_task():
    scale.seed_scale(requests=10, tasks=40)
    assert ProgressUpdate.objects.count() == 120


def test_spread_over_departments_and_states(spread):
    states = set(CollabRequest.objects.values_list("state", flat=True))
    assert {
        RequestState.DRAFT,
        RequestState.PENDING,
        RequestState.APPROVED,
        RequestState.IN_PROGRESS,
        RequestState.COMPLETED,
        RequestState.CANCELLED,
    } <= states
    task_states = set(Task.objects.values_list("state", flat=True))
    assert {TaskState.TODO, TaskState.IN_PROGRESS, TaskState.DONE} <= task_states
    departments = scale.scale_departments()
    assert 10 <= departments.count() <= 20
    assert set(CollabRequest.objects.values_list("initiating_department__code", flat=True)) == set(
        departments.values_list("code", flat=True)
    )
    for department in departments.filter(parent__isnull=False):
        assert 10 <= department.members.count() - department.heads.count() <= 30
        assert department.heads.exists()
    assert User.objects.filter(username__startswith="scale_", role="pmo").count() >= 2
    assert User.objects.filter(username__startswith="scale_", role="executive").count() >= 2
    assert scale.scale_users().filter(delegations_received__isnull=False).exists()
    # Three years, up to today; about ten tasks a request on average, varied.
    oldest = CollabRequest.objects.order_by("created_at").first().created_at
    assert timezone.now() - oldest > dt.timedelta(days=2 * 365)
    sizes = list(Task.objects.values("request").annotate(n=Count("pk")).values_list("n", flat=True))
    assert min(sizes) < 5 and max(sizes) > 15
    # Late and on-time deliveries, some risks reported, some overdue open tasks.
    done = Task.objects.filter(state=TaskState.DONE)
    late = done.filter(completed_at__gt=F("due_at")).count()
    assert 0.05 < late / done.count() < 0.3
    assert ProgressUpdate.objects.exclude(risk_level="none").exists()
    assert Task.objects.filter(
        state__in=[TaskState.TODO, TaskState.IN_PROGRESS],
        due_at__lt=timezone.now(),
        request__state=RequestState.IN_PROGRESS,
    ).exists()
    # Review-SLA work: reviews awaiting an answer, with their due date.
    assert DepartmentReview.objects.filter(
        decision=ReviewDecision.PENDING, request__state=RequestState.PENDING
    ).exists()
    assert Feedback.objects.values("kind").distinct().count() == 3
    assert ArchiveEntry.objects.exists()
    assert CollabRequestUserObjectPermission.objects.exists()


# --- consistency -----------------------------------------------------------------------


def test_every_task_has_exactly_one_r_and_one_a(spread):
    counts = Task.objects.annotate(
        r=Count("assignments", filter=Q(assignments__role=RaciRole.RESPONSIBLE)),
        a=Count("assignments", filter=Q(assignments__role=RaciRole.ACCOUNTABLE)),
    )
    assert not counts.exclude(r=1, a=1).exists()
    _deferred_constraints_hold()  # the RACI trigger and every foreign key, as at commit
    # R and A come from the responsible department, which is one of the request's.
    assert (
        not TaskAssignment.objects.filter(role__in=["R", "A"])
        .exclude(user__department=F("task__responsible_department"))
        .exists()
    )
    links = RequestDepartment.objects.filter(
        request=OuterRef("request"), department=OuterRef("responsible_department")
    )
    assert not Task.objects.exclude(Exists(links)).exists()
    # Everyone with a RACI role may see the request (the grant the service gives).
    for assignment in TaskAssignment.objects.select_related("task")[:200]:
        assert CollabRequestUserObjectPermission.objects.filter(
            user_id=assignment.user_id, content_object_id=assignment.task.request_id
        ).exists()


def test_request_states_and_times_are_consistent(spread):
    now = timezone.now()
    for request in CollabRequest.objects.prefetch_related("tasks", "reviews"):
        tasks = list(request.tasks.all())
        reviews = list(request.reviews.all())
        stamps = [request.created_at, request.submitted_at, request.approved_at]
        stamps.append(request.completed_at)
        assert all(s is None or s <= now for s in stamps), request
        if request.state == RequestState.DRAFT or (
            request.state == RequestState.CANCELLED and request.submitted_at is None
        ):
            assert request.number is None and not reviews and not tasks
            continue
        assert request.number and request.submitted_at >= request.created_at
        assert request.review_round >= 1
        if request.state in (RequestState.PENDING, RequestState.REVISION):
            assert request.approved_at is None and not tasks
        if request.state == RequestState.PENDING:
            current = [r for r in reviews if r.round == request.review_round]
            assert any(r.decision == ReviewDecision.PENDING for r in current)
        if request.state in (
            RequestState.APPROVED,
            RequestState.IN_PROGRESS,
            RequestState.COMPLETED,
        ):
            assert request.approved_at >= request.submitted_at
            current = [r for r in reviews if r.round == request.review_round]
            assert current and all(r.decision == ReviewDecision.APPROVED for r in current)
            assert all(r.decided_at <= request.approved_at for r in current)
        if request.state == RequestState.APPROVED:
            assert all(t.state == TaskState.TODO and t.started_at is None for t in tasks)
        if request.state == RequestState.IN_PROGRESS:
            assert tasks and request.completed_at is None
        if request.state == RequestState.COMPLETED:
            assert tasks and all(t.state == TaskState.DONE for t in tasks)
            assert request.completed_at >= max(t.completed_at for t in tasks)
        else:
            assert request.completed_at is None and not request.is_archived
        if request.is_archived:
            assert request.archived_at > request.completed_at
            assert ArchiveEntry.objects.filter(request=request).exists()
            assert Retrospective.objects.filter(
                request=request, state=RetrospectiveState.FILED
            ).exists()
            assert not Feedback.objects.filter(request=request, handled_at__isnull=True).exists()
        for review in reviews:
            if review.decision in (ReviewDecision.APPROVED, ReviewDecision.REJECTED):
                assert review.decided_by_id and review.created_at <= review.decided_at <= now
                if review.round == request.review_round:
                    assert review.created_at == request.submitted_at
            else:
                assert review.decided_at is None


def test_task_states_and_times_are_consistent(spread):
    now = timezone.now()
    for task in Task.objects.select_related("request"):
        assert task.number == f"{task.request.number}-{task.sequence:02d}"
        assert task.due_at.date() >= task.start_date
        if task.state == TaskState.TODO:
            assert task.started_at is None and task.submitted_at is None
        else:
            assert task.started_at <= now
        if task.state == TaskState.IN_PROGRESS:
            assert task.submitted_at is None and task.completed_at is None
        if task.state in (TaskState.SUBMITTED, TaskState.DONE):
            assert task.started_at <= task.submitted_at <= now and task.progress_percent == 100
        if task.state == TaskState.DONE:
            assert task.submitted_at <= task.completed_at <= now
        else:
            assert task.completed_at is None
    # One acceptance round per delivery: passed when done, open when submitted.
    assert (
        TaskAcceptance.objects.count()
        == Task.objects.filter(state__in=[TaskState.SUBMITTED, TaskState.DONE]).count()
    )
    assert (
        not TaskAcceptance.objects.filter(task__state=TaskState.DONE)
        .exclude(outcome=AcceptanceOutcome.PASSED)
        .exists()
    )


def test_progress_fields_follow_the_latest_update(spread):
    latest = {}
    for update in ProgressUpdate.objects.order_by("created_at", "pk"):
        previous = latest.get(update.task_id)
        assert previous is None or update.percent >= previous.percent
        latest[update.task_id] = update
    assert latest
    for task in Task.objects.all():
        update = latest.get(task.pk)
        if update is None:
            assert task.last_progress_at is None
            continue
        assert task.state != TaskState.TODO
        assert update.created_at >= task.started_at
        assert (task.progress_percent, task.last_progress_at, task.risk_level) == (
            update.percent,
            update.created_at,
            update.risk_level,
        )
        if task.submitted_at:
            assert update.created_at <= task.submitted_at


def test_asks_are_consistent(spread):
    """協作請求: made by the task's R or A while it was worked on, to another department of
    the request or a person of one; answered ones say who answered and when, open ones
    sit on tasks still to be delivered of requests approved or in progress."""
    now = timezone.now()
    asks = list(
        CollabAsk.objects.select_related("task__request", "to_user", "answered_by").annotate(
            role=Max(
                "task__assignments__role",
                filter=Q(
                    task__assignments__user=F("asked_by"),
                    task__assignments__role__in=[RaciRole.RESPONSIBLE, RaciRole.ACCOUNTABLE],
                ),
            )
        )
    )
    statuses = {ask.status for ask in asks}
    assert statuses == {AskStatus.OPEN, AskStatus.ANSWERED, AskStatus.CLOSED}
    asked_tasks = {ask.task_id for ask in asks}
    started = Task.objects.filter(started_at__isnull=False).count()
    assert 0.04 < len(asked_tasks) / started < 0.2
    departments = {}
    for link in RequestDepartment.objects.values_list("request_id", "department_id"):
        departments.setdefault(link[0], set()).add(link[1])
    late = 0
    for ask in asks:
        task, request = ask.task, ask.task.request
        assert ask.role in (RaciRole.RESPONSIBLE, RaciRole.ACCOUNTABLE), ask
        assert (ask.to_department_id is None) != (ask.to_user_id is None), ask
        asked = ask.to_department_id or ask.to_user.department_id
        assert asked in departments[request.pk] and asked != task.responsible_department_id
        assert ask.content
        assert (task.started_at or request.approved_at) <= ask.created_at <= now
        assert ask.expected_date > timezone.localdate(ask.created_at)
        if task.submitted_at is not None:
            assert ask.created_at <= task.submitted_at
        if ask.status == AskStatus.ANSWERED:
            assert ask.answer and ask.answered_by_id
            assert ask.created_at <= ask.answered_at <= (task.submitted_at or now)
            if ask.to_user_id:
                assert ask.answered_by_id == ask.to_user_id
            else:
                assert ask.answered_by.department_id == ask.to_department_id
            late += timezone.localdate(ask.answered_at) > ask.expected_date
        else:
            assert not ask.answer and ask.answered_by_id is None and ask.answered_at is None
        if ask.status == AskStatus.OPEN:
            assert task.state in (TaskState.TODO, TaskState.IN_PROGRESS)
            assert request.state in (RequestState.APPROVED, RequestState.IN_PROGRESS)
    assert late  # some answers come after the expected date
    _deferred_constraints_hold()  # the addressee check and every foreign key


def test_some_acceptance_answers_keep_the_delivery_waiting(spread):
    """Most deliveries are accepted within three days, a few after 4–15 working days;
    an open round may have one of its two seats answered already."""

    def weekdays(start, end):
        days = (start + dt.timedelta(days=n) for n in range(1, (end - start).days + 1))
        return sum(day.weekday() < 5 for day in days)

    done = [
        (timezone.localdate(submitted), timezone.localdate(completed))
        for submitted, completed in Task.objects.filter(state=TaskState.DONE).values_list(
            "submitted_at", "completed_at"
        )
    ]
    # Weekdays first: one calendar query for each slow one only.
    slow = [(s, c) for s, c in done if weekdays(s, c) > ANSWER_WORKING_DAYS]
    assert 0 < len(slow) / len(done) < 0.1
    assert all(4 <= calendar.working_days_between(s, c) <= 15 for s, c in slow)
    for acceptance in TaskAcceptance.objects.filter(
        outcome=AcceptanceOutcome.OPEN
    ).prefetch_related("verdicts"):
        verdicts = list(acceptance.verdicts.all())
        assert any(v.decision == Verdict.PENDING for v in verdicts), acceptance
        for verdict in verdicts:
            if verdict.decision == Verdict.PASSED:
                assert verdict.decided_by_id == verdict.reviewer_id
                assert acceptance.submitted_at <= verdict.decided_at <= timezone.now()
            else:
                assert verdict.decision == Verdict.PENDING and verdict.decided_at is None


def test_the_daily_rules_find_overdue_asks_and_acceptance_answers(busy):
    """At the seed's `now`, ask_overdue finds exactly the open asks past their expected
    date (telling the asker) and acceptance_overdue the open rounds past due (telling
    the seats still owing an answer, not the one that answered)."""
    items = collab_warnings.collect(now=busy.now, cadences=("daily",))
    told = {}
    for item in items:
        told.setdefault((item.rule, item.object_id), set()).add(item.recipient_id)
    today = timezone.localdate(busy.now)
    overdue_asks = CollabAsk.objects.filter(
        status=AskStatus.OPEN,
        expected_date__lt=today,
        task__request__state__in=[RequestState.APPROVED, RequestState.IN_PROGRESS],
    ).exclude(task__state=TaskState.DONE)
    assert busy.overdue_asks == overdue_asks.count() > 0
    assert busy.open_asks == CollabAsk.objects.filter(status=AskStatus.OPEN).count()
    assert {pk for rule, pk in told if rule == "ask_overdue"} == set(
        overdue_asks.values_list("pk", flat=True)
    )
    for ask in overdue_asks:
        assert ask.asked_by_id in told["ask_overdue", ask.pk]
    rounds = TaskAcceptance.objects.filter(
        outcome=AcceptanceOutcome.OPEN,
        due_date__lt=today,
        task__state=TaskState.SUBMITTED,
        task__request__state=RequestState.IN_PROGRESS,
    )
    assert busy.overdue_acceptances == rounds.count() > 0
    assert {pk for rule, pk in told if rule == "acceptance_overdue"} == set(
        rounds.values_list("task_id", flat=True)
    )
    for verdict in AcceptanceVerdict.objects.filter(acceptance__in=rounds):
        recipients = told["acceptance_overdue", verdict.acceptance.task_id]
        assert (verdict.reviewer_id in recipients) == (verdict.decision == Verdict.PENDING)


# --- numbers ---------------------------------------------------------------------------


def test_number_sequences_are_advanced_past_every_number(spread):
    numbers = CollabRequest.objects.exclude(number=None).values_list("number", flat=True)
    highest = {}
    for number in numbers:
        key, last = number[:8], int(number[8:])
        highest[key] = max(highest.get(key, 0), last)
    for key, last in highest.items():
        assert NumberSequence.objects.get(key=key).last >= last
    for number in Feedback.objects.values_list("number", flat=True):
        assert NumberSequence.objects.get(key=number[:8]).last >= int(number[8:])


def test_a_request_submitted_afterwards_gets_a_fresh_number(spread):
    this_month = f"XQ{timezone.localdate():%Y%m}"
    taken = set(CollabRequest.objects.values_list("number", flat=True))
    initiator = User.objects.get(username="scale_bd_01")
    partner = Department.objects.get(code="sc-it")
    request = make_request(
        initiator=initiator,
        departments=[initiator.department, partner],
        lead=partner,
    )
    request = request_services.request_submit(request=request, by=initiator)
    assert request.number.startswith(this_month) and request.number not in taken


def test_scale_numbers_follow_demo_numbers(db):
    collab_demo.seed_organisation()
    staff = User.objects.get(username="mkt_staff")
    demo_request = make_request(
        initiator=staff, departments=[staff.department, Department.objects.get(code="tech")]
    )
    demo_request = request_services.request_submit(request=demo_request, by=staff)
    # "now" in the month the demo number was given: scale numbers of that month follow it.
    scale.seed_scale(requests=60, tasks=300, updates=600, now=timezone.now())
    assert CollabRequest.objects.filter(number=demo_request.number).count() == 1


# --- refusal, reset, demo data ---------------------------------------------------------


def test_refuses_a_second_run_without_reset(seeded):
    with pytest.raises(scale.ScaleDataExists):
        scale.seed_scale(**SMALL)
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_scale", requests=5, tasks=10, verbosity=0)
    assert CollabRequest.objects.count() == 20


def test_reset_replaces_the_scale_data(seeded):
    before = set(CollabRequest.objects.values_list("pk", flat=True))
    report = scale.seed_scale(requests=30, tasks=200, updates=100, reset=True)
    assert report.deleted > 0
    assert CollabRequest.objects.count() == 30
    assert Task.objects.count() == 200
    assert ProgressUpdate.objects.count() == 100
    assert not CollabRequest.objects.filter(pk__in=before).exists()
    assert scale.scale_departments().count() == len(scale.SCALE_DEPARTMENTS)
    _deferred_constraints_hold()


def test_demo_data_is_untouched(db):
    collab_demo.seed_organisation()
    pmo = User.objects.get(username="pmo")
    staff = User.objects.get(username="mkt_staff")
    demo_request = make_approved_request(
        initiator=staff,
        departments=[staff.department, Department.objects.get(code="tech")],
        pmo=pmo,
    )

    def snapshot():
        return (
            list(Department.objects.exclude(code__startswith="sc-").values()),
            list(User.objects.exclude(username__startswith="scale_").values()),
            list(CollabRequest.objects.filter(pk=demo_request.pk).values()),
            list(Task.objects.filter(request=demo_request).values()),
            list(RequestEvent.objects.filter(request=demo_request).values()),
            list(DepartmentReview.objects.filter(request=demo_request).values()),
        )

    before = snapshot()
    scale.seed_scale(**SMALL)
    assert snapshot() == before
    scale.seed_scale(**SMALL, reset=True)
    assert snapshot() == before
    assert CollabRequest.objects.count() == 21


def test_reset_takes_what_the_app_wrote_about_scale_data_too(seeded):
    import uuid

    from django.contrib.contenttypes.models import ContentType

    from collab.models import WarningItem

    collab_demo.seed_organisation()
    demo_pmo = User.objects.get(username="pmo")
    staff = User.objects.get(username="mkt_staff")
    demo_request = make_request(initiator=staff, departments=[staff.department])
    kind = ContentType.objects.get_for_model(CollabRequest)

    def warn(request, recipient):
        return WarningItem.objects.create(
            rule="retrospective_overdue",
            content_type=kind,
            object_id=request.pk,
            period="2026-03-18",
            recipient=recipient,
            text=str(request),
            run=uuid.uuid4(),
        )

    scale_request = scale.scale_requests().first()
    about_scale = warn(scale_request, demo_pmo)
    about_demo = warn(demo_request, demo_pmo)
    to_scale_person = warn(demo_request, User.objects.get(username="scale_pmo1"))
    scale.seed_scale(**SMALL, reset=True)
    remaining = set(WarningItem.objects.values_list("pk", flat=True))
    assert about_demo.pk in remaining
    assert about_scale.pk not in remaining and to_scale_person.pk not in remaining


def test_reset_takes_the_asks_and_the_warnings_about_them(spread):
    import uuid

    from django.contrib.contenttypes.models import ContentType

    from collab.models import WarningItem

    collab_demo.seed_organisation()
    before = set(CollabAsk.objects.values_list("pk", flat=True))
    assert before
    ask = CollabAsk.objects.get(pk=min(before))
    warning = WarningItem.objects.create(
        rule="ask_overdue",
        content_type=ContentType.objects.get_for_model(CollabAsk),
        object_id=ask.pk,
        period="2026-03-18",
        recipient=User.objects.get(username="pmo"),
        text=str(ask),
        run=uuid.uuid4(),
    )
    report = scale.seed_scale(**SMALL, reset=True)
    assert not CollabAsk.objects.filter(pk__in=before).exists()
    assert CollabAsk.objects.count() == report.counts["collaboration asks"]
    assert not WarningItem.objects.filter(pk=warning.pk).exists()
    _deferred_constraints_hold()


def test_same_seed_same_data():
    def fingerprint():
        requests = list(
            CollabRequest.objects.order_by("created_at", "name").values_list(
                "name", "state", "created_at", "initiator__username", "submitted_at"
            )
        )
        tasks = list(Task.objects.order_by("due_at", "name").values_list("name", "state", "due_at"))
        updates = list(
            ProgressUpdate.objects.order_by("created_at", "percent").values_list(
                "percent", "risk_level", "created_at"
            )
        )
        asks = list(
            CollabAsk.objects.order_by("created_at", "content").values_list(
                "content", "status", "expected_date", "created_at", "answered_at"
            )
        )
        return requests, tasks, updates, asks

    scale.seed_scale(**SMALL, seed=11, now=NOW)
    first = fingerprint()
    scale.seed_scale(**SMALL, seed=11, now=NOW, reset=True)
    assert fingerprint() == first
    scale.seed_scale(**SMALL, seed=12, now=NOW, reset=True)
    assert fingerprint() != first


def test_the_archive_guard_is_back_on_afterwards(spread):
    archived = CollabRequest.objects.filter(is_archived=True).first()
    assert archived is not None
    with pytest.raises(DatabaseError, match="archived and read-only"), transaction.atomic():
        Task.objects.filter(request=archived).update(name="changed")


def test_impossible_sizes_are_refused(db):
    with pytest.raises(scale.ScaleError):
        scale.seed_scale(requests=0, tasks=10)
    with pytest.raises(CommandError):
        call_command("seed_scale", requests=0, tasks=10, verbosity=0)
    assert not scale.scale_data_exists()


def test_the_command_reports_what_it_made_and_how_long_it_took(db):
    out = StringIO()
    call_command("seed_scale", requests=15, tasks=80, updates=100, stdout=out)
    text = out.getvalue()
    assert "80" in text and "100" in text and " s" in text
    assert "collaboration asks" in text
    assert Task.objects.aggregate(n=Max("sequence"))["n"] >= 1
