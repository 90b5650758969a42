from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "revcast.pipeline"
    label = "pipeline"
