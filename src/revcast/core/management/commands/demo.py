"""revcast demo [--no-serve]: create the embedded database, load the Maven data, create logins, serve."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from revcast.core.demo import load_demo


class Command(BaseCommand):
    help = "Create the demo database (Maven CRM data), the demo logins, and serve the app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Stop after loading the data.")
        parser.add_argument(
            "--no-forecasts", action="store_true", help="Skip training the win model, the forecasts and backtests."
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **options) -> None:
        db = settings.DATABASES["default"]
        where = db["NAME"] if connection.vendor == "sqlite" else f"{connection.vendor} database {db['NAME']}"
        self.stdout.write(f"revcast demo: database {where}")
        call_command("migrate", interactive=False, verbosity=0)
        summary = load_demo()
        if summary.run.status != "succeeded":
            raise CommandError(
                f"the demo import did not succeed (run #{summary.run.pk}: {summary.run.status}); "
                f"see `revcast import` output for the issues"
            )
        self.stdout.write(
            f"Loaded through import run #{summary.run.pk} in {summary.run.duration_ms:,} ms:\n"
            f"  {summary.opportunities:,} opportunities\n"
            f"  {summary.accounts:,} accounts\n"
            f"  {summary.reps:,} reps\n"
            f"  {summary.managers:,} managers\n"
            f"  {summary.regions:,} regions\n"
            f"  {summary.products:,} products\n"
        )
        for note in summary.run.notes:
            self.stdout.write(f"  note: {note}")
        if not options["no_forecasts"]:
            self.load_forecasts()
            self.load_collab()
        self.stdout.write(
            "\nLog in with password '" + settings.REVCAST_DEMO_PASSWORD + "' as:\n"
            "  admin                 (administrator, sees everything)\n"
            "  melvin.marxen         (a manager: sees his team)\n"
            "  darcel.schlecht       (a rep: sees his own deals)\n"
            f"  ... every manager and rep of the data set as first.last ({summary.users} logins)\n"
        )
        if options["no_serve"]:
            return
        call_command("serve", host=options["host"], port=options["port"])

    def load_forecasts(self) -> None:
        from revcast.forecasting.demo import load_demo_forecasts

        self.stdout.write("\nForecasts (win model, Q4 and October 2017 as of 2017-10-01, backtests) ...")
        demo = load_demo_forecasts()
        made = ", ".join(demo.made) if demo.made else "nothing new (already there)"
        self.stdout.write(f"  made {made} in {demo.seconds:.1f} s")
        self.stdout.write(f"  win model #{demo.model.pk} ({demo.model.kind}): {demo.model.verdict}")
        for run in demo.runs:
            t = run.totals
            self.stdout.write(
                f"  {run.period} as of {run.as_of:%Y-%m-%d}: expected {t['expected']:,.0f} "
                f"(P10 {t['p10']:,.0f}, P50 {t['p50']:,.0f}, P90 {t['p90']:,.0f}), {run.deal_count:,} open deals"
            )
        for backtest in demo.backtests:
            summary = backtest.result.get("summary", {})
            figures = [
                f"{name} MAPE {summary[name]['mape']:.0%}"
                for name in ("revcast", "weighted_pipeline", "seasonal_naive")
                if (summary.get(name) or {}).get("mape") is not None
            ]
            self.stdout.write(f"  {backtest.period_kind}ly backtest: " + (", ".join(figures) or "no scored periods"))

    def load_collab(self) -> None:
        from revcast.forecasting.collab.demo import SIMULATED, load_demo_collab

        self.stdout.write(f"\nCollaborative forecast (2017 quotas; {SIMULATED} simulated weekly calls, closed) ...")
        demo = load_demo_collab()
        made = ", ".join(demo.made) if demo.made else "nothing new (already there)"
        self.stdout.write(f"  made {made} in {demo.seconds:.1f} s")
