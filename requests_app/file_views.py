"""Attachment uploads and downloads; the request form as a PDF.

Files are never served from MEDIA_URL: every download comes through
`attachment_download`, which asks permissions.get_visible_or_404 first.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST, require_safe

from collab import errors, uploads
from collab.pdf import pdf_response
from collab.ratelimits import rate_limited

from . import permissions, selectors, services
from .models import Attachment, AttachmentVersion, CollabRequest
from .pdf import request_form_filename, request_form_pdf

ATTACHMENTS_PARTIAL = "requests_app/_attachments.html"


def upload_rules() -> dict:
    """Return what the upload form tells people: the accepted extensions and the limit."""
    extensions = uploads.allowed_extensions()
    return {
        "upload_accept": ",".join(f".{ext}" for ext in extensions),
        "upload_extensions": ", ".join(extensions),
        "upload_max_bytes": uploads.max_upload_bytes(),
    }


def attachments_panel_context(user, request_obj: CollabRequest) -> dict:
    """Return the context `requests_app/_attachments.html` renders from."""
    return {
        "request_obj": request_obj,
        "attachments": selectors.attachments_of(request=request_obj),
        "can_attach": permissions.can_attach(user, request_obj),
        **upload_rules(),
    }


@require_POST
def attachment_upload(request, pk):
    """Add an uploaded file to the request, as a new attachment or a new version.

    POST (multipart): `file`, `note`, and optionally `attachment` (the id of the
    attachment this file is a new version of). Redirects to the request page with a
    message; an htmx request gets the refreshed attachments panel instead.
    """
    request_obj = permissions.get_visible_or_404(request.user, pk)
    if not permissions.can_attach(request.user, request_obj):
        raise PermissionDenied(_("You cannot add files to this request."))
    ok, text = _upload(request, request_obj)
    if request.htmx:
        context = attachments_panel_context(request.user, request_obj)
        context["upload_result"] = {"ok": ok, "text": text}
        return render(request, ATTACHMENTS_PARTIAL, context)
    (messages.success if ok else messages.error)(request, text)
    return redirect("requests_app:detail", pk=request_obj.pk)


def _upload(request, request_obj: CollabRequest) -> tuple[bool, str]:
    """Parse the form, call the service, and return (succeeded, message)."""
    file = request.FILES.get("file")
    if file is None:
        return False, _("Choose a file to upload.")
    attachment = None
    attachment_id = request.POST.get("attachment", "").strip()
    if attachment_id:
        attachment = (
            Attachment.objects.filter(request=request_obj, pk=attachment_id).first()
            if attachment_id.isdigit()
            else None
        )
        if attachment is None:
            return False, _("That attachment does not belong to this request.")
    try:
        version = services.attachment_add(
            request=request_obj,
            by=request.user,
            file=file,
            note=request.POST.get("note", ""),
            attachment=attachment,
        )
    except ValidationError as exc:
        return False, errors.message(exc)
    except PermissionDenied as exc:  # the request closed while the file was on its way
        return False, errors.message(exc, default=_("You cannot add files to this request."))
    return True, _("“%(name)s” was uploaded as version %(version)d.") % {
        "name": version.original_name,
        "version": version.version,
    }


@require_safe
@cache_control(private=True, no_store=True)
def attachment_download(request, pk, version_pk):
    """Send one version of an attachment as a download, to those who may see the request."""
    request_obj = permissions.get_visible_or_404(request.user, pk)
    version = get_object_or_404(AttachmentVersion, pk=version_pk, attachment__request=request_obj)
    return uploads.download_response(version)


@require_safe
@rate_limited("pdf")
def request_pdf(request, pk):
    """Print the request form as a PDF; 404 for anyone who may not see the request."""
    page = selectors.request_page(user=request.user, pk=pk)
    return pdf_response(request_form_pdf(page), request_form_filename(page))
