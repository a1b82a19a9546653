"""The closing in Django admin: read-only rounds, signatures and retrospectives scoped by
who sees the request, and a head signing or refusing through the services."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from collab.services import role_groups_ensure, user_sync_access
from requests_app.choices import EventKind, RequestState
from requests_app.models import RequestEvent
from review_app.choices import FinalOutcome, SignatureDecision
from review_app.models import FinalAcceptance, Retrospective
from tests.review_closing_fixtures import (
    complete,
    open_final,
    signature_of,
)

pytestmark = pytest.mark.django_db
# The `project` fixture (build_project) comes from the shared closing fixtures.
pytest_plugins = ["tests.review_closing_fixtures"]


@pytest.fixture
def admin_project(project):
    role_groups_ensure()
    for user in (project.mkt_head, project.design_head, project.sales_head, project.outsider_head):
        user_sync_access(user)
        user.refresh_from_db()
    return project


def _change(final):
    return reverse("admin:review_app_finalacceptance_change", args=[final.pk])


def _errors(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


@pytest.mark.parametrize(
    ("role", "status"),
    [("design_head", 200), ("pmo", 200), ("outsider_head", 302), ("designer", 302)],
)
def test_final_acceptance_admin_is_scoped(client, admin_project, role, status):
    """Heads of involved departments and the PMO open it; another head's list has no
    such row and the page says "not found" (a redirect); staff have no admin."""
    final = open_final(admin_project)
    client.force_login(getattr(admin_project, role))
    response = client.get(_change(final))
    assert response.status_code == status
    if role == "outsider_head":
        listing = client.get(reverse("admin:review_app_finalacceptance_changelist"))
        assert listing.status_code == 200
        assert final not in listing.context["cl"].result_list


def test_the_admin_never_edits_or_adds_rounds(client, admin_project):
    final = open_final(admin_project)
    client.force_login(admin_project.pmo)
    response = client.get(_change(final))
    assert response.context["has_change_permission"] is False
    assert response.context["has_add_permission"] is False
    assert client.get(reverse("admin:review_app_finalacceptance_add")).status_code == 403
    response = client.post(_change(final), {"summary": "改寫", "outcome": "signed"})
    assert response.status_code == 403
    final.refresh_from_db()
    assert (final.summary, final.outcome) != ("改寫", FinalOutcome.SIGNED)


def test_a_head_signs_in_admin_through_the_service(client, admin_project):
    final = open_final(admin_project)
    design = signature_of(final, admin_project.design)
    client.force_login(admin_project.design_head)
    page = client.get(_change(final))
    assert [i["signature"].pk for i in page.context["signatures_to_answer"]] == [design.pk]
    assert f'value="sign:{design.pk}"' in page.content.decode()
    response = client.post(
        _change(final), {"_final_decision": f"sign:{design.pk}", "_final_comment": "同意"}
    )
    assert response.status_code == 302
    design.refresh_from_db()
    assert (design.decision, design.signed_by, design.comment) == (
        SignatureDecision.SIGNED,
        admin_project.design_head,
        "同意",
    )
    event = RequestEvent.objects.get(request=admin_project.request, kind=EventKind.FINAL_SIGNED)
    assert event.department == admin_project.design
    # Pressing the same button again (a stale page) is refused with the service's word.
    response = client.post(_change(final), {"_final_decision": f"sign:{design.pk}"})
    assert _errors(response)
    assert RequestEvent.objects.filter(kind=EventKind.FINAL_SIGNED).count() == 1


def test_a_head_cannot_answer_for_another_department_in_admin(client, admin_project):
    final = open_final(admin_project)
    sales = signature_of(final, admin_project.sales)
    client.force_login(admin_project.design_head)
    response = client.post(_change(final), {"_final_decision": f"sign:{sales.pk}"})
    assert response.status_code == 302
    assert _errors(response)
    sales.refresh_from_db()
    assert sales.decision == SignatureDecision.PENDING


def test_refusing_in_admin_needs_the_reason_then_returns_the_round(client, admin_project):
    final = open_final(admin_project)
    mkt = signature_of(final, admin_project.mkt)
    client.force_login(admin_project.mkt_head)
    response = client.post(_change(final), {"_final_decision": f"refuse:{mkt.pk}"})
    assert _errors(response)
    final.refresh_from_db()
    assert final.outcome == FinalOutcome.OPEN
    client.post(
        _change(final), {"_final_decision": f"refuse:{mkt.pk}", "_final_comment": "成果未達標"}
    )
    final.refresh_from_db()
    assert final.outcome == FinalOutcome.RETURNED
    assert signature_of(final, admin_project.mkt).comment == "成果未達標"


def test_the_last_signature_in_admin_completes_the_request(client, admin_project):
    final = open_final(admin_project)
    from review_app.services import closing as services

    services.final_sign(signature=signature_of(final, admin_project.mkt), by=admin_project.mkt_head)
    services.final_sign(
        signature=signature_of(final, admin_project.sales), by=admin_project.sales_deputy
    )
    design = signature_of(final, admin_project.design)
    client.force_login(admin_project.design_head)
    client.post(_change(final), {"_final_decision": f"sign:{design.pk}"})
    assert admin_project.refresh().state == RequestState.COMPLETED
    assert FinalAcceptance.objects.get(pk=final.pk).outcome == FinalOutcome.SIGNED


@pytest.mark.parametrize(
    ("role", "visible"), [("design_head", True), ("pmo", True), ("outsider_head", False)]
)
def test_retrospective_and_signature_admins_are_read_only_and_scoped(
    client, admin_project, role, visible
):
    complete(admin_project)
    retro = Retrospective.objects.get(request=admin_project.request)
    client.force_login(getattr(admin_project, role))
    listing = client.get(reverse("admin:review_app_retrospective_changelist"))
    assert listing.status_code == 200
    assert (retro in listing.context["cl"].result_list) is visible
    signatures = client.get(reverse("admin:review_app_finalsignature_changelist"))
    assert signatures.status_code == 200
    assert (len(signatures.context["cl"].result_list) == 3) is visible
    if visible:
        page = client.get(reverse("admin:review_app_retrospective_change", args=[retro.pk]))
        assert page.status_code == 200
        assert page.context["has_change_permission"] is False
        assert "月活躍用戶增長" in page.content.decode()
