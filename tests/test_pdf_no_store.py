"""Every PDF the portal prints answers `Cache-Control: private, no-store`, like the
attachment downloads: a case's or the company's data printed for one reader is never
kept by a browser's or a proxy's cache (collab.pdf.pdf_response, the one PDF response)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from meetings_app.choices import MeetingKind, MinutesState
from meetings_app.models import Meeting, Minutes, MinutesItem
from risks_app.choices import RiskState
from risks_app.models import Risk
from tests.review_closing_fixtures import build_project, complete

pytestmark = pytest.mark.django_db

# URL name → how to build its arguments from the completed case.
PDF_URLS = {
    "requests_app:pdf": lambda req: [req.pk],
    "tasks_app:breakdown-pdf": lambda req: [req.pk],
    "tasks_app:progress-pdf": lambda req: [req.pk],
    "review_app:final-acceptance-pdf": lambda req: [req.pk],
    "review_app:retrospective-pdf": lambda req: [req.pk],
    "portfolio_app:analysis-pdf": lambda req: [],
    "meetings_app:minutes-pdf": lambda req: [_meeting_with_minutes(req).pk],
    "risks_app:pdf": lambda req: [_risk(req).pk],
}


def _risk(req):
    """A risk of the case, reported a week ago and resolved."""
    reported = timezone.now() - dt.timedelta(days=7)
    return Risk.objects.create(
        request=req,
        title="供應商交期",
        description="原料延遲",
        probability=3,
        impact=4,
        level="medium",
        suggested_measures="備用供應商",
        discovered_at=reported - dt.timedelta(hours=2),
        reported_at=reported,
        reported_by=req.initiator,
        state=RiskState.RESOLVED,
    )


def _meeting_with_minutes(req):
    """A meeting of the case held last week, with its minutes filed."""
    start = timezone.now() - dt.timedelta(days=7)
    meeting = Meeting.objects.create(
        request=req,
        topic="週例會",
        kind=MeetingKind.WEEKLY,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        organiser=req.initiator,
        recorder=req.initiator,
    )
    minutes = Minutes.objects.create(
        meeting=meeting, state=MinutesState.FILED, drafted_by=req.initiator, filed_at=start
    )
    MinutesItem.objects.create(minutes=minutes, title="進度", conclusion="按計劃")
    return meeting


def _url_names(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _url_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name


def test_every_pdf_url_is_walked_here():
    """A new PDF view must be added to PDF_URLS (and so be checked below)."""
    names = {name for name in _url_names(get_resolver().url_patterns) if "pdf" in name}
    assert names == set(PDF_URLS)


@pytest.fixture
def completed(pmo):
    """A completed case (tasks, final acceptance signed, retrospective), as the PMO sees it."""
    project = build_project(pmo)
    complete(project)
    return project


@pytest.mark.parametrize("name", sorted(PDF_URLS))
def test_every_pdf_is_private_and_never_stored(client, completed, name):
    client.force_login(completed.pmo)
    url = reverse(name, args=PDF_URLS[name](completed.request))
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
    assert "public" not in directives
