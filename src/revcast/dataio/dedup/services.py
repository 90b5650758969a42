"""Duplicates in the database: find them (through ``core.visibility``) and merge a cluster, audited and undoable.

A merge runs inside one journal change set (``dataio.journal.open_changeset(kind="merge")``):

1. the survivor gets the merged values (``survivorship``); accounts and contacts through the journal's
   ``update``; an opportunity through ``pipeline.services.update_opportunity``, so its field history records
   the change (source ``merge``), the history rows it writes are recorded as created;
2. EVERY row that points at a merged-away record is re-pointed to the survivor: the relations are found with
   ``_meta`` (all reverse one-to-many and one-to-one relations, hidden ones too), so a model added later is
   covered without touching this file. An account's subsidiaries follow it; a survivor that would become its
   own parent gets no parent instead;
3. the merged-away records are deleted through the journal, which snapshots them.

An opportunity's field history is the exception, on purpose: it is NOT moved to the survivor, because the
forecast rebuilds each deal's state at past dates from its own history, and another deal's stage changes
would corrupt it. The merged-away deal's history is snapshotted with it (the journal deletes it with the
deal) and comes back with an undo. Its activities do move.

``undo_merge`` undoes the change set: the deleted records come back with their ids, the re-pointed rows point
back, the survivor gets its old values. It refuses (``UndoConflict``) when a record changed since.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import models, transaction

from revcast.core import visibility
from revcast.dataio import history
from revcast.dataio.dedup import survivorship
from revcast.dataio.dedup.engine import DedupResult, find_duplicates
from revcast.dataio.dedup.specs import ObjectSpec, spec_for
from revcast.dataio.journal import open_changeset, undo_changeset
from revcast.dataio.models import ChangeSet

ACCOUNT_CUSTOM_KEYS = {"phone": ("phone", "telephone", "tel"), "email": ("email", "e-mail"),
                       "uscc": ("uscc", "credit_code", "unified_social_credit_code")}
"""Account fields kept in ``custom``: the first key present is used for matching."""
CONTACT_CUSTOM_KEYS = {"birth_date": ("birth_date", "birthday", "date_of_birth")}

MERGE_FIELDS = {
    "accounts": ("name", "industry", "size", "annual_revenue", "revenue_currency", "employees",
                 "year_established", "country", "location", "parent", "owner", "external_id", "custom"),
    "contacts": ("first_name", "last_name", "title", "email", "phone", "account", "owner", "external_id"),
    "opportunities": ("name", "account", "product", "amount", "currency", "owner", "created_on", "engaged_on",
                      "expected_close_on", "closed_on", "stage", "probability", "forecast_category",
                      "loss_reason", "custom"),
}
"""The fields a merge decides. ``external_id`` is unique: it is taken from one record and the others' ids
are cleared (they are deleted anyway)."""

DEFAULT_RULES: dict[str, dict[str, str]] = {
    "accounts": {},
    "contacts": {"title": "most_recent", "phone": "most_recent", "email": "most_recent"},
    "opportunities": {},
}
"""Per object, field -> strategy where it differs from ``survivor`` (the survivor's value, gaps filled from the
most complete record). Override per call, or with the setting REVCAST_DEDUP_RULES."""

NOT_REPOINTED = {("pipeline.opportunity", "pipeline.opportunityfieldhistory")}
"""(merged model, related model) pairs left alone: see the module docstring."""


class MergeError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    spec: ObjectSpec
    model: type[models.Model]
    scope: Any


def target(obj: str) -> Target:
    from revcast.customers.models import Account, Contact
    from revcast.pipeline.models import Opportunity

    spec = spec_for(obj)
    model, scope = {"accounts": (Account, visibility.accounts), "contacts": (Contact, visibility.contacts),
                    "opportunities": (Opportunity, visibility.opportunities)}[spec.name]
    return Target(spec, model, scope)


def _custom_value(custom: Any, names: Sequence[str]) -> str:
    if not isinstance(custom, dict):
        return ""
    for name in names:
        value = custom.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def load_frame(obj: str, user: Any = None) -> pd.DataFrame:
    """The records the user may see, in the engine's columns (``specs``)."""
    t = target(obj)
    qs = t.scope(user, t.model.objects.all()).order_by("pk")
    if t.spec.name == "accounts":
        rows = list(qs.values("id", "name", "location", "country", "custom"))
        for row in rows:
            custom = row.pop("custom")
            for column, names in ACCOUNT_CUSTOM_KEYS.items():
                row[column] = _custom_value(custom, names)
        columns = ["id", "name", "phone", "email", "location", "country", "uscc"]
    elif t.spec.name == "contacts":
        has_custom = any(f.name == "custom" for f in t.model._meta.concrete_fields)
        fields = ["id", "first_name", "last_name", "phone", "email", "account_id", *(["custom"] if has_custom else [])]
        rows = list(qs.values(*fields))
        for row in rows:
            custom = row.pop("custom", None)
            row["birth_date"] = _custom_value(custom, CONTACT_CUSTOM_KEYS["birth_date"])
        columns = ["id", "first_name", "last_name", "phone", "email", "account_id", "birth_date"]
    else:
        rows = list(qs.values("id", "name", "account_id", "product_id", "amount", "closed_on", "expected_close_on",
                              "owner_id", "created_on"))
        for row in rows:
            close = row.pop("closed_on") or row.pop("expected_close_on", None)
            row.pop("expected_close_on", None)
            row["close_date"] = close.isoformat() if close else ""
            row["created_on"] = row["created_on"].isoformat() if row["created_on"] else ""
            row["amount"] = float(row["amount"]) if row["amount"] is not None else None
        columns = ["id", "name", "account_id", "product_id", "amount", "close_date", "owner_id", "created_on"]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for column in ("account_id", "product_id", "owner_id"):
        if column in frame.columns:
            frame[column] = frame[column].astype("Int64")
    return frame


