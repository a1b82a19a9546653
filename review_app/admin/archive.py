"""Admin pages: Archive 歸檔 and the knowledge base 知識庫.

The knowledge base's entries are a read-only list here: a case is archived on its case
page (review_app:archive), in one transaction with its read-only flag, never in admin.
Each person sees the entries of the cases they may see (permissions.archive). An entry
belongs to an archived case, so ArchivedCaseAdminMixin refuses it like every case
model's admin (a bulk delete included), on top of this admin offering no add, change or
delete at all.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from collab.admin import ReadOnlyAdmin, portal_link
from requests_app.admin import ArchivedCaseAdminMixin

from ..models import ArchiveEntry
from ..permissions import archive as permissions


@admin.register(ArchiveEntry)
class ArchiveEntryAdmin(ArchivedCaseAdminMixin, ReadOnlyAdmin):
    list_display = ["title", "request", "confidential", "archived_at", "archived_by"]
    list_select_related = ["request", "archived_by"]
    search_fields = ["title", "request__number", "search_text"]
    date_hierarchy = "archived_at"
    fields = ["title", "request", "confidential", "archived_by", "archived_at", "portal_page"]
    readonly_fields = fields

    def get_queryset(self, request):
        return permissions.visible_entries(request.user, super().get_queryset(request))

    @admin.display(description=_("confidential"), boolean=True)
    def confidential(self, obj):
        return obj.request.is_confidential

    @admin.display(description=_("case page"))
    def portal_page(self, obj):
        return portal_link(reverse("requests_app:detail", args=[obj.request_id]))
