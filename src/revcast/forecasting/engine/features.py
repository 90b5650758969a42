"""Deal features at each deal's own as-of time, vectorised, and labelled training rows.

``features_at(tables, times)`` gives every deal its own date: the win model trains on deals seen at
moments of their past, and a snapshot is the special case where every deal has the same date. Each
field's value at a time is an as-of join (``pandas.merge_asof``: the last history row with
``changed_at <= time``), so there is no Python loop per deal and nothing dated after a deal's time
is read. Owner and account win rates count closures strictly before the time, from cumulative counts
per owner (or account) joined the same way.

A deal closed more than once (lost, reopened, won) counts once, with its latest closure before the
time: each re-closure takes back the previous closure from the owner it was credited to. A closure is
credited to the deal's owner at the moment it closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from revcast.forecasting.engine.asof import Tables

DAY = pd.Timedelta(days=1)
DAY_NS = DAY.value
_NS = "datetime64[ns, UTC]"
OUTCOME_COLUMNS = ["opportunity_id", "created_at", "closed_at", "won"]


def _utc(values: pd.Series | pd.Index) -> pd.Series:
    """One timestamp dtype for every frame, so as-of joins line up."""
    return pd.Series(pd.to_datetime(values, utc=True)).astype(_NS)


def _ns(values: pd.Series | pd.Index) -> np.ndarray:
    """Nanoseconds since the epoch (UTC) as int64: as-of joins on plain integers are the fastest."""
    return _utc(values).array.asi8


def _from_ns(ns: np.ndarray) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(np.asarray(ns).astype("datetime64[ns]")).tz_localize("UTC"))


def _asof(right: pd.DataFrame, left: pd.DataFrame, by: str, strict: bool = False) -> np.ndarray:
    """For each ``left`` row (by, t; sorted by t), the ``pos`` of the last ``right`` row (by, t, pos;
    sorted by t) with the same ``by`` and ``right.t <= left.t`` (``<`` when strict); -1 when none.
    Among rows at the same time the last one wins."""
    if right.empty or left.empty:
        return np.full(len(left), -1, dtype=np.int64)
    joined = pd.merge_asof(left[[by, "t"]], right[[by, "t", "pos"]], on="t", by=by, direction="backward",
                           allow_exact_matches=not strict)
    return joined["pos"].fillna(-1).to_numpy().astype(np.int64)


def _events(by: np.ndarray, at: np.ndarray, name: str = "opportunity_id") -> pd.DataFrame:
    """Events sorted by time (stable), with ``pos`` pointing back into the input arrays."""
    order = np.argsort(at, kind="stable")
    return pd.DataFrame({name: by[order], "t": at[order], "pos": order})


@dataclass(frozen=True)
class _History:
    """The history split by field once, times as int64 ns, values left where they are: string
    comparisons and moving millions of strings around are the slow part, so only positions move."""

    fields: dict[str, pd.DataFrame]  # per field: opportunity_id, t, pos (into old/new), sorted by t
    old: np.ndarray
    new: np.ndarray
    created: pd.Series  # first history row per deal, ns

    @classmethod
    def of(cls, history: pd.DataFrame) -> _History:
        codes, names = pd.factorize(history["field"])
        opp = history["opportunity_id"].to_numpy().astype(np.int64)
        at = _ns(history["changed_at"])
        fields = {}
        for i, name in enumerate(names):
            idx = np.flatnonzero(codes == i)
            order = idx[np.argsort(at[idx], kind="stable")]
            fields[str(name)] = pd.DataFrame({"opportunity_id": opp[order], "t": at[order], "pos": order})
        created = pd.Series(at).groupby(opp).min() if len(at) else pd.Series(dtype=np.int64)
        return cls(fields, history["old_value"].to_numpy(dtype=object), history["new_value"].to_numpy(dtype=object),
                   created)

    def rows(self, field: str) -> pd.DataFrame:
        empty = pd.DataFrame({"opportunity_id": np.empty(0, np.int64), "t": np.empty(0, np.int64),
                              "pos": np.empty(0, np.int64)})
        return self.fields.get(field, empty)

    def value_at(self, field: str, q: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The field's latest value at each query time (None if none) and when it was set (-1)."""
        pos = _asof(self.rows(field), q, "opportunity_id")
        found = pos >= 0
        values = np.full(len(q), None, dtype=object)
        values[found] = self.new[pos[found]]
        when = np.full(len(q), -1, dtype=np.int64)
        when[found] = self._at(field)[pos[found]]
        return values, when

    def _at(self, field: str) -> np.ndarray:
        rows = self.rows(field)
        out = np.zeros(len(self.new), dtype=np.int64)
        out[rows["pos"].to_numpy()] = rows["t"].to_numpy()
        return out


