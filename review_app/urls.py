from django.urls import path

from . import views
from .views import acceptance, analysis, archive, closing, dashboard, feedback

app_name = "review_app"
urlpatterns = [
    path("todo/", views.todo, name="todo"),
    path("requests/<int:pk>/case/", views.case, name="case"),
    *acceptance.urlpatterns,
    *closing.urlpatterns,
    *feedback.urlpatterns,
    *archive.urlpatterns,
    *analysis.urlpatterns,
    *dashboard.urlpatterns,
]
