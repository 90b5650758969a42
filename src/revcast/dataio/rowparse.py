"""Checking a mapping source against its object, and turning one source row into target field values.

Shared by the import and migration runner (which writes the values) and by the reconciliation (which
compares them with what is stored), so both see exactly the same transformations.
"""

from __future__ import annotations

import functools
import string
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from revcast.core.customfields import coerce as coerce_custom
from revcast.core.customfields import definitions as custom_definitions
from revcast.core.numbers import quantum
from revcast.core.picklists import match_picklist_value, values_of
from revcast.dataio import known_on
from revcast.dataio.fields import (
    FieldError,
    clean_text,
    convert,
    converter,
    fit_digits,
    parse_date,
    parse_decimal,
)
from revcast.dataio.mapping import FieldSpec, Mapping, MappingError, SourceSpec
from revcast.dataio.readers import SourceRow
from revcast.dataio.targets import LOOKUPS, TARGETS, Lookups, Target
from revcast.pipeline.models import Stage

# The field that holds the currency of an object's converted amounts.
CURRENCY_FIELDS = {"opportunity": "currency", "product": "currency", "account": "revenue_currency"}
_BLANK = FieldSpec(target="")


@dataclass
class Issue:
    object: str
    file: str
    row: int | None
    field: str
    value: str
    reason: str
    severity: str = "error"


@dataclass
class SourcePlan:
    spec: SourceSpec
    target: Target
    key: str
    model_fields: dict[str, Any]
    custom: dict[str, Any]
    currency_to: str | None = None  # the currency every converted amount of the source is in
    concrete: frozenset[str] = field(default_factory=frozenset)


def plan_source(spec: SourceSpec, mapping: Mapping) -> SourcePlan:
    """Check a source against the target object before reading any data."""
    where = f"{mapping.path}: sources.{spec.name}"
    target = TARGETS.get(spec.object)
    if target is None:
        raise MappingError(f"{where}: unknown object {spec.object!r}; known: {sorted(TARGETS)}")
    model_fields: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    custom_defs = custom_definitions(spec.object) if spec.object in ("account", "opportunity") else {}
    currency_to: set[str] = set()
    for fs in spec.fields:
        loc = f"{where}.fields.{fs.target}"
        if fs.target.startswith("custom."):
            key = fs.target.removeprefix("custom.")
            if key not in custom_defs:
                raise MappingError(f"{loc}: no active custom field {key!r} on {spec.object}; define it first")
            if fs.convert:
                raise MappingError(f"{loc}.convert: only money fields of the object can be converted")
            custom[fs.target] = custom_defs[key]
            continue
        if target.model is None:
            if fs.target not in target.plain_fields:
                raise MappingError(
                    f"{loc}: {spec.object} has no field {fs.target!r}; fields: {list(target.plain_fields)}"
                )
            if fs.convert:
                raise MappingError(f"{loc}.convert: only money fields of the object can be converted")
            continue
        if fs.target in target.excluded:
            raise MappingError(f"{loc}: {fs.target!r} is managed by revcast and cannot be imported")
        try:
            model_fields[fs.target] = target.model._meta.get_field(fs.target)
        except FieldDoesNotExist:
            names = sorted(
                f.name for f in target.model._meta.concrete_fields if f.name not in target.excluded
            )
            raise MappingError(f"{loc}: {spec.object} has no field {fs.target!r}; fields: {names}") from None
        ref = fs.ref or (target.refs.get(fs.target) or (None, None))[0]
        if fs.target in target.refs or fs.ref:
            ref_obj = ref or ""
            by = fs.by or target.refs.get(fs.target, ("", ""))[1]
            if ref_obj not in LOOKUPS or by not in LOOKUPS[ref_obj]:
                raise MappingError(f"{loc}: cannot look up {ref_obj!r} by {by!r}")
            fs.ref, fs.by = ref_obj, by
        if fs.fallback:
            ref_field = fs.fallback.source.split(".", 1)[0]
            if ref_field not in target.refs:
                raise MappingError(f"{loc}.fallback: {ref_field!r} is not a reference field of {spec.object}")
        if fs.convert:
            if not isinstance(model_fields[fs.target], models.DecimalField) or fs.ref:
                raise MappingError(f"{loc}.convert: only money fields of the object can be converted")
            currency_to.add(fs.convert.to)
    if len(currency_to) > 1:
        raise MappingError(f"{where}: converted fields must all convert to one currency, not {sorted(currency_to)}")
    to = next(iter(currency_to), None)
    if to is not None:
        currency_field = CURRENCY_FIELDS.get(spec.object)
        mapped = next((fs for fs in spec.fields if fs.target == currency_field), None)
        if mapped is not None and (mapped.value is None or str(mapped.value).upper() != to):
            raise MappingError(
                f"{where}.fields.{currency_field}: converted amounts are in {to}; leave {currency_field!r} "
                f"unmapped (it is set to {to}) or give it the value {to}"
            )
    for stage_name in spec.stage_dates:
        if spec.object != "opportunity":
            raise MappingError(f"{where}.stage_dates: only opportunities have stage dates")
        stages_in_mapping = {s["name"] for s in mapping.stages}
        if stage_name not in stages_in_mapping and not Stage.objects.filter(name=stage_name).exists():
            raise MappingError(f"{where}.stage_dates: no stage named {stage_name!r}")
    if spec.known_on and target.model is not None:
        known_on.check(spec, where, target.refs, target.model)
    key = spec.key or target.default_key or ""
    if key not in {fs.target for fs in spec.fields}:
        raise MappingError(f"{where}: the key field {key!r} is not mapped (set 'key:' or map it)")
    if spec.is_database and not spec.key_column:
        key_spec = next(fs for fs in spec.fields if fs.target == key)
        if not key_spec.column:
            raise MappingError(
                f"{where}: the key field {key!r} has no column to order the source by; set 'key_column'"
            )
    concrete = frozenset(f.name for f in target.model._meta.concrete_fields) if target.model else frozenset()
    return SourcePlan(
        spec=spec, target=target, key=key, model_fields=model_fields, custom=custom, currency_to=to,
        concrete=concrete,
    )


