from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "revcast.reporting"
    label = "reporting"
