"""Forecasts over the API: deal scores, a period forecast for the caller, new runs, the model card, backtests.

Everything comes from the stored snapshots (``forecasting.selectors``) through ``core.visibility``: deal scores
of deals the caller may not see are absent (404 by id), and a period forecast is re-simulated for the caller's
scope. Backtests compare company-wide totals, so only users who see everything may read them. Paths for the
collaborative forecast (``/api/forecast/submissions``, ``adjustments``, ``rollup``) are kept free for it.
"""

from __future__ import annotations

from typing import Any

import django_filters as df
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status, viewsets
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from revcast.api.serializers.forecasting import (
    BacktestSerializer,
    DealScoreSerializer,
    ForecastRunCreateSerializer,
    ForecastRunResultSerializer,
    ForecastRunSerializer,
    ModelCardSerializer,
    PeriodForecastSerializer,
)
from revcast.api.views.base import ApiViewMixin, IdFilter
from revcast.core import fiscal, visibility
from revcast.core import permissions as core_permissions
from revcast.forecasting import selectors, services
from revcast.forecasting.models import DealForecast, ForecastRun
from revcast.forecasting.selectors import SLICES, ForecastError

PERIOD = OpenApiParameter(
    "period", OpenApiTypes.STR, examples=[OpenApiExample("a quarter", value="2017-Q4"),
                                          OpenApiExample("a month", value="2017-11"),
                                          OpenApiExample("a fiscal year", value="FY2017")],
    description="The period: a fiscal quarter (2017-Q4), a month (2017-11) or a fiscal year (FY2017), in the "
    "configured fiscal calendar. Default: the period of the newest run.",
)


def bad_input(exc: Exception, field: str = "non_field_errors") -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [str(exc)]})


def period_param(request: Request) -> str | None:
    """The ``period`` query parameter as its canonical label (``2017-q4`` -> ``2017-Q4``, ``fy2017`` -> ``FY2017``);
    400 when unreadable."""
    text = (request.query_params.get("period") or "").strip() or None
    if text is None:
        return None
    try:
        return fiscal.parse_period(text).label
    except (ValueError, OverflowError) as exc:  # unreadable (PeriodError), or a year pandas cannot hold
        raise bad_input(exc, "period") from None


def run_or_404(period: str | None) -> ForecastRun:
    run = selectors.latest_run(period)
    if run is None:
        raise exceptions.NotFound(
            _("No forecast run for %(period)s yet: `revcast forecast run --period %(period)s` makes one.")
            % {"period": period} if period else _("No forecast run yet: `revcast forecast run` makes one.")
        )
    return run


