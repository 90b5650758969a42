"""Accounts (customers) and contacts."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from revcast.api.serializers.common import (
    CustomValuesField,
    OwnedRecordMixin,
    OwnerField,
    PicklistField,
    VisibleRelatedField,
)
from revcast.api.serializers.pipeline import currency_code
from revcast.customers.models import Account, Contact


class AccountSerializer(OwnedRecordMixin, serializers.ModelSerializer):
    owner = OwnerField(required=False, allow_null=True)
    parent = VisibleRelatedField(
        "accounts", allow_null=True, required=False, help_text=_("Id of the parent account.")
    )
    industry = PicklistField("industry", required=False)
    size = PicklistField("account_size", required=False)
    annual_revenue = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True, required=False, min_value=Decimal(0)
    )
    revenue_currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, validators=[currency_code]
    )
    employees = serializers.IntegerField(min_value=0, max_value=2**31 - 1, allow_null=True, required=False)
    year_established = serializers.IntegerField(min_value=1, max_value=9999, allow_null=True, required=False)
    custom = CustomValuesField(required=False)

    class Meta:
        model = Account
        fields = [
            "id", "external_id", "name", "industry", "size", "annual_revenue", "revenue_currency", "employees",
            "year_established", "country", "location", "parent", "owner", "custom", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_parent(self, value: Account | None) -> Account | None:
        if value is not None and self.instance is not None:
            seen, node = set(), value
            while node is not None and node.pk not in seen:
                if node.pk == self.instance.pk:
                    raise serializers.ValidationError(_("An account cannot be its own parent."), code="cycle")
                seen.add(node.pk)
                node = node.parent
        return value


class ContactSerializer(OwnedRecordMixin, serializers.ModelSerializer):
    owner = OwnerField(required=False, allow_null=True)
    account = VisibleRelatedField("accounts", allow_null=True, required=False, help_text=_("Id of the account."))
    account_name = serializers.CharField(source="account.name", read_only=True, allow_null=True)

    class Meta:
        model = Contact
        fields = [
            "id", "external_id", "first_name", "last_name", "title", "email", "phone", "account", "account_name",
            "owner", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
