"""revcast quota set|import|list: quotas per person or team and period (fiscal calendar)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from revcast.org import quotas
from revcast.org.models import Quota, Team, User


class Command(BaseCommand):
    help = "Set, import and list quotas (per user or team and period: 2017-Q4, 2017-11, FY2017)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{set,import,list}")
        set_ = sub.add_parser("set", help="Set one quota (creates or changes it).")
        set_.add_argument("--period", required=True)
        who = set_.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="Username.")
        who.add_argument("--team", help="Team name.")
        set_.add_argument("--amount", required=True)
        set_.add_argument("--currency")
        imp = sub.add_parser("import", help="Import quotas from CSV/Excel: period, user or team, amount[, currency].")
        imp.add_argument("file", type=Path)
        lst = sub.add_parser("list", help="List quotas.")
        lst.add_argument("--period")
        lst.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except quotas.QuotaError as exc:
            raise CommandError(str(exc)) from None

    def _set(self, options: dict[str, Any]) -> None:
        user = team = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user {options['user']!r}: no such user")
        else:
            team = Team.objects.filter(name=options["team"]).first()
            if team is None:
                raise CommandError(f"--team {options['team']!r}: no such team")
        quota, created = quotas.set_quota(options["period"], options["amount"], user=user, team=team,
                                          currency=options["currency"])
        self.stdout.write(f"{'created' if created else 'changed'}: {quota}")

    def _import(self, options: dict[str, Any]) -> None:
        if not options["file"].is_file():
            raise CommandError(f"{options['file']}: no such file")
        counts = quotas.import_quotas(options["file"])
        self.stdout.write(f"quotas imported from {options['file']}: {counts['created']} created, "
                          f"{counts['updated']} changed")

    def _list(self, options: dict[str, Any]) -> None:
        rows = Quota.objects.select_related("user", "team").order_by("period_start", "period", "team__name",
                                                                     "user__username")
        if options["period"]:
            rows = rows.filter(period=quotas.quota_period(options["period"]).label)
        data = [{"period": q.period, "user": q.user.username if q.user else None, "team": q.team.name if q.team else None,
                 "amount": format(q.amount, "f"), "currency": q.currency} for q in rows]
        if options["format"] == "json":
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        table = Table(title="Quotas")
        for col in ("period", "user", "team", "amount", "currency"):
            table.add_column(col, justify="right" if col == "amount" else "left")
        for d in data:
            table.add_row(d["period"], d["user"] or "", d["team"] or "", f"{float(d['amount']):,.2f}", d["currency"])
        Console(file=self.stdout, width=140).print(table)
