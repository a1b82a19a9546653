"""Being written."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


breakdown = task_create = task_edit = task_remove = sign = _todo
