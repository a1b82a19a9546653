"""Being written."""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


comment_add = ask_create = ask_answer = ask_close = asks_inbox = _todo
