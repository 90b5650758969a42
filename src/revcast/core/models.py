"""Shared base models and governed reference data: picklists and custom field definitions."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class Picklist(models.Model):
    """A governed list of values (industry, loss reason, lead source...), labelled in English and Chinese."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    label_en = models.CharField(_("English label"), max_length=120)
    label_zh = models.CharField(_("Chinese label"), max_length=120, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("picklist")
        verbose_name_plural = _("picklists")

    def __str__(self) -> str:
        return self.key


class PicklistValue(models.Model):
    picklist = models.ForeignKey(Picklist, on_delete=models.CASCADE, related_name="values", verbose_name=_("picklist"))
    value = models.CharField(_("value"), max_length=120, help_text=_("Stored code, e.g. 'technology'."))
    label_en = models.CharField(_("English label"), max_length=200)
    label_zh = models.CharField(_("Chinese label"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["picklist", "order", "value"]
        verbose_name = _("picklist value")
        verbose_name_plural = _("picklist values")
        constraints = [models.UniqueConstraint(fields=["picklist", "value"], name="uniq_picklist_value")]

    def __str__(self) -> str:
        return f"{self.picklist.key}:{self.value}"


class CustomField(models.Model):
    """An admin-defined field on an object; values live in the object's ``custom`` JSON column."""

    class Object(models.TextChoices):
        OPPORTUNITY = "opportunity", _("Opportunity")
        ACCOUNT = "account", _("Account")

    class Type(models.TextChoices):
        PICKLIST = "picklist", _("Picklist")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        TEXT = "text", _("Text")

    object = models.CharField(_("object"), max_length=32, choices=Object.choices)
    key = models.SlugField(_("key"), max_length=64, help_text=_("Lower-case identifier, e.g. 'deal_type'."))
    label_en = models.CharField(_("English label"), max_length=120)
    label_zh = models.CharField(_("Chinese label"), max_length=120, blank=True)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    picklist = models.ForeignKey(Picklist, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("picklist"))
    required = models.BooleanField(_("required"), default=False)
    max_length = models.PositiveIntegerField(_("maximum length"), default=255)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["object", "key"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [models.UniqueConstraint(fields=["object", "key"], name="uniq_custom_field_key")]

    def __str__(self) -> str:
        return f"{self.object}.{self.key}"
