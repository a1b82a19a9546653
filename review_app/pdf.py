"""The printable 成果驗收確認單 (final acceptance), 復盤報告 (retrospective) and the
monthly 協作分析報告 (collaboration analysis).

The first two take a sheet already read, and permission-checked, by
review_app.selectors.closing; the analysis takes a report read by
review_app.selectors.analysis over the scope review_app.permissions.analysis allows.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from collab.pdf import render_pdf

from .selectors.analysis import MonthlyAnalysis
from .selectors.closing import FinalSheet, RetrospectiveView

FINAL_ACCEPTANCE_TEMPLATE = "pdf/final_acceptance.html"
RETROSPECTIVE_TEMPLATE = "pdf/retrospective.html"
ANALYSIS_TEMPLATE = "pdf/analysis.html"


def final_acceptance_pdf(sheet: FinalSheet) -> bytes:
    return render_pdf(
        FINAL_ACCEPTANCE_TEMPLATE, {"sheet": sheet, "printed_at": timezone.localtime()}
    )


def retrospective_pdf(view: RetrospectiveView) -> bytes:
    return render_pdf(RETROSPECTIVE_TEMPLATE, {"sheet": view, "printed_at": timezone.localtime()})


def _filename(request, what: str) -> str:
    return f"{request.number or f'draft-{request.pk}'} {request.name} {what}.pdf"


def final_acceptance_filename(sheet: FinalSheet) -> str:
    return _filename(sheet.request, _("Final acceptance"))


def retrospective_filename(view: RetrospectiveView) -> str:
    return _filename(view.request, _("Retrospective"))


def analysis_pdf(report: MonthlyAnalysis, *, request=None) -> bytes:
    return render_pdf(
        ANALYSIS_TEMPLATE, {"report": report, "printed_at": timezone.localtime()}, request=request
    )


def analysis_filename(report: MonthlyAnalysis) -> str:
    return f"{_('Collaboration analysis report')} {report.month:%Y-%m}.pdf"
