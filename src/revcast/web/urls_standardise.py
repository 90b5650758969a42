"""The standardisation pages (included by web/urls.py at "data/standardise/")."""

from django.urls import path

from revcast.web import data_standardise

urlpatterns = [
    path("", data_standardise.standardise_page, name="data-standardise"),
    path("apply/", data_standardise.standardise_apply, name="data-standardise-apply"),
    path("undo/<int:changeset_id>/", data_standardise.standardise_undo, name="data-standardise-undo"),
]
