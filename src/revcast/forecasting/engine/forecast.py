"""The period forecast: what will be won in a month or quarter, as an expected value and a range.

Three parts, all from what was known at ``as_of``:

1. **Closed**: deals already won inside the period before ``as_of`` (a forecast made mid-period).
2. **Open deals**: each open deal is won inside the period with probability
   ``p = P(won) × P(closes inside the period)`` (the win model times the timing model), for its amount.
3. **Not yet created**: revenue from deals created after ``as_of`` and won inside the period: the number
   of deals created in one of the last ``lookback`` windows of the same length (creation volume varies),
   times the probability that a deal created in the window is won inside the period (the timing model's
   won incidence by age), times amounts drawn from recently created deals.

The range comes from simulation: in each draw every open deal is won or not (a Bernoulli draw), and a
number of new won deals is drawn (a past window's creation count, thinned binomially). The random numbers are a hash of (seed, opportunity, draw), so a
deal's draws do not depend on which other deals are in the scope: for every draw, the team totals add up
to the company total exactly, and a manager's view re-simulated from the stored per-deal probabilities
agrees with the company run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from revcast.forecasting.engine import events
from revcast.forecasting.engine.asof import Tables, _as_time, snapshot
from revcast.forecasting.engine.features import static_deals
from revcast.forecasting.engine.timing import TimingModel

DRAWS = 2000
LOOKBACK = 3


class WinScorer(Protocol):
    def predict(self, features: pd.DataFrame) -> np.ndarray: ...


@dataclass
class PeriodForecast:
    as_of: pd.Timestamp
    start: pd.Timestamp
    end: pd.Timestamp
    deals: pd.DataFrame  # one row per open deal: opportunity_id, owner, amount, p_win, p_timing, p, expected, ...
    new_business: NewBusiness
    closed: pd.DataFrame  # deals won inside the period before as_of: opportunity_id, owner, amount, ...
    totals: dict[str, float]
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dispersion: float = 0.0
    features: pd.DataFrame | None = None  # what the win model saw for each open deal (for its factors)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the three parts


def won_between(tables: Tables, start: pd.Timestamp, end: pd.Timestamp, known_at: pd.Timestamp) -> pd.DataFrame:
    """Deals that entered a won stage in [start, end), as known at ``known_at`` (>= end for actuals), with
    their amount and owner at the close and their static columns."""
    # closed on or before known_at (a close at the very as-of moment is known then), and before end
    stop = min(_as_time(end), _as_time(known_at) + pd.Timedelta(1, "ns"))
    closed = events.closures_before(tables, stop)
    closed = closed[closed["won"] & (closed["closed_at"] >= _as_time(start))]
    ids = closed["opportunity_id"]
    out = closed.assign(
        owner=ids.map(events.values_at(tables, "owner", ids, stop)),
        amount=pd.to_numeric(ids.map(events.values_at(tables, "amount", ids, stop)), errors="coerce"),
        created_at=ids.map(events.created_at(tables)),
    )
    out["amount"] = out["amount"].fillna(0.0).astype(float)
    return _with_static(out[["opportunity_id", "owner", "amount", "created_at", "closed_at"]].reset_index(drop=True),
                        tables)


def closed_in_period(tables: Tables, as_of: pd.Timestamp | str, start: pd.Timestamp | str,
                     end: pd.Timestamp | str) -> pd.DataFrame:
    """Deals won inside the period before ``as_of``."""
    t = _as_time(as_of)
    s = _as_time(start)
    if t < s:
        return _with_static(pd.DataFrame(columns=["opportunity_id", "owner", "amount", "created_at", "closed_at"]),
                            tables)
    return won_between(tables, s, _as_time(end), t)


@dataclass
class NewBusiness:
    """Revenue from deals not created yet: creation rate × conversion inside the window × amount.

    ``counts`` are the numbers of deals created in each of the last windows as long as [as_of, end) (each
    equally likely: creation volume varies, and the range must show it); ``q_won`` is the probability that a
    deal created at a uniform moment of [as_of, end) is won inside the period, from the cumulative incidence
    of a won close by age (timing model); amounts and owners are drawn from the deals created recently.
    """

    pool: pd.DataFrame
    counts: list[int]
    q_won: float

    @property
    def samples(self) -> int:
        return len(self.counts)

    def expected_share(self, mask: np.ndarray | None = None) -> float:
        """Expected new-business revenue of the pool rows selected by ``mask`` (all when None)."""
        if not self.counts or self.pool.empty:
            return 0.0
        amounts = self.pool["amount"].to_numpy(dtype=float)
        chosen = amounts if mask is None else amounts[mask]
        return float(np.mean(self.counts) * self.q_won * chosen.sum() / len(amounts))

    def to_dict(self) -> dict[str, Any]:
        pool = self.pool.astype(object).where(self.pool.notna(), None)
        for col in pool.columns:
            if pd.api.types.is_datetime64_any_dtype(self.pool[col]):
                pool[col] = self.pool[col].map(lambda v: None if pd.isna(v) else v.isoformat())
        return {"counts": [int(c) for c in self.counts], "q_won": float(self.q_won),
                "pool": pool.to_dict(orient="list")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NewBusiness:
        pool = pd.DataFrame(data.get("pool") or {"opportunity_id": [], "owner": [], "amount": []})
        pool["amount"] = pd.to_numeric(pool["amount"], errors="coerce").fillna(0.0)
        return cls(pool=pool, counts=list(data.get("counts") or []), q_won=float(data.get("q_won") or 0.0))


def new_business(tables: Tables, as_of: pd.Timestamp | str, start: pd.Timestamp | str, end: pd.Timestamp | str,
                 timing: TimingModel, *, lookback: int = LOOKBACK, pool_days: int = 90) -> NewBusiness:
    """What deals created after ``as_of`` are expected to add to the period [start, end)."""
    t, s, e = _as_time(as_of), _as_time(start), _as_time(end)
    created = events.created_at(tables)
    created = created[created <= t]
    empty = pd.DataFrame({"opportunity_id": pd.Series(dtype="int64"), "owner": pd.Series(dtype=object),
                          "amount": pd.Series(dtype=float)})
    if created.empty or e <= t or timing.by_age is None:
        return NewBusiness(pool=_with_static(empty, tables), counts=[], q_won=0.0)
    first = created.min()
    window = e - t
    counts = []
    for j in range(1, lookback + 1):
        lo, hi = t - window * j, t - window * (j - 1)
        if lo < first:
            break
        counts.append(int(((created >= lo) & (created < hi)).sum()))
    day = pd.Timedelta(days=1)
    steps = int(min(max(np.ceil(window / day), 1), 92))
    moments = t + window * ((np.arange(steps) + 0.5) / steps)
    to_end = np.array([(e - c) / day for c in moments])
    to_start = np.array([(max(s, c) - c) / day for c in moments])
    q_won = float(np.mean(timing.by_age.won_by(to_end) - timing.by_age.won_by(to_start)))
    recent = created[created >= t - max(pd.Timedelta(days=pool_days), window)]
    if recent.empty:
        recent = created
    ids = pd.Series(recent.index.sort_values(), name="opportunity_id")
    pool = pd.DataFrame({
        "opportunity_id": ids,
        "owner": ids.map(events.values_at(tables, "owner", ids, t)),
        "amount": pd.to_numeric(ids.map(events.values_at(tables, "amount", ids, t)), errors="coerce").fillna(0.0),
    })
    pool = _with_static(pool.sort_values("opportunity_id", kind="stable").reset_index(drop=True), tables)
    return NewBusiness(pool=pool, counts=counts, q_won=q_won)


def score_open_deals(tables: Tables, as_of: pd.Timestamp | str, start: pd.Timestamp | str, end: pd.Timestamp | str,
                     win_model: WinScorer, timing: TimingModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per open deal at ``as_of``: amount, p_win, p_timing, p = p_win × p_timing, expected = p × amount.
    Returns (scored, features) — the features are what the win model saw (for factors)."""
    features = snapshot(tables, as_of)
    scored = features[["opportunity_id", "owner", "stage"]].copy()
    scored["amount"] = features["amount"].fillna(0.0).astype(float).to_numpy()
    scored["p_win"] = np.asarray(win_model.predict(features), dtype=float) if len(features) else np.array([])
    scored["p_timing"] = timing.prob_close_between(features, start, end)
    scored["p"] = scored["p_win"] * scored["p_timing"]
    scored["expected"] = scored["p"] * scored["amount"]
    return _with_static(scored, tables), features


