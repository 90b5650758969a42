"""The declarative mapping language: which source files, tables or queries feed which revcast objects and fields.

A mapping is a YAML file (see ``mappings/maven_crm.yaml``, docs/guide/import.md and docs/guide/migration.md).
Loading it checks its shape and names every problem with its location, before any data is read. A source
reads a file (``file:``, for ``revcast import``) or a database (``table:`` or ``query:``, for ``revcast
migrate``); the field language is the same for both.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

FIELD_KEYS = {
    "column",
    "value",
    "default",
    "map",
    "null_values",
    "format",
    "multiply",
    "fallback",
    "ref",
    "by",
    "on_missing",
    "required",
    "transform",
    "convert",
    "template",
    "unmapped",
}
SOURCE_KEYS = {
    "name",
    "file",
    "table",
    "query",
    "key_column",
    "object",
    "key",
    "encoding",
    "sheet",
    "delimiter",
    "fields",
    "stage_dates",
    "known_on",
    "date_format",
}
TRANSFORMS = {"strip", "lower", "upper", "title"}
# Opportunity fields whose value can be declared as known only from a date (``known_on``): the tracked fields
# a deal can carry while it is open and learn at a later date.
KNOWN_ON_FIELDS = ("amount", "expected_close_on", "forecast_category")
DEFAULT_KEYS = {"currency", "date_format", "encoding", "delimiter"}
# What a value that is not a key of ``map`` becomes: kept as it is (the default), rejected, or emptied.
UNMAPPED = ("keep", "reject", "null")


class MappingError(ValueError):
    """The mapping file is not valid; the message says where and why."""


@dataclass
class Fallback:
    """Derive a value when the source is empty: ``from`` names ``<ref field>.<attribute>`` of the same row."""

    source: str
    when_column: str | None = None
    when_in: list[str] = field(default_factory=list)


@dataclass
class Convert:
    """Currency conversion of a number: the source currency is in ``column``; the rate (units of ``to`` per
    unit of the source currency) is the row's ``rate_column`` when it has one (a rate joined in a query),
    else ``rates[currency]`` from the mapping. The result is rounded half up to the field's places."""

    column: str
    to: str
    rates: dict[str, Any] = field(default_factory=dict)
    rate_column: str | None = None


@dataclass
class KnownOn:
    """``target``'s mapped value became known on the date in ``column``; before it the deal carried an initial
    value: ``initial_from`` (``REF_FIELD.ATTRIBUTE`` of the same row), the constant ``initial_value``, or
    nothing. Only the history of new deals uses it; the stored value is always the mapped one."""

    target: str
    column: str
    initial_from: str | None = None
    initial_value: Any = None
    initial: Any = None  # initial_value converted for the target field, set when the source is planned

    def describe_initial(self) -> str:
        if self.initial_from:
            return self.initial_from
        if self.initial_value is not None:
            return repr(self.initial_value)
        return "no value"


@dataclass
class FieldSpec:
    target: str
    column: str | None = None
    value: Any = None
    default: Any = None
    map: dict[str, Any] = field(default_factory=dict)
    null_values: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    multiply: Any = None
    fallback: Fallback | None = None
    ref: str | None = None
    by: str | None = None
    on_missing: str = "reject"
    required: bool = False
    transform: list[str] = field(default_factory=list)
    convert: Convert | None = None
    template: str | None = None
    unmapped: str = "keep"

    @property
    def template_columns(self) -> list[str]:
        if not self.template:
            return []
        return [name for _, name, _, _ in string.Formatter().parse(self.template) if name]


@dataclass
class SourceSpec:
    name: str
    file: str
    object: str
    key: str | None
    encoding: str
    sheet: str | None
    delimiter: str
    fields: list[FieldSpec]
    stage_dates: dict[str, str]
    date_formats: list[str]
    known_on: dict[str, KnownOn] = field(default_factory=dict)
    table: str | None = None
    query: str | None = None
    key_column: str | None = None  # the source column a database source is ordered and resumed by

    @property
    def is_database(self) -> bool:
        return self.table is not None or self.query is not None

    @property
    def origin(self) -> str:
        """What the source reads, for messages: the file name, ``table NAME`` or ``query NAME``."""
        if self.table is not None:
            return f"table {self.table}"
        if self.query is not None:
            return f"query {self.name}"
        return self.file

    @property
    def columns(self) -> list[str]:
        cols = [f.column for f in self.fields if f.column]
        cols += list(self.stage_dates.values())
        cols += [k.column for k in self.known_on.values()]
        cols += [f.fallback.when_column for f in self.fields if f.fallback and f.fallback.when_column]
        for f in self.fields:
            cols += f.template_columns
            if f.convert:
                cols += [f.convert.column, *([f.convert.rate_column] if f.convert.rate_column else [])]
        if self.key_column:
            cols.append(self.key_column)
        return list(dict.fromkeys(cols))


