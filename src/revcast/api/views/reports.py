"""Reports over the API: the same runners and the same result shape as the CLI and the web UI."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from revcast.api.serializers.reports import ReportInfoSerializer, ReportResultSerializer
from revcast.api.views.base import ApiViewMixin
from revcast.reporting.params import ReportError, ReportParams
from revcast.reporting.registry import REPORTS, run_report


def report_info(runner: Any) -> dict[str, Any]:
    return {
        "name": runner.name,
        "title": str(runner.title),
        "description": str(runner.description),
        "date_field": runner.date_field,
        "default_by": list(runner.default_by),
        "options": {key: list(values) for key, values in runner.options.items()},
    }


REPORT_PARAMETERS = [
    OpenApiParameter(
        "name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=sorted(REPORTS), description="The report."
    ),
    OpenApiParameter(
        "by",
        OpenApiTypes.STR,
        many=True,
        examples=[OpenApiExample("by owner and quarter", value=["owner", "quarter"])],
        description="Group by these dimensions (repeat, or separate with commas): owner, manager, team, "
        "region, product, series, stage, forecast_category, account, industry, country, loss_reason, currency, "
        "month, quarter, year, custom.KEY.",
    ),
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day of the period (the report's date)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day of the period (the report's date)."),
    OpenApiParameter(
        "where",
        OpenApiTypes.STR,
        many=True,
        examples=[OpenApiExample("East region", value=["region=East"])],
        description="A filter FIELD=VALUE on a dimension, e.g. region=East or quarter=2017-Q1; repeat a field "
        "for OR, different fields for AND; FIELD= keeps records without a value.",
    ),
    OpenApiParameter(
        "option", OpenApiTypes.STR, many=True, description="A report option NAME=VALUE, e.g. cohort=engaged."
    ),
]


class ReportViewSet(ApiViewMixin, viewsets.ViewSet):
    """Reports, run as the requesting user: they count only what that user may see."""

    lookup_field = "name"
    error_statuses = {"retrieve": {400}}  # parameters a report cannot take
    lookup_value_regex = "[^/]+"

    @extend_schema(summary="List reports", responses={200: ReportInfoSerializer(many=True)})
    def list(self, request: Request) -> Response:
        return Response([report_info(runner) for runner in REPORTS.values()])

    @extend_schema(
        summary="Run a report",
        description="Returns `{columns: [{name, type, label}], rows: [[...]], meta: {...}}`, the shape every "
        "revcast report has (the CLI's `--format json`).",
        parameters=REPORT_PARAMETERS,
        responses={200: ReportResultSerializer},
    )
    def retrieve(self, request: Request, name: str | None = None) -> Response:
        if name not in REPORTS:
            raise exceptions.NotFound(
                _("No report %(name)s; reports: %(names)s.") % {"name": repr(name), "names": ", ".join(REPORTS)}
            )
        query = request.query_params
        try:
            params = ReportParams.parse(
                by=query.getlist("by"),
                date_from=query.get("from"),
                date_to=query.get("to"),
                where=query.getlist("where"),
                options=query.getlist("option"),
                user=request.user,
            )
            result = run_report(name, params)
        except ReportError as exc:
            raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from None
        return Response(result.as_dict())
