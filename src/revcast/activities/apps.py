from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "revcast.activities"
    label = "activities"
