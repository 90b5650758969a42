"""Validation and coercion of custom field values (stored in an object's ``custom`` JSON column)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError

from revcast.core.models import CustomField, PicklistValue
from revcast.core.numbers import parse_decimal
from revcast.core.picklists import match_picklist_value


def definitions(object_name: str) -> dict[str, CustomField]:
    return {
        f.key: f
        for f in CustomField.objects.filter(object=object_name, active=True).select_related("picklist")
    }


def coerce(definition: CustomField, raw: Any) -> Any:
    """Turn a raw value into the JSON value stored for ``definition``; raise ValidationError with a reason."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if definition.required:
            raise ValidationError("a value is required", code="required")
        return None
    kind = definition.type
    if kind == CustomField.Type.NUMBER:
        try:
            number = parse_decimal(raw)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomField.Type.DATE:
        if isinstance(raw, dt.datetime):
            return raw.date().isoformat()
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError as exc:
            raise ValidationError(f"{raw!r} is not a date (YYYY-MM-DD)", code="invalid") from exc
    if kind == CustomField.Type.PICKLIST:
        if definition.picklist_id is None:
            raise ValidationError("picklist field has no picklist configured", code="invalid")
        values = list(PicklistValue.objects.filter(picklist_id=definition.picklist_id, active=True))
        match = match_picklist_value(values, str(raw))
        if match is None:
            allowed = ", ".join(v.value for v in values)
            raise ValidationError(f"{raw!r} is not a value of picklist '{definition.picklist}' ({allowed})")
        return match
    text = str(raw).strip()
    if len(text) > definition.max_length:
        raise ValidationError(f"longer than {definition.max_length} characters", code="max_length")
    return text


def clean(object_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Validate a dict of custom values for ``object_name``; raises ValidationError keyed by field."""
    defs = definitions(object_name)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, raw in values.items():
        definition = defs.get(key)
        if definition is None:
            errors[f"custom.{key}"] = [f"no active custom field '{key}' on {object_name}"]
            continue
        try:
            cleaned[key] = coerce(definition, raw)
        except ValidationError as exc:
            errors[f"custom.{key}"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned
