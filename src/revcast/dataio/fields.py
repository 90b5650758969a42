"""Turning one source value into a target field value, with a reason when it cannot be done."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.db import models

from revcast.core import numbers
from revcast.dataio.mapping import FieldSpec

TRANSFORMS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
    "strip": str.strip,
}


class FieldError(ValueError):
    """The value cannot go into the field; the message is the reason shown in the import report."""


def clean_text(spec: FieldSpec, raw: Any) -> Any:
    """Strip and transform text; empty strings and declared null values become None."""
    if isinstance(raw, str):
        raw = raw.strip()
        for name in spec.transform:
            raw = TRANSFORMS[name](raw)
        if raw == "" or raw in spec.null_values:
            return None
    elif raw is not None and str(raw) in spec.null_values:
        return None
    return raw


def parse_date(raw: Any, formats: Sequence[str]) -> dt.date:
    if isinstance(raw, dt.date):
        return raw.date() if isinstance(raw, dt.datetime) else raw
    return _parse_date_text(str(raw).strip(), tuple(formats))


@functools.lru_cache(maxsize=65536)
def _parse_date_text(text: str, formats: tuple[str, ...]) -> dt.date:
    # Source files repeat the same few thousand dates; parsing each once keeps strptime off the hot path.
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise FieldError(f"{text!r} is not a date in format {' or '.join(formats)}")


def parse_datetime(raw: Any, formats: list[str]) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        text = str(raw).strip()
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            day = parse_date(text, formats)
            value = dt.datetime.combine(day, dt.time())
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_decimal(raw: Any, places: int | None = None, multiply: Any = None) -> Decimal:
    try:
        return numbers.parse_decimal(raw, places, multiply)
    except ValueError as exc:
        raise FieldError(str(exc)) from None


def parse_int(raw: Any, multiply: Any = None) -> int:
    number = parse_decimal(raw, multiply=multiply)
    if number != number.to_integral_value():
        raise FieldError(f"{raw!r} is not a whole number")
    return int(number)


def parse_bool(raw: Any) -> bool:
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "y", "t", "是"):
        return True
    if text in ("0", "false", "no", "n", "f", "否"):
        return False
    raise FieldError(f"{raw!r} is not yes/no")


def convert(spec: FieldSpec, raw: Any, model_field: models.Field) -> Any:
    """Convert a non-empty raw value for a plain (non-reference, non-picklist) model field."""
    return converter(spec, model_field)(raw)


def converter(spec: FieldSpec, model_field: models.Field) -> Callable[[Any], Any]:
    """``convert`` for one field, its kind decided once: a source converts every row of a field alike."""
    if isinstance(model_field, models.DateTimeField):
        formats = list(spec.formats)
        return lambda raw: parse_datetime(raw, formats)
    if isinstance(model_field, models.DateField):
        date_formats = tuple(spec.formats)
        return lambda raw: parse_date(raw, date_formats)
    if isinstance(model_field, models.DecimalField):
        return functools.partial(_to_decimal, spec, model_field)
    if isinstance(model_field, models.IntegerField):
        return functools.partial(_to_integer, spec, model_field)
    if isinstance(model_field, models.BooleanField):
        return parse_bool
    return functools.partial(_to_text, model_field)


def _to_decimal(spec: FieldSpec, model_field: models.DecimalField, raw: Any) -> Decimal:
    return fit_digits(raw, parse_decimal(raw, model_field.decimal_places, spec.multiply), model_field)


def fit_digits(raw: Any, number: Decimal, model_field: models.DecimalField) -> Decimal:
    """``number`` (already at the field's decimal places), or FieldError when it has more digits than the field
    holds: compared with 10^(digits before the point) rather than by building its digit tuple."""
    if abs(number) >= _integer_limit(model_field.max_digits - model_field.decimal_places):
        raise FieldError(f"{raw!r} is too large (more than {model_field.max_digits} digits)")
    return number


@functools.lru_cache(maxsize=64)
def _integer_limit(digits: int) -> Decimal:
    """10 ** ``digits``: the least value with more than ``digits`` digits before the decimal point."""
    return Decimal(10) ** digits


def _to_integer(spec: FieldSpec, model_field: models.IntegerField, raw: Any) -> int:
    value = parse_int(raw, spec.multiply)
    if isinstance(model_field, models.PositiveIntegerField | models.PositiveSmallIntegerField) and value < 0:
        raise FieldError(f"{raw!r} must not be negative")
    return value


def _to_text(model_field: models.Field, raw: Any) -> Any:
    text = raw.isoformat() if isinstance(raw, dt.date) else str(raw)
    if model_field.choices:
        allowed = {str(k): k for k, _ in model_field.flatchoices}
        labels = {str(label).casefold(): k for k, label in model_field.flatchoices}
        if text in allowed:
            return allowed[text]
        if text.casefold() in labels:
            return labels[text.casefold()]
        raise FieldError(f"{text!r} is not one of {sorted(allowed)}")
    max_length = getattr(model_field, "max_length", None)
    if max_length and len(text) > max_length:
        raise FieldError(f"longer than {max_length} characters ({len(text)})")
    return text
