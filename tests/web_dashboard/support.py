"""Helpers of the dashboard tests: chart options out of a page, the deals behind a drill-down URL."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.reporting import expected as E

SCRIPT = re.compile(r'<script id="(?P<id>[^"]+)" type="application/json">(?P<body>.*?)</script>', re.S)


def page_charts(html: str) -> dict[str, dict[str, Any]]:
    """Every ``json_script`` chart option of a page, by element id (``chart-pipeline-data`` ...)."""
    return {m["id"]: json.loads(m["body"]) for m in SCRIPT.finditer(html)}


def base(option: dict[str, Any]) -> dict[str, Any]:
    return option.get("baseOption", option)


def series(option: dict[str, Any], index: int = 0) -> list[dict[str, Any]]:
    return base(option)["series"][index]["data"]


def categories(option: dict[str, Any], axis: int = 0) -> list[str]:
    x = base(option)["xAxis"]
    return (x[axis] if isinstance(x, list) else x)["data"]


def query(url: str) -> list[tuple[str, str]]:
    """The query parameters of a URL as (name, value) pairs, in order."""
    parts = urlsplit(url)
    assert parts.path == "/opportunities/", url
    return parse_qsl(parts.query)


def listed(client: Any, url: str) -> int:
    """How many deals the opportunity list (the drill-down target) shows the client's user at ``url``."""
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["totals"].count


def deals_of(*owners: str):
    df = E.deals()
    return df[df["owner"].isin(owners)]


def team_of(manager: str) -> list[str]:
    df = E.deals()
    return sorted(set(df.loc[df["manager"] == manager, "owner"]))


def money_text(value: Any) -> str:
    return f"{value:,.2f}"
