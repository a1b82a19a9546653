from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewAppConfig(AppConfig):
    name = "review_app"
    verbose_name = _("Review and portfolio")
