"""The closing's list-like reads run a constant number of queries (no N+1): the to-do
sections, the case page's panels, the retrospective page and the PDFs' reads."""

from __future__ import annotations

import datetime as dt
from itertools import count

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from collab.models import Delegation
from requests_app.models import CollabRequest, RequestDepartment
from review_app.choices import AcceptanceOutcome, FinalOutcome, Seat, Verdict
from review_app.models import (
    AcceptanceVerdict,
    DepartmentContribution,
    FinalAcceptance,
    FinalSignature,
    Retrospective,
    RetrospectiveAction,
    TaskAcceptance,
)
from review_app.selectors import closing as selectors
from review_app.views import closing as views
from tasks_app.choices import RaciRole
from tasks_app.models import Task, TaskAssignment
from tests.factories import DepartmentFactory, UserFactory, make_request
from tests.helpers import assert_constant_queries
from tests.review_closing_fixtures import open_final

pytestmark = pytest.mark.django_db
# The `project` fixture (build_project) comes from the shared closing fixtures.
pytest_plugins = ["tests.review_closing_fixtures"]


_n = count(1)


def _delegate(head, deputy):
    today = timezone.localdate()
    Delegation.objects.create(
        head=head,
        deputy=deputy,
        start_date=today - dt.timedelta(days=1),
        end_date=today + dt.timedelta(days=3),
    )


def _task(req, department, state="done"):
    """A task written directly, with its one R and one A (a database trigger checks)."""
    i = next(_n)
    task = Task.objects.create(
        request=req,
        sequence=i,
        number=f"Q{i:06d}",
        name=f"任務{i}",
        responsible_department=department,
        start_date=timezone.localdate(),
        due_at=timezone.now(),
        state=state,
    )
    person = UserFactory(department=department)
    TaskAssignment.objects.create(task=task, user=person, role=RaciRole.RESPONSIBLE)
    TaskAssignment.objects.create(task=task, user=person, role=RaciRole.ACCOUNTABLE)
    return task


def test_todo_context_is_constant_in_signatures_retrospectives_and_requests(pmo):
    """A deputy acting for a head of many departments, who also initiated many requests."""
    head = UserFactory()
    deputy = UserFactory()
    _delegate(head, deputy)

    def make_rows(n):
        for _ in range(n):
            department = DepartmentFactory()
            department.heads.add(head, UserFactory(department=department))
            # A final acceptance waiting on the department.
            req = make_request(initiator=UserFactory(department=department), departments=[])
            CollabRequest.objects.filter(pk=req.pk).update(state="in_progress")
            final = FinalAcceptance.objects.create(
                request=req, round=1, summary="總結", opened_by=req.initiator
            )
            FinalSignature.objects.create(final=final, department=department)
            # A retrospective the deputy must write, and a request ready for opening.
            mine = make_request(initiator=deputy, departments=[department])
            CollabRequest.objects.filter(pk=mine.pk).update(state="completed")
            Retrospective.objects.create(request=mine, due_date=timezone.localdate())
            ready = make_request(initiator=deputy, departments=[department])
            CollabRequest.objects.filter(pk=ready.pk).update(state="in_progress")
            _task(ready, department)

    def fetch():
        context = views.todo_context(deputy)
        assert context["closing_todo_count"] > 0
        assert all(item.actor.on_behalf_of == head for item in context["closing_signatures"])

    assert_constant_queries(make_rows, fetch, small=2, large=7)
    context = views.todo_context(deputy)
    assert len(context["closing_signatures"]) == 7
    assert len(context["closing_retrospectives"]) == 7
    assert len(context["closing_to_open"]) == 7


def test_case_panel_is_constant_in_departments_signatures_and_actions(project):
    """More involved departments (each with a head and a deputy's delegation to the
    viewer), more improvement actions: the same queries."""
    final = open_final(project)
    retrospective = Retrospective.objects.create(
        request=project.request, due_date=timezone.localdate()
    )
    viewer = UserFactory()

    def make_rows(n):
        for _ in range(n):
            department = DepartmentFactory()
            head = UserFactory(department=department)
            department.heads.add(head)
            _delegate(head, viewer)
            RequestDepartment.objects.create(request=project.request, department=department)
            FinalSignature.objects.create(final=final, department=department)
            DepartmentContribution.objects.create(
                retrospective=retrospective, department=department, contribution="貢獻"
            )
            RetrospectiveAction.objects.create(
                retrospective=retrospective, description="改進", department=department
            )

    def fetch():
        context = views.case_context(viewer, project.request)
        assert context["closing_final"].awaiting_viewer

    assert_constant_queries(make_rows, fetch, small=2, large=8)


def test_retrospective_page_is_constant_in_goals_actions_and_contributions(project):
    from requests_app.models import Goal

    req = project.request
    CollabRequest.objects.filter(pk=req.pk).update(state="completed")
    retrospective = Retrospective.objects.create(request=req, due_date=timezone.localdate())
    client = Client()
    client.force_login(project.initiator)
    url = reverse("review_app:retrospective", args=[req.pk])

    def make_rows(n):
        for i in range(n):
            department = DepartmentFactory()
            Goal.objects.create(
                request=req, description=f"目標{i}", metric="m", target_value=10, actual_value=12
            )
            DepartmentContribution.objects.create(
                retrospective=retrospective, department=department, contribution="貢獻"
            )
            RetrospectiveAction.objects.create(
                retrospective=retrospective, description="改進", department=department
            )

    def fetch():
        assert client.get(url).status_code == 200

    assert_constant_queries(make_rows, fetch, small=2, large=8)


def test_final_sheet_is_constant_in_tasks_and_answers(project):
    """The 成果驗收確認單's read: tasks, their acceptance rounds and answers, signatures."""
    open_final(project)

    def make_rows(n):
        for _ in range(n):
            task = _task(project.request, project.design)
            acceptance = TaskAcceptance.objects.create(
                task=task,
                round=1,
                completion_note="完成",
                submitted_by=project.designer,
                due_date=timezone.localdate(),
                outcome=AcceptanceOutcome.PASSED,
            )
            AcceptanceVerdict.objects.create(
                acceptance=acceptance,
                seat=Seat.INITIATOR,
                reviewer=project.initiator,
                decision=Verdict.PASSED,
                decided_by=project.initiator,
            )
            AcceptanceVerdict.objects.create(
                acceptance=acceptance,
                seat=Seat.HEAD,
                department=project.design,
                decision=Verdict.PASSED,
                decided_by=project.design_head,
            )

    def fetch():
        sheet = selectors.final_sheet(user=project.initiator, request_pk=project.request.pk)
        for row in sheet.tasks:
            for verdict in row.verdicts:
                str(verdict.reviewer or verdict.department)
                str(verdict.decided_by)
        for _department, signature in sheet.blocks:
            str(signature.signed_by)

    assert_constant_queries(make_rows, fetch, small=2, large=8)
    assert FinalAcceptance.objects.get(request=project.request).outcome == FinalOutcome.OPEN
