"""Collaborative-forecast content for the demo: quotas for the four quarters of 2017, and a simulated third
quarter of 2017 — weekly calls by every rep, a few manager adjustments, weekly snapshots with the AI's range,
and the quarter closed — so that the accuracy history has something to show. 2017-Q4 is left open and without
calls: it is the quarter the demo's users submit for.

The simulated calls are made up (seeded, reproducible) and say so in their notes: each rep calls what they will
end up winning, off by an error of their own that shrinks as the quarter goes by, and skips a week now and then.
Quotas are made up too: 110 % of the rep's average quarterly bookings in 2017 (rounded up to 1,000), and a team's
is 105 % of its members' (so it differs from their sum, as team quotas do). Idempotent.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from revcast.forecasting.collab import figures as figs
from revcast.forecasting.collab import selectors, services, snapshots
from revcast.forecasting.collab.rollup import period_ref

QUARTERS = ("2017-Q1", "2017-Q2", "2017-Q3", "2017-Q4")
SIMULATED = "2017-Q3"
AI_AS_OF = ("2017-07-01", "2017-08-01", "2017-09-01")
ADJUST_WEEKS = (3, 7, 10)
NOTE = "simulated demo call"


@dataclass
class DemoCollab:
    seconds: float
    made: list[str] = field(default_factory=list)


def _round_up(value: Decimal, step: int = 1000) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def demo_quotas() -> int:
    from revcast.org.models import Quota, Team, User
    from revcast.org.quotas import set_quota

    if Quota.objects.filter(period__in=QUARTERS).exists():
        return 0
    year = period_ref("FY2017")
    won = figs.by_owner(None, year.start, year.end)
    reps = User.objects.filter(role=User.Role.REP, is_active=True)
    quota = {}
    for rep in reps:
        average = won.get(rep.pk, figs.Figures()).closed / 4
        quota[rep.pk] = max(_round_up(average * Decimal("1.1")), Decimal(1000))
    made = 0
    for label in QUARTERS:
        for rep in reps:
            set_quota(label, quota[rep.pk], user=rep)
            made += 1
        for team in Team.objects.exclude(lead=None):
            members = [quota[u.pk] for u in team.members.all() if u.pk in quota]
            if members:
                set_quota(label, _round_up(sum(members, Decimal(0)) * Decimal("1.05")), team=team)
                made += 1
    return made


def simulate_quarter(label: str = SIMULATED, seed: int = 2017) -> int:
    """Weekly calls, adjustments and snapshots for a past quarter, then close it; the number of calls."""
    from revcast.org.models import User

    if selectors.is_closed(label):
        return 0
    period = period_ref(label)
    rng = random.Random(seed)
    actual = {pk: f.closed for pk, f in figs.by_owner(None, period.start, period.end).items()}
    reps = list(User.objects.filter(role=User.Role.REP, is_active=True).select_related("manager").order_by("username"))
    bias = {rep.pk: rng.gauss(-0.08, 0.12) for rep in reps}
    first = snapshots.monday(period.start) + dt.timedelta(days=7 if period.start.weekday() else 0)
    weeks = []
    day = first
    while day < period.end:
        weeks.append(day)
        day += dt.timedelta(days=7)
    calls = 0
    for w, week in enumerate(weeks):
        at = dt.datetime.combine(week, dt.time(9), tzinfo=dt.UTC)
        left = 1 - w / max(len(weeks) - 1, 1)
        latest: dict[int, Decimal] = {}
        for rep in reps:
            if w and rng.random() < 0.12:  # skipped this week: last week's call stands
                continue
            error = (bias[rep.pk] + rng.gauss(0, 0.15)) * left
            commit = max(Decimal(0), (actual.get(rep.pk, Decimal(0)) * Decimal(str(1 + error))).quantize(Decimal(100)))
            best = (commit * Decimal(str(1.15 + 0.2 * rng.random()))).quantize(Decimal(100))
            services.submit(rep, label, commit=commit, best_case=best, note=NOTE, at=at, source="demo")
            latest[rep.pk] = commit
            calls += 1
        if w in ADJUST_WEEKS:  # each manager trims the biggest call of their team this week
            for manager in {rep.manager for rep in reps if rep.manager is not None}:
                team = [r for r in reps if r.manager_id == manager.pk and r.pk in latest]
                if not team:
                    continue
                top = max(team, key=lambda r: latest[r.pk])
                services.adjust(manager, top, label, commit=(latest[top.pk] * Decimal("0.9")).quantize(Decimal(100)),
                                note=f"{NOTE}: 10 % haircut on the biggest call", at=at, source="demo")
        snapshots.take_snapshot(label, at=at)
    snapshots.close_period(label, now=dt.datetime.combine(period.end, dt.time(9), tzinfo=dt.UTC))
    return calls


def ai_runs(label: str = SIMULATED) -> list[str]:
    """The AI's forecasts of the simulated quarter as of the first of each of its months (made once)."""
    from revcast.forecasting import services as forecast_services
    from revcast.forecasting.adapter import load_tables
    from revcast.forecasting.models import ForecastRun

    made: list[str] = []
    tables = None
    for day in AI_AS_OF:
        as_of = forecast_services.parse_time(day)
        if not ForecastRun.objects.filter(period=label, as_of=as_of.to_pydatetime()).exists():
            tables = tables or load_tables(None)  # read once for the three runs
            forecast_services.run_forecast(period=label, as_of=as_of, source="demo", tables=tables)
            made.append(f"forecast {label} as of {day}")
    return made


def load_demo_collab(*, ai: bool = True) -> DemoCollab:
    started = time.monotonic()
    made = []
    quotas = demo_quotas()
    if quotas:
        made.append(f"{quotas} quotas")
    if not selectors.is_closed(SIMULATED):
        if ai:
            made.extend(ai_runs())
        calls = simulate_quarter()
        made.append(f"{calls} simulated calls for {SIMULATED}, snapshots, closed")
    return DemoCollab(seconds=time.monotonic() - started, made=made)
