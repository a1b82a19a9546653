"""`manage.py seed_scale`: bulk scale data for the bench and the dashboard (devtools_app.scale)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from devtools_app import scale


class Command(BaseCommand):
    help = (
        "Bulk-create realistic scale data (default 10,000 requests, 100,000 tasks, "
        "3 progress updates per task, 5 meetings per request, 3 action items per "
        "meeting and a risk report per two confirmed requests) in departments sc-* and "
        "users scale_*. Refuses a "
        "database that holds scale data already unless --reset is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=scale.DEFAULT_REQUESTS)
        parser.add_argument("--tasks", type=int, default=scale.DEFAULT_TASKS)
        parser.add_argument(
            "--updates", type=int, default=None, help="Progress updates (default 3 × tasks)."
        )
        parser.add_argument(
            "--meetings",
            type=int,
            default=None,
            help="About how many meetings (default 5 × requests).",
        )
        parser.add_argument(
            "--actions", type=int, default=None, help="Action items (default 3 × meetings)."
        )
        parser.add_argument(
            "--risks",
            type=int,
            default=None,
            help="Risk reports (default one per two confirmed requests).",
        )
        parser.add_argument("--seed", type=int, default=scale.DEFAULT_SEED)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the earlier scale data (never the demo data) and seed again.",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stderr.write(
                _("Not PostgreSQL: the scale data is written with plain INSERTs, slowly.")
            )
        try:
            report = scale.seed_scale(
                requests=options["requests"],
                tasks=options["tasks"],
                updates=options["updates"],
                meetings=options["meetings"],
                actions=options["actions"],
                risks=options["risks"],
                seed=options["seed"],
                reset=options["reset"],
            )
        except scale.ScaleDataExists as exc:
            raise CommandError(
                _("%(problem)s Run again with --reset to replace it; demo data is kept.")
                % {"problem": exc}
            ) from exc
        except scale.ScaleError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] == 0:
            return
        if report.deleted:
            self.stdout.write(
                _("Deleted %(count)d rows of earlier scale data.") % {"count": report.deleted}
            )
        width = max(len(label) for label in report.counts)
        for label, count in report.counts.items():
            self.stdout.write(f"  {label:<{width}}  {count:>9,}")
        self.stdout.write(
            "  "
            + _("requests by state: %(states)s")
            % {"states": ", ".join(f"{k} {v:,}" for k, v in report.states.items())}
        )
        self.stdout.write(
            "  "
            + _("tasks by state: %(states)s")
            % {"states": ", ".join(f"{k} {v:,}" for k, v in report.task_states.items())}
        )
        self.stdout.write(
            "  "
            + _("meetings by state: %(states)s; action items by state: %(actions)s")
            % {
                "states": ", ".join(f"{k} {v:,}" for k, v in report.meeting_states.items()),
                "actions": ", ".join(f"{k} {v:,}" for k, v in report.action_states.items()),
            }
        )
        self.stdout.write(
            "  "
            + _("risk reports by state: %(states)s; responses past their deadline: %(overdue)s")
            % {
                "states": ", ".join(f"{k} {v:,}" for k, v in report.risk_states.items()),
                "overdue": f"{report.overdue_risks:,}",
            }
        )
        self.stdout.write(
            "  "
            + _(
                "collaboration asks open: %(open)s, past their expected date: %(overdue)s; "
                "acceptance rounds past due: %(rounds)s"
            )
            % {
                "open": f"{report.open_asks:,}",
                "overdue": f"{report.overdue_asks:,}",
                "rounds": f"{report.overdue_acceptances:,}",
            }
        )
        self.stdout.write(
            "  " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in report.timings.items())
        )
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Scale data ready in %(seconds).1f s. Every scale account's password is "
                    "%(password)s."
                )
                % {"seconds": report.seconds, "password": scale.SCALE_PASSWORD}
            )
        )