def _running(events: pd.DataFrame, key: str, cols: list[str]) -> pd.DataFrame:
    """Running sums of ``cols`` per ``key`` over event time (events sorted by t), with ``pos``."""
    out = events[[key, "t"]].copy()
    out[cols] = events.groupby(key, sort=False)[cols].cumsum()
    out["pos"] = np.arange(len(out))
    return out


def _read_running(table: pd.DataFrame, q: pd.DataFrame, key: str, cols: list[str], strict: bool) -> pd.DataFrame:
    """The running sums of ``table`` per ``key`` read at each query time (0 before the first event)."""
    out = pd.DataFrame(0, index=q.index, columns=cols, dtype=np.int64)
    known = q[key].notna().to_numpy()
    if table.empty or not known.any():
        return out
    left = q.loc[known, [key, "t"]]
    if left[key].dtype != table[key].dtype:
        left = left.astype({key: table[key].dtype})
    pos = _asof(table, left, key, strict=strict)
    hit = pos >= 0
    values = np.zeros((len(left), len(cols)), dtype=np.int64)
    values[hit] = table[cols].to_numpy()[pos[hit]]
    out.loc[known] = values
    return out


def closure_events(history: _History, stages: pd.DataFrame) -> pd.DataFrame:
    """Entries into won/lost stages sorted by time: opportunity_id, t, won (0/1), owner at that moment."""
    types = stages.set_index("name")["type"]
    rows = history.rows("stage")
    kind = pd.Series(history.new[rows["pos"].to_numpy()]).map(types).to_numpy()
    closing = np.isin(kind, ["won", "lost"])
    closed = rows.loc[closing, ["opportunity_id", "t"]].reset_index(drop=True)
    closed["won"] = (kind[closing] == "won").astype(np.int64)
    owner, _ = history.value_at("owner", closed)
    closed["owner"] = owner
    return closed


def _rate_events(closures: pd.DataFrame, key: str) -> pd.DataFrame:
    """+1 closed (+won) for the key credited by each closure, -1 (-won) from the key credited by the
    same deal's previous closure: running sums then count each deal's latest closure once."""
    plus = pd.DataFrame({key: closures[key], "t": closures["t"], "closed": 1, "won": closures["won"]})
    groups = closures.groupby("opportunity_id", sort=False)
    again = (groups.cumcount() > 0).to_numpy()
    minus = pd.DataFrame({key: groups[key].shift()[again], "t": closures.loc[again, "t"], "closed": -1,
                          "won": -groups["won"].shift()[again]})
    events = pd.concat([minus, plus], ignore_index=True)
    events = events[events[key].notna()].astype({"closed": np.int64, "won": np.int64})
    return _running(events.sort_values("t", kind="stable"), key, ["won", "closed"])


def static_deals(tables: Tables) -> pd.DataFrame | None:
    """The deals' static columns indexed by opportunity_id (one row per deal), made once per set of tables."""
    if tables.deals is None or tables.deals.empty:
        return None
    if "static_deals" not in tables.cache:
        deals = tables.deals.copy()
        deals["opportunity_id"] = deals["opportunity_id"].astype("int64")
        tables.cache["static_deals"] = deals.drop_duplicates("opportunity_id", keep="last").set_index(
            "opportunity_id")
    return tables.cache["static_deals"]


