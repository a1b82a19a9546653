"""The Django admin for heads and the PMO: scoping, transition buttons, bulk 確認立項.

Every role is tried against the request admin (NetBox style): staff without admin
access, the head of an involved department, the head of an uninvolved one, the PMO,
an executive and a superuser. Transitions in admin must run through the services, so
the history row records the person and a refused act leaves nothing changed.
"""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.urls import reverse

from collab.choices import Role
from collab.services import user_sync_access
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.models import CollabRequest, RequestEvent
from tests.factories import UserFactory, make_admin_org, make_request
from tests.helpers import admin_form_data, assert_constant_queries
from tests.helpers import changelist_pks as listed
from tests.helpers import messages_at as sent

CHANGELIST = "admin:requests_app_collabrequest_changelist"


def change_url(req):
    return reverse("admin:requests_app_collabrequest_change", args=[req.pk])


def transition_url(req, name):
    return reverse(
        "admin:requests_app_collabrequest_transition",
        kwargs={"object_id": req.pk, "transition_name": name},
    )


def has_button(response, name: str) -> bool:
    html = response.content.decode()
    return 'name="_fsm_transition_to"' in html and f'value="{name}"' in html


def actions(response) -> list[str]:
    """Return the bulk actions the changelist offers (no form at all when there are none)."""
    form = response.context["action_form"]
    return [name for name, _label in form.fields["action"].choices] if form else []


@pytest.fixture
def org(department, head, staff):
    """Marketing (the initiator's department) and tech collaborate; ops takes no part."""
    return make_admin_org(mkt=department, mkt_head=head, staff=staff)


def pending(org, name="新品上市推廣", **fields) -> CollabRequest:
    """Return a submitted request of marketing with tech collaborating."""
    req = make_request(
        initiator=org.staff, departments=[org.mkt, org.tech], lead=org.mkt, name=name, **fields
    )
    return services.request_submit(request=req, by=org.staff)


def agree(org, req, departments=None) -> CollabRequest:
    """Have the heads of `departments` (by default all) agree in the current round."""
    heads = {org.mkt.pk: org.mkt_head, org.tech.pk: org.tech_head}
    for review in req.reviews.filter(round=req.review_round):
        if departments is None or review.department in departments:
            services.review_decide(review=review, by=heads[review.department_id], approve=True)
    req.refresh_from_db()
    return req


@pytest.fixture
def ops_request(org):
    """A request of the uninvolved department, which marketing must not see."""
    req = make_request(initiator=org.ops_staff, departments=[org.ops], name="運營部內部案")
    return services.request_submit(request=req, by=org.ops_staff)


@pytest.fixture
def platform_admin(db):
    user = UserFactory(role=Role.ADMIN)
    user_sync_access(user)
    return user


# --- who sees what -------------------------------------------------------------------


@pytest.mark.django_db
def test_head_of_involved_department_sees_only_their_requests(org, ops_request, client_for):
    """A head lists and opens their departments' requests, never another department's."""
    mine = pending(org)
    client = client_for(org.tech_head)  # tech collaborates; it did not initiate
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert listed(response) == {mine.pk}
    response = client.get(change_url(mine))
    assert response.status_code == 200
    assert response.context["original"] == mine
    # A head views; they cannot edit and get no transition buttons.
    assert response.context["has_change_permission"] is False
    assert not response.context["fsm_object_transitions"]
    assert 'name="_fsm_transition_to"' not in response.content.decode()
    # Their department's review awaits them: the page points to the portal's review.
    assert [r.department for r in response.context["reviews_awaiting_user"]] == [org.tech]
    assert reverse("requests_app:detail", args=[mine.pk]) in response.content.decode()


@pytest.mark.django_db
def test_head_of_uninvolved_department_gets_not_found(org, client_for):
    """The change page, the transition form and a posted button all treat it as missing."""
    req = agree(org, pending(org))
    client = client_for(org.ops_head)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert req.pk not in listed(response)
    for response in (
        client.get(change_url(req)),
        client.get(transition_url(req, "cancel")),
        client.post(change_url(req), {"_fsm_transition_to": "confirm"}),
    ):
        assert response.status_code == 302
        assert response.url == reverse("admin:index")
    req.refresh_from_db()
    assert req.state == RequestState.PENDING


