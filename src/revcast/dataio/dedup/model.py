"""The Fellegi–Sunter model, trained without labels.

For each comparison and level, ``m`` is the probability of that level among pairs that are the same entity,
``u`` among pairs that are not; ``lambda`` is the share of matches among the candidate pairs. Comparisons
are taken as independent given the match status, so a pair's match weight is
``log2(lambda / (1 - lambda)) + sum log2(m / u)`` over its known levels (a missing value adds nothing), and its
match probability is ``2^w / (1 + 2^w)``.

Training is the usual unsupervised route (Splink's too): ``u`` from record pairs drawn at random, nearly all of
which are non-matches; then ``m`` and ``lambda`` by expectation–maximisation over the blocked candidate pairs,
``u`` held fixed. The EM runs over the distinct level patterns with their counts (a few hundred rows however many
pairs there are). A Dirichlet prior on each comparison's ``m`` (``prior_strength`` pseudo-pairs spread like
``prior_m``) keeps a small CRM with hardly any duplicates from learning nonsense; with thousands of pairs the
data outweighs it.

The scores use ``u`` from the random pairs and ``lambda`` spread over all record pairs (see ``train``), as
Splink does: the probability is that of a match for a pair of records drawn from the whole set, so it does
not move when a blocking rule is added or removed.

*Value-specific u (term frequencies).* ``u`` of an "exact" level is an average over all values: the chance
that two random records agree on *some* value. For a pair that agrees on one particular value, what counts
is the chance that a record of ANOTHER company holds that value: its ``u`` for the pair. A comparison marked
``tf`` gets one (``value_u``), and the pair's weight at that level is ``log2(m / u_value)`` instead of
``log2(m / u)``: a name twenty companies share weighs less, a name only this company bears weighs more.
Without it, recall falls as a CRM grows: the prior odds of a match fall with the number of records, and the
average ``u`` of an exact name does not tell a name borne by one company from a name borne by twenty.

The plain record count of a value (Splink's term frequency) overstates ``u`` for rare values in a
*deduplication*: a name entered three times for one company has a count of three, though no other company
bears it. ``value_u`` therefore counts the pairs of records holding a value that are NOT matches, by the
current match probabilities, and the engine alternates the two (a few fixed-point rounds, like EM's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from revcast.dataio.dedup.compare import MISSING, Agreed

VALUE_U_FLOOR = 0.1
"""The least number of records of other entities assumed to share any value (see ``value_u``)."""


@dataclass
class FellegiSunter:
    names: list[str]
    m: list[np.ndarray]
    u: list[np.ndarray]
    lam: float
    iterations: int = 0
    converged: bool = False
    lam_candidates: float | None = None
    u_random: list[np.ndarray] | None = None
    """``u`` as estimated from random pairs (``u`` itself may have been refined by EM on the candidates)."""
    history: list[float] = field(default_factory=list)
    """The objective EM climbs (log-likelihood plus the log of the prior on ``m``), one value per iteration,
    never decreasing: the tests check it."""

    def level_weights(self) -> list[np.ndarray]:
        """log2(m/u) per comparison and level."""
        return [np.log2(m / u) for m, u in zip(self.m, self.u, strict=True)]

    def field_weights(self, levels: np.ndarray, tf: np.ndarray | None = None) -> np.ndarray:
        """Per pair and comparison, the weight its level adds (0 where a value is missing); with ``tf`` (the
        term frequencies of agreed values, NaN where none), ``log2(m / tf)`` where a frequency is given."""
        out = np.zeros(levels.shape, dtype=np.float64)
        for j, w in enumerate(self.level_weights()):
            col = levels[:, j]
            known = col != MISSING
            out[known, j] = w[col[known]]
        if tf is not None:
            out += self.tf_adjustment(levels, tf)
        return out

    def tf_adjustment(self, levels: np.ndarray, tf: np.ndarray) -> np.ndarray:
        """``log2(u / tf)`` where a value's own u is given (turning ``log2(m/u)`` into ``log2(m/tf)``), else 0."""
        out = np.zeros(levels.shape, dtype=np.float64)
        for j, u in enumerate(self.u):
            given = np.flatnonzero(~np.isnan(tf[:, j]) & (levels[:, j] != MISSING))
            if len(given):
                freq = np.maximum(tf[given, j].astype(np.float64), 1e-12)
                out[given, j] = np.log2(u[levels[given, j]] / freq)
        return out

    def match_weight(self, levels: np.ndarray, tf: np.ndarray | None = None) -> np.ndarray:
        """Prior plus the weight of every comparison. Weights are computed once per distinct level pattern
        (a few hundred, however many pairs), then looked up; term frequencies are added per pair."""
        prior = np.log2(self.lam / (1.0 - self.lam))
        if not len(levels):
            return np.zeros(0, dtype=np.float64)
        patterns, inverse, _ = distinct_patterns(levels)
        weight = (prior + self.field_weights(patterns).sum(axis=1))[inverse]
        if tf is not None:
            weight += self.tf_adjustment(levels, tf).sum(axis=1)
        return weight

    def probability(self, levels: np.ndarray, tf: np.ndarray | None = None,
                    weight: np.ndarray | None = None) -> np.ndarray:
        w = np.clip(self.match_weight(levels, tf) if weight is None else weight, -60, 60)
        return 1.0 / (1.0 + np.power(2.0, -w))

    def as_dict(self) -> dict:
        return {
            "lambda": self.lam, "lambda_candidates": self.lam_candidates, "iterations": self.iterations,
            "converged": self.converged,
            "comparisons": {
                name: {"m": [round(float(x), 6) for x in m], "u": [float(f"{x:.6g}") for x in u]}
                for name, m, u in zip(self.names, self.m, self.u, strict=True)
            },
        }


