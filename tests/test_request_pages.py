"""The request pages in the browser's shoes: 我的需求, the form, the detail page with its
review panel and actions, and the 待辦事項 page, for every role that may or may not
see them. The UI text is translated separately, so the assertions look at status
codes, the database, element ids and data attributes, and user-typed Chinese text.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from requests_app import services
from requests_app.choices import EventKind, RequestState, ReviewDecision
from requests_app.models import Attachment, AttachmentVersion, CollabRequest, DepartmentReview
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory, make_request
from tests.helpers import assert_constant_queries

pytestmark = pytest.mark.django_db

ROLES = ["staff", "head", "deputy", "partner_head", "outsider", "pmo", "executive"]


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def draft(staff, department, partner, head, partner_head):
    """A draft filed by `staff`, led by their department, with `partner` collaborating."""
    return make_request(
        initiator=staff, departments=[department, partner], lead=department, name="新品上市推廣"
    )


@pytest.fixture
def pending(draft, staff):
    """The draft, submitted: one open review for each of the two departments."""
    return services.request_submit(request=draft, by=staff)


def _review(request, department) -> DepartmentReview:
    return request.reviews.get(department=department, round=request.review_round)


def _levels(response) -> list[str]:
    """Return the levels of the messages the redirected-to page shows (and so consumes)."""
    if response.status_code != 302:
        return [m.level_tag for m in get_messages(response.wsgi_request)]
    page = response.client.get(response.url)
    return [m.level_tag for m in page.context["messages"]]


def _form_data(
    *,
    action="draft",
    departments=(),
    goals=(),
    milestones=(),
    resources=(),
    initial=None,
    **fields,
):
    """Build the POST of the request form, formset management data included."""
    data = {
        "name": "跨部門數據平台",
        "contact": "分機 8888",
        "priority": "important",
        "expected_completion": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        "background": "各部門數據分散，需要整合。",
        "expected_deliverables": "數據平台上線",
        "data_needs": "銷售數據\n客服數據",
        "notes": "",
        "action": action,
        **fields,
    }
    for prefix, rows in (
        ("departments", departments),
        ("goals", goals),
        ("milestones", milestones),
        ("resources", resources),
    ):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = str((initial or {}).get(prefix, 0))
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "20"
        for i, row in enumerate(rows):
            for key, value in row.items():
                if value is True:
                    value = "on"
                if value is False:
                    continue
                data[f"{prefix}-{i}-{key}"] = value
    return data


def _goal(description="月活躍用戶提升", target="15"):
    return {"description": description, "metric": "月活躍用戶", "target_value": target, "unit": "%"}


# --- 我的需求 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "listed"),
    [
        ("staff", True),
        ("head", True),
        ("deputy", True),
        ("partner_head", True),
        ("outsider", False),
        ("pmo", True),
        ("executive", True),
    ],
)
def test_list_shows_a_request_only_to_those_who_may_see_it(request, client, pending, role, listed):
    """The list starts from visible_requests: an uninvolved department does not see the row."""
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("requests_app:mine"))
    assert response.status_code == 200
    assert (f'data-request="{pending.pk}"' in response.content.decode()) is listed


def test_list_filters_by_scope_state_and_chinese_search(client, staff, department, partner, head):
    """Tabs narrow to mine / my departments; state filter; search matches Chinese substrings."""
    mine = make_request(
        initiator=staff, departments=[department], name="二〇二四年Q3新品上市推廣方案"
    )
    submitted = make_request(initiator=staff, departments=[department], name="客服工單流程優化")
    submitted = services.request_submit(request=submitted, by=staff)
    colleague = UserFactory(department=department)
    theirs = make_request(initiator=colleague, departments=[department], name="年度品牌發布會")
    partner_staff = UserFactory(department=partner)
    involving = make_request(
        initiator=partner_staff, departments=[partner, department], name="數據"
    )
    elsewhere = make_request(initiator=partner_staff, departments=[partner], name="技術部內部")
    client.force_login(staff)

    def rows(**params):
        body = client.get(reverse("requests_app:mine"), params).content.decode()
        return {r.pk for r in (mine, submitted, theirs, involving, elsewhere)} & {
            int(chunk.split('"')[0]) for chunk in body.split('data-request="')[1:]
        }

    assert rows() == {mine.pk, submitted.pk, theirs.pk, involving.pk}
    assert rows(scope="mine") == {mine.pk, submitted.pk}
    assert rows(scope="department") == {mine.pk, submitted.pk, theirs.pk, involving.pk}
    assert rows(state=RequestState.PENDING) == {submitted.pk}
    assert rows(q="上市推廣") == {mine.pk}
    assert rows(q="發布") == {theirs.pk}
    assert rows(q=submitted.number[-5:]) == {submitted.pk}
    assert rows(q="q3新品") == {mine.pk}  # case-insensitive
    assert rows(scope="mine", q="發布") == set()
    assert rows(state="no-such-state") == rows()  # a hand-typed bad value filters nothing


def test_list_department_tab_for_a_head_of_a_collaborating_department(
    client, pending, partner_head, partner
):
    """A head's "my departments" tab includes requests their department collaborates on."""
    client.force_login(partner_head)
    body = client.get(reverse("requests_app:mine"), {"scope": "department"}).content.decode()
    assert f'data-request="{pending.pk}"' in body
    body = client.get(reverse("requests_app:mine"), {"scope": "mine"}).content.decode()
    assert f'data-request="{pending.pk}"' not in body


