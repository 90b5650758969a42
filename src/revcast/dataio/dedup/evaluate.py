"""Pairwise precision and recall of a result against known entities (the generated sets' ``entity`` column).

The pairs counted are those *a merge would join*: every pair of records in one predicted cluster (so a wrong
link that chains two companies costs all the pairs it joins), against every pair of records of one entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import pandas as pd


@dataclass(frozen=True)
class Scores:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(groups: pd.Series) -> set[tuple[int, int]]:
    """Pairs of ids (ascending) that share a group; ``groups`` maps id -> group."""
    out: set[tuple[int, int]] = set()
    for _, members in groups.groupby(groups):
        ids = sorted(int(i) for i in members.index)
        out.update(combinations(ids, 2))
    return out


def pairwise(truth: pd.DataFrame, cluster_of: pd.Series) -> Scores:
    """``truth``: ``id`` and ``entity`` columns; ``cluster_of``: record id -> cluster id (clustered records)."""
    sizes = truth.groupby("entity")["id"].transform("size")
    true = _pairs(truth.loc[sizes > 1].set_index("id")["entity"])
    predicted = _pairs(cluster_of)
    return Scores(true_pairs=len(true), predicted_pairs=len(predicted), correct_pairs=len(true & predicted))
