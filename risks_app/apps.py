from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RisksAppConfig(AppConfig):
    name = "risks_app"
    verbose_name = _("Risks")

    def ready(self):
        # How the history lines of a risk report read, in the reader's language; the
        # response deadline's warning rule.
        from . import event_texts, hooks, warnings

        event_texts.register()
        warnings.register_rules()
        # The task page's risks and the offer to report a high risk from progress; the
        # risks still open close with their request when it is completed.
        hooks.register()
        from requests_app import hooks as request_hooks

        from . import services

        request_hooks.register_after_complete(services.close_with_case)
        # Admin: the PMO and platform administrators act on risk reports (through the
        # services) and edit the scoring matrix; heads and executives view the reports.
        # Rows are scoped by risks_app.permissions.
        from collab import demo
        from collab.choices import Role
        from collab.registry import grant
        from collab.services import HEAD_GROUP

        from . import demo as risk_demo

        grant(self.label, [HEAD_GROUP, Role.EXECUTIVE], ["risks_app.view_risk"])
        grant(
            self.label,
            [Role.PMO, Role.ADMIN],
            [
                "risks_app.view_risk",
                "risks_app.change_risk",
                "risks_app.view_riskmatrixcell",
                "risks_app.change_riskmatrixcell",
            ],
        )
        # After the meetings' demo, before review_app's (which archives cases).
        demo.register(risk_demo.seed_risks, order=35)
