"""Every URL of risks_app, for the people who may and may not see its object (issue 16,
"Everywhere"): what a person may not see answers 404 to GET and to POST alike, so that
nobody learns a risk report or a request exists by trying its number; a signed-out
visitor is sent to sign in."""

from __future__ import annotations

import pytest
from django.urls import get_resolver, reverse

from tests.risks_fixtures import report

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.risks_fixtures"]

# URL names without an object: every signed-in person opens them.
OWN_PAGES = {"register"}
# The object URLs a person who sees the object reads with GET.
READ_PAGES = {"request", "detail", "pdf"}
MISSING = 2_000_000_000  # no row has this id


def _names() -> list[str]:
    _namespace, inner = get_resolver().namespace_dict["risks_app"]
    return sorted({p.name for p in inner.url_patterns if p.name})


def _url(name: str, w, risk, pk=None) -> str:
    """The URL `name` for the world's request or risk (or for `pk`, a missing one)."""
    if name in OWN_PAGES:
        return reverse(f"risks_app:{name}")
    if name == "new":
        return reverse("risks_app:new") + f"?request={pk or w.request.pk}"
    if name == "request":
        return reverse("risks_app:request", args=[pk or w.request.pk])
    if name == "act":
        return reverse("risks_app:act", args=[pk or risk.pk, "close"])
    return reverse(f"risks_app:{name}", args=[pk or risk.pk])


OBJECT_PAGES = sorted(set(_names()) - OWN_PAGES)


def test_the_lists_above_name_every_url():
    """A new URL of the app shows up here, so that it is in the tests below."""
    assert set(_names()) >= OWN_PAGES | READ_PAGES | {"new", "act"}


@pytest.mark.parametrize("name", OBJECT_PAGES)
@pytest.mark.parametrize("role", ["other_staff", "other_head"])
def test_whoever_may_not_see_the_object_gets_404(risk_world, client, name, role):
    w = risk_world
    risk = report(w)
    url, missing = _url(name, w, risk), _url(name, w, risk, pk=MISSING)
    client.force_login(getattr(w, role))
    assert client.get(url).status_code == 404, f"GET {url}"
    data = {"note": "x", "expected_state": "reported"}
    assert client.post(url, data).status_code == client.post(missing, data).status_code, url
    assert client.post(url, data).status_code in (404, 405), f"POST {url}"
    risk.refresh_from_db()
    assert risk.state == "reported"


@pytest.mark.parametrize("name", sorted(READ_PAGES))
@pytest.mark.parametrize(
    "role", ["mkt_staff", "tech_head", "tech_deputy", "consultant", "pmo", "executive"]
)
def test_whoever_sees_the_object_reads_it(risk_world, client, name, role):
    w = risk_world
    url = _url(name, w, report(w))
    client.force_login(getattr(w, role))
    assert client.get(url).status_code == 200, f"GET {url}"


def test_the_register_opens_for_every_signed_in_person(risk_world, client):
    client.force_login(risk_world.other_staff)
    assert client.get(reverse("risks_app:register")).status_code == 200


@pytest.mark.parametrize("name", _names())
def test_a_signed_out_visitor_is_sent_to_sign_in(risk_world, client, name):
    url = _url(name, risk_world, report(risk_world))
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"], url
