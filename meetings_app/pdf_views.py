"""The printable minutes (溝通記錄表) of a meeting; meetings_app.pdf reads and renders."""

from __future__ import annotations

from django.views.decorators.http import require_safe

from collab.pdf import pdf_response
from collab.ratelimits import rate_limited

from . import pdf


@require_safe
@rate_limited("pdf")
def minutes_pdf(request, pk):
    """Print one version of the minutes (?version=N; by default the one in force); 404
    for whoever may not see the meeting, and when it has no minutes they may print."""
    sheet = pdf.minutes_sheet(user=request.user, meeting_pk=pk, version=request.GET.get("version"))
    return pdf_response(pdf.minutes_pdf(sheet), pdf.minutes_filename(sheet))
