from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CollabConfig(AppConfig):
    name = "collab"
    verbose_name = _("Organisation")

    def ready(self):
        from . import notifications, services, warnings  # noqa: F401  (outbox channels)

        # Role groups and their model permissions are created after every migrate,
        # the way django.contrib.auth creates permissions.
        post_migrate.connect(services.role_groups_sync_on_migrate, sender=self)
