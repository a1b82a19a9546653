"""The 需求看板 board of a request and its printable 任務分工表 and 進度跟蹤表.

Read-only pages: each asks tasks_app.board (which starts from
requests_app.permissions.get_visible_or_404, so outsiders get 404) and renders.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_safe

from collab.pdf import pdf_response
from collab.ratelimits import rate_limited

from . import board as board_selectors
from . import pdf


@require_safe
def board(request, request_pk):
    """Show the totals, the overall progress and the timeline of a request's tasks, and
    what later stages add next to them (the action items of its meetings)."""
    data = board_selectors.request_board(user=request.user, request_pk=request_pk)
    context = {**data.extras, "board": data, "object": data.request}
    return render(request, "tasks_app/board.html", context)


@require_safe
@rate_limited("pdf")
def breakdown_pdf(request, request_pk):
    """Print the 任務分工表 with the RACI matrix and the departments' signatures."""
    sheet = board_selectors.breakdown_sheet(user=request.user, request_pk=request_pk)
    return pdf_response(pdf.breakdown_pdf(sheet), pdf.breakdown_filename(sheet))


@require_safe
@rate_limited("pdf")
def progress_pdf(request, request_pk):
    """Print the 進度跟蹤表: each task's state and percent, and its progress history."""
    sheet = board_selectors.progress_sheet(user=request.user, request_pk=request_pk)
    return pdf_response(pdf.progress_pdf(sheet), pdf.progress_filename(sheet))
