from django.urls import path

from . import views

app_name = "review_app"
urlpatterns = [
    path("todo/", views.todo, name="todo"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
