"""Accounts (customers) and their contacts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from revcast.core.models import TimeStampedModel


class Account(TimeStampedModel):
    external_id = models.CharField(_("external id"), max_length=120, null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=255, db_index=True)
    industry = models.CharField(
        _("industry"), max_length=120, blank=True, help_text=_("Code from the 'industry' picklist.")
    )
    size = models.CharField(_("size"), max_length=120, blank=True, help_text=_("Code from the 'account_size' picklist."))
    annual_revenue = models.DecimalField(_("annual revenue"), max_digits=20, decimal_places=2, null=True, blank=True)
    revenue_currency = models.CharField(_("revenue currency"), max_length=3, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    year_established = models.PositiveIntegerField(_("year established"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=120, blank=True)
    location = models.CharField(_("location"), max_length=255, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subsidiaries",
        verbose_name=_("parent account"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts",
        verbose_name=_("owner"),
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return self.name


class Contact(TimeStampedModel):
    external_id = models.CharField(_("external id"), max_length=120, null=True, blank=True, unique=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts", verbose_name=_("account")
    )
    first_name = models.CharField(_("first name"), max_length=120, blank=True)
    last_name = models.CharField(_("last name"), max_length=120)
    title = models.CharField(_("title"), max_length=120, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts",
        verbose_name=_("owner"),
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
