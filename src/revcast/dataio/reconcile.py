"""Reconciling a migration: the source, read again through the mapping, against what the target holds.

Per source (object): rows read, rows the mapping rejects, the count of mapped records and the sums of its
amount fields (every mapped decimal field, after the mapping's multiply and currency conversion), against
the records in the target with those keys and their sums. Mismatches: keys missing from the target, keys
the run wrote that the source no longer has ("extra"), and per-key amount differences. Then a random sample
of N mapped records (seeded reservoir over the key-ordered stream, so the same seed picks the same records)
compared field by field. The source side is computed by the same ``RowParser`` as the migration, so a
difference is a real one: a row lost, duplicated, changed since, or written by someone else.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from revcast.dataio.mapping import Mapping
from revcast.dataio.models import ChangeRecord, ImportRun
from revcast.dataio.rowparse import RowParser, SourcePlan, key_column, plan_source
from revcast.dataio.sqlsource import SqlSource
from revcast.dataio.targets import LOOKUPS, Lookups
from revcast.org.models import User

BATCH = 2000
EXAMPLES = 10


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


def _amount_fields(plan: SourcePlan) -> list[str]:
    return [
        name for name, f in plan.model_fields.items() if isinstance(f, models.DecimalField)
    ]


def _reference_text(fs: Any, instance: Any) -> str | None:
    if instance is None:
        return None
    read = LOOKUPS.get(fs.ref, {}).get(fs.by)
    return str(read(instance)) if read else str(instance.pk)


class _Object:
    """The running figures of one source."""

    def __init__(self, plan: SourcePlan, sample: int, seed: int) -> None:
        self.plan = plan
        self.amounts = _amount_fields(plan)
        self.rows = 0
        self.rejected = 0
        self.count = 0
        self.source_sums = {f: Decimal(0) for f in self.amounts}
        self.target_sums = {f: Decimal(0) for f in self.amounts}
        self.target_count = 0
        self.missing: list[str] = []
        self.missing_count = 0
        self.diffs: list[dict[str, Any]] = []
        self.diff_count = 0
        self.keys: set[Any] = set()
        self.sample_size = sample
        self.random = random.Random(seed)
        self.reservoir: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []

    def offer(self, key: Any, values: dict[str, Any], refs: dict[str, Any]) -> None:
        """Reservoir sampling (algorithm R) over the mapped records, in key order."""
        if len(self.reservoir) < self.sample_size:
            self.reservoir.append((key, values, refs))
            return
        j = self.random.randrange(self.count)
        if j < self.sample_size:
            self.reservoir[j] = (key, values, refs)


def reconcile(
    mapping: Mapping, source: SqlSource, *, run: ImportRun | None = None, sample: int = 20, seed: int = 0,
    lookups: Lookups | None = None,
) -> dict[str, Any]:
    """The reconciliation of every database source of ``mapping`` (JSON-ready; see the module doc).

    ``lookups``: indexes of the target already built (by the run just finished), reused rather than read again.
    """
    parser = RowParser(mapping, lookups)
    objects = []
    for spec in mapping.sources:
        if not spec.is_database:
            continue
        plan = plan_source(spec, mapping)
        objects.append(_reconcile_source(plan, parser, source, run, sample, seed))
    ok = all(o["ok"] for o in objects)
    return {
        "run": run.pk if run else None,
        "at": timezone.now().isoformat(),
        "source": source.url,
        "mapping": mapping.name,
        "sample_size": sample,
        "seed": seed,
        "ok": ok,
        "objects": objects,
    }


def _target_rows(plan: SourcePlan, keys: list[Any]) -> dict[Any, Any]:
    """Target records by key for one batch of keys."""
    if plan.target.model is None:  # sales_team: people are users, found by full name
        wanted = set(keys)
        return {
            u.full_name: u
            for u in User.objects.select_related("region", "manager", "team")
            if u.full_name in wanted
        } if keys else {}
    model = plan.target.model
    found = model._default_manager.filter(**{f"{plan.key}__in": keys})
    return {getattr(o, plan.key): o for o in found}


def _reconcile_source(
    plan: SourcePlan, parser: RowParser, source: SqlSource, run: ImportRun | None, sample: int, seed: int
) -> dict[str, Any]:
    spec = plan.spec
    obj = _Object(plan, sample, seed)
    column = key_column(plan)
    for batch in source.stream(spec.table, spec.query, column, BATCH):
        parsed = []
        for row in batch:
            obj.rows += 1
            values, refs, issues = parser.parse(plan, spec.origin, row)
            key = values.get(plan.key)
            if issues or key is None or key in obj.keys:
                obj.rejected += 1
                continue
            obj.keys.add(key)
            obj.count += 1
            for name in obj.amounts:
                if values.get(name) is not None:
                    obj.source_sums[name] += values[name]
            parsed.append((key, values))
            obj.offer(key, values, refs)
        parser.issues.clear()
        stored = _target_rows(plan, [k for k, _ in parsed])
        for key, values in parsed:
            target = stored.get(key)
            if target is None:
                obj.missing_count += 1
                if len(obj.missing) < EXAMPLES:
                    obj.missing.append(str(key))
                continue
            obj.target_count += 1
            for name in obj.amounts:
                stored_value = getattr(target, name)
                if stored_value is not None:
                    obj.target_sums[name] += stored_value
                if values.get(name) != stored_value:
                    obj.diff_count += 1
                    if len(obj.diffs) < EXAMPLES:
                        obj.diffs.append(
                            {"key": str(key), "field": name, "source": _text(values.get(name)),
                             "target": _text(stored_value)}
                        )
    extra, extra_count = _extra_keys(plan, run, obj.keys)
    sampled = _compare_sample(plan, obj)
    sums = {
        name: {
            "source": str(obj.source_sums[name]),
            "target": str(obj.target_sums[name]),
            "difference": str(obj.target_sums[name] - obj.source_sums[name]),
        }
        for name in obj.amounts
    }
    sample_equal = sum(1 for s in sampled if s["equal"])
    ok = (
        obj.count == obj.target_count
        and obj.missing_count == 0
        and extra_count == 0
        and obj.diff_count == 0
        and all(v["source"] == v["target"] or Decimal(v["difference"]) == 0 for v in sums.values())
        and sample_equal == len(sampled)
    )
    return {
        "source": spec.name,
        "object": spec.object,
        "origin": spec.origin,
        "key": plan.key,
        "source_rows": obj.rows,
        "source_rejected": obj.rejected,
        "source_count": obj.count,
        "target_count": obj.target_count,
        "sums": sums,
        "missing": {"count": obj.missing_count, "examples": obj.missing},
        "extra": {"count": extra_count, "examples": extra},
        "amount_differences": {"count": obj.diff_count, "examples": obj.diffs},
        "sample": sampled,
        "sample_equal": sample_equal,
        "ok": ok,
    }


def _extra_keys(plan: SourcePlan, run: ImportRun | None, keys: set[Any]) -> tuple[list[str], int]:
    """Keys of records the run created or changed (its journal) that the source does not have (now)."""
    model = plan.target.model
    if run is None or model is None:
        return [], 0
    label = model._meta.label_lower
    pks: set[Any] = set()
    records = ChangeRecord.objects.filter(
        changeset__run=run, changeset__kind=run.kind, model=label,
        action__in=[ChangeRecord.Action.CREATE, ChangeRecord.Action.UPDATE],
    )
    for action, rows in records.values_list("action", "rows"):
        pks.update(rows if action == ChangeRecord.Action.CREATE else (r["pk"] for r in rows))
    extra: list[str] = []
    count = 0
    ordered = sorted(pks)
    for start in range(0, len(ordered), BATCH):
        chunk = ordered[start : start + BATCH]
        for key in model._default_manager.filter(pk__in=chunk).values_list(plan.key, flat=True):
            if key not in keys:
                count += 1
                if len(extra) < EXAMPLES:
                    extra.append(str(key))
    return extra, count


def _compare_sample(plan: SourcePlan, obj: _Object) -> list[dict[str, Any]]:
    """Each sampled record, field by field: the mapped source value against the stored one."""
    stored = _target_rows(plan, [k for k, _, _ in obj.reservoir])
    result = []
    for key, values, refs in sorted(obj.reservoir, key=lambda item: str(item[0])):
        target = stored.get(key)
        fields = []
        for fs in plan.spec.fields:
            name = fs.target
            if target is None:
                fields.append({"field": name, "source": _shown(plan, fs, values, refs), "target": None,
                               "equal": False})
                continue
            src, tgt = _pair(plan, fs, values, refs, target)
            fields.append({"field": name, "source": src, "target": tgt, "equal": src == tgt})
        result.append({
            "key": str(key),
            "found": target is not None,
            "equal": target is not None and all(f["equal"] for f in fields),
            "fields": fields,
        })
    return result


def _shown(plan: SourcePlan, fs: Any, values: dict[str, Any], refs: dict[str, Any]) -> str | None:
    if fs.target in refs:
        return _text(refs[fs.target][1])
    if fs.target.startswith("custom."):
        return _text((values.get("custom") or {}).get(fs.target.removeprefix("custom.")))
    value = values.get(fs.target)
    return _reference_text(fs, value) if fs.ref else _text(value)


def _pair(
    plan: SourcePlan, fs: Any, values: dict[str, Any], refs: dict[str, Any], target: Any
) -> tuple[str | None, str | None]:
    """(source, target) texts of one field, compared as the target stores them."""
    name = fs.target
    if plan.target.model is None:  # sales_team: the user and what upsert_sales_team made of the row
        user = target
        stored = {
            "name": user.full_name,
            "manager": user.manager.full_name if user.manager_id else None,
            "region": user.region.name if user.region_id else None,
            "team": user.team.name if user.team_id else None,
            "email": user.email,
        }.get(name)
        return _text(values.get(name)), _text(stored)
    if name.startswith("custom."):
        key = name.removeprefix("custom.")
        return _text((values.get("custom") or {}).get(key)), _text((target.custom or {}).get(key))
    if name in refs:  # a self reference, linked after the rows: compare by the lookup attribute
        fs_ref, raw = refs[name]
        linked = getattr(target, name)
        return _text(raw), _reference_text(fs_ref, linked)
    if fs.ref:
        return _reference_text(fs, values.get(name)), _reference_text(fs, getattr(target, name))
    return _text(values.get(name)), _text(getattr(target, name))