def test_list_paginates_by_25(client, staff, department):
    for i in range(27):
        make_request(initiator=staff, departments=[department], name=f"需求{i:02d}")
    client.force_login(staff)
    first = client.get(reverse("requests_app:mine")).content.decode()
    second = client.get(reverse("requests_app:mine"), {"page": 2}).content.decode()
    assert first.count('data-request="') == 25
    assert second.count('data-request="') == 2
    assert "page=2" in first


def test_list_shows_the_new_request_button_only_to_department_members(client, staff, pmo):
    nobody = UserFactory(department=None)
    client.force_login(staff)
    assert 'id="new-request"' in client.get(reverse("requests_app:mine")).content.decode()
    client.force_login(nobody)
    assert 'id="new-request"' not in client.get(reverse("requests_app:mine")).content.decode()


def test_list_query_count_does_not_grow_with_rows(client, staff, department, partner):
    """Departments, initiator and badges come with the page: no query per row."""
    client.force_login(staff)
    url = reverse("requests_app:mine")
    client.get(url)

    def make_rows(n):
        for _ in range(n):
            req = make_request(initiator=staff, departments=[department, partner], lead=partner)
            services.request_submit(request=req, by=staff)

    assert_constant_queries(make_rows, lambda: client.get(url))
    assert_constant_queries(make_rows, lambda: client.get(url, {"scope": "department", "q": "新"}))


# --- detail --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staff", 200),
        ("head", 200),
        ("deputy", 200),
        ("partner_head", 200),
        ("outsider", 404),
        ("pmo", 200),
        ("executive", 200),
    ],
)
def test_detail_is_404_for_an_uninvolved_department(request, client, pending, role, status):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("requests_app:detail", args=[pending.pk]))
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert pending.name in body and pending.number in body


def test_detail_shows_fields_departments_reviews_and_history(
    client, staff, pending, department, partner, head, partner_head
):
    """All fields, the lead, each department's answer, the timeline and the links."""
    services.review_decide(
        review=_review(pending, partner), by=partner_head, approve=True, committed_tasks="接口開發"
    )
    client.force_login(staff)
    body = client.get(reverse("requests_app:detail", args=[pending.pk])).content.decode()
    assert "新產品需要跨部門推廣。" in body  # background
    assert 'id="goals-table"' in body and "目標0" in body
    assert f'data-department="{department.pk}"' in body and "dept-lead" in body
    assert f'data-review="{_review(pending, partner).pk}" data-decision="approved"' in body
    assert f'data-review="{_review(pending, department).pk}" data-decision="pending"' in body
    assert "接口開發" in body and str(partner_head) in body
    assert 'data-event="created"' in body and 'data-event="submit"' in body
    assert 'data-event="review_approved"' in body
    assert reverse("requests_app:pdf", args=[pending.pk]) in body
    assert reverse("requests_app:attachment-upload", args=[pending.pk]) in body
    # The initiator may cancel a pending request but not edit or submit it.
    assert 'id="action-cancel"' in body
    assert 'id="action-edit"' not in body and 'id="action-submit"' not in body


