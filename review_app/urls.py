from django.urls import path

from . import views
from .views import acceptance, archive, closing, feedback

app_name = "review_app"
urlpatterns = [
    path("requests/<int:pk>/case/", views.case, name="case"),
    *acceptance.urlpatterns,
    *closing.urlpatterns,
    *feedback.urlpatterns,
    *archive.urlpatterns,
]
