"""The printable risk report (風險應對申請表); risks_app.pdf reads and renders."""

from __future__ import annotations

from django.views.decorators.http import require_safe

from collab.pdf import pdf_response
from collab.ratelimits import rate_limited

from . import pdf


@require_safe
@rate_limited("pdf")
def risk_pdf(request, pk):
    """Print one risk report; 404 for whoever may not see it."""
    sheet = pdf.risk_sheet(user=request.user, pk=pk)
    return pdf_response(pdf.risk_pdf(sheet), pdf.risk_filename(sheet))
