"""Pages: Archive 歸檔 and the knowledge base 知識庫.

The PMO archives a case from its panel on the case page (templates/review_app/case/
_archive.html); the knowledge base lists the archived cases the person may see, as
"name-date", with a search box and filters. Views parse input, call one service or
selector and redirect; the service's refusals come back as messages.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from collab import errors
from collab.errors import ServiceError
from collab.models import Department
from collab.paging import paginate
from collab.permissions import require
from requests_app import permissions as request_permissions

from ..forms.archive import ArchiveForm, KnowledgeFilterForm
from ..models import ArchiveEntry
from ..permissions import archive as permissions
from ..selectors import archive as selectors
from ..services import archive as services

PAGE_SIZE = 25


@require_safe
@require(permissions.can_view_knowledge_base)
def knowledge(request):
    """List the archived cases the user may see, searched (Chinese substrings) and filtered."""
    user = request.user
    filters = KnowledgeFilterForm(
        request.GET,
        departments=Department.objects.filter(is_active=True).order_by("code"),
        years=selectors.knowledge_base_years(user=user),
    )
    values = filters.values()
    entries = selectors.knowledge_base(user=user, **values)
    return render(
        request,
        "review_app/archive/knowledge.html",
        {
            "filters": filters,
            "values": values,
            **paginate(request, entries, PAGE_SIZE),
            "searched": any(values.values()),
        },
    )


@require_POST
def archive(request, pk):
    """Archive the case (the PMO): it becomes read-only and joins the knowledge base."""
    collab_request = request_permissions.get_visible_or_404(request.user, pk)
    if not permissions.may_archive(request.user):
        raise PermissionDenied(_("Only the PMO can archive a case."))
    form = ArchiveForm(request.POST)
    form.is_valid()  # a checkbox: never invalid
    try:
        entry = services.archive_case(
            request=collab_request,
            by=request.user,
            confidential=form.cleaned_data.get("confidential", False),
        )
    except (ValidationError, ServiceError) as exc:
        errors.flash(request, exc)
    else:
        messages.success(
            request,
            _("The case was archived as “%(title)s”; it is now read-only.") % {"title": entry},
        )
    return redirect(reverse("review_app:case", args=[pk]) + "#archive")


urlpatterns: list = [
    path("knowledge/", knowledge, name="knowledge"),
    path("requests/<int:pk>/archive/", archive, name="archive"),
]


def case_context(user, collab_request) -> dict:
    """Context of this area's panel on the case page.

    Rendered by templates/review_app/case/_archive.html.
    """
    entry = None
    if collab_request.is_archived:
        entry = (
            ArchiveEntry.objects.filter(request=collab_request)
            .select_related("archived_by")
            .first()
        )
    may_archive = permissions.may_archive(user) and not collab_request.is_archived
    refusals = []
    if may_archive:
        refusals = [e.messages[0] for e in services.archive_refusals(collab_request)]
    return {
        "archive": {
            "entry": entry,
            "may_archive": may_archive,
            "can_archive": may_archive and not refusals,
            "refusals": refusals,
            "form": ArchiveForm(initial={"confidential": collab_request.is_confidential}),
        }
    }


def todo_context(user) -> dict:
    """Context of this area's section of the to-do page (templates/review_app/todo/_archive.html).

    "archive_todo_count" says how many items wait; zero counts as nothing to do.
    """
    if not permissions.may_archive(user):
        return {"archive_todo": [], "archive_todo_count": 0}
    waiting = list(selectors.awaiting_archive(user=user))
    return {"archive_todo": waiting, "archive_todo_count": len(waiting)}
