from django.shortcuts import render


def my_requests(request):
    """List the requests the user filed or that involve their department."""
    return render(request, "requests_app/mine.html", {"requests": []})
