"""zh-Hant pages write Chinese punctuation and one style of numbers; English stays right.

- A label before its value takes the full-width colon in zh-Hant (「部門負責人：張志明」,
  「目標值：9.6%」) and ": " in English: the suffix is translated with the label.
- A time ago or a duration shows its largest unit (「1 日前更新」, "updated 1 day ago"):
  Django would join two units with ", " in every language (「1 日, 2 小時前」).
- Percentages read alike beside each other: whole numbers without decimals, any other
  with one (33, 9.6, 120); goal values drop the trailing zeros of their column (9.6,
  not 9.60).
- The breakdown's task column shows the task's own number (01), not the request
  number cut off the full one (-01).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from requests_app.models import Goal
from review_app.choices import Verdict
from review_app.services import acceptance as acceptance_services
from tasks_app.choices import TaskEventKind
from tasks_app.models import Task, TaskEvent
from tests.factories import DepartmentFactory, UserFactory, make_approved_request
from tests.review_acceptance_fixtures import make_world, seat, submit
from tests.review_closing_fixtures import build_project, complete

pytestmark = pytest.mark.django_db


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def render(text: str, **context) -> str:
    return Template("{% load collab_format %}" + text).render(Context(context))


# --- the filters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (33, "33"),
        (80.0, "80"),
        (Decimal("120.0"), "120"),
        (9.6, "9.6"),
        (Decimal("33.3"), "33.3"),
        (33.333, "33.3"),
        (99.96, "100"),
        (-2.5, "-2.5"),
        (None, ""),
        ("", ""),
    ],
)
def test_percent_shows_whole_numbers_bare_and_others_with_one_decimal(value, shown):
    assert render("{{ v|percent }}", v=value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("9.60"), "9.6"),
        (Decimal("30.00"), "30"),
        (Decimal("12.25"), "12.25"),
        (Decimal("100"), "100"),
        (Decimal("0.00"), "0"),
        (None, ""),
    ],
)
def test_amount_drops_the_trailing_zeros(value, shown):
    assert render("{{ v|amount }}", v=value) == shown


def test_since_shows_the_largest_unit_in_both_languages():
    now = timezone.now()
    then = now - dt.timedelta(days=1, hours=2)
    with translation.override("zh-hant"):
        zh = render("{{ then|since:now }}", then=then, now=now).replace("\xa0", " ")
    with translation.override("en"):
        en = render("{{ then|since:now }}", then=then, now=now).replace("\xa0", " ")
    assert zh == "1 日" and en == "1 day"
    assert render("{{ then|since }}", then=None) == ""


# --- the pages -----------------------------------------------------------------------


@pytest.fixture
def approved(staff, department, head, pmo):
    partner = DepartmentFactory(name="技術部")
    partner.heads.add(UserFactory(department=partner, full_name="蔡宗翰"))
    return make_approved_request(
        initiator=staff, departments=[department, partner], lead=department, pmo=pmo
    )


def test_breakdown_page_labels_heads_with_the_colon_of_the_language(client, approved, staff):
    url = reverse("tasks_app:breakdown", args=[approved.pk])
    client.force_login(staff)
    html = client.get(url).content.decode()
    assert "部門負責人：" in html and "部門負責人:" not in html
    assert "Head: " in english(client).get(url).content.decode()


def test_breakdown_table_numbers_tasks_without_a_dangling_dash(client, approved, staff):
    """The wide column shows 01, 02…; the full number stays in the title and on phones."""
    client.force_login(staff)
    html = client.get(reverse("tasks_app:breakdown", args=[approved.pk])).content.decode()
    first = approved.tasks.order_by("sequence").first()
    assert first.number.endswith("-01")
    assert '<span class="d-none d-md-inline">01</span>' in html
    assert ">-01<" not in html and f'title="{first.number}"' in html


def test_last_update_reads_as_one_unit_ago(client, pmo):
    w = make_world(pmo)
    Task.objects.filter(pk=w.task.pk).update(
        last_progress_at=timezone.now() - dt.timedelta(days=1, hours=2)
    )
    client.force_login(w.owner)
    url = w.task.get_absolute_url()
    html = client.get(url).content.decode().replace("\xa0", " ")
    assert "1 日前更新" in html and "1 日, 2 小時" not in html
    assert "updated 1 day ago" in english(client).get(url).content.decode().replace("\xa0", " ")


def test_retrospective_shows_goals_and_achievement_in_one_number_style(client, pmo):
    """Target 9.60 % and actual 3.20 %: 9.6% and 3.2%, achieved 33.3%; a goal met
    exactly reads 100%, not 100.0%; the edit page labels the target 「目標值：」."""
    project = build_project(pmo)
    complete(project)
    req = project.request
    Goal.objects.filter(request=req).update(
        target_value=Decimal("9.60"), actual_value=Decimal("3.20"), unit="%"
    )
    Goal.objects.create(
        request=req,
        description="客訴處理時效",
        metric="小時",
        target_value=Decimal("30.00"),
        actual_value=Decimal("30.00"),
        unit="",
        position=9,
    )
    client.force_login(project.initiator)
    html = client.get(reverse("review_app:retrospective", args=[req.pk])).content.decode()
    assert "9.6%" in html and "3.2%" in html and "33.3%" in html
    assert "9.60" not in html and "100%" in html and "100.0%" not in html
    edit = client.get(reverse("review_app:retrospective-edit", args=[req.pk])).content.decode()
    assert "目標值：" in edit and "目標值:" not in edit


def test_an_answer_in_the_task_history_takes_the_full_width_colon(pmo):
    """The acceptance answer's history line: 「<seat>：通過」 in zh-Hant."""
    w = make_world(pmo)
    submit(w)
    verdict = seat(w.task, department=w.design)
    with translation.override("zh-hant"):
        acceptance_services.acceptance_answer(
            verdict=verdict, by=w.design_head, decision=Verdict.PASSED
        )
    event = TaskEvent.objects.filter(task=w.task, kind=TaskEventKind.VERDICT).latest("pk")
    with translation.override("zh-hant"):  # the line is rendered in the reader's language
        assert f"{w.design}：通過" in event.text
        assert f"{w.design}: " not in event.text
