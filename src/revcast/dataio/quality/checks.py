"""One check per rule kind, over one table's data frame. Plain pandas, rapidfuzz and dataio.normalize.

A check returns an Outcome: how many checks it made (records, or cells for rules over several fields) and
the failing rows with the field, a message and the value to show. Messages name the offending value where a
person needs it to act ("'technolgy' looks like a misspelling of industry 'technology'"); findings group the
failures of a rule by message, so a rule yields one finding per distinct problem.

On source data a message also says when the mapping already corrects the raw value, fills an empty one, or
reads it from another column, because the raw defect is still worth fixing at the source.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from revcast.dataio import normalize
from revcast.dataio.quality.dataset import Dataset, GovernedValue, Table
from revcast.dataio.quality.rules import Condition, Rule
from revcast.dataio.quality.values import (
    FuzzyIndex,
    as_dates,
    as_numbers,
    empty_mask,
    fold,
    is_empty,
    looks_like_dates,
    text_of,
)

# Distinct offending values that get a finding (and message) of their own; the rest share one finding.
MAX_NAMED_VALUES = 20
FAILURE_COLUMNS = ["field", "message", "value", "suggestion"]


@dataclass
class Context:
    dataset: Dataset
    settings: dict[str, Any]
    as_of: dt.date
    phone_region: str = "CN"
    _fuzzy: dict[Any, FuzzyIndex] = field(default_factory=dict)

    def governed(self, rule: Rule) -> tuple[str, list[GovernedValue]]:
        if "picklist" in rule.options:
            key = str(rule.options["picklist"])
            return key, self.dataset.governed.get(key, [])
        values = [GovernedValue(code=str(v), label_en=str(v)) for v in rule.options["values"]]
        return str(rule.field), values

    def fuzzy(self, key: Any, names: list[tuple[str, Any]]) -> FuzzyIndex:
        if key not in self._fuzzy:
            self._fuzzy[key] = FuzzyIndex(names)
        return self._fuzzy[key]

    @property
    def threshold(self) -> float:
        return float(self.settings.get("fuzzy_threshold", 85))


@dataclass
class Outcome:
    checked: int
    failures: pd.DataFrame
    skipped: str | None = None


def _failures(
    index: Any, field_name: str | pd.Series, message: str | pd.Series, value: Any, suggestion: Any = None
) -> pd.DataFrame:
    frame = pd.DataFrame(index=index, columns=FAILURE_COLUMNS, dtype=object)
    frame["field"] = field_name
    frame["message"] = message
    frame["value"] = value
    frame["suggestion"] = suggestion
    return frame


def _none(table: Table) -> pd.DataFrame:
    return _failures(table.frame.index[:0], "", "", None)


def skipped(reason: str, table: Table) -> Outcome:
    return Outcome(0, _none(table), skipped=reason)


def column(table: Table, name: str) -> pd.Series:
    """A column of the readable rows; a field the source does not map reads as empty."""
    frame = table.readable
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def applies(rule: Rule, table: Table) -> pd.Series:
    """The rows a rule's ``when`` conditions select (all readable rows without conditions)."""
    frame = table.readable
    mask = pd.Series(True, index=frame.index)
    for cond in rule.when:
        mask &= _condition(cond, column(table, cond.field))
    return mask


def _condition(cond: Condition, values: pd.Series) -> pd.Series:
    empty = empty_mask(values)
    mask = pd.Series(True, index=values.index)
    text = values.map(lambda v: "" if is_empty(v) else str(v))
    if cond.values_in is not None:
        mask &= text.isin(cond.values_in)
    if cond.values_not_in is not None:
        mask &= ~text.isin(cond.values_not_in)
    if cond.empty is not None:
        mask &= empty if cond.empty else ~empty
    return mask


def mapping_note(table: Table, field_name: str, raw: Any, lookup: set[str] | None = None) -> str:
    """'the mapping maps it to X' when the source mapping corrects this raw value ('' otherwise)."""
    fixes = table.fixes.get(field_name) or {}
    if is_empty(raw) or str(raw) not in fixes:
        return ""
    target = fixes[str(raw)]
    if lookup is not None and str(target) not in lookup:
        return f" (the mapping maps it to {target!r}, which does not exist either)"
    return f" (the mapping maps it to {target!r})"


def _fill_note(table: Table, field_name: str) -> str:
    parts = []
    if field_name in table.source_columns:
        nulls = table.null_values.get(field_name)
        declared = f" or {' / '.join(repr(v) for v in nulls)}, declared null" if nulls else ""
        parts.append(f"column {table.source_columns[field_name]!r} is empty{declared}")
    if field_name in table.fills:
        parts.append(f"the mapping fills it {table.fills[field_name]}")
    return f" ({'; '.join(parts)})" if parts else ""


