"""Slipped deals: expected close dates now later than the first one the deal had (rebuilt from field history).

With ``--option period=2017-Q4`` only the deals pushed out of that period: an expected close inside the period
at some time, and now one after it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_noop

from revcast.pipeline.models import OpportunityFieldHistory
from revcast.reporting.changes import OPEN, Slip, slip, stage_type
from revcast.reporting.params import ReportError
from revcast.reporting.result import Column, ReportResult
from revcast.reporting.runners.history_base import HistoryReport, midnight, read_period, today
from revcast.reporting.runners.pipeline import _money


class SlippedDealsReport(HistoryReport):
    name = "slipped-deals"
    title = gettext_noop("Slipped deals")
    description = gettext_noop(
        "Deals whose expected close date is now later than the first one they had: original and current expected "
        "close, days slipped and push count, most slipped first. Options: period=2017-Q4|2017-11 (only deals "
        "pushed out of it), as_of=DATE, status=open|all."
    )
    free_options = {
        "period": "2017-Q4 or 2017-11: only deals whose expected close lay in it and now lies after it",
        "as_of": "YYYY-MM-DD: the state at the end of that day (default: now; also --to)",
    }
    options = {"status": ("open", "all")}

    def compute(self) -> ReportResult:
        if self.params.date_from:
            raise ReportError(f"report {self.name!r} takes no --from; use --option as_of=DATE (or --to)")
        as_of_day = self.date_option("as_of", "--to", self.params.date_to) or today()
        try:
            as_of = midnight(as_of_day + dt.timedelta(days=1))
        except OverflowError:
            raise ReportError(f"as_of {as_of_day} is outside the supported dates") from None
        period = read_period(self.free("period")) if self.free("period") else None
        open_only = self.option("status") == "open"
        types = self.stage_types()
        deals = self.candidates(as_of)
        slips: list[Slip] = []
        for opp_id, changes in self.history_rows(deals.values("pk"), as_of):
            s = slip(opp_id, changes, as_of)
            if s is None or s.days_slipped <= 0:
                continue
            if open_only and stage_type(s.stage, types) != OPEN:
                continue
            if period is not None:
                first, after = period.start.date(), period.end.date()
                if s.current_close < after or not any(first <= d < after for d in s.ever_closes):
                    continue
            slips.append(s)
        slips.sort(key=lambda s: (-s.days_slipped, s.opportunity_id))
        info = self.deal_info(deals) if slips else {}
        rows = []
        total = Decimal(0)
        for s in slips:
            deal: dict[str, Any] = info.get(s.opportunity_id, {})
            rows.append([s.opportunity_id, deal.get("deal"), deal.get("owner"), deal.get("account"), s.stage,
                         None if s.amount is None else _money(s.amount), s.original_close, s.current_close,
                         s.days_slipped, s.pushes])
            total += s.amount or 0
        columns = [
            Column("opportunity_id", "integer", gettext_noop("Id")),
            Column("deal", "string", gettext_noop("Opportunity")),
            Column("owner", "string", gettext_noop("Owner")),
            Column("account", "string", gettext_noop("Account")),
            Column("stage", "string", gettext_noop("Stage")),
            Column("amount", "money", gettext_noop("Amount")),
            Column("original_close", "date", gettext_noop("Original expected close")),
            Column("current_close", "date", gettext_noop("Current expected close")),
            Column("days_slipped", "integer", gettext_noop("Days slipped")),
            Column("pushes", "integer", gettext_noop("Pushes")),
        ]
        days = [s.days_slipped for s in slips]
        meta = self.meta(
            totals={"deals": len(rows), "amount": _money(total),
                    "mean_days_slipped": round(sum(days) / len(days), 2) if days else None},
            as_of=as_of_day,
            period=period.label if period else None,
            notes=[gettext_noop("Original expected close: the first expected close date in the deal's history. "
                                "Pushes: how often the expected close date moved to a later date (all history "
                                "up to as_of). Amount and stage as of as_of; owner and account as they are now.")],
        )
        meta["options"] = {"period": meta["period"], "as_of": as_of_day, "status": self.option("status")}
        return ReportResult(columns, rows, meta)

    def candidates(self, as_of: dt.datetime) -> QuerySet:
        """Visible deals whose expected close date was ever changed (a first date set is no change)."""
        changed = OpportunityFieldHistory.objects.filter(
            field="expected_close_on", old_value__isnull=False, changed_at__lt=as_of
        ).values("opportunity_id")
        return self.base_queryset().filter(pk__in=changed)