def test_detail_lists_every_attachment_version(client, staff, draft):
    attachment = Attachment.objects.create(request=draft, name="競品分析.pdf", created_by=staff)
    versions = [
        AttachmentVersion.objects.create(
            attachment=attachment,
            version=n,
            file=ContentFile(b"%PDF-1.4", name="a.pdf"),
            original_name="競品分析.pdf",
            size=8,
            content_type="application/pdf",
            note=f"第{n}版說明",
            uploaded_by=staff,
        )
        for n in (1, 2)
    ]
    client.force_login(staff)
    body = client.get(reverse("requests_app:detail", args=[draft.pk])).content.decode()
    for version in versions:
        url = reverse("requests_app:attachment-download", args=[draft.pk, version.pk])
        assert url in body
        assert version.note in body


def test_detail_shows_past_rounds_after_a_rejection(
    client, staff, pending, department, partner, head, partner_head
):
    services.review_decide(
        review=_review(pending, partner), by=partner_head, approve=False, comment="預算未明確"
    )
    pending.refresh_from_db()
    services.request_submit(request=pending, by=staff)
    client.force_login(staff)
    body = client.get(reverse("requests_app:detail", args=[pending.pk])).content.decode()
    assert 'data-round="1"' in body and "預算未明確" in body
    assert 'data-event="reject"' in body and 'data-event="resubmit"' in body


# --- create and edit -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("staff", 200), ("head", 200), ("outsider", 200), ("pmo", 200), ("executive", 200)],
)
def test_create_page_for_department_members(request, client, role, status):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("requests_app:create"))
    assert response.status_code == status
    body = response.content.decode()
    assert 'id="departments-empty-form"' in body and 'id="goals-empty-form"' in body
    assert "js/formsets.js" in body


def test_create_page_refuses_people_without_a_department(client):
    client.force_login(UserFactory(department=None))
    assert client.get(reverse("requests_app:create")).status_code == 403


def test_create_page_fills_in_no_department_and_says_each_one_reviews(client, staff, department):
    """The initiator's own department is not pre-filled as the lead: every department
    listed reviews the request, and the help text says so."""
    client.force_login(staff)
    response = client.get(reverse("requests_app:create"))
    form = response.context["formsets"][0]
    assert form.prefix == "departments"
    assert len(form.forms) == 1 and not form.forms[0].initial
    assert "此處列出的每個部門（包括主導部門）都會審核此需求" in response.content.decode()


