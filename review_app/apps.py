from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewAppConfig(AppConfig):
    name = "review_app"
    verbose_name = _("Acceptance and closing")

    def ready(self):
        from collab import demo as collab_demo
        from tasks_app import hooks as task_hooks

        from . import demo
        from .services import acceptance, archive, closing, feedback
        from .views import acceptance as acceptance_views

        for area in (acceptance, closing, feedback, archive):
            area.register()
        # The acceptance panel of the task page (a view: the services never import views).
        task_hooks.register_task_page(acceptance_views.task_page_context)
        # After every other app's demo data: these cases go through all the stages.
        collab_demo.register(demo.seed_review, order=40)
        # How the history lines review_app writes read, in the reader's language.
        from . import event_texts

        event_texts.register()
