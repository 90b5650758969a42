"""Survivorship: which value each field of a merged record keeps.

Pure Python over plain dicts (one per record, with ``id``, ``updated_at`` and a ``source``), so the rules are
tested without a database. Strategies, per field:

- ``survivor``: the surviving record's value; when it is empty, the value of the most complete record that
  has one (nothing filled in is ever thrown away for an empty value);
- ``most_complete``: the value of the record with the most fields filled in, among those that have one;
- ``most_recent``: the value of the most recently updated record, among those that have one;
- ``source_priority``: the value of the record whose source comes first in the priority list (then most
  complete), among those that have one.

Ties go to the survivor, then to the oldest record (smallest id). ``custom`` (JSON) is merged key by key with
the same rule. An explicit choice (field -> record id), as the review page makes, beats every rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

STRATEGIES = ("survivor", "most_complete", "most_recent", "source_priority")
DEFAULT_SOURCE_PRIORITY = ("manual", "import", "migration")


def empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def completeness(record: Mapping[str, Any], fields: Sequence[str]) -> int:
    """How many of ``fields`` (and custom keys) the record fills in."""
    filled = sum(0 if empty(record.get(f)) else 1 for f in fields if f != "custom")
    custom = record.get("custom") or {}
    return filled + sum(0 if empty(v) else 1 for v in custom.values())


def choose_survivor(records: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> int:
    """The default survivor: the most complete record; ties to the oldest (smallest id)."""
    return int(min(records, key=lambda r: (-completeness(r, fields), r["id"]))["id"])


def _ranked(records: Sequence[Mapping[str, Any]], survivor: int, strategy: str, fields: Sequence[str],
            priority: Sequence[str]) -> list[Mapping[str, Any]]:
    def first_survivor(r: Mapping[str, Any]) -> tuple[int, int]:
        return (0 if r["id"] == survivor else 1, r["id"])

    key: Callable[[Mapping[str, Any]], tuple[float, ...]]
    if strategy == "most_recent":
        key = lambda r: (-(r["updated_at"].timestamp() if r.get("updated_at") else 0.0), *first_survivor(r))  # noqa: E731
    elif strategy == "source_priority":
        rank = {s: i for i, s in enumerate(priority)}
        key = lambda r: (rank.get(r.get("source", ""), len(rank)), -completeness(r, fields),  # noqa: E731
                         *first_survivor(r))
    elif strategy == "most_complete":
        key = lambda r: (-completeness(r, fields), *first_survivor(r))  # noqa: E731
    else:  # survivor first, then the most complete
        key = lambda r: (*first_survivor(r)[:1], -completeness(r, fields), r["id"])  # noqa: E731
    return sorted(records, key=key)


def merged_values(records: Sequence[Mapping[str, Any]], survivor: int, fields: Sequence[str], *,
                  rules: Mapping[str, str] | None = None, default: str = "survivor",
                  choices: Mapping[str, int] | None = None,
                  priority: Sequence[str] = DEFAULT_SOURCE_PRIORITY) -> tuple[dict[str, Any], dict[str, int]]:
    """The merged record's values per field, and which record each came from."""
    rules = dict(rules or {})
    choices = dict(choices or {})
    by_id = {int(r["id"]): r for r in records}
    values: dict[str, Any] = {}
    origin: dict[str, int] = {}
    for name in fields:
        strategy = rules.get(name, default)
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown survivorship strategy {strategy!r} for {name}")
        ranked = _ranked(records, survivor, strategy, fields, priority)
        if name in choices:
            chosen = by_id[int(choices[name])]
            values[name], origin[name] = chosen.get(name), int(chosen["id"])
            continue
        if name == "custom":
            merged: dict[str, Any] = {}
            for r in reversed(ranked):  # lowest rank first, so the best-ranked record's keys win
                merged.update({k: v for k, v in (r.get("custom") or {}).items() if not empty(v)})
            values[name], origin[name] = merged, survivor
            continue
        pick = next((r for r in ranked if not empty(r.get(name))), by_id[survivor])
        values[name], origin[name] = pick.get(name), int(pick["id"])
    return values, origin