def test_create_and_submit_through_the_form(
    client, staff, department, partner, head, partner_head, django_capture_on_commit_callbacks
):
    """Save and submit: a numbered request in 待審核 with its rows and one review each."""
    client.force_login(staff)
    data = _form_data(
        action="submit",
        departments=[
            {"department": department.pk, "is_lead": True},
            {"department": partner.pk, "is_lead": False},
            {"department": "", "is_lead": False},  # an empty row added and left blank
        ],
        goals=[_goal(), _goal("客訴下降", "20"), {**_goal("刪掉的目標"), "DELETE": "on"}],
        milestones=[{"name": "方案評審", "date": "2030-08-20"}],
        resources=[{"department": partner.pk, "kind": "people", "description": "工程師兩名"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("requests_app:create"), data)
    req = CollabRequest.objects.get(name="跨部門數據平台")
    assert response.status_code == 302 and response.url == req.get_absolute_url()
    assert req.state == RequestState.PENDING and req.number.startswith("XQ")
    assert req.initiator == staff and req.initiating_department == department
    assert req.priority == "important" and req.contact == "分機 8888"
    assert [g.description for g in req.goals.all()] == ["月活躍用戶提升", "客訴下降"]
    assert req.department_links.get(is_lead=True).department == department
    assert req.milestones.get().date == dt.date(2030, 8, 20)
    assert req.resource_needs.get().department == partner
    assert set(req.reviews.values_list("department", flat=True)) == {department.pk, partner.pk}
    assert _levels(response) == ["success"]


def test_save_draft_through_the_form(client, staff, department):
    client.force_login(staff)
    data = _form_data(departments=[{"department": department.pk, "is_lead": True}], goals=[])
    response = client.post(reverse("requests_app:create"), data)
    req = CollabRequest.objects.get()
    assert response.status_code == 302
    assert req.state == RequestState.DRAFT and req.number is None
    assert req.events.get().kind == EventKind.CREATED


def test_validation_errors_keep_what_was_typed(client, staff, department):
    """A bad field re-renders the bound form: every typed value is still there, nothing saved."""
    client.force_login(staff)
    data = _form_data(
        action="submit",
        background="",
        departments=[{"department": department.pk, "is_lead": True}],
        goals=[_goal("轉化率提升", "not-a-number")],
        milestones=[{"name": "上線慶功", "date": "2030-01-01"}],
    )
    response = client.post(reverse("requests_app:create"), data)
    assert response.status_code == 200 and _levels(response) == ["error"]
    assert not CollabRequest.objects.exists()
    body = response.content.decode()
    for typed in [
        "跨部門數據平台",
        "分機 8888",
        "轉化率提升",
        "not-a-number",
        "上線慶功",
        "銷售數據",
    ]:
        assert typed in body
    assert response.context["form"].errors["background"]
    assert response.context["formsets"][1].forms[0].errors["target_value"]


def test_two_lead_departments_are_refused(client, staff, department, partner):
    client.force_login(staff)
    data = _form_data(
        departments=[
            {"department": department.pk, "is_lead": True},
            {"department": partner.pk, "is_lead": True},
        ],
        goals=[_goal()],
    )
    response = client.post(reverse("requests_app:create"), data)
    assert response.status_code == 200
    assert response.context["formsets"][0].non_form_errors()
    assert not CollabRequest.objects.exists()


def test_submit_refused_by_the_service_keeps_the_saved_draft(client, staff, department):
    """Save and submit without a goal: the draft is saved, the person lands on its edit page."""
    client.force_login(staff)
    data = _form_data(
        action="submit", departments=[{"department": department.pk, "is_lead": True}], goals=[]
    )
    response = client.post(reverse("requests_app:create"), data)
    req = CollabRequest.objects.get()
    assert req.state == RequestState.DRAFT and req.name == "跨部門數據平台"
    assert response.status_code == 302
    assert response.url == reverse("requests_app:edit", args=[req.pk])
    assert "error" in _levels(response)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staff", 200),
        ("head", 403),
        ("deputy", 403),
        ("partner_head", 403),
        ("outsider", 404),
        ("pmo", 200),
        ("executive", 403),
    ],
)
def test_edit_page_for_the_initiator_and_the_pmo(request, client, draft, role, status):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("requests_app:edit", args=[draft.pk])).status_code == status


def test_edit_is_refused_once_submitted(client, staff, pending):
    client.force_login(staff)
    assert client.get(reverse("requests_app:edit", args=[pending.pk])).status_code == 403


