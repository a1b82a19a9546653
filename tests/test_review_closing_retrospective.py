"""The retrospective 復盤報告: achievement %, who writes what, actions, filing, the warning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from collab import warnings
from collab.models import Notification
from requests_app.choices import EventKind
from requests_app.models import CaseArchived, CollabRequest, Goal, RequestEvent
from review_app.choices import RetrospectiveState
from review_app.models import Retrospective, RetrospectiveAction, Suggestion
from review_app.permissions import closing as permissions
from review_app.selectors import closing as selectors
from review_app.services import closing as services
from tests.review_closing_fixtures import complete

# The `project` fixture (build_project) comes from the shared closing fixtures.
pytest_plugins = ["tests.review_closing_fixtures"]


# --- the achievement % (a pure computation) ------------------------------------------------


@pytest.mark.parametrize(
    ("target", "actual", "expected"),
    [
        ("15", "18", Decimal("120.0")),  # the seed: target +15 %, actual +18 %
        ("30", "30", Decimal("100.0")),
        ("3", "2", Decimal("66.7")),  # rounded half up to one decimal
        ("8", "1", Decimal("12.5")),
        ("0.03", "0.00025", Decimal("0.8")),
        ("-10", "-12", Decimal("120.0")),  # a reduction goal: both negative
        ("100", "0", Decimal("0.0")),
        ("15", None, None),  # no actual yet
        ("0", "5", None),  # a zero target has no ratio
        (None, "5", None),
    ],
)
def test_achievement_percent(target, actual, expected):
    result = selectors.achievement_percent(
        None if target is None else Decimal(target), None if actual is None else Decimal(actual)
    )
    assert result == expected
    if expected is not None:
        assert str(result) == str(expected)  # one decimal, always


def test_goal_rows_say_the_status():
    goals = [
        Goal(description="a", metric="m", target_value=Decimal("15"), actual_value=Decimal("18")),
        Goal(description="b", metric="m", target_value=Decimal("15"), actual_value=Decimal("9")),
        Goal(description="c", metric="m", target_value=Decimal("15"), actual_value=None),
        Goal(description="d", metric="m", target_value=Decimal("0"), actual_value=Decimal("1")),
    ]
    rows = selectors.goal_rows(goals)
    assert [(r.percent, r.status) for r in rows] == [
        (Decimal("120.0"), "met"),
        (Decimal("60.0"), "short"),
        (None, "missing"),
        (None, "undefined"),
    ]


# --- writing it ------------------------------------------------------------------------------


@pytest.fixture
def retro(project):
    complete(project)
    return Retrospective.objects.get(request=project.request)


def _goal(project):
    return Goal.objects.get(request=project.request)


@pytest.mark.django_db
def test_initiator_writes_goals_texts_actions_and_contributions(project, retro):
    goal = _goal(project)
    services.retrospective_save(
        retrospective=retro,
        by=project.initiator,
        highlights="每日站會同步進度",
        shortcomings="需求變更未走流程導致開發返工",
        actual_values={goal.pk: Decimal("18")},
        actions=[
            {"description": "建立需求變更評審機制", "department": project.design},
            {"description": "變更需提交《變更申請表》", "department": None},
        ],
        contributions={project.sales.pk: "提供100條用戶需求反饋"},
    )
    retro.refresh_from_db()
    assert retro.highlights == "每日站會同步進度"
    assert retro.shortcomings == "需求變更未走流程導致開發返工"
    goal.refresh_from_db()
    assert goal.actual_value == Decimal("18")
    (row,) = selectors.retrospective_view(project.request).goals
    assert row.percent == Decimal("120.0")
    actions = list(retro.actions.all())
    assert [(a.description, a.department, a.position) for a in actions] == [
        ("建立需求變更評審機制", project.design, 0),
        ("變更需提交《變更申請表》", None, 1),
    ]
    assert retro.contributions.get(department=project.sales).contribution == "提供100條用戶需求反饋"


@pytest.mark.django_db
def test_actions_are_edited_reordered_and_removed(project, retro):
    services.retrospective_save(
        retrospective=retro,
        by=project.initiator,
        actions=[{"description": "甲"}, {"description": "乙"}, {"description": "丙"}],
    )
    a, b, c = retro.actions.all()
    services.retrospective_save(
        retrospective=retro,
        by=project.pmo,
        actions=[{"id": c.pk, "description": "丙（改）"}, {"id": a.pk, "description": "甲"}],
    )
    assert [(x.pk, x.description, x.position) for x in retro.actions.all()] == [
        (c.pk, "丙（改）", 0),
        (a.pk, "甲", 1),
    ]
    assert not RetrospectiveAction.objects.filter(pk=b.pk).exists()
    with pytest.raises(ValidationError):
        services.retrospective_save(
            retrospective=retro, by=project.initiator, actions=[{"description": " "}]
        )


@pytest.mark.django_db
def test_an_action_a_suggestion_was_raised_from_stays(project, retro):
    services.retrospective_save(
        retrospective=retro, by=project.initiator, actions=[{"description": "建立評審機制"}]
    )
    action = retro.actions.get()
    Suggestion.objects.create(
        number="YJ202611001",
        department=project.mkt,
        proposer=project.initiator,
        pain_point="需求變更無流程",
        proposal="建立評審機制",
        expected_effect="減少返工",
        source_action=action,
        request=project.request,
    )
    with pytest.raises(ValidationError) as err:
        services.retrospective_save(retrospective=retro, by=project.initiator, actions=[])
    assert "actions" in err.value.message_dict
    assert retro.actions.filter(pk=action.pk).exists()


@pytest.mark.django_db
def test_a_head_writes_only_their_departments_contribution(project, retro):
    """Decision: heads (and acting deputies) write their own department's contribution;
    everything else is the initiator's and the PMO's."""
    services.retrospective_save(
        retrospective=retro, by=project.design_head, contributions={project.design.pk: "完成設計稿"}
    )
    services.retrospective_save(
        retrospective=retro, by=project.sales_deputy, contributions={project.sales.pk: "需求匯總"}
    )
    assert retro.contributions.get(department=project.design).contribution == "完成設計稿"
    assert retro.contributions.get(department=project.sales).contribution == "需求匯總"
    with pytest.raises(PermissionDenied):
        services.retrospective_save(
            retrospective=retro, by=project.design_head, contributions={project.sales.pk: "x"}
        )
    with pytest.raises(PermissionDenied):
        services.retrospective_save(retrospective=retro, by=project.design_head, highlights="x")
    for user in (project.designer, project.outsider, project.outsider_head):
        with pytest.raises(PermissionDenied):
            services.retrospective_save(
                retrospective=retro, by=user, contributions={project.design.pk: "x"}
            )
    assert retro.contributions.get(department=project.design).contribution == "完成設計稿"


@pytest.mark.django_db
def test_a_save_over_a_newer_save_is_a_conflict(project, retro):
    seen = services.retrospective_version(retro)
    services.retrospective_save(
        retrospective=retro, by=project.design_head, contributions={project.design.pk: "新"}
    )
    with pytest.raises(services.ClosingConflict):
        services.retrospective_save(
            retrospective=retro, by=project.initiator, highlights="舊頁面", seen_version=seen
        )
    retro.refresh_from_db()
    assert retro.highlights == ""
    services.retrospective_save(
        retrospective=retro,
        by=project.initiator,
        highlights="新頁面",
        seen_version=services.retrospective_version(retro),
    )
    retro.refresh_from_db()
    assert retro.highlights == "新頁面"


# --- filing ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_filing_needs_every_goals_actual_value(project, retro):
    with pytest.raises(ValidationError) as err:
        services.retrospective_file(retrospective=retro, by=project.initiator)
    assert "月活躍用戶增長" in " ".join(err.value.messages)
    retro.refresh_from_db()
    assert retro.state == RetrospectiveState.DRAFT


@pytest.mark.django_db
def test_filing_records_who_and_when_and_freezes_it(project, retro):
    goal = _goal(project)
    services.retrospective_save(
        retrospective=retro, by=project.initiator, actual_values={goal.pk: Decimal("18")}
    )
    for user in (project.design_head, project.designer, project.outsider):
        with pytest.raises(PermissionDenied):
            services.retrospective_file(retrospective=retro, by=user)
    Notification.objects.all().delete()
    services.retrospective_file(retrospective=retro, by=project.initiator)
    retro.refresh_from_db()
    assert retro.state == RetrospectiveState.FILED
    assert retro.filed_by == project.initiator
    assert retro.filed_at is not None
    (event,) = RequestEvent.objects.filter(request=project.request, kind=EventKind.RETROSPECTIVE)
    assert event.by == project.initiator
    assert Notification.objects.filter(
        recipient=project.pmo, url__contains="retrospective"
    ).exists()
    with pytest.raises(services.ClosingConflict):
        services.retrospective_file(retrospective=retro, by=project.pmo)
    with pytest.raises(services.ClosingConflict):
        services.retrospective_save(retrospective=retro, by=project.initiator, highlights="改")
    with pytest.raises(services.ClosingConflict):
        services.retrospective_save(
            retrospective=retro, by=project.design_head, contributions={project.design.pk: "改"}
        )
    assert selectors.retrospectives_to_write(project.initiator) == []


# --- the retrospective_overdue warning ---------------------------------------------------------


def _overdue(now):
    items = warnings.collect(now=now, cadences=(warnings.DAILY,))
    return {i.recipient for i in items if i.rule == "retrospective_overdue"}


@pytest.mark.django_db
def test_overdue_warning_stops_once_the_retrospective_is_filed(project, retro):
    """A week after completion the draft is reported; filed, it is not any more."""
    CollabRequest.objects.filter(pk=project.request.pk).update(
        completed_at=timezone.now() - dt.timedelta(days=8)
    )
    assert _overdue(timezone.now()) == {project.initiator, project.pmo}
    goal = _goal(project)
    services.retrospective_save(
        retrospective=retro, by=project.initiator, actual_values={goal.pk: Decimal("18")}
    )
    services.retrospective_file(retrospective=retro, by=project.initiator)
    assert _overdue(timezone.now()) == set()


@pytest.mark.django_db
def test_an_archived_case_refuses_every_write_to_its_retrospective(project, retro):
    """Archived (the archive area's step), the retrospective is read-only in the services
    too, not only on the page."""
    CollabRequest.objects.filter(pk=project.request.pk).update(is_archived=True)
    retro = Retrospective.objects.get(pk=retro.pk)
    with pytest.raises(CaseArchived):
        services.retrospective_save(retrospective=retro, by=project.initiator, highlights="改")
    with pytest.raises(CaseArchived):
        services.retrospective_file(retrospective=retro, by=project.pmo)
    assert not selectors.retrospectives_to_write(project.initiator)
    view = selectors.retrospective_view(CollabRequest.objects.get(pk=project.request.pk))
    assert not permissions.can_write_retrospective(project.initiator, view.retrospective)
