from django.urls import path

from . import file_views, views

app_name = "requests_app"
urlpatterns = [
    path("mine/", views.request_list, name="mine"),
    path("new/", views.request_create, name="create"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/edit/", views.request_edit, name="edit"),
    path("<int:pk>/submit/", views.request_submit, name="submit"),
    path("<int:pk>/cancel/", views.request_cancel, name="cancel"),
    path("<int:pk>/confirm/", views.request_confirm, name="confirm"),
    path("<int:pk>/reviews/<int:review_pk>/", views.review_decide, name="review"),
    path("<int:pk>/attachments/", file_views.attachment_upload, name="attachment-upload"),
    path(
        "<int:pk>/attachments/<int:version_pk>/",
        file_views.attachment_download,
        name="attachment-download",
    ),
    path("<int:pk>/pdf/", file_views.request_pdf, name="pdf"),
]