def key_column(plan: SourcePlan) -> str:
    """The source column a database source is ordered, paged and resumed by."""
    if plan.spec.key_column:
        return plan.spec.key_column
    column = next(fs.column for fs in plan.spec.fields if fs.target == plan.key)
    assert column is not None  # plan_source checked it
    return column


def empty_value(model_field: Any) -> Any:
    """An empty source cell: None, or "" for text columns that are blank-but-not-null (Django's convention)."""
    if (
        model_field is not None
        and not model_field.null
        and model_field.get_internal_type() in ("CharField", "TextField", "EmailField", "SlugField")
    ):
        return ""
    return None


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


@functools.lru_cache(maxsize=256)
def _template_parts(template: str) -> tuple[tuple[str, str | None], ...] | None:
    """(literal, column) pairs of a template of plain ``{column}`` fields; None when it formats or indexes."""
    parts = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (spec or conversion or not name or any(c in name for c in ".[")):
            return None
        parts.append((literal, name))
    return tuple(parts)


def render_template(template: str, values: dict[str, Any]) -> str:
    """``{first} {last}`` over a row: empty cells read as nothing, and the result's spaces are tidied."""
    parts = _template_parts(template)
    if parts is None:
        row = _Blank({k: ("" if v is None else str(v).strip()) for k, v in values.items()})
        text = string.Formatter().vformat(template, (), row)
    else:
        out = []
        for literal, name in parts:
            out.append(literal)
            if name is not None:
                v = values.get(name)
                out.append("" if v is None else str(v).strip())
        text = "".join(out)
    return " ".join(text.split())


def source_value(fs: FieldSpec, values: dict[str, Any]) -> Any:
    """The field's value before conversion: template, constant or cell; stripped, transformed, nulls dropped."""
    if fs.template is not None:
        raw: Any = render_template(fs.template, values)
    elif fs.value is not None:
        raw = fs.value
    else:
        raw = values.get(fs.column) if fs.column else None
    return clean_text(fs, raw)


