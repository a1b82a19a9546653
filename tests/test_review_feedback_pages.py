"""The feedback and suggestion pages, the case panel, the to-do section and the admin.

Every view is tried with the roles that must and must not reach it: anonymous, an
outsider, a participant, the initiator, a head of a department concerned, the PMO, an
executive and a platform admin. List pages get a query-count test.
"""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from collab.services import user_sync_access
from requests_app.models import CollabRequest
from review_app.choices import FeedbackKind, SuggestionState
from review_app.models import Feedback, FeedbackInvitation, Suggestion
from review_app.services import feedback as services
from tests.factories import UserFactory, make_request
from tests.helpers import assert_constant_queries
from tests.review_feedback_cases import retrospective_action

pytest_plugins = ["tests.review_feedback_fixtures"]
pytestmark = pytest.mark.django_db

SUGGESTION = {
    "contact": "內線:8888",
    "pain_point": "線下簽字耗時。",
    "proposal": "電子簽批。",
    "expected_effect": "四小時內完成。",
    "notes": "",
}


def give(case, by, **fields):
    data = {"kind": FeedbackKind.PROBLEM, "content": "數據延遲三天。", **fields}
    return services.feedback_give(request=case, by=by, **data)


def sent(response, level=messages.ERROR) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level == level]


def suggest(by, **extra):
    return services.suggestion_create(
        by=by, data={**SUGGESTION, "department": by.department, **extra}
    )


@pytest.fixture
def feedback(case, cast):
    """A problem reported by Tech's R about Marketing."""
    return give(case, cast.responsible, departments=[cast.mkt])


# --- my feedback forms ----------------------------------------------------------------------


