"""The duplicate review pages (included by web/urls.py at "data/duplicates/")."""

from django.urls import path

from revcast.web import data_duplicates

urlpatterns = [
    path("", data_duplicates.duplicates_page, name="data-duplicates"),
    path("merge/", data_duplicates.duplicates_merge, name="data-duplicates-merge"),
    path("undo/<int:changeset_id>/", data_duplicates.duplicates_undo, name="data-duplicates-undo"),
]
