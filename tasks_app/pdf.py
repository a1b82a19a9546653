"""The printable 任務分工表 (seed 000 template 2, seed 002) and 進度跟蹤表 (seed 000 template 3).

Both take a sheet already read, and permission-checked, by tasks_app.board.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from collab.pdf import render_pdf
from requests_app.pdf import case_filename

from .board import BreakdownSheet, ProgressSheet

BREAKDOWN_TEMPLATE = "pdf/breakdown.html"
PROGRESS_TEMPLATE = "pdf/progress.html"


def breakdown_pdf(sheet: BreakdownSheet) -> bytes:
    return render_pdf(BREAKDOWN_TEMPLATE, {"sheet": sheet})


def progress_pdf(sheet: ProgressSheet) -> bytes:
    return render_pdf(PROGRESS_TEMPLATE, {"sheet": sheet})


def breakdown_filename(sheet: BreakdownSheet) -> str:
    return case_filename(sheet.request, _("Task breakdown"))


def progress_filename(sheet: ProgressSheet) -> str:
    return case_filename(sheet.request, _("Progress tracking"))
