from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "revcast.web"
    label = "web"
