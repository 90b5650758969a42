"""What is matched for accounts, contacts and opportunities: the input columns, keys, blocking rules and
comparisons of each.

Input frames have an ``id`` column and the columns below (a missing column counts as empty):

- accounts: ``name, phone, email, location, country, uscc``
- contacts: ``first_name, last_name, phone, email, account_id, birth_date``
- opportunities: ``name, account_id, product_id, amount, close_date, owner_id``

Default thresholds (a match probability). Accounts: 0.5, a pair is proposed when it is more likely a match
than not. With value-specific ``u`` for names (see ``model``) the account probabilities are calibrated: on
the generated million accounts, pairs scored 0.7-0.9 are matches 78-89 % of the time, so a higher threshold
drops pairs that are mostly true duplicates. That is the Bayes decision, not a figure fitted to the sets.
Contacts and opportunities: 0.9, as before; their calibration has not been studied, and on the Maven demo
deals (no deal names; repeat deals of one account and product at list price, owned by the account's rep) a
lower threshold chains repeat deals into large clusters. bench/dedup.py and ADR 0018 give the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from revcast.dataio.dedup import keys
from revcast.dataio.dedup.blocking import BlockRule
from revcast.dataio.dedup.compare import Comparison

ACCOUNT_THRESHOLD = 0.5
DEFAULT_THRESHOLD = 0.9


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    columns: tuple[str, ...]
    prepare: Callable[[pd.DataFrame, str], pd.DataFrame]
    rules: tuple[BlockRule, ...]
    comparisons: tuple[Comparison, ...]
    threshold: float
    linkage: str = "single"
    """How matched pairs form clusters: ``single`` (connected components: A~B and B~C put A, B, C together,
    which keeps a duplicate whose fields are missing with its group) or ``complete`` (every two records of a
    cluster must match: repeat deals of one account form chains in time, which single linkage would join)."""


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series([""] * len(frame), index=frame.index, dtype=object)


def _phone_tail(phone: pd.Series) -> pd.Series:
    """The last seven digits: a number written with and without its country or area code shares them."""
    return phone.str.replace(r"\D", "", regex=True).str[-7:]


def prepare_accounts(frame: pd.DataFrame, region: str) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["name"] = keys.company(_column(frame, "name"))
    out["core"] = keys.company_core(_column(frame, "name"))
    out["phone"] = keys.phone(_column(frame, "phone"), region)
    out["phone_tail"] = _phone_tail(out["phone"])
    out["email"] = keys.email(_column(frame, "email"))
    out["location"] = keys.place(_column(frame, "location"))
    out["country"] = keys.country(_column(frame, "country"))
    out["uscc"] = keys.code(_column(frame, "uscc"))
    return out


def prepare_contacts(frame: pd.DataFrame, region: str) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["name"], out["name_swapped"] = keys.person(_column(frame, "first_name"), _column(frame, "last_name"))
    out["phone"] = keys.phone(_column(frame, "phone"), region)
    out["phone_tail"] = _phone_tail(out["phone"])
    out["email"] = keys.email(_column(frame, "email"))
    out["account"] = keys.identifier(_column(frame, "account_id"))
    out["birth_date"] = keys.day_number(_column(frame, "birth_date"))
    return out


def prepare_opportunities(frame: pd.DataFrame, region: str) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["name"] = keys.text(_column(frame, "name"))
    out["account"] = keys.identifier(_column(frame, "account_id"))
    out["product"] = keys.identifier(_column(frame, "product_id"))
    out["owner"] = keys.identifier(_column(frame, "owner_id"))
    out["amount"] = keys.number(_column(frame, "amount"))
    out["close_date"] = keys.day_number(_column(frame, "close_date"))
    out["close_month"] = (out["close_date"] // 30).astype("Int64").astype("string").fillna("").astype(object)
    out["created"] = keys.day_number(_column(frame, "created_on"))
    return out


ACCOUNTS = ObjectSpec(
    name="accounts",
    columns=("name", "phone", "email", "location", "country", "uscc"),
    prepare=prepare_accounts,
    rules=(
        BlockRule("name", ("name",)),
        BlockRule("phone", ("phone_tail",)),
        BlockRule("email", ("email",)),
        BlockRule("uscc", ("uscc",)),
        BlockRule("name-sorted", ("name",), kind="window", size=4),
        BlockRule("name-reversed", ("name",), kind="window", size=4, reverse=True),
        BlockRule("core", ("core",)),
        BlockRule("core-sorted", ("core",), kind="window", size=4),
    ),
    comparisons=(
        Comparison("name", "string", ("name", "core"), (0.75, 0.88), alternative="same", sources=("name",),
                   tf=True),
        Comparison("phone", "edits", ("phone",), (1,), sources=("phone",)),
        Comparison("email", "string", ("email",), (0.85,), sources=("email",)),
        Comparison("location", "string", ("location",), (0.75,), sources=("location",)),
        Comparison("country", "exact", ("country",), sources=("country",)),
        Comparison("uscc", "edits", ("uscc",), (1,), sources=("uscc",)),
    ),
    threshold=ACCOUNT_THRESHOLD,
)

CONTACTS = ObjectSpec(
    name="contacts",
    columns=("first_name", "last_name", "phone", "email", "account_id", "birth_date"),
    prepare=prepare_contacts,
    rules=(
        BlockRule("name", ("name",)),
        BlockRule("name-swapped", ("name_swapped",)),
        BlockRule("phone", ("phone_tail",)),
        BlockRule("email", ("email",)),
        BlockRule("account", ("account",), kind="exact", size=30),
        BlockRule("name-sorted", ("name",), kind="window", size=4),
    ),
    comparisons=(
        Comparison("name", "string", ("name", "name_swapped"), (0.7, 0.85), sources=("first_name", "last_name")),
        Comparison("phone", "edits", ("phone",), (1,), sources=("phone",)),
        Comparison("email", "string", ("email",), (0.85,), sources=("email",)),
        Comparison("account", "exact", ("account",), sources=("account_id",)),
        Comparison("birth_date", "days", ("birth_date",), (40,), sources=("birth_date",)),
    ),
    threshold=DEFAULT_THRESHOLD,
)

OPPORTUNITIES = ObjectSpec(
    name="opportunities",
    columns=("name", "account_id", "product_id", "amount", "close_date", "owner_id", "created_on"),
    prepare=prepare_opportunities,
    rules=(
        BlockRule("account-product", ("account", "product"), kind="exact", size=30),
        BlockRule("account-month", ("account", "close_month"), kind="exact", size=30),
        BlockRule("account-name", ("account", "name"), kind="exact", size=30),
        BlockRule("name-sorted", ("name",), kind="window", size=4),
    ),
    comparisons=(
        Comparison("name", "string", ("name",), (0.8, 0.9), sources=("name",)),
        Comparison("account", "exact", ("account",), sources=("account_id",)),
        Comparison("product", "exact", ("product",), sources=("product_id",)),
        Comparison("amount", "relative", ("amount",), (0.1, 0.02), sources=("amount",), required=True),
        Comparison("close_date", "days", ("close_date",), (45, 21), sources=("close_date",), required=True),
        Comparison("owner", "exact", ("owner",), sources=("owner_id",)),
        Comparison("created", "days", ("created",), (21, 3), sources=("created_on",), required=True),
    ),
    threshold=DEFAULT_THRESHOLD,
    linkage="complete",
)

SPECS = {"accounts": ACCOUNTS, "contacts": CONTACTS, "opportunities": OPPORTUNITIES}
ALIASES = {"account": "accounts", "contact": "contacts", "opportunity": "opportunities", "deal": "opportunities",
           "deals": "opportunities"}


def spec_for(name: str) -> ObjectSpec:
    """The spec for an object name, singular or plural (``account`` or ``accounts``)."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in SPECS:
        raise KeyError(name)
    return SPECS[key]
