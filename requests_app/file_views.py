"""Attachment and PDF views (being written)."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


attachment_upload = attachment_download = request_pdf = _todo