@dataclass
class Mapping:
    name: str
    path: Path
    sha256: str
    stages: list[dict[str, Any]]
    sources: list[SourceSpec]
    defaults: dict[str, Any]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _field(where: str, target: str, spec: Any, date_formats: list[str]) -> FieldSpec:
    if isinstance(spec, str):
        return FieldSpec(target=target, column=spec, formats=date_formats)
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected a column name or a mapping of options, got {spec!r}")
    unknown = set(spec) - FIELD_KEYS
    if unknown:
        raise MappingError(f"{where}: unknown option(s) {sorted(unknown)}; allowed: {sorted(FIELD_KEYS)}")
    if not {"column", "value", "fallback", "template"} & set(spec):
        raise MappingError(f"{where}: give a 'column', a constant 'value' or a 'fallback' (or a 'template')")
    if "template" in spec and ("column" in spec or "value" in spec):
        raise MappingError(f"{where}: a 'template' reads its own columns; drop 'column'/'value'")
    template = spec.get("template")
    if template is not None:
        template = str(template)
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        except ValueError as exc:
            raise MappingError(f"{where}.template: {exc}") from None
        if not names or any(not name or not name.isidentifier() for name in names):
            raise MappingError(f"{where}.template: name columns in braces, e.g. '{{first_name}} {{last_name}}'")
    unmapped = spec.get("unmapped", "keep")
    if unmapped is None:
        unmapped = "null"
    if unmapped not in UNMAPPED:
        raise MappingError(f"{where}.unmapped: must be one of {list(UNMAPPED)}, not {unmapped!r}")
    if unmapped != "keep" and not spec.get("map"):
        raise MappingError(f"{where}.unmapped: only meaningful with a 'map'")
    fallback = None
    if "fallback" in spec:
        fb = spec["fallback"]
        if isinstance(fb, str):
            fallback = Fallback(source=fb)
        elif isinstance(fb, dict) and "from" in fb:
            unknown = set(fb) - {"from", "when"}
            if unknown:
                raise MappingError(
                    f"{where}.fallback: unknown key(s) {sorted(unknown)}; allowed: ['from', 'when']"
                )
            when = fb.get("when") or {}
            if when and not (isinstance(when, dict) and set(when) == {"column", "in"}):
                raise MappingError(f"{where}.fallback.when: expected {{column: NAME, in: [VALUES]}}")
            fallback = Fallback(
                source=str(fb["from"]),
                when_column=when.get("column"),
                when_in=[str(v) for v in _as_list(when.get("in"))],
            )
        else:
            raise MappingError(
                f"{where}.fallback: expected 'REF.ATTRIBUTE' or {{from: REF.ATTRIBUTE, when: ...}}"
            )
        if "." not in fallback.source:
            raise MappingError(f"{where}.fallback: {fallback.source!r} must read REF_FIELD.ATTRIBUTE")
    transforms = _as_list(spec.get("transform"))
    bad = set(transforms) - TRANSFORMS
    if bad:
        raise MappingError(f"{where}.transform: unknown {sorted(bad)}; allowed: {sorted(TRANSFORMS)}")
    on_missing = spec.get("on_missing", "reject")
    if on_missing is None:  # YAML reads an unquoted `null` as nothing
        on_missing = "null"
    if on_missing not in ("reject", "null"):
        raise MappingError(f"{where}.on_missing: must be 'reject' or 'null', not {on_missing!r}")
    value_map = spec.get("map") or {}
    if not isinstance(value_map, dict):
        raise MappingError(f"{where}.map: expected SOURCE_VALUE: TARGET_VALUE pairs")
    return FieldSpec(
        convert=_convert(f"{where}.convert", spec.get("convert")) if "convert" in spec else None,
        template=template,
        unmapped=unmapped,
        target=target,
        column=spec.get("column"),
        value=spec.get("value"),
        default=spec.get("default"),
        map={str(k): v for k, v in value_map.items()},
        null_values=[str(v) for v in _as_list(spec.get("null_values"))],
        formats=[str(f) for f in _as_list(spec.get("format"))] or date_formats,
        multiply=spec.get("multiply"),
        fallback=fallback,
        ref=spec.get("ref"),
        by=spec.get("by"),
        on_missing=on_missing,
        required=bool(spec.get("required", False)),
        transform=transforms,
    )


