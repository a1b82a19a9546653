import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from collab import warnings


class Command(BaseCommand):
    help = "Run the warning rules now, as the nightly and hourly beat jobs do."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List the warnings; record and send nothing."
        )
        parser.add_argument("--now", help="Pretend it is this ISO time (e.g. 2026-07-14T08:00).")
        parser.add_argument(
            "--cadence",
            choices=[warnings.DAILY, warnings.HOURLY, "all"],
            default="all",
            help="Which rules to run (default: all).",
        )

    def handle(self, *args, dry_run=False, now=None, cadence="all", **options):
        moment = timezone.now()
        if now:
            try:
                parsed = parse_datetime(now) or (
                    dt.datetime.fromisoformat(now) if now.count("-") == 2 else None
                )
            except ValueError:  # well formed but impossible, e.g. month 13 or 25:00
                parsed = None
            if parsed is None:
                raise CommandError(_("--now must be an ISO date and time."))
            moment = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
        cadences = (warnings.DAILY, warnings.HOURLY) if cadence == "all" else (cadence,)
        result = warnings.run(now=moment, cadences=cadences, dry_run=dry_run)
        for user, items in sorted(result.by_recipient().items(), key=lambda kv: kv[0].username):
            self.stdout.write(f"{user.username} <{user.email}>")
            for item in items:
                self.stdout.write(f"  - [{item.rule}] {item.text}")
        summary = _("%(items)d warnings for %(people)d people") % {
            "items": len(result.items),
            "people": len(result.by_recipient()),
        }
        if dry_run:
            summary += " " + _("(dry run: nothing recorded or sent)")
        self.stdout.write(self.style.SUCCESS(summary))
