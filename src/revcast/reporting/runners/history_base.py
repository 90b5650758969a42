"""What the reports rebuilt from field history share: free-text options, the period and window, and the
history rows of the deals the user may see (through ``core.visibility``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils import timezone

from revcast.core import visibility
from revcast.core.fiscal import Period, PeriodError, parse_period, period_of
from revcast.pipeline.models import OpportunityFieldHistory, Stage
from revcast.reporting import dimensions
from revcast.reporting.changes import FIELDS, Change, Window
from revcast.reporting.params import ReportError, ReportParams
from revcast.reporting.runners.base import ReportRunner

HISTORY_CHUNK = 5000


def read_period(label: str) -> Period:
    """The one place a period name is read (a fiscal calendar replaces ``parse_period`` later)."""
    try:
        return parse_period(label)
    except PeriodError as exc:
        raise ReportError(f"option period={label!r}: {exc}") from None
    except (ValueError, OverflowError):  # pandas timestamps end in 2262
        raise ReportError(f"option period={label!r}: outside the supported dates") from None


def midnight(day: dt.date) -> dt.datetime:
    """The first instant of ``day`` in UTC (periods are UTC days, as in forecasting.engine.periods)."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)


def today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


class HistoryReport(ReportRunner):
    """A report rebuilt from OpportunityFieldHistory. ``free_options`` take any text (checked by the report);
    ``options`` keep the base class's fixed choices; ``--from``/``--to`` are the same as ``start``/``end``."""

    date_field = "expected_close_on"
    allow_by: ClassVar[bool] = False

    def __init__(self, params: ReportParams) -> None:
        super().__init__(params)
        if params.by and not self.allow_by:
            raise ReportError(f"report {self.name!r} lists deals; it takes no --by")
        if any(d.is_time for d in self.by):
            raise ReportError(f"report {self.name!r} cannot group by time; choose the period with --option period=")
        for name in params.where:
            if dimensions.get(name).is_time:
                raise ReportError(f"--where {name}=…: report {self.name!r} takes its period from --option period=")

    def date_option(self, key: str, flag: str, value: dt.date | None) -> dt.date | None:
        """``--option KEY=DATE`` or its flag (``--from``/``--to``); both given must agree."""
        text = self.free(key)
        day = None
        if text:
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                raise ReportError(f"option {key}={text!r}: expected a date YYYY-MM-DD") from None
        if day and value and day != value:
            raise ReportError(f"option {key}={day} and {flag} {value} disagree; give one of them")
        return day or value

    def period(self, default_day: dt.date | None = None) -> Period:
        """``--option period=2017-Q4`` (or ``2017-11``); by default the quarter holding ``default_day`` or today."""
        label = self.free("period")
        if not label:
            try:
                label = period_of(midnight(default_day or today()), "quarter").label
            except (ValueError, OverflowError):  # pandas timestamps span the years 1677 to 2262
                raise ReportError(f"{default_day}: outside the supported dates; give --option period=") from None
        return read_period(label)

    def window(self) -> tuple[Period, dt.date, dt.date, Window]:
        """The period, the first and last day compared (inclusive), and the window of instants.

        ``start`` defaults to the period's first day, ``end`` to the earlier of today and the period's last day.
        The state at the start is the history dated before the start day; at the end, the history dated up to
        the end day included.
        """
        start = self.date_option("start", "--from", self.params.date_from)
        period = self.period(start)
        first = period.start.date()
        after = period.end.date()
        start = start or first
        end = self.date_option("end", "--to", self.params.date_to)
        if end is None and start > today():
            raise ReportError(f"the window starts on {start}, after today: give an earlier start, or an end")
        end = end or min(today(), after - dt.timedelta(days=1))
        if end < start:
            raise ReportError(f"the end {end} is before the start {start}")
        try:
            end_instant = midnight(end + dt.timedelta(days=1))
        except OverflowError:
            raise ReportError(f"the end {end} is outside the supported dates") from None
        return period, start, end, Window(first, after, midnight(start), end_instant)

    # ------------------------------------------------------------------ reads, through core.visibility

    def base_queryset(self) -> QuerySet:
        """Opportunities this user may see, filtered by --where (the window does not filter them)."""
        qs = visibility.opportunities(self.params.user)
        return dimensions.apply_filters(qs, self.params.where, self.period_field)

    @staticmethod
    def stage_types() -> dict[str, str]:
        return dict(Stage.objects.values_list("name", "type"))

    @staticmethod
    def history_rows(deals: QuerySet, before: dt.datetime, fields: Sequence[str] = FIELDS) -> Iterator[
            tuple[int, list[Change]]]:
        """(opportunity id, its history rows of ``fields`` dated before ``before``, in order) for ``deals``."""
        rows = (
            OpportunityFieldHistory.objects.filter(opportunity__in=deals, field__in=fields, changed_at__lt=before)
            .order_by("opportunity_id", "changed_at", "id")
            .values_list("opportunity_id", "field", "old_value", "new_value", "changed_at")
        )
        current: int | None = None
        changes: list[Change] = []
        for opp_id, name, old, new, at in rows.iterator(chunk_size=HISTORY_CHUNK):
            if opp_id != current:
                if current is not None:
                    yield current, changes
                current, changes = opp_id, []
            changes.append(Change(name, old, new, at))
        if current is not None:
            yield current, changes

    @staticmethod
    def deal_info(deals: QuerySet) -> dict[int, dict[str, Any]]:
        """Name, owner and account of each deal as they are now."""
        info: dict[int, dict[str, Any]] = defaultdict(dict)
        for pk, name, external_id, owner, account in deals.values_list(
            "pk", "name", "external_id", "owner__username", "account__name"
        ):
            info[pk] = {"deal": name or external_id or f"#{pk}", "owner": owner, "account": account}
        return info
