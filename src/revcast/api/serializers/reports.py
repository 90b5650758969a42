"""The shapes of the reports endpoint (documentation of ``ReportResult.as_dict()``)."""

from __future__ import annotations

from rest_framework import serializers

from revcast.reporting.result import COLUMN_TYPES


class ReportColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=COLUMN_TYPES)
    label = serializers.CharField()


class ReportResultSerializer(serializers.Serializer):
    columns = ReportColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text="One list per row, values in the order of the columns (money as numbers, dates as text).",
    )
    meta = serializers.DictField(
        child=serializers.JSONField(),
        help_text="The report, its parameters (by, from, to, where, options), currency, totals, warnings.",
    )


class ReportInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    date_field = serializers.CharField(help_text="The date 'from', 'to' and time dimensions apply to.")
    default_by = serializers.ListField(child=serializers.CharField())
    options = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
