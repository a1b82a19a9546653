from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewAppConfig(AppConfig):
    name = "review_app"
    verbose_name = _("Review and portfolio")

    def ready(self):
        from collab import demo as collab_demo

        from . import demo
        from .services import acceptance, analysis, archive, closing, feedback  # noqa: F401

        for area in (acceptance, closing, feedback, archive):
            area.register()
        # After every other app's demo data: these cases go through all the stages.
        collab_demo.register(demo.seed_review, order=40)
