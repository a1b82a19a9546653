"""The warning engine in Django admin (issue 5): rules, warnings, digests, the beat
schedule, and the calendar corrections that move review due dates.

Every page is tried with each role (NetBox style): a superuser and a platform admin
edit the rules, the PMO only looks, a head gets no access and staff are sent to the
admin login. A threshold or on/off changed in admin changes what the next scan finds;
warnings and digests are records of what the engine sent and stay read-only. A make-up
workday (補班) or an extra holiday entered in the admin form moves the due date of an
open review, and deleting it moves the date back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from collab import calendar, warnings
from collab.choices import Role
from collab.models import CalendarDay, WarningDigest, WarningItem, WarningRule
from requests_app import services as request_services
from requests_app.choices import ReviewDecision
from tasks_app import services as task_services
from tasks_app.models import Task
from tests.factories import (
    DepartmentFactory,
    UserFactory,
    make_approved_request,
    make_request,
    make_role_user,
    make_task,
)
from tests.helpers import assert_constant_queries

pytestmark = pytest.mark.django_db

TAIPEI = ZoneInfo("Asia/Taipei")
D = dt.date

RULES = "admin:collab_warningrule_changelist"
ITEMS = "admin:collab_warningitem_changelist"
DIGESTS = "admin:collab_warningdigest_changelist"
PERIODIC_TASKS = "admin:django_celery_beat_periodictask_changelist"
CALENDAR = "admin:collab_calendarday_changelist"


def rule_url(rule):
    return reverse("admin:collab_warningrule_change", args=[rule.pk])


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def form_fields(response) -> set[str]:
    return set(response.context["adminform"].form.fields)


def actions(response) -> list[str]:
    """Return the bulk actions the changelist offers (no form at all when there are none)."""
    form = response.context["action_form"]
    return [name for name, _label in form.fields["action"].choices] if form else []


@pytest.fixture
def platform_admin(db):
    return make_role_user(Role.ADMIN)


@pytest.fixture
def rules(db):
    return warnings.rules_ensure()


def rule_post(rule: WarningRule, **changes) -> dict:
    """Return the POST data of the rule's change form: its current values plus changes."""
    values = {
        name: getattr(rule, name)
        for name in (
            "is_active",
            "days",
            "important_days",
            "urgent_days",
            "hours",
            "to_responsible",
            "to_accountable",
            "to_head",
            "to_initiator",
            "to_pmo",
        )
    }
    values.update(changes)
    data = {"_save": "1"}
    for name, value in values.items():
        if value is True:
            data[name] = "on"
        elif value is not None and value is not False:
            data[name] = str(value)
    return data


# --- who may open the pages ----------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "can_change"),
    [
        ("superuser", 200, True),
        ("platform_admin", 200, True),
        ("pmo", 200, False),
        ("head", 403, False),
        ("staff", 302, False),
    ],
)
def test_rule_pages_per_role(request, client, rules, role, status, can_change):
    """Superusers and platform admins edit the rules, the PMO views them, a head may not
    open them and staff are sent to the admin login."""
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse(RULES))
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith(reverse("admin:login"))
    response = client.get(rule_url(rules["task_stale"]))
    assert response.status_code == status
    if status == 200:
        assert response.context["has_change_permission"] is can_change
        assert response.context["has_delete_permission"] is False


@pytest.mark.parametrize(
    ("role", "items", "digests"),
    [
        ("superuser", 200, 200),
        ("platform_admin", 200, 200),
        ("pmo", 200, 403),
        ("head", 403, 403),
        ("staff", 302, 302),
    ],
)
def test_warning_and_digest_pages_per_role(request, client, role, items, digests):
    """Platform admins see the warnings and the digests; the PMO sees the warnings only."""
    [item] = make_warnings(1)
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse(ITEMS)).status_code == items
    assert client.get(reverse(DIGESTS)).status_code == digests
    item_page = reverse("admin:collab_warningitem_change", args=[item.pk])
    assert client.get(item_page).status_code == items
    digest_page = reverse("admin:collab_warningdigest_change", args=[item.digest_id])
    assert client.get(digest_page).status_code == digests