def _convert(where: str, spec: Any) -> Convert:
    """``convert: {from: CURRENCY_COLUMN, to: USD, rates: {CNY: 0.1385, USD: 1}, rate: RATE_COLUMN}``."""
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: expected {{from: CURRENCY_COLUMN, to: CURRENCY, rates: {{...}}}}")
    unknown = set(spec) - {"from", "to", "rates", "rate"}
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: ['from', 'rate', 'rates', 'to']")
    if not spec.get("from") or not spec.get("to"):
        raise MappingError(f"{where}: 'from' (the column holding the currency) and 'to' (a currency) are required")
    rates = spec.get("rates") or {}
    if not isinstance(rates, dict):
        raise MappingError(f"{where}.rates: expected CURRENCY: RATE pairs")
    if not rates and not spec.get("rate"):
        raise MappingError(f"{where}: give 'rates' (CURRENCY: RATE pairs) or 'rate' (a column holding the rate)")
    parsed: dict[str, Any] = {}
    for currency, rate in rates.items():
        try:
            number = Decimal(str(rate))
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or number <= 0:
            raise MappingError(f"{where}.rates.{currency}: {rate!r} is not a positive number")
        parsed[str(currency).strip().upper()] = number
    return Convert(
        column=str(spec["from"]),
        to=str(spec["to"]).strip().upper(),
        rates=parsed,
        rate_column=str(spec["rate"]) if spec.get("rate") else None,
    )


def _known_on(loc: str, spec: Any, obj: str, mapped: set[str]) -> dict[str, KnownOn]:
    """``known_on: {FIELD: {date: COLUMN, initial: {from: REF.ATTRIBUTE} | {value: CONSTANT}}}``."""
    if spec is None:
        return {}
    where = f"{loc}.known_on"
    if obj != "opportunity":
        raise MappingError(f"{where}: only opportunities have known_on dates (this source loads {obj!r})")
    if not isinstance(spec, dict) or not spec:
        raise MappingError(f"{where}: expected FIELD: {{date: DATE_COLUMN, initial: ...}} pairs")
    result: dict[str, KnownOn] = {}
    for target, options in spec.items():
        here = f"{where}.{target}"
        if target not in KNOWN_ON_FIELDS:
            raise MappingError(f"{here}: only {list(KNOWN_ON_FIELDS)} can have a known_on date")
        if target not in mapped:
            raise MappingError(f"{here}: {target!r} is not mapped in fields; map it first")
        if not isinstance(options, dict) or not options.get("date") or not isinstance(options["date"], str):
            raise MappingError(f"{here}: expected {{date: DATE_COLUMN}}, optionally with 'initial'")
        unknown = set(options) - {"date", "initial"}
        if unknown:
            raise MappingError(f"{here}: unknown key(s) {sorted(unknown)}; allowed: ['date', 'initial']")
        known = KnownOn(target=str(target), column=options["date"])
        initial = options.get("initial")
        if initial is not None:
            if not isinstance(initial, dict) or len(initial) != 1 or set(initial) - {"from", "value"}:
                raise MappingError(
                    f"{here}.initial: expected {{from: REF_FIELD.ATTRIBUTE}} or {{value: CONSTANT}}"
                )
            if "from" in initial:
                source = str(initial["from"])
                if "." not in source:
                    raise MappingError(f"{here}.initial.from: {source!r} must read REF_FIELD.ATTRIBUTE")
                known.initial_from = source
            elif initial["value"] is None:
                raise MappingError(f"{here}.initial.value: give a value, or leave 'initial' out for none")
            else:
                known.initial_value = initial["value"]
        result[known.target] = known
    return result


