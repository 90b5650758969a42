"""The pipeline-changes and slipped-deals pages (included by web/urls.py at "", before the generic report page
``reports/<name>/``, whose URLs they share: ``reverse("report", args=[name])`` leads to them)."""

from django.urls import path

from revcast.web import changes

urlpatterns = [
    path("reports/pipeline-changes/", changes.waterfall_page, name="report-pipeline-changes"),
    path("reports/pipeline-changes-deals/", changes.deals_page, name="report-pipeline-changes-deals"),
    path("reports/slipped-deals/", changes.slipped_page, name="report-slipped-deals"),
]
