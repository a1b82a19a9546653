"""The closing's pages: the case page's panels, the actions behind them, the retrospective
pages, the to-do sections; each with the roles that must and must not see or act."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from requests_app.choices import RequestState
from requests_app.models import Goal
from review_app.choices import FinalOutcome, RetrospectiveState, SignatureDecision
from review_app.models import FinalAcceptance, Retrospective
from review_app.services import closing as services
from tasks_app.models import Task
from tests.review_closing_fixtures import (
    build_project,
    complete,
    open_final,
    signature_of,
)

pytestmark = pytest.mark.django_db
# The `project` fixture (build_project) comes from the shared closing fixtures.
pytest_plugins = ["tests.review_closing_fixtures"]


def _user(project, role, executive=None):
    return {
        "initiator": project.initiator,
        "mkt_head": project.mkt_head,
        "design_head": project.design_head,
        "sales_head": project.sales_head,
        "sales_deputy": project.sales_deputy,
        "designer": project.designer,
        "outsider": project.outsider,
        "outsider_head": project.outsider_head,
        "pmo": project.pmo,
        "executive": executive,
    }[role]


def _case(client, user, project):
    client.force_login(user)
    return client.get(reverse("review_app:case", args=[project.request.pk]))


# --- the case page's panel ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "open_form"),
    [
        ("initiator", 200, True),
        ("pmo", 200, True),
        ("design_head", 200, False),
        ("designer", 200, False),
        ("executive", 200, False),
        ("outsider", 404, False),
        ("outsider_head", 404, False),
    ],
)
def test_panel_offers_opening_to_the_initiator_and_the_pmo(
    client, project, executive, role, status, open_form
):
    response = _case(client, _user(project, role, executive), project)
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert 'id="closing-final"' in html
        assert ('id="final-open-form"' in html) is open_form
        assert 'data-ready="1"' in html
        assert reverse("review_app:final-acceptance-pdf", args=[project.request.pk]) in html


def test_panel_lists_open_tasks_and_offers_no_form_until_all_are_done(client, pmo):
    p = build_project(pmo, done=False)
    html = _case(client, p.initiator, p).content.decode()
    assert 'data-ready="0"' in html
    assert 'id="final-open-form"' not in html
    assert "新功能設計" in html and "用戶需求收集" in html


@pytest.mark.parametrize(
    ("role", "forms", "deputy"),
    [
        ("design_head", ["design"], False),
        ("sales_deputy", ["sales"], True),
        ("sales_head", ["sales"], False),
        ("initiator", [], False),
        ("designer", [], False),
        ("pmo", [], False),
    ],
)
def test_panel_offers_each_signer_their_departments_form(client, project, role, forms, deputy):
    final = open_final(project)
    html = _case(client, _user(project, role), project).content.decode()
    for name in ("mkt", "design", "sales"):
        department = getattr(project, name)
        assert f'data-department="{department.pk}"' in html  # the table row
        assert (f'data-sign-for="{department.pk}"' in html) is (name in forms)
    assert ("data-on-behalf-of=" in html) is deputy
    assert 'id="final-open-form"' not in html  # a round is open
    assert final.summary in html


def test_opening_through_the_page(client, project):
    client.force_login(project.initiator)
    url = reverse("review_app:final-open", args=[project.request.pk])
    response = client.post(url, {"summary": "全部交付。", "expected_state": "in_progress"})
    assert response.status_code == 302
    assert response["Location"].endswith("#closing-final")
    assert FinalAcceptance.objects.get(request=project.request).summary == "全部交付。"


def test_opening_with_an_empty_summary_shows_the_error(client, project):
    client.force_login(project.initiator)
    url = reverse("review_app:final-open", args=[project.request.pk])
    response = client.post(url, {"summary": ""})
    assert response.status_code == 400
    assert 'id="final-open-form"' in response.content.decode()
    assert not FinalAcceptance.objects.exists()


def test_opening_with_a_task_not_done_keeps_the_summary(client, pmo):
    p = build_project(pmo)
    Task.objects.filter(pk=p.tasks[0].pk).update(state="in_progress")
    client.force_login(p.initiator)
    url = reverse("review_app:final-open", args=[p.request.pk])
    response = client.post(url, {"summary": "我寫好的總結"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "新功能設計" in html
    assert "我寫好的總結" in html
    assert not FinalAcceptance.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("designer", 403), ("outsider", 404)])
def test_opening_is_refused_to_others(client, project, role, status):
    client.force_login(_user(project, role))
    url = reverse("review_app:final-open", args=[project.request.pk])
    assert client.post(url, {"summary": "x"}).status_code == status
    assert not FinalAcceptance.objects.exists()


def test_signing_and_refusing_through_the_page(client, project):
    final = open_final(project)
    design = signature_of(final, project.design)
    client.force_login(project.design_head)
    url = reverse("review_app:final-decide", args=[design.pk])
    prefix = f"sig{design.pk}"
    # Refusing without a reason: the page comes back with the error, nothing changes.
    response = client.post(url, {f"{prefix}-decision": "refuse", f"{prefix}-comment": ""})
    assert response.status_code == 400
    assert f'data-sign-for="{project.design.pk}"' in response.content.decode()
    design.refresh_from_db()
    assert design.decision == SignatureDecision.PENDING
    response = client.post(url, {f"{prefix}-decision": "sign", f"{prefix}-comment": "同意"})
    assert response.status_code == 302
    design.refresh_from_db()
    assert (design.decision, design.comment) == (SignatureDecision.SIGNED, "同意")
    # The same button again (a stale page): a conflict, shown on the page, and the
    # comment typed is kept to copy.
    response = client.post(url, {f"{prefix}-decision": "refuse", f"{prefix}-comment": "晚了一步"})
    assert response.status_code == 409
    assert 'id="final-unsent"' in response.content.decode()
    assert "晚了一步" in response.content.decode()
    (message,) = [m for m in response.context["messages"] if m.level_tag == "error"]
    assert project.design.name in message.message
    assert len(final.signatures.filter(decision=SignatureDecision.SIGNED)) == 1


def test_refusal_through_the_page_returns_the_round(client, project):
    final = open_final(project)
    sales = signature_of(final, project.sales)
    client.force_login(project.sales_deputy)
    prefix = f"sig{sales.pk}"
    response = client.post(
        reverse("review_app:final-decide", args=[sales.pk]),
        {f"{prefix}-decision": "refuse", f"{prefix}-comment": "需求報告不完整"},
    )
    assert response.status_code == 302
    final.refresh_from_db()
    assert final.outcome == FinalOutcome.RETURNED
    html = _case(client, project.initiator, project).content.decode()
    assert 'id="final-open-form"' in html  # a new round can be opened
    assert "需求報告不完整" in html


@pytest.mark.parametrize(("role", "status"), [("designer", 403), ("outsider", 404)])
def test_others_cannot_sign(client, project, role, status):
    final = open_final(project)
    design = signature_of(final, project.design)
    client.force_login(_user(project, role))
    prefix = f"sig{design.pk}"
    response = client.post(
        reverse("review_app:final-decide", args=[design.pk]),
        {f"{prefix}-decision": "sign", f"{prefix}-comment": ""},
    )
    assert response.status_code == status
    design.refresh_from_db()
    assert design.decision == SignatureDecision.PENDING


def test_last_signature_through_the_page_completes(client, project):
    final = open_final(project)
    services.final_sign(signature=signature_of(final, project.mkt), by=project.mkt_head)
    services.final_sign(signature=signature_of(final, project.sales), by=project.sales_head)
    design = signature_of(final, project.design)
    client.force_login(project.design_head)
    prefix = f"sig{design.pk}"
    response = client.post(
        reverse("review_app:final-decide", args=[design.pk]),
        {f"{prefix}-decision": "sign", f"{prefix}-comment": ""},
        follow=True,
    )
    assert response.status_code == 200
    assert project.refresh().state == RequestState.COMPLETED
    html = response.content.decode()
    assert 'data-final-outcome="signed"' in html
    assert 'data-retrospective-state="draft"' in html


# --- the retrospective pages ---------------------------------------------------------------


@pytest.fixture
def completed(project):
    complete(project)
    return project


@pytest.mark.parametrize(
    ("role", "status", "write", "file"),
    [
        ("initiator", 200, True, True),
        ("pmo", 200, True, True),
        ("design_head", 200, True, False),
        ("sales_deputy", 200, True, False),
        ("designer", 200, False, False),
        ("executive", 200, False, False),
        ("outsider", 404, False, False),
        ("outsider_head", 404, False, False),
    ],
)
def test_retrospective_page(client, completed, executive, role, status, write, file):
    client.force_login(_user(completed, role, executive))
    response = client.get(reverse("review_app:retrospective", args=[completed.request.pk]))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "月活躍用戶增長" in html
        assert ('id="retrospective-edit-link"' in html) is write
        assert ('id="retrospective-file-form"' in html) is file


def test_retrospective_page_is_404_before_completion(client, project):
    client.force_login(project.initiator)
    response = client.get(reverse("review_app:retrospective", args=[project.request.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("role", "status", "full"),
    [
        ("initiator", 200, True),
        ("pmo", 200, True),
        ("design_head", 200, False),
        ("designer", 403, None),
        ("executive", 403, None),
        ("outsider", 404, None),
    ],
)
def test_retrospective_edit_page(client, completed, executive, role, status, full):
    client.force_login(_user(completed, role, executive))
    response = client.get(reverse("review_app:retrospective-edit", args=[completed.request.pk]))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert ('id="goals-section"' in html) is full
        assert ('id="actions-section"' in html) is full
        assert f'data-contribution-field="{completed.design.pk}"' in html
        assert (f'data-contribution-field="{completed.sales.pk}"' in html) is full


def _edit_data(project, retro, **extra):
    goal = Goal.objects.get(request=project.request)
    data = {
        "version": services.retrospective_version(retro),
        "highlights": "每日站會同步進度",
        "shortcomings": "需求變更未走流程",
        f"goal_{goal.pk}": "18",
        "actions-TOTAL_FORMS": "2",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "1000",
        "actions-0-id": "",
        "actions-0-description": "建立需求變更評審機制",
        "actions-0-department": str(project.design.pk),
        "actions-1-id": "",
        "actions-1-description": "",
        "actions-1-department": "",
        f"contribution_{project.mkt.pk}": "組織站會",
        f"contribution_{project.design.pk}": "完成設計稿",
        f"contribution_{project.sales.pk}": "",
    }
    data.update(extra)
    return data


def test_initiator_saves_and_files_through_the_pages(client, completed):
    retro = Retrospective.objects.get(request=completed.request)
    client.force_login(completed.initiator)
    url = reverse("review_app:retrospective-edit", args=[completed.request.pk])
    response = client.post(url, _edit_data(completed, retro))
    assert response.status_code == 302
    retro.refresh_from_db()
    assert retro.highlights == "每日站會同步進度"
    assert [a.description for a in retro.actions.all()] == ["建立需求變更評審機制"]
    assert Goal.objects.get(request=completed.request).actual_value == Decimal("18")
    page = client.get(reverse("review_app:retrospective", args=[completed.request.pk]))
    html = page.content.decode()
    assert 'data-percent="120.0"' in html
    assert "120%" in html
    response = client.post(
        reverse("review_app:retrospective-file", args=[completed.request.pk]),
        {"file_version": services.retrospective_version(retro)},
    )
    assert response.status_code == 302
    retro.refresh_from_db()
    assert retro.state == RetrospectiveState.FILED
    # Filed: the edit page sends back to the report.
    response = client.get(url)
    assert response.status_code == 302


def test_an_invalid_value_keeps_what_was_typed(client, completed):
    retro = Retrospective.objects.get(request=completed.request)
    goal = Goal.objects.get(request=completed.request)
    client.force_login(completed.initiator)
    response = client.post(
        reverse("review_app:retrospective-edit", args=[completed.request.pk]),
        _edit_data(completed, retro, **{f"goal_{goal.pk}": "很多"}),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "每日站會同步進度" in html
    assert "建立需求變更評審機制" in html
    retro.refresh_from_db()
    assert retro.highlights == ""


def test_a_stale_edit_page_keeps_what_was_typed(client, completed):
    retro = Retrospective.objects.get(request=completed.request)
    data = _edit_data(completed, retro)
    services.retrospective_save(retrospective=retro, by=completed.pmo, highlights="PMO 先存")
    client.force_login(completed.initiator)
    response = client.post(
        reverse("review_app:retrospective-edit", args=[completed.request.pk]), data
    )
    assert response.status_code == 400
    assert "每日站會同步進度" in response.content.decode()
    retro.refresh_from_db()
    assert retro.highlights == "PMO 先存"


def test_filing_without_actual_values_goes_back_to_the_edit_page(client, completed):
    client.force_login(completed.initiator)
    response = client.post(reverse("review_app:retrospective-file", args=[completed.request.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "review_app:retrospective-edit", args=[completed.request.pk]
    )
    assert Retrospective.objects.get(request=completed.request).state == RetrospectiveState.DRAFT


@pytest.mark.parametrize(("role", "status"), [("design_head", 403), ("outsider", 404)])
def test_others_cannot_file(client, completed, role, status):
    goal = Goal.objects.get(request=completed.request)
    Goal.objects.filter(pk=goal.pk).update(actual_value=18)
    client.force_login(_user(completed, role))
    response = client.post(reverse("review_app:retrospective-file", args=[completed.request.pk]))
    assert response.status_code == status
    assert Retrospective.objects.get(request=completed.request).state == RetrospectiveState.DRAFT


def test_head_saves_their_contribution_only(client, completed):
    retro = Retrospective.objects.get(request=completed.request)
    client.force_login(completed.design_head)
    response = client.post(
        reverse("review_app:retrospective-edit", args=[completed.request.pk]),
        {
            "version": services.retrospective_version(retro),
            f"contribution_{completed.design.pk}": "完成設計稿",
            # Fields the head is not offered are ignored, not saved.
            "highlights": "不該被存",
            f"contribution_{completed.sales.pk}": "不該被存",
        },
    )
    assert response.status_code == 302
    retro.refresh_from_db()
    assert retro.highlights == ""
    assert retro.contributions.get(department=completed.design).contribution == "完成設計稿"
    assert retro.contributions.get(department=completed.sales).contribution == ""


def test_improvement_actions_link_to_a_suggestion_when_that_page_exists(client, completed):
    retro = Retrospective.objects.get(request=completed.request)
    services.retrospective_save(
        retrospective=retro, by=completed.initiator, actions=[{"description": "建立評審機制"}]
    )
    action = retro.actions.get()
    client.force_login(completed.initiator)
    html = client.get(
        reverse("review_app:retrospective", args=[completed.request.pk])
    ).content.decode()
    from django.urls import NoReverseMatch

    try:
        target = reverse("review_app:suggestion-create") + f"?action={action.pk}"
    except NoReverseMatch:
        assert "data-suggest-action" not in html
    else:
        assert f'href="{target}"' in html


# --- the to-do page ---------------------------------------------------------------------------


def _todo(client, user):
    client.force_login(user)
    response = client.get(reverse("portfolio_app:todo"))
    assert response.status_code == 200
    return response.content.decode()


def test_todo_lists_the_final_acceptance_to_open_then_to_sign(client, project):
    assert 'id="todo-final-open"' in _todo(client, project.initiator)
    assert 'id="todo-final-signatures"' not in _todo(client, project.design_head)
    final = open_final(project)
    assert 'id="todo-final-open"' not in _todo(client, project.initiator)
    html = _todo(client, project.design_head)
    assert f'data-final-signature="{signature_of(final, project.design).pk}"' in html
    html = _todo(client, project.sales_deputy)
    assert f'data-final-signature="{signature_of(final, project.sales).pk}"' in html
    assert f'data-acting-for="{project.sales_head.pk}"' in html
    for user in (project.designer, project.outsider_head, project.pmo):
        assert 'id="todo-final-signatures"' not in _todo(client, user)
    services.final_sign(signature=signature_of(final, project.design), by=project.design_head)
    assert 'id="todo-final-signatures"' not in _todo(client, project.design_head)


def test_todo_lists_the_retrospective_to_write_with_its_due_date(client, project):
    complete(project)
    retro = Retrospective.objects.get(request=project.request)
    html = _todo(client, project.initiator)
    assert f'data-retrospective="{retro.pk}"' in html
    assert retro.due_date.strftime("%Y-%m-%d") in html
    assert 'id="todo-retrospectives"' not in _todo(client, project.design_head)


def test_opening_twice_keeps_the_second_summary_to_copy(client, project):
    """The PMO opened it meanwhile: the initiator's page says so and keeps the text."""
    services.final_open(request=project.request, by=project.pmo, summary="PMO 先開")
    client.force_login(project.initiator)
    response = client.post(
        reverse("review_app:final-open", args=[project.request.pk]),
        {"summary": "我的總結", "expected_state": "in_progress"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="final-unsent"' in html and "我的總結" in html
    assert FinalAcceptance.objects.get(request=project.request).summary == "PMO 先開"