def test_edit_shows_the_saved_rows_and_replaces_them(client, staff, draft, department, partner):
    client.force_login(staff)
    url = reverse("requests_app:edit", args=[draft.pk])
    page = client.get(url)
    assert page.context["formsets"][1].initial[0]["description"] == "目標0"
    data = _form_data(
        name="新品上市推廣（修訂）",
        departments=[{"department": department.pk, "is_lead": True}],
        goals=[{**_goal("目標0"), "DELETE": "on"}, _goal("新目標")],
        initial={"departments": 1, "goals": 1},
    )
    response = client.post(url, data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "新品上市推廣（修訂）"
    assert [g.description for g in draft.goals.all()] == ["新目標"]
    assert list(draft.departments.all()) == [department]
    assert draft.events.filter(kind=EventKind.EDITED).count() == 1


def test_edit_post_on_a_stale_page_keeps_the_input(client, staff, draft, department):
    """The request was submitted elsewhere meanwhile: conflict, typed text still on screen."""
    services.request_submit(request=draft, by=staff)
    client.force_login(staff)
    data = _form_data(
        name="改了一半的名稱",
        expected_state=RequestState.DRAFT,
        departments=[{"department": department.pk, "is_lead": True}],
        goals=[_goal()],
    )
    response = client.post(reverse("requests_app:edit", args=[draft.pk]), data)
    assert response.status_code == 200 and _levels(response) == ["error"]
    assert "改了一半的名稱" in response.content.decode()
    draft.refresh_from_db()
    assert draft.name == "新品上市推廣"


# --- submit, cancel, confirm ---------------------------------------------------------


def test_submit_from_the_detail_page_and_a_stale_second_click(client, staff, draft):
    """The second click carries the state the page showed: conflict, no second transition."""
    client.force_login(staff)
    url = reverse("requests_app:submit", args=[draft.pk])
    first = client.post(url, {"expected_state": RequestState.DRAFT})
    assert first.status_code == 302 and _levels(first) == ["success"]
    second = client.post(url, {"expected_state": RequestState.DRAFT})
    assert second.status_code == 302 and _levels(second) == ["error"]
    draft.refresh_from_db()
    assert draft.state == RequestState.PENDING and draft.review_round == 1
    assert draft.events.filter(kind__in=[EventKind.SUBMITTED, EventKind.RESUBMITTED]).count() == 1


@pytest.mark.parametrize(
    ("role", "status"), [("head", 403), ("partner_head", 403), ("outsider", 404), ("pmo", 302)]
)
def test_submit_by_others(request, client, draft, role, status):
    client.force_login(request.getfixturevalue(role))
    response = client.post(
        reverse("requests_app:submit", args=[draft.pk]), {"expected_state": "draft"}
    )
    assert response.status_code == status


def test_submit_only_by_post(client, staff, draft):
    client.force_login(staff)
    assert client.get(reverse("requests_app:submit", args=[draft.pk])).status_code == 405


def test_cancel_needs_a_reason(client, staff, pending):
    client.force_login(staff)
    url = reverse("requests_app:cancel", args=[pending.pk])
    response = client.post(url, {"reason": "  ", "expected_state": "pending"})
    assert _levels(response) == ["error"]
    pending.refresh_from_db()
    assert pending.state == RequestState.PENDING
    response = client.post(url, {"reason": "市場策略調整", "expected_state": "pending"})
    assert _levels(response) == ["success"]
    pending.refresh_from_db()
    assert pending.state == RequestState.CANCELLED and pending.cancel_reason == "市場策略調整"
    body = client.get(reverse("requests_app:detail", args=[pending.pk])).content.decode()
    assert 'id="cancel-reason"' in body and 'id="action-cancel"' not in body


@pytest.mark.parametrize(
    ("role", "status"), [("head", 403), ("deputy", 403), ("outsider", 404), ("executive", 403)]
)
def test_cancel_by_others(request, client, pending, role, status):
    client.force_login(request.getfixturevalue(role))
    response = client.post(
        reverse("requests_app:cancel", args=[pending.pk]),
        {"reason": "不要了", "expected_state": "pending"},
    )
    assert response.status_code == status
    pending.refresh_from_db()
    assert pending.state == RequestState.PENDING


def test_pmo_confirms_once_every_department_agreed(
    client, pmo, pending, department, partner, head, partner_head
):
    """The confirm button appears only when all agreed; the PMO's POST makes it 已立項."""
    client.force_login(pmo)
    detail = reverse("requests_app:detail", args=[pending.pk])
    confirm = reverse("requests_app:confirm", args=[pending.pk])
    assert 'id="action-confirm"' not in client.get(detail).content.decode()
    refused = client.post(confirm, {"expected_state": "pending"})
    assert _levels(refused) == ["error"]
    services.review_decide(review=_review(pending, department), by=head, approve=True)
    services.review_decide(review=_review(pending, partner), by=partner_head, approve=True)
    assert 'id="action-confirm"' in client.get(detail).content.decode()
    response = client.post(confirm, {"expected_state": "pending", "comment": "同意立項"})
    assert _levels(response) == ["success"]
    pending.refresh_from_db()
    assert pending.state == RequestState.APPROVED
    assert pending.events.get(kind=EventKind.CONFIRMED).comment == "同意立項"
    again = client.post(confirm, {"expected_state": "pending"})
    assert _levels(again) == ["error"]
    assert pending.events.filter(kind=EventKind.CONFIRMED).count() == 1


@pytest.mark.parametrize(("role", "status"), [("staff", 403), ("head", 403), ("outsider", 404)])
def test_confirm_by_others(request, client, pending, role, status):
    client.force_login(request.getfixturevalue(role))
    response = client.post(
        reverse("requests_app:confirm", args=[pending.pk]), {"expected_state": "pending"}
    )
    assert response.status_code == status


# --- the review panel ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "panels"),
    [
        ("staff", set()),
        ("head", {"department"}),
        ("deputy", {"department"}),
        ("partner_head", {"partner"}),
        ("pmo", set()),
        ("executive", set()),
    ],
)
def test_review_panel_only_for_who_may_answer(request, client, pending, role, panels):
    client.force_login(request.getfixturevalue(role))
    body = client.get(reverse("requests_app:detail", args=[pending.pk])).content.decode()
    for name in ("department", "partner"):
        review = _review(pending, request.getfixturevalue(name))
        assert (f'data-review-panel="{review.pk}"' in body) is (name in panels)


