"""Expectations for the API tests computed from the raw Maven CSV files (never through revcast's code)."""

from __future__ import annotations

import csv
from collections import Counter
from functools import cache

from tests.conftest import MAVEN_DIR


def username(full_name: str) -> str:
    parts = full_name.split()
    return f"{parts[0]}.{parts[-1]}".lower()


@cache
def deals() -> list[dict[str, str]]:
    with (MAVEN_DIR / "sales_pipeline.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@cache
def manager_of() -> dict[str, str]:
    """Rep username -> manager username."""
    with (MAVEN_DIR / "sales_teams.csv").open(encoding="utf-8") as fh:
        return {username(r["sales_agent"]): username(r["manager"]) for r in csv.DictReader(fh)}


@cache
def account_names() -> frozenset[str]:
    with (MAVEN_DIR / "accounts.csv").open(encoding="utf-8") as fh:
        return frozenset(r["account"] for r in csv.DictReader(fh))


def team(manager: str) -> set[str]:
    """A manager and their reps (usernames)."""
    return {manager} | {rep for rep, boss in manager_of().items() if boss == manager}


def reps(manager: str) -> list[str]:
    """A manager's reps (usernames, without the manager), sorted."""
    return sorted(team(manager) - {manager})


def deals_of(owners: set[str] | None) -> list[dict[str, str]]:
    """Deals owned by ``owners`` (None: all)."""
    return [d for d in deals() if owners is None or username(d["sales_agent"]) in owners]


def accounts_of(owners: set[str] | None) -> set[str]:
    """Names of the accounts with at least one deal of ``owners`` (None: every account)."""
    if owners is None:
        return set(account_names())
    return {d["account"] for d in deals_of(owners) if d["account"]}


def stage_counts(owners: set[str] | None) -> Counter:
    return Counter(d["deal_stage"] for d in deals_of(owners))
