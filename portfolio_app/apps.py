from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortfolioAppConfig(AppConfig):
    """The portfolio read side, at the top of the layering (collab < requests_app <
    tasks_app < review_app < portfolio_app): the PMO dashboard, the monthly analysis and
    the to-do page read every lower app; nothing below imports this one."""

    name = "portfolio_app"
    verbose_name = _("Portfolio")

    def ready(self):
        # The outbox channel of the monthly analysis e-mails (registered on import).
        from .services import analysis  # noqa: F401