# ---------------------------------------------------------------- simulation


_C1, _C2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN, _STEP = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place: a well-spread 64-bit hash, vectorised."""
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= _C1
        x ^= x >> np.uint64(27)
        x *= _C2
        x ^= x >> np.uint64(31)
    return x


def _bits(seed: int, keys: np.ndarray, draws: int) -> np.ndarray:
    """53 random bits for (seed, key, draw), shape (len(keys), draws)."""
    with np.errstate(over="ignore"):
        base = _mix(np.asarray(keys, dtype=np.uint64) * _GOLDEN + np.uint64(seed))
        grid = base[:, None] + np.arange(1, draws + 1, dtype=np.uint64)[None, :] * _STEP
    grid = _mix(grid)
    grid >>= np.uint64(11)
    return grid


def uniforms(seed: int, keys: np.ndarray, draws: int) -> np.ndarray:
    """U(0,1) numbers for (seed, key, draw), shape (len(keys), draws); the same key always gets the same row."""
    return _bits(seed, keys, draws).astype(np.float64) / float(1 << 53)


def _group_codes(frame: pd.DataFrame, by: str | None) -> pd.Series:
    if by is None:
        return pd.Series("all", index=frame.index)
    return frame[by].astype(object).where(frame[by].notna(), "(none)").astype(str)


def closing_dispersion(tables: Tables, as_of: pd.Timestamp | str, length: pd.Timedelta, *,
                       windows: int = 6) -> float:
    """How much more the number of won deals varies from window to window than independent deals would
    (the squared coefficient of variation beyond Poisson), from the last ``windows`` windows of ``length``
    before ``as_of`` that follow the first recorded close. Closings move together (quarter-end pushes,
    holidays, a big customer's budget cycle); the simulation scales every open deal's chance in a draw by a
    common factor with this variance, so the range is as wide as history says it should be. With fewer
    than three such windows, weekly counts of the last twelve weeks stand in (a wider, cautious range)."""
    t = _as_time(as_of)
    closed = events.closures_before(tables, t)
    won_at = closed.loc[closed["won"], "closed_at"]
    if won_at.empty:
        return 0.0
    first = won_at.min()

    def counts(size: pd.Timedelta, n: int) -> np.ndarray:
        out = []
        for j in range(1, n + 1):
            lo, hi = t - size * j, t - size * (j - 1)
            if lo < first:
                break
            out.append(int(((won_at >= lo) & (won_at < hi)).sum()))
        return np.asarray(out, dtype=float)

    c = counts(length, windows)
    if c.size < 3:
        c = counts(pd.Timedelta(days=7), 12)
    if c.size < 3 or c.mean() <= 0:
        return 0.0
    return float(max(0.0, (c.var(ddof=1) - c.mean()) / c.mean() ** 2))


def error_dispersion(tables: Tables, as_of: pd.Timestamp | str, start: pd.Timestamp | str, end: pd.Timestamp | str,
                     win_model: WinScorer, *, windows: int = 6) -> tuple[float, int]:
    """The spread the range needs, measured on the method itself: the same forecast (this win model, a
    timing model and new business fitted at each earlier as-of time) replayed on the last ``windows``
    periods that ended before ``as_of`` and whose own as-of time followed a whole period of recorded closes.
    Returns the variance of the common factor — the mean squared relative error beyond what independent
    deal outcomes explain — and the number of windows it rests on (few windows: see ``dispersion``)."""
    t, s, e = _as_time(as_of), _as_time(start), _as_time(end)
    closed = events.closures_before(tables, t)
    if closed.empty:
        return 0.0, 0
    first = closed["closed_at"].min()
    length = e - s
    errors, noise = [], []
    for j in range(1, windows + 1):
        aj, sj, ej = t - length * j, s - length * j, e - length * j
        if ej > t:
            continue
        if aj < first + length:  # its as-of time must know a whole period of closes, as ours does
            break
        timing = TimingModel.fit(tables, aj)
        scored, _ = score_open_deals(tables, aj, sj, ej, win_model, timing)
        new = new_business(tables, aj, sj, ej, timing)
        # the common factor scales what is still to be won (open deals and new business), not what closed
        variable = scored["expected"].sum() + new.expected_share()
        if variable <= 0:
            continue
        known = closed_in_period(tables, aj, sj, ej)["amount"].sum()
        got = won_between(tables, sj, ej, t)["amount"].sum()
        p, a = scored["p"].to_numpy(), scored["amount"].to_numpy()
        errors.append(((got - known - variable) / variable) ** 2)
        noise.append(float((p * (1 - p) * a * a).sum()) / variable**2)
    if not errors:
        return 0.0, 0
    return float(max(0.0, np.mean(errors) - np.mean(noise))), len(errors)


PRIOR_WEIGHT = 2
REPLAY_MAX_OPEN = 20_000


def dispersion(tables: Tables, as_of: pd.Timestamp, start: pd.Timestamp | str, end: pd.Timestamp | str,
               win_model: WinScorer, open_deals: int = 0) -> tuple[float, str]:
    """The common factor's variance: the replayed errors (``error_dispersion``) shrunk toward the variation of
    closings (``closing_dispersion``), which counts as ``PRIOR_WEIGHT`` windows — a few replayed periods
    alone give a noisy spread. Returns the variance and a note saying what it rests on.

    With more than ``REPLAY_MAX_OPEN`` open deals the replays are skipped: independent outcomes then add next
    to nothing to the spread, which is the common variation the closing counts measure directly, and six
    more feature snapshots of a large history would cost more than the forecast itself."""
    prior = closing_dispersion(tables, as_of, _as_time(end) - _as_time(start))
    if open_deals > REPLAY_MAX_OPEN:
        return prior, f"range from the variation of closings ({prior:.3f}); {open_deals:,} open deals: no replays"
    measured, windows = error_dispersion(tables, as_of, start, end, win_model)
    pooled = (windows * measured + PRIOR_WEIGHT * prior) / (windows + PRIOR_WEIGHT)
    # A variance estimated from a handful of periods is itself uncertain: widen as a Student-t predictive
    # interval would (the 90th percentile of t with windows + prior − 1 degrees of freedom over the normal's).
    dof = max(2, windows + PRIOR_WEIGHT - 1)
    widen = (float(student_t.ppf(0.9, dof)) / float(student_t.ppf(0.9, 1e9))) ** 2
    return pooled * widen, (f"range from {windows} replayed past periods (error variance {measured:.3f}) and "
                            f"the variation of closings ({prior:.3f}), widened ×{widen:.2f} for {dof} "
                            f"degrees of freedom")


def simulate(scored: pd.DataFrame, new: NewBusiness, closed: pd.DataFrame, *, by: str | None = None,
             draws: int = DRAWS, seed: int = 0, new_scope: np.ndarray | None = None, dispersion: float = 0.0,
             chunk: int = 4096, rollups: dict[Any, Any] | None = None) -> dict[str, Any]:
    """Totals (and per-group rows when ``by`` names a column): closed, open_expected, new_expected, expected,
    p10, p50, p90. Expected values are exact sums; the percentiles come from ``draws`` simulated outcomes.

    ``scored`` and ``closed`` hold the deals of the scope; ``new_scope`` selects the new-business pool rows of
    the scope (the new deals are drawn for the whole company, then those outside the scope are dropped, so
    every scope sees the same draws). ``dispersion`` is the variance of a common factor (mean 1) that scales
    every open deal's chance, and the chance of each new deal, within a draw (see ``closing_dispersion``).

    ``rollups`` (with ``by``) names sets of groups, e.g. the owners of each subtree of a hierarchy: each set gets
    its row too, from the sum of its groups' outcomes draw by draw (so its percentiles are those of the sum)."""
    pool = new.pool
    in_scope = np.ones(len(pool), dtype=bool) if new_scope is None else np.asarray(new_scope, dtype=bool)
    keys_open = _group_codes(scored, by)
    keys_new = _group_codes(pool[in_scope], by)
    keys_closed = _group_codes(closed, by)
    names = sorted(set(keys_open) | set(keys_new) | set(keys_closed))
    index = {name: i for i, name in enumerate(names)}
    g = len(names)
    totals = np.zeros((draws, max(g, 1)))

    ids = scored["opportunity_id"].to_numpy(dtype=np.int64)
    p = scored["p"].to_numpy(dtype=float)
    amount = scored["amount"].to_numpy(dtype=float)
    codes = keys_open.map(index).to_numpy(dtype=np.int64) if g else np.zeros(0, dtype=np.int64)
    shock = np.ones(draws)
    if dispersion > 0:
        shock = np.random.default_rng([seed, 0x5ECD]).gamma(1.0 / dispersion, dispersion, size=draws)
    scale = float(1 << 53)
    for lo in range(0, len(ids), chunk):
        bits = _bits(seed, ids[lo:lo + chunk], draws)  # (c, draws): won when bits / 2^53 < chance
        chance = np.minimum(p[lo:lo + chunk, None] * shock[None, :], 1.0)
        chance *= scale
        won = (bits < chance).astype(np.float64)
        weights = np.zeros((won.shape[0], g))
        weights[np.arange(won.shape[0]), codes[lo:lo + chunk]] = amount[lo:lo + chunk]
        totals += won.T @ weights

    new_mean = np.zeros(g)
    if new.samples and len(pool) and new.q_won > 0:
        rng = np.random.default_rng([seed, 0x5EED])
        created = np.asarray(new.counts)[rng.integers(0, new.samples, size=draws)]
        won_count = rng.binomial(created, np.minimum(new.q_won * shock, 1.0))
        picks = rng.integers(0, len(pool), size=int(won_count.sum()))
        draw_of = np.repeat(np.arange(draws), won_count)
        keep = in_scope[picks]
        scope_codes = np.full(len(pool), -1, dtype=np.int64)
        scope_codes[in_scope] = keys_new.map(index).to_numpy(dtype=np.int64)
        amounts = pool["amount"].to_numpy(dtype=float)
        np.add.at(totals, (draw_of[keep], scope_codes[picks[keep]]), amounts[picks[keep]])
        factor = float(np.mean(new.counts)) * new.q_won / len(pool)
        np.add.at(new_mean, scope_codes[in_scope], amounts[in_scope] * factor)

    closed_sum = np.zeros(g)
    if len(closed):
        np.add.at(closed_sum, keys_closed.map(index).to_numpy(dtype=int), closed["amount"].to_numpy(dtype=float))
    totals[:, :g] += closed_sum[None, :]

    open_expected = np.zeros(g)
    if len(scored):
        np.add.at(open_expected, codes, p * amount)

    def row(sim: np.ndarray, c: float, o: float, n: float) -> dict[str, float]:
        q10, q50, q90 = np.quantile(sim, [0.1, 0.5, 0.9]) if sim.size else (0.0, 0.0, 0.0)
        return {"closed": float(c), "open_expected": float(o), "new_expected": float(n),
                "expected": float(c + o + n), "p10": float(q10), "p50": float(q50), "p90": float(q90)}

    total = row(totals[:, :g].sum(axis=1), closed_sum.sum(), open_expected.sum(), new_mean.sum())
    out: dict[str, Any] = {"total": total, "draws": draws, "seed": seed, "new_samples": new.samples}
    if rollups is not None:
        if by is None:
            raise ValueError("rollups need `by`: they are sets of its groups")
        out["rollups"] = {}
        for key, members in rollups.items():
            cols = [index[m] for m in members if m in index]
            out["rollups"][key] = row(totals[:, cols].sum(axis=1), closed_sum[cols].sum(), open_expected[cols].sum(),
                                      new_mean[cols].sum())
    if by is not None:
        out["by"] = by
        out["groups"] = [
            {"key": name, **row(totals[:, i], closed_sum[i], open_expected[i], new_mean[i])}
            for i, name in enumerate(names)
        ]
    return out


# ---------------------------------------------------------------- the whole forecast


def forecast_period(tables: Tables, as_of: pd.Timestamp | str, start: pd.Timestamp | str, end: pd.Timestamp | str,
                    *, win_model: WinScorer | None = None, timing: TimingModel | None = None, seed: int = 0,
                    draws: int = DRAWS, by: Sequence[str] = (), lookback: int = LOOKBACK) -> PeriodForecast:
    """Forecast what is won in [start, end) from what was known at ``as_of``."""
    t = _as_time(as_of)
    notes: list[str] = []
    if win_model is None:
        from revcast.forecasting.engine import winmodel

        win_model = winmodel.train(tables, t, seed=seed)
    timing = timing or TimingModel.fit(tables, t)
    scored, features = score_open_deals(tables, t, start, end, win_model, timing)
    new = new_business(tables, t, start, end, timing, lookback=lookback)
    if new.samples < lookback and _as_time(end) > t:
        notes.append(f"creation volume from {new.samples} past windows (wanted {lookback})")
    closed = closed_in_period(tables, t, start, end)
    spread, note = dispersion(tables, t, start, end, win_model, open_deals=len(scored))
    notes.append(note)
    result = simulate(scored, new, closed, draws=draws, seed=seed, dispersion=spread)
    groups = {name: simulate(scored, new, closed, by=name, draws=draws, seed=seed,
                             dispersion=spread)["groups"] for name in by}
    return PeriodForecast(as_of=t, start=_as_time(start), end=_as_time(end), deals=scored, new_business=new,
                          closed=closed, totals=result["total"], groups=groups, dispersion=spread,
                          features=features, notes=notes)


def _with_static(frame: pd.DataFrame, tables: Tables) -> pd.DataFrame:
    """Join the deals' static columns (product, region, team, custom fields) for slicing."""
    static = static_deals(tables)
    if static is None:
        return frame
    return frame.join(static[[c for c in static.columns if c not in frame.columns]], on="opportunity_id")
