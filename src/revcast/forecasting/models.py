"""What the forecasting engine produced, kept: trained win models, forecast snapshots and backtests.

Every forecast run is a snapshot (ADR 0014): the as-of time, the period, the model version, and per deal the
probabilities and expected value it had then, so that a forecast can be looked at again later exactly as it
was, and compared with what happened. Rows here are written by ``forecasting.services`` only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    CLI = "cli", _("Command line")
    NIGHTLY = "nightly", _("Nightly task")
    WEB = "web", _("Web")
    API = "api", _("API")
    DEMO = "demo", _("Demo")


class Provenance(models.Model):
    """Who or what made a stored result: the command line, the nightly task, the web app, the API, the demo."""

    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.CLI)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        abstract = True


class WinModelVersion(Provenance):
    """A trained win model: its card (quality figures) and its parameters (``WinModel.to_dict()``, JSON, no pickle).

    At most one version is active: the one forecasts use.
    """

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    cutoff = models.DateTimeField(_("cutoff"), help_text=_("Only what was known before this time was used."))
    kind = models.CharField(
        _("kind"), max_length=32, help_text=_("lightgbm, stage_rates, base_rate or stage_table (fallbacks).")
    )
    seed = models.IntegerField(_("seed"), default=0)
    card = models.JSONField(_("model card"), default=dict)
    payload = models.JSONField(_("parameters"), default=dict)
    is_active = models.BooleanField(_("active"), default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("win model version")
        verbose_name_plural = _("win model versions")
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="forecasting_one_active_model")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} (cutoff {self.cutoff:%Y-%m-%d})"

    @property
    def verdict(self) -> str:
        return str(self.card.get("verdict", ""))


class ForecastRun(Provenance):
    """One company-wide forecast of a period, made at ``as_of``: totals, slices and the inputs needed to
    re-simulate any user's share of it (per-deal rows, new-business samples and closed revenue per owner)."""

    class Kind(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")
        YEAR = "year", _("Year")

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    as_of = models.DateTimeField(_("as of"), help_text=_("The forecast uses only what was known at this time."))
    period = models.CharField(_("period"), max_length=16, help_text=_("2017-Q4 or 2017-11."))
    period_kind = models.CharField(_("period kind"), max_length=8, choices=Kind.choices)
    period_start = models.DateField(_("period start"), help_text=_("First day of the period."))
    period_end = models.DateField(_("period end"), help_text=_("First day after the period (exclusive)."))
    model = models.ForeignKey(
        WinModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs",
        verbose_name=_("win model"),
    )
    seed = models.IntegerField(_("seed"), default=0)
    draws = models.PositiveIntegerField(_("simulation draws"), default=2000)
    dispersion = models.FloatField(
        _("dispersion"), default=0.0,
        help_text=_("Variance of the common factor that makes deals close together in a draw (from history)."),
    )
    totals = models.JSONField(
        _("totals"), default=dict, help_text=_("expected, p10, p50, p90, closed, open_expected, new_expected.")
    )
    by_slice = models.JSONField(
        _("by slice"), default=dict, help_text=_("{dimension: {group: {expected, p10, p50, p90, ...}}}.")
    )
    new_business = models.JSONField(
        _("new business samples"), default=dict,
        help_text=_("{owner username: [revenue in each comparable past window]}: deals not created yet."),
    )
    closed = models.JSONField(
        _("closed in period"), default=dict, help_text=_("{owner username: revenue won in the period before as_of}.")
    )
    deal_count = models.PositiveIntegerField(_("open deals"), default=0)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("forecast run")
        verbose_name_plural = _("forecast runs")
        indexes = [models.Index(fields=["period", "-created_at"], name="forecasting_run_period_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.period} as of {self.as_of:%Y-%m-%d %H:%M}"


class DealForecast(models.Model):
    """One open deal in a forecast run: its win probability, probability of closing inside the period, their
    product, the expected value, the deal's slices as they were at ``as_of``, and the factors behind ``p_win``."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="deals", verbose_name=_("run"))
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="forecasts", verbose_name=_("opportunity")
    )
    owner_username = models.CharField(_("owner"), max_length=150, blank=True, help_text=_("Owner at as_of."))
    stage = models.CharField(_("stage"), max_length=120, blank=True, help_text=_("Stage at as_of."))
    team = models.CharField(_("team"), max_length=120, blank=True)
    region = models.CharField(_("region"), max_length=120, blank=True)
    product = models.CharField(_("product"), max_length=200, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    p_win = models.FloatField(_("P(win)"))
    p_timing = models.FloatField(_("P(closes in period)"))
    p = models.FloatField(_("P(won in period)"))
    expected = models.DecimalField(_("expected value"), max_digits=18, decimal_places=2)
    factors = models.JSONField(
        _("factors"), default=list, help_text=_("[{feature, value, points, text}], largest effect first.")
    )

    class Meta:
        ordering = ["run", "-expected", "opportunity"]
        verbose_name = _("deal forecast")
        verbose_name_plural = _("deal forecasts")
        constraints = [
            models.UniqueConstraint(fields=["run", "opportunity"], name="forecasting_one_row_per_deal_and_run")
        ]
        indexes = [
            models.Index(fields=["opportunity", "-run"], name="forecasting_deal_latest_idx"),
            models.Index(fields=["run", "-expected"], name="forecasting_deal_top_idx"),
            models.Index(fields=["run", "owner_username"], name="forecasting_deal_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"run #{self.run_id} deal #{self.opportunity_id}: p={self.p:.2f}"


class BacktestRun(Provenance):
    """A backtest: the forecast made for each past period at its start (or middle) against what happened,
    next to two baselines. ``result`` is the engine's dict: ``{"periods": [...], "summary": {...}}``."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    period_kind = models.CharField(_("period kind"), max_length=8, choices=ForecastRun.Kind.choices)
    at = models.CharField(_("forecast at"), max_length=8, help_text=_("start or mid of each period."))
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    seed = models.IntegerField(_("seed"), default=0)
    result = models.JSONField(_("result"), default=dict)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("backtest")
        verbose_name_plural = _("backtests")
        indexes = [models.Index(fields=["period_kind", "-created_at"], name="forecasting_backtest_kind_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.period_kind} backtest {self.start}..{self.end}"


# ---------------------------------------------------------------- the collaborative forecast (ADR 0022)


def _money(verbose: Any, *, null: bool = False) -> models.DecimalField:
    return models.DecimalField(verbose, max_digits=18, decimal_places=2, null=null, blank=null)


class InPeriod(models.Model):
    """A row about one period of the fiscal calendar: its label and the dates it covered then (end exclusive)."""

    period = models.CharField(_("period"), max_length=16)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))

    class Meta:
        abstract = True


class ForecastSubmission(InPeriod):
    """A person's call for a period: commit, best case and pipeline for their own deals. Every submission is kept;
    the newest one counts. Nothing ever changes a submission: a manager's adjustment is a separate row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forecast_submissions", verbose_name=_("user")
    )
    commit = _money(_("commit"))
    best_case = _money(_("best case"))
    pipeline = _money(_("pipeline"))
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    note = models.TextField(_("note"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.WEB)

    class Meta:
        ordering = ["period", "user", "-submitted_at", "-id"]
        verbose_name = _("forecast submission")
        verbose_name_plural = _("forecast submissions")
        indexes = [models.Index(fields=["period", "user", "-submitted_at"], name="forecasting_sub_latest_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(commit__gte=0, best_case__gte=0, pipeline__gte=0), name="forecasting_sub_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period}: commit {self.commit}"


class ForecastAdjustment(InPeriod):
    """A manager's change to the number of someone below them (or to their own roll-up) for a period.

    It never overwrites anything: the adjusted person still sees their own submission, and the adjustment applies
    only in the roll-ups of the manager who made it and of those above them.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forecast_adjustments",
        verbose_name=_("adjusted user"),
    )
    adjusted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="forecast_adjustments_made",
        verbose_name=_("adjusted by"),
    )
    commit = _money(_("commit"), null=True)
    best_case = _money(_("best case"), null=True)
    note = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created at"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.WEB)

    class Meta:
        ordering = ["period", "user", "-created_at", "-id"]
        verbose_name = _("forecast adjustment")
        verbose_name_plural = _("forecast adjustments")
        indexes = [models.Index(fields=["period", "user", "-created_at"], name="forecasting_adj_latest_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(commit__isnull=False) | models.Q(best_case__isnull=False),
                name="forecasting_adj_changes_something",
            ),
            models.CheckConstraint(
                condition=(models.Q(commit__isnull=True) | models.Q(commit__gte=0))
                & (models.Q(best_case__isnull=True) | models.Q(best_case__gte=0)),
                name="forecasting_adj_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period} by {self.adjusted_by_id}: commit {self.commit}"


class ForecastSnapshot(InPeriod):
    """The forecast of one node of the hierarchy (a person with everyone below them; ``user`` null: the company)
    for a period, frozen once a week: the reps' calls as submitted, the number after every manager's adjustment,
    the pipeline, what was closed, and the AI's range. Closing the period compares each with what was won."""

    week = models.DateField(_("week"), help_text=_("The Monday of the week the snapshot stands for."))
    taken_at = models.DateTimeField(_("taken at"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("user"),
    )
    rep_commit = _money(_("reps' commit"))
    rep_best_case = _money(_("reps' best case"))
    commit = _money(_("commit"))
    best_case = _money(_("best case"))
    pipeline = _money(_("pipeline"))
    closed = _money(_("closed"))
    weighted = _money(_("weighted pipeline"))
    quota = _money(_("quota"), null=True)
    ai_p10 = _money(_("AI P10"), null=True)
    ai_p50 = _money(_("AI P50"), null=True)
    ai_p90 = _money(_("AI P90"), null=True)
    ai_run = models.ForeignKey(
        ForecastRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("AI run")
    )
    missing = models.PositiveIntegerField(_("missing submissions"), default=0)

    class Meta:
        ordering = ["period", "week", "user"]
        verbose_name = _("forecast snapshot")
        verbose_name_plural = _("forecast snapshots")
        constraints = [
            models.UniqueConstraint(fields=["period", "week", "user"], condition=Q(user__isnull=False),
                                    name="forecasting_snapshot_one_per_week"),
            models.UniqueConstraint(fields=["period", "week"], condition=Q(user__isnull=True),
                                    name="forecasting_snapshot_company_one_per_week"),
        ]

    def __str__(self) -> str:
        return f"{self.period} week of {self.week}: user {self.user_id or 'company'}"


class PeriodClose(models.Model):
    """A closed period: when it was closed, by whom, and the accuracy of every snapshot against what was won."""

    period = models.CharField(_("period"), max_length=16, unique=True)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    closed_at = models.DateTimeField(_("closed at"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("closed by"),
    )

    class Meta:
        ordering = ["-period_start", "period"]
        verbose_name = _("closed period")
        verbose_name_plural = _("closed periods")

    def __str__(self) -> str:
        return self.period


class ForecastAccuracy(models.Model):
    """One forecast against the actual: a node, a source (rep, manager, AI), a week of a closed period.

    ``error`` is |forecast − actual| / actual and ``bias`` (forecast − actual) / actual; both are empty when
    nothing was won (the ratio has no meaning then)."""

    class ForecastSource(models.TextChoices):
        REP = "rep", _("Reps")
        MANAGER = "manager", _("Managers")
        AI = "ai", _("AI")

    close = models.ForeignKey(PeriodClose, on_delete=models.CASCADE, related_name="rows", verbose_name=_("period"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("user"),
    )
    is_team = models.BooleanField(_("team"), default=False, help_text=_("A manager's whole subtree."))
    source = models.CharField(_("source"), max_length=8, choices=ForecastSource.choices)
    week = models.DateField(_("week"))
    week_index = models.SmallIntegerField(
        _("week of the period"), help_text=_("1: the week the period starts in; 0 or less: before it.")
    )
    forecast = _money(_("forecast"))
    actual = _money(_("actual"))
    error = models.FloatField(_("error"), null=True, blank=True)
    bias = models.FloatField(_("bias"), null=True, blank=True)

    class Meta:
        ordering = ["close", "user", "source", "week"]
        verbose_name = _("forecast accuracy")
        verbose_name_plural = _("forecast accuracy")
        indexes = [models.Index(fields=["close", "source", "week_index"], name="forecasting_acc_source_idx")]

    def __str__(self) -> str:
        return f"{self.close_id} {self.source} week {self.week_index}: user {self.user_id or 'company'}"
