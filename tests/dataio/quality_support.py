"""Expected quality findings on the Maven data, computed with plain pandas from the raw CSV files.

Nothing here calls revcast's quality code: only the raw files, the mapping YAML (for its value maps and the
stages' required fields) and the governed lists as shipped (core.governed: data, not logic).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pandas as pd
import yaml

from tests.dataio.support import MAVEN_DIR

MAPPING = MAVEN_DIR.parents[2].parent / "mappings" / "maven_crm.yaml"
STALE_DAYS = 90

Key = tuple[str, str, Any]


@cache
def raw() -> dict[str, pd.DataFrame]:
    names = {
        "teams": "sales_teams.csv",
        "products": "products.csv",
        "accounts": "accounts.csv",
        "pipeline": "sales_pipeline.csv",
    }
    return {k: pd.read_csv(MAVEN_DIR / f, dtype=str, keep_default_na=False) for k, f in names.items()}


def value_map(source: str, target: str) -> dict[str, str]:
    data = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    spec = next(s for s in data["sources"] if s["name"] == source)["fields"][target]
    return {str(k): str(v) for k, v in (spec.get("map") or {}).items()} if isinstance(spec, dict) else {}


def governed_names(key: str) -> set[str]:
    from revcast.core.governed import PICKLISTS

    return {name.casefold() for value in PICKLISTS[key][2] for name in value if name}


def as_of() -> pd.Timestamp:
    p = raw()["pipeline"]
    dates = pd.concat(
        [pd.to_datetime(p.engage_date[p.engage_date != ""]), pd.to_datetime(p.close_date[p.close_date != ""])]
    )
    return dates.max()


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts().items()}


def expected(after_import: bool) -> dict[Key, int]:
    """(rule, field, offending value for per-value findings) -> number of records."""
    d = raw()
    teams, products, accounts, pipe = d["teams"], d["products"], d["accounts"], d["pipeline"]
    product_map = value_map("opportunities", "product") if after_import else {}
    sector_map = value_map("accounts", "industry") if after_import else {}
    country_map = value_map("accounts", "country") if after_import else {}
    product = pipe["product"].replace(product_map)
    sector = accounts.sector.replace(sector_map)
    country = accounts.office_location.replace(country_map)
    is_open = pipe.deal_stage.isin(["Prospecting", "Engaging"])
    closed = pipe.deal_stage.isin(["Won", "Lost"])
    list_price = dict(zip(products["product"], products.sales_price, strict=True))

    found: dict[Key, int] = {}

    def add(key: Key, n: int) -> None:
        if n:
            found[key] = int(n)

    add(("sales_team.without_deals", "name", None), len(set(teams.sales_agent) - set(pipe.sales_agent)))
    add(("product.without_deals", "name", None), len(set(products["product"]) - set(product)))
    for value, n in _counts(sector[~sector.str.casefold().isin(governed_names("industry"))]).items():
        add(("account.industry.governed", "industry", value), n)
    for value, n in _counts(country[~country.str.casefold().isin(governed_names("country"))]).items():
        add(("account.country.governed", "country", value), n)
    add(("account.name.capitalised", "name", None), int(accounts.account.str.match(r"[a-z]").sum()))
    # Engaging's exit criteria (mapping stages): amount and expected_close_on, for deals past it (won, lost).
    # Raw: close_value empty or "0" (declared null); after the import the product's list price fills it.
    no_amount = closed & pipe.close_value.isin(["", "0"])
    if after_import:
        no_amount &= product.map(lambda p: list_price.get(p, "")) == ""
    add(("opportunity.exit_criteria", "amount", None), int(no_amount.sum()))
    add(
        ("opportunity.exit_criteria", "expected_close_on", None),
        int((closed & (pipe.close_date == "")).sum()),
    )
    add(
        ("opportunity.expected_close_on.open", "expected_close_on", None),
        int((is_open & (pipe.close_date == "")).sum()),
    )
    add(("opportunity.account.required", "account", None), int((pipe.account == "").sum()))
    add(("opportunity.created_on.required", "created_on", None), int((pipe.engage_date == "").sum()))
    joined = pipe[pipe.account != ""].merge(accounts, on="account")
    engaged_year = pd.to_datetime(joined.engage_date).dt.year
    add(
        ("opportunity.engaged_after_account_established", "engaged_on", None),
        int((engaged_year < joined.year_established.astype(int)).sum()),
    )
    for value, n in _counts(product[~product.isin(products["product"])]).items():
        add(("opportunity.product.reference", "product", value), n)
    engaged = pd.to_datetime(pipe.engage_date.where(pipe.engage_date != ""), errors="coerce")
    stale = is_open & engaged.notna() & ((as_of() - engaged).dt.days > STALE_DAYS)
    add(("opportunity.stale", "engaged_on", None), int(stale.sum()))
    return found


def line_of(file_key: str, column: str, value: str) -> int:
    """The line (header = 1) of the first raw row whose column holds value."""
    frame = raw()[file_key]
    return int(frame.index[frame[column] == value][0]) + 2