# ---------------------------------------------------------------------------------------------- completeness


def check_required(rule: Rule, table: Table, ctx: Context) -> Outcome:
    field_name = str(rule.field)
    mask = applies(rule, table)
    if table.frame.shape[0] and field_name not in table.frame.columns and not table.source_columns:
        return skipped(f"{table.object} has no field {field_name!r}", table)
    values = column(table, field_name)
    failed = mask & empty_mask(values)
    message = rule.message or f"{field_name} is empty"
    if field_name not in table.frame.columns:
        message += " (the mapping does not map it)"
    else:
        message += _fill_note(table, field_name)
    return Outcome(int(mask.sum()), _failures(failed[failed].index, field_name, message, None))


def check_required_by_stage(rule: Rule, table: Table, ctx: Context) -> Outcome:
    """Exit criteria: a deal past an open stage (a stage of higher order) has that stage's required fields."""
    if "stage_order" not in table.frame.columns:
        return skipped("no stage order on these records", table)
    mask = applies(rule, table)
    order = as_numbers(column(table, "stage_order"))
    checked = 0
    parts = []
    for stage in ctx.dataset.stages:
        if stage.type != "open" or not stage.required_fields:
            continue
        past = mask & (order > stage.order)
        for field_name in stage.required_fields:
            values = column(table, field_name)
            failed = past & empty_mask(values)
            checked += int(past.sum())
            message = rule.message or (f"{field_name} is required to leave stage {stage.name!r}")
            if field_name in table.frame.columns:
                message += _fill_note(table, field_name)
            elif table.source_columns:
                message += " (the mapping does not map it)"
            parts.append(_failures(failed[failed].index, field_name, message, None))
    if not parts:
        return skipped("no open stage has required fields", table)
    return Outcome(checked, pd.concat(parts))


def check_empty(rule: Rule, table: Table, ctx: Context) -> Outcome:
    field_name = str(rule.field)
    mask = applies(rule, table)
    values = column(table, field_name)
    failed = mask & ~empty_mask(values)
    message = rule.message or f"{field_name} should be empty"
    return Outcome(int(mask.sum()), _failures(failed[failed].index, field_name, message, values[failed]))


# ---------------------------------------------------------------------------------------------- validity


def _member_index(values: list[GovernedValue]) -> tuple[set[str], dict[str, str]]:
    codes = {v.code for v in values}
    folded = {fold(n): v.code for v in values for n in v.names()}
    return codes, folded


def _governed_failures(rule: Rule, table: Table, ctx: Context, *, only_misspellings: bool) -> Outcome:
    field_name = str(rule.field)
    key, governed = ctx.governed(rule)
    if not governed:
        return skipped(f"the governed list {key!r} has no values", table)
    mask = applies(rule, table)
    values = column(table, field_name)
    present = mask & ~empty_mask(values)
    codes, folded = _member_index(governed)
    text = values[present].map(str)
    unknown = text[~(text.isin(codes) | text.map(lambda v: fold(v) in folded))]
    index = ctx.fuzzy(("governed", key), [(n, v) for v in governed for n in v.names()])
    messages: dict[str, tuple[str | None, str | None]] = {}
    counts = unknown.value_counts()
    for rank, raw in enumerate(counts.index):
        best = index.best(raw, ctx.threshold)
        note = mapping_note(table, field_name, raw)
        if best is not None:
            owner, _ = best
            spelling = _closest_spelling(owner, raw)
            messages[raw] = (f"{raw!r} looks like a misspelling of {key} {spelling!r}{note}", owner.code)
        elif only_misspellings:
            messages[raw] = (None, None)
        elif rank < MAX_NAMED_VALUES:
            near = index.closest(raw)
            hint = f"; closest: {', '.join(repr(v.label_en or v.code) for v in near)}" if near else ""
            messages[raw] = (f"{raw!r} is not a value of {key}{hint}{note}", near[0].code if near else None)
        else:
            messages[raw] = (rule.message or f"not a value of {key}", None)
    failed = unknown[unknown.map(lambda v: messages[v][0] is not None)]
    result = _failures(
        failed.index,
        field_name,
        failed.map(lambda v: messages[v][0]),
        failed,
        failed.map(lambda v: messages[v][1]),
    )
    return Outcome(int(present.sum()), result)


def _closest_spelling(owner: GovernedValue, raw: str) -> str:
    from rapidfuzz import fuzz

    return max(owner.names(), key=lambda n: fuzz.ratio(fold(n), fold(raw)))


