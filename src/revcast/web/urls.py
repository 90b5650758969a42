from django.urls import include, path

urlpatterns = [
    path("", include("revcast.web.urls_changes")),  # before urls_dashboard: its reports/<name>/ takes any name
    path("", include("revcast.web.urls_dashboard")),
    path("", include("revcast.web.urls_records")),
    path("", include("revcast.web.urls_forecast")),
    path("data/history/", include("revcast.web.urls_history")),
    path("data/quality/", include("revcast.web.urls_quality")),
    path("data/standardise/", include("revcast.web.urls_standardise")),
    path("data/duplicates/", include("revcast.web.urls_duplicates")),
]
