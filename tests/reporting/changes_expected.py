"""Pipeline changes and slipped deals recomputed with pandas from the raw field-history table.

Nothing here calls revcast's reporting code: the history rows (and the stage table, for each stage's type)
are read as they are stored, and the documented rules (docs/guide/pipeline-changes.md) are applied again,
column-wise, to whole frames:

* the state at an instant = the last row of each field dated before it;
* a deal is in the period's pipeline when its stage is open and its expected close date lies in the period;
* start deals: the amount change goes to increased/decreased; leaving, the end amount goes to won, lost,
  pulled out (date before the period) or pushed out (after it, or none);
* joiners: new (first history row at or after the start instant) or pulled in, at the end amount;
* not in the start pipeline, closed in the window on a day of the period: new/pulled in and won/lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pandas as pd

CATEGORIES = ("start", "new", "pulled_in", "increased", "decreased", "pushed_out", "pulled_out", "won", "lost",
              "end")
CENT = Decimal("0.01")


def history(owners: Iterable[str] | None = None) -> pd.DataFrame:
    """Every history row (of deals owned by ``owners`` when given), in (deal, time, id) order."""
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    rows = OpportunityFieldHistory.objects.values("id", "opportunity_id", "field", "old_value", "new_value",
                                                   "changed_at")
    h = pd.DataFrame.from_records(rows, columns=["id", "opportunity_id", "field", "old_value", "new_value",
                                                 "changed_at"])
    if owners is not None:
        ids = Opportunity.objects.filter(owner__username__in=list(owners)).values_list("pk", flat=True)
        h = h[h["opportunity_id"].isin(set(ids))]
    h["changed_at"] = pd.to_datetime(h["changed_at"], utc=True)
    return h.sort_values(["opportunity_id", "changed_at", "id"], kind="stable").reset_index(drop=True)


def stage_types() -> dict[str, str]:
    from revcast.pipeline.models import Stage

    return dict(Stage.objects.values_list("name", "type"))


def utc(day: str | dt.date) -> pd.Timestamp:
    return pd.Timestamp(str(day), tz="UTC")


def state(h: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """stage, amount, expected_close_on of each deal with rows before ``t`` (text, as stored)."""
    known = h[h["changed_at"] < t]
    last = known.groupby(["opportunity_id", "field"], sort=False).tail(1)
    wide = last.pivot(index="opportunity_id", columns="field", values="new_value")
    return wide.reindex(columns=["stage", "amount", "expected_close_on"])


def _dec(value: Any) -> Decimal:
    return Decimal(0) if value is None or (isinstance(value, float) and pd.isna(value)) else Decimal(str(value))


def deals_frame(h: pd.DataFrame, types: dict[str, str], period: tuple[str, str], start: str, end: str,
                ) -> pd.DataFrame:
    """One row per deal existing by the end: in_start, in_end, amounts and every category's amount (or None).

    ``period`` = (first day, day after the last); ``start``/``end`` = first and last day compared (inclusive).
    """
    first, after = dt.date.fromisoformat(period[0]), dt.date.fromisoformat(period[1])
    s, e = utc(start), utc(dt.date.fromisoformat(end) + dt.timedelta(days=1))
    h = h[h["changed_at"] < e]
    at_s, at_e = state(h, s), state(h, e)
    ids = pd.Index(sorted(h["opportunity_id"].unique()), name="opportunity_id")
    f = pd.DataFrame(index=ids)
    for name, st in (("s", at_s), ("e", at_e)):
        f[f"{name}_exists"] = ids.isin(st.index)
        st = st.reindex(ids)
        # A stage name the stage table does not know counts as open.
        f[f"{name}_type"] = st["stage"].map(lambda v: types.get(v, "open") if isinstance(v, str) else None)
        f[f"{name}_close"] = pd.to_datetime(st["expected_close_on"]).dt.date
        f[f"{name}_amount"] = st["amount"].map(_dec)
        closes = f[f"{name}_close"]
        in_p = closes.map(lambda d: d is not None and not pd.isna(d) and first <= d < after)
        f[f"in_{name}"] = f[f"{name}_exists"] & (f[f"{name}_type"] == "open") & in_p.astype(bool)
    f["created"] = h.groupby("opportunity_id")["changed_at"].min()
    closing = h[(h["field"] == "stage") & h["new_value"].map(types).isin(["won", "lost"])]
    f["closed_at"] = closing.groupby("opportunity_id")["changed_at"].max()
    f["delta"] = f["e_amount"] - f["s_amount"]
    closed_end = f["e_type"].isin(["won", "lost"])
    closed_in_window = closed_end & (f["closed_at"] >= s)
    close_day = f["closed_at"].map(lambda t: None if pd.isna(t) else t.date())
    closed_in_period = close_day.map(lambda d: d is not None and first <= d < after).astype(bool)
    in_s, in_e = f["in_s"], f["in_e"]
    leaves = in_s & ~in_e
    passes = ~in_s & ~in_e & closed_in_window & closed_in_period
    joins = (~in_s & in_e) | passes
    is_new = f["created"] >= s
    early = f["e_close"].map(lambda d: d is not None and not pd.isna(d) and d < first).astype(bool)
    masks = {
        "start": in_s, "end": in_e,
        "increased": in_s & (f["delta"] > 0), "decreased": in_s & (f["delta"] < 0),
        "won": (leaves | passes) & (f["e_type"] == "won"), "lost": (leaves | passes) & (f["e_type"] == "lost"),
        "pulled_out": leaves & (f["e_type"] == "open") & early,
        "pushed_out": leaves & (f["e_type"] == "open") & ~early,
        "new": joins & is_new, "pulled_in": joins & ~is_new,
    }
    for name, mask in masks.items():
        if name == "start":
            value = f["s_amount"]
        elif name in ("increased", "decreased"):
            value = f["delta"].map(abs)
        else:
            value = f["e_amount"]
        f[name] = value.where(mask.astype(bool), None)
    return f


def waterfall(f: pd.DataFrame) -> dict[str, tuple[int, Decimal]]:
    """(deals, amount to the cent) per category."""
    out = {}
    for c in CATEGORIES:
        values = [v for v in f[c] if v is not None and not (isinstance(v, float) and pd.isna(v))]
        out[c] = (len(values), sum(values, Decimal(0)).quantize(CENT))
    return out


def expected_waterfall(owners: Iterable[str] | None, period: tuple[str, str], start: str, end: str,
                       ) -> dict[str, tuple[int, Decimal]]:
    """The waterfall of the deals of ``owners`` (None: every deal) from the history table (see deals_frame)."""
    return waterfall(deals_frame(history(owners), stage_types(), period, start, end))


def rows(w: dict[str, tuple[int, Decimal]]) -> list[list[Any]]:
    """[category, deals, amount] in report order."""
    return [[c, *w[c]] for c in CATEGORIES]


def identity_holds(w: dict[str, tuple[int, Decimal]]) -> bool:
    a = {c: amount for c, (_n, amount) in w.items()}
    end = (a["start"] + a["new"] + a["pulled_in"] + a["increased"] - a["decreased"] - a["pushed_out"]
           - a["pulled_out"] - a["won"] - a["lost"])
    return end == a["end"]


def slipped(h: pd.DataFrame, types: dict[str, str], as_of: pd.Timestamp, open_only: bool = True,
            period: tuple[str, str] | None = None) -> list[tuple[int, int, int]]:
    """(opportunity id, days slipped, pushes) of slipped deals, most days first (then by id)."""
    h = h[h["changed_at"] < as_of]
    closes = h[h["field"] == "expected_close_on"].copy()
    closes["new_day"] = pd.to_datetime(closes["new_value"]).dt.date
    closes["old_day"] = pd.to_datetime(closes["old_value"]).dt.date
    known = closes[closes["new_day"].notna()]
    original = known.groupby("opportunity_id")["new_day"].first()
    current = closes.groupby("opportunity_id")["new_day"].last()
    both = closes["old_day"].notna() & closes["new_day"].notna()
    pushed = closes[both & (closes["new_day"] > closes["old_day"])]
    pushes = pushed.groupby("opportunity_id").size()
    st = state(h, as_of)
    out = []
    for opp, cur in current.items():
        if cur is None or pd.isna(cur) or opp not in original.index:
            continue
        days = (cur - original[opp]).days
        if days <= 0:
            continue
        if open_only and types.get(st.loc[opp, "stage"], "open") != "open":
            continue
        if period is not None:
            first, after = dt.date.fromisoformat(period[0]), dt.date.fromisoformat(period[1])
            ever = known.loc[known["opportunity_id"] == opp, "new_day"]
            if cur < after or not any(first <= d < after for d in ever):
                continue
        out.append((int(opp), days, int(pushes.get(opp, 0))))
    return sorted(out, key=lambda r: (-r[1], r[0]))
