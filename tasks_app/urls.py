from django.urls import path

from . import board_views, breakdown_views, discussion_views, views

app_name = "tasks_app"
urlpatterns = [
    # Task pages (views.py)
    path("mine/", views.my_tasks, name="mine"),
    path("department/", views.department_tasks, name="department"),
    path("<int:pk>/", views.task_detail, name="detail"),
    path("<int:pk>/start/", views.task_start, name="start"),
    path("<int:pk>/override/", views.task_override, name="override"),
    path("<int:pk>/progress/", views.progress_log, name="progress"),
    path("<int:pk>/submit/", views.task_submit, name="submit"),
    path("<int:pk>/due/", views.task_change_due, name="due"),
    path(
        "<int:pk>/deliverables/<int:file_pk>/",
        views.deliverable_download,
        name="deliverable-download",
    ),
    # Comments and 協作請求 (discussion_views.py)
    path("<int:pk>/comments/", discussion_views.comment_add, name="comment"),
    path("<int:pk>/asks/", discussion_views.ask_create, name="ask"),
    path("<int:pk>/asks/<int:ask_pk>/answer/", discussion_views.ask_answer, name="ask-answer"),
    path("<int:pk>/asks/<int:ask_pk>/close/", discussion_views.ask_close, name="ask-close"),
    path("asks/", discussion_views.asks_inbox, name="asks"),
    # The breakdown and its signatures (breakdown_views.py)
    path("request/<int:request_pk>/breakdown/", breakdown_views.breakdown, name="breakdown"),
    path(
        "request/<int:request_pk>/breakdown/new/",
        breakdown_views.task_create,
        name="task-create",
    ),
    path(
        "request/<int:request_pk>/breakdown/<int:pk>/edit/",
        breakdown_views.task_edit,
        name="task-edit",
    ),
    path(
        "request/<int:request_pk>/breakdown/<int:pk>/remove/",
        breakdown_views.task_remove,
        name="task-remove",
    ),
    path("request/<int:request_pk>/breakdown/sign/", breakdown_views.sign, name="sign"),
    # The 需求看板 board and the PDFs (board_views.py)
    path("request/<int:request_pk>/board/", board_views.board, name="board"),
    path("request/<int:request_pk>/breakdown.pdf", board_views.breakdown_pdf, name="breakdown-pdf"),
    path("request/<int:request_pk>/progress.pdf", board_views.progress_pdf, name="progress-pdf"),
]
