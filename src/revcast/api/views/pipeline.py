"""Opportunities (with optimistic concurrency and field history), products and stages."""

from __future__ import annotations

import re
from typing import Any

import django_filters as df
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import filters, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from revcast.api import permissions, services
from revcast.api.errors import Conflict, PreconditionFailed, PreconditionRequired
from revcast.api.serializers.pipeline import (
    OpportunityHistorySerializer,
    OpportunitySerializer,
    ProductSerializer,
    StageSerializer,
)
from revcast.api.views.base import ApiViewMixin, SalesRecordViewSet, StableOrderingFilter, crud_summaries
from revcast.pipeline import services as pipeline_services
from revcast.pipeline.filters import OpportunityFilter
from revcast.pipeline.models import Opportunity, Product, Stage

ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,10})"?\s*$')

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The version you read, as its ETag: `"7"`. Either this or `version` in the body is required; '
    "a stale one gets 412 and changes nothing.",
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description='The opportunity\'s version, quoted: `"7"`. Send it back as If-Match to update.',
)


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_versions(header: str) -> list[int] | None:
    """The versions an If-Match header names (``"7"``, ``W/"7"``, ``"6", "7"``); None when it names none."""
    versions = []
    for part in header.split(","):
        match = ETAG.match(part)
        if match:
            versions.append(int(match.group(1)))
    return versions or None


@extend_schema_view(
    **crud_summaries(
        "an opportunity",
        "opportunities",
        delete="admins only",
        example={"name": "Acme expansion", "account": 1, "product": "GTX Pro", "amount": "4821.00",
                 "stage": "Prospecting", "expected_close_on": "2018-03-31"},
        list=extend_schema(
            summary="List opportunities",
            description="The opportunities you may see. The filters are the web list's; `custom.KEY=VALUE` "
            "filters on a custom field too.",
        ),
        retrieve=extend_schema(summary="Get an opportunity", parameters=[ETAG_HEADER]),
        update=extend_schema(summary="Replace an opportunity", parameters=[IF_MATCH, ETAG_HEADER]),
        partial_update=extend_schema(
            summary="Change an opportunity",
            parameters=[IF_MATCH, ETAG_HEADER],
            examples=[
                OpenApiExample(
                    "Move to the next stage", value={"stage": "Engaging", "version": 1}, request_only=True
                )
            ],
        ),
    )
)
class OpportunityViewSet(SalesRecordViewSet):
    """Opportunities. Updates need the version read (If-Match or ``version``): optimistic concurrency."""

    queryset = Opportunity.objects.all()
    serializer_class = OpportunitySerializer
    permission_classes = [IsAuthenticated, permissions.SalesRecordPermission]
    visibility_scope = "opportunities"
    related = ("owner", "account", "product", "stage", "reached_stage")
    filterset_class = OpportunityFilter
    search_fields = ["name", "external_id", "account__name", "owner__username", "product__name"]
    ordering_fields = ["amount", "closed_on", "expected_close_on", "created_on", "id"]
    ordering = ["-id"]
    error_statuses = {"update": {409, 412, 428}, "partial_update": {409, 412, 428}}
    may_delete = staticmethod(permissions.may_delete_opportunity)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        opp = self.get_object()
        return Response(self.get_serializer(opp).data, headers={"ETag": etag(opp.version)})

    def perform_create(self, serializer: OpportunitySerializer) -> None:
        values = dict(serializer.validated_data)
        values.pop("version", None)
        values.setdefault("owner", self.request.user)
        serializer.instance = pipeline_services.create_opportunity(
            changed_by=self.request.user, source="api", **values
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        opp = self.get_object()
        header = request.headers.get("If-Match")
        if header is not None:
            versions = if_match_versions(header)
            if versions is None:
                if header.strip() == "*":
                    raise PreconditionRequired(_("If-Match: * names no version; send the version you read."))
                raise PreconditionFailed(_("If-Match names no version of this opportunity."))
            expected = opp.version if opp.version in versions else versions[0]
        elif not isinstance(request.data, dict) or "version" not in request.data:
            raise PreconditionRequired()
        serializer = self.get_serializer(opp, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        body_version = values.pop("version", None)
        if header is None:
            expected = body_version
        try:
            opp = pipeline_services.update_opportunity(
                opp, changed_by=request.user, source="api", expected_version=expected, **values
            )
        except pipeline_services.StaleVersion:
            current = Opportunity.objects.values_list("version", flat=True).get(pk=opp.pk)
            detail = _("The opportunity changed since you read it: it is at version %(current)s, not %(yours)s.")
            detail = detail % {"current": current, "yours": expected}
            if header is not None:
                raise PreconditionFailed(detail) from None
            raise Conflict(detail, code="stale_version") from None
        opp = Opportunity.objects.select_related(*self.related).get(pk=opp.pk)
        return Response(self.get_serializer(opp).data, headers={"ETag": etag(opp.version)})

    @extend_schema(
        summary="Field history of an opportunity",
        description="Every change of stage, amount, expected close date, owner and forecast category, oldest "
        "first.",
        responses={200: OpportunityHistorySerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request: Request, pk: str | None = None) -> Response:
        opp = self.get_object()
        rows = opp.history.select_related("changed_by").order_by("changed_at", "id")
        return Response(OpportunityHistorySerializer(rows, many=True).data)


class ProductFilter(df.FilterSet):
    series = df.CharFilter(field_name="series")
    active = df.BooleanFilter(field_name="active")

    class Meta:
        model = Product
        fields: list[str] = []


class StageFilter(df.FilterSet):
    type = df.ChoiceFilter(choices=Stage.Type.choices)
    active = df.BooleanFilter(field_name="active")

    class Meta:
        model = Stage
        fields: list[str] = []


class ReferenceDataViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Reference data everyone reads and admins change: products and stages."""

    permission_classes = [IsAuthenticated, permissions.ReferenceDataPermission]
    filter_backends = [df.rest_framework.DjangoFilterBackend, filters.SearchFilter, StableOrderingFilter]
    save: Any

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = self.save(self.queryset.model(), **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = self.save(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Any) -> None:
        services.delete_record(instance)


@extend_schema_view(
    **crud_summaries(
        "a product",
        "products",
        delete="admins; not while deals use it",
        example={"name": "GTX Ultra", "series": "GTX", "list_price": "9999.00"},
    )
)
class ProductViewSet(ReferenceDataViewSet):
    """Products (admin writes). A product used by an opportunity cannot be deleted: deactivate it."""

    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["name", "series"]
    ordering_fields = ["name", "list_price", "id"]
    ordering = ["name"]
    save = staticmethod(pipeline_services.save_product)


@extend_schema_view(
    **crud_summaries(
        "a stage",
        "stages",
        delete="admins; not while deals use it",
        example={"name": "Negotiation", "order": 30, "type": "open", "probability": 70,
                 "forecast_category": "commit", "required_fields": ["amount", "account"]},
    )
)
class StageViewSet(ReferenceDataViewSet):
    """Stages (admin writes). A stage that deals are or were in cannot be deleted: deactivate it."""

    queryset = Stage.objects.all()
    serializer_class = StageSerializer
    filterset_class = StageFilter
    search_fields = ["name", "label_zh"]
    ordering_fields = ["order", "name", "id"]
    ordering = ["order"]
    save = staticmethod(pipeline_services.save_stage)