class RowParser:
    """Converts rows of one run. Notes count the mapping's decisions; warnings go to ``issues``."""

    def __init__(self, mapping: Mapping, lookups: Lookups | None = None) -> None:
        self.mapping = mapping
        self.lookups = lookups or Lookups()
        self.notes: Counter[str] = Counter()
        self.issues: list[Issue] = []
        self._picklists: dict[str, list[Any]] = {}  # picklist key -> its values, read once per run
        self._notes: dict[tuple[Any, ...], str] = {}
        self._required_of: dict[str, tuple[str, ...]] = {}
        self._steps_of: dict[str, list[tuple[FieldSpec, str, Any, str | None]]] = {}

    def parse(
        self, plan: SourcePlan, file: str, row: SourceRow
    ) -> tuple[dict[str, Any], dict[str, Any], list[Issue]]:
        """(values, self references to link later, errors) of one row."""
        spec = plan.spec
        values: dict[str, Any] = {}
        self_refs: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        issues: list[Issue] = []

        def fail(fs_target: str, raw: Any, reason: str) -> None:
            issues.append(
                Issue(spec.object, file, row.line, fs_target, "" if raw is None else str(raw), reason)
            )

        cells = row.values
        for fs, kind, extra, column in self._steps(plan):
            if column is not None:  # one cell, nothing to transform: source_value's work inline
                raw = cells.get(column)
                if isinstance(raw, str):
                    raw = raw.strip() or None
            else:
                raw = source_value(fs, cells)
            if raw is not None and fs.map:
                if str(raw) in fs.map:
                    mapped = fs.map[str(raw)]
                    note = self._note("{0}: {1} {2!r} mapped to {3!r}", spec.name, fs.target, raw, mapped, type(raw))
                    self.notes[note] += 1
                    raw = mapped
                elif fs.unmapped == "reject":
                    fail(fs.target, raw, f"{raw!r} is not in the map of {fs.target} ({', '.join(fs.map)})")
                    continue
                elif fs.unmapped == "null":
                    self.notes[f"{spec.name}: {fs.target} values not in the map emptied"] += 1
                    raw = None
            if raw is None and fs.default is not None:
                raw = fs.default
            if raw is None:
                if kind == "custom":
                    custom[extra] = None
                else:
                    values[fs.target] = empty_value(plan.model_fields.get(fs.target))
                continue
            try:
                if kind == "convert":
                    values[fs.target] = extra(raw)
                elif kind == "ref":
                    # One match is the common case, read here; none or several go through resolve's reasons.
                    found = self.lookups.index(*extra).get(raw if raw.__class__ is str else str(raw))
                    values[fs.target] = (
                        found[0] if found is not None and len(found) == 1 else self.resolve(fs, raw, spec, file, row)
                    )
                elif kind == "currency":
                    values[fs.target] = self.convert_currency(plan, fs, raw, row)
                elif kind == "custom":
                    custom[extra] = coerce_custom(plan.custom[fs.target], raw)
                elif kind == "self":
                    self_refs[fs.target] = (fs, raw)
                elif kind == "picklist":
                    values[fs.target] = self.picklist(extra, raw)
                else:
                    values[fs.target] = str(raw)
            except (FieldError, ValidationError) as exc:
                reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                fail(fs.target, raw, reason)
        failed = {i.field for i in issues}
        for fs in spec.fields:
            if fs.fallback and values.get(fs.target) is None and fs.target not in failed:
                self.apply_fallback(fs, values, row, spec)
        for name in self._required(plan):
            value = values.get(name)
            empty = value is None or (isinstance(value, str) and not value)  # not ``in (None, "")``: Model.__eq__
            if empty and name not in failed and name not in self_refs:
                column = next((f.column for f in spec.fields if f.target == name), None)
                fail(
                    name,
                    "",
                    f"a value is required (column {column!r} is empty)" if column else "a value is required",
                )
        if custom:
            values["custom"] = {k: v for k, v in custom.items() if v is not None}
        if plan.currency_to is not None:
            values[CURRENCY_FIELDS[spec.object]] = plan.currency_to
        elif "currency" in plan.concrete and values.get("currency") is None:
            values["currency"] = self.mapping.defaults.get("currency", settings.REVCAST_DEFAULT_CURRENCY)
        if spec.stage_dates:
            dates = {}
            for stage_name, column in spec.stage_dates.items():
                raw = clean_text(_BLANK, row.values.get(column))
                if raw is None:
                    continue
                try:
                    dates[self.lookups.index("stage", "name")[stage_name][0]] = parse_date(
                        raw, spec.date_formats
                    )
                except FieldError as exc:
                    if f"stage_dates.{stage_name}" not in {i.field for i in issues}:
                        fail(f"stage_dates.{stage_name}", raw, str(exc))
            values["__stage_dates"] = dates
        if spec.known_on:
            values["__known_on"] = known_on.resolve(spec, row.values, values, fail)
            for name in values["__known_on"]:
                self.notes[known_on.note(spec, name)] += 1
        return values, self_refs, issues

    def warm(self, plan: SourcePlan) -> None:
        """Read now the indexes of existing records that rows of ``plan`` look up (forked loaders then share
        the parent's instead of each reading its own)."""
        for _fs, kind, extra, _column in self._steps(plan):
            if kind == "ref":
                self.lookups.index(*extra)
        if plan.spec.stage_dates:
            self.lookups.index("stage", "name")

    def _steps(self, plan: SourcePlan) -> list[tuple[FieldSpec, str, Any, str | None]]:
        """How each field of ``plan`` is read and converted, decided once per source rather than once per row:
        (field, kind, what the kind needs, the column when the value is one cell taken as it is, else None).
        Kinds: custom (its name), self (a reference to the source's own object, linked later), ref (the object and
        attribute it looks up), picklist (its key), str (objects without a model), currency, convert (the field's
        converter)."""
        steps = self._steps_of.get(plan.spec.name)
        if steps is None:
            steps = self._steps_of[plan.spec.name] = []
            target = plan.target
            for fs in plan.spec.fields:
                kind: tuple[str, Any]
                if fs.target.startswith("custom."):
                    kind = ("custom", fs.target.removeprefix("custom."))
                elif fs.ref:
                    kind = ("self" if fs.ref == plan.spec.object else "ref", (fs.ref, fs.by))
                elif fs.target in target.picklists:
                    kind = ("picklist", target.picklists[fs.target])
                elif target.model is None:
                    kind = ("str", None)
                elif fs.convert is not None:
                    kind = ("currency", None)
                else:
                    kind = ("convert", converter(fs, plan.model_fields[fs.target]))
                plain = fs.template is None and fs.value is None and not fs.transform and not fs.null_values
                steps.append((fs, *kind, fs.column if plain and fs.column else None))
        return steps

    def _required(self, plan: SourcePlan) -> tuple[str, ...]:
        """The fields a row of ``plan`` must have a value for (the target's, the key, the mapping's)."""
        names = self._required_of.get(plan.spec.name)
        if names is None:
            spec = plan.spec
            names = self._required_of[spec.name] = tuple(
                dict.fromkeys([*plan.target.required, plan.key, *(f.target for f in spec.fields if f.required)])
            )
        return names

    def convert_currency(self, plan: SourcePlan, fs: FieldSpec, raw: Any, row: SourceRow) -> Decimal:
        conv = fs.convert
        assert conv is not None
        model_field = plan.model_fields[fs.target]
        number = parse_decimal(raw, None, fs.multiply)
        currency = clean_text(_BLANK, row.values.get(conv.column))
        if currency is None:
            raise FieldError(f"no currency in column {conv.column!r} to convert {raw!r} from")
        currency = str(currency).upper()
        rate_raw = clean_text(_BLANK, row.values.get(conv.rate_column)) if conv.rate_column else None
        if rate_raw is not None:
            rate = parse_decimal(rate_raw)
            if rate <= 0:
                raise FieldError(f"rate {rate_raw!r} in column {conv.rate_column!r} is not positive")
            how = f"at the rate in {conv.rate_column}"
        elif currency == conv.to:
            rate, how = Decimal(1), ""
        elif currency in conv.rates:
            rate = conv.rates[currency]
            how = f"at {rate}"
        else:
            known = ", ".join(sorted(conv.rates)) or "none"
            where = f" and column {conv.rate_column!r} is empty" if conv.rate_column else ""
            raise FieldError(f"no rate for currency {currency!r} (rates: {known}){where}")
        result = fit_digits(
            raw, (number * rate).quantize(quantum(model_field.decimal_places), rounding=ROUND_HALF_UP), model_field
        )
        if currency != conv.to:
            note = self._note("{0}: {1} converted from {2} to {3} {4}", plan.spec.name, fs.target, currency, conv.to, how)
            self.notes[note] += 1
        return result

    def _note(self, template: str, *parts: Any) -> str:
        """``template`` formatted with ``parts``, once per distinct decision rather than once per row (``parts``
        may carry more than the template shows: a value's type, so 1 and "1" are noted apart)."""
        key = (template, *parts)
        text = self._notes.get(key)
        if text is None:
            text = self._notes[key] = template.format(*parts)
        return text

    def resolve(self, fs: FieldSpec, raw: Any, spec: SourceSpec, file: str, row: SourceRow) -> Any:
        assert fs.ref and fs.by
        found = self.lookups.index(fs.ref, fs.by).get(str(raw), [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise FieldError(f"{raw!r} matches {len(found)} {fs.ref} records by {fs.by}; it must be unique")
        if fs.on_missing == "null":
            self.issues.append(
                Issue(
                    spec.object,
                    file,
                    row.line,
                    fs.target,
                    str(raw),
                    f"matches no {fs.ref} by {fs.by}; loaded without {fs.target}",
                    "warning",
                )
            )
            return None
        raise FieldError(f"{raw!r} matches no {fs.ref} by {fs.by}")

    def picklist(self, key: str, raw: Any) -> str:
        values = self._picklists
        if key not in values:
            values[key] = values_of(key)
        match = match_picklist_value(values[key], str(raw))
        if match is None:
            allowed = ", ".join(v.value for v in values[key])
            raise FieldError(f"{raw!r} is not a value of picklist '{key}' ({allowed}); map it in the mapping")
        return match

    def apply_fallback(self, fs: FieldSpec, values: dict[str, Any], row: SourceRow, spec: SourceSpec) -> None:
        fb = fs.fallback
        assert fb is not None
        condition = ""
        if fb.when_column:
            actual = str(row.values.get(fb.when_column, "") or "").strip()
            if actual not in fb.when_in:
                return
            condition = f" when {fb.when_column} is {actual}"
        ref_field, attribute = fb.source.split(".", 1)
        instance = values.get(ref_field)
        derived = getattr(instance, attribute, None) if instance is not None else None
        if derived is None:
            return
        values[fs.target] = derived
        self.notes[f"{spec.name}: {fs.target} derived from {fb.source}{condition}"] += 1

    def key_of(self, plan: SourcePlan, row: SourceRow) -> Any:
        """The row's key value alone (no lookups, no notes): for linking self references on a second pass."""
        fs = next(f for f in plan.spec.fields if f.target == plan.key)
        raw = source_value(fs, row.values)
        if raw is not None and str(raw) in fs.map:
            raw = fs.map[str(raw)]
        if raw is None:
            raw = fs.default
        if raw is None:
            return None
        if plan.target.model is None or fs.target not in plan.model_fields:
            return str(raw)
        try:
            return convert(fs, raw, plan.model_fields[fs.target])
        except FieldError:
            return None

    def self_refs_of(self, plan: SourcePlan, row: SourceRow) -> dict[str, Any]:
        """The row's raw self references (an account's parent), as ``parse`` defers them."""
        refs: dict[str, Any] = {}
        for fs in plan.spec.fields:
            if fs.ref == plan.spec.object:
                raw = source_value(fs, row.values)
                if raw is not None and str(raw) in fs.map:
                    raw = fs.map[str(raw)]
                if raw is None:
                    raw = fs.default
                if raw is not None:
                    refs[fs.target] = (fs, raw)
        return refs
