"""The portal's URLs plus the bare page the bench compares every page with."""

from django.shortcuts import render
from django.urls import include, path


def bare(request):
    """Render templates/base.html with nothing in it: middleware, session, user, navbar."""
    return render(request, "base.html", {})


urlpatterns = [
    path("bench/bare/", bare, name="bench-bare"),
    path("", include("collab.urls")),
]
