"""The forecast pages (included by web/urls.py at "")."""

from django.urls import path

from revcast.web import collab, forecast

urlpatterns = [
    path("forecast/", forecast.forecast_page, name="forecast"),
    path("forecast/run/", forecast.forecast_run, name="forecast-run"),
    path("forecast/backtest/", forecast.backtest_page, name="forecast-backtest"),
    path("forecast/backtest/run/", forecast.backtest_run, name="forecast-backtest-run"),
    path("forecast/model/", forecast.model_page, name="forecast-model"),
    path("forecast/call/", collab.call_page, name="forecast-call"),
    path("forecast/call/submit/", collab.call_submit, name="forecast-call-submit"),
    path("forecast/call/adjust/", collab.call_adjust, name="forecast-call-adjust"),
    path("forecast/accuracy/", collab.accuracy_page, name="forecast-accuracy"),
    path("forecast/export/<str:what>/<str:fmt>/", collab.export_report, name="forecast-export"),
]
