from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from collab import demo


class Command(BaseCommand):
    help = "Create or refresh the demo departments, accounts and cases (idempotent)."

    def handle(self, *args, **options):
        demo.seed_all()
        self.stdout.write(
            self.style.SUCCESS(
                _("Demo data ready. Every demo account's password is %(password)s.")
                % {"password": demo.DEMO_PASSWORD}
            )
        )
