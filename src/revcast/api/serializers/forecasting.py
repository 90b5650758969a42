"""Forecast shapes: deal scores with their factors, a period forecast for the caller's scope, runs, the model
card and backtests."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from revcast.api.serializers.common import MAX_INT
from revcast.forecasting.models import BacktestRun, DealForecast, ForecastRun, WinModelVersion
from revcast.forecasting.selectors import SLICES


class FactorSerializer(serializers.Serializer):
    feature = serializers.CharField(help_text=_("The model input, e.g. close_date_pushes or custom.lead_source."))
    value = serializers.JSONField(allow_null=True, help_text=_("Its value for this deal."))
    points = serializers.FloatField(help_text=_("Effect on P(win) in percentage points (signed)."))
    text = serializers.CharField(help_text=_("In words, e.g. 'close date pushed 3 times: −12 pts'."))


class DealScoreSerializer(serializers.ModelSerializer):
    opportunity_name = serializers.CharField(source="opportunity.name", read_only=True)
    opportunity_external_id = serializers.CharField(source="opportunity.external_id", read_only=True)
    owner = serializers.CharField(source="owner_username", help_text=_("Owner at the forecast's as-of time."))
    period = serializers.CharField(source="run.period", read_only=True)
    as_of = serializers.DateTimeField(source="run.as_of", read_only=True)
    factors = FactorSerializer(many=True, read_only=True)

    class Meta:
        model = DealForecast
        fields = ["opportunity", "opportunity_name", "opportunity_external_id", "owner", "stage", "team", "region", "product", "amount",
                  "p_win", "p_timing", "p", "expected", "factors", "run", "period", "as_of"]
        read_only_fields = fields
        extra_kwargs = {
            "p_win": {"help_text": _("Calibrated probability that the deal is won (ever).")},
            "p_timing": {"help_text": _("Probability that it closes inside the period.")},
            "p": {"help_text": _("P(won inside the period) = p_win × p_timing.")},
            "expected": {"help_text": _("p × amount.")},
        }


class FiguresSerializer(serializers.Serializer):
    expected = serializers.FloatField(help_text=_("closed + open_expected + new_expected."))
    p10 = serializers.FloatField(help_text=_("10th percentile of the simulated outcomes."))
    p50 = serializers.FloatField()
    p90 = serializers.FloatField()
    closed = serializers.FloatField(help_text=_("Won inside the period before as_of."))
    open_expected = serializers.FloatField(help_text=_("Expected from deals open at as_of."))
    new_expected = serializers.FloatField(help_text=_("Expected from deals not created yet at as_of."))


class GroupFiguresSerializer(FiguresSerializer):
    key = serializers.CharField(help_text=_("The group: an owner, team, region or product ('(none)': unknown)."))


class PeriodForecastSerializer(serializers.Serializer):
    """``forecasting.selectors.scope_forecast``: a stored run, re-simulated for what the caller may see."""

    run = serializers.IntegerField()
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField(help_text=_("First day after the period."))
    as_of = serializers.DateTimeField()
    scope = serializers.ChoiceField(choices=["all", "subtree"], help_text=_(
        "all: the whole company; subtree: the caller's own deals and those of everyone below them."))
    deals = serializers.IntegerField(help_text=_("Open deals in the scope."))
    total = FiguresSerializer()
    by = serializers.ChoiceField(choices=SLICES, allow_null=True)
    groups = GroupFiguresSerializer(many=True)


class ForecastRunSerializer(serializers.ModelSerializer):
    deals = serializers.IntegerField(source="deal_count")

    class Meta:
        model = ForecastRun
        fields = ["id", "period", "period_kind", "period_start", "period_end", "as_of", "created_at", "model",
                  "seed", "draws", "deals", "source", "duration_ms"]
        read_only_fields = fields


class ForecastRunCreateSerializer(serializers.Serializer):
    period = serializers.CharField(
        max_length=16, required=False, allow_blank=True,
        help_text=_("2017-Q4, 2017-11, FY2017, or month / quarter / year (the one containing as_of). "
                    "Default: quarter."),
    )
    as_of = serializers.DateTimeField(
        required=False, allow_null=True, help_text=_("Forecast with what was known then. Default: now.")
    )
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_INT)
    draws = serializers.IntegerField(required=False, default=2000, min_value=100, max_value=10000)

    def validate_as_of(self, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and not (dt.datetime(1900, 1, 1, tzinfo=dt.UTC) <= value
                                      <= dt.datetime(2200, 1, 1, tzinfo=dt.UTC)):
            raise serializers.ValidationError(_("Expected a time between 1900 and 2200."))
        return value


class ForecastRunResultSerializer(serializers.Serializer):
    run = ForecastRunSerializer()
    forecast = PeriodForecastSerializer(help_text=_("The new run, for what the caller may see."))


class ModelCardSerializer(serializers.ModelSerializer):
    card = serializers.DictField(child=serializers.JSONField(), help_text=_(
        "Data sizes, split dates, AUC, Brier (and the base rate's), log loss, ECE, calibration table, "
        "feature importance, beats_base_rate and a verdict in words."))

    class Meta:
        model = WinModelVersion
        fields = ["id", "created_at", "cutoff", "kind", "seed", "is_active", "card"]
        read_only_fields = fields


class BacktestPeriodSerializer(serializers.Serializer):
    period = serializers.CharField()
    as_of = serializers.CharField(help_text=_("When the forecast was made (ISO 8601)."))
    model = serializers.CharField(help_text=_("The kind of win model trained at that time."))
    forecast = serializers.FloatField(help_text=_("Expected value."))
    p10 = serializers.FloatField()
    p50 = serializers.FloatField()
    p90 = serializers.FloatField()
    closed = serializers.FloatField()
    open_expected = serializers.FloatField()
    new_expected = serializers.FloatField()
    actual = serializers.FloatField(help_text=_("What was won in the period."))
    error_pct = serializers.FloatField(allow_null=True, help_text=_("(forecast − actual) / actual, a fraction."))
    inside = serializers.BooleanField(help_text=_("The actual lay inside P10–P90."))
    weighted_pipeline = serializers.FloatField(help_text=_("Baseline: Σ amount × stage probability + closed."))
    seasonal_naive = serializers.FloatField(help_text=_("Baseline: what was won in seasonal_naive_from."))
    seasonal_naive_from = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField(), required=False,
                                  help_text=_("What the forecast's range rests on, and any caveats."))


class ErrorFiguresSerializer(serializers.Serializer):
    mape = serializers.FloatField(allow_null=True, help_text=_("Mean |error| / actual, a fraction."))
    bias = serializers.FloatField(allow_null=True, help_text=_("Mean signed error / actual, a fraction."))


class RevcastErrorFiguresSerializer(ErrorFiguresSerializer):
    coverage = serializers.FloatField(allow_null=True, help_text=_("Share of periods with the actual in P10–P90."))


class BacktestSummarySerializer(serializers.Serializer):
    revcast = RevcastErrorFiguresSerializer()
    weighted_pipeline = ErrorFiguresSerializer()
    seasonal_naive = ErrorFiguresSerializer()
    periods = serializers.IntegerField()
    scored_periods = serializers.IntegerField(help_text=_("Periods with a non-zero actual (the ones scored)."))


class BacktestSerializer(serializers.ModelSerializer):
    periods = BacktestPeriodSerializer(source="result.periods", many=True)
    summary = BacktestSummarySerializer(source="result.summary")

    class Meta:
        model = BacktestRun
        fields = ["id", "created_at", "period_kind", "at", "start", "end", "seed", "periods", "summary"]
        read_only_fields = fields
