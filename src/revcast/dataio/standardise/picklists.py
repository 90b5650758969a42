"""Picklist consolidation: stored values of picklist-backed fields that are not governed codes, with the codes
they probably mean.

A value that plainly is a code or a label (same text ignoring case, width, spaces and separators: "United
States" for US, "科技" for technology) is confirmed by itself. Anything else gets fuzzy candidates (rapidfuzz
against the codes and the English and Chinese labels) and waits for an admin to confirm one; one confirmation
maps every record holding that value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Model, QuerySet
from django.db.models.fields.json import KeyTextTransform
from rapidfuzz import fuzz, process

from revcast.core.models import CustomField, Picklist, PicklistValue
from revcast.core.picklists import match_picklist_value, values_of
from revcast.dataio.normalize import nfkc_casefold
from revcast.dataio.standardise.fixes import OBJECTS, Candidate, Suggestion
from revcast.dataio.standardise.records import model_for

# Model fields whose values are codes of a governed picklist. Account.country holds free text today; the
# country list governs it (ISO 3166 codes).
STANDARD_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("account", "industry", "industry"),
    ("account", "size", "account_size"),
    ("account", "country", "country"),
    ("opportunity", "loss_reason", "loss_reason"),
)
SCORE_CUTOFF = 70.0
MAX_CANDIDATES = 3

_SEPARATORS = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class GovernedField:
    object: str
    field: str  # model field, or "custom.<key>"
    picklist: str

    @property
    def custom_key(self) -> str | None:
        return self.field.removeprefix("custom.") if self.field.startswith("custom.") else None


def governed_fields(objects: Iterable[str]) -> list[GovernedField]:
    """The standard picklist fields whose picklist exists, then active custom picklist fields."""
    wanted = set(objects)
    existing = set(Picklist.objects.values_list("key", flat=True))
    out = [GovernedField(o, f, p) for o, f, p in STANDARD_FIELDS if o in wanted and p in existing]
    custom = CustomField.objects.filter(
        type=CustomField.Type.PICKLIST, active=True, picklist__isnull=False, object__in=wanted
    ).select_related("picklist")
    out.extend(GovernedField(cf.object, f"custom.{cf.key}", cf.picklist.key) for cf in custom)
    return out


def matching_key(text: str) -> str:
    """Case, width, spaces and separators ignored: "Real-Estate", "real_estate" and "ＲＥＡＬ ＥＳＴＡＴＥ" agree."""
    return _SEPARATORS.sub(" ", nfkc_casefold(text)).strip()


def _records(gf: GovernedField) -> QuerySet:
    model: type[Model] = model_for(gf.object)
    key = gf.custom_key
    if key is None:
        return model._default_manager.exclude(**{gf.field: ""}).exclude(**{f"{gf.field}__isnull": True})
    return model._default_manager.annotate(_value=KeyTextTransform(key, "custom")).exclude(
        _value__isnull=True
    )


def stored_values(gf: GovernedField) -> dict[str, int]:
    """Distinct stored values of the field with how many records hold each."""
    column = "_value" if gf.custom_key else gf.field
    rows = _records(gf).values(column).annotate(n=Count("pk")).order_by()
    counts: dict[str, int] = {}
    for row in rows:
        value = row[column]
        if value is None or value == "":
            continue
        counts[str(value)] = counts.get(str(value), 0) + row["n"]
    return counts


def records_with(gf: GovernedField, value: str) -> QuerySet:
    key = gf.custom_key
    model: type[Model] = model_for(gf.object)
    if key is None:
        return model._default_manager.filter(**{gf.field: value})
    return model._default_manager.annotate(_value=KeyTextTransform(key, "custom")).filter(_value=value)


def candidates_for(value: str, values: list[PicklistValue]) -> tuple[str | None, list[Candidate]]:
    """(the code the value plainly is, or None; up to three fuzzy candidates, best first)."""
    wanted = matching_key(value)
    for v in values:
        if wanted and wanted in {matching_key(v.value), matching_key(v.label_en), matching_key(v.label_zh)}:
            return v.value, [Candidate(v.value, v.label_en, v.label_zh, 100.0)]
    choices: dict[int, str] = {}
    owners: list[PicklistValue] = []
    for v in values:
        for text in (v.value, v.label_en, v.label_zh):
            if text:
                choices[len(owners)] = matching_key(text)
                owners.append(v)
    best: dict[str, float] = {}
    for _choice, score, idx in process.extract(
        wanted, choices, scorer=fuzz.WRatio, limit=None, score_cutoff=SCORE_CUTOFF
    ):
        code = owners[idx].value
        best[code] = max(best.get(code, 0.0), float(score))
    by_code = {v.value: v for v in values}
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CANDIDATES]
    return None, [
        Candidate(code, by_code[code].label_en, by_code[code].label_zh, round(score, 1))
        for code, score in ranked
    ]


def suggestions(objects: Iterable[str], confirmations: dict[str, str | None]) -> list[Suggestion]:
    """Every non-governed stored value, with candidates; ``confirmations`` maps ``Suggestion.key`` to the
    code an admin chose (None or "" to leave the value alone, even when it plainly is a label)."""
    out = []
    for gf in governed_fields(objects):
        values = values_of(gf.picklist)
        codes = {v.value for v in values}
        for value, count in sorted(stored_values(gf).items()):
            if value in codes:
                continue
            exact, candidates = candidates_for(value, values)
            s = Suggestion(gf.object, gf.field, gf.picklist, value, count, exact, candidates)
            if s.key in confirmations:
                chosen = confirmations[s.key]
                s.confirmed = (match_picklist_value(values, chosen) or chosen) if chosen else None
            else:
                s.confirmed = exact
            if s.confirmed is not None and s.confirmed not in codes:
                raise ValueError(
                    f"{s.key}: {s.confirmed!r} is not an active value of picklist {gf.picklist!r} "
                    f"({', '.join(sorted(codes))})"
                )
            out.append(s)
    return out


def field_of(s: Suggestion) -> GovernedField:
    return GovernedField(s.object, s.field, s.picklist)


def parse_map(texts: Iterable[str], objects: Iterable[str]) -> dict[str, str | None]:
    """``[object.]field:value=code`` (as the CLI's --map takes it) -> {Suggestion.key: code}.

    The object may be left out when only one of ``objects`` has a picklist field of that name. An empty code
    leaves the value alone. The value may hold ':' and '='; the field cannot, and the code holds no '='.
    """
    fields = governed_fields(objects)
    out: dict[str, str | None] = {}
    for text in texts:
        head, sep, rest = text.partition(":")
        value, eq, code = rest.rpartition("=")
        if not sep or not eq or not head or not value:
            raise ValueError(
                f"--map {text!r}: expected [object.]field:value=code, e.g. industry:technolgy=technology"
            )
        obj, field = "", head
        for name in OBJECTS:
            if head.startswith(name + "."):
                obj, field = name, head.removeprefix(name + ".")
        matches = [g for g in fields if g.field == field and (not obj or g.object == obj)]
        if not matches:
            known = ", ".join(sorted(f"{g.object}.{g.field}" for g in fields)) or "none"
            raise ValueError(f"--map {text!r}: {head!r} is not a picklist field (known: {known})")
        if len(matches) > 1:
            raise ValueError(
                f"--map {text!r}: say which object, e.g. {matches[0].object}.{field}:{value}={code}"
            )
        out[f"{matches[0].object}.{matches[0].field}:{value}"] = code.strip() or None
    return out
