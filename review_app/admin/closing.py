"""Admin pages: Final acceptance 成果驗收確認單 and the retrospective 復盤報告.

Read-only records, scoped by requests_app.permissions (a head sees the cases of their
departments, the PMO all). One thing is done here: a head (or a deputy with admin
access) signs or refuses the final acceptance for their department from its page. The
buttons call review_app.services.closing, which checks who may act, locks the rows,
logs the step and notifies, exactly as the portal's case page does.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from collab import errors
from collab.admin import (
    AwaitingMeFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceAdminMixin,
    portal_link,
)
from requests_app.admin import ArchivedCaseAdminMixin, VisibleRequestsMixin
from requests_app.choices import RequestState
from requests_app.models import Goal

from ..choices import FinalOutcome, SignatureDecision
from ..models import (
    DepartmentContribution,
    FinalAcceptance,
    FinalSignature,
    Retrospective,
    RetrospectiveAction,
)
from ..permissions import closing as permissions
from ..selectors import closing as selectors
from ..services import closing as services

# The POST names of the sign / refuse buttons on the final acceptance's page.
DECISION_PARAM = "_final_decision"
COMMENT_PARAM = "_final_comment"


class _ReadOnlyAdmin(ArchivedCaseAdminMixin, VisibleRequestsMixin, ReadOnlyAdmin):
    """A case record, read-only, of the requests the person may see; refused as every
    case model's admin (a bulk delete too)."""


# --- the final acceptance ----------------------------------------------------------------


class FinalSignatureInline(ReadOnlyInline):
    model = FinalSignature
    fields = ["department", "decision", "signed_by", "on_behalf_of", "signed_at", "comment"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("department", "signed_by", "on_behalf_of")
        )


class AwaitingMySignatureFilter(AwaitingMeFilter):
    """The open final acceptances one of whose departments waits on the person."""

    def awaiting(self, request):
        return {s.signature.final_id for s in selectors.signatures_awaiting(request.user)}


