"""Forms of the opportunity screens: the create/edit form and the list's filter form.

The edit form never writes: it validates and hands the view the values for ``pipeline.services``
(``create_values`` / ``update_changes``), which make the write, keep the history and check the version.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from revcast.core import customfields, picklists, visibility
from revcast.core import permissions as perms
from revcast.core.models import CustomField, PicklistValue
from revcast.customers.models import Account
from revcast.org.models import Region, User
from revcast.pipeline.models import ForecastCategory, Opportunity, Product, Stage
from revcast.pipeline.services import default_forecast_category, missing_exit_fields

# Translatable labels for the model fields whose verbose name is not (yet) marked for translation.
FIELD_LABELS = {
    "name": _("Name"),
    "external_id": _("External id"),
    "owner": _("Owner"),
    "account": _("Account"),
    "product": _("Product"),
    "amount": _("Amount"),
    "currency": _("Currency"),
    "created_on": _("Created on"),
    "engaged_on": _("Engaged on"),
    "expected_close_on": _("Expected close date"),
    "closed_on": _("Closed on"),
    "stage": _("Stage"),
    "reached_stage": _("Furthest stage reached"),
    "probability": _("Probability (%)"),
    "forecast_category": _("Forecast category"),
    "loss_reason": _("Loss reason"),
    "version": _("Version"),
}

CUSTOM_PREFIX = "custom_"
CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def field_label(name: str, model: Any = Opportunity) -> str:
    """The label of a model field: its verbose name when translatable, else our translatable label."""
    verbose = model._meta.get_field(name).verbose_name
    if isinstance(verbose, Promise):
        return capfirst(verbose)
    return capfirst(FIELD_LABELS.get(name, verbose))


def custom_field_label(definition: CustomField) -> str:
    from django.utils import translation

    if (translation.get_language() or "").startswith("zh") and definition.label_zh:
        return definition.label_zh
    return definition.label_en


def picklist_label(value: PicklistValue) -> str:
    from django.utils import translation

    if (translation.get_language() or "").startswith("zh") and value.label_zh:
        return value.label_zh
    return value.label_en


def field_message(label: Any, message: Any) -> str:
    """"Field: message", punctuated for the active language (a full-width colon in Chinese)."""
    return str(_("%(field)s: %(message)s") % {"field": label, "message": message})


def exit_criteria_message(stage: Stage) -> str:
    from revcast.activities.selectors import stage_label

    return str(_("Required to leave stage %(stage)s.") % {"stage": stage_label(stage)})


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.username})" if full else obj.username


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        from revcast.activities.selectors import stage_label

        return stage_label(obj)


def _style(form: forms.Form) -> None:
    """Bootstrap classes on every widget (large touch targets are added by the template's CSS)."""
    for bound in form:
        widget = bound.field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()


class OpportunityForm(forms.Form):
    """Create or edit one opportunity. Saves go through pipeline.services (see the view)."""

    name = forms.CharField(max_length=255, required=False)
    account = forms.ModelChoiceField(queryset=Account.objects.none(), required=False)
    product = forms.ModelChoiceField(queryset=Product.objects.none(), required=False)
    owner = UserChoiceField(queryset=User.objects.none())
    amount = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=Decimal(0), required=False,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    currency = forms.CharField(
        max_length=3, widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 3})
    )
    expected_close_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    stage = StageChoiceField(queryset=Stage.objects.none())
    probability = forms.IntegerField(
        min_value=0, max_value=100, required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    forecast_category = forms.ChoiceField(required=False)
    loss_reason = forms.ChoiceField(required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, instance: Opportunity | None = None, **kwargs: Any) -> None:
        self.user = user
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self._initial_from(instance)
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name in FIELD_LABELS:
                field.label = field_label(name)
        self.fields["account"].queryset = Account.objects.only("id", "name").order_by("name", "pk")
        products = Product.objects.filter(active=True)
        if instance is not None and instance.product_id:
            products = Product.objects.filter(active=True) | Product.objects.filter(pk=instance.product_id)
        self.fields["product"].queryset = products.order_by("name")
        self.fields["owner"].queryset = self._owner_choices()
        stages = Stage.objects.filter(active=True)
        if instance is not None:
            stages = stages | Stage.objects.filter(pk=instance.stage_id)
        self.fields["stage"].queryset = stages.order_by("order")
        self.stages = list(self.fields["stage"].queryset)
        self.fields["forecast_category"].choices = [("", _("Stage default")), *ForecastCategory.choices]
        self.fields["forecast_category"].help_text = _("Leave empty to use the stage's default.")
        from revcast.activities.selectors import stage_label

        defaults = ", ".join(f"{stage_label(s)} {s.probability} %" for s in self.stages)
        self.fields["probability"].help_text = _("Leave empty to use the stage's default (%(defaults)s).") % {
            "defaults": defaults
        }
        self.fields["loss_reason"].choices = self._loss_reasons()
        self.custom_definitions = self._add_custom_fields()
        if instance is None:
            self.fields["owner"].initial = user.pk
            self.fields["currency"].initial = settings.REVCAST_DEFAULT_CURRENCY
            first_open = next((s for s in self.stages if s.type == Stage.Type.OPEN), None)
            self.fields["stage"].initial = first_open.pk if first_open else None
        _style(self)

    # ------------------------------------------------------------------ set-up

    @staticmethod
    def _initial_from(opp: Opportunity) -> dict[str, Any]:
        initial = {
            name: getattr(opp, name)
            for name in ("name", "amount", "currency", "expected_close_on", "probability", "forecast_category",
                         "loss_reason", "version")
        }
        initial.update(account=opp.account_id, product=opp.product_id, owner=opp.owner_id, stage=opp.stage_id)
        for key, value in (opp.custom or {}).items():
            initial[CUSTOM_PREFIX + key] = value
        return initial

    def _owner_choices(self) -> Any:
        allowed = perms.assignable_owner_ids(self.user)
        qs = User.objects.filter(is_active=True)
        if allowed is None:
            qs = qs.exclude(role__in=perms.READ_ONLY_ROLES)
        else:
            ids = set(allowed)
            if self.instance is not None:
                ids.add(self.instance.owner_id)  # keeping the current owner is always allowed
            qs = qs.filter(pk__in=ids)
        return qs.order_by("first_name", "last_name", "username")

    def _loss_reasons(self) -> list[tuple[str, str]]:
        values = picklists.values_of("loss_reason")
        choices = [("", "—")] + [(v.value, picklist_label(v)) for v in values]
        current = self.instance.loss_reason if self.instance is not None else ""
        if current and current not in {v.value for v in values}:
            choices.append((current, current))
        return choices

    def _add_custom_fields(self) -> dict[str, CustomField]:
        definitions = customfields.definitions("opportunity")
        for key, definition in sorted(definitions.items(), key=lambda kv: custom_field_label(kv[1]).casefold()):
            label = custom_field_label(definition)
            required = definition.required
            field: forms.Field
            if definition.type == CustomField.Type.PICKLIST:
                values = PicklistValue.objects.filter(picklist_id=definition.picklist_id, active=True)
                choices = [("", "—")] + [(v.value, picklist_label(v)) for v in values]
                stored = (self.instance.custom or {}).get(key) if self.instance is not None else None
                if stored not in (None, "") and stored not in {c for c, _ in choices}:
                    choices.append((stored, str(stored)))
                field = forms.ChoiceField(choices=choices, required=required, label=label)
            elif definition.type == CustomField.Type.NUMBER:
                field = forms.DecimalField(
                    required=required, label=label, widget=forms.NumberInput(attrs={"step": "any"})
                )
            elif definition.type == CustomField.Type.DATE:
                field = forms.DateField(
                    required=required, label=label, widget=forms.DateInput(attrs={"type": "date"})
                )
            else:
                field = forms.CharField(required=required, label=label, max_length=definition.max_length)
            self.fields[CUSTOM_PREFIX + key] = field
        return definitions

    # ------------------------------------------------------------------ validation

    @property
    def builtin_fields(self) -> list[forms.BoundField]:
        return [f for f in self if not f.name.startswith(CUSTOM_PREFIX) and not f.is_hidden]

    @property
    def custom_fields(self) -> list[forms.BoundField]:
        return [f for f in self if f.name.startswith(CUSTOM_PREFIX)]

    def clean_currency(self) -> str:
        code = (self.cleaned_data.get("currency") or "").strip().upper()
        if not CURRENCY_CODE.fullmatch(code):
            raise ValidationError(_("Enter a three-letter currency code, e.g. USD."), code="invalid")
        return code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.custom_values: dict[str, Any] = {}
        for key, definition in self.custom_definitions.items():
            name = CUSTOM_PREFIX + key
            if name not in cleaned:
                continue  # the field already has an error
            try:
                self.custom_values[key] = customfields.coerce(definition, cleaned[name])
            except ValidationError as exc:
                self.add_error(name, exc)
        if self.instance is not None and cleaned.get("stage") is not None:
            self._check_exit_criteria(cleaned)
        return cleaned

    def _check_exit_criteria(self, cleaned: dict[str, Any]) -> None:
        """The same exit-criteria check as the service, so the error appears on the fields themselves."""
        assert self.instance is not None
        leaving = self.instance.stage
        if cleaned["stage"].pk == leaving.pk:
            return
        probe = copy.copy(self.instance)
        for name in ("name", "account", "product", "owner", "amount", "currency", "expected_close_on",
                     "loss_reason"):
            if name in cleaned:
                setattr(probe, name, cleaned[name])
        probe.custom = {**(self.instance.custom or {}), **self.custom_values}
        for name in missing_exit_fields(probe, leaving):
            target = CUSTOM_PREFIX + name.removeprefix("custom.") if name.startswith("custom.") else name
            if target in self.fields:
                self.add_error(target, exit_criteria_message(leaving))
            else:
                self.add_error(None, field_message(name, exit_criteria_message(leaving)))

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = (widget.attrs.get("class", "") + " is-invalid").strip()

    def add_service_error(self, exc: ValidationError) -> None:
        """Put a ValidationError raised by pipeline.services on the matching form fields."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for name, errors in exc.message_dict.items():
            target = CUSTOM_PREFIX + name.removeprefix("custom.") if name.startswith("custom.") else name
            for message in errors:
                if target in self.fields and target not in ("version",):
                    self.add_error(target, message)
                else:
                    self.add_error(None, field_message(name, message))

    # ------------------------------------------------------------------ values for the services

    BUILTIN = ("name", "account", "product", "owner", "amount", "currency", "expected_close_on", "stage",
               "loss_reason")

    def create_values(self) -> dict[str, Any]:
        """Keyword arguments for ``pipeline.services.create_opportunity``."""
        cd = self.cleaned_data
        values = {name: cd[name] for name in self.BUILTIN}
        values["probability"] = cd.get("probability")
        values["forecast_category"] = cd.get("forecast_category") or ""
        custom = {k: v for k, v in self.custom_values.items() if v is not None}
        if custom:
            values["custom"] = custom
        return values

    def update_changes(self) -> dict[str, Any]:
        """Keyword arguments for ``pipeline.services.update_opportunity`` (without the version).

        When the stage changes, probability and forecast category follow the new stage's defaults unless
        the user changed them in the form; custom values are sent only when they changed, so a stored value
        of a since-deactivated picklist entry is not re-validated.
        """
        assert self.instance is not None
        cd = self.cleaned_data
        opp = self.instance
        changes = {name: cd[name] for name in self.BUILTIN}
        stage: Stage = cd["stage"]
        probability = cd.get("probability")
        category = cd.get("forecast_category") or ""
        if stage.pk != opp.stage_id:
            if probability is not None and probability != opp.probability:
                changes["probability"] = probability
            if category and category != opp.forecast_category:
                changes["forecast_category"] = category
        else:
            changes["probability"] = stage.probability if probability is None else probability
            changes["forecast_category"] = category or default_forecast_category(stage)
        stored = opp.custom or {}
        custom = {k: v for k, v in self.custom_values.items() if v != stored.get(k)}
        if custom:
            changes["custom"] = custom
        return changes


    def changes_anything(self, changes: dict[str, Any]) -> bool:
        """Would ``changes`` (from ``update_changes``) alter the stored deal?"""
        assert self.instance is not None
        for name, value in changes.items():
            if name == "custom" or getattr(self.instance, name) != value:
                return True
        return False


class OpportunityFilterForm(forms.Form):
    """The filter form above the opportunity list. Filtering itself is pipeline.filters.OpportunityFilter;
    this form only renders the controls, with choices limited to what the user may see."""

    q = forms.CharField(required=False, label=_("Search"), widget=forms.TextInput(attrs={"type": "search"}))
    stage = forms.ChoiceField(required=False, label=_("Stage"))
    status = forms.ChoiceField(
        required=False,
        label=_("Status"),
        choices=[
            ("", _("Any status")),
            ("open", _("Open")),
            ("won", _("Won")),
            ("lost", _("Lost")),
            ("closed", _("Closed (won or lost)")),
        ],
    )
    owner = forms.ChoiceField(required=False, label=_("Owner"))
    region = forms.ChoiceField(required=False, label=_("Region"))
    product = forms.ChoiceField(required=False, label=_("Product"))
    period = forms.CharField(
        required=False,
        label=_("Close period"),
        widget=forms.TextInput(attrs={"placeholder": _("2017-Q1, 2017-03 or 2017")}),
    )
    closed_from = forms.DateField(required=False, label=_("Closed from"), widget=forms.DateInput(attrs={"type": "date"}))
    closed_to = forms.DateField(required=False, label=_("Closed to"), widget=forms.DateInput(attrs={"type": "date"}))
    created_from = forms.DateField(
        required=False, label=_("Created from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(required=False, label=_("Created to"), widget=forms.DateInput(attrs={"type": "date"}))

    # Parameters this form shows as single-choice controls (multi-valued drill-downs become chips).
    CHOICE_FIELDS = ("stage", "status", "owner", "region", "product")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "f_%s")
        super().__init__(*args, **kwargs)
        from revcast.activities.selectors import stage_label

        self.fields["stage"].choices = [("", _("Any stage"))] + [
            (s.name, stage_label(s)) for s in Stage.objects.filter(active=True).order_by("order")
        ]
        owners = User.objects.all()
        visible = visibility.visible_owner_ids(user)
        if visible is not None:
            owners = owners.filter(pk__in=visible)
        self.fields["owner"].choices = [("", _("Any owner"))] + [
            (username, f"{first} {last}".strip() or username)
            for username, first, last in owners.order_by("first_name", "last_name", "username").values_list(
                "username", "first_name", "last_name"
            )
        ]
        self.fields["region"].choices = [("", _("Any region"))] + [
            (name, name) for name in Region.objects.order_by("name").values_list("name", flat=True)
        ]
        self.fields["product"].choices = [("", _("Any product"))] + [
            (name, name) for name in Product.objects.order_by("name").values_list("name", flat=True)
        ]
        for bound in self:
            widget = bound.field.widget
            css = "form-select form-select-sm" if isinstance(widget, forms.Select) else "form-control form-control-sm"
            widget.attrs["class"] = css

    def accepts(self, name: str, values: list[str]) -> bool:
        """Can this form show the parameter ``name`` with ``values`` as its own control?"""
        if name not in self.fields or len(values) != 1:
            return False
        if name in self.CHOICE_FIELDS:
            return values[0] in {str(c) for c, _ in self.fields[name].choices}
        return True


def custom_value_rows(object_name: str, stored: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """(label, shown value) for each active custom field on ``object_name``; picklist codes as labels."""
    definitions = list(CustomField.objects.filter(object=object_name, active=True).select_related("picklist"))
    stored = stored or {}
    picklist_ids = {d.picklist_id for d in definitions if d.type == CustomField.Type.PICKLIST and d.picklist_id}
    labels = (
        {(v.picklist_id, v.value): picklist_label(v) for v in PicklistValue.objects.filter(picklist_id__in=picklist_ids)}
        if picklist_ids
        else {}
    )
    rows = []
    for d in sorted(definitions, key=lambda d: custom_field_label(d).casefold()):
        value = stored.get(d.key)
        if d.type == CustomField.Type.PICKLIST and value is not None:
            value = labels.get((d.picklist_id, value), value)
        rows.append((custom_field_label(d), value))
    return rows