def _days(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    return (later - earlier) / DAY_NS


def _history_of(tables: Tables) -> _History:
    """The prepared history of ``tables``, made once per set of tables (every snapshot of a forecast, its
    replays and a backtest ask the same history again)."""
    if "features_history" not in tables.cache:
        tables.cache["features_history"] = _History.of(tables.history)
    return tables.cache["features_history"]


def _features(tables: Tables, queries: pd.DataFrame, history: _History | None = None) -> pd.DataFrame:
    """Features for (opportunity_id, as_of) query rows; rows whose deal is not open then are dropped.

    The result is indexed by the query's position and carries ``as_of``.
    """
    history = history if history is not None else _history_of(tables)
    q = pd.DataFrame({"opportunity_id": queries["opportunity_id"].to_numpy().astype(np.int64),
                      "t": _ns(queries["as_of"]), "_row": np.arange(len(queries))})
    q = q.sort_values("t", kind="stable").reset_index(drop=True)
    stages = tables.stages.set_index("name")

    stage, since = history.value_at("stage", q)
    created = history.created.reindex(q["opportunity_id"]).fillna(np.iinfo(np.int64).max).to_numpy().astype(np.int64)
    keep = (pd.Series(stage).map(stages["type"]).to_numpy() == "open") & (created <= q["t"].to_numpy())
    if not keep.any():
        return _empty(tables)
    q, stage, since, created = q[keep].reset_index(drop=True), stage[keep], since[keep], created[keep]
    t = q["t"].to_numpy()

    state = pd.DataFrame({"opportunity_id": q["opportunity_id"].to_numpy(), "stage": stage}, index=q["_row"].to_numpy())
    for field in ("amount", "expected_close_on", "owner", "forecast_category"):
        state[field] = history.value_at(field, q)[0]
    state["amount"] = pd.to_numeric(state["amount"], errors="coerce").astype(float)
    expected = pd.to_datetime(state["expected_close_on"], errors="coerce").astype("datetime64[ns]")
    state["expected_close_on"] = expected
    expected_ns = expected.to_numpy().view(np.int64)
    state["days_to_expected_close"] = np.where(expected.isna(), np.nan, _days(expected_ns, t))

    closes = history.rows("expected_close_on")
    old = pd.to_datetime(pd.Series(history.old[closes["pos"].to_numpy()]), errors="coerce")
    new = pd.to_datetime(pd.Series(history.new[closes["pos"].to_numpy()]), errors="coerce")
    pushes = closes[(new > old).to_numpy()].assign(pushes=1)
    count = _read_running(_running(pushes, "opportunity_id", ["pushes"]), q, "opportunity_id", ["pushes"], False)
    state["close_date_pushes"] = count["pushes"].to_numpy()

    state["stage_order"] = state["stage"].map(stages["order"]).astype(float)
    state["stage_probability"] = state["stage"].map(stages["probability"]).astype(float)
    state["age_days"] = _days(t, created)
    state["days_in_stage"] = _days(t, since)
    when = _from_ns(t)
    quarter_start = when.dt.tz_localize(None).dt.to_period("Q").dt.start_time.to_numpy().astype("datetime64[ns]")
    state["day_of_quarter"] = _days(t, quarter_start.view(np.int64))

    acts = _events(tables.activities["opportunity_id"].to_numpy().astype(np.int64),
                   _ns(tables.activities["occurred_at"])).assign(n=1)
    acts = _running(acts, "opportunity_id", ["n"])
    now = _read_running(acts, q, "opportunity_id", ["n"], False)["n"].to_numpy()
    month = q.assign(t=t - 30 * DAY_NS)
    before = _read_running(acts, month, "opportunity_id", ["n"], False)["n"].to_numpy()
    state["activity_count"] = now
    state["activities_last_30d"] = now - before
    last = _asof(acts, q, "opportunity_id")
    last_t = acts["t"].to_numpy()[np.maximum(last, 0)] if len(acts) else np.zeros(len(q), np.int64)
    state["days_since_activity"] = np.where(last >= 0, _days(t, last_t), np.nan)

    closures = closure_events(history, tables.stages)
    q["owner"] = state["owner"].to_numpy()
    _put_rate(state, _read_running(_rate_events(closures, "owner"), q, "owner", ["won", "closed"], True), "owner")

    deals = static_deals(tables)
    if deals is not None:
        state = state.join(deals, on="opportunity_id")
        if "account_id" in deals.columns:
            closures["account_id"] = closures["opportunity_id"].map(deals["account_id"])
            q["account_id"] = state["account_id"].to_numpy()
            rates = _read_running(_rate_events(closures, "account_id"), q, "account_id", ["won", "closed"], True)
            _put_rate(state, rates, "account")
    state["as_of"] = _from_ns(t).array
    return _ordered(state.sort_index(), deals)


def _put_rate(state: pd.DataFrame, rates: pd.DataFrame, prefix: str) -> None:
    won, closed = rates["won"].to_numpy(), rates["closed"].to_numpy()
    state[f"{prefix}_won_before"] = won
    state[f"{prefix}_closed_before"] = closed
    with np.errstate(invalid="ignore", divide="ignore"):
        state[f"{prefix}_win_rate_before"] = np.where(closed > 0, won / np.maximum(closed, 1), np.nan)


BASE_COLUMNS = [
    "opportunity_id", "stage", "stage_order", "stage_probability", "amount", "expected_close_on", "owner",
    "forecast_category", "age_days", "days_in_stage", "day_of_quarter", "close_date_pushes", "days_to_expected_close",
    "activity_count", "activities_last_30d", "days_since_activity",
    "owner_won_before", "owner_closed_before", "owner_win_rate_before",
]
ACCOUNT_COLUMNS = ["account_won_before", "account_closed_before", "account_win_rate_before"]


def _columns(deals: pd.DataFrame | None) -> list[str]:
    static = [] if deals is None else [c for c in deals.columns if c not in BASE_COLUMNS]
    account = ACCOUNT_COLUMNS if deals is not None and "account_id" in deals.columns else []
    return [*BASE_COLUMNS, *static, *account]


def _ordered(state: pd.DataFrame, deals: pd.DataFrame | None) -> pd.DataFrame:
    return state[[*_columns(deals), "as_of"]]


def _empty(tables: Tables) -> pd.DataFrame:
    return pd.DataFrame(columns=[*_columns(static_deals(tables)), "as_of"])


def features_at(tables: Tables, times: pd.Series) -> pd.DataFrame:
    """Features of each deal at its own time (``times`` indexed by opportunity_id), for the deals that
    exist and are open then; one row per deal, ordered by opportunity_id. Same columns as
    ``asof.snapshot``."""
    queries = pd.DataFrame({"opportunity_id": times.index.to_numpy(), "as_of": _utc(times).array})
    out = _features(tables, queries).drop(columns=["as_of"])
    return out.sort_values("opportunity_id", kind="stable").reset_index(drop=True)


def outcomes(tables: Tables) -> pd.DataFrame:
    """Per deal in the history: created_at (first history row), closed_at and won (1.0/0.0) when its
    latest stage is a won or lost one (closed_at = when it entered that stage), NaT/NaN when open."""
    return _outcomes(_history_of(tables), tables.stages)


def _outcomes(history: _History, stages: pd.DataFrame) -> pd.DataFrame:
    rows = history.rows("stage")
    last = rows.groupby("opportunity_id", sort=False).tail(1)
    kind = pd.Series(history.new[last["pos"].to_numpy()]).map(stages.set_index("name")["type"]).to_numpy()
    closed = np.isin(kind, ["won", "lost"])
    ids = history.created.index.to_numpy()
    out = pd.DataFrame({"opportunity_id": ids.astype(np.int64), "created_at": _from_ns(history.created.to_numpy())})
    ends = pd.DataFrame({"closed_at": np.where(closed, last["t"].to_numpy(), np.iinfo(np.int64).min),
                         "won": np.where(closed, (kind == "won").astype(float), np.nan)},
                        index=last["opportunity_id"].to_numpy())
    ends = ends.reindex(ids)
    closed_ns = ends["closed_at"].fillna(np.iinfo(np.int64).min).to_numpy().astype(np.int64)
    out["closed_at"] = _from_ns(closed_ns).where(closed_ns != np.iinfo(np.int64).min)
    out["won"] = ends["won"].to_numpy()
    return out


def known_before(tables: Tables, cutoff: pd.Timestamp) -> Tables:
    """The tables as they stood just before ``cutoff``: later history rows and activities removed."""
    changed, occurred = _utc(tables.history["changed_at"]), _utc(tables.activities["occurred_at"])
    if (changed < cutoff).all() and (occurred < cutoff).all():
        return tables  # nothing to drop: spare a copy of millions of rows
    history = tables.history[(changed < cutoff).to_numpy()]
    activities = tables.activities[(occurred < cutoff).to_numpy()]
    return Tables(history, activities, tables.stages, tables.deals)


def training_frame(tables: Tables, cutoff: pd.Timestamp | str, *, samples_per_deal: int = 1, seed: int = 0,
                   max_rows: int | None = None) -> pd.DataFrame:
    """Labelled rows for the deals closed before ``cutoff``: features at as-of times drawn uniformly in
    [created_at, closed_at), plus ``as_of``, ``won`` (0/1), ``closed_at`` and ``weight``.

    Only the history before ``cutoff`` is read, so nothing later can leak in. ``weight`` is the deal's
    open time (days) per row, scaled to mean 1: a random day's open pipeline holds long deals more
    often than short ones, and the model is applied to such snapshots. ``max_rows`` caps the rows by
    sampling deals (seeded, so deterministic).
    """
    cutoff = _utc(pd.Series([cutoff])).iloc[0]
    known = known_before(tables, cutoff)
    history = _History.of(known.history)
    out = _outcomes(history, known.stages)
    done = out[out["closed_at"].notna() & (out["closed_at"] > out["created_at"])].sort_values(
        "opportunity_id").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    if max_rows is not None and len(done) * samples_per_deal > max_rows:
        keep = np.sort(rng.choice(len(done), size=max_rows // samples_per_deal, replace=False))
        done = done.iloc[keep].reset_index(drop=True)
    rows = done.loc[done.index.repeat(samples_per_deal)].reset_index(drop=True)
    span = (rows["closed_at"] - rows["created_at"]).to_numpy().astype("int64")
    offsets = np.floor(rng.random(len(rows)) * span).astype("int64")
    rows["as_of"] = rows["created_at"] + pd.to_timedelta(offsets, unit="ns")
    feats = _features(known, rows[["opportunity_id", "as_of"]], history)
    labels = rows.loc[feats.index]
    feats = feats.assign(won=labels["won"].astype("int64").to_numpy(), closed_at=labels["closed_at"].to_numpy())
    weight = ((labels["closed_at"] - labels["created_at"]) / DAY).to_numpy() / samples_per_deal
    feats["weight"] = weight / weight.mean() if len(weight) else weight
    return cast(pd.DataFrame, feats.reset_index(drop=True))