@admin.register(FinalAcceptance)
class FinalAcceptanceAdmin(ServiceAdminMixin, _ReadOnlyAdmin):
    """The rounds of the 成果驗收確認單, with the departments' signatures."""

    change_form_template = "admin/review_app/finalacceptance/change_form.html"
    list_display = ["request", "round", "outcome", "signed", "opened_by", "opened_at", "closed_at"]
    list_filter = [AwaitingMySignatureFilter, "outcome"]
    search_fields = ["request__number", "request__name"]
    list_select_related = ["request", "opened_by"]
    date_hierarchy = "opened_at"
    fields = [
        "request",
        "round",
        "outcome",
        "summary",
        "opened_by",
        "opened_at",
        "closed_at",
        "case_page",
    ]
    readonly_fields = fields
    inlines = [FinalSignatureInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                signed_count=Count(
                    "signatures", filter=Q(signatures__decision=SignatureDecision.SIGNED)
                ),
                signature_count=Count("signatures"),
            )
        )

    @admin.display(description=_("signed"))
    def signed(self, obj):
        return f"{obj.signed_count} / {obj.signature_count}"

    @admin.display(description=_("case page"))
    def case_page(self, obj):
        return portal_link(reverse("review_app:case", args=[obj.request_id]) + "#closing-final")

    def signatures_to_answer(self, request, obj: FinalAcceptance) -> list[dict]:
        """Return the pending signatures of `obj` the person may answer, with how."""
        if obj.outcome != FinalOutcome.OPEN or obj.request.state != RequestState.IN_PROGRESS:
            return []
        pending = list(
            obj.signatures.filter(decision=SignatureDecision.PENDING)
            .select_related("department")
            .prefetch_related("department__heads")
        )
        actors = permissions.actors_by_department(request.user, [s.department for s in pending])
        return [
            {"signature": s, "actor": actors[s.department_id]}
            for s in pending
            if s.department_id in actors
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["signatures_to_answer"] = self.signatures_to_answer(request, obj)
            context["decision_param"] = DECISION_PARAM
            context["comment_param"] = COMMENT_PARAM
        return super().render_change_form(request, context, add, change, form_url, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and DECISION_PARAM in request.POST:
            return self._decide(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def _decide(self, request, object_id):
        """Sign or refuse through the service; the admin never writes the rows itself."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        decision, _sep, pk = request.POST.get(DECISION_PARAM, "").partition(":")
        signature = obj.signatures.filter(pk=pk if pk.isdigit() else None).first()
        comment = request.POST.get(COMMENT_PARAM, "")
        if signature is None or decision not in ("sign", "refuse"):
            self.message_user(request, gettext("This action is not possible now."), messages.ERROR)
            return HttpResponseRedirect(request.path)
        try:
            if decision == "sign":
                services.final_sign(signature=signature, by=request.user, comment=comment)
            else:
                services.final_refuse(signature=signature, by=request.user, reason=comment)
        except errors.REFUSALS as exc:
            self.message_refusal(request, exc)
        else:
            text = (
                gettext("%(department)s signed the final acceptance.")
                if decision == "sign"
                else gettext("%(department)s refused the final acceptance; it is returned.")
            )
            self.message_user(
                request, text % {"department": signature.department}, messages.SUCCESS
            )
        return HttpResponseRedirect(request.path)


@admin.register(FinalSignature)
class FinalSignatureAdmin(_ReadOnlyAdmin):
    """Every department's signature (or refusal) on every round, read-only."""

    list_display = [
        "request_link",
        "round",
        "department",
        "decision",
        "signed_by",
        "on_behalf_of",
        "signed_at",
        "final_link",
    ]
    list_filter = ["decision", ("department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["final__request__number", "final__request__name"]
    list_select_related = ["final__request", "department", "signed_by", "on_behalf_of"]
    fields = [*list_display, "comment"]
    readonly_fields = fields
    request_field = "final__request"

    @admin.display(description=_("request"), ordering="final__request__number")
    def request_link(self, obj):
        return obj.final.request

    @admin.display(description=_("round"), ordering="final__round")
    def round(self, obj):
        return obj.final.round

    @admin.display(description=_("final acceptance"))
    def final_link(self, obj):
        url = reverse("admin:review_app_finalacceptance_change", args=[obj.final_id])
        return portal_link(url, gettext("Open"))


# --- the retrospective ---------------------------------------------------------------------


class RetrospectiveActionInline(ReadOnlyInline):
    model = RetrospectiveAction
    fields = ["position", "description", "department"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department")


class DepartmentContributionInline(ReadOnlyInline):
    model = DepartmentContribution
    fields = ["department", "contribution"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department")


@admin.register(Retrospective)
class RetrospectiveAdmin(_ReadOnlyAdmin):
    """The 復盤報告 of each completed request, read-only: it is written in the portal."""

    list_display = ["request", "state", "due_date", "filed_by", "filed_at"]
    list_filter = ["state"]
    search_fields = ["request__number", "request__name"]
    list_select_related = ["request", "filed_by"]
    date_hierarchy = "due_date"
    fields = [
        "request",
        "state",
        "due_date",
        "goals_vs_actual",
        "highlights",
        "shortcomings",
        "filed_by",
        "filed_at",
        "portal_page",
    ]
    readonly_fields = fields
    inlines = [RetrospectiveActionInline, DepartmentContributionInline]

    @admin.display(description=_("goals: target against actual"))
    def goals_vs_actual(self, obj):
        rows = selectors.goal_rows(Goal.objects.filter(request=obj.request_id))
        if not rows:
            return "—"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            gettext("Goal"),
            gettext("Target"),
            gettext("Actual"),
            gettext("Achievement"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        row.goal.description,
                        row.goal.target_value,
                        row.goal.unit,
                        "—" if row.goal.actual_value is None else row.goal.actual_value,
                        "—" if row.percent is None else f"{row.percent}%",
                    )
                    for row in rows
                ),
            ),
        )

    @admin.display(description=_("retrospective page"))
    def portal_page(self, obj):
        return portal_link(reverse("review_app:retrospective", args=[obj.request_id]))
