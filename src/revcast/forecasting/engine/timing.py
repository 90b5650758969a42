"""When an open deal closes: survival curves of time to close, by stage and by age.

A forecast must not assume that every open deal closes on its expected date (most expected dates are
wrong, and many deals have none). Instead, from the deals known at ``as_of``:

- a Kaplan–Meier curve S(x) of the time from entering stage *s* to closing (won or lost), per stage, for
  every stage with at least ``min_events`` closures; a deal still open at ``as_of`` is censored at its time
  in stage so far, so slow deals are not forgotten;
- the same curve over the deal's age (time since creation), pooled over stages, for the rest.

The probability that a deal open for ``d`` days closes between ``w0`` and ``w1`` days from now is
``(S(d + w0) − S(d + w1)) / S(d)``. Deals older than anything that ever closed get a flat curve (0): the
history says such deals do not close.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from revcast.forecasting.engine import events
from revcast.forecasting.engine.asof import Tables, _as_time

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Curve:
    """A Kaplan–Meier survival step function: S(x) for x in days."""

    times: np.ndarray  # event times, ascending
    survival: np.ndarray  # S just after each event time
    events: int
    at_risk: int
    won: np.ndarray | None = None  # cumulative incidence of a won close at each event time (Aalen–Johansen)

    @classmethod
    def fit(cls, durations: np.ndarray, observed: np.ndarray, won: np.ndarray | None = None) -> Curve:
        """``observed``: the deal closed (else censored); ``won``: it closed won (for the won incidence)."""
        durations = np.asarray(durations, dtype=float)
        observed = np.asarray(observed, dtype=bool)
        if durations.size == 0 or not observed.any():
            return cls(np.array([]), np.array([]), 0, int(durations.size), np.array([]))
        order = np.argsort(durations, kind="stable")
        d, o = durations[order], observed[order]
        times, first = np.unique(d, return_index=True)
        events = np.add.reduceat(o.astype(int), first)
        at_risk = d.size - first  # everyone with a duration >= the time (censored at a tie count as at risk)
        keep = events > 0
        hazard = events[keep] / at_risk[keep]
        survival = np.cumprod(1.0 - hazard)
        incidence = None
        if won is not None:
            w = (np.asarray(won, dtype=bool)[order] & o).astype(int)
            won_events = np.add.reduceat(w, first)[keep]
            before = np.concatenate([[1.0], survival[:-1]])
            incidence = np.cumsum(before * won_events / at_risk[keep])
        return cls(times[keep], survival, int(o.sum()), int(d.size), incidence)

    def won_by(self, x: np.ndarray) -> np.ndarray:
        """P(closed won within ``x`` days), from the start of the curve."""
        x = np.asarray(x, dtype=float)
        if self.times.size == 0 or self.won is None:
            return np.zeros_like(x)
        idx = np.searchsorted(self.times, x, side="right")
        return np.concatenate([[0.0], self.won])[idx]

    def at(self, x: np.ndarray) -> np.ndarray:
        """S(x): the share still open ``x`` days in (right-continuous)."""
        x = np.asarray(x, dtype=float)
        if self.times.size == 0:
            return np.ones_like(x)
        idx = np.searchsorted(self.times, x, side="right")
        padded = np.concatenate([[1.0], self.survival])
        return padded[idx]

    def close_between(self, elapsed: np.ndarray, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        """P(close within [elapsed + w0, elapsed + w1) | still open after ``elapsed`` days)."""
        base = self.at(elapsed)
        drop = self.at(elapsed + w0) - self.at(elapsed + w1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(base > 1e-12, drop / base, 0.0)
        return np.clip(out, 0.0, 1.0)


@dataclass
class TimingModel:
    """Time-to-close curves known at ``as_of``: one per stage with enough closures, one pooled by age."""

    as_of: pd.Timestamp
    by_stage: dict[str, Curve] = field(default_factory=dict)
    by_age: Curve | None = None
    min_events: int = 30

    @classmethod
    def fit(cls, tables: Tables, as_of: pd.Timestamp | str, *, min_events: int = 30) -> TimingModel:
        t = _as_time(as_of)
        closures = events.closures_before(tables, t).set_index("opportunity_id")
        closed = closures["closed_at"]
        created = events.created_at(tables)
        model = cls(as_of=t, min_events=min_events)
        model.by_age = _curve(created, closed, t, closures["won"])
        entries = _open_stage_entries(tables)
        for stage, rows in entries[entries["changed_at"] <= t].groupby("new_value", sort=True):
            entered = rows.set_index("opportunity_id")["changed_at"]
            curve = _curve(entered, closed, t)
            if curve.events >= min_events:
                model.by_stage[str(stage)] = curve
        return model

    def prob_close_between(
        self, features: pd.DataFrame, start: pd.Timestamp | str, end: pd.Timestamp | str
    ) -> np.ndarray:
        """For deals open at ``as_of`` (rows of ``asof.snapshot``: stage, age_days, days_in_stage), the
        probability of closing inside [start, end) — the part of it after ``as_of``."""
        s, e = max(_as_time(start), self.as_of), _as_time(end)
        n = len(features)
        if e <= s or n == 0:
            return np.zeros(n)
        w0 = np.full(n, (s - self.as_of) / DAY)
        w1 = np.full(n, (e - self.as_of) / DAY)
        age = features["age_days"].to_numpy(dtype=float)
        assert self.by_age is not None, "fit() first"
        out = self.by_age.close_between(age, w0, w1)
        stages = features["stage"].astype(str).to_numpy()
        in_stage = features["days_in_stage"].to_numpy(dtype=float)
        for stage, curve in self.by_stage.items():
            mask = stages == stage
            if mask.any():
                out[mask] = curve.close_between(in_stage[mask], w0[mask], w1[mask])
        return out

    def describe(self) -> dict[str, object]:
        """What the curves rest on (for the model card and the forecast's notes)."""
        def summary(c: Curve) -> dict[str, object]:
            half = c.times[np.argmax(c.survival <= 0.5)] if (c.survival <= 0.5).any() else None
            return {"events": c.events, "deals": c.at_risk, "median_days": None if half is None else float(half)}

        return {
            "as_of": self.as_of.isoformat(),
            "by_age": summary(self.by_age) if self.by_age else None,
            "by_stage": {k: summary(v) for k, v in self.by_stage.items()},
        }


def _open_stage_entries(tables: Tables) -> pd.DataFrame:
    """Each deal's first entry into each open stage: opportunity_id, new_value (stage), changed_at."""
    if "open_stage_entries" not in tables.cache:
        types = tables.stages.set_index("name")["type"]
        h = tables.history
        rows = h.loc[h["field"] == "stage", ["opportunity_id", "new_value", "changed_at"]]
        rows = rows[rows["new_value"].map(types) == "open"]
        rows = rows.sort_values("changed_at", kind="stable").drop_duplicates(["opportunity_id", "new_value"])
        tables.cache["open_stage_entries"] = rows.reset_index(drop=True)
    return tables.cache["open_stage_entries"]


def _curve(start: pd.Series, closed: pd.Series, t: pd.Timestamp, won: pd.Series | None = None) -> Curve:
    """Durations from ``start`` (per deal) to the close, or to ``t`` (censored) for deals still open."""
    start = start[start <= t]
    end = closed.reindex(start.index)
    observed = end.notna().to_numpy()
    stop = end.fillna(t).where(end.isna() | (end >= start), start)
    durations = ((stop - start) / DAY).to_numpy(dtype=float)
    won_flags = None if won is None else won.reindex(start.index).fillna(False).astype(bool).to_numpy()
    return Curve.fit(durations, observed, won_flags)
