"""revcast report NAME [--by DIM ...] [--from DATE] [--to DATE] [--where FIELD=VALUE ...] --format ..."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console

from revcast.org.models import User
from revcast.reporting import dimensions, export
from revcast.reporting.params import ReportError, ReportParams
from revcast.reporting.registry import REPORTS, run_report


class Command(BaseCommand):
    help = "Run a report. Reports: " + ", ".join(REPORTS)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=sorted(REPORTS), help="The report to run.")
        parser.add_argument(
            "--by",
            action="append",
            default=[],
            metavar="DIM",
            help="Group by a dimension (repeat or comma-separate): owner, team, region, product, "
            "series, stage, account, industry, month, quarter, year, custom.KEY ...",
        )
        parser.add_argument(
            "--from", dest="date_from", metavar="DATE", help="First day of the period (YYYY-MM-DD)."
        )
        parser.add_argument(
            "--to", dest="date_to", metavar="DATE", help="Last day of the period (YYYY-MM-DD)."
        )
        parser.add_argument(
            "--where",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="Filter on a dimension; repeat a field to accept several values.",
        )
        parser.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="Report option, e.g. cohort=engaged (funnel), start=created (sales-cycle).",
        )
        parser.add_argument(
            "--as",
            dest="as_user",
            metavar="USERNAME",
            help="Run as this user: only what they may see is counted.",
        )
        parser.add_argument("--format", choices=["table", "json", "csv", "xlsx"], default="table")
        parser.add_argument(
            "--output", "-o", type=Path, help="Write to this file instead of standard output."
        )

    def handle(self, *args, **options) -> None:
        user = None
        if options["as_user"]:
            user = User.objects.filter(username=options["as_user"]).first()
            if user is None:
                raise CommandError(f"--as {options['as_user']!r}: no such user")
        try:
            params = ReportParams.parse(
                by=options["by"],
                date_from=options["date_from"],
                date_to=options["date_to"],
                where=options["where"],
                user=user,
                options=options["option"],
            )
            result = run_report(options["name"], params)
        except ReportError as exc:
            raise CommandError(str(exc)) from exc
        fmt, output = options["format"], options["output"]
        if fmt == "xlsx":
            data = export.to_xlsx(result)
            if output:
                output.write_bytes(data)
                return
            binary = getattr(getattr(self.stdout, "_out", None), "buffer", None)
            if binary is None:
                raise CommandError("--format xlsx writes a binary file: give --output FILE")
            binary.write(data)
            binary.flush()
            return
        if fmt == "table":
            if output:
                with output.open("w", encoding="utf-8") as fh:
                    export.print_table(result, Console(file=fh, width=160))
            else:
                export.print_table(result, Console(file=self.stdout, width=160))
            return
        text = export.to_json(result) if fmt == "json" else export.to_csv(result)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="" if text.endswith("\n") else "\n")


__all__ = ["Command", "dimensions"]
