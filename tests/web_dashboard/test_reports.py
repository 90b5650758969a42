"""Report pages (/reports/<name>/) and their CSV / Excel exports against pandas on the raw CSV files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from decimal import Decimal
from typing import Any

import pytest

from tests.reporting import expected as E
from tests.reporting.support import assert_mapping, assert_rows
from tests.web_dashboard.support import base, categories, deals_of, listed, page_charts, query, team_of

pytestmark = pytest.mark.usefixtures("maven")

DARCEL = "darcel.schlecht"
MELVIN = "melvin.marxen"
TD = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
TR = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)


def _team():
    return deals_of(*team_of(MELVIN))


def _fmt(value: Any, kind: str) -> str:
    """How the page writes a value (independent of the code under test)."""
    if value is None:
        return "–" if kind != "string" else "(none)"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "percent":
        return f"{value * 100:.1f} %"
    if kind == "integer":
        return f"{value:,}"
    if kind == "days":
        return f"{value:,.2f}"
    if kind == "outcome":
        return {"won": "Won", "lost": "Lost"}[value]
    return str(value)


def _html_rows(html: str, part: str = "tbody") -> list[list[str]]:
    table = html.split('id="report-table"', 1)[1]
    body = table.split(f"<{part}", 1)[1].split(f"</{part}>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in TD.findall(tr)] for tr in TR.findall(body)]


# (report, user, query, expected rows+totals, column types)
CASES = {
    "pipeline-region-series": (
        "pipeline", "admin", {"by": ["region", "series"]},
        lambda: E.pipeline(E.deals(), ["region", "series"]),
        ["string", "string", "integer", "money", "money"],
    ),
    "funnel-owner-engaged-h1": (
        "funnel", MELVIN, {"by": ["owner"], "from": "2017-01-01", "to": "2017-06-30", "cohort": "engaged"},
        lambda: E.funnel(E.in_period(_team(), "engaged_on", "2017-01-01", "2017-06-30"), ["owner"], "engaged_on"),
        ["string", "string", "integer", "percent", "percent"],
    ),
    "win-rate-owner-quarter": (
        "win-rate", MELVIN, {"by": ["owner", "quarter"], "from": "2017-04-01", "to": "2017-09-30"},
        lambda: E.win_rate(E.in_period(_team(), "closed_on", "2017-04-01", "2017-09-30"), ["owner", "quarter"]),
        ["string", "string", "integer", "integer", "percent", "money", "money"],
    ),
    "bookings-region-gtx-pro": (
        "bookings", "admin", {"by": ["region"], "from": "2017-03-15", "to": "2017-11-30", "product": "GTX Pro"},
        lambda: E.bookings(E.in_period(E.deals().query("product == 'GTX Pro'"), "closed_on", "2017-03-15",
                                       "2017-11-30"), ["region"]),
        ["string", "integer", "money"],
    ),
    "sales-cycle-quarter-created": (
        "sales-cycle", DARCEL, {"by": ["quarter"], "start": "created"},
        lambda: E.sales_cycle(deals_of(DARCEL), ["quarter"], "created_on"),
        ["string", "outcome", "integer", "days", "days", "days"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_report_page_shows_the_numbers_of_pandas(client_for, case):
    name, user, params, compute, kinds = CASES[case]
    exp = compute()
    response = client_for(user).get(f"/reports/{name}/", params)
    assert response.status_code == 200
    result = response.context["result"]

    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])
    html = response.content.decode()
    shown = _html_rows(html)
    assert [row[:-1] for row in shown] == [[_fmt(v, k) for v, k in zip(row, kinds, strict=True)] for row in exp["rows"]]
    # The chart: the main measure by the first dimension, one series per value of the second.
    option = page_charts(html)["chart-report-data"]
    assert base(option)["series"] and all(
        item is None or item["url"].startswith("/opportunities/") for s in base(option)["series"] for item in s["data"]
    )


def test_totals_row_and_chart_of_win_rate_by_owner_and_quarter(client_for):
    client = client_for(MELVIN)
    response = client.get("/reports/win-rate/", {"by": ["owner", "quarter"], "from": "2017-04-01", "to": "2017-09-30"})
    html = response.content.decode()
    exp = E.win_rate(E.in_period(_team(), "closed_on", "2017-04-01", "2017-09-30"), ["owner", "quarter"])
    totals = exp["totals"]
    assert _html_rows(html, "tfoot") == [[
        "Total", "", _fmt(totals["won"], "integer"), _fmt(totals["lost"], "integer"),
        _fmt(totals["win_rate"], "percent"), _fmt(totals["won_amount"], "money"), _fmt(totals["lost_amount"], "money"),
        "",
    ]]
    option = page_charts(html)["chart-report-data"]
    assert categories(option) == team_of(MELVIN)
    assert [s["name"] for s in base(option)["series"]] == ["2017-Q2", "2017-Q3"]
    q3 = {row[0]: row[4] for row in exp["rows"] if row[1] == "2017-Q3"}
    assert [item["value"] for item in base(option)["series"][1]["data"]] == [
        round(q3[owner] * 100, 2) for owner in team_of(MELVIN)
    ]


def test_report_drill_down_urls_select_the_deals_of_each_row(client_for):
    client = client_for(MELVIN)
    response = client.get("/reports/bookings/", {"by": ["owner", "month"], "from": "2017-03-15", "to": "2017-05-31"})
    result = response.context["result"]
    rows = response.context["rows"]
    assert len(rows) == len(result.rows) > 5
    first = result.rows[0]
    assert first[1] == "2017-03"
    assert query(rows[0]["url"]) == [
        ("status", "won"), ("owner", first[0]), ("closed_from", "2017-03-15"), ("closed_to", "2017-03-31"),
    ]
    for row, shown in zip(result.rows, rows, strict=True):
        assert listed(client, shown["url"]) == row[2]
    option = page_charts(response.content.decode())["chart-report-data"]
    urls = {item["url"] for s in base(option)["series"] for item in s["data"] if item}
    assert urls == {r["url"] for r in rows}


def test_funnel_and_sales_cycle_rows_drill_down_too(client_for):
    client = client_for(DARCEL)
    funnel = client.get("/reports/funnel/", {"by": ["product"], "from": "2017-01-01", "to": "2017-03-31"}).context
    row, shown = funnel["result"].rows[3], funnel["rows"][3]  # the second product's first stage
    assert query(shown["url"]) == [
        ("reached", row[1]), ("product", row[0]), ("created_from", "2017-01-01"), ("created_to", "2017-03-31"),
    ]
    assert listed(client, shown["url"]) == row[2]

    cycle = client.get("/reports/sales-cycle/", {"by": ["product"]}).context
    for row, shown in zip(cycle["result"].rows, cycle["rows"], strict=True):
        assert query(shown["url"]) == [("status", row[1]), ("product", row[0])]
        assert listed(client, shown["url"]) == row[2]


def test_filters_repeat_in_the_drill_down_and_dimensions_without_a_list_filter_do_not_drill(client_for):
    client = client_for("admin")
    owners = ["darcel.schlecht", "anna.snelling"]
    response = client.get("/reports/pipeline/", {"by": ["stage"], "owner": owners})
    result = response.context["result"]
    exp = E.pipeline(deals_of(*owners), ["stage"])
    assert_rows(result.rows, exp["rows"])
    for row, shown in zip(result.rows, response.context["rows"], strict=True):
        assert query(shown["url"]) == [("status", "open"), ("stage", row[0]), *[("owner", o) for o in owners]]
        assert listed(client, shown["url"]) == row[1]
    # The list has no "manager" filter: such rows get no link rather than a wrong one.
    response = client.get("/reports/win-rate/", {"by": ["manager"]})
    assert response.context["rows"] and all(r["url"] is None for r in response.context["rows"])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_hold_the_numbers_of_the_page(client_for, fmt):
    params = {"by": ["owner", "quarter"], "from": "2017-04-01", "to": "2017-09-30"}
    client = client_for(MELVIN)
    page = client.get("/reports/win-rate/", params)
    assert f'href="/reports/win-rate/export/{fmt}/?by=owner&amp;by=quarter&amp;from=2017-04-01&amp;to=2017-09-30"' in (
        page.content.decode()
    )
    response = client.get(f"/reports/win-rate/export/{fmt}/", params)
    assert response.status_code == 200
    today = dt.date.today().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="revcast-win-rate-by-owner-quarter-{today}.{fmt}"'
    exp = E.win_rate(E.in_period(_team(), "closed_on", "2017-04-01", "2017-09-30"), ["owner", "quarter"])["rows"]
    names = ["owner", "quarter", "won", "lost", "win_rate", "won_amount", "lost_amount"]
    if fmt == "csv":
        assert response["Content-Type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert lines[0] == names
        got = [[o, q, int(w), int(lo), float(r), Decimal(wa), Decimal(la)] for o, q, w, lo, r, wa, la in lines[1:]]
    else:
        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        values = list(sheet.iter_rows(values_only=True))
        assert list(values[0]) == ["Owner", "Quarter", "Won", "Lost", "Win rate", "Won amount", "Lost amount"]
        got = [[o, q, w, lo, r, Decimal(str(wa)).quantize(Decimal("0.01")), Decimal(str(la)).quantize(Decimal("0.01"))]
               for o, q, w, lo, r, wa, la in values[1:]]
    assert len(got) == len(exp)
    for g, e in zip(got, exp, strict=True):
        assert g[:4] == e[:4] and g[5:] == e[5:]
        assert math.isclose(g[4], e[4], abs_tol=1e-12)


def test_a_reps_report_counts_only_his_deals(client_for):
    client = client_for(DARCEL)
    funnel = client.get("/reports/funnel/")
    assert funnel.context["result"].meta["totals"]["cohort"] == 747
    assert ("Deals in the cohort", "747") in [(str(k), v) for k, v in funnel.context["totals"]["items"]]
    win = client.get("/reports/win-rate/").context["result"].meta["totals"]
    pipeline = client.get("/reports/pipeline/").context["result"].meta["totals"]
    assert win["won"] + win["lost"] + pipeline["count"] == 747 == len(deals_of(DARCEL))
    # Another rep's deals stay invisible even when asked for by name, and the owner picker lists only him.
    other = client.get("/reports/bookings/", {"owner": "gladys.colclough"})
    assert other.status_code == 200 and other.context["result"].rows == []
    assert "No deals match these parameters." in other.content.decode()
    owners = dict((f[0], f[2]) for f in other.context["filters"])["owner"]
    assert owners == [DARCEL]
    export = client.get("/reports/bookings/export/csv/", {"by": ["owner"]})
    assert export.content.decode("utf-8-sig").splitlines()[1:] == [
        f"{DARCEL},349,{E.bookings(deals_of(DARCEL))['totals']['amount']}"
    ]


def test_a_manager_picks_only_his_subtree_as_owners(client_for):
    response = client_for(MELVIN).get("/reports/pipeline/")
    owners = dict((f[0], f[2]) for f in response.context["filters"])["owner"]
    sales_teams = E._read("sales_teams.csv")
    mine = {E.username(n) for n in sales_teams.loc[sales_teams["manager"] == "Melvin Marxen", "sales_agent"]}
    assert set(owners) == mine | {MELVIN}
    assert "anna.snelling" not in response.content.decode()


def test_sales_cycle_totals_per_outcome(client_for):
    client = client_for(DARCEL)
    exp = E.sales_cycle(deals_of(DARCEL))["totals"]
    response = client.get("/reports/sales-cycle/", {"by": "region"})
    assert _html_rows(response.content.decode(), "tfoot") == [
        ["Total", _fmt(outcome, "outcome"), _fmt(t["count"], "integer"), _fmt(t["mean_days"], "days"),
         _fmt(t["median_days"], "days"), _fmt(t["p90_days"], "days"), ""]
        for outcome, t in exp.items()
    ]
    response = client.get("/reports/sales-cycle/")
    assert [row[0] for row in _html_rows(response.content.decode(), "tfoot")] == ["Total · Won", "Total · Lost"]


def test_unknown_reports_and_formats_are_404_and_anonymous_users_log_in(client, client_for):
    for url in ("/reports/pipeline/", "/reports/pipeline/export/csv/", "/reports/nope/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    logged_in = client_for(DARCEL)
    assert logged_in.get("/reports/nope/").status_code == 404
    assert logged_in.get("/reports/nope/export/csv/").status_code == 404
    assert logged_in.get("/reports/pipeline/export/pdf/").status_code == 404


def test_bad_parameters_are_reported(client_for):
    client = client_for(DARCEL)
    response = client.get("/reports/bookings/", {"from": "2017-09-01", "to": "2017-03-01", "by": "colour"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "The start date is after the end date" in html and "Unknown dimension colour." in html
    assert response.context["result"].meta["from"] is None
    # The funnel is by stage already: "stage" is not offered and not accepted.
    response = client.get("/reports/funnel/", {"by": "stage"})
    assert "Unknown dimension stage." in response.content.decode()
    assert "stage" not in [d for d, _label in response.context["dimensions"]]
    response = client.get("/reports/win-rate/", {"from": "yesterday", "cohort": "x"})
    assert "yesterday is not a date" in response.content.decode()
    # Options the report has are checked too.
    response = client.get("/reports/funnel/", {"cohort": "closed"})
    assert "Unknown value closed for cohort." in response.content.decode()


def test_htmx_gets_the_table_and_chart_only(client_for):
    client = client_for(DARCEL)
    response = client.get("/reports/win-rate/", {"by": "product"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="report-form"' not in html
    assert 'id="report-table"' in html and 'id="chart-report"' in html
    assert "HX-Request" in response["Vary"]
    full = client.get("/reports/win-rate/", {"by": "product"})
    assert 'id="report-form"' in full.content.decode() and 'hx-push-url="true"' in full.content.decode()
