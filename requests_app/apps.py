from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = _("Collaboration requests")

    def ready(self):
        from collab import calendar, demo
        from collab.choices import Role
        from collab.registry import grant
        from collab.services import HEAD_GROUP

        from . import demo as request_demo
        from . import warnings

        grant(
            self.label,
            [HEAD_GROUP],
            ["requests_app.view_collabrequest", "requests_app.view_departmentreview"],
        )
        grant(
            self.label,
            [Role.PMO, Role.ADMIN],
            [
                "requests_app.view_collabrequest",
                "requests_app.change_collabrequest",
                "requests_app.confirm_collabrequest",
                "requests_app.view_departmentreview",
            ],
        )
        grant(self.label, [Role.EXECUTIVE], ["requests_app.view_collabrequest"])
        demo.register(request_demo.seed_requests, order=10)
        warnings.register_rules()
        # A holiday or 補班 entered by an administrator moves open reviews' due dates.
        calendar.register_change_hook(warnings.recompute_review_due_dates)
        # How the timeline's lines read, in the reader's language (collab.events).
        from . import event_texts

        event_texts.register()
