from django.shortcuts import render


def my_tasks(request):
    """List the tasks the user is Responsible for."""
    return render(request, "tasks_app/mine.html", {"tasks": []})
