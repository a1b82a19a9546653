"""The printable request form 需求申請表 (seed 004 table 1, seed 000 template 1)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from collab.pdf import render_pdf

from .selectors import RequestPage

TEMPLATE = "pdf/request_form.html"


def request_form_pdf(page: RequestPage) -> bytes:
    """Render the request form of an already permission-checked detail page."""
    request = page.request
    return render_pdf(
        TEMPLATE,
        {
            "req": request,
            "departments": page.departments,
            "attachments": page.attachments,
            "signature_roles": [_("Initiator"), _("PMO confirmation")],
        },
    )


def case_filename(request, what: str = "") -> str:
    """Return the file name of a printed form of the case `request`: its number (a
    draft's id), its name and which form (`what`)."""
    stem = f"{request.number or f'draft-{request.pk}'} {request.name}"
    return f"{stem} {what}.pdf" if what else f"{stem}.pdf"


def request_form_filename(page: RequestPage) -> str:
    return case_filename(page.request)
