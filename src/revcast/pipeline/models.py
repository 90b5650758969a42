"""Products, stages (as data), opportunities and their field history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from revcast.core.models import TimeStampedModel


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", _("Closed")
    OMITTED = "omitted", _("Omitted")


class Product(TimeStampedModel):
    external_id = models.CharField(_("external id"), max_length=120, null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=200, unique=True)
    series = models.CharField(_("series"), max_length=120, blank=True, help_text=_("Product series / family."))
    list_price = models.DecimalField(_("list price"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    class Type(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    name = models.CharField(_("name"), max_length=120, unique=True)
    label_zh = models.CharField(_("Chinese label"), max_length=120, blank=True)
    order = models.PositiveIntegerField(_("order"))
    type = models.CharField(_("type"), max_length=8, choices=Type.choices, default=Type.OPEN)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), help_text=_("Default win probability, percent.")
    )
    forecast_category = models.CharField(
        _("forecast category"), max_length=16, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    # Exit criteria: opportunity fields (or custom.<key>) that must be set before leaving this stage.
    required_fields = models.JSONField(
        _("required fields"), default=list, blank=True,
        help_text=_("Fields that must be filled in before a deal leaves this stage."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.type != self.Type.OPEN


class Opportunity(TimeStampedModel):
    external_id = models.CharField(_("external id"), max_length=120, null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    # owner and stage lead the (owner, stage) and (stage, closed_on) indexes below, which serve their lookups:
    # no single-column index of their own (one less to write per deal, and to rebuild after a bulk load).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("owner"),
        db_index=False,
    )
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities",
        verbose_name=_("account"),
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities",
        verbose_name=_("product"),
    )
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    created_on = models.DateField(
        _("created on"), null=True, blank=True, help_text=_("Business creation date of the deal.")
    )
    engaged_on = models.DateField(_("engaged on"), null=True, blank=True)
    expected_close_on = models.DateField(_("expected close date"), null=True, blank=True)
    closed_on = models.DateField(
        _("closed on"), null=True, blank=True, help_text=_("Actual close date (won or lost).")
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage"), db_index=False
    )
    # The furthest stage the deal has reached (the won stage once won). Kept by the service; the funnel reads it.
    reached_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("furthest stage reached")
    )
    probability = models.PositiveSmallIntegerField(_("probability (%)"), help_text=_("Win probability, percent."))
    forecast_category = models.CharField(_("forecast category"), max_length=16, choices=ForecastCategory.choices)
    loss_reason = models.CharField(
        _("loss reason"), max_length=120, blank=True, help_text=_("Code from the 'loss_reason' picklist.")
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    version = models.PositiveIntegerField(
        _("version"), default=1, help_text=_("Incremented on every change (optimistic locking).")
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["stage", "closed_on"]),
            models.Index(fields=["owner", "stage"]),
            models.Index(fields=["closed_on"]),
            models.Index(fields=["expected_close_on"]),
            models.Index(fields=["created_on"]),
            models.Index(fields=["engaged_on"]),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id or f"#{self.pk}"


class OpportunityFieldHistory(models.Model):
    """One change of a tracked field. Written by pipeline.services, never by signals."""

    TRACKED_FIELDS = ("stage", "amount", "expected_close_on", "owner", "forecast_category")

    # Led by the (opportunity, field, changed_at) index below: no single-column index of its own.
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="history", verbose_name=_("opportunity"), db_index=False
    )
    field = models.CharField(_("field"), max_length=64)
    old_value = models.TextField(_("old value"), null=True, blank=True)
    new_value = models.TextField(_("new value"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"), db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("changed by")
    )
    source = models.CharField(_("source"), max_length=64, blank=True, help_text=_("ui, api, import:<run id>, ..."))

    class Meta:
        ordering = ["opportunity", "changed_at", "id"]
        indexes = [models.Index(fields=["opportunity", "field", "changed_at"])]
        verbose_name = _("opportunity field change")
        verbose_name_plural = _("opportunity field history")

    def __str__(self) -> str:
        return f"{self.opportunity_id}.{self.field}: {self.old_value} -> {self.new_value}"
