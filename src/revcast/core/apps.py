from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "revcast.core"
    label = "core"
