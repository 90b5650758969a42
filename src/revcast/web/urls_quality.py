"""The data quality page (included by web/urls.py at "data/quality/")."""

from django.urls import path

from revcast.web import data_quality

urlpatterns = [
    path("", data_quality.quality_page, name="data-quality"),
    path("offending.csv", data_quality.offending_csv, name="data-quality-offending"),
]
