"""Import history and the change journal (included by web/urls.py at "data/history/")."""

from django.urls import path

from revcast.web import data_history

urlpatterns = [
    path("", data_history.history_page, name="data-history"),
    path("changes/<int:pk>/", data_history.changeset_page, name="data-changeset"),
    path("runs/<int:pk>/rollback/", data_history.rollback_run, name="data-rollback"),
    path("changes/<int:pk>/undo/", data_history.undo, name="data-undo"),
]