def test_head_approves_with_the_tasks_the_department_takes(client, head, pending, department):
    client.force_login(head)
    review = _review(pending, department)
    url = reverse("requests_app:review", args=[pending.pk, review.pk])
    prefix = f"review-{review.pk}"
    response = client.post(
        url,
        {
            f"{prefix}-decision": "approve",
            f"{prefix}-committed_tasks": "推廣方案撰寫\n渠道預算",
            f"{prefix}-comment": "支持",
        },
    )
    assert response.status_code == 302 and response.url == pending.get_absolute_url()
    review.refresh_from_db()
    assert review.decision == ReviewDecision.APPROVED
    assert review.committed_task_lines == ["推廣方案撰寫", "渠道預算"]
    assert review.decided_by == head and review.on_behalf_of is None


def test_reject_without_reason_changes_nothing_and_keeps_the_input(
    client, partner_head, pending, partner
):
    client.force_login(partner_head)
    review = _review(pending, partner)
    prefix = f"review-{review.pk}"
    response = client.post(
        reverse("requests_app:review", args=[pending.pk, review.pk]),
        {f"{prefix}-decision": "reject", f"{prefix}-committed_tasks": "可承擔接口開發"},
    )
    assert response.status_code == 200
    assert "可承擔接口開發" in response.content.decode()
    review.refresh_from_db()
    pending.refresh_from_db()
    assert review.decision == ReviewDecision.PENDING
    assert pending.state == RequestState.PENDING


def test_reject_with_reason_sends_the_request_back(client, partner_head, pending, partner):
    client.force_login(partner_head)
    review = _review(pending, partner)
    prefix = f"review-{review.pk}"
    client.post(
        reverse("requests_app:review", args=[pending.pk, review.pk]),
        {f"{prefix}-decision": "reject", f"{prefix}-comment": "預算未明確，需補充成本測算"},
    )
    pending.refresh_from_db()
    assert pending.state == RequestState.REVISION
    assert pending.events.get(kind=EventKind.REVIEW_REJECTED).department == partner


