"""What a standardisation proposes: fixes (changes an admin may apply), problems (reported, never changed)
and picklist suggestions (values outside a governed list, with the codes they probably mean).

Plain data, no database access, so the CLI, the web page and the tests share one shape.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from typing import Any

# The kinds of fix, in the order the preview shows them. "names" changes what people see, so `all` leaves
# it out: an admin asks for it by name.
KINDS: tuple[str, ...] = ("picklists", "phones", "emails", "currency", "dates", "uscc", "names")
DEFAULT_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k != "names")
OBJECTS: tuple[str, ...] = ("account", "contact", "opportunity")


@dataclass(frozen=True)
class Fix:
    """One value of one record: ``new`` replaces ``old`` when applied; ``new`` is None for a problem."""

    kind: str
    object: str
    record_id: int
    record: str
    field: str  # a model field name, or "custom.<key>" for a custom field
    old: Any
    new: Any
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Candidate:
    code: str
    label_en: str
    label_zh: str
    score: float


@dataclass
class Suggestion:
    """A stored value of a picklist-backed field that is not one of the list's active codes."""

    object: str
    field: str
    picklist: str
    value: str
    count: int
    # The code the value plainly stands for (same code or label, ignoring case, width and spaces), if any.
    exact: str | None
    candidates: list[Candidate] = dc_field(default_factory=list)
    # The code the admin confirmed (or the exact match), None while unconfirmed.
    confirmed: str | None = None

    @property
    def key(self) -> str:
        """``object.field:value``, the form `--map` takes (with ``=code``)."""
        return f"{self.object}.{self.field}:{self.value}"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["key"] = self.key
        return out


@dataclass
class Preview:
    kinds: tuple[str, ...]
    objects: tuple[str, ...]
    region: str
    fixes: list[Fix] = dc_field(default_factory=list)
    problems: list[Fix] = dc_field(default_factory=list)
    suggestions: list[Suggestion] = dc_field(default_factory=list)
    notes: list[str] = dc_field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind: values to change, records they touch, problems reported."""
        changes = Counter(f.kind for f in self.fixes)
        records = Counter(kind for kind, _o, _r in {(f.kind, f.object, f.record_id) for f in self.fixes})
        problems = Counter(p.kind for p in self.problems)
        return {
            kind: {"changes": changes[kind], "records": records[kind], "problems": problems[kind]}
            for kind in self.kinds
        }

    def by_kind(self) -> dict[str, dict[str, list[Fix]]]:
        return {
            kind: {
                "fixes": [f for f in self.fixes if f.kind == kind],
                "problems": [p for p in self.problems if p.kind == kind],
            }
            for kind in self.kinds
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "kinds": list(self.kinds),
            "objects": list(self.objects),
            "region": self.region,
            "counts": self.counts(),
            "fixes": [f.as_dict() for f in self.fixes],
            "problems": [p.as_dict() for p in self.problems],
            "suggestions": [s.as_dict() for s in self.suggestions],
            "notes": list(self.notes),
        }
