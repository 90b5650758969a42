"""The home dashboard and the report pages (included by web/urls.py at "")."""

from django.urls import path

from revcast.web import dashboard, reports

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("reports/<str:name>/", reports.report, name="report"),
    path("reports/<str:name>/export/<str:fmt>/", reports.report_export, name="report-export"),
]
