"""Data behind the forecast pages that ``forecasting.selectors`` does not offer: which runs exist, the run
before a run, the deals that moved a user's number between two runs, backtests by kind and timing.

A stored forecast run is company-wide; every per-deal read here goes through
``forecasting.selectors.visible_deal_forecasts`` (i.e. ``core.visibility``), so a user sees only the deal
rows of opportunities they may see. Runs, backtests and model versions themselves hold no deal: they are
read directly. Sums and orderings are done by the database (two indexed queries per table), so the pages
stay fast when a run holds 100,000 open deals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Abs, Coalesce

from revcast.core import permissions, visibility
from revcast.forecasting import selectors
from revcast.forecasting.models import BacktestRun, DealForecast, ForecastRun, WinModelVersion

CONTRIBUTORS = 10
MOVERS = 10
ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=18, decimal_places=2)


# ---------------------------------------------------------------- who may do what


def can_run_forecast(user: Any) -> bool:
    """Managers and admins may start a forecast run (it is stored company-wide, as the system makes it)."""
    return permissions.is_admin(user) or bool(user.is_authenticated and user.is_active and user.role == "manager")


def can_run_backtest(user: Any) -> bool:
    """Only admins start backtests: one trains a model per past period and takes minutes on large data."""
    return permissions.is_admin(user)


def sees_company(user: Any) -> bool:
    """Does ``user`` see every deal? Company-wide amounts (a backtest's actuals) are shown only to them."""
    return visibility.visible_owner_ids(user) is None


# ---------------------------------------------------------------- runs


def periods_with_runs() -> list[str]:
    """Labels of the periods that have at least one stored run, latest period first."""
    rows = (ForecastRun.objects.values_list("period", "period_start", "period_end").distinct()
            .order_by("-period_start", "-period_end", "period"))  # a quarter before the month it starts with
    seen: list[str] = []
    for label, _start, _end in rows:
        if label not in seen:
            seen.append(label)
    return seen


def runs_of(period: str) -> list[ForecastRun]:
    """The runs of a period, the latest as-of time first (then the latest made)."""
    return list(ForecastRun.objects.filter(period=period).select_related("model")
                .order_by("-as_of", "-created_at", "-id"))


def find_run(period: str | None, run_id: int | None) -> ForecastRun | None:
    """The run asked for: ``run_id`` when it exists (and belongs to ``period`` if one is given), else the
    period's run with the latest as-of time, else the latest run of the latest period with runs."""
    qs = ForecastRun.objects.select_related("model")
    if run_id is not None:
        run = qs.filter(pk=run_id).first()
        if run is not None and (not period or run.period == period):
            return run
    if not period:
        labels = periods_with_runs()
        if not labels:
            return None
        period = labels[0]
    return qs.filter(period=period).order_by("-as_of", "-created_at", "-id").first()


def previous_run(run: ForecastRun) -> ForecastRun | None:
    """The run of the same period just before ``run`` (earlier as-of time, or the same one made earlier)."""
    condition = (Q(as_of__lt=run.as_of) | Q(as_of=run.as_of, created_at__lt=run.created_at)
               | Q(as_of=run.as_of, created_at=run.created_at, pk__lt=run.pk))
    earlier = ForecastRun.objects.filter(condition, period=run.period).exclude(pk=run.pk)
    return earlier.order_by("-as_of", "-created_at", "-id").first()


# ---------------------------------------------------------------- deals


def contributors(run: ForecastRun, user: Any, limit: int = CONTRIBUTORS) -> list[DealForecast]:
    """The visible deals with the largest expected value (p × amount) in ``run``."""
    rows = selectors.visible_deal_forecasts(run, user).select_related("opportunity", "opportunity__account")
    return list(rows.order_by("-expected", "opportunity_id")[:limit])


def visible_expected(run: ForecastRun, user: Any) -> Decimal:
    """Σ expected of the visible deal rows of ``run`` (the stored, rounded per-deal values)."""
    total = selectors.visible_deal_forecasts(run, user).aggregate(s=Sum("expected"))["s"]
    return total if total is not None else ZERO


@dataclass
class Move:
    """One deal's change between two runs. ``before`` is None for a new deal, ``after`` for a removed one
    (won, lost or out of the open pipeline by the later as-of time)."""

    opportunity_id: int
    name: str
    owner: str
    status: str  # "new", "removed", "changed"
    before: DealForecast | None
    after: DealForecast | None
    change: Decimal

    @property
    def expected_before(self) -> Decimal:
        return self.before.expected if self.before else ZERO

    @property
    def expected_after(self) -> Decimal:
        return self.after.expected if self.after else ZERO


@dataclass
class Movers:
    previous: ForecastRun | None
    moves: list[Move] = field(default_factory=list)
    total_change: Decimal = ZERO  # change of Σ expected over the visible deal rows
    new_count: int = 0
    removed_count: int = 0


def _with_previous(rows: QuerySet, previous: ForecastRun) -> QuerySet:
    prior = DealForecast.objects.filter(run=previous, opportunity_id=OuterRef("opportunity_id"))
    return rows.annotate(
        before_expected=Subquery(prior.values("expected")[:1], output_field=MONEY),
        before_id=Subquery(prior.values("pk")[:1]),
    )


def movers(run: ForecastRun, user: Any, limit: int = MOVERS) -> Movers:
    """The visible deals whose expected value changed most since the previous run of the same period.

    Two ordered queries (deals in ``run``, with their previous value; deals only in the previous run), the
    top ``limit`` of each by |change|, merged."""
    previous = previous_run(run)
    if previous is None:
        return Movers(previous=None)
    now = selectors.visible_deal_forecasts(run, user)
    before = selectors.visible_deal_forecasts(previous, user)
    current = _with_previous(now, previous).annotate(
        delta=F("expected") - Coalesce("before_expected", Value(ZERO), output_field=MONEY)
    )
    changed = list(current.select_related("opportunity").order_by(Abs("delta").desc(), "opportunity_id")[:limit])
    in_run = DealForecast.objects.filter(run=run).values("opportunity_id")
    gone_qs = before.exclude(opportunity_id__in=in_run)
    gone = list(gone_qs.select_related("opportunity").order_by("-expected", "opportunity_id")[:limit])
    prior_rows = DealForecast.objects.in_bulk([r.before_id for r in changed if r.before_id is not None])
    moves = [
        Move(r.opportunity_id, str(r.opportunity), r.owner_username,
             "changed" if r.before_id is not None else "new", prior_rows.get(r.before_id), r, r.delta)
        for r in changed if r.delta != 0 or r.before_id is None
    ]
    moves += [Move(r.opportunity_id, str(r.opportunity), r.owner_username, "removed", r, None, -r.expected)
              for r in gone]
    moves.sort(key=lambda m: (-abs(m.change), m.opportunity_id))
    new_count = current.filter(before_id__isnull=True).count()
    return Movers(
        previous=previous,
        moves=moves[:limit],
        total_change=visible_expected(run, user) - visible_expected(previous, user),
        new_count=new_count,
        removed_count=gone_qs.count(),
    )


# ---------------------------------------------------------------- backtests and models


def backtest_choices() -> list[tuple[str, str]]:
    """The (period kind, at) pairs with a stored backtest, quarters first."""
    pairs = set(BacktestRun.objects.values_list("period_kind", "at").distinct())
    order = {"quarter": 0, "month": 1, "start": 0, "mid": 1}
    return sorted(pairs, key=lambda p: (order.get(p[0], 9), order.get(p[1], 9)))


def find_backtest(kind: str | None, at: str | None) -> BacktestRun | None:
    """The latest backtest of ``kind`` (month, quarter) forecast at ``at`` (start, mid); with neither given,
    the latest of the first available pair (quarters at the start first)."""
    if not kind or not at:
        choices = backtest_choices()
        if not choices:
            return None
        kind, at = kind or choices[0][0], at or choices[0][1]
    return BacktestRun.objects.filter(period_kind=kind, at=at).order_by("-created_at", "-id").first()


def find_model(version_id: int | None) -> WinModelVersion | None:
    """A stored model version by id, else the active one, else the latest trained."""
    if version_id is not None:
        found = WinModelVersion.objects.filter(pk=version_id).first()
        if found is not None:
            return found
    return selectors.active_version() or WinModelVersion.objects.order_by("-created_at", "-id").first()


def as_date(value: Any) -> dt.date | None:
    """A date out of a stored ISO text (``2017-10-01T00:00:00+00:00``) or a date/datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# ---------------------------------------------------------------- one deal's score


@dataclass
class Factor:
    text: str  # in the page's language (web.forecast_labels)
    points: float  # signed percentage points of win probability

    @property
    def sign(self) -> str:
        return "+" if self.points > 0 else ("-" if self.points < 0 else "")


@dataclass
class DealScore:
    row: DealForecast
    run: ForecastRun
    factors: list[Factor]

    def shown(self) -> dict[str, str]:
        """The figures as the panel shows them: percentages to one decimal, amounts in whole units."""
        from revcast.web.forecast_charts import money, percent

        return {"p_win": percent(self.row.p_win), "p_timing": percent(self.row.p_timing), "p": percent(self.row.p),
                "expected": money(self.row.expected), "amount": money(self.row.amount)}


def deal_score(user: Any, opportunity: Any) -> DealScore | None:
    """The newest stored score of a deal ``user`` may see, with its factors; None when never scored."""
    row = selectors.deal_score(opportunity, user)
    if row is None:
        return None
    from revcast.web.forecast_labels import factor_texts

    factors = [Factor(text, points) for text, points in factor_texts(list(row.factors or []))]
    return DealScore(row=row, run=row.run, factors=factors)
