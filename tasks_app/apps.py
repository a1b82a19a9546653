from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = _("Tasks")

    def ready(self):
        from collab import demo
        from collab.choices import Role
        from collab.registry import grant
        from collab.services import HEAD_GROUP
        from requests_app import guards as request_guards
        from requests_app import hooks as request_hooks

        from . import demo as task_demo
        from . import selectors, warnings
        from . import services as task_services

        # 已立項 → 進行中 needs every involved head's signature on the breakdown.
        request_guards.register("breakdown_signed", selectors.breakdown_signed)
        # On 確認立項 the departments' commitments become draft tasks.
        request_hooks.register_after_confirm(task_services.breakdown_generate)
        viewing = [
            "tasks_app.view_task",
            "tasks_app.view_breakdown",
            "tasks_app.view_breakdownsignature",
        ]
        grant(self.label, [HEAD_GROUP, Role.EXECUTIVE], viewing)
        grant(
            self.label,
            [Role.PMO, Role.ADMIN],
            [
                "tasks_app.view_task",
                "tasks_app.change_task",
                "tasks_app.add_task",
                "tasks_app.view_taskassignment",
                "tasks_app.add_taskassignment",
                "tasks_app.change_taskassignment",
                "tasks_app.delete_taskassignment",
                "tasks_app.view_breakdown",
                "tasks_app.view_breakdownsignature",
            ],
        )
        demo.register(task_demo.seed_tasks, order=20)
        warnings.register_rules()
        # How the history lines tasks_app writes read, in the reader's language.
        from . import event_texts

        event_texts.register()
