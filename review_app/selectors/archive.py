"""Reads of the archive 歸檔 and the knowledge base 知識庫.

Search is a substring match of every word of the query in ArchiveEntry.search_text
(icontains: UPPER(...) LIKE UPPER(...) on PostgreSQL), which finds Chinese text without
word segmentation: 「活躍度」 finds 「用戶活躍度提升」. The knowledge base stays small (one
row per archived case), so the scan of its own table is cheap; visibility comes from
requests_app.permissions.visible_requests through permissions.archive.visible_entries.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from collab.models import Department, User
from requests_app.choices import RequestState
from requests_app.models import CollabRequest, RequestDepartment

from ..choices import RetrospectiveState
from ..models import ArchiveEntry, Retrospective
from ..permissions import archive as permissions


def knowledge_base(
    *,
    user: User,
    q: str = "",
    department: Department | int | None = None,
    year: int | None = None,
) -> QuerySet[ArchiveEntry]:
    """Return the archived cases `user` may see, newest first, searched and filtered.

    `q`: every whitespace-separated word must occur in the case's search text (Chinese
    substrings included). `department`: the initiating or a collaborating department.
    `year`: the year the case was completed.
    """
    entries = permissions.visible_entries(user)
    for word in q.split():
        entries = entries.filter(search_text__icontains=word)
    if department:
        department_id = getattr(department, "pk", department)
        collaborates = RequestDepartment.objects.filter(
            request=OuterRef("request"), department_id=department_id
        )
        entries = entries.filter(
            Q(request__initiating_department_id=department_id) | Exists(collaborates)
        )
    if year:
        entries = entries.filter(request__completed_at__year=year)
    return entries.select_related(
        "request", "request__initiating_department", "archived_by"
    ).order_by("-archived_at", "-pk")


def knowledge_base_years(*, user: User) -> list[int]:
    """Return the completion years of the archived cases `user` may see, newest first."""
    dates = CollabRequest.objects.filter(
        pk__in=permissions.visible_entries(user).values("request_id"),
        completed_at__isnull=False,
    ).datetimes("completed_at", "year", order="DESC")
    return [d.year for d in dates]


def awaiting_archive(*, user: User) -> QuerySet[CollabRequest]:
    """Return the completed cases with a filed retrospective the PMO has yet to archive."""
    if not permissions.may_archive(user):
        return CollabRequest.objects.none()
    filed = Retrospective.objects.filter(request=OuterRef("pk"), state=RetrospectiveState.FILED)
    return (
        CollabRequest.objects.filter(state=RequestState.COMPLETED, is_archived=False)
        .filter(Exists(filed))
        .select_related("initiating_department")
        .order_by("completed_at", "pk")
    )