def find(obj: str, user: Any = None, threshold: float | None = None) -> DedupResult:
    """Duplicate clusters among the records ``user`` may see (``None``: the system, everything)."""
    frame = load_frame(obj, user)
    region = getattr(settings, "REVCAST_PHONE_REGION", "CN")
    return find_duplicates(frame, obj, threshold=threshold, region=region)


# ------------------------------------------------------------------------------------------------ merge


def _record(obj: models.Model, fields: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": obj.pk, "updated_at": getattr(obj, "updated_at", None)}
    for name in fields:
        f = obj._meta.get_field(name)
        out[name] = getattr(obj, f.attname)
    custom = out.get("custom") if "custom" in fields else getattr(obj, "custom", None)
    source = custom.get("source") if isinstance(custom, dict) else None
    out["source"] = source or ("import" if getattr(obj, "external_id", None) else "manual")
    return out


def _reverse_relations(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    """Every relation pointing at ``model`` from a concrete foreign key (hidden ``related_name="+"`` too)."""
    return [f for f in model._meta.get_fields(include_hidden=True)
            if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)]


def rules_for(obj: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    name = spec_for(obj).name
    configured = getattr(settings, "REVCAST_DEDUP_RULES", {}).get(name, {})
    return {**DEFAULT_RULES[name], **configured, **(overrides or {})}


def plan_merge(obj: str, ids: Sequence[int], *, survivor: int | None = None,
               rules: Mapping[str, str] | None = None, choices: Mapping[str, int] | None = None,
               user: Any = None) -> dict[str, Any]:
    """What a merge of ``ids`` would do, without doing it: the survivor, each field's value and origin."""
    t = target(obj)
    fields = MERGE_FIELDS[t.spec.name]
    objs = list(t.scope(user, t.model.objects.filter(pk__in=ids)).order_by("pk"))
    if len(objs) != len(set(ids)):
        raise MergeError("some records do not exist or are not visible to you")
    if len(objs) < 2:
        raise MergeError("a merge needs at least two records")
    records = [_record(o, fields) for o in objs]
    chosen = survivor if survivor is not None else survivorship.choose_survivor(records, fields)
    if chosen not in {o.pk for o in objs}:
        raise MergeError(f"the survivor {chosen} is not one of the records merged")
    values, origin = survivorship.merged_values(records, chosen, fields, rules=rules_for(obj, rules),
                                                choices=choices)
    return {"survivor": chosen, "records": records, "values": values, "origin": origin, "objects": objs}


def merge(obj: str, ids: Sequence[int], *, survivor: int | None = None, rules: Mapping[str, str] | None = None,
          choices: Mapping[str, int] | None = None, user: Any = None) -> ChangeSet:
    """Merge the records ``ids`` into one; the change set that records it (kind ``merge``)."""
    t = target(obj)
    with transaction.atomic():
        list(t.model.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
        plan = plan_merge(obj, ids, survivor=survivor, rules=rules, choices=choices, user=user)
        keep = next(o for o in plan["objects"] if o.pk == plan["survivor"])
        losers = [o.pk for o in plan["objects"] if o.pk != keep.pk]
        summary = f"merge {t.spec.name} {', '.join(str(pk) for pk in losers)} into {keep.pk}"
        details = {"object": t.spec.name, "survivor": keep.pk, "merged": list(losers)}
        with open_changeset(kind=ChangeSet.Kind.MERGE, summary=summary, user=user, details=details) as rec:
            changes = _changes(t.model, keep, plan["values"], losers)
            if "external_id" in changes:  # unique: free it on the records that go first
                rec.update_queryset(t.model._base_manager.filter(pk__in=losers), external_id=None)
            if t.spec.name == "opportunities":
                _update_opportunity(rec, keep, changes, user)
            elif changes:
                rec.update(keep, **changes)
            _repoint(rec, t.model, keep, losers)
            rec.delete(t.model._base_manager.filter(pk__in=losers))
    return rec.changeset


def _changes(model: type[models.Model], keep: models.Model, values: Mapping[str, Any],
             losers: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        f = model._meta.get_field(name)
        if isinstance(f, models.ForeignKey) and f.related_model is model and value in (keep.pk, *losers):
            # a parent inside the cluster: the merged record cannot be its own parent
            value = getattr(keep, f.attname) if getattr(keep, f.attname) not in (keep.pk, *losers) else None
        current = getattr(keep, f.attname)
        if value != current:
            out[f.attname if isinstance(f, models.ForeignKey) else name] = value
    return out


def _repoint(rec: Any, model: type[models.Model], keep: models.Model, losers: Sequence[int]) -> None:
    for rel in _reverse_relations(model):
        related = rel.related_model
        if (model._meta.label_lower, related._meta.label_lower) in NOT_REPOINTED:
            continue
        field = rel.field
        qs = related._base_manager.filter(**{f"{field.name}__in": losers})
        if related is model:
            qs = qs.exclude(pk__in=[keep.pk, *losers])
        rec.update_queryset(qs, **{field.name: keep})


def _update_opportunity(rec: Any, keep: models.Model, changes: Mapping[str, Any], user: Any) -> None:
    """Through pipeline.services (history, reached stage, version), recorded in the change set."""
    from revcast.pipeline import services as pipeline
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    if not changes:
        return
    # not the version: it only moves forward, and the journal's undo bumps it again itself
    tracked = [f.attname for f in Opportunity._meta.concrete_fields if f.attname not in ("id", "version")]
    by_attname = {f.attname: f for f in Opportunity._meta.concrete_fields}
    before = Opportunity.objects.filter(pk=keep.pk).values(*tracked).get()
    source = f"merge:{rec.changeset.pk}"
    named = {}
    for attname, value in changes.items():
        f = by_attname[attname]
        named[f.name] = (f.related_model._default_manager.get(pk=value) if value is not None else None) \
            if isinstance(f, models.ForeignKey) else value
    pipeline.update_opportunity(keep, changed_by=user, source=source, **named)
    after = Opportunity.objects.filter(pk=keep.pk).values(*tracked).get()
    diff = {}
    for attname in tracked:
        if before[attname] != after[attname]:
            diff[by_attname[attname].name] = (before[attname], after[attname])
    rec.updated(Opportunity, [(keep.pk, diff)])
    rec.created(OpportunityFieldHistory, OpportunityFieldHistory.objects.filter(
        opportunity_id=keep.pk, source=source).values_list("id", flat=True))


def undo_merge(changeset: ChangeSet, user: Any = None) -> ChangeSet:
    if changeset.kind != ChangeSet.Kind.MERGE:
        raise MergeError(f"change set #{changeset.pk} is a {changeset.kind}, not a merge")
    return undo_changeset(changeset, user=user)


def recent_merges(limit: int = 50) -> list[ChangeSet]:
    return list(history.changesets(ChangeSet.Kind.MERGE)[:limit])


SUMMARY = re.compile(r"^merge (?P<object>\w+) (?P<merged>[\d, ]+) into (?P<survivor>\d+)$")


def merge_info(changeset: ChangeSet) -> dict[str, Any]:
    """The object, survivor and merged-away ids of a merge change set (its details; the summary text of merges
    recorded before details existed)."""
    if changeset.details.get("survivor") is not None:
        d = changeset.details
        return {"object": d["object"], "survivor": int(d["survivor"]), "merged": [int(x) for x in d["merged"]]}
    match = SUMMARY.match(changeset.summary or "")
    if not match:
        return {"object": "", "survivor": None, "merged": []}
    return {"object": match["object"], "survivor": int(match["survivor"]),
            "merged": [int(x) for x in match["merged"].split(",")]}