def check_picklist(rule: Rule, table: Table, ctx: Context) -> Outcome:
    return _governed_failures(rule, table, ctx, only_misspellings=False)


def check_misspelling(rule: Rule, table: Table, ctx: Context) -> Outcome:
    if "threshold" in rule.options:  # the same context, fuzzy indexes included, with another threshold
        ctx = dataclasses.replace(ctx, settings={**ctx.settings, "fuzzy_threshold": rule.options["threshold"]})
    return _governed_failures(rule, table, ctx, only_misspellings=True)


FORMAT_TESTS: dict[str, tuple[Callable[[str, str], bool], str]] = {
    "email": (lambda v, region: normalize.email_normalise(v) is not None, "not a valid e-mail address"),
    "phone": (lambda v, region: normalize.phone_e164(v, region) is not None, "not a valid phone number"),
    "uscc": (lambda v, region: normalize.uscc_valid(v), "not a valid unified social credit code"),
}


def check_format(rule: Rule, table: Table, ctx: Context) -> Outcome:
    field_name = str(rule.field)
    mask = applies(rule, table)
    values = column(table, field_name)
    present = mask & ~empty_mask(values)
    text = values[present].map(str)
    if "pattern" in rule.options:
        pattern = re.compile(str(rule.options["pattern"]))
        ok = text.map(lambda v: pattern.search(v) is not None)
        message = rule.message or f"{field_name} does not match {pattern.pattern!r}"
    else:
        test, default = FORMAT_TESTS[str(rule.options["format"])]
        region = str(rule.options.get("region") or ctx.phone_region)
        ok = text.map(lambda v: test(v, region))
        message = rule.message or default
        if rule.options["format"] == "phone":
            message += f" (numbers without a country code are read as {region})"
    failed = text[~ok.astype(bool)]
    return Outcome(int(present.sum()), _failures(failed.index, field_name, message, failed))


def _bound(raw: Any, dates: bool, as_of: dt.date) -> Any:
    if raw == "as_of":
        return pd.Timestamp(as_of) if dates else as_of.year
    if dates:
        return pd.Timestamp(str(raw))
    return float(raw)


def check_range(rule: Rule, table: Table, ctx: Context) -> Outcome:
    field_name = str(rule.field)
    mask = applies(rule, table)
    raw = column(table, field_name)
    dates = looks_like_dates(raw)
    values = as_dates(raw) if dates else as_numbers(raw)
    present = mask & values.notna()
    lo = _bound(rule.options["min"], dates, ctx.as_of) if "min" in rule.options else None
    hi = _bound(rule.options["max"], dates, ctx.as_of) if "max" in rule.options else None

    def text(bound: Any) -> str:
        return bound.date().isoformat() if isinstance(bound, pd.Timestamp) else f"{bound:g}"

    parts = []
    if lo is not None:
        below = present & (values < lo)
        message = rule.message or f"{field_name} is below {text(lo)}"
        parts.append(_failures(below[below].index, field_name, message, raw[below]))
    if hi is not None:
        above = present & (values > hi)
        message = rule.message or f"{field_name} is above {text(hi)}"
        parts.append(_failures(above[above].index, field_name, message, raw[above]))
    return Outcome(int(present.sum()), pd.concat(parts))


# ---------------------------------------------------------------------------------------------- consistency

OPERATORS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    ">=": (operator.ge, "is before"),
    ">": (operator.gt, "is not after"),
    "<=": (operator.le, "is after"),
    "<": (operator.lt, "is not before"),
    "==": (operator.eq, "differs from"),
    "!=": (operator.ne, "equals"),
}


def other_side(table: Table, ctx: Context, other: str) -> pd.Series | None:
    """A field of the same record, or ``REF.FIELD``: a field of the record a reference field points to."""
    if "." not in other:
        return column(table, other)
    ref_field, attribute = other.split(".", 1)
    if ref_field not in table.refs:
        return None
    obj, by = table.refs[ref_field]
    target = ctx.dataset.tables.get(obj)
    if target is None or by not in target.frame.columns or attribute not in target.frame.columns:
        return None
    lookup = target.frame.drop_duplicates(by).set_index(by)[attribute]
    keys = table.mapped(ref_field)[table.readable.index] if ref_field in table.frame.columns else None
    if keys is None:
        return None
    return keys.map(lambda k: lookup.get(k) if not is_empty(k) else None)


