"""The collaborative forecast as reports, so that the CLI, the web and the API export them like any other
(JSON, CSV, Excel): submissions, the roll-up (one row per person of the subtree), and the accuracy of a closed
period. All read through ``forecasting.collab`` (and so ``core.visibility``) for the report's user."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from revcast.forecasting.collab import accuracy
from revcast.forecasting.collab.rollup import RollupError, period_ref, rollup
from revcast.forecasting.collab.selectors import visible_submissions, visible_user
from revcast.reporting.params import ReportError
from revcast.reporting.result import Column, ReportResult
from revcast.reporting.runners.base import ReportRunner, ratio


class CallsReport(ReportRunner):
    """A report of the collaborative forecast: no grouping, no filters; its options say what to show."""

    date_field = "expected_close_on"

    def __init__(self, params: Any) -> None:
        super().__init__(params)
        if self.by or params.where or params.date_from or params.date_to:
            raise ReportError(f"report {self.name!r} takes --option period=… (no --by, --where, --from or --to)")

    def period_label(self, *, required: bool = True) -> str | None:
        text = self.free("period")
        if not text:
            if required:
                raise ReportError(f"report {self.name!r} needs --option period=2017-Q4 (or 2017-11, FY2017)")
            return None
        try:
            return period_ref(text).label
        except RollupError as exc:
            raise ReportError(f"option period={text!r}: {exc}") from None

    def meta(self, **extra: Any) -> dict[str, Any]:
        return {
            "report": self.name, "title": self.title, "by": [], "options": dict(self.params.options),
            "currency": settings.REVCAST_DEFAULT_CURRENCY, "as_user": getattr(self.params.user, "username", None),
            "generated_at": timezone.now(), **extra,
        }


class SubmissionsReport(CallsReport):
    name = "forecast-submissions"
    title = gettext_noop("Forecast submissions")
    description = gettext_noop("Every forecast call of the people you may see, newest first. Option: period=2017-Q4.")
    free_options = {"period": "2017-Q4, 2017-11 or FY2017 (default: every period)"}

    def compute(self) -> ReportResult:
        rows = visible_submissions(self.params.user, self.period_label(required=False)).select_related("user__manager")
        columns = [Column("period", "string", "Period"), Column("user", "string", "User"),
                   Column("manager", "string", "Manager"), Column("commit", "money", "Commit"),
                   Column("best_case", "money", "Best case"), Column("pipeline", "money", "Pipeline"),
                   Column("submitted_at", "string", "Submitted at"), Column("source", "string", "Source"),
                   Column("note", "string", "Note")]
        out = [[s.period, s.user.username, s.user.manager.username if s.user.manager else None, s.commit, s.best_case,
                s.pipeline, s.submitted_at.isoformat(timespec="seconds"), s.source, s.note] for s in rows]
        return ReportResult(columns, out, self.meta(rows=len(out)))


class RollupReport(CallsReport):
    name = "forecast-rollup"
    title = gettext_noop("Forecast roll-up")
    description = gettext_noop(
        "The roll-up of a subtree for a period as you see it (adjustments applied): one row per person, with "
        "quota, closed, commit, best case, pipeline, weighted pipeline and the AI's range. Options: period=2017-Q4 "
        "(required), user=USERNAME (default: you; the company for admins)."
    )
    free_options = {"period": "2017-Q4, 2017-11 or FY2017", "user": "a username in your subtree"}

    def compute(self) -> ReportResult:
        period = self.period_label()
        assert period is not None
        target = None
        if self.free("user"):
            try:
                target = visible_user(self.params.user, self.free("user"))
            except LookupError:
                raise ReportError(f"option user={self.free('user')!r}: no such user that you may see") from None
        try:
            node = rollup(self.params.user, period, user=target)
        except RollupError as exc:
            raise ReportError(str(exc)) from None
        columns = [Column("level", "integer", "Level"), Column("user", "string", "User"),
                   Column("name", "string", "Name"), Column("quota", "money", "Quota"),
                   Column("closed", "money", "Closed"), Column("attainment", "percent", "Attainment"),
                   Column("commit", "money", "Commit"), Column("best_case", "money", "Best case"),
                   Column("pipeline", "money", "Pipeline"), Column("weighted", "money", "Weighted pipeline"),
                   Column("gap", "money", "Gap to quota"), Column("ai_p10", "money", "AI P10"),
                   Column("ai_p50", "money", "AI P50"), Column("ai_p90", "money", "AI P90"),
                   Column("submitted", "string", "Submitted"), Column("adjusted_by", "string", "Adjusted by"),
                   Column("adjustment_note", "string", "Adjustment note"), Column("missing", "integer", "Missing")]
        rows: list[list[Any]] = []

        def walk(n: dict[str, Any], level: int) -> None:
            ai = n["ai"] or {}
            adj = (n["adjusted"] or {}).get("commit") or (n["adjusted"] or {}).get("best_case") or {}
            quota = n["quota"]
            rows.append([
                level, n["user"], n["name"] or "", quota, n["closed"],
                ratio(float(n["closed"]), float(quota)) if quota else None, n["commit"], n["best_case"],
                n["pipeline"], n["weighted"].quantize(Decimal("0.01")),
                (quota - n["commit"]) if quota is not None else None, ai.get("p10"), ai.get("p50"), ai.get("p90"),
                {True: "yes", False: "no", None: ""}[n["submitted"]], adj.get("by"), adj.get("note"),
                len(n["missing"]),
            ])
            for child in n["children"]:
                walk(child, level + 1)

        walk(node, 0)
        return ReportResult(columns, rows, self.meta(period=period, user=node["user"]))


class AccuracyReport(CallsReport):
    name = "forecast-accuracy"
    title = gettext_noop("Forecast accuracy")
    description = gettext_noop(
        "How accurate each call of a closed period was: error |forecast − actual| / actual and bias by source (reps, "
        "managers, AI) and week of the period. Options: period=2017-Q3 (default: the newest closed), "
        "level=summary|people."
    )
    free_options = {"period": "a closed period (default: the newest)"}
    options = {"level": ("summary", "people")}

    def compute(self) -> ReportResult:
        period = self.period_label(required=False)
        closes = accuracy.closes()
        close = closes.filter(period=period).first() if period else closes.first()
        if close is None:
            raise ReportError(
                f"{period or 'no period'} has not been closed: `revcast forecast close --period P` measures it"
            )
        meta = self.meta(period=close.period, closed_at=close.closed_at)
        if self.option("level") == "summary":
            columns = [Column("source", "string", "Source"), Column("week_index", "integer", "Week"),
                       Column("week", "date", "Week of"), Column("forecast", "money", "Forecast"),
                       Column("actual", "money", "Actual"), Column("error", "percent", "Error"),
                       Column("bias", "percent", "Bias"), Column("people_mean_error", "percent", "People: mean error"),
                       Column("teams_mean_error", "percent", "Teams: mean error")]
            rows = [[r["source"], r["week_index"], r["week"], r["forecast"], r["actual"], r["error"], r["bias"],
                     r["people_mean_error"], r["teams_mean_error"]] for r in accuracy.summary(self.params.user, close)]
            return ReportResult(columns, rows, meta)
        columns = [Column("user", "string", "User"), Column("team", "string", "Team"),
                   Column("source", "string", "Source"), Column("week_index", "integer", "Week"),
                   Column("week", "date", "Week of"), Column("forecast", "money", "Forecast"),
                   Column("actual", "money", "Actual"), Column("error", "percent", "Error"),
                   Column("bias", "percent", "Bias")]
        rows = [[r.user.username if r.user else None, "yes" if r.is_team else "", r.source, r.week_index, r.week,
                 r.forecast, r.actual, r.error, r.bias] for r in accuracy.visible_rows(self.params.user, close)]
        return ReportResult(columns, rows, meta)
