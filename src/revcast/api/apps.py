from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "revcast.api"
    label = "api"
