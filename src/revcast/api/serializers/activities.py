"""Activities: calls, meetings, visits, e-mails, follow-ups and tasks."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from revcast.activities.models import Activity
from revcast.api.serializers.common import OwnerField, VisibleRelatedField


class ActivitySerializer(serializers.ModelSerializer):
    owner = OwnerField(required=False)
    opportunity = VisibleRelatedField(
        "opportunities", allow_null=True, required=False,
        help_text=_("Id of the opportunity; its account is linked too when no account is given."),
    )
    account = VisibleRelatedField("accounts", allow_null=True, required=False, help_text=_("Id of the account."))
    contact = VisibleRelatedField("contacts", allow_null=True, required=False, help_text=_("Id of the contact."))
    occurred_at = serializers.DateTimeField(required=False, help_text=_("When it happened; default: now."))

    class Meta:
        model = Activity
        fields = [
            "id", "external_id", "type", "occurred_at", "owner", "opportunity", "account", "contact", "subject",
            "note", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
