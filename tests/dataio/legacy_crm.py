"""A small legacy CRM database with quirks of its own, for the migration tests (PostgreSQL and SQLite).

Quirks: amounts in cents with a currency column (CNY/USD) and a rate table joined in the query, revenue in
万 (10,000) with its own currency, status codes that need a map (and a code no map knows), dates as text in
``DD.MM.YYYY``, names with stray spaces, empty strings next to NULLs, a deal pointing at a customer that does
not exist, parents given by id. Expected figures are computed here, in plain Python, from the rows as
inserted: never from revcast's code or tables.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

SCHEMA = [
    "CREATE TABLE staff (staff_no integer PRIMARY KEY, full_nm varchar(60), mgr_nm varchar(60), office varchar(30))",
    "CREATE TABLE customers (cust_id varchar(10) PRIMARY KEY, cust_nm varchar(100), parent_id varchar(10), "
    "sector_cd varchar(5), revenue_wan numeric(12,1), rev_ccy char(3), country varchar(40))",
    "CREATE TABLE fx_rates (ccy char(3) PRIMARY KEY, to_usd numeric(12,6))",
    "CREATE TABLE deals (deal_no integer PRIMARY KEY, cust_id varchar(10), owner_no integer, status_cd char(1), "
    "amt_cents bigint, ccy char(3), opened_txt varchar(10), closed_txt varchar(10))",
]
RATES = {"CNY": Decimal("0.138000"), "USD": Decimal("1.000000")}
REVENUE_RATES = {"CNY": Decimal("0.14"), "USD": Decimal("1")}
SECTORS = {"TEC": "technology", "RET": "retail", "MED": "medical", "FIN": "finance"}
STAGES = {"P": "Prospecting", "E": "Engaging", "W": "Won", "L": "Lost"}
STAFF = [
    (1, "  Qiao Lin", "Mei Gao", "East"),
    (2, "Bai Yu  ", "Mei Gao", "East"),
    (3, "Chen Rui", "Mei Gao", "East"),
    (4, "Dong Xue", "Sun Hao", "North"),
    (5, " Fang Zhou ", "Sun Hao", "North"),
    (6, "Guo Tian", "Sun Hao", ""),
]
N_CUSTOMERS = 20
N_DEALS = 150
BAD_STATUS_DEALS = (1017, 1083, 1129)  # status 'X': no map knows it
ORPHAN_DEAL = 1042  # points at customer C999, which does not exist

MAPPING = """\
name: legacy_crm
version: 1
defaults:
  currency: USD
stages:
  - {name: Prospecting, label_zh: 潜在客户, order: 10, type: open, probability: 10, forecast_category: pipeline}
  - {name: Engaging, label_zh: 接洽中, order: 20, type: open, probability: 40, forecast_category: pipeline,
     required_fields: [amount, expected_close_on]}
  - {name: Won, label_zh: 赢单, order: 90, type: won, probability: 100, forecast_category: closed}
  - {name: Lost, label_zh: 输单, order: 99, type: lost, probability: 0, forecast_category: omitted}
sources:
  - name: staff
    table: staff
    object: sales_team
    key_column: staff_no
    fields:
      name: full_nm
      manager: mgr_nm
      region: {column: office, default: Head office}
  - name: customers
    table: customers
    object: account
    fields:
      external_id: cust_id
      name: cust_nm
      parent: {column: parent_id, ref: account, by: external_id}
      industry: {column: sector_cd, map: {TEC: technology, RET: retail, MED: medical, FIN: finance}, unmapped: reject}
      annual_revenue:
        column: revenue_wan
        multiply: 10000
        convert: {from: rev_ccy, to: USD, rates: {CNY: 0.14, USD: 1}}
      country: {column: country, default: ""}
  - name: deals
    query: |
      SELECT d.deal_no, d.cust_id, d.status_cd, d.amt_cents, d.ccy, d.opened_txt, d.closed_txt,
             s.full_nm AS owner_name, c.cust_nm, r.to_usd
      FROM deals d
      JOIN staff s ON s.staff_no = d.owner_no
      LEFT JOIN customers c ON c.cust_id = d.cust_id
      LEFT JOIN fx_rates r ON r.ccy = d.ccy
    object: opportunity
    key_column: deal_no
    date_format: "%d.%m.%Y"
    fields:
      external_id: {template: "LEG-{deal_no}"}
      name: {template: "{cust_nm} #{deal_no}"}
      owner: {column: owner_name, ref: user, by: full_name}
      account: {column: cust_id, ref: account, by: external_id, on_missing: "null"}
      stage: {column: status_cd, ref: stage, by: name, map: {P: Prospecting, E: Engaging, W: Won, L: Lost}, unmapped: reject}
      amount: {column: amt_cents, multiply: 0.01, convert: {from: ccy, to: USD, rate: to_usd}}
      created_on: opened_txt
      expected_close_on: closed_txt
      closed_on: closed_txt
    stage_dates: {Won: closed_txt, Lost: closed_txt}
