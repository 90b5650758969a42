"""``known_on``: when an opportunity's mapped value became known, so its history does not state the outcome early.

Exports of closed deals often hold only final values: the won amount, the actual close date. Written as
they are, a new deal's history would show them from its creation, and anything rebuilt "as of" an earlier
date (forecast features, backtests) would see the outcome before it happened. A ``known_on`` entry says
from which date (a column of the row) the mapped value was known, and what the deal carried before it.
This module checks those entries against the target object and resolves them per row; the history
itself is written by ``pipeline.services`` (see ``OpportunityRow.known_on``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import models

from revcast.dataio.fields import FieldError, clean_text, convert, parse_date
from revcast.dataio.mapping import FieldSpec, MappingError, SourceSpec


def check(spec: SourceSpec, where: str, refs: dict[str, Any], model: type[models.Model]) -> None:
    """Check each entry's initial value against the object before any data is read: a reference must be
    a mapped reference field, a constant must convert to the field's type."""
    mapped = {fs.target for fs in spec.fields}
    for known in spec.known_on.values():
        loc = f"{where}.known_on.{known.target}.initial"
        if known.initial_from:
            ref_field = known.initial_from.split(".", 1)[0]
            if ref_field not in refs:
                raise MappingError(f"{loc}.from: {ref_field!r} is not a reference field of {spec.object}")
            if ref_field not in mapped:
                raise MappingError(f"{loc}.from: {ref_field!r} is not mapped in fields; map it first")
        if known.initial_value is not None:
            model_field = model._meta.get_field(known.target)
            try:
                known.initial = convert(
                    FieldSpec(target=known.target, formats=spec.date_formats), known.initial_value, model_field
                )
            except FieldError as exc:
                raise MappingError(f"{loc}.value: {exc}") from None


def resolve(
    spec: SourceSpec,
    raw_values: dict[str, Any],
    values: dict[str, Any],
    fail: Callable[[str, Any, str], None],
) -> dict[str, tuple[dt.date, Any]]:
    """Per target field with a date in its column: (the date, the initial value). An empty date means the
    mapped value was known from the deal's creation, so the field is left out; a bad date is an error on
    ``known_on.FIELD``."""
    result: dict[str, tuple[dt.date, Any]] = {}
    for known in spec.known_on.values():
        raw = clean_text(FieldSpec(target=""), raw_values.get(known.column))
        if raw is None:
            continue
        try:
            day = parse_date(raw, spec.date_formats)
        except FieldError as exc:
            fail(f"known_on.{known.target}", raw, str(exc))
            continue
        initial = known.initial
        if known.initial_from:
            ref_field, attribute = known.initial_from.split(".", 1)
            instance = values.get(ref_field)
            initial = getattr(instance, attribute, None) if instance is not None else None
        result[known.target] = (day, initial)
    return result


def note(spec: SourceSpec, target: str) -> str:
    """The run note for one entry (counted per row with a date)."""
    known = spec.known_on[target]
    return f"{spec.name}: {target} known on {known.column}; before it {known.describe_initial()}"