class ScoreFilter(df.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id", help_text="An opportunity id.")
    owner = df.CharFilter(field_name="owner_username", help_text="Owner's username (at the as-of time).")

    class Meta:
        model = DealForecast
        fields: list[str] = []


class ForecastScoreViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Win scores of the deals the caller may see, from the newest run (of a period, with ``period``)."""

    queryset = DealForecast.objects.all()
    serializer_class = DealScoreSerializer
    filter_backends = [df.rest_framework.DjangoFilterBackend]
    filterset_class = ScoreFilter
    lookup_field = "opportunity"
    lookup_url_kwarg = "opportunity_id"
    lookup_value_regex = r"\d{1,18}"
    error_statuses = {"list": {400}, "retrieve": {400}}

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return DealForecast.objects.none()
        run = selectors.latest_run(period_param(self.request))
        if run is None:
            return DealForecast.objects.none()
        rows = selectors.visible_deal_forecasts(run, self.request.user)
        return (rows.select_related("opportunity", "run").defer(*selectors.HEAVY_RUN_FIELDS)
                .order_by("-expected", "opportunity_id"))

    @extend_schema(
        summary="List deal scores",
        description="The deals of the newest forecast run that you may see, highest expected value first.",
        parameters=[PERIOD],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Get a deal's score",
        description="The newest stored score of one opportunity (in a run of `period`, when given), with the "
        "factors behind its win probability. 404 when you may not see the deal or it was never scored.",
        parameters=[PERIOD, OpenApiParameter("opportunity_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        score = selectors.deal_score(int(kwargs["opportunity_id"]), request.user, period=period_param(request))
        if score is None:
            raise exceptions.NotFound()
        return Response(self.get_serializer(score).data)


class PeriodForecastView(ApiViewMixin, generics.GenericAPIView):
    """The forecast of a period for what the caller may see."""

    serializer_class = PeriodForecastSerializer
    error_statuses = {"get": {400, 404}}

    @extend_schema(
        summary="Forecast of a period",
        description="The newest run of the period, re-simulated for your scope (your deals and your "
        "subtree's; everything for admins): expected, P10/P50/P90, closed, open and new business, optionally "
        "by owner, team, region or product.",
        parameters=[PERIOD, OpenApiParameter("by", OpenApiTypes.STR, enum=list(SLICES),
                                             description="Break the forecast down by this dimension.")],
    )
    def get(self, request: Request) -> Response:
        run = run_or_404(period_param(request))
        try:
            view = selectors.scope_forecast(run, request.user, by=request.query_params.get("by") or None)
        except ForecastError as exc:
            raise bad_input(exc, "by") from None
        return Response(PeriodForecastSerializer(view).data)


class MayRunForecasts(BasePermission):
    message = _("Only managers and administrators may run forecasts.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return core_permissions.is_admin(user) or (
            core_permissions.can_write(user) and getattr(user, "role", None) == "manager"
        )


class ForecastRunView(ApiViewMixin, generics.GenericAPIView):
    """Run a forecast now (company-wide, stored) and get it back for the caller's scope."""

    serializer_class = ForecastRunCreateSerializer
    permission_classes = [IsAuthenticated, MayRunForecasts]

    @extend_schema(
        summary="Run a forecast",
        description="Forecasts the period as of `as_of` (default now) for the whole company and stores the "
        "snapshot; the answer shows it for your scope. Managers and administrators only. Takes seconds.",
        request=ForecastRunCreateSerializer,
        responses={201: ForecastRunResultSerializer},
        examples=[OpenApiExample("Q4 2017 as of 1 October", value={"period": "2017-Q4", "as_of":
                                 "2017-10-01T00:00:00Z"}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        serializer = ForecastRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        try:
            run = services.run_forecast(
                period=values.get("period") or None, as_of=values.get("as_of"), seed=values["seed"],
                draws=values["draws"], source="api", created_by=request.user,
            )
        except ForecastError as exc:
            raise bad_input(exc) from None
        body = {"run": ForecastRunSerializer(run).data,
                "forecast": PeriodForecastSerializer(selectors.scope_forecast(run, request.user)).data}
        return Response(body, status=status.HTTP_201_CREATED)


class ModelCardView(ApiViewMixin, generics.GenericAPIView):
    """The active win model's card: how good it is and why."""

    serializer_class = ModelCardSerializer
    error_statuses = {"get": {404}}

    @extend_schema(summary="The active win model", description="Its card: sizes, split, AUC, Brier against the "
                   "base rate, calibration, feature importance and a verdict. 404 before the first training.")
    def get(self, request: Request) -> Response:
        version = selectors.active_version()
        if version is None:
            raise exceptions.NotFound(_("No win model yet: `revcast forecast train` makes one."))
        return Response(ModelCardSerializer(version).data)


class SeesEverything(BasePermission):
    message = _("Backtests compare company-wide totals: only users who see every deal may read them.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return visibility.visible_owner_ids(request.user) is None


class LatestBacktestView(ApiViewMixin, generics.GenericAPIView):
    """The newest backtest of monthly or quarterly forecasts."""

    serializer_class = BacktestSerializer
    permission_classes = [IsAuthenticated, SeesEverything]
    error_statuses = {"get": {400, 403, 404}}

    @extend_schema(
        summary="The newest backtest",
        description="Per past period: the forecast (P10/P50/P90), what was won, the error, and two baselines; "
        "a summary of MAPE, bias and P10–P90 coverage. Users who see every deal only.",
        parameters=[OpenApiParameter("period", OpenApiTypes.STR, enum=["month", "quarter"],
                                     description="Monthly or quarterly forecasts. Default: the newest of either.")],
    )
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("period") or None
        if kind not in (None, "month", "quarter"):
            raise exceptions.ValidationError({"period": [_("Expected month or quarter.")]})
        backtest = selectors.latest_backtest(kind)
        if backtest is None:
            raise exceptions.NotFound(_("No backtest yet: `revcast forecast backtest --period quarter` makes one."))
        return Response(BacktestSerializer(backtest).data)
