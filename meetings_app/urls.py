from django.urls import path

from . import ics_views, pdf_views, views

app_name = "meetings_app"

urlpatterns = [
    # Lists: my meetings (upcoming, past, minutes to write), a month calendar, a request's.
    path("", views.my_meetings, name="mine"),
    path("calendar/", views.calendar, name="calendar"),
    path("request/<int:request_pk>/", views.request_meetings, name="request"),
    # A meeting: schedule (?request=<pk> for a request's), read, change, cancel.
    path("new/", views.meeting_create, name="new"),
    path("<int:pk>/", views.meeting_detail, name="detail"),
    path("<int:pk>/edit/", views.meeting_edit, name="edit"),
    path("<int:pk>/cancel/", views.meeting_cancel, name="cancel"),
    path("<int:pk>/comment/", views.meeting_comment, name="comment"),
    path("<int:pk>/next/", views.meeting_next, name="next"),
    path("<int:pk>/invite.ics", ics_views.meeting_ics, name="ics"),
    # Minutes: the draft editor, filing, a correction (new version), the PDF.
    path("<int:pk>/minutes/", views.minutes_edit, name="minutes"),
    path("<int:pk>/minutes/file/", views.minutes_file, name="minutes-file"),
    path("<int:pk>/minutes/correct/", views.minutes_correct, name="minutes-correct"),
    path("<int:pk>/minutes.pdf", pdf_views.minutes_pdf, name="minutes-pdf"),
    path("<int:pk>/problems/<int:problem_pk>/", views.problem_status, name="problem"),
    # Action items: the page, and each action on it by name (start, progress, submit,
    # accept, send_back, escalate, convert, cancel).
    path("actions/<int:pk>/", views.action_detail, name="action"),
    path("actions/<int:pk>/<slug:name>/", views.action_act, name="action-act"),
    # Weekly series.
    path("series/new/", views.series_create, name="series-new"),
    path("series/<int:pk>/", views.series_detail, name="series"),
    path("series/<int:pk>/calendar.ics", ics_views.series_ics, name="series-ics"),
    path("series/<int:pk>/stop/", views.series_stop, name="series-stop"),
]
