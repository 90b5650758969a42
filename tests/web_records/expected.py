"""Expected numbers computed independently from the raw Maven CSV files (standard library only).

Nothing here reads revcast's tables or calls revcast's code. The rules of the Maven mapping are applied
again: owner = lower-case "first.last" of sales_agent; amount = close_value for Won, else the product's
list price (product "GTXPro" is "GTX Pro"); closed_on = close_date for Won/Lost; created_on = engage_date.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from functools import cache
from pathlib import Path

MAVEN_DIR = Path(__file__).resolve().parents[2] / "src" / "revcast" / "demo_data" / "maven_crm"
OPEN = ("Prospecting", "Engaging")
STAGE_ORDER = {"Prospecting": 10, "Engaging": 20, "Won": 90, "Lost": 99}


def username(full_name: str) -> str:
    parts = full_name.split()
    return f"{parts[0]}.{parts[-1]}".lower()


def _read(name: str) -> list[dict[str, str]]:
    with (MAVEN_DIR / name).open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


@cache
def deals() -> tuple[dict, ...]:
    price = {r["product"]: Decimal(r["sales_price"]) for r in _read("products.csv")}
    team = {r["sales_agent"]: r for r in _read("sales_teams.csv")}
    out = []
    for r in _read("sales_pipeline.csv"):
        product = {"GTXPro": "GTX Pro"}.get(r["product"], r["product"])
        stage = r["deal_stage"]
        amount = Decimal(r["close_value"]) if stage == "Won" else price[product]
        close = dt.date.fromisoformat(r["close_date"]) if r["close_date"] else None
        out.append(
            {
                "id": r["opportunity_id"],
                "owner": username(r["sales_agent"]),
                "manager": username(team[r["sales_agent"]]["manager"]),
                "region": team[r["sales_agent"]]["regional_office"],
                "product": product,
                "account": r["account"] or None,
                "stage": stage,
                "amount": amount,
                "closed_on": close if stage in ("Won", "Lost") else None,
                "expected_close_on": close,
                "created_on": dt.date.fromisoformat(r["engage_date"]) if r["engage_date"] else None,
            }
        )
    return tuple(out)


def visible_to(user: str) -> list[dict]:
    """Deals a Maven user sees: a rep their own, a manager their team's (the hierarchy is one level deep)."""
    return [d for d in deals() if d["owner"] == user or d["manager"] == user]


def total(rows: list[dict]) -> Decimal:
    return sum((d["amount"] for d in rows), Decimal("0"))


def money(value: Decimal) -> str:
    """How the list shows a total: two decimals with thousands separators."""
    return f"{value:,.2f}"
