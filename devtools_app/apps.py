from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevtoolsAppConfig(AppConfig):
    """Development-only tools: `manage.py seed_scale` and its generator (scale.py).

    Installed by the local and test settings (and the bench's), never by production:
    `seed_scale --reset` deletes data. It may import any app; no app imports it.
    """

    name = "devtools_app"
    verbose_name = _("Development tools")
