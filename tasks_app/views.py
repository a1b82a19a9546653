"""Task pages (being written)."""

from django.http import Http404
from django.shortcuts import render


def my_tasks(request):
    return render(request, "tasks_app/mine.html", {"tasks": []})


def _todo(request, *args, **kwargs):
    raise Http404


department_tasks = task_detail = task_start = task_override = progress_log = _todo
task_submit = task_accept = task_reject = task_change_due = deliverable_download = _todo
