"""Fixtures of the archive tests: a completed case with a filed retrospective, and the
people around it (initiator, heads, the task's R, an outsider, the PMO)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from collab.choices import Role
from collab.numbering import next_number
from requests_app.models import CollabRequest, Goal
from review_app.choices import RetrospectiveState
from review_app.models import DepartmentContribution, Retrospective, RetrospectiveAction
from review_app.services import archive as archive_services
from tests.factories import (
    DepartmentFactory,
    UserFactory,
    make_completed_request,
    make_request,
)

CASE_NAME = "Q3用戶活躍度提升專案"


def file_retrospective(request, *, by, highlights="每日站會同步進度", **fields) -> Retrospective:
    """Give the completed request a filed retrospective (whatever the completion hook made)."""
    retrospective, _created = Retrospective.objects.update_or_create(
        request=request,
        defaults={
            "due_date": timezone.localdate() + dt.timedelta(days=7),
            "highlights": highlights,
            "shortcomings": fields.pop("shortcomings", "需求變更未走流程導致返工"),
            "state": RetrospectiveState.FILED,
            "filed_by": by,
            "filed_at": timezone.now(),
        },
    )
    return retrospective


def quick_archived_case(*, initiator, departments, pmo, archive=True, **fields) -> CollabRequest:
    """A case taken straight to 已完成 (state forced in the database) with a filed
    retrospective, then archived through the service. For lists and search, where the
    road to completion is not what is tested."""
    req = make_request(initiator=initiator, departments=departments, **fields)
    CollabRequest.objects.filter(pk=req.pk).update(
        state="completed", number=next_number("XQ"), completed_at=timezone.now()
    )
    req = CollabRequest.objects.get(pk=req.pk)
    file_retrospective(req, by=initiator)
    if archive:
        req = archive_services.archive_case(request=req, by=pmo).request
    return req


@pytest.fixture
def case(pmo):
    """A completed case of Marketing with Tech collaborating, its retrospective filed.

    Marketing initiates (initiator, mkt_head); Tech collaborates (tech_head; owner is
    the task's R, the initiator its A); Legal takes no part (outsider, legal_head).
    """
    mkt, tech, legal = DepartmentFactory(), DepartmentFactory(), DepartmentFactory()
    mkt_head = UserFactory(department=mkt, is_staff=True)
    tech_head = UserFactory(department=tech, is_staff=True)
    legal_head = UserFactory(department=legal, is_staff=True)
    mkt.heads.add(mkt_head)
    tech.heads.add(tech_head)
    legal.heads.add(legal_head)
    initiator = UserFactory(department=mkt)
    owner = UserFactory(department=tech)
    outsider = UserFactory(department=legal)
    req, tasks = make_completed_request(
        initiator=initiator,
        departments=[mkt, tech],
        pmo=pmo,
        tasks=[{"responsible": owner, "accountable": initiator, "name": "新功能開發"}],
    )
    Goal.objects.filter(request=req).update(description="月活躍用戶增長", actual_value=18)
    CollabRequest.objects.filter(pk=req.pk).update(
        name=CASE_NAME, background="近3個月用戶留存率下降5%,需通過功能升級提升活躍度。"
    )
    req = CollabRequest.objects.get(pk=req.pk)
    retrospective = file_retrospective(req, by=initiator)
    RetrospectiveAction.objects.create(
        retrospective=retrospective, description="建立需求變更評審機制", department=tech
    )
    DepartmentContribution.objects.update_or_create(
        retrospective=retrospective,
        department=tech,
        defaults={"contribution": "完成3項新功能上線"},
    )
    return SimpleNamespace(
        req=req,
        task=tasks[0],
        mkt=mkt,
        tech=tech,
        legal=legal,
        mkt_head=mkt_head,
        tech_head=tech_head,
        legal_head=legal_head,
        initiator=initiator,
        owner=owner,
        outsider=outsider,
        pmo=pmo,
        retrospective=retrospective,
    )


@pytest.fixture
def platform_admin(db):
    return UserFactory(role=Role.ADMIN, department=None, is_staff=True)
