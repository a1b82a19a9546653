"""Developer-only pages, mounted when DEBUG is on (make run)."""

from django.urls import path

from . import dev_views

urlpatterns = [
    path("mail/", dev_views.mailbox, name="dev-mailbox"),
    path("mail/<str:file>/<int:index>/html", dev_views.mail_html, name="dev-mail-html"),
]
