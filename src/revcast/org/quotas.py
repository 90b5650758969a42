"""Quotas: set one, import many from CSV/Excel, list them. All writes to ``Quota`` are here.

A quota belongs to a person or to a team for one period of the fiscal calendar (``2017-Q4``, ``2017-11``,
``FY2017``). A team's quota is its own number; it may differ from the sum of its members' quotas.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from revcast.core import fiscal
from revcast.core.numbers import AmountError, parse_amount
from revcast.org.models import Quota, Team, User


class QuotaError(ValueError):
    """Input that cannot be taken; the message names the file, row, field and value where there is one."""


def quota_period(label: str) -> fiscal.PeriodRef:
    try:
        return fiscal.period_ref(label)
    except (ValueError, OverflowError) as exc:
        raise QuotaError(str(exc)) from None


def _amount(value: Any) -> Decimal:
    try:
        return parse_amount(value)
    except AmountError as exc:
        message = {
            "number": "{!r} is not a number", "negative": "{!r}: a quota is 0 or more",
            "places": "{!r}: at most two decimal places", "large": "{!r} is too large",
        }[exc.problem]
        raise QuotaError(message.format(value)) from None


def set_quota(period: str, amount: Any, *, user: User | None = None, team: Team | None = None,
              currency: str | None = None) -> tuple[Quota, bool]:
    """Create or change the quota of ``user`` or ``team`` for ``period``; (quota, created)."""
    if (user is None) == (team is None):
        raise QuotaError("a quota is for one user or one team")
    p = quota_period(period)
    value = _amount(amount)
    key = {"user": user} if user is not None else {"team": team}
    quota, created = Quota.objects.update_or_create(
        period=p.label, **key,
        defaults={"amount": value, "period_start": p.start, "period_end": p.end,
                  "currency": (currency or settings.REVCAST_DEFAULT_CURRENCY).upper()},
    )
    return quota, created


def import_quotas(path: Path) -> dict[str, int]:
    """Quotas from a CSV or Excel file with columns ``period``, ``user`` or ``team``, ``amount`` (and optionally
    ``currency``). Every row is checked before anything is written; one bad row writes nothing."""
    from revcast.dataio.readers import SourceError, read_table

    try:
        table = read_table(path)
    except SourceError as exc:
        raise QuotaError(str(exc)) from None
    header = {h.strip().lower() for h in table.header}
    missing = [c for c in ("period", "amount") if c not in header]
    if missing or not ({"user", "team"} & header):
        raise QuotaError(f"{path}: columns period, user or team, and amount are needed; found {table.header}")
    users = {u.username: u for u in User.objects.all()}
    teams = {t.name: t for t in Team.objects.all()}
    problems: list[str] = []
    rows: list[tuple[str, Any, User | None, Team | None, str | None]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row in table.rows:
        values = {k.strip().lower(): (str(v).strip() if v is not None else "") for k, v in row.values.items()}

        def bad(field: str, value: str, reason: str, line: int = row.line) -> None:
            problems.append(f"{path.name}, row {line}, {field} {value!r}: {reason}")

        if row.error:
            bad("", "", row.error)
            continue
        name, team_name = values.get("user", ""), values.get("team", "")
        user, team = users.get(name) if name else None, teams.get(team_name) if team_name else None
        if bool(name) == bool(team_name):
            bad("user/team", name or team_name, "give a user or a team, not both and not neither")
            continue
        if name and user is None:
            bad("user", name, "no such user")
            continue
        if team_name and team is None:
            bad("team", team_name, "no such team")
            continue
        try:
            period = quota_period(values.get("period", "")).label
        except QuotaError as exc:
            bad("period", values.get("period", ""), str(exc))
            continue
        try:
            _amount(values.get("amount", ""))
        except QuotaError as exc:
            bad("amount", values.get("amount", ""), str(exc))
            continue
        key = (period, "user" if name else "team", name or team_name)
        if key in seen:
            bad("period", period, f"row {seen[key]} already sets this quota")
            continue
        seen[key] = row.line
        rows.append((period, values["amount"], user, team, values.get("currency") or None))
    if problems:
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise QuotaError("nothing was imported:\n  " + "\n  ".join(problems[:20]) + more)
    counts = {"created": 0, "updated": 0}
    with transaction.atomic():
        for period, amount, user, team, currency in rows:
            _quota, created = set_quota(period, amount, user=user, team=team, currency=currency)
            counts["created" if created else "updated"] += 1
    return counts
