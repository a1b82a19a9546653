"""The printable monthly 協作分析報告 (collaboration analysis).

It takes a report read by portfolio_app.selectors.analysis over the scope
portfolio_app.permissions.analysis allows.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from collab.pdf import render_pdf

from .selectors.analysis import MonthlyAnalysis

ANALYSIS_TEMPLATE = "pdf/analysis.html"


def analysis_pdf(report: MonthlyAnalysis, *, request=None) -> bytes:
    return render_pdf(ANALYSIS_TEMPLATE, {"report": report}, request=request)


def analysis_filename(report: MonthlyAnalysis) -> str:
    return f"{_('Collaboration analysis report')} {report.month:%Y-%m}.pdf"
