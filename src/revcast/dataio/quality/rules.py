"""Declarative quality rules: the shipped ``rules.yaml`` plus any file given with ``--rules``.

A rule names an object, a kind, the field(s) it checks and the kind's options; see rules.yaml and
docs/guide/data-quality.md. Loading checks every rule's shape and names the file and rule when something is
wrong, before any data is read. A rule in an extra file replaces the shipped rule with the same ``id``;
``enabled: false`` switches a shipped rule off.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import yaml

SHIPPED = Path(__file__).with_name("rules.yaml")

DIMENSIONS = ("completeness", "validity", "consistency", "uniqueness", "referential_integrity", "staleness")

# kind -> (default dimension, required options, allowed options)
KINDS: dict[str, tuple[str, set[str], set[str]]] = {
    "required": ("completeness", {"field"}, set()),
    "required_by_stage": ("completeness", set(), set()),
    "empty": ("consistency", {"field"}, set()),
    "picklist": ("validity", {"field"}, {"picklist", "values"}),
    "misspelling": ("validity", {"field"}, {"picklist", "values", "threshold"}),
    "format": ("validity", {"field"}, {"pattern", "format", "region"}),
    "range": ("validity", {"field"}, {"min", "max"}),
    "compare": ("consistency", {"field", "op", "other"}, set()),
    "reference": ("referential_integrity", {"field"}, {"to"}),
    "unreferenced": ("referential_integrity", {"referenced_by"}, set()),
    "duplicate": ("uniqueness", {"fields"}, {"key"}),
    "stale": ("staleness", {"dates"}, {"days"}),
    "overdue": ("staleness", {"field"}, set()),
}
COMMON = {"id", "object", "kind", "dimension", "message", "when", "enabled", "field", "fields"}
FORMATS = ("email", "phone", "uscc")
DUPLICATE_KEYS = ("exact", "text", "company", "person", "email", "phone")
OPS = ("<", "<=", ">", ">=", "==", "!=")
CONDITIONS = {"field", "in", "not_in", "empty"}


class RuleError(ValueError):
    """A rules file is not valid; the message names the file, the rule and the problem."""


@dataclass(frozen=True)
class Condition:
    """Which records a rule applies to: ``field`` in / not in values, or (not) empty."""

    field: str
    values_in: tuple[str, ...] | None = None
    values_not_in: tuple[str, ...] | None = None
    empty: bool | None = None


@dataclass
class Rule:
    id: str
    object: str
    kind: str
    dimension: str
    field: str | None = None
    fields: tuple[str, ...] = ()
    options: dict[str, Any] = dc_field(default_factory=dict)
    when: tuple[Condition, ...] = ()
    message: str | None = None
    enabled: bool = True


@dataclass
class RuleSet:
    rules: list[Rule]
    settings: dict[str, Any]
    files: list[str]

    def for_object(self, name: str | None) -> list[Rule]:
        return [r for r in self.rules if r.enabled and (name is None or r.object == name)]


DEFAULT_SETTINGS: dict[str, Any] = {"fuzzy_threshold": 85, "stale_days": 90}


def _conditions(where: str, spec: Any) -> tuple[Condition, ...]:
    if spec is None:
        return ()
    items = spec if isinstance(spec, list) else [spec]
    result = []
    for item in items:
        if not isinstance(item, dict) or "field" not in item or not set(item) - {"field"}:
            raise RuleError(
                f"{where}.when: expected {{field: NAME, in: [...]}}, not_in: [...] or empty: true|false"
            )
        unknown = set(item) - CONDITIONS
        if unknown:
            raise RuleError(f"{where}.when: unknown key(s) {sorted(unknown)}; allowed: {sorted(CONDITIONS)}")
        for key in ("in", "not_in"):
            if key in item and not isinstance(item[key], list):
                raise RuleError(f"{where}.when.{key}: expected a list of values")
        result.append(
            Condition(
                field=str(item["field"]),
                values_in=tuple(str(v) for v in item["in"]) if "in" in item else None,
                values_not_in=tuple(str(v) for v in item["not_in"]) if "not_in" in item else None,
                empty=bool(item["empty"]) if "empty" in item else None,
            )
        )
    return tuple(result)


def parse_rule(where: str, spec: Any) -> Rule:
    if not isinstance(spec, dict):
        raise RuleError(f"{where}: expected a mapping with 'object' and 'kind'")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise RuleError(f"{where}: unknown kind {kind!r}; known: {sorted(KINDS)}")
    if not spec.get("object"):
        raise RuleError(f"{where}: 'object' is required")
    dimension, required, allowed = KINDS[kind]
    unknown = set(spec) - COMMON - allowed - required
    if unknown:
        raise RuleError(f"{where} ({kind}): unknown option(s) {sorted(unknown)}")
    missing = [k for k in sorted(required) if spec.get(k) in (None, "", [])]
    if missing:
        raise RuleError(f"{where} ({kind}): {', '.join(missing)} required")
    dimension = spec.get("dimension", dimension)
    if dimension not in DIMENSIONS:
        raise RuleError(f"{where}: unknown dimension {dimension!r}; known: {list(DIMENSIONS)}")
    options = {k: v for k, v in spec.items() if k in allowed | required and k not in ("field", "fields")}
    fields_value = spec.get("fields") or []
    if not isinstance(fields_value, list):
        raise RuleError(f"{where}.fields: expected a list of field names")
    if kind == "format" and ("pattern" in options) == ("format" in options):
        raise RuleError(f"{where} (format): give exactly one of 'pattern' (a regular expression) or 'format'")
    if kind == "format" and "format" in options and options["format"] not in FORMATS:
        raise RuleError(f"{where}.format: {options['format']!r} is not one of {list(FORMATS)}")
    if kind == "format" and "pattern" in options:
        import re

        try:
            re.compile(str(options["pattern"]))
        except re.error as exc:
            raise RuleError(f"{where}.pattern: not a valid regular expression: {exc}") from exc
    if kind in ("picklist", "misspelling") and ("picklist" in options) == ("values" in options):
        raise RuleError(f"{where} ({kind}): give exactly one of 'picklist' (a governed list) or 'values'")
    if kind == "range" and "min" not in options and "max" not in options:
        raise RuleError(f"{where} (range): give 'min', 'max' or both")
    if kind == "compare" and options["op"] not in OPS:
        raise RuleError(f"{where}.op: {options['op']!r} is not one of {list(OPS)}")
    if kind == "duplicate" and options.get("key", "exact") not in DUPLICATE_KEYS:
        raise RuleError(f"{where}.key: {options['key']!r} is not one of {list(DUPLICATE_KEYS)}")
    if kind == "unreferenced" and "." not in str(options["referenced_by"]):
        raise RuleError(f"{where}.referenced_by: expected OBJECT.FIELD, e.g. opportunity.owner")
    if kind == "stale" and not isinstance(options["dates"], list):
        raise RuleError(f"{where}.dates: expected a list of date fields")
    target = spec.get("field") or (fields_value[0] if fields_value else None)
    rule_id = str(spec.get("id") or f"{spec['object']}.{target or kind}.{kind}")
    return Rule(
        id=rule_id,
        object=str(spec["object"]),
        kind=str(kind),
        dimension=str(dimension),
        field=str(target) if target else None,
        fields=tuple(str(f) for f in fields_value),
        options=options,
        when=_conditions(where, spec.get("when")),
        message=spec.get("message"),
        enabled=bool(spec.get("enabled", True)),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise RuleError(f"{path}: cannot read the rules file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise RuleError(f"{path}: expected a mapping with a 'rules' list (and optionally 'settings')")
    unknown = set(data) - {"version", "settings", "rules"}
    if unknown:
        raise RuleError(f"{path}: unknown top-level key(s) {sorted(unknown)}")
    return data


def load(extra: str | Path | None = None) -> RuleSet:
    """The shipped rules, with an extra file's rules added (same id: replaced) and its settings applied."""
    files = [SHIPPED] + ([Path(extra)] if extra else [])
    settings = dict(DEFAULT_SETTINGS)
    by_id: dict[str, Rule] = {}
    for path in files:
        data = _read(path)
        file_settings = data.get("settings") or {}
        unknown = set(file_settings) - set(DEFAULT_SETTINGS)
        if unknown:
            raise RuleError(
                f"{path}: settings: unknown key(s) {sorted(unknown)}; allowed: {sorted(DEFAULT_SETTINGS)}"
            )
        settings.update(file_settings)
        seen: set[str] = set()
        for i, spec in enumerate(data.get("rules") or []):
            where = f"{path}: rules[{i}]"
            if isinstance(spec, dict) and set(spec) <= {"id", "enabled"} and spec.get("id") in by_id:
                by_id[spec["id"]].enabled = bool(spec.get("enabled", True))  # switch a known rule on or off
                continue
            rule = parse_rule(where, spec)
            if rule.id in seen:
                raise RuleError(f"{where}: duplicate rule id {rule.id!r} in the same file")
            seen.add(rule.id)
            by_id[rule.id] = rule
    return RuleSet(rules=list(by_id.values()), settings=settings, files=[str(f) for f in files])
