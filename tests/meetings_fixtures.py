"""A small organisation with a request's meeting and a standing meeting, for the meeting
permission and IDOR tests (tests/test_meetings_permissions.py, test_meetings_idor.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from collab.choices import Role
from collab.models import Department, User
from collab.services import role_groups_ensure
from meetings_app.choices import ActionState, MeetingKind
from meetings_app.models import ActionItem, Meeting
from requests_app.models import CollabRequest
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory, make_request


@dataclass
class World:
    a: Department
    b: Department
    c: Department
    o: Department
    request: CollabRequest | None = None
    case_meeting: Meeting | None = None  # of the request
    standing: Meeting | None = None  # of no request, for department c
    users: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None


def make_meeting(**fields) -> Meeting:
    start = timezone.now() + dt.timedelta(days=2)
    participants = fields.pop("participants", [])
    departments = fields.pop("departments", [])
    meeting = Meeting.objects.create(
        topic=fields.pop("topic", "協作啟動會"),
        kind=fields.pop("kind", MeetingKind.KICKOFF),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        **fields,
    )
    meeting.participants.set(participants)
    meeting.departments.set(departments)
    return meeting


def make_action(meeting: Meeting, owner: User, state: str = ActionState.TODO) -> ActionItem:
    action = ActionItem.objects.create(
        meeting=meeting,
        description="整理客戶投訴詳情",
        responsible_department=owner.department,
        owner=owner,
        start_date=timezone.localdate(),
        due_at=timezone.now() + dt.timedelta(days=5),
    )
    ActionItem.objects.filter(pk=action.pk).update(state=state)
    return ActionItem.objects.get(pk=action.pk)


@pytest.fixture
def world():
    role_groups_ensure()
    a, b, c, o = (DepartmentFactory() for _ in range(4))
    w = World(a=a, b=b, c=c, o=o)
    u = w.users
    u["initiator"] = UserFactory(department=a)  # the request's initiator, organiser
    u["recorder"] = UserFactory(department=a)
    u["a_staff"] = UserFactory(department=a)
    u["b_head"] = UserFactory(department=b)
    b.heads.add(u["b_head"])
    u["deputy"] = UserFactory(department=b)
    DelegationFactory(
        head=u["b_head"],
        deputy=u["deputy"],
        start_date=timezone.localdate() - dt.timedelta(days=1),
        end_date=timezone.localdate() + dt.timedelta(days=7),
    )
    u["b_staff"] = UserFactory(department=b)
    u["guest"] = UserFactory(department=o)  # invited from an uninvolved department
    u["o_staff"] = UserFactory(department=o)  # same department, not invited
    u["owner"] = UserFactory(department=o)  # owns an action item, not invited
    u["c_head"] = UserFactory(department=c)
    c.heads.add(u["c_head"])
    u["c_staff"] = UserFactory(department=c)
    u["pmo"] = UserFactory(role=Role.PMO, department=None)
    u["executive"] = UserFactory(role=Role.EXECUTIVE, department=None)
    u["superuser"] = UserFactory(is_superuser=True, is_staff=True, department=None)
    u["inactive"] = UserFactory(department=a, is_active=False)
    u["anonymous"] = AnonymousUser()
    w.request = make_request(initiator=u["initiator"], departments=[b], lead=b)
    w.case_meeting = make_meeting(
        request=w.request,
        organiser=u["initiator"],
        recorder=u["recorder"],
        participants=[u["b_staff"], u["guest"]],
        departments=[a, b],
    )
    w.standing = make_meeting(
        topic="跨部門週例會",
        kind=MeetingKind.WEEKLY,
        organiser=u["c_head"],
        recorder=u["c_staff"],
        participants=[u["a_staff"]],
        departments=[c],
    )
    return w