def _comparable(left: pd.Series, right: pd.Series) -> tuple[pd.Series, pd.Series]:
    left_dates, right_dates = looks_like_dates(left), looks_like_dates(right)
    if left_dates and right_dates:
        return as_dates(left), as_dates(right)
    if left_dates:  # a date against a number: the date's year (engaged_on >= account.year_established)
        return as_dates(left).dt.year.astype(float), as_numbers(right)
    if right_dates:
        return as_numbers(left), as_dates(right).dt.year.astype(float)
    return as_numbers(left), as_numbers(right)


def check_compare(rule: Rule, table: Table, ctx: Context) -> Outcome:
    field_name, other = str(rule.field), str(rule.options["other"])
    right_raw = other_side(table, ctx, other)
    if right_raw is None:
        return skipped(f"cannot read {other!r} for {table.object}", table)
    mask = applies(rule, table)
    left_raw = column(table, field_name)
    left, right = _comparable(left_raw, right_raw)
    present = mask & left.notna() & right.notna()
    test, words = OPERATORS[str(rule.options["op"])]
    failed = present & ~test(left, right).astype(bool)
    message = rule.message or f"{field_name} {words} {other}"
    shown_values = left_raw[failed].map(text_of) + " / " + right_raw[failed].map(text_of)
    return Outcome(int(present.sum()), _failures(failed[failed].index, field_name, message, shown_values))


# ---------------------------------------------------------------------------------------------- references


def check_reference(rule: Rule, table: Table, ctx: Context) -> Outcome:
    field_name = str(rule.field)
    target = rule.options.get("to")
    if field_name not in table.frame.columns:
        return skipped(f"{table.object}.{field_name} is not in this data", table)
    obj, by = str(target).split(".", 1) if target else table.refs.get(field_name, ("", ""))
    if not obj:
        return skipped(f"{table.object}.{field_name} is not a reference", table)
    existing = ctx.dataset.lookups.get((obj, by))
    if existing is None:
        return skipped(f"no {obj} records to look {field_name} up in", table)
    mask = applies(rule, table)
    values = column(table, field_name)
    present = mask & ~empty_mask(values)
    text = values[present].map(str)
    missing = text[~text.isin(existing)]
    index = ctx.fuzzy(("lookup", obj, by), [(v, v) for v in existing])
    messages: dict[str, tuple[str, str | None]] = {}
    for rank, raw in enumerate(missing.value_counts().index):
        if rank >= MAX_NAMED_VALUES:
            messages[raw] = (rule.message or f"matches no {obj} by {by}", None)
            continue
        note = mapping_note(table, field_name, raw, existing)
        best = None if note else index.best(raw, ctx.threshold)
        hint = f"; closest: {best[0]!r}" if best else ""
        messages[raw] = (f"{raw!r} matches no {obj} by {by}{hint}{note}", best[0] if best else None)
    result = _failures(
        missing.index,
        field_name,
        missing.map(lambda v: messages[v][0]),
        missing,
        missing.map(lambda v: messages[v][1]),
    )
    return Outcome(int(present.sum()), result)


def check_unreferenced(rule: Rule, table: Table, ctx: Context) -> Outcome:
    """Records nothing refers to (a rep without deals, a product never sold)."""
    ref_obj, ref_field = str(rule.options["referenced_by"]).split(".", 1)
    referencing = ctx.dataset.tables.get(ref_obj)
    if referencing is None or ref_field not in referencing.frame.columns:
        return skipped(f"no {ref_obj}.{ref_field} in this data", table)
    by = referencing.refs.get(ref_field, ("", str(rule.field)))[1]
    key_column = by if by in table.frame.columns else str(rule.field)
    if key_column not in table.frame.columns:
        return skipped(f"{table.object} has no {by!r} to compare with {ref_obj}.{ref_field}", table)
    mask = applies(rule, table)
    keys = column(table, key_column)
    present = mask & ~empty_mask(keys)
    raw_refs = set(referencing.readable[ref_field].dropna().map(str))
    mapped_counts = referencing.mapped(ref_field)[referencing.readable.index].dropna().map(str).value_counts()
    text = keys[present].map(str)
    lonely = text[~text.isin(raw_refs)]
    base = rule.message or f"no {ref_obj} refers to it through {ref_field}"

    def message(key: str) -> str:
        fixed = int(mapped_counts.get(key, 0))
        return f"{base} (after the mapping's value maps, {fixed} do)" if fixed else base

    return Outcome(
        int(present.sum()),
        _failures(lonely.index, str(rule.field or key_column), lonely.map(message), lonely),
    )


# ---------------------------------------------------------------------------------------------- uniqueness


