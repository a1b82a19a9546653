"""Being written."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


board = breakdown_pdf = progress_pdf = _todo
