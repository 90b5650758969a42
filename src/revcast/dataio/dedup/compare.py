"""Comparisons: for each candidate pair and field, a comparison *level* (how well the two values agree).

A comparison turns two key values into an integer level: 0 is "different", the highest level is "exact",
levels in between are "close" by a threshold (string similarity, days apart, relative amount difference,
digits mistyped), and -1 is "missing on either side", which the model treats as no evidence at all. The levels
are what the Fellegi–Sunter model weighs; the measure beside them (similarity, days, ...) is kept for the
explanation a reviewer reads.

String similarity is rapidfuzz's normalised Indel similarity (``fuzz.ratio``/100), computed pair by pair in C
over all candidate pairs at once (``process.cpdist``, on every core): it treats a Chinese character and a
Latin letter alike, which Jaro–Winkler's prefix bonus does not serve well for names whose first characters
are a city.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz.distance import Indel, Levenshtein
from rapidfuzz.process import cpdist

MISSING = -1


@dataclass(frozen=True)
class Comparison:
    """One field's comparison.

    ``kind``: ``string`` (similarity at least t), ``edits`` (at most t typing errors), ``exact``, ``days``
    (at most t days apart) or ``relative`` (relative difference at most t). ``thresholds`` run from the
    loosest to the tightest: (0.80, 0.92) for similarities, (30, 7) for days; level i+1 means the pair
    meets threshold i, the tightest met wins. ``columns`` are prepared key columns; a ``string`` comparison
    with a second column also compares an alternative form (see ``alternative``) and keeps the better
    similarity.
    """

    name: str
    kind: str
    columns: tuple[str, ...]
    thresholds: tuple[float, ...] = ()
    alternative: str = "cross"
    """With a second column: ``cross`` compares the left key with the right record's second column (a
    person's name with first and last swapped; equal counts as exact), ``same`` compares the second columns
    of both (a company's core name; equal counts as very similar, not exact)."""
    sources: tuple[str, ...] = field(default=())
    """The raw columns shown beside the levels in an explanation."""

    @property
    def levels(self) -> int:
        """Number of levels besides "missing": different, one per threshold, exact."""
        return len(self.thresholds) + 2

    def level_names(self) -> list[str]:
        return ["different", *(self._threshold_name(t) for t in self.thresholds), "exact"]

    def _threshold_name(self, t: float) -> str:
        if self.kind == "string":
            return f"similarity >= {t:.2f}"
        if self.kind == "edits":
            return f"<= {int(t)} digits differ"
        if self.kind == "days":
            return f"<= {int(t)} days apart"
        return f"<= {t:.0%} apart"

    def compare(self, frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Levels (int8) and the measure (float32: similarity, edits, days or relative difference)."""
        if self.kind in ("days", "relative"):
            return self._numeric(frame[self.columns[0]].to_numpy(dtype="float64"), left, right)
        values = frame[self.columns[0]].to_numpy(dtype=object)
        a, b = values[left], values[right]
        present = (a != "") & (b != "")
        level = np.full(len(left), MISSING, dtype=np.int8)
        measure = np.full(len(left), np.nan, dtype=np.float32)
        idx = np.flatnonzero(present)
        if not len(idx):
            return level, measure
        pa, pb = a[idx], b[idx]
        exact = pa == pb
        if self.kind == "exact":
            level[idx] = exact.astype(np.int8)
            measure[idx] = exact.astype(np.float32)
            return level, measure
        if self.kind == "edits":
            dist = cpdist(list(pa), list(pb), scorer=Levenshtein.distance, workers=-1, dtype=np.int32)
            out = np.zeros(len(idx), dtype=np.int8)
            for i, t in enumerate(self.thresholds):
                out[dist <= t] = np.int8(i + 1)
            out[exact] = self.levels - 1
            level[idx], measure[idx] = out, dist.astype(np.float32)
            return level, measure
        sim = cpdist(list(pa), list(pb), scorer=Indel.normalized_similarity, workers=-1, dtype=np.float32)
        if len(self.columns) > 1:
            alt = frame[self.columns[1]].to_numpy(dtype=object)
            alt_b = alt[right][idx]
            alt_a = pa if self.alternative == "cross" else alt[left][idx]
            usable = (alt_a != "") & (alt_b != "")
            alt_sim = cpdist(list(alt_a), list(alt_b), scorer=Indel.normalized_similarity, workers=-1,
                             dtype=np.float32)
            sim = np.where(usable, np.maximum(sim, alt_sim), sim)
            if self.alternative == "cross":  # first and last name swapped is the same name
                exact |= usable & (alt_a == alt_b)
        out = np.zeros(len(idx), dtype=np.int8)
        for i, t in enumerate(self.thresholds):
            out[sim >= t] = np.int8(i + 1)
        out[exact] = self.levels - 1
        sim[exact] = 1.0
        level[idx], measure[idx] = out, sim
        return level, measure

    def _numeric(self, values: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = values[left], values[right]
        present = ~(np.isnan(a) | np.isnan(b))
        level = np.full(len(left), MISSING, dtype=np.int8)
        if self.kind == "days":
            diff = np.abs(a - b)
        else:
            scale = np.maximum(np.abs(a), np.abs(b))
            with np.errstate(invalid="ignore", divide="ignore"):
                diff = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
        out = np.zeros(len(left), dtype=np.int8)
        for i, t in enumerate(self.thresholds):
            out[diff <= t] = np.int8(i + 1)
        out[diff == 0] = self.levels - 1
        level[present] = out[present]
        measure = np.where(present, diff, np.nan).astype(np.float32)
        return level, measure


def compare_all(comparisons: list[Comparison], frame: pd.DataFrame, left: np.ndarray,
                right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The level matrix (pairs x comparisons, int8) and the measures (float32) for the pairs given by position."""
    levels = np.empty((len(left), len(comparisons)), dtype=np.int8)
    measures = np.empty((len(left), len(comparisons)), dtype=np.float32)
    for j, comp in enumerate(comparisons):
        levels[:, j], measures[:, j] = comp.compare(frame, left, right)
    return levels, measures
