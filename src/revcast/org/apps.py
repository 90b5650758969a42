from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "revcast.org"
    label = "org"