def test_anonymous_is_sent_to_login_everywhere(client, case, feedback):
    suggestion = suggest(feedback.author)
    for url in (
        reverse("review_app:feedback-mine"),
        reverse("review_app:feedback-list"),
        reverse("review_app:feedback-give", args=[case.pk]),
        feedback.get_absolute_url(),
        reverse("review_app:suggestion-list"),
        reverse("review_app:suggestion-create"),
        suggestion.get_absolute_url(),
        reverse("review_app:suggestion-edit", args=[suggestion.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url, url


def test_my_forms_list_pending_and_given(client_for, case, cast):
    """A participant sees their form with a link to fill it in; once answered, the form is
    marked answered and the feedback is listed; someone never asked sees none."""
    client = client_for(cast.consulted)
    page = client.get(reverse("review_app:feedback-mine")).content.decode()
    invitation = FeedbackInvitation.objects.get(request=case, user=cast.consulted)
    assert f'data-invitation="{invitation.pk}" data-answered="no"' in page
    assert reverse("review_app:feedback-give", args=[case.pk]) in page
    given = give(case, cast.consulted)
    page = client.get(reverse("review_app:feedback-mine")).content.decode()
    assert f'data-invitation="{invitation.pk}" data-answered="yes"' in page
    assert f'data-feedback="{given.pk}"' in page
    page = client_for(cast.outsider).get(reverse("review_app:feedback-mine")).content.decode()
    assert 'id="invitations-empty"' in page and "data-invitation=" not in page


def test_a_head_sees_the_feedback_about_their_department_on_their_page(client_for, feedback, cast):
    page = client_for(cast.mkt_head).get(reverse("review_app:feedback-mine")).content.decode()
    assert 'id="feedback-concerning"' in page and f'data-feedback="{feedback.pk}"' in page
    page = client_for(cast.tech_head).get(reverse("review_app:feedback-mine")).content.decode()
    assert f'data-feedback="{feedback.pk}"' not in page


def test_my_forms_page_queries_do_not_grow_with_rows(client_for, case, cast):
    """More invitations and more feedback given do not add queries."""
    client = client_for(cast.tech_head)
    dept = cast.tech

    def make_rows(n):
        for _ in range(n):
            other = make_request(initiator=cast.initiator, departments=[dept])
            FeedbackInvitation.objects.create(request=other, user=cast.tech_head)
            give(case, cast.tech_head, departments=[cast.mkt, cast.tech])

    assert_constant_queries(
        make_rows, lambda: client.get(reverse("review_app:feedback-mine")), small=1, large=5
    )


# --- the PMO's list ---------------------------------------------------------------------------


def test_all_feedback_list_is_for_pmo_executives_and_admins(client_for, feedback, cast):
    url = reverse("review_app:feedback-list")
    for person in (cast.pmo, cast.executive, cast.admin):
        response = client_for(person).get(url)
        assert response.status_code == 200
        assert f'data-feedback="{feedback.pk}"' in response.content.decode()
    for person in (cast.mkt_head, cast.responsible, cast.initiator, cast.outsider):
        assert client_for(person).get(url).status_code == 403


def test_all_feedback_filters(client_for, case, cast):
    """Type, handled or not, department concerned and month each narrow the list."""
    problem = give(case, cast.responsible, departments=[cast.mkt])
    praise = give(case, cast.informed, kind=FeedbackKind.PRAISE, departments=[cast.tech])
    services.feedback_handle(feedback=praise, by=cast.pmo, result="已轉達。")
    client = client_for(cast.pmo)
    url = reverse("review_app:feedback-list")

    def shown(**query):
        html = client.get(url, query).content.decode()
        return {fb.pk for fb in (problem, praise) if f'data-feedback="{fb.pk}"' in html}

    assert shown() == {problem.pk, praise.pk}
    assert shown(kind="praise") == {praise.pk}
    assert shown(handled="no") == {problem.pk}
    assert shown(handled="yes") == {praise.pk}
    assert shown(department=cast.mkt.pk) == {problem.pk}
    this_month = timezone.localdate().strftime("%Y-%m")
    assert shown(month=this_month) == {problem.pk, praise.pk}
    assert shown(month="2001-01") == set()
    assert shown(month="garbage", kind="nonsense") == {problem.pk, praise.pk}


def test_all_feedback_list_queries_do_not_grow_with_rows(client_for, case, cast):
    client = client_for(cast.pmo)
    authors = [cast.responsible, cast.informed, cast.consulted, cast.tech_head]

    def make_rows(n):
        for i in range(n):
            fb = give(case, authors[i % len(authors)], departments=[cast.mkt, cast.tech])
            if i % 2:
                services.feedback_handle(feedback=fb, by=cast.pmo, result="已處理。")

    assert_constant_queries(
        make_rows, lambda: client.get(reverse("review_app:feedback-list")), small=2, large=8
    )


# --- giving feedback --------------------------------------------------------------------------


def test_participant_gives_feedback_through_the_form(client_for, case, cast):
    client = client_for(cast.informed)
    url = reverse("review_app:feedback-give", args=[case.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert set(page.context["form"].fields["departments"].queryset) == {
        cast.plan,
        cast.mkt,
        cast.tech,
    }
    response = client.post(
        url,
        {
            "kind": "praise",
            "content": "銷售部李*及時提供客戶需求。",
            "departments": [cast.tech.pk],
            "suggested_handling": "",
        },
    )
    assert response.status_code == 302 and response.url == url
    feedback = Feedback.objects.get(author=cast.informed)
    assert feedback.kind == "praise" and list(feedback.departments.all()) == [cast.tech]
    assert feedback.number.startswith("FK")


def test_the_form_keeps_what_was_typed_and_shows_the_errors(client_for, case, cast):
    client = client_for(cast.informed)
    url = reverse("review_app:feedback-give", args=[case.pk])
    response = client.post(url, {"kind": "", "content": "", "suggested_handling": "先評估"})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"kind", "content"}
    assert "先評估" in response.content.decode()
    response = client.post(
        url, {"kind": "problem", "content": "問題", "departments": [cast.other.pk]}
    )
    assert "departments" in response.context["form"].errors
    assert not Feedback.objects.exists()


def test_the_form_is_only_for_invited_participants(client_for, case, cast):
    """A colleague who sees the case but was not asked gets 403, as do the PMO and an
    executive; someone who cannot see the case gets 404."""
    url = reverse("review_app:feedback-give", args=[case.pk])
    for person in (cast.colleague, cast.pmo, cast.executive):
        assert client_for(person).get(url).status_code == 403
        assert client_for(person).post(url, {"kind": "praise", "content": "x"}).status_code == 403
    assert client_for(cast.outsider).get(url).status_code == 404
    assert not Feedback.objects.exists()


def test_the_form_is_closed_once_the_case_is_archived(client_for, case, cast):
    CollabRequest.objects.filter(pk=case.pk).update(is_archived=True)
    client = client_for(cast.informed)
    response = client.post(
        reverse("review_app:feedback-give", args=[case.pk]), {"kind": "praise", "content": "x"}
    )
    assert response.status_code == 302
    assert not Feedback.objects.exists()


# --- one piece of feedback and its handling ---------------------------------------------------


def test_feedback_page_per_role(client_for, feedback, cast):
    """Author, PMO, executive, admin and the concerned head read it; the PMO alone gets
    the handling form; the initiator, another head and an outsider get 404."""
    url = feedback.get_absolute_url()
    for person in (cast.responsible, cast.mkt_head, cast.executive):
        response = client_for(person).get(url)
        assert response.status_code == 200
        assert 'id="handling-form"' not in response.content.decode()
    for person in (cast.pmo, cast.admin):
        response = client_for(person).get(url)
        assert response.status_code == 200 and 'id="handling-form"' in response.content.decode()
    for person in (cast.initiator, cast.tech_head, cast.outsider):
        assert client_for(person).get(url).status_code == 404


def test_pmo_records_handling_on_the_page(client_for, feedback, cast):
    url = reverse("review_app:feedback-handle", args=[feedback.pk])
    client = client_for(cast.pmo)
    response = client.post(url, {"handling_result": "", "seen": ""})
    assert (
        response.status_code == 200
        and "handling_result" in response.context["handling_form"].errors
    )
    response = client.post(url, {"handling_result": "已新增數據需求清單欄位。", "seen": ""})
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert feedback.handled_by == cast.pmo
    page = client.get(feedback.get_absolute_url()).content.decode()
    assert "已新增數據需求清單欄位。" in page and 'id="handling-by"' in page
    # A second PMO whose page predates the handling is told instead of overwriting it.
    response = client_for(UserFactory(role="pmo")).post(
        url, {"handling_result": "另一個結果", "seen": ""}
    )
    assert response.status_code == 200 and sent(response)
    feedback.refresh_from_db()
    assert feedback.handling_result == "已新增數據需求清單欄位。"


def test_handling_is_refused_to_others(client_for, feedback, cast):
    url = reverse("review_app:feedback-handle", args=[feedback.pk])
    data = {"handling_result": "x", "seen": ""}
    for person in (cast.mkt_head, cast.responsible, cast.executive):
        assert client_for(person).post(url, data).status_code == 403
    for person in (cast.outsider, cast.initiator):
        assert client_for(person).post(url, data).status_code == 404
    feedback.refresh_from_db()
    assert feedback.handled_at is None


# --- suggestions ------------------------------------------------------------------------------


def test_suggestion_pages_are_open_to_staff(client_for, cast):
    suggestion = suggest(cast.accountable)
    for person in (cast.outsider, cast.colleague, cast.pmo, cast.executive):
        client = client_for(person)
        assert client.get(reverse("review_app:suggestion-list")).status_code == 200
        assert client.get(suggestion.get_absolute_url()).status_code == 200
    html = client_for(cast.outsider).get(reverse("review_app:suggestion-list")).content.decode()
    assert f'data-suggestion="{suggestion.pk}"' in html


def test_suggestion_list_filters_and_queries(client_for, cast):
    mine = suggest(cast.accountable)
    theirs = suggest(cast.outsider)
    services.suggestion_transition(suggestion=theirs, name="evaluate", by=cast.pmo)
    client = client_for(cast.accountable)
    url = reverse("review_app:suggestion-list")
    html = client.get(url, {"mine": "on"}).content.decode()
    assert f'data-suggestion="{mine.pk}"' in html and f'data-suggestion="{theirs.pk}"' not in html
    html = client.get(url, {"state": "evaluating"}).content.decode()
    assert f'data-suggestion="{theirs.pk}"' in html and f'data-suggestion="{mine.pk}"' not in html
    people = [cast.accountable, cast.outsider, cast.colleague]

    def make_rows(n):
        for i in range(n):
            suggest(people[i % 3])

    assert_constant_queries(make_rows, lambda: client.get(url), small=2, large=8)


def test_create_needs_a_department(client_for, cast):
    nobody = UserFactory(department=None)
    assert client_for(nobody).get(reverse("review_app:suggestion-create")).status_code == 403
    response = client_for(cast.colleague).post(
        reverse("review_app:suggestion-create"), {**SUGGESTION, "department": cast.plan.pk}
    )
    suggestion = Suggestion.objects.get()
    assert response.status_code == 302 and response.url == suggestion.get_absolute_url()
    assert suggestion.proposer == cast.colleague and suggestion.request is None


def test_create_from_an_action_prefills_and_links(client_for, case, cast):
    action = retrospective_action(case)
    url = reverse("review_app:suggestion-create") + f"?action={action.pk}"
    client = client_for(cast.accountable)
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"].initial["proposal"] == action.description
    response = client.post(url, {**SUGGESTION, "department": cast.mkt.pk})
    suggestion = Suggestion.objects.get()
    assert response.status_code == 302
    assert suggestion.source_action == action and suggestion.request == case
    assert client_for(cast.outsider).get(url).status_code == 404
    bogus = reverse("review_app:suggestion-create") + "?action=abc"
    assert client.get(bogus).status_code == 404


def test_create_from_feedback_prefills_and_links(client_for, feedback, cast):
    url = reverse("review_app:suggestion-create") + f"?feedback={feedback.pk}"
    client = client_for(cast.mkt_head)  # a head of a department concerned reads it
    page = client.get(url)
    assert page.context["form"].initial["pain_point"] == feedback.content
    client.post(url, {**SUGGESTION, "department": cast.mkt.pk})
    suggestion = Suggestion.objects.get()
    assert suggestion.source_feedback == feedback and suggestion.request == feedback.request
    assert client_for(cast.initiator).get(url).status_code == 404
    detail = client_for(cast.pmo).get(feedback.get_absolute_url()).content.decode()
    assert suggestion.get_absolute_url() in detail


def test_edit_page_for_the_proposer_while_submitted(client_for, cast):
    suggestion = suggest(cast.accountable)
    url = reverse("review_app:suggestion-edit", args=[suggestion.pk])
    assert client_for(cast.colleague).get(url).status_code == 403
    assert client_for(cast.pmo).get(url).status_code == 403
    client = client_for(cast.accountable)
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {**SUGGESTION, "department": cast.mkt.pk, "proposal": "改", "expected_state": "submitted"},
    )
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.proposal == "改"
    services.suggestion_transition(suggestion=suggestion, name="evaluate", by=cast.pmo)
    response = client.get(url)
    assert response.status_code == 302 and sent(response)


def test_transitions_on_the_page_for_the_pmo_only(client_for, cast):
    suggestion = suggest(cast.accountable)
    url = reverse("review_app:suggestion-transition", args=[suggestion.pk])
    detail = client_for(cast.accountable).get(suggestion.get_absolute_url()).content.decode()
    assert 'id="suggestion-actions"' not in detail
    for person in (cast.accountable, cast.mkt_head, cast.executive):
        response = client_for(person).post(
            url, {"transition": "evaluate", "expected_state": "submitted"}
        )
        assert response.status_code == 403
    client = client_for(cast.pmo)
    detail = client.get(suggestion.get_absolute_url()).content.decode()
    assert 'data-transition="evaluate"' in detail and 'data-transition="adopt"' not in detail
    response = client.post(url, {"transition": "evaluate", "expected_state": "submitted"})
    assert response.status_code == 302
    response = client.post(
        url, {"transition": "adopt", "expected_state": "evaluating", "comment": ""}
    )
    assert response.status_code == 200
    forms = {t["name"]: t["form"] for t in response.context["transitions"]}
    assert "comment" in forms["adopt"].errors and not forms["reject"].errors
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.EVALUATING
    response = client.post(
        url, {"transition": "adopt", "expected_state": "evaluating", "comment": "採納。"}
    )
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.ADOPTED
    # A page that still shows 評估中 is told the suggestion moved on.
    response = client.post(
        url, {"transition": "reject", "expected_state": "evaluating", "comment": "x"}
    )
    assert response.status_code == 302 and sent(response)
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.ADOPTED


# --- the case page and the to-do page ---------------------------------------------------------


def test_case_panel_per_role(client_for, feedback, case, cast):
    """A participant sees their invitation and the link; the initiator and the PMO see who
    was asked and who answered; the initiator does not see others' feedback content, the
    PMO and the concerned head do."""
    url = reverse("review_app:case", args=[case.pk])
    give_url = reverse("review_app:feedback-give", args=[case.pk])
    html = client_for(cast.consulted).get(url).content.decode()
    assert 'id="case-feedback-mine" data-answered="no"' in html and give_url in html
    assert 'id="case-feedback-participation"' not in html
    html = client_for(cast.initiator).get(url).content.decode()
    assert 'id="case-feedback-participation"' in html
    assert f'data-participant="{cast.responsible.pk}" data-answered="yes"' in html
    assert f'data-participant="{cast.consulted.pk}" data-answered="no"' in html
    assert f'data-feedback="{feedback.pk}"' not in html
    html = client_for(cast.pmo).get(url).content.decode()
    assert 'id="case-feedback-participation"' in html and f'data-feedback="{feedback.pk}"' in html
    assert 'id="case-feedback-mine"' not in html
    html = client_for(cast.mkt_head).get(url).content.decode()
    assert f'data-feedback="{feedback.pk}"' in html
    assert 'id="case-feedback-participation"' not in html


def test_todo_lists_forms_to_fill_and_pmo_work(client_for, case, cast):
    url = reverse("portfolio_app:todo")
    invitation = FeedbackInvitation.objects.get(request=case, user=cast.consulted)
    html = client_for(cast.consulted).get(url).content.decode()
    assert f'data-invitation="{invitation.pk}"' in html
    fb = give(case, cast.consulted)
    html = client_for(cast.consulted).get(url).content.decode()
    assert f'data-invitation="{invitation.pk}"' not in html
    suggestion = suggest(cast.accountable)
    response = client_for(cast.pmo).get(url)
    html = response.content.decode()
    assert 'id="todo-feedback-handle"' in html and f'data-feedback="{fb.pk}"' in html
    assert 'id="todo-suggestions"' in html and f'data-suggestion="{suggestion.pk}"' in html
    assert response.context["feedback_todo_count"] == 2
    html = client_for(cast.executive).get(url).content.decode()
    assert 'id="todo-feedback-handle"' not in html and 'id="todo-suggestions"' not in html
    services.feedback_handle(feedback=fb, by=cast.pmo, result="OK")
    moved = services.suggestion_transition(suggestion=suggestion, name="evaluate", by=cast.pmo)
    services.suggestion_transition(suggestion=moved, name="reject", by=cast.pmo, comment="否")
    assert client_for(cast.pmo).get(url).context["feedback_todo_count"] == 0


def test_todo_section_queries_do_not_grow(client_for, case, cast):
    client = client_for(cast.pmo)
    people = [cast.responsible, cast.informed, cast.consulted]

    def make_rows(n):
        for i in range(n):
            give(case, people[i % 3])
            suggest(people[i % 3])

    assert_constant_queries(make_rows, lambda: client.get(reverse("portfolio_app:todo")))


def test_navigation_links(client_for, cast):
    html = client_for(cast.outsider).get(reverse("review_app:feedback-mine")).content.decode()
    assert 'id="nav-feedback"' in html and 'id="nav-suggestions"' in html
    assert reverse("review_app:suggestion-list") in html


# --- admin ------------------------------------------------------------------------------------


def _admin(user):
    user_sync_access(user)
    return user


def test_admin_feedback_handling_goes_through_the_service(client_for, feedback, cast):
    change = reverse("admin:review_app_feedback_change", args=[feedback.pk])
    client = client_for(cast.pmo)
    assert client.get(reverse("admin:review_app_feedback_changelist")).status_code == 200
    response = client.post(change, {"handling_result": "已優化需求模板。"})
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert feedback.handled_by == cast.pmo and feedback.handled_at is not None
    # An empty result is refused by the service and changes nothing.
    response = client.post(change, {"handling_result": ""})
    feedback.refresh_from_db()
    assert feedback.handling_result == "已優化需求模板。"


def test_admin_feedback_is_read_only_to_heads_and_after_archiving(client_for, feedback, cast):
    head = _admin(cast.mkt_head)
    change = reverse("admin:review_app_feedback_change", args=[feedback.pk])
    client = client_for(head)
    assert client.get(change).status_code == 200
    assert client.post(change, {"handling_result": "x"}).status_code == 403
    other = _admin(cast.tech_head)
    assert client_for(other).get(change).status_code == 302  # not in their list
    CollabRequest.objects.filter(pk=feedback.request_id).update(is_archived=True)
    assert client_for(cast.pmo).post(change, {"handling_result": "x"}).status_code == 403
    feedback.refresh_from_db()
    assert feedback.handled_at is None


def test_admin_invitations_are_read_only(client_for, case, cast):
    invitation = FeedbackInvitation.objects.filter(request=case).first()
    client = client_for(cast.pmo)
    assert client.get(reverse("admin:review_app_feedbackinvitation_changelist")).status_code == 200
    change = reverse("admin:review_app_feedbackinvitation_change", args=[invitation.pk])
    assert client.post(change, {"answered_at": ""}).status_code == 403
    assert client.get(reverse("admin:review_app_feedbackinvitation_add")).status_code == 403


def test_admin_suggestion_buttons_run_the_service(client_for, cast):
    suggestion = suggest(cast.accountable)
    change = reverse("admin:review_app_suggestion_change", args=[suggestion.pk])
    client = client_for(cast.pmo)
    page = client.get(change).content.decode()
    assert 'name="_fsm_transition_to"' in page and 'value="evaluate"' in page
    response = client.post(
        change, {"_fsm_transition_to": "evaluate", "_fsm_expected_state": "submitted"}
    )
    form_url = reverse("admin:review_app_suggestion_transition", args=[suggestion.pk, "evaluate"])
    assert response.status_code == 302 and response.url == form_url
    response = client.post(form_url, {"comment": "", "_fsm_expected_state": "submitted"})
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.EVALUATING
    assert suggestion.events.filter(transition="evaluate", by=cast.pmo).exists()
    adopt = reverse("admin:review_app_suggestion_transition", args=[suggestion.pk, "adopt"])
    response = client.post(adopt, {"comment": "", "_fsm_expected_state": "evaluating"})
    assert response.status_code == 200  # the note is required: the form comes back
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.EVALUATING


def test_admin_suggestion_buttons_are_not_offered_to_others(client_for, cast):
    suggestion = suggest(cast.accountable)
    head = _admin(cast.mkt_head)
    change = reverse("admin:review_app_suggestion_change", args=[suggestion.pk])
    client = client_for(head)
    page = client.get(change)
    assert page.status_code == 200 and 'name="_fsm_transition_to"' not in page.content.decode()
    form_url = reverse("admin:review_app_suggestion_transition", args=[suggestion.pk, "evaluate"])
    response = client.post(form_url, {"comment": ""})
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.SUBMITTED
