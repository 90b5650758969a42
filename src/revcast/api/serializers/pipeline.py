"""Opportunities, their field history, products and stages."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from revcast.api.serializers.common import (
    MAX_INT,
    CustomValuesField,
    NameRelatedField,
    OwnerField,
    PicklistField,
    VisibleRelatedField,
)
from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Product, Stage

currency_code = RegexValidator(r"^[A-Z]{3}$", _("A three-letter currency code, e.g. USD."))


class OpportunitySerializer(serializers.ModelSerializer):
    owner = OwnerField(required=False)
    account = VisibleRelatedField(
        "accounts", allow_null=True, required=False, help_text=_("Id of the account (customer).")
    )
    account_name = serializers.CharField(source="account.name", read_only=True, allow_null=True)
    product = NameRelatedField(
        slug_field="name", queryset=Product.objects.all(), allow_null=True, required=False,
        help_text=_("Product name."),
    )
    stage = NameRelatedField(slug_field="name", queryset=Stage.objects.all(), help_text=_("Stage name."))
    reached_stage = serializers.SlugRelatedField(
        slug_field="name", read_only=True, help_text=_("The furthest stage the deal has reached.")
    )
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=2, allow_null=True, required=False, min_value=Decimal(0)
    )
    currency = serializers.CharField(max_length=3, required=False, validators=[currency_code])
    probability = serializers.IntegerField(
        min_value=0, max_value=100, required=False, help_text=_("Percent; defaults to the stage's.")
    )
    loss_reason = PicklistField("loss_reason", required=False)
    custom = CustomValuesField(required=False)
    version = serializers.IntegerField(
        min_value=1,
        max_value=MAX_INT,
        required=False,
        help_text=_(
            "Incremented on every change. On update, send the version you read (or an If-Match header)."
        ),
    )

    class Meta:
        model = Opportunity
        fields = [
            "id", "external_id", "name", "owner", "account", "account_name", "product", "amount", "currency",
            "stage", "reached_stage", "probability", "forecast_category", "loss_reason", "created_on",
            "engaged_on", "expected_close_on", "closed_on", "custom", "version", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"forecast_category": {"required": False}}


class OpportunityHistorySerializer(serializers.ModelSerializer):
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = OpportunityFieldHistory
        fields = ["id", "field", "old_value", "new_value", "changed_at", "changed_by", "source"]
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer):
    list_price = serializers.DecimalField(
        max_digits=18, decimal_places=2, allow_null=True, required=False, min_value=Decimal(0)
    )
    currency = serializers.CharField(max_length=3, required=False, validators=[currency_code])

    class Meta:
        model = Product
        fields = ["id", "external_id", "name", "series", "list_price", "currency", "active", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


# Fields a stage may require before a deal leaves it (exit criteria), besides custom.KEY.
EXIT_FIELDS = (
    "name", "account", "product", "amount", "expected_close_on", "engaged_on", "loss_reason", "forecast_category",
)


class StageSerializer(serializers.ModelSerializer):
    probability = serializers.IntegerField(min_value=0, max_value=100)
    order = serializers.IntegerField(min_value=0, max_value=MAX_INT)
    required_fields = serializers.ListField(
        child=serializers.CharField(max_length=80),
        required=False,
        help_text=_("Exit criteria: fields a deal must have to leave this stage (%(fields)s, custom.KEY).")
        % {"fields": ", ".join(EXIT_FIELDS)},
    )

    class Meta:
        model = Stage
        fields = ["id", "name", "label_zh", "order", "type", "probability", "forecast_category",
                  "required_fields", "active"]
        read_only_fields = ["id"]

    def validate_required_fields(self, value: list[str]) -> list[str]:
        from revcast.core.models import CustomField

        custom = set(CustomField.objects.filter(object="opportunity").values_list("key", flat=True))
        bad = [
            name for name in value
            if name not in EXIT_FIELDS and not (name.startswith("custom.") and name[7:] in custom)
        ]
        if bad:
            raise serializers.ValidationError(
                _("Not a field a stage can require: %(names)s.") % {"names": ", ".join(bad)}, code="invalid"
            )
        return list(dict.fromkeys(value))
