"""Shapes of the collaborative forecast: submissions, adjustments and the roll-up."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from revcast.forecasting.models import ForecastAdjustment, ForecastSubmission


def money(**kwargs: object) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


class SubmissionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ForecastSubmission
        fields = ["id", "user", "period", "commit", "best_case", "pipeline", "currency", "note", "submitted_at",
                  "source"]
        read_only_fields = fields


class SubmissionCreateSerializer(serializers.Serializer):
    period = serializers.CharField(help_text=_("2017-Q4, 2017-11 or FY2017 (fiscal calendar)."))
    commit = serializers.CharField(help_text=_("Closed plus what you commit to win in the period."))
    best_case = serializers.CharField(help_text=_("Commit plus the deals that may also close."))
    pipeline = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                     help_text=_("Open pipeline; default: what your deals say."))
    note = serializers.CharField(required=False, allow_blank=True, default="")


class AdjustmentSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    adjusted_by = serializers.CharField(source="adjusted_by.username", read_only=True)

    class Meta:
        model = ForecastAdjustment
        fields = ["id", "user", "adjusted_by", "period", "commit", "best_case", "note", "created_at", "source"]
        read_only_fields = fields


class AdjustmentCreateSerializer(serializers.Serializer):
    period = serializers.CharField()
    user = serializers.CharField(help_text=_("Username of the person whose number you adjust (yourself: your roll-up)."))
    commit = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    best_case = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    note = serializers.CharField(help_text=_("Why: required."))


class RangeSerializer(serializers.Serializer):
    p10 = money()
    p50 = money()
    p90 = money()
    expected = money()
    run = serializers.IntegerField()
    as_of = serializers.DateTimeField()


class RollupSerializer(serializers.Serializer):
    """One node: a person with everyone below them (``user`` null: the company)."""

    user = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    period = serializers.CharField()
    commit = money(help_text=_("With the adjustments you may see applied."))
    best_case = money()
    pipeline = money()
    closed = money(help_text=_("Won in the period."))
    weighted = money(help_text=_("Open deals in the period × their probability."))
    quota = money(allow_null=True)
    quota_members = money(allow_null=True, help_text=_("Sum of the direct reports' quotas."))
    ai = RangeSerializer(allow_null=True)
    submitted = serializers.BooleanField(allow_null=True)
    missing = serializers.ListField(child=serializers.CharField(), help_text=_("Who has not submitted (subtree)."))
    computed = serializers.DictField(help_text=_("Commit and best case before any adjustment of this node."))
    adjusted = serializers.DictField(allow_null=True, help_text=_("The adjustment applied to this node, per field."))
    own = serializers.DictField(allow_null=True, help_text=_("The person's own call: submission or deals."))
    children = serializers.ListField(child=serializers.DictField(), help_text=_("Nodes of the same shape."))
