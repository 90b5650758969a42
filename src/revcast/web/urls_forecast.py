"""The forecast pages (included by web/urls.py at "")."""

from django.urls import path

from revcast.web import forecast

urlpatterns = [
    path("forecast/", forecast.forecast_page, name="forecast"),
    path("forecast/run/", forecast.forecast_run, name="forecast-run"),
    path("forecast/backtest/", forecast.backtest_page, name="forecast-backtest"),
    path("forecast/backtest/run/", forecast.backtest_run, name="forecast-backtest-run"),
    path("forecast/model/", forecast.model_page, name="forecast-model"),
]
