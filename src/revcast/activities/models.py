"""Activities: calls, meetings, visits, e-mails and follow-ups."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from revcast.core.models import TimeStampedModel


class Activity(TimeStampedModel):
    class Type(models.TextChoices):
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        VISIT = "visit", _("Visit")
        EMAIL = "email", _("E-mail")
        FOLLOW_UP = "follow_up", _("Follow-up")
        TASK = "task", _("Task")

    external_id = models.CharField(_("external id"), max_length=120, null=True, blank=True, unique=True)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activities", verbose_name=_("owner")
    )
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities",
        verbose_name=_("account"),
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", null=True, blank=True, on_delete=models.CASCADE, related_name="activities",
        verbose_name=_("opportunity"),
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities",
        verbose_name=_("contact"),
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [models.Index(fields=["opportunity", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.occurred_at:%Y-%m-%d}"
