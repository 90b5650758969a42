"""Reading numbers and rows back from the rendered record pages."""

from __future__ import annotations

import re
from decimal import Decimal

RESULTS_HEADERS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "opportunity-results"}
MAIN_HEADERS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "opportunity-main"}


def html(response) -> str:
    return response.content.decode()


def result_count(response) -> int:
    match = re.search(r'id="result-count">([^<]*)<', html(response))
    assert match, "no #result-count on the page"
    return int(match.group(1))


def result_amounts(response) -> dict[str, Decimal]:
    """The totals at the top of the list: currency -> amount (read from the data attribute)."""
    return {
        currency: Decimal(amount)
        for currency, amount in re.findall(
            r'class="result-amount" data-currency="([A-Z]{3})" data-amount="([-0-9.]+)"', html(response)
        )
    }


def row_ids(response) -> list[int]:
    """Primary keys of the rows of the results table, in order."""
    body = html(response)
    table = body[body.index("<tbody>") : body.index("</tbody>")]
    return [int(pk) for pk in re.findall(r'<tr data-id="(\d+)"', table)]


def row_amounts(response) -> list[Decimal]:
    body = html(response)
    table = body[body.index("<tbody>") : body.index("</tbody>")]
    return [Decimal(a.replace(",", "")) for a in re.findall(r'<td class="rc-table-num">([0-9,.]+)', table)]


def links(response, pattern: str) -> list[str]:
    """href values matching a regular expression, HTML entities decoded."""
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', html(response)) if re.search(pattern, h)]


def header_links(response) -> list[str]:
    """The sort links of the column headers."""
    body = html(response)
    thead = body[body.index("<thead>") : body.index("</thead>")]
    return [h.replace("&amp;", "&") for h in re.findall(r'<a href="([^"]*)"', thead)]
