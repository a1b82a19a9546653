"""A deputy's sign buttons read the same on every page (issue 13, part 5).

The button names the department that signs, 「代表 銷售部 簽署」, for a head and for a
deputy alike, on the 任務分工表 and on the 成果驗收確認單; a deputy sees whom they act
for in a 代理人 note above it, never a second wording such as 「代理 李國華 簽署」.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tasks_app.models import BreakdownSignature
from tests.factories import DelegationFactory, UserFactory, make_approved_request
from tests.review_closing_fixtures import build_project, open_final

pytestmark = pytest.mark.django_db


def _button_labels(html: str, marker: str) -> list[str]:
    """Return the visible text of each button carrying `marker` (a data attribute)."""
    labels = []
    for button in re.findall(rf"<button[^>]*{marker}[^>]*>(.*?)</button>", html, re.S):
        labels.append(" ".join(re.sub(r"<[^>]+>", " ", button).split()))
    return labels


@pytest.mark.parametrize("who", ["head", "deputy"])
def test_breakdown_sign_button_names_the_department(
    who, client, staff, department, head, other_department, pmo
):
    """On the 任務分工表 the head and the deputy both get 「代表 <部門> 簽署」; only the
    deputy sees the 代理人 note naming the head, and signing records the head."""
    department.name = "銷售部"
    department.save(update_fields=["name"])
    other_head = UserFactory(department=other_department)
    other_department.heads.add(other_head)
    head.full_name = "李國華"
    head.save(update_fields=["full_name"])
    req = make_approved_request(
        initiator=staff, departments=[department, other_department], lead=department, pmo=pmo
    )
    deputy = UserFactory(department=department, full_name="陳怡君")
    DelegationFactory(head=head, deputy=deputy)
    user = deputy if who == "deputy" else head

    client.force_login(user)
    html = client.get(reverse("tasks_app:breakdown", args=[req.pk])).content.decode()
    assert _button_labels(html, "data-sign-department") == ["代表 銷售部 簽署"]
    assert "代理 李國華 簽署" not in html
    assert (f'data-on-behalf-of="{head.pk}"' in html) is (who == "deputy")

    client.post(reverse("tasks_app:sign", args=[req.pk]), {"department": department.pk})
    signature = BreakdownSignature.objects.get(department=department)
    assert signature.signed_by == user
    assert signature.on_behalf_of == (head if who == "deputy" else None)


@pytest.mark.parametrize("who", ["sales_head", "sales_deputy"])
def test_final_acceptance_sign_button_uses_the_same_wording(who, client, pmo):
    """On the 成果驗收確認單 the button reads as on the 任務分工表: 「代表 <部門> 簽署」."""
    project = build_project(pmo)
    open_final(project)
    client.force_login(getattr(project, who))
    html = client.get(reverse("review_app:case", args=[project.request.pk])).content.decode()
    assert _button_labels(html, "data-final-sign") == [f"代表 {project.sales.name} 簽署"]
    assert f"代理 {project.sales_head} 簽署" not in html
    assert (f'data-on-behalf-of="{project.sales_head.pk}"' in html) is (who == "sales_deputy")
