"""Data behind the home dashboard and the report pickers.

Every number comes from a reporting runner (``run_report`` with ``ReportParams(user=...)``) or from
``pipeline.selectors``, so the dashboard counts exactly what the user may see (core.visibility) and
agrees with the report pages, exports, CLI and API. Views call these functions and never the ORM.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Max, Min
from django.utils.translation import get_language

from revcast.core import fiscal, visibility
from revcast.core.models import CustomField
from revcast.pipeline import selectors
from revcast.pipeline.models import Opportunity
from revcast.reporting import dimensions
from revcast.reporting.dimensions import period_bounds
from revcast.reporting.params import ReportParams
from revcast.reporting.registry import run_report
from revcast.reporting.result import ReportResult

TOP_DEALS = 10
STALE_ROWS = 10
# With no period chosen, the bookings chart shows at most this many months, ending at the latest booking.
BOOKINGS_MONTHS = 24
FUNNEL_COHORTS = ("created", "engaged")


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A period label (``FY2017`` or ``2017``, ``2017-Q3``, ``2017-03``) and its first and last day, in the
    fiscal calendar (``core.fiscal``); empty = all time."""

    label: str = ""
    start: dt.date | None = None
    end: dt.date | None = None  # inclusive

    @property
    def is_all_time(self) -> bool:
        return not self.label


def period_kind(label: str) -> str:
    return fiscal.kind_of(label)


def parse_period(text: str | None) -> Period:
    """``2017-Q3`` -> Period(first .. last day of fiscal quarter 3 of FY2017); raises ReportError on a malformed
    label."""
    label = (text or "").strip().upper()
    if not label:
        return Period()
    start, end = period_bounds(period_kind(label), label)
    return Period(label, start, end - dt.timedelta(days=1))


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after (or before) ``day``'s month."""
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def month_label(day: dt.date) -> str:
    return f"{day.year}-{day.month:02d}"


def month_start(label: str) -> dt.date:
    return period_bounds("month", label)[0]


def period_choices(user: Any) -> list[str]:
    """Fiscal years and quarters (newest first) spanned by the close and creation dates of the user's deals."""
    span = visibility.opportunities(user).aggregate(
        closed_min=Min("closed_on"), closed_max=Max("closed_on"),
        created_min=Min("created_on"), created_max=Max("created_on"),
    )
    days = [d for d in span.values() if d is not None]
    if not days:
        return []
    first, last = min(days), max(days)
    calendar = fiscal.calendar()
    labels: list[str] = []
    for fiscal_year in range(calendar.fiscal_year(last.year, last.month),
                             calendar.fiscal_year(first.year, first.month) - 1, -1):
        labels.append(fiscal.report_label(dt.date(*calendar.year_start(fiscal_year), 1), "year"))
        for quarter in range(4, 0, -1):
            start = dt.date(*calendar.quarter_start(fiscal_year, quarter), 1)
            if add_months(start, 3) > first and start <= last:
                labels.append(fiscal.label_of(start, "quarter"))
    return labels


# ---------------------------------------------------------------- widgets


@dataclass
class BookingsMonth:
    """Bookings of one month next to the same month of the previous quarter and of the previous year."""

    month: str
    count: int
    amount: Decimal
    prev_quarter_month: str
    prev_quarter_count: int
    prev_quarter_amount: Decimal
    prev_year_month: str
    prev_year_count: int
    prev_year_amount: Decimal


@dataclass
class Bookings:
    months: list[BookingsMonth]
    count: int  # won deals in the shown period (all time when no period is chosen)
    amount: Decimal


def pipeline_by_stage(user: Any) -> ReportResult:
    return run_report("pipeline", ReportParams(user=user, by=["stage"]))


def funnel(user: Any, period: Period, cohort: str = "created") -> ReportResult:
    return run_report(
        "funnel",
        ReportParams(user=user, date_from=period.start, date_to=period.end, options={"cohort": cohort}),
    )


def win_rate(user: Any, period: Period, by: str) -> ReportResult:
    return run_report("win-rate", ReportParams(user=user, by=[by], date_from=period.start, date_to=period.end))


def bookings(user: Any, period: Period) -> Bookings:
    """Monthly bookings with the previous quarter's and previous year's same month: one report run."""
    date_from = add_months(period.start, -12) if period.start else None
    result = run_report(
        "bookings", ReportParams(user=user, by=["month"], date_from=date_from, date_to=period.end)
    )
    booked = {row[0]: (row[1], row[2]) for row in result.rows if row[0] is not None}
    if period.start and period.end:
        first, last = period.start.replace(day=1), period.end.replace(day=1)
    elif booked:
        last = month_start(max(booked))
        first = max(month_start(min(booked)), add_months(last, 1 - BOOKINGS_MONTHS))
    else:
        return Bookings([], 0, Decimal("0.00"))
    zero = (0, Decimal("0.00"))
    months = []
    day = first
    while day <= last:
        label = month_label(day)
        quarter_ago, year_ago = month_label(add_months(day, -3)), month_label(add_months(day, -12))
        (n, amount), (nq, amount_q), (ny, amount_y) = (booked.get(m, zero) for m in (label, quarter_ago, year_ago))
        months.append(BookingsMonth(label, n, amount, quarter_ago, nq, amount_q, year_ago, ny, amount_y))
        day = add_months(day, 1)
    if period.is_all_time:
        count, amount = result.meta["totals"]["count"], result.meta["totals"]["amount"]
    else:
        count = sum(m.count for m in months)
        amount = sum((m.amount for m in months), Decimal("0.00"))
    return Bookings(months, count, amount)


