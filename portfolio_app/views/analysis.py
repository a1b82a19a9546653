"""Page: the monthly collaboration analysis 協作分析報告 as a PDF, on demand.

`/review/analysis.pdf?month=YYYY-MM` (no month: the previous one). The PMO, executives
and platform admins get the company-wide report, a head the report over their
departments (portfolio_app.permissions.analysis); a month that cannot be read answers 400
with the reason and a month picker. The same report goes to the executives by e-mail on
the 1st of each month (portfolio_app.services.analysis, portfolio_app.tasks).
"""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_safe

from collab.pdf import pdf_response
from collab.permissions import require
from collab.ratelimits import rate_limited

from .. import pdf
from ..forms.analysis import AnalysisMonthForm
from ..permissions import analysis as permissions
from ..selectors import analysis as selectors


@require_safe
@require(permissions.can_view_analysis)
@rate_limited("analysis")
def analysis_pdf(request):
    """Print the 協作分析報告 of the month asked for, over the viewer's scope."""
    today = timezone.localdate()
    form = AnalysisMonthForm(request.GET, today=today)
    if not form.is_valid():
        context = {
            "form": form,
            "months": selectors.analysis_months(today),
            "default": selectors.previous_month(today),
        }
        return render(request, "review_app/analysis_month.html", context, status=400)
    report = selectors.monthly_analysis(
        form.cleaned_data["month"], scope=permissions.analysis_scope(request.user)
    )
    return pdf_response(pdf.analysis_pdf(report, request=request), pdf.analysis_filename(report))


def picker_context(user, *, today=None) -> dict:
    """Context of templates/review_app/_analysis_picker.html: the months the report can
    be opened for and the one picked at first; empty for whoever may not open it."""
    if not permissions.can_view_analysis(user):
        return {}
    today = today or timezone.localdate()
    return {
        "analysis_months": selectors.analysis_months(today),
        "analysis_default": selectors.previous_month(today),
    }


urlpatterns: list = [
    path("analysis.pdf", analysis_pdf, name="analysis-pdf"),
]
