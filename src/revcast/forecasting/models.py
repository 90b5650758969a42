"""What the forecasting engine produced, kept: trained win models, forecast snapshots and backtests.

Every forecast run is a snapshot (ADR 0014): the as-of time, the period, the model version, and per deal the
probabilities and expected value it had then, so that a forecast can be looked at again later exactly as it
was, and compared with what happened. Rows here are written by ``forecasting.services`` only.
"""

from __future__ import annotations

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
