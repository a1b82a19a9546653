"""Every URL of meetings_app, for the people who may and may not see its object (issue 15
§8): what a person may not see answers 404 to GET and to POST alike, so that nobody
learns a meeting, a problem, an action item or a series exists by trying its number; a
signed-out visitor is sent to sign in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone

from meetings_app.choices import ActionState
from meetings_app.models import MeetingSeries, Problem
from tests import meetings_fixtures
from tests.meetings_fixtures import make_action

world = meetings_fixtures.world  # the fixture, for this module

pytestmark = pytest.mark.django_db

# URL names without an object: every signed-in person opens them.
OWN_PAGES = {"mine", "calendar", "new", "series-new"}
# The object URLs a person who sees the object reads with GET.
READ_PAGES = {"detail", "ics", "request", "action", "series", "series-ics"}


def _names() -> list[str]:
    resolver = get_resolver()
    _namespace, inner = resolver.namespace_dict["meetings_app"]
    return sorted({p.name for p in inner.url_patterns if p.name})


def _objects(w):
    series = MeetingSeries.objects.create(
        request=w.request,
        topic="專案週例會",
        weekday=4,
        start_time=dt.time(16, 0),
        first_date=timezone.localdate() + dt.timedelta(days=7),
        organiser=w.initiator,
        recorder=w.recorder,
    )
    problem = Problem.objects.create(
        meeting=w.case_meeting, description="資料同步延遲", is_filed=True
    )
    action = make_action(w.case_meeting, w.b_staff, ActionState.IN_PROGRESS)
    return series, problem, action


def _url(name: str, w, series, problem, action) -> str:
    kwargs = {
        "request": {"request_pk": w.request.pk},
        "problem": {"pk": w.case_meeting.pk, "problem_pk": problem.pk},
        "action": {"pk": action.pk},
        "action-act": {"pk": action.pk, "name": "progress"},
        "series": {"pk": series.pk},
        "series-ics": {"pk": series.pk},
        "series-stop": {"pk": series.pk},
    }.get(name, {"pk": w.case_meeting.pk})
    return reverse(f"meetings_app:{name}", kwargs=None if name in OWN_PAGES else kwargs)


OBJECT_PAGES = sorted(set(_names()) - OWN_PAGES)


def test_the_lists_above_name_every_url():
    """A new URL of the app shows up here, so that it is in the tests below."""
    names = set(_names())
    assert names >= OWN_PAGES | READ_PAGES
    assert len(OBJECT_PAGES) > len(READ_PAGES)  # the actions (POST) and editors' pages


MISSING = 2_000_000_000  # no row has this id


def _missing_url(name: str, w, series, problem, action) -> str:
    """The same URL naming an object that does not exist."""
    kwargs = {"request": {"request_pk": MISSING}, "problem": {"pk": MISSING, "problem_pk": MISSING}}
    kwargs = kwargs.get(name, {"pk": MISSING})
    if name == "action-act":
        kwargs["name"] = "progress"
    return reverse(f"meetings_app:{name}", kwargs=kwargs)


@pytest.mark.parametrize("name", OBJECT_PAGES)
@pytest.mark.parametrize("role", ["o_staff", "c_staff"])
def test_whoever_may_not_see_the_object_gets_404(world, client, name, role):
    """GET answers 404; POST answers what it answers for an object that does not exist
    (404, or 405 on a download that takes no POST whatever the object)."""
    objects = _objects(world)
    url, missing = _url(name, world, *objects), _missing_url(name, world, *objects)
    client.force_login(getattr(world, role))
    assert client.get(url).status_code == 404, f"GET {url}"
    data = {"reason": "x", "body": "x"}
    assert client.post(url, data).status_code == client.post(missing, data).status_code, url
    assert client.post(url, data).status_code in (404, 405), f"POST {url}"


@pytest.mark.parametrize("name", sorted(READ_PAGES))
@pytest.mark.parametrize("role", ["b_staff", "guest", "pmo", "executive"])
def test_whoever_sees_the_object_reads_it(world, client, name, role):
    """The guest invited to one meeting of the request reads that meeting, its action
    items and the request's list of what they see, not the request's weekly series."""
    url = _url(name, world, *_objects(world))
    client.force_login(getattr(world, role))
    expected = 404 if role == "guest" and name.startswith("series") else 200
    assert client.get(url).status_code == expected, f"GET {url}"


@pytest.mark.parametrize("name", sorted(OWN_PAGES))
def test_the_own_pages_open_for_a_signed_in_person(world, client, name):
    client.force_login(world.o_staff)
    response = client.get(reverse(f"meetings_app:{name}"))
    # The standing-meeting form is the PMO's and heads': the others are told, not shown.
    assert response.status_code in ((200,) if name != "series-new" else (200, 403))


@pytest.mark.parametrize("name", _names())
def test_a_signed_out_visitor_is_sent_to_sign_in(world, client, name):
    url = _url(name, world, *_objects(world))
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"], url