@pytest.mark.parametrize(
    ("role", "status"),
    [("superuser", 200), ("platform_admin", 200), ("pmo", 403), ("head", 403), ("staff", 302)],
)
def test_beat_schedule_is_open_to_platform_admins(request, client, role, status):
    """The nightly and hourly scans' periodic tasks are visible to platform admins."""
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse(PERIODIC_TASKS)).status_code == status


# --- the rules -----------------------------------------------------------------------


def test_opening_the_list_creates_a_row_for_every_registered_rule(client_for, platform_admin):
    """No row exists before; the list then shows every registered rule with its defaults,
    and offers neither adding nor deleting (the rules come from the code)."""
    assert not WarningRule.objects.exists()
    client = client_for(platform_admin)
    response = client.get(reverse(RULES))
    assert response.status_code == 200
    registered = warnings.registry()
    assert {rule.code for rule in listed(response)} == set(registered)
    assert len(registered) >= 7
    stale = WarningRule.objects.get(code="task_stale")
    assert (stale.is_active, stale.days, stale.to_responsible, stale.to_pmo) == (
        True,
        3,
        True,
        False,
    )
    assert response.context["has_add_permission"] is False
    assert "delete_selected" not in actions(response)
    assert client.get(reverse("admin:collab_warningrule_add")).status_code == 403
    delete = reverse("admin:collab_warningrule_delete", args=[stale.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert WarningRule.objects.filter(pk=stale.pk).exists()
    # Opening it again adds nothing twice.
    client.get(reverse(RULES))
    assert WarningRule.objects.count() == len(registered)


def test_list_shows_label_thresholds_and_recipients(client_for, superuser, rules):
    """Each row is labelled with the rule's registered name and lists what it uses."""
    response = client_for(superuser).get(reverse(RULES))
    admin = response.context["cl"].model_admin
    rows = {rule.code: rule for rule in listed(response)}
    due_soon = rows["task_due_soon"]
    assert admin.label(due_soon) == str(warnings.registry()["task_due_soon"].label)
    # Only the thresholds the rule reads, with their values (1, 2 and 3 working days).
    assert [part.split()[-1] for part in admin.thresholds(due_soon).split(" · ")] == [
        "1",
        "2",
        "3",
    ]
    assert admin.thresholds(rows["task_overdue"]) == "—"
    assert admin.thresholds(rows["task_last_hours"]).split()[-1] == "6"
    # task_due_soon goes to R, the head and the initiator: three names.
    assert len(admin.recipients(due_soon).split("、")) == 3
    assert 'id="warning-schedule-link"' in response.content.decode()


def test_change_form_explains_the_rule_and_shows_only_its_thresholds(client_for, superuser, rules):
    """The form says what the rule looks for (its description), offers only the
    thresholds it reads, and each threshold's help gives the built-in default."""
    client = client_for(superuser)
    response = client.get(rule_url(rules["task_due_soon"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Tasks not done whose due date is within N working days" in body
    fields = form_fields(response)
    assert {"is_active", "days", "important_days", "urgent_days"} <= fields
    assert "hours" not in fields and "code" not in fields  # the code is read-only
    help_texts = {
        name: str(f.help_text) for name, f in response.context["adminform"].form.fields.items()
    }
    assert help_texts["urgent_days"].rstrip("。.").endswith("3")
    assert all(help_texts[name] for name in ("to_responsible", "to_head", "to_pmo"))

    response = client.get(rule_url(rules["task_last_hours"]))
    assert "Tasks due within the next N hours" in response.content.decode()
    fields = form_fields(response)
    assert "hours" in fields and "days" not in fields

    response = client.get(rule_url(rules["task_overdue"]))
    fields = form_fields(response)
    assert not fields & {"days", "important_days", "urgent_days", "hours"}
    assert {"is_active", "to_head"} <= fields


@pytest.fixture
def stale_task(department, head, staff, pmo):
    """A task in progress started five working days ago (stale counts working days),
    with no progress update since."""
    req = make_approved_request(initiator=staff, departments=[department], pmo=pmo)
    task = make_task(request=req, responsible=staff, accountable=head)
    task_services.breakdown_sign(request=req, by=head, department=department)
    task = task_services.task_start(task=task, by=staff)
    today = timezone.localdate()
    five_working_days_ago = today - calendar.WorkingDays(today).subtract(today, 5)
    Task.objects.filter(pk=task.pk).update(
        started_at=timezone.now() - five_working_days_ago, last_progress_at=None
    )
    return task


def stale_hits(task) -> set[int]:
    """Return the ids of the people the stale rule would warn about `task` now."""
    items = warnings.collect(now=timezone.now(), cadences=(warnings.DAILY,))
    return {
        item.recipient_id
        for item in items
        if item.rule == "task_stale" and item.object_id == task.pk
    }


def test_editing_a_threshold_in_admin_changes_what_the_scan_finds(
    client_for, platform_admin, stale_task, staff, head
):
    """Stale after 3 days (the default) finds the 5-day-stale task; 10 days does not."""
    rule = warnings.rules_ensure()["task_stale"]
    assert stale_hits(stale_task) == {staff.pk, head.pk}  # R, the head; R is the initiator
    client = client_for(platform_admin)
    response = client.post(rule_url(rule), rule_post(rule, days=10))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.days == 10 and rule.is_active and rule.to_head
    assert stale_hits(stale_task) == set()

    response = client.post(rule_url(rule), rule_post(rule, days=4))
    assert response.status_code == 302
    assert stale_hits(stale_task) == {staff.pk, head.pk}


def test_recipients_chosen_in_admin_decide_who_is_warned(
    client_for, superuser, stale_task, staff, head, pmo
):
    """Unticking the head and ticking the PMO changes who gets the warning."""
    rule = warnings.rules_ensure()["task_stale"]
    client_for(superuser).post(rule_url(rule), rule_post(rule, to_head=False, to_pmo=True))
    assert stale_hits(stale_task) == {staff.pk, pmo.pk}


def test_turning_a_rule_off_in_admin_stops_it(client_for, platform_admin, stale_task):
    """An inactive rule finds nothing; turned back on it finds the task again."""
    rule = warnings.rules_ensure()["task_stale"]
    client = client_for(platform_admin)
    assert client.post(rule_url(rule), rule_post(rule, is_active=False)).status_code == 302
    rule.refresh_from_db()
    assert rule.is_active is False
    assert stale_hits(stale_task) == set()
    response = client.get(reverse(RULES), {"is_active__exact": "0"})
    assert [r.code for r in listed(response)] == ["task_stale"]
    assert client.post(rule_url(rule), rule_post(rule, is_active=True)).status_code == 302
    assert stale_hits(stale_task)


def test_pmo_cannot_change_a_rule(client_for, pmo, rules):
    """The PMO's POST is refused and the rule stays as it was."""
    rule = rules["task_stale"]
    response = client_for(pmo).post(rule_url(rule), rule_post(rule, days=10, is_active=False))
    assert response.status_code == 403
    rule.refresh_from_db()
    assert (rule.days, rule.is_active) == (3, True)


# --- warnings and digests ------------------------------------------------------------


def make_warnings(count: int, *, rule="task_stale", period="2026-03-11", sent=False):
    """Create `count` warnings, each to a new person in their own digest."""
    content_type = ContentType.objects.get_for_model(CalendarDay)
    run = uuid.uuid4()
    rows = []
    for index in range(count):
        person = UserFactory()
        digest = WarningDigest.objects.create(
            recipient=person, run=run, sent_at=timezone.now() if sent else None
        )
        rows.append(
            WarningItem.objects.create(
                rule=rule,
                content_type=content_type,
                object_id=index + 1,
                period=period,
                recipient=person,
                text=f"任務『主視覺圖初稿』已{index + 3}天未更新進度",
                run=run,
                digest=digest,
            )
        )
    return rows


def test_warnings_list_filters_and_search(client_for, platform_admin):
    """Filter by rule and period, search by text; the digest column says if it went."""
    stale = make_warnings(2, sent=True)
    overdue = make_warnings(1, rule="task_overdue", period="2026-03-12")
    client = client_for(platform_admin)
    response = client.get(reverse(ITEMS))
    assert {item.pk for item in listed(response)} == {i.pk for i in stale + overdue}
    admin = response.context["cl"].model_admin
    assert admin.rule_label(stale[0]) == str(warnings.registry()["task_stale"].label)
    assert admin.digest_sent(stale[0]) is True and admin.digest_sent(overdue[0]) is False

    response = client.get(reverse(ITEMS), {"rule": "task_overdue"})
    assert [item.pk for item in listed(response)] == [overdue[0].pk]
    response = client.get(reverse(ITEMS), {"period": "2026-03-11"})
    assert {item.pk for item in listed(response)} == {i.pk for i in stale}
    response = client.get(reverse(ITEMS), {"q": "已4天未更新"})
    assert [item.pk for item in listed(response)] == [stale[1].pk]
    response = client.get(reverse(ITEMS), {"q": stale[0].recipient.username})
    assert [item.pk for item in listed(response)] == [stale[0].pk]


def test_digest_list_counts_its_warnings(client_for, superuser):
    """Each digest row shows how many warnings it carries, and its page lists them."""
    [item] = make_warnings(1)
    digest = item.digest
    WarningItem.objects.create(
        rule="task_overdue",
        content_type=item.content_type,
        object_id=99,
        period=item.period,
        recipient=item.recipient,
        text="任務『活動頁』已逾期2天",
        run=item.run,
        digest=digest,
    )
    client = client_for(superuser)
    response = client.get(reverse(DIGESTS))
    [row] = listed(response)
    assert row.item_count == 2
    response = client.get(reverse("admin:collab_warningdigest_change", args=[digest.pk]))
    assert response.status_code == 200
    assert "任務『活動頁』已逾期2天" in response.content.decode()


@pytest.mark.parametrize("model", ["warningitem", "warningdigest"])
def test_warnings_and_digests_are_read_only(client_for, superuser, model):
    """Even a superuser cannot add, change or delete what the engine recorded."""
    [item] = make_warnings(1)
    obj = item if model == "warningitem" else item.digest
    client = client_for(superuser)
    response = client.get(reverse(f"admin:collab_{model}_changelist"))
    assert response.context["has_add_permission"] is False
    assert actions(response) == []
    change = reverse(f"admin:collab_{model}_change", args=[obj.pk])
    response = client.get(change)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert client.post(change, {"text": "改寫", "sent_at": "2026-01-01"}).status_code == 403
    assert client.get(reverse(f"admin:collab_{model}_add")).status_code == 403
    delete = reverse(f"admin:collab_{model}_delete", args=[obj.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    item.refresh_from_db()
    item.digest.refresh_from_db()
    assert item.text.startswith("任務") and item.digest.sent_at is None


def test_warning_list_query_count_does_not_grow(client_for, platform_admin):
    client = client_for(platform_admin)
    client.get(reverse(ITEMS))  # warm the session
    assert_constant_queries(
        lambda n: make_warnings(n, sent=True), lambda: client.get(reverse(ITEMS))
    )


def test_digest_list_query_count_does_not_grow(client_for, platform_admin):
    client = client_for(platform_admin)
    client.get(reverse(DIGESTS))  # warm the session
    assert_constant_queries(make_warnings, lambda: client.get(reverse(DIGESTS)))


# --- the beat schedule ---------------------------------------------------------------


def test_platform_admin_edits_the_beat_schedule(client_for, platform_admin, pmo):
    """The nightly scan's periodic task can be opened, changed and switched off."""
    nightly = PeriodicTask.objects.get(name="warnings-nightly")  # seeded by migrate
    client = client_for(platform_admin)
    change = reverse("admin:django_celery_beat_periodictask_change", args=[nightly.pk])
    response = client.get(change)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is True
    assert client_for(pmo).get(change).status_code == 403
    client = client_for(platform_admin)
    response = client.post(
        reverse(PERIODIC_TASKS),
        {"action": "disable_tasks", "_selected_action": [nightly.pk]},
    )
    assert response.status_code == 302
    nightly.refresh_from_db()
    assert nightly.enabled is False


# --- the calendar: 補班 and extra holidays move review due dates --------------------


@pytest.fixture
def friday_review(pmo):
    """A request submitted on Friday 2026-03-06; its reviews are due 3 working days on."""
    mkt, tech = DepartmentFactory(), DepartmentFactory()
    heads = []
    for department in (mkt, tech):
        head = UserFactory(department=department)
        department.heads.add(head)
        heads.append(head)
    initiator = UserFactory(department=mkt)
    with time_machine.travel(dt.datetime(2026, 3, 6, 10, 0, tzinfo=TAIPEI), tick=False):
        req = make_request(initiator=initiator, departments=[mkt, tech], lead=mkt)
        req = request_services.request_submit(request=req, by=initiator)
    return SimpleNamespace(request=req, heads=heads, pmo=pmo)


def due_dates(req) -> set[dt.date]:
    return set(req.reviews.values_list("due_date", flat=True))


def review_warnings(on: dt.datetime) -> int:
    items = warnings.collect(now=on, cadences=(warnings.DAILY,))
    return sum(1 for item in items if item.rule == "review_overdue")


def test_make_up_workday_entered_in_admin_moves_the_review_due_date(
    client_for, superuser, friday_review
):
    """補班 on Saturday 3/7 makes Friday + 3 working days Tuesday 3/10 instead of
    Wednesday 3/11, so the review is overdue on Wednesday morning; deleting the 補班
    in admin moves the date back; an extra holiday on Tuesday moves it to Thursday."""
    req = friday_review.request
    assert req.reviews.filter(decision=ReviewDecision.PENDING).count() == 2
    assert due_dates(req) == {D(2026, 3, 11)}
    wednesday_morning = dt.datetime(2026, 3, 11, 9, 0, tzinfo=TAIPEI)
    assert review_warnings(wednesday_morning) == 0

    client = client_for(superuser)
    response = client.post(
        reverse("admin:collab_calendarday_add"),
        {"date": "2026-03-07", "is_workday": "on", "name": "補班", "_save": "1"},
    )
    assert response.status_code == 302
    makeup = CalendarDay.objects.get(date=D(2026, 3, 7))
    assert makeup.is_workday is True
    assert due_dates(req) == {D(2026, 3, 10)}
    # Each department's head and the PMO hear of both overdue reviews.
    assert review_warnings(wednesday_morning) == 2 * 2

    response = client.post(
        reverse("admin:collab_calendarday_delete", args=[makeup.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not CalendarDay.objects.exists()
    assert due_dates(req) == {D(2026, 3, 11)}
    assert review_warnings(wednesday_morning) == 0

    response = client.post(
        reverse("admin:collab_calendarday_add"),
        {"date": "2026-03-10", "name": "颱風假", "_save": "1"},
    )
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=D(2026, 3, 10)).is_workday is False
    assert due_dates(req) == {D(2026, 3, 12)}


def test_moving_or_bulk_deleting_a_calendar_day_in_admin_recomputes(
    client_for, superuser, friday_review
):
    """Changing a holiday's date, or deleting it from the list, recomputes too."""
    req = friday_review.request
    client = client_for(superuser)
    client.post(
        reverse("admin:collab_calendarday_add"),
        {"date": "2026-03-10", "name": "颱風假", "_save": "1"},
    )
    holiday = CalendarDay.objects.get()
    assert due_dates(req) == {D(2026, 3, 12)}
    # Moved to Friday 3/13, after the due date: Mon 9, Tue 10, Wed 11 again.
    response = client.post(
        reverse("admin:collab_calendarday_change", args=[holiday.pk]),
        {"date": "2026-03-13", "name": "颱風假", "_save": "1"},
    )
    assert response.status_code == 302
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [D(2026, 3, 13)]
    assert due_dates(req) == {D(2026, 3, 11)}

    client.post(
        reverse("admin:collab_calendarday_add"),
        {"date": "2026-03-09", "name": "颱風假", "_save": "1"},
    )
    assert due_dates(req) == {D(2026, 3, 12)}
    response = client.post(
        reverse(CALENDAR),
        {
            "action": "delete_selected",
            "_selected_action": list(CalendarDay.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not CalendarDay.objects.exists()
    assert due_dates(req) == {D(2026, 3, 11)}


def test_calendar_admin_says_the_package_has_no_make_up_days_after_2025(client_for, platform_admin):
    """Admins are told to enter 補班 themselves: the holidays package has none after 2025."""
    client = client_for(platform_admin)
    response = client.get(reverse("admin:collab_calendarday_add"))
    assert response.status_code == 200
    [(_name, options)] = response.context["adminform"].fieldsets
    assert "2025" in options["description"] and "補班" in options["description"]
    response = client.get(reverse(CALENDAR))
    assert 'id="calendar-note"' in response.content.decode()
    assert "2025" in response.context["calendar_note"]
