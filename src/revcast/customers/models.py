"""Accounts (customers) and their contacts."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from revcast.core.models import TimeStampedModel


class Account(TimeStampedModel):
    external_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    name = models.CharField(max_length=255, db_index=True)
    industry = models.CharField(max_length=120, blank=True, help_text="Code from the 'industry' picklist.")
    size = models.CharField(max_length=120, blank=True, help_text="Code from the 'account_size' picklist.")
    annual_revenue = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    revenue_currency = models.CharField(max_length=3, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    year_established = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=120, blank=True)
    location = models.CharField(max_length=255, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subsidiaries"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Contact(TimeStampedModel):
    external_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    first_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120)
    title = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
