"""Blocking: which pairs of records are compared at all.

Comparing every pair of a million records is 5·10^11 comparisons; blocking keeps the pairs that share a key
(the company-name key, a phone, an e-mail, a credit code ...) or sit next to each other when the records are
sorted by a key (the *sorted neighbourhood*: a typo late in a name keeps its twin next to it, a typo early in
the name is caught by sorting on the reversed key). The union of all rules' pairs is compared.

Pairs come from vectorised numpy over positions sorted by key, never from Python loops over groups: for each
offset k, the records k places apart in key order pair up when their keys are equal (an exact rule) or always
(a window). An exact block larger than ``max_block`` thereby degrades into a window of that size instead of
exploding quadratically: a key that thousands of records share (a switchboard number, "info@") is evidence
the comparisons weigh, not a reason to compare all of them with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BlockRule:
    """``exact``: records whose ``columns`` are all present and all equal; ``window``: records within
    ``size`` places of each other when sorted by the joined ``columns`` (reversed when ``reverse``)."""

    name: str
    columns: tuple[str, ...]
    kind: str = "exact"
    size: int = 50
    reverse: bool = False
    prefix: int = 0
    """When > 0, only the first ``prefix`` characters of the (joined) key count."""


def _key(frame: pd.DataFrame, rule: BlockRule) -> np.ndarray:
    parts = [frame[c].astype(str) for c in rule.columns]
    key = parts[0]
    missing = key == ""
    for part in parts[1:]:
        missing |= part == ""
        key = key + "\x1f" + part
    if rule.reverse:
        key = key.map(lambda s: s[::-1])
    if rule.prefix:
        key = key.str.slice(0, rule.prefix)
    values = key.to_numpy(dtype=object, copy=True)
    values[missing.to_numpy()] = None
    return values


def rule_pairs(frame: pd.DataFrame, rule: BlockRule) -> tuple[np.ndarray, np.ndarray]:
    """Positions (left < right) of the pairs one rule proposes."""
    key = _key(frame, rule)
    present = np.flatnonzero(pd.notna(key))
    if len(present) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    codes, _ = pd.factorize(key[present], sort=True)  # codes in key order, so sorting codes sorts keys
    order = np.argsort(codes, kind="stable")
    positions = present[order]
    sorted_codes = codes[order]
    lefts, rights = [], []
    for k in range(1, min(rule.size, len(positions))):
        if rule.kind == "exact":
            same = sorted_codes[:-k] == sorted_codes[k:]
            if not same.any():
                break
            lefts.append(positions[:-k][same])
            rights.append(positions[k:][same])
        else:
            lefts.append(positions[:-k])
            rights.append(positions[k:])
    if not lefts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a, b = np.concatenate(lefts), np.concatenate(rights)
    return np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)


def candidate_pairs(frame: pd.DataFrame, rules: list[BlockRule]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The union of every rule's pairs, each once, sorted; and how many pairs each rule proposed."""
    n = len(frame)
    codes = []
    per_rule: dict[str, int] = {}
    for rule in rules:
        a, b = rule_pairs(frame, rule)
        per_rule[rule.name] = len(a)
        codes.append(a * n + b)
    if not codes:
        return np.empty(0, np.int64), np.empty(0, np.int64), per_rule
    unique = np.unique(np.concatenate(codes))
    return unique // n, unique % n, per_rule