def distinct_patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of the level matrix, for each pair the index of its row, and how often each occurs.

    Each row is first encoded as one integer (levels -1..126 as digits in base 128), so the distinct rows
    come from ``np.unique`` over a flat int64 array: ``np.unique(axis=0)`` sorts the rows lexicographically
    and took most of the model's time on millions of pairs."""
    if not len(levels):
        return levels, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    width = levels.shape[1]
    if width > 9:  # 128**9 overflows int64: fall back to the row-wise unique
        patterns, inverse, counts = np.unique(levels, axis=0, return_inverse=True, return_counts=True)
        return patterns, inverse.reshape(-1), counts
    code = np.zeros(len(levels), dtype=np.int64)
    for j in range(width):
        code = code * 128 + (levels[:, j].astype(np.int64) + 1)
    unique, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
    patterns = np.empty((len(unique), width), dtype=levels.dtype)
    rest = unique.copy()
    for j in range(width - 1, -1, -1):
        patterns[:, j] = (rest % 128 - 1).astype(levels.dtype)
        rest //= 128
    return patterns, inverse.reshape(-1), counts


def _patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the level matrix and how often each occurs."""
    patterns, _, counts = distinct_patterns(levels)
    return patterns, counts.astype(np.float64)


def value_u(agreed: Agreed, posterior: np.ndarray, floor: float = VALUE_U_FLOOR) -> np.ndarray:
    """Per pair, the ``u`` of the value both records hold (NaN where they do not agree exactly).

    For a value held by ``c`` records, ``c(c-1)/2`` pairs agree on it; taking away the expected matches among
    them (the sum of their match probabilities; pairs never compared count as non-matches) leaves ``NM``
    non-matching pairs, so a record holding the value has on average ``2 NM / c`` records of other entities
    holding it too, out of ``present``. With no match probabilities yet (all zero) this is the leave-one-out
    frequency ``(c - 1) / present``. ``floor`` (in records) keeps a value that only one company bears from an
    infinite weight: even a unique name could be borne by another company that is not in the CRM yet."""
    out = np.full(len(agreed.codes), np.nan, dtype=np.float64)
    given = np.flatnonzero(agreed.codes >= 0)
    if not len(given):
        return out
    counts = agreed.counts
    codes = agreed.codes[given]
    matched = np.bincount(codes, weights=posterior[given], minlength=len(counts))
    non_matching = np.maximum(counts * (counts - 1) / 2.0 - matched, 0.0)
    others = 2.0 * non_matching / np.maximum(counts, 1.0)
    u = np.maximum(others, floor) / max(agreed.present, 1)
    out[given] = u[codes]
    return out


def default_prior_u(size: int) -> np.ndarray:
    """Random pairs mostly disagree: weights 1, 0.1, 0.01, ... (exact last) normalised."""
    w = np.power(10.0, -np.arange(size, dtype=np.float64))
    return w / w.sum()


def estimate_u(levels: np.ndarray, sizes: list[int], strength: float = 10.0) -> list[np.ndarray]:
    """Level frequencies among random pairs (missing values left out), with ``strength`` pseudo-pairs spread
    like ``default_prior_u``: no level gets u = 0 (an exact match never seen at random is rare, not
    impossible), and a field that random pairs hardly ever fill in on both sides (a small CRM) keeps
    sensible values instead of whatever two or three pairs happen to say."""
    out = []
    for j, size in enumerate(sizes):
        col = levels[:, j]
        counts = np.bincount(col[col != MISSING].astype(np.int64), minlength=size)[:size].astype(np.float64)
        pseudo = default_prior_u(size) * strength
        out.append((counts + pseudo) / (counts.sum() + pseudo.sum()))
    return out


def default_prior_m(size: int) -> np.ndarray:
    """Matches mostly agree exactly, sometimes closely, rarely not at all: weights 1, 3, 9, ... normalised."""
    w = np.power(3.0, np.arange(size))
    return w / w.sum()


def train(names: list[str], sizes: list[int], candidates: np.ndarray, random_pairs: np.ndarray, *,
          lam: float = 0.1, prior_strength: float = 10.0, max_iterations: int = 200,
          tolerance: float = 1e-6, update_u: bool = True, total_pairs: float | None = None) -> FellegiSunter:
    """``u`` from the random pairs, then ``m`` and ``lambda`` by EM over the candidate pairs.

    With ``total_pairs`` (all record pairs, n(n-1)/2), the model returned scores pairs the way the blocked
    pairs were drawn from: ``lambda`` becomes the share of matches among ALL pairs (the matches EM found among
    the candidates, spread over every pair) and ``u`` the random-pair frequencies. EM refines ``u`` on the
    candidates only to separate the two classes there: candidates share a blocking key, so their
    non-matches agree on it far more often than random pairs do, and scoring with those ``u`` would take the
    evidence of exactly the fields blocked on (the same account for two contacts) away.
    """
    u_random = estimate_u(random_pairs, sizes)
    u = [x.copy() for x in u_random]
    prior = [default_prior_m(s) for s in sizes]
    m = [p.copy() for p in prior]
    model = FellegiSunter(names=names, m=m, u=u, lam=lam, u_random=u_random)
    patterns, counts = _patterns(candidates)
    if not len(patterns):
        model.converged = True
        return model
    known = [patterns[:, j] != MISSING for j in range(len(sizes))]
    idx = [np.where(known[j], patterns[:, j], 0).astype(np.int64) for j in range(len(sizes))]
    for iteration in range(1, max_iterations + 1):
        log_m = np.zeros(len(patterns))
        log_u = np.zeros(len(patterns))
        for j in range(len(sizes)):
            log_m += np.where(known[j], np.log(model.m[j][idx[j]]), 0.0)
            log_u += np.where(known[j], np.log(model.u[j][idx[j]]), 0.0)
        a = np.log(model.lam) + log_m
        b = np.log1p(-model.lam) + log_u
        top = np.maximum(a, b)
        log_total = top + np.log(np.exp(a - top) + np.exp(b - top))
        log_prior = sum(float((p * prior_strength * np.log(mj)).sum()) for p, mj in zip(prior, model.m, strict=True))
        log_prior += float(np.log(model.lam) + np.log1p(-model.lam))
        if update_u:
            log_prior += sum(float((q * prior_strength * np.log(uj)).sum())
                             for q, uj in zip(u_random, model.u, strict=True))
        model.history.append(float((counts * log_total).sum()) + log_prior)
        post = np.exp(a - log_total)  # P(match | pattern)
        weight = counts * post
        # one pseudo-match and one pseudo-non-match: a handful of candidates cannot drive lambda to zero
        new_lam = float(np.clip((weight.sum() + 1.0) / (counts.sum() + 2.0), 1e-9, 1 - 1e-9))
        change = abs(new_lam - model.lam)
        new_m, new_u = [], []
        non_weight = counts - weight
        for j, size in enumerate(sizes):
            tally = np.bincount(idx[j][known[j]], weights=weight[known[j]], minlength=size)[:size]
            alpha = prior[j] * prior_strength
            fresh = (tally + alpha) / (tally.sum() + alpha.sum())
            change = max(change, float(np.abs(fresh - model.m[j]).max()))
            new_m.append(fresh)
            if update_u:
                tally_u = np.bincount(idx[j][known[j]], weights=non_weight[known[j]], minlength=size)[:size]
                beta = u_random[j] * prior_strength
                fresh_u = (tally_u + beta) / (tally_u.sum() + beta.sum())
                change = max(change, float(np.abs(fresh_u - model.u[j]).max()))
                new_u.append(fresh_u)
        model.m, model.lam, model.iterations = new_m, new_lam, iteration
        if update_u:
            model.u = new_u
        if change < tolerance:
            model.converged = True
            break
    if total_pairs:
        matches = model.lam * counts.sum()
        model.lam_candidates = model.lam
        model.lam = float(np.clip(matches / total_pairs, 1e-12, 0.5))
        model.u = u_random
    return model
