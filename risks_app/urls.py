from django.urls import path

from . import pdf_views, views

app_name = "risks_app"

urlpatterns = [
    path("", views.register, name="register"),
    path("request/<int:pk>/", views.request_register, name="request"),
    path("new/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/<str:name>/", views.act, name="act"),
    path("<int:pk>/pdf/", pdf_views.risk_pdf, name="pdf"),
]
