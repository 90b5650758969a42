"""Find duplicates in a frame: keys, blocking, comparisons, the unsupervised Fellegi–Sunter model, clusters.

``find_duplicates(frame, "accounts")`` returns a :class:`DedupResult`: every candidate pair scored (match
weight and probability, the level of each comparison), the pairs at or above the threshold, and the clusters
they form (connected components: if A matches B and B matches C, the three are one cluster for review). A
cluster's id is the smallest record id in it, so the same data gives the same ids run after run.

Pure pandas/numpy/scipy/rapidfuzz: no Django. ``revcast.dataio.dedup.services`` feeds it from the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from revcast.dataio.dedup import model as fs
from revcast.dataio.dedup.blocking import candidate_pairs
from revcast.dataio.dedup.compare import MISSING, Agreed, compare_all
from revcast.dataio.dedup.specs import ObjectSpec, spec_for

RANDOM_PAIRS = 500_000
"""Random record pairs drawn to estimate ``u`` (all pairs when there are fewer)."""
VALUE_U_ROUNDS = 5
"""At most this many rounds of value-specific u and match probabilities (``model.value_u``)."""


@dataclass
class DedupResult:
    spec: ObjectSpec
    frame: pd.DataFrame
    """The input records (``id`` plus the spec's columns), in input order."""
    ids: np.ndarray
    left: np.ndarray
    right: np.ndarray
    """Positions of the candidate pairs in ``frame``."""
    levels: np.ndarray
    measures: np.ndarray
    tf: np.ndarray
    """The value-specific u of the agreed value per pair and comparison (NaN where not adjusted)."""
    weight: np.ndarray
    probability: np.ndarray
    model: fs.FellegiSunter
    threshold: float
    cluster_of: pd.Series
    """Record id -> cluster id, for the records in a cluster of two or more."""
    stats: dict[str, Any] = field(default_factory=dict)
    _by_cluster: dict[int, np.ndarray] | None = field(default=None, repr=False)

    def clusters(self) -> dict[int, list[int]]:
        """Cluster id -> member record ids (ascending), ordered by cluster id."""
        grouped: dict[int, list[int]] = {}
        for rid, cid in sorted(self.cluster_of.items(), key=lambda kv: (kv[1], kv[0])):
            grouped.setdefault(int(cid), []).append(int(rid))
        return grouped

    def pair_indices_by_cluster(self) -> dict[int, np.ndarray]:
        """Cluster id -> indices of the candidate pairs with both records in it (scored pairs, not only matches)."""
        if self._by_cluster is not None:
            return self._by_cluster
        out: dict[int, np.ndarray] = {}
        if len(self.cluster_of):
            left = self.cluster_of.reindex(self.ids[self.left]).to_numpy()
            right = self.cluster_of.reindex(self.ids[self.right]).to_numpy()
            inside = np.flatnonzero(~np.isnan(left) & (left == right))
            for cid, idx in pd.Series(inside).groupby(left[inside]).groups.items():
                out[int(cid)] = np.asarray(inside[np.asarray(idx)])
        self._by_cluster = out
        return out

    def cluster_score(self, cluster_id: int) -> float | None:
        """The best pair probability inside a cluster (as ``explain`` reports it), without explaining pairs."""
        inside = self.pair_indices_by_cluster().get(int(cluster_id))
        if inside is None or not len(inside):
            return None
        return round(float(self.probability[inside].max()), 6)

    def cluster_pairs(self, cluster_id: int) -> list[dict[str, Any]]:
        """The scored candidate pairs inside one cluster, each with per-field comparisons, best first."""
        inside = self.pair_indices_by_cluster().get(int(cluster_id), np.empty(0, dtype=np.int64))
        inside = inside[np.argsort(-self.probability[inside], kind="stable")]
        return [self.explain(int(k)) for k in inside]

    def explain(self, k: int) -> dict[str, Any]:
        """Pair ``k`` in words and numbers: both records' values, each comparison's level, measure and weight."""
        weights = self.model.field_weights(self.levels[k:k + 1], self.tf[k:k + 1])[0]
        a, b = self.frame.iloc[int(self.left[k])], self.frame.iloc[int(self.right[k])]
        fields = []
        for j, comp in enumerate(self.spec.comparisons):
            level = int(self.levels[k, j])
            measure = float(self.measures[k, j])
            fields.append({
                "field": comp.name,
                "left": " ".join(_text(a.get(s)) for s in comp.sources).strip(),
                "right": " ".join(_text(b.get(s)) for s in comp.sources).strip(),
                "level": "missing" if level == MISSING else comp.level_names()[level],
                "measure": None if np.isnan(measure) else round(measure, 4),
                **({} if np.isnan(self.tf[k, j]) else {"value_u": float(f"{self.tf[k, j]:.3g}")}),
                "weight": round(float(weights[j]), 3),
                **({"vetoes": True} if comp.required and level == 0 else {}),
            })
        return {"left": int(self.ids[self.left[k]]), "right": int(self.ids[self.right[k]]),
                "probability": round(float(self.probability[k]), 6), "weight": round(float(self.weight[k]), 3),
                "fields": fields}


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _vetoed(comparisons: list[Any], levels: np.ndarray) -> np.ndarray:
    """Pairs that disagree on a required comparison (``Comparison.required``): never duplicates."""
    vetoed = np.zeros(len(levels), dtype=bool)
    for j, comp in enumerate(comparisons):
        if comp.required:
            vetoed |= levels[:, j] == 0
    return vetoed


def _random_pairs(n: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random pairs of distinct positions, or all pairs when there are no more than that."""
    total = n * (n - 1) // 2
    if total <= count:
        a, b = np.triu_indices(n, k=1)
        return a.astype(np.int64), b.astype(np.int64)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, count)
    b = rng.integers(0, n - 1, count)
    b = np.where(b >= a, b + 1, b)  # never a record with itself
    return a, b


def _clusters(ids: np.ndarray, left: np.ndarray, right: np.ndarray) -> pd.Series:
    """Connected components of the matched pairs: record id -> smallest record id of its component."""
    if not len(left):
        return pd.Series(dtype="int64")
    n = len(ids)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    involved = np.unique(np.concatenate([left, right]))
    frame = pd.DataFrame({"id": ids[involved], "label": labels[involved]})
    frame["cluster"] = frame.groupby("label")["id"].transform("min")
    return pd.Series(frame["cluster"].to_numpy(), index=frame["id"].to_numpy(), name="cluster")


def _complete_clusters(ids: np.ndarray, left: np.ndarray, right: np.ndarray,
                       probability: np.ndarray) -> pd.Series:
    """Clusters in which every two records match: matched pairs are joined best first, and two groups
    merge only when all their cross pairs are matched too (complete linkage over the match graph)."""
    if not len(left):
        return pd.Series(dtype="int64")
    matched = {(int(min(a, b)), int(max(a, b))) for a, b in zip(left, right, strict=True)}
    root: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def find(x: int) -> int:
        while root.get(x, x) != x:
            x = root[x]
        return x

    for k in np.argsort(-probability, kind="stable"):
        a, b = find(int(left[k])), find(int(right[k]))
        if a == b:
            continue
        group_a, group_b = members.get(a, [a]), members.get(b, [b])
        if all((min(x, y), max(x, y)) in matched for x in group_a for y in group_b):
            root[b] = a
            members[a] = group_a + group_b
            members.pop(b, None)
    out = {}
    for group in members.values():
        smallest = int(ids[group].min())
        for position in group:
            out[int(ids[position])] = smallest
    return pd.Series(out, dtype="int64", name="cluster")


def _value_specific(model: fs.FellegiSunter, levels: np.ndarray,
                    agreed: dict[int, Agreed]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Value-specific u and match probabilities, alternated until the probabilities settle: each round
    counts the non-matching pairs per value with the last round's probabilities (``model.value_u``).

    Only the pairs that agree on a value change between rounds: the rest of the weight is computed once."""
    tf = np.full(levels.shape, np.nan, dtype=np.float64)
    base = model.match_weight(levels)
    probability = model.probability(levels, weight=base)
    weight = base
    posterior = np.zeros(len(levels), dtype=np.float64)  # first round: leave-one-out counts
    rounds = 0
    while agreed and rounds < VALUE_U_ROUNDS:
        rounds += 1
        weight = base.copy()
        for j, values in agreed.items():
            given = np.flatnonzero(values.codes >= 0)
            u_value = fs.value_u(values, posterior)[given]
            tf[given, j] = u_value
            weight[given] += np.log2(model.u[j][levels[given, j]] / np.maximum(u_value, 1e-300))
        fresh = model.probability(levels, weight=weight)
        change = float(np.abs(fresh - probability).max()) if len(fresh) else 0.0
        probability = posterior = fresh
        if change < 1e-3:
            break
    return tf, weight, probability, rounds


def find_duplicates(frame: pd.DataFrame, obj: str | ObjectSpec, *, threshold: float | None = None,
                    region: str = "CN", seed: int = 0, random_pairs: int = RANDOM_PAIRS) -> DedupResult:
    """Score candidate pairs of ``frame`` (an ``id`` column and the object's columns) and cluster the matches.

    ``threshold`` is a match probability (default: the object's, ``spec.threshold``).
    """
    spec = obj if isinstance(obj, ObjectSpec) else spec_for(obj)
    threshold = spec.threshold if threshold is None else float(threshold)
    clock: dict[str, float] = {}
    started = time.perf_counter()
    frame = frame.reset_index(drop=True)
    ids = frame["id"].to_numpy(dtype=np.int64)
    prepared = spec.prepare(frame, region)
    clock["keys_s"] = time.perf_counter() - started

    t = time.perf_counter()
    left, right, per_rule = candidate_pairs(prepared, list(spec.rules))
    clock["blocking_s"] = time.perf_counter() - t

    t = time.perf_counter()
    comparisons = list(spec.comparisons)
    levels, measures, agreed = compare_all(comparisons, prepared, left, right)
    ra, rb = _random_pairs(len(frame), random_pairs, seed)
    random_levels, _, _ = compare_all(comparisons, prepared, ra, rb)
    clock["compare_s"] = time.perf_counter() - t

    t = time.perf_counter()
    n = len(frame)
    model = fs.train([c.name for c in comparisons], [c.levels for c in comparisons], levels, random_levels,
                     total_pairs=n * (n - 1) / 2)
    tf, weight, probability, rounds = _value_specific(model, levels, agreed)
    vetoed = _vetoed(comparisons, levels)
    probability = np.where(vetoed, 0.0, probability)
    clock["model_s"] = time.perf_counter() - t

    t = time.perf_counter()
    matched = probability >= threshold
    if spec.linkage == "complete":
        cluster_of = _complete_clusters(ids, left[matched], right[matched], probability[matched])
    else:
        cluster_of = _clusters(ids, left[matched], right[matched])
    clock["cluster_s"] = time.perf_counter() - t
    clock["total_s"] = time.perf_counter() - started
    stats = {"records": len(frame), "candidate_pairs": len(left), "pairs_per_rule": per_rule,
             "random_pairs": len(ra), "value_u_rounds": rounds, "vetoed_pairs": int(vetoed.sum()),
             "matched_pairs": int(matched.sum()),
             "clusters": int(cluster_of.nunique()) if len(cluster_of) else 0,
             "records_in_clusters": len(cluster_of), **{k: round(v, 3) for k, v in clock.items()}}
    columns = ["id", *[c for c in spec.columns if c in frame.columns]]
    return DedupResult(spec=spec, frame=frame[columns], ids=ids, left=left, right=right, levels=levels,
                       measures=measures, tf=tf, weight=weight, probability=probability, model=model,
                       threshold=threshold, cluster_of=cluster_of, stats=stats)
