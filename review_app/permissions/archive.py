"""Who may see and do what: Archive 歸檔 and the knowledge base 知識庫.

The PMO (and platform admins) archive a case once it is 已完成 and its retrospective is
filed. The knowledge base lists the archived cases a person may see: every archived,
non-confidential case is a reference for all active staff, a confidential one keeps
the request's own visibility (both rules live in requests_app.permissions.
visible_requests, which this module starts from).
"""

from __future__ import annotations

from django.db.models import QuerySet

from collab.models import User
from requests_app import permissions as request_permissions
from requests_app.choices import RequestState
from requests_app.models import CollabRequest

from ..choices import RetrospectiveState
from ..models import ArchiveEntry, Retrospective


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def may_archive(user: User) -> bool:
    """The PMO and platform admins are the ones who archive cases."""
    return _active(user) and (user.is_pmo or user.is_platform_admin)


def retrospective_filed(request: CollabRequest) -> bool:
    return Retrospective.objects.filter(request=request, state=RetrospectiveState.FILED).exists()


def can_archive(user: User, request: CollabRequest) -> bool:
    """The PMO archives a completed case whose retrospective is filed, once."""
    return (
        may_archive(user)
        and request.state == RequestState.COMPLETED
        and not request.is_archived
        and retrospective_filed(request)
    )


def can_view_knowledge_base(user: User) -> bool:
    """Every active member of staff reads the knowledge base (what each sees differs)."""
    return _active(user)


def visible_entries(user: User, queryset: QuerySet | None = None) -> QuerySet[ArchiveEntry]:
    """Return the knowledge-base entries of the cases `user` may see."""
    queryset = ArchiveEntry.objects.all() if queryset is None else queryset
    if not can_view_knowledge_base(user):
        return queryset.none()
    if user.sees_everything:
        return queryset
    return queryset.filter(request__in=request_permissions.visible_requests(user).values("pk"))