"""


def _day(d: dt.date) -> str:
    return d.strftime("%d.%m.%Y")


def rows() -> dict[str, list[tuple[Any, ...]]]:
    """The legacy tables' rows (deterministic)."""
    rnd = random.Random(7)
    customers = []
    for i in range(1, N_CUSTOMERS + 1):
        cid = f"C{i:03d}"
        name = f"{rnd.choice(['  ', '', ' '])}Client {i:02d} Trading{rnd.choice(['', ' ', '   '])}"
        parent = None if i % 5 else ("" if i == 10 else "C001")  # '' and NULL both mean no parent
        sector = ["TEC", "RET", "MED", "FIN"][i % 4]
        revenue = None if i % 7 == 0 else Decimal(rnd.randint(10, 99999)) / 10
        ccy = "CNY" if i % 3 else "USD"
        country = None if i % 6 == 0 else ("" if i % 6 == 1 else "China")
        customers.append((cid, name, parent, sector, revenue, ccy, country))
    deals = []
    base = dt.date(2024, 1, 1)
    for n in range(1001, 1001 + N_DEALS):
        status = "X" if n in BAD_STATUS_DEALS else rnd.choice("PEEWWLL")
        opened = base + dt.timedelta(days=rnd.randint(0, 300))
        closed = _day(opened + dt.timedelta(days=rnd.randint(5, 90))) if status in "WL" else rnd.choice(["", None])
        cents = None if status == "P" and rnd.random() < 0.5 else rnd.randint(1000, 90_000_000)
        ccy = rnd.choice(["CNY", "CNY", "USD"])
        cust = "C999" if n == ORPHAN_DEAL else (None if rnd.random() < 0.1 else f"C{rnd.randint(1, N_CUSTOMERS):03d}")
        owner = rnd.randint(1, len(STAFF))
        deals.append((n, cust, owner, status, cents, ccy, _day(opened), closed))
    return {
        "staff": list(STAFF),
        "customers": customers,
        "fx_rates": [(k, v) for k, v in RATES.items()],
        "deals": deals,
    }


COLUMNS = {
    "staff": ("staff_no", "full_nm", "mgr_nm", "office"),
    "customers": ("cust_id", "cust_nm", "parent_id", "sector_cd", "revenue_wan", "rev_ccy", "country"),
    "fx_rates": ("ccy", "to_usd"),
    "deals": ("deal_no", "cust_id", "owner_no", "status_cd", "amt_cents", "ccy", "opened_txt", "closed_txt"),
}


def create(url: str) -> None:
    """Create the legacy schema and rows in the (empty) database ``url`` (a SQLAlchemy URL)."""
    from sqlalchemy import create_engine, text

    from revcast.dataio.sqlsource import normalise_url

    engine = create_engine(normalise_url(url))
    data = rows()

    def value(v: Any) -> Any:  # the sqlite3 module binds no Decimal (Django adds an adapter only when it uses SQLite)
        return str(v) if isinstance(v, Decimal) and engine.dialect.name == "sqlite" else v

    with engine.begin() as conn:
        for ddl in SCHEMA:
            conn.execute(text(ddl))
        for table, cols in COLUMNS.items():
            sql = text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})")
            conn.execute(sql, [{c: value(v) for c, v in zip(cols, r, strict=True)} for r in data[table]])
    engine.dispose()


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def deal_valid(deal: tuple[Any, ...]) -> bool:
    return deal[3] in STAGES


def expected() -> dict[str, Any]:
    """What the migration must produce, from the raw rows."""
    data = rows()
    deals = [d for d in data["deals"] if deal_valid(d)]
    amounts = [_money(Decimal(d[4]) / 100 * RATES[d[5]]) for d in deals if d[4] is not None]
    revenues = [
        _money(Decimal(str(c[4])) * 10000 * REVENUE_RATES[c[5]]) for c in data["customers"] if c[4] is not None
    ]
    return {
        "users": len(STAFF),
        "managers": len({s[2] for s in STAFF}),
        "accounts": len(data["customers"]),
        "revenue_sum": sum(revenues, Decimal(0)),
        "deals_read": len(data["deals"]),
        "deals": len(deals),
        "deals_rejected": len(data["deals"]) - len(deals),
        "amount_sum": sum(amounts, Decimal(0)),
        "won": sum(1 for d in deals if d[3] == "W"),
        "with_parent": sum(1 for c in data["customers"] if c[2]),
        "no_account": sum(1 for d in deals if d[1] is None or d[1] == "C999"),
    }


def valid_deals_among_first(n_rows: int) -> int:
    """Valid deals among the first ``n_rows`` deals in key order (what a checkpoint at ``n_rows`` holds)."""
    return valid_deals_among_lines([(1, n_rows)])


def valid_deals_among_lines(ranges: list[tuple[int, int]]) -> int:
    """Valid deals among the deals at key-order positions ``first`` to ``first + n - 1`` for each ``(first, n)``
    (what the checkpoints of key ranges loaded in parallel hold)."""
    ordered = sorted(rows()["deals"], key=lambda d: d[0])
    return sum(1 for first, n in ranges for d in ordered[first - 1 : first - 1 + n] if deal_valid(d))
