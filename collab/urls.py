from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from . import views

handler500 = "collab.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # The language switch works on the login page too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("jsi18n/", login_not_required(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("delegations/", views.delegation_list, name="delegations"),
    path("delegations/<int:pk>/end/", views.delegation_end, name="delegation-end"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:pk>/", views.notification_open, name="notification-open"),
    path(
        "notifications/read-all/",
        views.notification_read_all,
        name="notifications-read-all",
    ),
    path("requests/", include("requests_app.urls")),
    path("tasks/", include("tasks_app.urls")),
    path("meetings/", include("meetings_app.urls")),
    path("risks/", include("risks_app.urls")),
    path("review/", include("review_app.urls")),
    # The dashboard, the analysis and the to-do page keep their /review/ addresses.
    path("review/", include("portfolio_app.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns.append(path("dev/", include("collab.dev_urls")))
