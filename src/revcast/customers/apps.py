from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "revcast.customers"
    label = "customers"
