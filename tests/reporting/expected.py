"""Expected report results computed independently from the raw Maven CSV files with pandas.

Nothing here reads revcast's tables or calls revcast's code: the business rules of the Maven data set
(as documented in mappings/maven_crm.yaml) are applied to the raw files again, here:

* product "GTXPro" is "GTX Pro" (the products table's spelling); series and list price come from products.csv;
* the account's industry = its sector with "technolgy" read "technology"; its country = office_location with
  "Philipines" read "Philippines" (deals without an account have neither);
* owner = lower-case "first.last" of sales_agent; region = the agent's regional_office;
  team = "<manager> team"; manager = the manager's username;
* amount: Won -> close_value; Prospecting / Engaging / Lost -> the product's sales_price;
* closed_on = close_date for Won and Lost; expected_close_on = close_date (open deals have none);
  created_on = engaged_on = engage_date (empty for Prospecting);
* stages Prospecting (10 %, pipeline) < Engaging (40 %, pipeline) < Won (closed); Lost (omitted); Lost is not a funnel stage. The furthest stage a deal
  reached: Won -> every stage; Lost and Engaging -> Prospecting and Engaging; Prospecting -> Prospecting.

Report rows come back in the documented order: by the label text of each grouping value, empty (None)
last, stages in stage order; the funnel lists its stages in order inside each group, the sales cycle
"won" before "lost".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

MAVEN_DIR = Path(__file__).resolve().parents[2] / "src" / "revcast" / "demo_data" / "maven_crm"

STAGE_ORDER = {"Prospecting": 10, "Engaging": 20, "Won": 90, "Lost": 99}
OPEN_STAGES = ("Prospecting", "Engaging")
FUNNEL_STAGES = ("Prospecting", "Engaging", "Won")
PROBABILITY = {"Prospecting": 10, "Engaging": 40, "Won": 100, "Lost": 0}
FORECAST_CATEGORY = {"Prospecting": "pipeline", "Engaging": "pipeline", "Won": "closed", "Lost": "omitted"}
# Stages each deal counts as having reached, by its current stage.
REACHED = {
    "Won": {"Prospecting", "Engaging", "Won"},
    "Lost": {"Prospecting", "Engaging"},
    "Engaging": {"Prospecting", "Engaging"},
    "Prospecting": {"Prospecting"},
}
PRODUCT_NAME_FIX = {"GTXPro": "GTX Pro"}
INDUSTRY_FIX = {"technolgy": "technology"}
COUNTRY_FIX = {"Philipines": "Philippines"}
TIME_DIMS = ("month", "quarter", "year")
CENT = Decimal("0.01")


def username(full_name: str) -> str:
    """'Darcel Schlecht' -> 'darcel.schlecht'."""
    parts = full_name.split()
    return f"{parts[0]}.{parts[-1]}".lower()


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(MAVEN_DIR / name, dtype=str, keep_default_na=False)


@cache
def _deals() -> pd.DataFrame:
    pipeline = _read("sales_pipeline.csv")
    teams = _read("sales_teams.csv")
    products = _read("products.csv")

    df = pd.DataFrame({"external_id": pipeline["opportunity_id"], "agent": pipeline["sales_agent"]})
    df["owner"] = df["agent"].map(username)
    team_of = teams.set_index("sales_agent")
    df["manager"] = df["agent"].map(team_of["manager"]).map(username)
    df["team"] = df["agent"].map(team_of["manager"]) + " team"
    df["region"] = df["agent"].map(team_of["regional_office"])
    df["product"] = pipeline["product"].replace(PRODUCT_NAME_FIX)
    price = products.set_index("product")
    df["series"] = df["product"].map(price["series"])
    df["list_price"] = df["product"].map(price["sales_price"]).astype(int)
    df["account"] = pipeline["account"].where(pipeline["account"] != "", None)
    accounts = _read("accounts.csv").set_index("account")
    df["industry"] = df["account"].map(accounts["sector"].replace(INDUSTRY_FIX))
    df["country"] = df["account"].map(accounts["office_location"].replace(COUNTRY_FIX))
    df["stage"] = pipeline["deal_stage"]
    engage = pd.to_datetime(pipeline["engage_date"].replace("", None), format="%Y-%m-%d")
    close = pd.to_datetime(pipeline["close_date"].replace("", None), format="%Y-%m-%d")
    closed = df["stage"].isin(["Won", "Lost"])
    df["created_on"] = engage
    df["engaged_on"] = engage
    df["expected_close_on"] = close
    df["closed_on"] = close.where(closed)
    won = df["stage"] == "Won"
    df["amount"] = pipeline["close_value"].where(won, "0").replace("", "0").astype(int).where(won, df["list_price"])
    df["probability"] = df["stage"].map(PROBABILITY)
    df["forecast_category"] = df["stage"].map(FORECAST_CATEGORY)
    assert df.notna()[["owner", "region", "team", "product", "series"]].all().all(), "unmapped raw values"
    return df


def accounts() -> pd.DataFrame:
    """The raw accounts table (strings)."""
    return _read("accounts.csv")


def deals() -> pd.DataFrame:
    """Every raw opportunity with the fields revcast derives from it (a fresh copy to filter and extend)."""
    return _deals().copy()


# ---------------------------------------------------------------- filtering and grouping


def in_period(df: pd.DataFrame, field: str, date_from: str | None = None, date_to: str | None = None) -> pd.DataFrame:
    """Rows whose ``field`` lies in [date_from, date_to] (inclusive); no bound keeps rows without a date."""
    mask = pd.Series(True, index=df.index)
    if date_from:
        mask &= df[field] >= pd.Timestamp(date_from)
    if date_to:
        mask &= df[field] <= pd.Timestamp(date_to)
    return df[mask]


def period_label(kind: str, value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    if kind == "quarter":
        return f"{value.year}-Q{(value.month - 1) // 3 + 1}"
    if kind == "month":
        return f"{value.year}-{value.month:02d}"
    return str(value.year)


def labels(df: pd.DataFrame, dim: str, date_field: str) -> list[Any]:
    """The grouping value of each row for dimension ``dim`` (None where the row has no value)."""
    if dim in TIME_DIMS:
        return [period_label(dim, v) for v in df[date_field]]
    column = dim if dim in df.columns else dim.removeprefix("custom.")
    return [None if (v is None or (isinstance(v, float) and pd.isna(v))) else v for v in df[column]]


def sort_key(by: Sequence[str], key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        (value is None, STAGE_ORDER.get(value, 10**6) if dim == "stage" else 0, "" if dim == "stage" or value is None
         else str(value))
        for dim, value in zip(by, key, strict=True)
    )


def groups(df: pd.DataFrame, by: Sequence[str], date_field: str) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    """(key, rows) per group of ``by`` in report order; one group with key () when ``by`` is empty."""
    if not by:
        return [((), df)] if len(df) else []
    keys = list(zip(*(labels(df, d, date_field) for d in by), strict=True))
    frame = df.assign(_key=keys)
    out = [(k, g) for k, g in frame.groupby("_key", sort=False, dropna=False)]
    return sorted(out, key=lambda item: sort_key(by, item[0]))


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def _table(df: pd.DataFrame, by: Sequence[str], date_field: str,
           measures: Callable[[pd.DataFrame], list[Any]]) -> list[list[Any]]:
    return [[*key, *measures(g)] for key, g in groups(df, by, date_field)]


# ---------------------------------------------------------------- the reports


def bookings(df: pd.DataFrame, by: Sequence[str] = ("month",)) -> dict[str, Any]:
    """Won deals by close date: [*groups, count, amount]; totals count and amount."""
    won = df[df["stage"] == "Won"]
    rows = _table(won, by, "closed_on", lambda g: [len(g), money(int(g["amount"].sum()))])
    return {"rows": rows, "totals": {"count": len(won), "amount": money(int(won["amount"].sum()))}}


def win_rate(df: pd.DataFrame, by: Sequence[str] = ()) -> dict[str, Any]:
    """Closed deals by close date: [*groups, won, lost, won/(won+lost), won amount, lost amount]."""
    closed = df[df["stage"].isin(["Won", "Lost"])]

    def measures(g: pd.DataFrame) -> list[Any]:
        won, lost = g[g["stage"] == "Won"], g[g["stage"] == "Lost"]
        return [len(won), len(lost), ratio(len(won), len(won) + len(lost)),
                money(int(won["amount"].sum())), money(int(lost["amount"].sum()))]

    rows = _table(closed, by, "closed_on", measures)
    total = measures(closed)
    return {"rows": rows, "totals": {"won": total[0], "lost": total[1], "won_amount": total[3],
                                     "lost_amount": total[4], "win_rate": total[2]}}


def pipeline(df: pd.DataFrame, by: Sequence[str] = ("stage",)) -> dict[str, Any]:
    """Open deals: [*groups, count, amount, amount x stage probability]."""
    open_deals = df[df["stage"].isin(OPEN_STAGES)]

    def measures(g: pd.DataFrame) -> list[Any]:
        weighted = Decimal(int((g["amount"] * g["probability"]).sum())) / 100
        return [len(g), money(int(g["amount"].sum())), money(weighted)]

    rows = _table(open_deals, by, "expected_close_on", measures)
    total = measures(open_deals)
    return {"rows": rows, "totals": {"count": total[0], "amount": total[1], "weighted_amount": total[2]}}


def funnel(df: pd.DataFrame, by: Sequence[str] = (), cohort_field: str = "created_on") -> dict[str, Any]:
    """[*groups, stage, reached, conversion from previous stage, conversion from the first stage]."""
    rows: list[list[Any]] = []
    meta_groups = []
    for key, g in groups(df, by, cohort_field):
        first = previous = None
        for stage in FUNNEL_STAGES:
            reached = int(sum(stage in REACHED[s] for s in g["stage"]))
            first = reached if first is None else first
            rows.append([*key, stage, reached, None if previous is None else ratio(reached, previous),
                         ratio(reached, first)])
            previous = reached
        won, lost = int((g["stage"] == "Won").sum()), int((g["stage"] == "Lost").sum())
        meta_groups.append({"group": list(key), "cohort": len(g), "won": won, "lost": lost,
                            "win_rate": ratio(won, won + lost)})
    won, lost = int((df["stage"] == "Won").sum()), int((df["stage"] == "Lost").sum())
    totals = {"cohort": len(df), "won": won, "lost": lost, "win_rate": ratio(won, won + lost)}
    return {"rows": rows, "totals": totals, "groups": meta_groups}


def _cycle_stats(days: pd.Series) -> list[Any]:
    return [len(days), round(float(days.mean()), 2), round(float(days.median()), 2),
            round(float(days.quantile(0.9)), 2)]


def sales_cycle(df: pd.DataFrame, by: Sequence[str] = (), start_field: str = "engaged_on") -> dict[str, Any]:
    """Won and lost deals: [*groups, outcome, count, mean, median, p90 of days from start to close]."""
    closed = df[df["stage"].isin(["Won", "Lost"]) & df["closed_on"].notna()]
    missing = int(closed[start_field].isna().sum())
    closed = closed[closed[start_field].notna()]
    closed = closed.assign(days=(closed["closed_on"] - closed[start_field]).dt.days.astype(float))
    rows = []
    for key, g in groups(closed, by, "closed_on"):
        for outcome, stage in (("won", "Won"), ("lost", "Lost")):
            days = g.loc[g["stage"] == stage, "days"]
            if len(days):
                rows.append([*key, outcome, *_cycle_stats(days)])
    totals = {}
    for outcome, stage in (("won", "Won"), ("lost", "Lost")):
        days = closed.loc[closed["stage"] == stage, "days"]
        if len(days):
            totals[outcome] = dict(zip(("count", "mean_days", "median_days", "p90_days"), _cycle_stats(days),
                                       strict=True))
    return {"rows": rows, "totals": totals, "missing_start": missing}


def date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
