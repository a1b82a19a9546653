from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsAppConfig(AppConfig):
    name = "meetings_app"
    verbose_name = _("Meetings")

    def ready(self):
        # The "meeting_invitation" outbox channel registers at import; event_texts says
        # how the history lines of meetings and action items read, in the reader's
        # language.
        from . import (
            event_texts,
            invitations,  # noqa: F401
        )

        event_texts.register()
        # The action items on 我的任務 and the board, and under the task warning rules;
        # the minutes_overdue rule.
        from . import hooks, warnings

        hooks.register()
        warnings.register_rules()
        # Admin: the PMO and platform administrators act on meetings and action items
        # (through the services); heads and executives view them. Rows are scoped by
        # meetings_app.permissions.
        from collab import demo
        from collab.choices import Role
        from collab.registry import grant
        from collab.services import HEAD_GROUP

        from . import demo as meeting_demo

        viewing = [
            "meetings_app.view_meeting",
            "meetings_app.view_actionitem",
            "meetings_app.view_meetingseries",
        ]
        grant(self.label, [HEAD_GROUP, Role.EXECUTIVE], viewing)
        grant(
            self.label,
            [Role.PMO, Role.ADMIN],
            [*viewing, "meetings_app.change_meeting", "meetings_app.change_actionitem"],
        )
        # After the tasks' demo (the requests it starts), before review_app's (which
        # takes cases to the archive).
        demo.register(meeting_demo.seed_meetings, order=30)