def parse(data: Any, path: Path, sha256: str = "") -> Mapping:
    where = str(path)
    if not isinstance(data, dict):
        raise MappingError(f"{where}: the mapping must be a YAML mapping with 'name' and 'sources'")
    unknown = set(data) - {"name", "version", "description", "defaults", "stages", "sources"}
    if unknown:
        raise MappingError(f"{where}: unknown top-level key(s) {sorted(unknown)}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise MappingError(f"{where}: 'defaults' must be a mapping of {sorted(DEFAULT_KEYS)}")
    unknown = set(defaults) - DEFAULT_KEYS
    if unknown:
        raise MappingError(
            f"{where}: defaults: unknown key(s) {sorted(unknown)}; allowed: {sorted(DEFAULT_KEYS)}"
        )
    date_formats = [str(f) for f in _as_list(defaults.get("date_format", "%Y-%m-%d"))]
    sources = []
    seen: set[str] = set()
    for i, src in enumerate(data.get("sources") or []):
        loc = f"{where}: sources[{i}]"
        if not isinstance(src, dict):
            raise MappingError(f"{loc}: expected a mapping")
        unknown = set(src) - SOURCE_KEYS
        if unknown:
            raise MappingError(f"{loc}: unknown key(s) {sorted(unknown)}; allowed: {sorted(SOURCE_KEYS)}")
        for required in ("object", "fields"):
            if required not in src:
                raise MappingError(f"{loc}: '{required}' is required")
        given = [k for k in ("file", "table", "query") if src.get(k)]
        if not given:
            raise MappingError(f"{loc}: 'file' is required (or 'table' or 'query' for a database source)")
        if len(given) > 1:
            raise MappingError(f"{loc}: give one of 'file', 'table' or 'query', not {given}")
        if "query" in src and not src.get("name"):
            raise MappingError(f"{loc}: a 'query' source needs a 'name'")
        if "key_column" in src and "file" in src:
            raise MappingError(f"{loc}: 'key_column' is for database sources ('table' or 'query')")
        if "file" in src:
            default_name = Path(str(src["file"])).stem
        elif "table" in src:
            default_name = str(src["table"]).rsplit(".", 1)[-1]
        else:
            default_name = ""
        name = str(src.get("name") or default_name)
        if name in seen:
            raise MappingError(f"{loc}: duplicate source name {name!r}")
        seen.add(name)
        loc = f"{where}: sources.{name}"
        fields_spec = src["fields"]
        if not isinstance(fields_spec, dict) or not fields_spec:
            raise MappingError(f"{loc}.fields: expected TARGET_FIELD: COLUMN (or options) pairs")
        src_formats = [str(f) for f in _as_list(src.get("date_format"))] or date_formats
        stage_dates = src.get("stage_dates") or {}
        if not isinstance(stage_dates, dict):
            raise MappingError(f"{loc}.stage_dates: expected STAGE_NAME: DATE_COLUMN pairs")
        sources.append(
            SourceSpec(
                name=name,
                file=str(src.get("file") or ""),
                table=str(src["table"]) if src.get("table") else None,
                query=str(src["query"]) if src.get("query") else None,
                key_column=str(src["key_column"]) if src.get("key_column") else None,
                object=str(src["object"]),
                key=src.get("key"),
                encoding=str(src.get("encoding", defaults.get("encoding", "auto"))),
                sheet=src.get("sheet"),
                delimiter=str(src.get("delimiter", defaults.get("delimiter", ","))),
                fields=[
                    _field(f"{loc}.fields.{target}", str(target), spec, src_formats)
                    for target, spec in fields_spec.items()
                ],
                stage_dates={str(k): str(v) for k, v in stage_dates.items()},
                date_formats=src_formats,
                known_on=_known_on(loc, src.get("known_on"), str(src["object"]), {str(t) for t in fields_spec}),
            )
        )
    if not sources:
        raise MappingError(f"{where}: 'sources' lists no source")
    stages = data.get("stages") or []
    if not isinstance(stages, list) or not all(isinstance(s, dict) and "name" in s for s in stages):
        raise MappingError(f"{where}: 'stages' must be a list of mappings, each with a 'name'")
    return Mapping(
        name=str(data.get("name") or path.stem),
        path=path,
        sha256=sha256,
        stages=stages,
        sources=sources,
        defaults=defaults,
    )


def load(path: str | Path) -> Mapping:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(raw.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    return parse(data, path, hashlib.sha256(raw).hexdigest())
