"""How a period's pipeline changed between two instants, deal by deal, rebuilt from field history.

Pure Python (no Django): the runners in ``reporting.runners.pipeline_changes`` and ``runners.slipped``
load the history rows of the deals a user may see and hand them here.

**The pipeline of a period** at an instant: the deals whose stage is open and whose expected close date
falls inside the period. A deal without an expected close date is in no period's pipeline. The state of
a deal at an instant is what its history rows dated *before* that instant say (``changed_at < instant``):
the window is half-open, ``[start, end)``, like the periods of ``forecasting.engine.periods``.

**One category per way of joining or leaving, per deal**, comparing its state at the start and at the end
instant (the path in between only matters for its closing and its push count):

- in the start pipeline and in the end pipeline: the amount change goes to ``increased`` or ``decreased``;
- in the start pipeline, won or lost in the window: the amount change goes to ``increased``/``decreased``,
  the end (final) amount to ``won``/``lost``;
- in the start pipeline, open at the end with an expected close outside the period: the amount change to
  ``increased``/``decreased``, the end amount to ``pushed_out`` (moved later, or the date removed) or
  ``pulled_out`` (moved earlier);
- not in the start pipeline, in the end pipeline: ``new`` at the end amount when the deal was created in
  the window, else ``pulled_in`` (its date moved into the period, was set, or the deal was reopened);
- not in the start pipeline, won or lost in the window on a day of the period: it passed through the
  pipeline at its close, so it counts as ``new`` or ``pulled_in`` *and* as ``won`` or ``lost``, both at its
  end amount.

A deal that joined and left again by a date change inside the window, or that was pushed out and pulled
back, is compared by its two ends only. Hence, deal by deal and in total, to the cent::

    start + new + pulled_in + increased - decreased - pushed_out - pulled_out - won - lost = end

A deal without an amount counts with 0. Push counts: how often the expected close date moved to a later
date (both dates known), within the window and in all history before the end instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

ZERO = Decimal(0)
OPEN, WON, LOST = "open", "won", "lost"
FIELDS = ("stage", "amount", "expected_close_on")

# The rows of the waterfall, in order; inflows add to the start, outflows take away from it.
CATEGORIES = (
    "start", "new", "pulled_in", "increased", "decreased", "pushed_out", "pulled_out", "won", "lost", "end",
)
INFLOWS = ("new", "pulled_in", "increased")
OUTFLOWS = ("decreased", "pushed_out", "pulled_out", "won", "lost")
FLOWS = (*INFLOWS, *OUTFLOWS)
IDENTITY = "start + new + pulled_in + increased - decreased - pushed_out - pulled_out - won - lost = end"


@dataclass(frozen=True)
class Change:
    """One history row of a tracked field (values as history writes them: text)."""

    field: str
    old: str | None
    new: str | None
    at: dt.datetime


@dataclass(frozen=True)
class Window:
    """The period (its first day and the day after its last) and the instants compared."""

    period_first: dt.date
    period_after: dt.date
    start: dt.datetime
    end: dt.datetime

    def in_period(self, day: dt.date | None) -> bool:
        return day is not None and self.period_first <= day < self.period_after


@dataclass
class State:
    exists: bool = False
    stage: str | None = None
    amount: Decimal | None = None
    close: dt.date | None = None

    def apply(self, change: Change) -> None:
        self.exists = True
        if change.field == "stage":
            self.stage = change.new
        elif change.field == "amount":
            self.amount = parse_amount(change.new)
        elif change.field == "expected_close_on":
            self.close = parse_date(change.new)


@dataclass
class DealMove:
    """One deal between the two instants: where it stood at each, and what it contributes to each category."""

    opportunity_id: int
    in_start: bool
    in_end: bool
    amount_start: Decimal | None
    amount_end: Decimal | None
    close_start: dt.date | None
    close_end: dt.date | None
    stage_start: str | None
    stage_end: str | None
    pushes_window: int
    pushes_total: int
    touched: bool = False  # in the pipeline at the start or at any instant inside the window
    flows: dict[str, Decimal] = field(default_factory=dict)  # category -> amount (positive)

    @property
    def categories(self) -> list[str]:
        return [c for c in FLOWS if c in self.flows]

    @property
    def start_amount(self) -> Decimal:
        return (self.amount_start or ZERO) if self.in_start else ZERO

    @property
    def end_amount(self) -> Decimal:
        return (self.amount_end or ZERO) if self.in_end else ZERO

    @property
    def moved(self) -> bool:
        """Anything to list about it: a category, or (having been in the pipeline during the window) a new
        expected close date or a push in the window."""
        rescheduled = self.close_start != self.close_end or self.pushes_window > 0
        return bool(self.flows) or (self.touched and rescheduled)


def parse_amount(text: str | None) -> Decimal | None:
    if text in (None, ""):
        return None
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def is_push(change: Change) -> bool:
    """An expected close date moved to a later date (a date set or removed is not a push)."""
    if change.field != "expected_close_on":
        return False
    old, new = parse_date(change.old), parse_date(change.new)
    return old is not None and new is not None and new > old


def stage_type(stage: str | None, types: Mapping[str, str]) -> str:
    # A stage name history knows but the stage table does not (renamed since): counted as open.
    return types.get(stage or "", OPEN)


def in_pipeline(state: State, window: Window, types: Mapping[str, str]) -> bool:
    return state.exists and stage_type(state.stage, types) == OPEN and window.in_period(state.close)


def classify(
    opportunity_id: int, changes: Iterable[Change], window: Window, types: Mapping[str, str]
) -> DealMove | None:
    """The deal's move between ``window.start`` and ``window.end``; None when it did not exist by the end.

    ``changes`` are the deal's history rows in order (changed_at, then id); rows at or after the end are ignored.
    """
    at_start, at_end = State(), State()
    created_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    pushes_window = pushes_total = 0
    touched = False
    previous: dt.datetime | None = None
    for change in changes:
        if change.at >= window.end:
            break
        if previous is not None and change.at != previous and previous >= window.start:
            # The state between two instants of the window (rows at one instant count together).
            touched = touched or in_pipeline(at_end, window, types)
        previous = change.at
        created_at = created_at or change.at
        if change.at < window.start:
            at_start.apply(change)
        at_end.apply(change)
        if change.field == "stage" and stage_type(change.new, types) != OPEN:
            closed_at = change.at
        if is_push(change):
            pushes_total += 1
            pushes_window += change.at >= window.start
    if not at_end.exists:
        return None
    move = DealMove(
        opportunity_id=opportunity_id,
        in_start=in_pipeline(at_start, window, types),
        in_end=in_pipeline(at_end, window, types),
        amount_start=at_start.amount,
        amount_end=at_end.amount,
        close_start=at_start.close,
        close_end=at_end.close,
        stage_start=at_start.stage,
        stage_end=at_end.stage,
        pushes_window=pushes_window,
        pushes_total=pushes_total,
    )
    move.touched = move.in_start or move.in_end or touched
    end_type = stage_type(at_end.stage, types)
    closed_in_window = end_type != OPEN and closed_at is not None and closed_at >= window.start
    start_amount, end_amount = at_start.amount or ZERO, at_end.amount or ZERO
    if move.in_start:
        delta = end_amount - start_amount
        if delta:
            move.flows["increased" if delta > 0 else "decreased"] = abs(delta)
        if move.in_end:
            return move
        if end_type != OPEN:
            move.flows[end_type] = end_amount
        elif at_end.close is not None and at_end.close < window.period_first:
            move.flows["pulled_out"] = end_amount
        else:
            move.flows["pushed_out"] = end_amount
        return move
    entry = "new" if created_at is not None and created_at >= window.start else "pulled_in"
    if move.in_end:
        move.flows[entry] = end_amount
    elif closed_in_window and closed_at is not None and window.in_period(closed_at.astimezone(dt.UTC).date()):
        move.flows[entry] = end_amount
        move.flows[end_type] = end_amount
    return move


@dataclass
class Waterfall:
    """Deal counts and amounts per category; ``add`` one deal at a time."""

    deals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, ZERO))

    def add(self, move: DealMove) -> None:
        if move.in_start:
            self.deals["start"] += 1
            self.amounts["start"] += move.start_amount
        if move.in_end:
            self.deals["end"] += 1
            self.amounts["end"] += move.end_amount
        for category, amount in move.flows.items():
            self.deals[category] += 1
            self.amounts[category] += amount

    @property
    def computed_end(self) -> Decimal:
        """The end the identity gives: start plus the inflows minus the outflows."""
        a = self.amounts
        return a["start"] + sum((a[c] for c in INFLOWS), ZERO) - sum((a[c] for c in OUTFLOWS), ZERO)

    @property
    def difference(self) -> Decimal:
        """The identity's end minus the pipeline found at the end: zero, always (a non-zero value is a bug)."""
        return self.computed_end - self.amounts["end"]


@dataclass(frozen=True)
class Slip:
    """A deal's expected close now, against the first expected close date its history knows."""

    opportunity_id: int
    stage: str | None
    amount: Decimal | None
    original_close: dt.date
    current_close: dt.date
    pushes: int
    ever_closes: tuple[dt.date, ...]  # every expected close date it had, in order

    @property
    def days_slipped(self) -> int:
        return (self.current_close - self.original_close).days


def slip(opportunity_id: int, changes: Iterable[Change], as_of: dt.datetime) -> Slip | None:
    """The deal's slip at ``as_of`` (rows before it); None without an original or a current close date."""
    state = State()
    original: dt.date | None = None
    closes: list[dt.date] = []
    pushes = 0
    for change in changes:
        if change.at >= as_of:
            break
        state.apply(change)
        if change.field == "expected_close_on" and (day := parse_date(change.new)) is not None:
            original = original or day
            closes.append(day)
        pushes += is_push(change)
    if original is None or state.close is None:
        return None
    return Slip(opportunity_id, state.stage, state.amount, original, state.close, pushes, tuple(closes))
