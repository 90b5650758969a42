"""The collaborative forecast over the API: submissions, adjustments and roll-ups, with the UI's rules.

Visibility: a caller lists the submissions of the people they may see (``core.visibility``), the adjustments
that apply in their own view (made by themselves or by people below them), and roll-ups of their own subtree.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from revcast.api.serializers.collab import (
    AdjustmentCreateSerializer,
    AdjustmentSerializer,
    RollupSerializer,
    SubmissionCreateSerializer,
    SubmissionSerializer,
)
from revcast.api.views.base import ApiViewMixin
from revcast.api.views.forecasting import bad_input, period_param
from revcast.forecasting.collab import selectors, services
from revcast.forecasting.collab.rollup import RollupError, rollup
from revcast.forecasting.models import ForecastAdjustment, ForecastSubmission
from revcast.reporting.result import jsonable, money_text

PERIOD = OpenApiParameter("period", OpenApiTypes.STR, examples=[OpenApiExample("a quarter", value="2017-Q4")],
                          description="The period (2017-Q4, 2017-11, FY2017: fiscal calendar).")


def _period(request: Request, *, required: bool) -> str | None:
    label = period_param(request)
    if label is None and required:
        raise exceptions.ValidationError({"period": [_("This parameter is required.")]})
    return label


def _invalid(exc: services.CollabError | RollupError) -> exceptions.ValidationError:
    return bad_input(exc, getattr(exc, "field", "period"))


def _user(username: str, request: Request) -> Any:
    """A user the caller may see, by username; 404 otherwise (no hint that others exist)."""
    try:
        return selectors.visible_user(request.user, username)
    except LookupError:
        raise exceptions.NotFound(_("No user %(username)s that you may see.") % {"username": username}) from None


class SubmissionView(ApiViewMixin, generics.ListAPIView):
    """Your forecast call for a period, and the calls you may see."""

    serializer_class = SubmissionSerializer
    error_statuses = {"get": {400}, "post": {400}}

    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return ForecastSubmission.objects.none()
        return selectors.visible_submissions(self.request.user, _period(self.request, required=False))

    @extend_schema(summary="List forecast submissions",
                   description="Every submission (newest first) of the people you may see: yours as a rep, your "
                   "subtree's as a manager, everyone's for admins. Submissions are never changed.",
                   parameters=[PERIOD])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Submit your forecast", request=SubmissionCreateSerializer,
                   responses={201: SubmissionSerializer},
                   examples=[OpenApiExample("Q4", value={"period": "2017-Q4", "commit": "250000",
                                                         "best_case": "320000"}, request_only=True)])
    def post(self, request: Request) -> Response:
        serializer = SubmissionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            sub = services.submit(request.user, data["period"], commit=data["commit"], best_case=data["best_case"],
                                  pipeline=data.get("pipeline"), note=data.get("note", ""), source="api")
        except (services.CollabError, RollupError) as exc:
            raise _invalid(exc) from None
        except services.NotAllowed as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        return Response(SubmissionSerializer(sub).data, status=status.HTTP_201_CREATED)


class AdjustmentView(ApiViewMixin, generics.ListAPIView):
    """A manager's adjustment of a number below them (or of their own roll-up)."""

    serializer_class = AdjustmentSerializer
    error_statuses = {"get": {400}, "post": {400, 403, 404}}

    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return ForecastAdjustment.objects.none()
        return selectors.visible_adjustments(self.request.user, _period(self.request, required=False))

    @extend_schema(summary="List forecast adjustments",
                   description="The adjustments that apply in your view: made by you or by managers below you. "
                   "The people adjusted do not see them.", parameters=[PERIOD])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Adjust a forecast", request=AdjustmentCreateSerializer,
                   responses={201: AdjustmentSerializer},
                   description="By a manager above `user` (any depth), or by a manager for their own roll-up. "
                   "The original submission stays as it was.",
                   examples=[OpenApiExample("down by 20,000", value={"period": "2017-Q4", "user": "darcel.schlecht",
                                                                     "commit": "80000", "note": "Deal X slips"},
                                            request_only=True)])
    def post(self, request: Request) -> Response:
        serializer = AdjustmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        target = _user(data["user"], request)
        try:
            adj = services.adjust(request.user, target, data["period"], commit=data.get("commit"),
                                  best_case=data.get("best_case"), note=data["note"], source="api")
        except (services.CollabError, RollupError) as exc:
            raise _invalid(exc) from None
        except services.NotAllowed as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except LookupError:
            raise exceptions.NotFound() from None
        return Response(AdjustmentSerializer(adj).data, status=status.HTTP_201_CREATED)


class RollupView(ApiViewMixin, generics.GenericAPIView):
    """The roll-up of a subtree for a period, as you see it."""

    serializer_class = RollupSerializer
    error_statuses = {"get": {400, 404}}

    @extend_schema(
        summary="Forecast roll-up",
        description="Totals of `user`'s subtree (default: yours; the company for admins) with the adjustments you "
        "may see applied, beside the AI's P10/P50/P90 and the weighted pipeline; `children` has the same shape.",
        parameters=[PERIOD, OpenApiParameter("user", OpenApiTypes.STR, description="A username in your subtree.")],
    )
    def get(self, request: Request) -> Response:
        period = _period(request, required=True)
        assert period is not None
        username = (request.query_params.get("user") or "").strip()
        target = _user(username, request) if username else None
        try:
            node = rollup(request.user, period, user=target)
        except RollupError:
            raise exceptions.NotFound() from None
        return Response(jsonable(node, money_text))  # money as exact text, as the serializers write it
