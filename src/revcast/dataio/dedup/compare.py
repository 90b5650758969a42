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

A comparison with ``tf=True`` also returns, for each pair that agrees exactly, WHICH value it agrees on and
how many records hold each value (:class:`Agreed`). Two records both called "Moto Industries", a name that
twenty companies bear, say less than two records called "Hexjorto Materials"; the model weighs such a pair
by that value's own ``u`` instead of the average over all values (see ``model.value_u``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz.distance import Indel, Levenshtein
from rapidfuzz.process import cpdist

MISSING = -1


@dataclass(frozen=True)
class Agreed:
    """For a term-frequency comparison: per pair, the index of the value both records hold (-1 where they do
    not agree exactly), and per value, how many records hold it."""

    codes: np.ndarray
    counts: np.ndarray
    present: int
    """Records with any value (the denominator of a frequency)."""


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
    required: bool = False
    """A pair that disagrees here (level "different", both values present) is not a duplicate, whatever
    else agrees: for an opportunity, two deals of one account and product whose amounts, close dates or
    creation dates are far apart are repeat business, and no weight of evidence should join them."""
    tf: bool = False
    """Term-frequency adjusted: for a pair at the exact level (and at the "same core" level of an
    ``alternative="same"`` comparison), report how common the agreed value is."""

    @property
    def core_level(self) -> bool:
        """An ``alternative="same"`` comparison has a level of its own for "the second columns are equal"
        (a company's core name: the same words without legal form and place), just below exact."""
        return len(self.columns) > 1 and self.alternative == "same"

    @property
    def levels(self) -> int:
        """Number of levels besides "missing": different, one per threshold, (same core,) exact."""
        return len(self.thresholds) + 2 + int(self.core_level)

    def level_names(self) -> list[str]:
        core = ["same core name"] if self.core_level else []
        return ["different", *(self._threshold_name(t) for t in self.thresholds), *core, "exact"]

    def _threshold_name(self, t: float) -> str:
        if self.kind == "string":
            return f"similarity >= {t:.2f}"
        if self.kind == "edits":
            return f"<= {int(t)} digits differ"
        if self.kind == "days":
            return f"<= {int(t)} days apart"
        return f"<= {t:.0%} apart"

    def compare(self, frame: pd.DataFrame, left: np.ndarray,
                right: np.ndarray) -> tuple[np.ndarray, np.ndarray, Agreed | None]:
        """Levels (int8), the measure (float32: similarity, edits, days or relative difference) and, for a
        ``tf`` comparison, the values agreed on (:class:`Agreed`; None for other comparisons)."""
        if self.kind in ("days", "relative"):
            level, measure = self._numeric(frame[self.columns[0]].to_numpy(dtype="float64"), left, right)
            return level, measure, None
        values = frame[self.columns[0]].to_numpy(dtype=object)
        a, b = values[left], values[right]
        present = (a != "") & (b != "")
        level = np.full(len(left), MISSING, dtype=np.int8)
        measure = np.full(len(left), np.nan, dtype=np.float32)
        codes = np.full(len(left), -1, dtype=np.int64) if self.tf else None
        value_codes, counts = _value_codes(values) if self.tf else (None, None)
        idx = np.flatnonzero(present)
        tf = None
        if codes is not None and counts is not None:
            tf = Agreed(codes, counts, int(counts.sum()))
        if not len(idx):
            return level, measure, tf
        pa, pb = a[idx], b[idx]
        exact = pa == pb
        if codes is not None and value_codes is not None:
            codes[idx[exact]] = value_codes[left[idx[exact]]]
        if self.kind == "exact":
            level[idx] = exact.astype(np.int8)
            measure[idx] = exact.astype(np.float32)
            return level, measure, tf
        if self.kind == "edits":
            dist = cpdist(list(pa), list(pb), scorer=Levenshtein.distance, workers=-1, dtype=np.int32)
            out = np.zeros(len(idx), dtype=np.int8)
            for i, t in enumerate(self.thresholds):
                out[dist <= t] = np.int8(i + 1)
            out[exact] = self.levels - 1
            level[idx], measure[idx] = out, dist.astype(np.float32)
            return level, measure, tf
        todo = np.flatnonzero(~exact)  # exact pairs need no similarity: it is 1
        sim = np.ones(len(idx), dtype=np.float32)
        sim[todo] = cpdist(list(pa[todo]), list(pb[todo]), scorer=Indel.normalized_similarity, workers=-1,
                           dtype=np.float32)
        same_core = np.zeros(len(idx), dtype=bool)
        if len(self.columns) > 1:
            alt = frame[self.columns[1]].to_numpy(dtype=object)
            alt_b = alt[right[idx[todo]]]
            alt_a = pa[todo] if self.alternative == "cross" else alt[left[idx[todo]]]
            usable = (alt_a != "") & (alt_b != "")
            alt_sim = cpdist(list(alt_a), list(alt_b), scorer=Indel.normalized_similarity, workers=-1,
                             dtype=np.float32)
            sim[todo] = np.where(usable, np.maximum(sim[todo], alt_sim), sim[todo])
            agree = usable & (alt_a == alt_b)
            if self.alternative == "cross":  # first and last name swapped is the same name
                exact[todo[agree]] = True
            else:  # the same core name: its own level, weighed by how common that core is
                same_core[todo[agree]] = True
                if codes is not None and counts is not None:
                    alt_codes, alt_counts = _value_codes(alt)
                    codes[idx[todo[agree]]] = len(counts) + alt_codes[left[idx[todo[agree]]]]
                    tf = Agreed(codes, np.concatenate([counts, alt_counts]), int(counts.sum()))
        out = np.zeros(len(idx), dtype=np.int8)
        for i, t in enumerate(self.thresholds):
            out[sim >= t] = np.int8(i + 1)
        out[same_core] = self.levels - 2
        out[exact] = self.levels - 1
        sim[exact] = 1.0
        level[idx], measure[idx] = out, sim
        return level, measure, tf

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


def _value_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per record, the index of its value (-1 for no value, ""), and per value how many records hold it."""
    codes, uniques = pd.factorize(values)
    codes = codes.astype(np.int64)
    empty = np.flatnonzero(uniques == "")
    if len(empty):
        codes[codes == empty[0]] = -1
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques)).astype(np.float64)
    return codes, counts


def compare_all(comparisons: list[Comparison], frame: pd.DataFrame, left: np.ndarray,
                right: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, Agreed]]:
    """The level matrix (pairs x comparisons, int8), the measures (float32) and, per ``tf`` comparison (by
    index), the values agreed on, for the pairs given by position."""
    levels = np.empty((len(left), len(comparisons)), dtype=np.int8)
    measures = np.empty((len(left), len(comparisons)), dtype=np.float32)
    agreed: dict[int, Agreed] = {}
    for j, comp in enumerate(comparisons):
        levels[:, j], measures[:, j], tf = comp.compare(frame, left, right)
        if tf is not None:
            agreed[j] = tf
    return levels, measures, agreed
