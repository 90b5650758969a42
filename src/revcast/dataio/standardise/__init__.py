"""Standardisation with preview, apply and undo (issue 6, ADR 0017).

``build_preview`` lists what each kind of fix would change (and the problems it can only report);
``apply_fixes`` writes a preview's fixes as one journaled change set; ``undo`` reverses one. The value rules
are in ``rules``, picklist consolidation in ``picklists``.
"""

from revcast.dataio.standardise.apply import (
    ApplyResult,
    StandardiseError,
    applied_changesets,
    apply_fixes,
    undo,
)
from revcast.dataio.standardise.fixes import (
    DEFAULT_KINDS,
    KINDS,
    OBJECTS,
    Candidate,
    Fix,
    Preview,
    Suggestion,
)
from revcast.dataio.standardise.picklists import parse_map
from revcast.dataio.standardise.preview import build_preview

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "OBJECTS",
    "ApplyResult",
    "Candidate",
    "Fix",
    "Preview",
    "StandardiseError",
    "Suggestion",
    "applied_changesets",
    "apply_fixes",
    "build_preview",
    "parse_map",
    "undo",
]