def top_deals(user: Any, limit: int = TOP_DEALS) -> list[Any]:
    return list(selectors.top_open_opportunities(user, limit))


def stale_deals(user: Any, days: int, limit: int = STALE_ROWS) -> tuple[int, list[Any]]:
    """How many open deals went ``days`` days without an activity or a stage change, and the oldest few.

    The oldest are found as ids first: joined with their owner, account and stage in the same query,
    SQLite plans the correlated last-touch subqueries badly (several times slower on the Maven data).
    """
    qs = selectors.stale_opportunities(user, days)
    oldest = list(qs.values_list("pk", "last_touch_at")[:limit])
    count = len(oldest) if len(oldest) < limit else qs.count()
    related = visibility.opportunities(user, Opportunity.objects.select_related("owner", "account", "stage"))
    deals = related.in_bulk([pk for pk, _touched in oldest])
    rows = []
    for pk, touched in oldest:
        deal = deals[pk]
        deal.last_touch_at = touched
        rows.append(deal)
    return count, rows


@dataclass
class Dashboard:
    period: Period
    cohort: str
    stale_days: int
    period_choices: list[str]
    pipeline: ReportResult
    funnel: ReportResult
    bookings: Bookings
    win_rate_owner: ReportResult
    win_rate_product: ReportResult
    top_deals: list[Any]
    stale_count: int
    stale_deals: list[Any]
    kpis: dict[str, Any] = field(default_factory=dict)


def dashboard(user: Any, *, period: Period, cohort: str, stale_days: int) -> Dashboard:
    """Everything on the home dashboard for ``user``'s visible scope."""
    pipeline = pipeline_by_stage(user)
    win_owner = win_rate(user, period, "owner")
    stale_count, stale_rows = stale_deals(user, stale_days)
    booked = bookings(user, period)
    kpis = {
        "pipeline_count": pipeline.meta["totals"]["count"],
        "pipeline_amount": pipeline.meta["totals"]["amount"],
        "bookings_count": booked.count,
        "bookings_amount": booked.amount,
        "win_rate": win_owner.meta["totals"]["win_rate"],
        "closed": win_owner.meta["totals"]["won"] + win_owner.meta["totals"]["lost"],
        "stale_count": stale_count,
    }
    return Dashboard(
        period=period,
        cohort=cohort,
        stale_days=stale_days,
        period_choices=period_choices(user),
        pipeline=pipeline,
        funnel=funnel(user, period, cohort),
        bookings=booked,
        win_rate_owner=win_owner,
        win_rate_product=win_rate(user, period, "product"),
        top_deals=top_deals(user),
        stale_count=stale_count,
        stale_deals=stale_rows,
        kpis=kpis,
    )


# ---------------------------------------------------------------- report pickers

FILTER_DIMENSIONS = ("region", "team", "owner", "product", "stage")


def dimension_choices() -> list[tuple[str, str]]:
    """(name, English label) of every dimension a report can be grouped by, custom fields included."""
    custom: dict[str, str] = {}
    zh = (get_language() or "").lower().startswith("zh")
    for f in CustomField.objects.filter(active=True).order_by("object", "key"):
        label = (f.label_zh if zh and f.label_zh else f.label_en) or f.key
        custom.setdefault(f"custom.{f.key}", label)  # the opportunity's field wins, as in dimensions.get
    out = []
    for name in dimensions.available():
        if name in custom:
            out.append((name, custom[name]))
        else:
            out.append((name, dimensions.get(name).label))
    return out


def filter_choices(user: Any) -> dict[str, list[str]]:
    """Values offered for the report filters. Owners are only the people whose records the user sees."""
    from revcast.org.models import Region, Team, User
    from revcast.pipeline.models import Product, Stage

    owners = User.objects.filter(is_active=True)
    visible = visibility.visible_owner_ids(user)
    if visible is not None:
        owners = owners.filter(pk__in=visible)
    return {
        "region": list(Region.objects.order_by("name").values_list("name", flat=True)),
        "team": list(Team.objects.order_by("name").values_list("name", flat=True)),
        "owner": list(owners.order_by("username").values_list("username", flat=True)),
        "product": list(Product.objects.order_by("name").values_list("name", flat=True)),
        "stage": list(Stage.objects.filter(active=True).order_by("order").values_list("name", flat=True)),
    }

