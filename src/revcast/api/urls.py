"""The REST API, mounted at /api/."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from revcast.api.errors import not_found
from revcast.api.views.activities import ActivityViewSet
from revcast.api.views.collab import AdjustmentView, RollupView, SubmissionView
from revcast.api.views.customers import AccountViewSet, ContactViewSet
from revcast.api.views.forecasting import (
    ForecastRunView,
    ForecastScoreViewSet,
    LatestBacktestView,
    ModelCardView,
    PeriodForecastView,
)
from revcast.api.views.pipeline import OpportunityViewSet, ProductViewSet, StageViewSet
from revcast.api.views.reports import ReportViewSet

router = SimpleRouter()
router.register("accounts", AccountViewSet)
router.register("contacts", ContactViewSet)
router.register("opportunities", OpportunityViewSet)
router.register("activities", ActivityViewSet)
router.register("products", ProductViewSet)
router.register("stages", StageViewSet)
router.register("reports", ReportViewSet, basename="report")
router.register("forecast/scores", ForecastScoreViewSet, basename="forecast-score")

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("forecast/periods/", PeriodForecastView.as_view(), name="forecast-periods"),
    path("forecast/runs/", ForecastRunView.as_view(), name="forecast-runs"),
    path("forecast/model/", ModelCardView.as_view(), name="forecast-model"),
    path("forecast/backtests/latest/", LatestBacktestView.as_view(), name="forecast-backtest-latest"),
    path("forecast/submissions/", SubmissionView.as_view(), name="forecast-submissions"),
    path("forecast/adjustments/", AdjustmentView.as_view(), name="forecast-adjustments"),
    path("forecast/rollup/", RollupView.as_view(), name="forecast-rollup"),
    path("", include(router.urls)),
    re_path(r"^.*$", not_found),  # any other /api/ address: 404 in the API's error shape
]
