"""Admin page: the dispatch log of the monthly collaboration analysis 協作分析報告.

One read-only row per month the beat job (or "Send now") handled: when it went out and
to whom, with a link to the month's PDF. The PMO and platform admins may send the
selected months that did not go out ("Send now", through services.analysis_send, which
never sends a month twice). Who sees and sends: portfolio_app.permissions.analysis.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..models import AnalysisDispatch
from ..permissions import analysis as permissions
from ..services import analysis as services


@admin.register(AnalysisDispatch)
class AnalysisDispatchAdmin(admin.ModelAdmin):
    list_display = ["month_label", "sent_at", "recipient_count", "pdf_link"]
    list_display_links = ["month_label"]
    fields = ["month", "sent_at", "recipients", "created_at"]
    readonly_fields = fields
    actions = ["send_now"]

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return date_format(obj.month, "YEAR_MONTH_FORMAT")

    @admin.display(description=_("recipients"))
    def recipient_count(self, obj):
        return len(obj.recipients.split()) if obj.recipients else 0

    @admin.display(description=_("report"))
    def pdf_link(self, obj):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            f"{reverse('portfolio_app:analysis-pdf')}?month={obj.month:%Y-%m}",
            gettext("Open PDF"),
        )

    # Read-only to everyone; the rows are written by services.analysis_send only.
    def has_module_permission(self, request):
        return permissions.can_view_dispatches(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_dispatches(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_send_permission(self, request):
        return permissions.can_send_analysis(request.user)

    @admin.action(description=_("Send now (months not sent yet)"), permissions=["send"])
    def send_now(self, request, queryset):
        sent = 0
        for dispatch in queryset.order_by("month"):
            result = services.analysis_send(month=dispatch.month)
            if result.sent_now:
                sent += 1
            elif result.nobody:
                self.message_user(
                    request,
                    gettext(
                        "The report of %(month)s was not sent: "
                        "no active executive has an e-mail address."
                    )
                    % {"month": f"{dispatch.month:%Y-%m}"},
                    messages.WARNING,
                )
        self.message_user(
            request,
            ngettext(
                "%(count)d report sent; months sent before are not sent again.",
                "%(count)d reports sent; months sent before are not sent again.",
                sent,
            )
            % {"count": sent},
            messages.SUCCESS if sent else messages.INFO,
        )
