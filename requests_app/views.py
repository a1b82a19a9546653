"""Browser pages for requests (being written)."""

from django.http import Http404
from django.shortcuts import render


def request_list(request):
    return render(request, "requests_app/mine.html", {"requests": []})


def _todo(request, *args, **kwargs):
    raise Http404


request_create = request_detail = request_edit = _todo
request_submit = request_cancel = request_confirm = review_decide = _todo
