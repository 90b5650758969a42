"""Pipeline changes: the waterfall of one period's pipeline between two instants, and its deals.

The rules (categories, attribution, the identity) are in ``reporting.changes``; docs/guide/pipeline-changes.md
explains them to users.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy, gettext_noop

from revcast.pipeline.models import OpportunityFieldHistory, Stage
from revcast.reporting.changes import CATEGORIES, FLOWS, IDENTITY, DealMove, Waterfall, Window, classify
from revcast.reporting.params import ReportError
from revcast.reporting.result import Column, ReportResult
from revcast.reporting.runners.history_base import HistoryReport
from revcast.reporting.runners.pipeline import _money

CATEGORY_LABELS = {
    "start": gettext_lazy("Pipeline at start"),
    "new": gettext_lazy("New"),
    "pulled_in": gettext_lazy("Pulled in"),
    "increased": gettext_lazy("Increased"),
    "decreased": gettext_lazy("Decreased"),
    "pushed_out": gettext_lazy("Pushed out"),
    "pulled_out": gettext_lazy("Pulled out"),
    "won": gettext_lazy("Won"),
    "lost": gettext_lazy("Lost"),
    "end": gettext_lazy("Pipeline at end"),
}
UNCHANGED = gettext_lazy("Unchanged")  # a deal of the detail without a category (its date moved inside the period)
NOTES = (
    gettext_noop("The pipeline of a period: open deals whose expected close date falls inside it. Deals without "
                 "an expected close date are in no period's pipeline (on the Maven demo data no open deal has one)."),
    gettext_noop("Each deal is compared at the start and at the end instant, its state rebuilt from field history "
                 "(rows dated before the start day; rows dated up to the end day included), in UTC days."),
    gettext_noop("A deal of the start pipeline contributes its amount change to increased or decreased and leaves "
                 "(won, lost, pushed or pulled out) at its end amount. A deal that joins enters (new or pulled in) at "
                 "its end amount; one that is won or lost inside the window on a day of the period without having "
                 "been in the start pipeline enters and leaves at that amount."),
    gettext_noop("Deals and their grouping are as visible to the user now (current owner); amounts are summed "
                 "without currency conversion."),
)


class _ChangesBase(HistoryReport):
    free_options = {
        "period": "2017-Q4 or 2017-11 (default: the current quarter)",
        "start": "YYYY-MM-DD, the first day compared (default: the period's first day; also --from)",
        "end": "YYYY-MM-DD, the last day compared (default: the earlier of today and the period's last day; also --to)",
    }

    def candidates(self, window: Window) -> QuerySet:
        """Visible deals that can take part: an expected close inside the period before the end, or a close
        inside the window. (Only a filter that keeps the query small; ``classify`` decides.)"""
        closed = list(Stage.objects.exclude(type=Stage.Type.OPEN).values_list("name", flat=True))
        history = OpportunityFieldHistory.objects
        in_period = history.filter(
            field="expected_close_on", changed_at__lt=window.end,
            new_value__gte=window.period_first.isoformat(), new_value__lt=window.period_after.isoformat(),
        ).values("opportunity_id")
        closing = history.filter(
            field="stage", new_value__in=closed, changed_at__gte=window.start, changed_at__lt=window.end
        ).values("opportunity_id")
        return self.base_queryset().filter(Q(pk__in=in_period) | Q(pk__in=closing))

    def moves(self) -> tuple[dict[str, Any], list[DealMove], QuerySet]:
        """The resolved window (for meta) and the moves of the deals that were in the pipeline during the window
        or fall in a category, in opportunity order."""
        period, start, end, window = self.window()
        deals = self.candidates(window)
        types = self.stage_types()
        moves = []
        for opp_id, changes in self.history_rows(deals.values("pk"), window.end):
            move = classify(opp_id, changes, window, types)
            if move is not None and (move.touched or move.flows):
                moves.append(move)
        resolved = {"period": period.label, "period_first": period.start.date(),
                    "period_last": period.end.date() - dt.timedelta(days=1), "start": start, "end": end,
                    "start_instant": window.start, "end_instant": window.end}
        return resolved, moves, deals

    def changes_meta(self, resolved: dict[str, Any], **extra: Any) -> dict[str, Any]:
        meta = self.meta(**extra)
        meta.update({"from": resolved["start"], "to": resolved["end"], "window": resolved,
                     "identity": IDENTITY, "notes": list(NOTES),
                     "options": {**meta["options"], "period": resolved["period"], "start": resolved["start"],
                                 "end": resolved["end"]}})
        return meta


class PipelineChangesReport(_ChangesBase):
    name = "pipeline-changes"
    title = gettext_noop("Pipeline changes")
    description = gettext_noop(
        "The waterfall of a period's pipeline (open deals expected to close in it) between two instants: start, "
        "new, pulled in, increased, decreased, pushed out, pulled out, won, lost, end. "
        "Options: period=2017-Q4|2017-11, start=DATE, end=DATE."
    )
    allow_by = True

    def compute(self) -> ReportResult:
        resolved, moves, deals = self.moves()
        totals = Waterfall()
        groups: dict[tuple[Any, ...], Waterfall] = {}
        keys = self.group_keys(deals) if self.by else {}
        for move in moves:
            totals.add(move)
            if self.by:
                groups.setdefault(keys.get(move.opportunity_id, (None,) * len(self.by)), Waterfall()).add(move)
        if not self.by:
            groups = {(): totals}
        rows = []
        for key in sorted(groups, key=self.sort_key):
            waterfall = groups[key]
            for category in CATEGORIES:
                rows.append([*key, category, str(CATEGORY_LABELS[category]), waterfall.deals[category],
                             _money(waterfall.amounts[category])])
        columns = [
            *self.dimension_columns(),
            Column("category", "string", gettext_noop("Category")),
            Column("label", "string", gettext_noop("Label")),
            Column("deals", "integer", gettext_noop("Deals")),
            Column("amount", "money", gettext_noop("Amount")),
        ]
        summary = {c: {"deals": totals.deals[c], "amount": _money(totals.amounts[c])} for c in CATEGORIES}
        meta = self.changes_meta(
            resolved,
            totals={"start": _money(totals.amounts["start"]), "end": _money(totals.amounts["end"]),
                    "change": _money(totals.amounts["end"] - totals.amounts["start"])},
            waterfall=summary,
            reconciles=totals.difference == 0,
            difference=totals.difference,
        )
        return ReportResult(columns, rows, meta)

    def group_keys(self, deals: QuerySet) -> dict[int, tuple[Any, ...]]:
        values = deals.values("pk", **self.group_annotations())
        return {row["pk"]: self.group_key(row) for row in values}


class PipelineChangesDealsReport(_ChangesBase):
    name = "pipeline-changes-deals"
    title = gettext_noop("Pipeline changes: deals")
    description = gettext_noop(
        "Every deal behind the pipeline changes of a period: its categories, amount and expected close date at "
        "the start and at the end, and how often its expected close date was pushed later. Options as "
        "pipeline-changes, plus all=1 to list the deals that did not move too, and category=won (any category of "
        "the waterfall; start or end: every deal of that pipeline; unchanged) to list only those."
    )
    options = {"all": ("0", "1")}
    free_options = {
        **_ChangesBase.free_options,
        "category": "one category of the waterfall (new, won, ...), start or end (every deal in that pipeline), "
        "or unchanged",
    }

    def compute(self) -> ReportResult:
        category = self.free("category")
        if category and category not in (*CATEGORIES, "unchanged"):
            raise ReportError(f"option category={category!r}: expected one of {[*CATEGORIES, 'unchanged']}")
        resolved, moves, deals = self.moves()
        show_all = self.option("all") == "1" or category in ("start", "end")
        listed = moves if show_all else [m for m in moves if m.moved]
        if category == "start":
            listed = [m for m in listed if m.in_start]
        elif category == "end":
            listed = [m for m in listed if m.in_end]
        elif category == "unchanged":
            listed = [m for m in listed if not m.categories]
        elif category:
            listed = [m for m in listed if category in m.categories]
        info = self.deal_info(deals) if listed else {}
        rows = []
        for m in sorted(listed, key=lambda m: (_first_category(m), m.opportunity_id)):
            deal = info.get(m.opportunity_id, {})
            categories = m.categories
            rows.append([
                m.opportunity_id, deal.get("deal"), deal.get("owner"), deal.get("account"),
                "+".join(categories) or "unchanged",
                " + ".join(str(CATEGORY_LABELS[c]) for c in categories) or str(UNCHANGED),
                int(m.in_start), int(m.in_end),
                _money_or_none(m.amount_start), _money_or_none(m.amount_end),
                _money(m.flows.get("increased", Decimal(0)) - m.flows.get("decreased", Decimal(0))),
                m.close_start, m.close_end, m.stage_start, m.stage_end, m.pushes_window, m.pushes_total,
            ])
        columns = [
            Column("opportunity_id", "integer", gettext_noop("Id")),
            Column("deal", "string", gettext_noop("Opportunity")),
            Column("owner", "string", gettext_noop("Owner")),
            Column("account", "string", gettext_noop("Account")),
            Column("category", "string", gettext_noop("Category")),
            Column("label", "string", gettext_noop("Label")),
            Column("in_start", "integer", gettext_noop("In start pipeline")),
            Column("in_end", "integer", gettext_noop("In end pipeline")),
            Column("amount_start", "money", gettext_noop("Amount at start")),
            Column("amount_end", "money", gettext_noop("Amount at end")),
            Column("amount_change", "money", gettext_noop("Amount change")),
            Column("close_start", "date", gettext_noop("Expected close at start")),
            Column("close_end", "date", gettext_noop("Expected close at end")),
            Column("stage_start", "string", gettext_noop("Stage at start")),
            Column("stage_end", "string", gettext_noop("Stage at end")),
            Column("pushes_window", "integer", gettext_noop("Pushes in window")),
            Column("pushes_total", "integer", gettext_noop("Pushes (all history)")),
        ]
        # The waterfall's totals (every deal, listed or not: unchanged deals only count in start and end).
        waterfall = Waterfall()
        for m in moves:
            waterfall.add(m)
        meta = self.changes_meta(resolved, totals={"deals": len(rows), **{
            c: _money(waterfall.amounts[c]) for c in CATEGORIES}})
        return ReportResult(columns, rows, meta)



def _first_category(move: DealMove) -> int:
    categories = move.categories
    return FLOWS.index(categories[0]) if categories else len(FLOWS)


def _money_or_none(value: Decimal | None) -> Decimal | None:
    return None if value is None else _money(value)