@pytest.mark.django_db
def test_staff_have_no_admin_access(org, client_for):
    """Staff work in the portal; the admin sends them to its login page."""
    req = pending(org)
    client = client_for(org.staff)
    for url in (reverse(CHANGELIST), change_url(req)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_pmo_sees_all_and_gets_confirm_only_once_all_agreed(org, ops_request, pmo, client_for):
    """Before every department agreed, 確認立項 is not offered and a note says why."""
    req = agree(org, pending(org), departments=[org.mkt])
    client = client_for(pmo)
    response = client.get(reverse(CHANGELIST))
    assert listed(response) == {req.pk, ops_request.pk}

    response = client.get(change_url(req))
    assert response.status_code == 200
    assert not has_button(response, "confirm")
    assert has_button(response, "cancel")
    assert 'data-blocked-transition="confirm"' in response.content.decode()

    agree(org, req, departments=[org.tech])
    response = client.get(change_url(req))
    assert has_button(response, "confirm")
    assert 'data-blocked-transition="confirm"' not in response.content.decode()
    # The state the PMO saw is posted back with the button.
    assert 'name="_fsm_expected_state" value="pending"' in response.content.decode()


@pytest.mark.django_db
def test_superuser_sees_all_and_may_confirm(org, ops_request, superuser, client_for):
    req = agree(org, pending(org))
    client = client_for(superuser)
    assert listed(client.get(reverse(CHANGELIST))) == {req.pk, ops_request.pk}
    assert has_button(client.get(change_url(req)), "confirm")


@pytest.mark.django_db
def test_executive_sees_all_but_acts_on_nothing(org, ops_request, executive, client_for):
    """Executives read every request; they get neither buttons nor the bulk action."""
    req = agree(org, pending(org))
    client = client_for(executive)
    response = client.get(reverse(CHANGELIST))
    assert listed(response) == {req.pk, ops_request.pk}
    assert "confirm_selected" not in actions(response)
    response = client.get(change_url(req))
    assert response.status_code == 200
    assert 'name="_fsm_transition_to"' not in response.content.decode()


@pytest.mark.django_db
def test_start_is_not_offered_before_the_breakdown_is_signed(org, pmo, client_for):
    """已立項 → 進行中 stays closed until the tasks stage signs the breakdown."""
    req = services.request_confirm(request=agree(org, pending(org)), by=pmo)
    response = client_for(pmo).get(change_url(req))
    assert not has_button(response, "start")
    assert has_button(response, "cancel")
    assert 'data-blocked-transition="start"' in response.content.decode()


# --- transitions ---------------------------------------------------------------------


@pytest.mark.django_db
def test_pmo_confirms_in_admin_through_the_service(org, pmo, client_for):
    """The 確認立項 button moves the state and writes the history row by the PMO."""
    req = agree(org, pending(org))
    response = client_for(pmo).post(
        change_url(req), {"_fsm_transition_to": "confirm", "_fsm_expected_state": "pending"}
    )
    assert response.status_code == 302
    assert response.url == change_url(req)
    assert len(sent(response, messages.SUCCESS)) == 1
    req.refresh_from_db()
    assert req.state == RequestState.APPROVED
    assert req.approved_at is not None
    event = req.events.get(kind=EventKind.CONFIRMED)
    assert (event.by, event.from_state, event.to_state) == (pmo, "pending", "approved")


@pytest.mark.django_db
def test_head_pressing_confirm_is_refused(org, client_for):
    """A head who posts the button gets the service's refusal and nothing changes."""
    req = agree(org, pending(org))
    response = client_for(org.mkt_head).post(change_url(req), {"_fsm_transition_to": "confirm"})
    assert response.status_code == 302
    assert len(sent(response, messages.ERROR)) == 1
    assert not sent(response, messages.SUCCESS)
    req.refresh_from_db()
    assert req.state == RequestState.PENDING
    assert not req.events.filter(kind=EventKind.CONFIRMED).exists()


@pytest.mark.django_db
def test_confirm_before_all_agreed_is_refused(org, pmo, client_for):
    """Posting a button the page did not offer gets the guard's refusal."""
    req = agree(org, pending(org), departments=[org.mkt])
    response = client_for(pmo).post(change_url(req), {"_fsm_transition_to": "confirm"})
    assert len(sent(response, messages.ERROR)) == 1
    req.refresh_from_db()
    assert req.state == RequestState.PENDING


@pytest.mark.django_db
def test_button_on_a_page_that_is_out_of_date_is_a_conflict(org, pmo, client_for):
    """The state the person saw travels with the button; if it moved on, nothing happens."""
    req = agree(org, pending(org))
    response = client_for(pmo).post(
        change_url(req), {"_fsm_transition_to": "confirm", "_fsm_expected_state": "revision"}
    )
    assert len(sent(response, messages.ERROR)) == 1
    req.refresh_from_db()
    assert req.state == RequestState.PENDING


@pytest.mark.django_db
def test_unknown_or_portal_only_transitions_are_refused(org, pmo, client_for):
    """Only the admin's transitions can be posted: not submit, not a method name."""
    req = pending(org)
    client = client_for(pmo)
    for name in ("submit", "send_back", "delete", "save"):
        response = client.post(change_url(req), {"_fsm_transition_to": name}, follow=True)
        assert response.redirect_chain == [(change_url(req), 302)]
        assert len(sent(response, messages.ERROR)) == 1
    req.refresh_from_db()
    assert req.state == RequestState.PENDING


@pytest.mark.django_db
def test_cancel_asks_for_a_reason(org, pmo, client_for):
    """取消 goes through the transition form; a blank reason is refused, a reason cancels."""
    req = pending(org)
    client = client_for(pmo)
    response = client.post(change_url(req), {"_fsm_transition_to": "cancel"})
    assert response.status_code == 302
    assert response.url == transition_url(req, "cancel")

    response = client.get(response.url)
    assert response.status_code == 200
    assert "reason" in response.context["transition_form"].fields

    response = client.post(transition_url(req, "cancel"), {"reason": "   "})
    assert response.status_code == 200
    assert "reason" in response.context["transition_form"].errors
    req.refresh_from_db()
    assert req.state == RequestState.PENDING

    response = client.post(
        transition_url(req, "cancel"), {"reason": "預算凍結", "_fsm_expected_state": "pending"}
    )
    assert response.status_code == 302
    assert response.url == change_url(req)
    req.refresh_from_db()
    assert req.state == RequestState.CANCELLED
    assert req.cancel_reason == "預算凍結"
    event = req.events.get(kind=EventKind.CANCELLED)
    assert (event.by, event.comment) == (pmo, "預算凍結")


@pytest.mark.django_db
def test_cancel_form_is_not_offered_to_a_head(org, client_for):
    """A head who is not the initiator cannot open the cancel form or cancel."""
    req = pending(org)
    client = client_for(org.tech_head)
    response = client.get(transition_url(req, "cancel"))
    assert response.status_code == 302
    assert response.url == change_url(req)
    response = client.post(transition_url(req, "cancel"), {"reason": "不做了"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.state == RequestState.PENDING


# --- editing and deleting ------------------------------------------------------------


@pytest.mark.django_db
def test_pmo_edits_a_draft_through_the_service(org, pmo, client_for):
    """Editing in admin is allowed while can_edit holds and is logged like a portal edit."""
    req = make_request(initiator=org.staff, departments=[org.mkt, org.tech], lead=org.mkt)
    client = client_for(pmo)
    response = client.get(change_url(req))
    assert response.context["has_change_permission"] is True
    data = admin_form_data(response)
    data["name"] = "新品上市推廣(修訂)"
    data["_save"] = "1"
    response = client.post(change_url(req), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    req.refresh_from_db()
    assert req.name == "新品上市推廣(修訂)"
    assert req.state == RequestState.DRAFT
    assert set(req.departments.all()) == {org.mkt, org.tech}
    assert req.goals.count() == 1
    assert req.events.filter(kind=EventKind.EDITED, by=pmo).exists()


@pytest.mark.django_db
def test_edit_refused_by_the_service_changes_nothing(org, pmo, client_for):
    """The service's refusal (two lead departments) comes back as a message; no log."""
    from django.contrib.admin.models import LogEntry

    req = make_request(initiator=org.staff, departments=[org.mkt, org.tech], lead=org.mkt)
    client = client_for(pmo)
    data = admin_form_data(client.get(change_url(req)))
    data["name"] = "不該存下"
    for index in range(2):
        data[f"department_links-{index}-is_lead"] = "on"
    data["_save"] = "1"
    response = client.post(change_url(req), data)
    assert response.status_code == 302
    assert response.url == change_url(req)
    assert len(sent(response, messages.ERROR)) == 1
    assert not sent(response, messages.SUCCESS)
    req.refresh_from_db()
    assert req.name == "新品上市推廣"
    assert req.department_links.filter(is_lead=True).get().department == org.mkt
    assert not LogEntry.objects.filter(object_id=str(req.pk)).exists()


@pytest.mark.django_db
def test_submitted_request_is_read_only_in_admin(org, pmo, client_for):
    """Once submitted, nobody edits the request in admin; the state is never a field."""
    req = pending(org)
    client = client_for(pmo)
    response = client.get(change_url(req))
    assert response.context["has_change_permission"] is False
    assert "state" not in response.context["adminform"].form.fields
    response = client.post(change_url(req), {"name": "改名", "_save": "1"})
    assert response.status_code == 403
    req.refresh_from_db()
    assert req.name == "新品上市推廣"


@pytest.mark.django_db
def test_nothing_is_deleted_in_admin(org, superuser, client_for):
    """Requests are cancelled, never deleted; not even a superuser may delete one."""
    req = pending(org)
    client = client_for(superuser)
    response = client.get(reverse("admin:requests_app_collabrequest_delete", args=[req.pk]))
    assert response.status_code == 403
    assert "delete_selected" not in actions(client.get(reverse(CHANGELIST)))
    assert CollabRequest.objects.filter(pk=req.pk).exists()


# --- the bulk 確認立項 -----------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_confirm_confirms_the_eligible_and_names_the_skipped(org, pmo, client_for):
    """Only the all-agreed request is confirmed; each other one is named with its reason."""
    eligible = agree(org, pending(org, name="甲案"))
    half = agree(org, pending(org, name="乙案"), departments=[org.mkt])
    draft = make_request(initiator=org.staff, departments=[org.mkt], name="丙案")
    response = client_for(pmo).post(
        reverse(CHANGELIST),
        {
            "action": "confirm_selected",
            "_selected_action": [eligible.pk, half.pk, draft.pk],
        },
    )
    assert response.status_code == 302
    states = dict(CollabRequest.objects.values_list("name", "state"))
    assert states == {
        "甲案": RequestState.APPROVED,
        "乙案": RequestState.PENDING,
        "丙案": RequestState.DRAFT,
    }
    assert RequestEvent.objects.get(kind=EventKind.CONFIRMED).by == pmo
    skipped = sent(response, messages.WARNING)
    assert len(skipped) == 2
    assert any("乙案" in text for text in skipped)
    assert any("丙案" in text for text in skipped)
    confirmed = sent(response, messages.SUCCESS)
    assert len(confirmed) == 1 and "甲案" in confirmed[0]


@pytest.mark.django_db
def test_bulk_confirm_is_offered_only_to_confirmers(org, pmo, client_for):
    """Heads do not get the action; posting it anyway confirms nothing."""
    req = agree(org, pending(org))
    assert "confirm_selected" in actions(client_for(pmo).get(reverse(CHANGELIST)))

    client = client_for(org.mkt_head)
    assert "confirm_selected" not in actions(client.get(reverse(CHANGELIST)))
    client.post(reverse(CHANGELIST), {"action": "confirm_selected", "_selected_action": [req.pk]})
    req.refresh_from_db()
    assert req.state == RequestState.PENDING


# --- query counts --------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["mkt_head", "pmo"])
def test_changelist_queries_do_not_grow_with_rows(org, pmo, client_for, who):
    """The request list runs as many queries for 8 requests as for 2, head or PMO."""
    client = client_for(pmo if who == "pmo" else org.mkt_head)

    def make_rows(n):
        for i in range(n):
            pending(org, name=f"案{i}")

    def fetch():
        response = client.get(reverse(CHANGELIST))
        assert response.status_code == 200

    assert_constant_queries(make_rows, fetch)


# --- department reviews, calendar, notifications -------------------------------------


@pytest.mark.django_db
def test_head_finds_pending_reviews_with_a_link_to_the_portal(org, ops_request, client_for):
    """The review list is scoped like the requests and filters what awaits the head."""
    req = pending(org)
    client = client_for(org.tech_head)
    url = reverse("admin:requests_app_departmentreview_changelist")
    response = client.get(url)
    assert response.status_code == 200
    assert {r.request_id for r in response.context["cl"].result_list} == {req.pk}

    response = client.get(url, {"awaiting_me": "1"})
    [review] = response.context["cl"].result_list
    assert review.department == org.tech
    assert reverse("requests_app:detail", args=[req.pk]) in response.content.decode()

    response = client.get(reverse("admin:requests_app_departmentreview_change", args=[review.pk]))
    assert response.status_code == 200
    other = ops_request.reviews.get()
    response = client.get(reverse("admin:requests_app_departmentreview_change", args=[other.pk]))
    assert response.status_code == 302


@pytest.mark.django_db
def test_notifications_are_listed_for_platform_admins_only(org, pmo, platform_admin, client_for):
    """Platform admins read the in-app notifications; the PMO does not get the page."""
    pending(org)  # notifies the heads
    url = reverse("admin:collab_notification_changelist")
    assert client_for(pmo).get(url).status_code == 403
    response = client_for(platform_admin).get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 2  # marketing's and tech's heads
    assert response.context["has_add_permission"] is False


@pytest.mark.django_db
def test_calendar_days_are_managed_in_admin(superuser, client_for):
    client = client_for(superuser)
    response = client.post(
        reverse("admin:collab_calendarday_add"),
        {"date": "2025-02-08", "is_workday": "on", "name": "補班"},
    )
    assert response.status_code == 302
    response = client.get(reverse("admin:collab_calendarday_changelist"), {"is_workday__exact": 1})
    assert [str(day) for day in response.context["cl"].result_list] == ["2025-02-08 補班"]
