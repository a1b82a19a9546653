"""Fixtures of the closing tests: a request 進行中 whose tasks are done, ready for its
final acceptance 成果驗收確認單, and helpers to take it to 已完成.

Test modules load the `project` fixture with
`pytest_plugins = ["tests.review_closing_fixtures"]`; a module that defines its own
`project` (another scenario) keeps it, as a module fixture overrides a plugin's."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from collab.models import Department, Notification, User
from requests_app.models import CollabRequest, Goal
from review_app.services import closing as services
from tasks_app.models import Task
from tests.factories import (
    DelegationFactory,
    DepartmentFactory,
    UserFactory,
    make_in_progress_request,
)


@dataclass
class Project:
    """市場部 initiates 「用戶活躍度提升」 with 設計部 and 銷售部; 客服部 only looks on.

    The initiating department is not among the collaborating ones, so the involved
    departments are the three of them (市場部 through its initiator). 銷售部's head
    李國華 has 陳怡君 as deputy today.
    """

    request: CollabRequest
    tasks: list[Task]
    initiator: User
    mkt: Department
    design: Department
    sales: Department
    service: Department
    mkt_head: User
    design_head: User
    sales_head: User
    sales_deputy: User
    designer: User
    outsider: User
    outsider_head: User
    pmo: User
    extra: dict = field(default_factory=dict)

    def refresh(self) -> CollabRequest:
        self.request = CollabRequest.objects.get(pk=self.request.pk)
        return self.request

    @property
    def heads(self) -> dict[Department, User]:
        return {self.mkt: self.mkt_head, self.design: self.design_head, self.sales: self.sales_head}


def finish_tasks(request: CollabRequest) -> None:
    """Mark every task done, as task acceptance would (another area's work)."""
    Task.objects.filter(request=request).update(state="done", completed_at=timezone.now())


def build_project(pmo, *, done: bool = True, code_prefix: str = "c") -> Project:
    mkt = DepartmentFactory(code=f"{code_prefix}-mkt", name=f"市場部{code_prefix}")
    design = DepartmentFactory(code=f"{code_prefix}-design", name=f"設計部{code_prefix}")
    sales = DepartmentFactory(code=f"{code_prefix}-sales", name=f"銷售部{code_prefix}")
    service = DepartmentFactory(code=f"{code_prefix}-service", name=f"客服部{code_prefix}")
    mkt_head = UserFactory(department=mkt, full_name="林美玲")
    design_head = UserFactory(department=design, full_name="張志明")
    sales_head = UserFactory(department=sales, full_name="李國華")
    outsider_head = UserFactory(department=service, full_name="周文傑")
    mkt.heads.add(mkt_head)
    design.heads.add(design_head)
    sales.heads.add(sales_head)
    service.heads.add(outsider_head)
    sales_deputy = UserFactory(department=sales, full_name="陳怡君")
    DelegationFactory(head=sales_head, deputy=sales_deputy)
    initiator = UserFactory(department=mkt, full_name="王小美")
    designer = UserFactory(department=design, full_name="黃詩涵")
    outsider = UserFactory(department=service, full_name="趙六")
    req, tasks = make_in_progress_request(
        initiator=initiator,
        departments=[design, sales],
        pmo=pmo,
        tasks=[
            {
                "responsible": designer,
                "accountable": design_head,
                "name": "新功能設計",
                "deliverable": "《新功能設計稿》",
            },
            {
                "responsible": sales_head,
                "accountable": initiator,
                "department": sales,
                "name": "用戶需求收集",
                "deliverable": "《用戶需求匯總報告》",
            },
        ],
    )
    Goal.objects.filter(request=req).update(
        description="月活躍用戶增長", metric="月活躍用戶", target_value=15, unit="%"
    )
    if done:
        finish_tasks(req)
    # The notices of the earlier steps are not what these tests look at.
    Notification.objects.all().delete()
    return Project(
        request=CollabRequest.objects.get(pk=req.pk),
        tasks=tasks,
        initiator=initiator,
        mkt=mkt,
        design=design,
        sales=sales,
        service=service,
        mkt_head=mkt_head,
        design_head=design_head,
        sales_head=sales_head,
        sales_deputy=sales_deputy,
        designer=designer,
        outsider=outsider,
        outsider_head=outsider_head,
        pmo=pmo,
    )


def open_final(project: Project, summary: str = "三項新功能已上線，需求報告已交付。"):
    return services.final_open(request=project.refresh(), by=project.initiator, summary=summary)


def signature_of(final, department):
    return final.signatures.get(department=department)


def sign_all(project: Project, final) -> None:
    """Every involved department signs, 銷售部 through the deputy; the request completes."""
    services.final_sign(signature=signature_of(final, project.mkt), by=project.mkt_head)
    services.final_sign(signature=signature_of(final, project.design), by=project.design_head)
    services.final_sign(signature=signature_of(final, project.sales), by=project.sales_deputy)


def complete(project: Project):
    final = open_final(project)
    sign_all(project, final)
    project.refresh()
    return final


# --- fixtures (test modules load them with pytest_plugins) ---------------------------


@pytest.fixture
def project(pmo):
    """The closing scenario of build_project, tasks done, no round opened yet."""
    return build_project(pmo)
