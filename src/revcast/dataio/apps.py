from django.apps import AppConfig


class DataioConfig(AppConfig):
    name = "revcast.dataio"
    label = "dataio"
