from django.urls import path

from . import views

app_name = "requests_app"
urlpatterns = [
    path("mine/", views.my_requests, name="mine"),
]