def test_deputy_approval_is_recorded_on_behalf_of_the_head(
    client, deputy, head, pending, department
):
    """The panel tells the deputy whom they stand in for; the answer records it."""
    client.force_login(deputy)
    detail = client.get(reverse("requests_app:detail", args=[pending.pk])).content.decode()
    assert f'data-on-behalf-of="{head.pk}"' in detail
    review = _review(pending, department)
    client.post(
        reverse("requests_app:review", args=[pending.pk, review.pk]),
        {f"review-{review.pk}-decision": "approve"},
    )
    review.refresh_from_db()
    assert review.decided_by == deputy and review.on_behalf_of == head
    event = pending.events.get(kind=EventKind.REVIEW_APPROVED)
    assert event.by == deputy and event.on_behalf_of == head
    body = client.get(reverse("requests_app:detail", args=[pending.pk])).content.decode()
    assert "deputy-badge" in body and str(head) in body


def test_a_second_answer_to_the_same_review_is_a_conflict(
    client, head, deputy, pending, department
):
    """Head and deputy answer from two open pages: one answer, one conflict message."""
    review = _review(pending, department)
    url = reverse("requests_app:review", args=[pending.pk, review.pk])
    client.force_login(deputy)
    assert _levels(client.post(url, {f"review-{review.pk}-decision": "approve"})) == ["success"]
    client.force_login(head)
    response = client.post(
        url, {f"review-{review.pk}-decision": "reject", f"review-{review.pk}-comment": "不同意"}
    )
    assert response.status_code == 302 and _levels(response) == ["error"]
    review.refresh_from_db()
    pending.refresh_from_db()
    assert review.decision == ReviewDecision.APPROVED and review.decided_by == deputy
    assert pending.state == RequestState.PENDING
    assert pending.events.filter(department=department).count() == 1


@pytest.mark.parametrize(
    ("role", "status"),
    [("staff", 403), ("partner_head", 403), ("pmo", 403), ("outsider", 404)],
)
def test_review_by_others(request, client, pending, department, role, status):
    review = _review(pending, department)
    client.force_login(request.getfixturevalue(role))
    response = client.post(
        reverse("requests_app:review", args=[pending.pk, review.pk]),
        {f"review-{review.pk}-decision": "approve"},
    )
    assert response.status_code == status
    review.refresh_from_db()
    assert review.decision == ReviewDecision.PENDING


def test_review_panel_with_htmx(client, head, pending, department):
    """htmx gets the panel back on an error, and a client redirect once answered."""
    client.force_login(head)
    review = _review(pending, department)
    url = reverse("requests_app:review", args=[pending.pk, review.pk])
    prefix = f"review-{review.pk}"
    error = client.post(
        url,
        {f"{prefix}-decision": "reject", f"{prefix}-committed_tasks": "保留的文字"},
        headers={"HX-Request": "true"},
    )
    body = error.content.decode()
    assert error.status_code == 200
    assert body.lstrip().startswith("<section") and "<html" not in body
    assert f'id="review-panel-{review.pk}"' in body and "保留的文字" in body
    done = client.post(url, {f"{prefix}-decision": "approve"}, headers={"HX-Request": "true"})
    assert done.headers["HX-Redirect"] == pending.get_absolute_url()
    review.refresh_from_db()
    assert review.decision == ReviewDecision.APPROVED


# --- 待辦事項 -------------------------------------------------------------------------


def _review_rows(body: str) -> set[int]:
    section = body.split('id="todo-reviews"')[1] if 'id="todo-reviews"' in body else ""
    return {int(chunk.split('"')[0]) for chunk in section.split('data-review="')[1:]}


@pytest.mark.parametrize(
    ("role", "which"),
    [
        ("staff", set()),
        ("head", {"department"}),
        ("deputy", {"department"}),
        ("partner_head", {"partner"}),
        ("outsider", set()),
        ("pmo", set()),
        ("executive", set()),
    ],
)
def test_todo_lists_the_reviews_the_user_can_answer(request, client, pending, role, which):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("portfolio_app:todo"))
    assert response.status_code == 200
    expected = {_review(pending, request.getfixturevalue(name)).pk for name in which}
    body = response.content.decode()
    assert _review_rows(body) == expected
    assert ('id="todo-empty"' in body) is (not expected)