def _key_function(kind: str, region: str) -> Callable[[list[Any]], str]:
    def text(values: list[Any]) -> str:
        return "|".join(normalize.name_key(str(v), "") for v in values)

    def first_then_rest(first: Callable[[Any], str]) -> Callable[[list[Any]], str]:
        return lambda values: "|".join([first(values[0]), *(fold(str(v)) for v in values[1:])])

    def email(v: Any) -> str:
        return (normalize.email_normalise(str(v)) or str(v)).casefold()

    def phone(v: Any) -> str:
        return normalize.phone_e164(str(v), region) or re.sub(r"\D", "", str(v))

    functions: dict[str, Callable[[list[Any]], str]] = {
        "exact": lambda values: "|".join(str(v) for v in values),
        "text": text,
        "company": first_then_rest(lambda v: normalize.company_key(str(v))),
        "person": lambda values: "|".join(
            [
                normalize.name_key(str(values[0]), str(values[1]) if len(values) > 1 else ""),
                *(fold(str(v)) for v in values[2:]),
            ]
        ),
        "email": first_then_rest(email),
        "phone": first_then_rest(phone),
    }
    return functions[kind]


def check_duplicate(rule: Rule, table: Table, ctx: Context) -> Outcome:
    """Records sharing a normalised key (exact match on it; helper D's dedup does the fuzzy matching)."""
    names = list(rule.fields)
    missing = [n for n in names if n not in table.frame.columns]
    if missing:
        return skipped(f"{table.object} has no {', '.join(missing)}", table)
    mask = applies(rule, table)
    frame = table.readable[names]
    # The first field must be present; the others take part in the key as they are (empty included).
    present = mask & ~empty_mask(frame[names[0]])
    kind = str(rule.options.get("key", "exact"))
    keyer = _key_function(kind, ctx.phone_region)
    keys = frame[present].apply(lambda row: keyer([("" if is_empty(v) else v) for v in row]), axis=1)
    if keys.empty:
        return Outcome(0, _none(table))
    keys = keys[keys.map(lambda k: bool(k.strip("|")))]
    dupes = keys[keys.duplicated(keep=False)]
    label = " + ".join(names)
    message = rule.message or (
        f"same {label} as another record"
        if kind == "exact"
        else f"same {label} as another record once normalised ({kind} key)"
    )
    shown_values = (
        frame.loc[dupes.index].apply(lambda row: " | ".join(str(v) for v in row), axis=1)
        if len(dupes)
        else pd.Series(dtype=object)
    )
    return Outcome(len(keys), _failures(dupes.index, names[0], message, shown_values, dupes))


# ---------------------------------------------------------------------------------------------- staleness


def check_stale(rule: Rule, table: Table, ctx: Context) -> Outcome:
    days = int(rule.options.get("days", ctx.settings.get("stale_days", 90)))
    fields = [str(f) for f in rule.options["dates"] if str(f) in table.frame.columns]
    if not fields:
        return skipped(f"{table.object} has none of the dates {rule.options['dates']}", table)
    mask = applies(rule, table)
    latest = pd.concat([as_dates(column(table, f)) for f in fields], axis=1).max(axis=1)
    present = mask & latest.notna()
    limit = pd.Timestamp(ctx.as_of) - pd.Timedelta(days=days)
    failed = present & (latest < limit)
    message = (rule.message or "nothing newer than the stale limit") + (
        f" (latest of {', '.join(fields)} more than {days} days before {ctx.as_of.isoformat()})"
    )
    shown_values = latest[failed].map(lambda t: t.date().isoformat())
    return Outcome(int(present.sum()), _failures(failed[failed].index, fields[0], message, shown_values))


def check_overdue(rule: Rule, table: Table, ctx: Context) -> Outcome:
    field_name = str(rule.field)
    mask = applies(rule, table)
    raw = column(table, field_name)
    dates = as_dates(raw)
    present = mask & dates.notna()
    failed = present & (dates < pd.Timestamp(ctx.as_of))
    message = (rule.message or f"{field_name} has passed") + f" (before {ctx.as_of.isoformat()})"
    return Outcome(int(present.sum()), _failures(failed[failed].index, field_name, message, raw[failed]))


CHECKS: dict[str, Callable[[Rule, Table, Context], Outcome]] = {
    "required": check_required,
    "required_by_stage": check_required_by_stage,
    "empty": check_empty,
    "picklist": check_picklist,
    "misspelling": check_misspelling,
    "format": check_format,
    "range": check_range,
    "compare": check_compare,
    "reference": check_reference,
    "unreferenced": check_unreferenced,
    "duplicate": check_duplicate,
    "stale": check_stale,
    "overdue": check_overdue,
}
