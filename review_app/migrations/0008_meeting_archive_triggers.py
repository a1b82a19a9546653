"""The archive's read-only triggers on meetings_app's tables (issue 15).

An archived case's meetings, minutes, problems and action items are read-only like the
rest of it: the generic case_refuse_archived() function of 0002 (with 0003's
`collab.archive_guard` switch), reaching the request through each row's meeting. A
meeting with no request (a standing cross-department meeting) belongs to no case and is
never refused. The migration lives here, with the other triggers: the archive is
review_app's, and meetings_app knows nothing of it.
"""

import importlib

from django.db import migrations

triggers = importlib.import_module("review_app.migrations.0002_archive_read_only_triggers")

# table → [column of the row, then (table, column) hops ending on the request's id]
GUARDED = {
    "meetings_app_meetingseries": ["request_id"],
    "meetings_app_meetingseries_departments": [
        "meetingseries_id",
        "meetings_app_meetingseries",
        "request_id",
    ],
    "meetings_app_meetingseries_participants": [
        "meetingseries_id",
        "meetings_app_meetingseries",
        "request_id",
    ],
    "meetings_app_meeting": ["request_id"],
    "meetings_app_meeting_departments": ["meeting_id", "meetings_app_meeting", "request_id"],
    "meetings_app_meeting_participants": ["meeting_id", "meetings_app_meeting", "request_id"],
    "meetings_app_agendaitem": ["meeting_id", "meetings_app_meeting", "request_id"],
    "meetings_app_minutes": ["meeting_id", "meetings_app_meeting", "request_id"],
    "meetings_app_minutes_tasks_discussed": [
        "minutes_id",
        "meetings_app_minutes",
        "meeting_id",
        "meetings_app_meeting",
        "request_id",
    ],
    "meetings_app_minutesitem": [
        "minutes_id",
        "meetings_app_minutes",
        "meeting_id",
        "meetings_app_meeting",
        "request_id",
    ],
    "meetings_app_minutesattendance": [
        "minutes_id",
        "meetings_app_minutes",
        "meeting_id",
        "meetings_app_meeting",
        "request_id",
    ],
    "meetings_app_problem": ["meeting_id", "meetings_app_meeting", "request_id"],
    "meetings_app_actionitem": ["meeting_id", "meetings_app_meeting", "request_id"],
    "meetings_app_actionprogress": [
        "action_id",
        "meetings_app_actionitem",
        "meeting_id",
        "meetings_app_meeting",
        "request_id",
    ],
    "meetings_app_actiondelivery": [
        "action_id",
        "meetings_app_actionitem",
        "meeting_id",
        "meetings_app_meeting",
        "request_id",
    ],
    "meetings_app_meetingcomment": ["meeting_id", "meetings_app_meeting", "request_id"],
    "meetings_app_meetingevent": ["meeting_id", "meetings_app_meeting", "request_id"],
    "meetings_app_actionevent": [
        "action_id",
        "meetings_app_actionitem",
        "meeting_id",
        "meetings_app_meeting",
        "request_id",
    ],
}


def install(apps, schema_editor):
    triggers.guard(schema_editor, GUARDED)


def uninstall(apps, schema_editor):
    triggers.unguard(schema_editor, GUARDED)


class Migration(migrations.Migration):
    dependencies = [
        ("review_app", "0007_event_params"),
        ("meetings_app", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
