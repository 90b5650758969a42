"""The error body, documented once as the ``Error`` component."""

from __future__ import annotations

from rest_framework import serializers


class FieldErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    code = serializers.CharField()


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status code.")
    code = serializers.CharField(help_text="A stable machine-readable code, e.g. invalid, not_found.")
    message = serializers.CharField(help_text="A human-readable summary.")
    fields = serializers.DictField(
        child=FieldErrorSerializer(many=True),
        required=False,
        help_text="Validation errors only: messages by field (nested fields joined with dots; "
        "errors about the whole record under non_field_errors).",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