def test_todo_marks_the_deputy_and_overdue_and_today(client, deputy, head, pending, department):
    review = _review(pending, department)
    client.force_login(deputy)
    body = client.get(reverse("portfolio_app:todo")).content.decode()
    assert f'data-acting-for="{head.pk}"' in body
    assert pending.get_absolute_url() in body
    DepartmentReview.objects.filter(pk=review.pk).update(
        due_date=timezone.localdate() - dt.timedelta(days=1)
    )
    assert 'data-due="overdue"' in client.get(reverse("portfolio_app:todo")).content.decode()
    DepartmentReview.objects.filter(pk=review.pk).update(due_date=timezone.localdate())
    assert 'data-due="today"' in client.get(reverse("portfolio_app:todo")).content.decode()
    client.force_login(head)
    assert "data-acting-for" not in client.get(reverse("portfolio_app:todo")).content.decode()


def test_todo_of_a_deputy_for_all_the_heads_departments(client, head, partner, pending):
    """A delegation without a department covers every department the head leads.

    The stand-in belongs to a third department: the delegation alone lets them in.
    """
    partner.heads.add(head)
    stand_in = UserFactory(department=DepartmentFactory())
    DelegationFactory(head=head, deputy=stand_in, department=None)
    client.force_login(stand_in)
    body = client.get(reverse("portfolio_app:todo")).content.decode()
    assert _review_rows(body) == set(pending.reviews.values_list("pk", flat=True))
    assert body.count(f'data-acting-for="{head.pk}"') == 2
    # The link works: the stand-in sees the request and both panels, acting for the head.
    detail = client.get(pending.get_absolute_url()).content.decode()
    assert detail.count(f'data-on-behalf-of="{head.pk}"') == 2


def test_todo_shows_the_pmo_what_awaits_confirmation(
    client, pmo, pending, department, partner, head, partner_head
):
    client.force_login(pmo)
    assert (
        f'data-request="{pending.pk}"'
        not in client.get(reverse("portfolio_app:todo")).content.decode()
    )
    services.review_decide(review=_review(pending, department), by=head, approve=True)
    services.review_decide(review=_review(pending, partner), by=partner_head, approve=True)
    body = client.get(reverse("portfolio_app:todo")).content.decode()
    assert 'id="todo-confirm"' in body and f'data-request="{pending.pk}"' in body
    client.force_login(head)  # heads do not confirm
    assert 'id="todo-confirm"' not in client.get(reverse("portfolio_app:todo")).content.decode()


def test_todo_reminds_the_initiator_of_a_request_sent_back(
    client, staff, pending, partner, partner_head
):
    services.review_decide(
        review=_review(pending, partner), by=partner_head, approve=False, comment="請補充"
    )
    client.force_login(staff)
    body = client.get(reverse("portfolio_app:todo")).content.decode()
    assert 'id="todo-revise"' in body and f'data-request="{pending.pk}"' in body


def test_todo_query_count_does_not_grow_with_rows(
    client, head, deputy, pmo, department, partner, partner_head
):
    """Reviews, their requests and the 'on behalf of' heads come in a fixed number of queries."""
    initiator = UserFactory(department=partner)

    def submitted():
        req = make_request(initiator=initiator, departments=[department, partner])
        req = services.request_submit(request=req, by=initiator)
        services.review_decide(review=_review(req, partner), by=partner_head, approve=True)
        return req

    def make_pending(n):
        for _ in range(n):
            submitted()

    def make_agreed(n):
        for _ in range(n):
            req = submitted()
            services.review_decide(review=_review(req, department), by=head, approve=True)

    url = reverse("portfolio_app:todo")
    for user, make_rows in ((head, make_pending), (deputy, make_pending), (pmo, make_agreed)):
        client.force_login(user)
        client.get(url)
        assert_constant_queries(make_rows, lambda: client.get(url))
