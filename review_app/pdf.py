"""The printable 成果驗收確認單 (final acceptance) and 復盤報告 (retrospective).

Both take a sheet already read, and permission-checked, by review_app.selectors.closing.
The monthly 協作分析報告 is portfolio_app's (portfolio_app.pdf).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from collab.pdf import render_pdf
from requests_app.pdf import case_filename

from .selectors.closing import FinalSheet, RetrospectiveView

FINAL_ACCEPTANCE_TEMPLATE = "pdf/final_acceptance.html"
RETROSPECTIVE_TEMPLATE = "pdf/retrospective.html"


def final_acceptance_pdf(sheet: FinalSheet) -> bytes:
    return render_pdf(FINAL_ACCEPTANCE_TEMPLATE, {"sheet": sheet})


def retrospective_pdf(view: RetrospectiveView) -> bytes:
    return render_pdf(RETROSPECTIVE_TEMPLATE, {"sheet": view})


def final_acceptance_filename(sheet: FinalSheet) -> str:
    return case_filename(sheet.request, _("Final acceptance"))


def retrospective_filename(view: RetrospectiveView) -> str:
    return case_filename(view.request, _("Retrospective"))
