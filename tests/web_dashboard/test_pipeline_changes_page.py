"""The pipeline-changes pages (/reports/pipeline-changes/, -deals/, /reports/slipped-deals/) and their downloads.

The figures on the page are checked against numbers made without revcast's reporting code: the hand-built history
of tests/reporting/changes_fixture.py with its hand-made expectations, and on the Maven data the pandas
recomputation from the raw history table (tests/reporting/changes_expected.py).
"""

from __future__ import annotations

import csv
import html as htmllib
import io
import re
from decimal import Decimal

import pytest
from django.test import Client

from tests.i18n.pages import english_words, nav_text
from tests.reporting import changes_expected as X
from tests.reporting import changes_fixture as F
from tests.web_dashboard.support import base, page_charts, team_of

pytestmark = pytest.mark.usefixtures("maven")

WATERFALL, DEALS, SLIPPED = "/reports/pipeline-changes/", "/reports/pipeline-changes-deals/", "/reports/slipped-deals/"
DARCEL, MELVIN = "darcel.schlecht", "melvin.marxen"
Q4_2017 = ("2017-10-01", "2018-01-01")
Q1_2019 = ("2019-01-01", "2019-04-01")
ROW = re.compile(r'<tr data-category="(?P<cat>[a-z_]+)"[^>]*>(?P<body>.*?)</tr>', re.S)
CELL = re.compile(r'data-col="(?P<col>[a-z_]+)"(?: data-value="(?P<value>[^"]*)")?>(?P<text>[^<]*)<')
DEAL_ROW = re.compile(r'<tr data-id="(?P<id>\d+)"[^>]*>(?P<body>.*?)</tr>', re.S)
ZH = "zh-hans"


@pytest.fixture
def deals(maven):
    return F.build()


def login(user, language: str | None = None, *, cookie: bool = False) -> Client:
    from django.conf import settings

    from revcast.org.models import User

    if user == "admin":
        user = User.objects.get_or_create(
            username="dash.admin", defaults={"role": User.Role.ADMIN, "is_staff": True, "is_superuser": True})[0]
    elif isinstance(user, str):
        user = User.objects.get(username=user)
    client = Client(HTTP_ACCEPT_LANGUAGE=language) if language and not cookie else Client()
    if cookie:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    return client


def body(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.content.decode()


def table(page: str) -> dict[str, tuple[int, Decimal, str]]:
    """{category: (deals, amount, amount as shown)} out of the waterfall table."""
    part = page.split('id="waterfall-table"', 1)[1].split("</table>", 1)[0]
    out = {}
    for m in ROW.finditer(part):
        cells = {c["col"]: c for c in CELL.finditer(m["body"])}
        out[m["cat"]] = (int(cells["deals"]["value"]), Decimal(cells["amount"]["value"]), cells["amount"]["text"])
    return out


def figures(page: str) -> dict[str, tuple[int, Decimal]]:
    return {c: (n, a) for c, (n, a, _text) in table(page).items()}


def chart_amounts(page: str) -> tuple[list[float], list[float], list[str]]:
    """(floors, visible bar values, categories) of the embedded waterfall option."""
    option = base(page_charts(page)["chart-waterfall-data"])
    lifts, bars = option["series"][0]["data"], option["series"][1]["data"]
    return [i["value"] for i in lifts], [i["value"] for i in bars], [i["category"] for i in bars]


def deal_rows(page: str, table_id: str = "deals-table") -> dict[str, dict[str, str]]:
    """{deal name: {column: value or text, 'category', 'owner', 'url'}} out of a deals table."""
    part = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    out = {}
    for m in DEAL_ROW.finditer(part):
        link = re.search(r'<a href="(?P<url>[^"]+)">(?P<name>[^<]+)</a>', m["body"])
        row = {c["col"]: c["value"] if c["value"] is not None else c["text"].strip() for c in CELL.finditer(m["body"])}
        row["url"] = link["url"]
        category = re.search(r'data-category="([^"]*)"', m[0])
        row["category"] = category[1] if category else ""
        out[htmllib.unescape(link["name"])] = row
    return out


# ---------------------------------------------------------------- Maven, 2017-Q4, three kinds of user


@pytest.mark.parametrize(("who", "owners"), [
    (DARCEL, lambda: [DARCEL]),
    (MELVIN, lambda: team_of(MELVIN)),
    ("admin", lambda: None),
])
def test_the_waterfall_of_maven_2017_q4_for_a_rep_a_manager_and_an_admin(who, owners):
    page = body(login(who).get(WATERFALL, {"period": "2017-Q4"}))

    expected = X.expected_waterfall(owners(), Q4_2017, Q4_2017[0], "2017-12-31")
    assert figures(page) == expected
    assert list(table(page)) == list(X.CATEGORIES)
    assert X.identity_holds(expected)
    assert expected["won"][0] > 0 and expected["start"] == (0, Decimal("0.00"))  # Maven: no open deal has a date
    assert 'id="reconciles"' in page and 'data-reconciles="1"' in page
    assert "start + new + pulled_in + increased - decreased - pushed_out - pulled_out - won - lost = end" in page
    # The note that deals without an expected close date are in no period's pipeline.
    assert "Deals without an expected close date are in no period&#x27;s pipeline" in page
    assert 'data-period="2017-Q4" data-start="2017-10-01" data-end="2017-12-31"' in page
    assert 'id="only-closings"' in page  # nothing in the pipeline at either end: said in words
    # The chart holds the table's amounts.
    _floors, values, categories = chart_amounts(page)
    assert categories == list(X.CATEGORIES)
    assert values == [float(expected[c][1]) for c in X.CATEGORIES]


def test_a_rep_sees_less_than_the_manager_and_only_own_deals_on_maven():
    rep = figures(body(login(DARCEL).get(WATERFALL, {"period": "2017-Q4"})))
    manager = figures(body(login(MELVIN).get(WATERFALL, {"period": "2017-Q4"})))
    assert 0 < rep["won"][1] < manager["won"][1]

    page = body(login(DARCEL).get(DEALS, {"period": "2017-Q4", "category": "won"}))
    count = int(re.search(r'<span id="result-count">(\d+)</span>', page)[1])
    assert count == rep["won"][0]
    owners = set(re.findall(r'<td class="rc-hide-xs">([a-z]+\.[a-z]+)</td>', page))
    assert owners == {DARCEL}
    # Other people's won deals of the quarter are in the manager's list, never in the rep's.
    manager_page = body(login(MELVIN).get(DEALS, {"period": "2017-Q4", "category": "won"}))
    assert set(re.findall(r'<td class="rc-hide-xs">([a-z]+\.[a-z]+)</td>', manager_page)) - {DARCEL}


def test_the_maven_deals_list_is_paged():
    expected = X.expected_waterfall(None, Q4_2017, Q4_2017[0], "2017-12-31")
    client = login("admin")
    first = body(client.get(DEALS, {"period": "2017-Q4"}))
    count = int(re.search(r'<span id="result-count">(\d+)</span>', first)[1])
    assert count == expected["new"][0] + expected["pulled_in"][0]  # on Maven every deal enters as it closes
    assert len(deal_rows(first)) == 100 and 'id="pager"' in first
    pages = -(-count // 100)
    last = body(client.get(DEALS, {"period": "2017-Q4", "page": pages}))
    assert len(deal_rows(last)) == count - 100 * (pages - 1)
    assert f"Page {pages} of {pages}" in last


def test_without_a_period_the_newest_quarter_holding_the_users_deals():
    page = body(login("admin").get(WATERFALL))
    assert 'data-period="2017-Q4"' in page
    assert '<option value="2017-Q4" selected>2017-Q4</option>' in page
    assert 'id="period-previous" rel="prev" href="?period=2017-Q3"' in page
    # With a start day only, the quarter holding it (as the report itself does).
    page = body(login("admin").get(WATERFALL, {"start": "2017-08-15"}))
    assert 'data-period="2017-Q3" data-start="2017-08-15" data-end="2017-09-30"' in page
    assert figures(page) == X.expected_waterfall(None, ("2017-07-01", "2017-10-01"), "2017-08-15", "2017-09-30")


# ---------------------------------------------------------------- the hand-built history (2019-Q1)


def test_the_page_shows_the_hand_made_waterfall_of_the_manager_and_of_a_rep(deals):
    page = body(login(deals.manager).get(WATERFALL, {"period": F.PERIOD}))
    assert figures(page) == F.EXPECTED
    shown = table(page)
    assert shown["start"][2] == "13,476.15" and shown["decreased"][2] == "799.50"
    assert re.search(r'id="waterfall-change" data-value="-7179.10">-7,179.10<', page)
    assert 'data-reconciles="1"' in page and 'id="only-closings"' not in page

    rep = body(login(deals.reps[1]).get(WATERFALL, {"period": F.PERIOD}))
    assert figures(rep) == F.EXPECTED_REP1
    assert figures(rep) == X.expected_waterfall([F.REP1], Q1_2019, Q1_2019[0], "2019-03-31")


def test_the_chart_holds_the_tables_amounts_and_stands_as_a_waterfall(deals):
    page = body(login(deals.manager).get(WATERFALL, {"period": F.PERIOD}))
    floors, values, categories = chart_amounts(page)
    assert categories == list(X.CATEGORIES)
    assert values == [float(F.EXPECTED[c][1]) for c in X.CATEGORIES]
    # Start and end stand on the axis; inflows rise from the running total, outflows hang down from it.
    running = Decimal(0)
    for category, floor, value in zip(categories, floors, values, strict=True):
        amount = F.EXPECTED[category][1]
        assert Decimal(str(value)) == amount
        if category in ("start", "end"):
            assert floor == 0
            running = amount
        elif category in ("new", "pulled_in", "increased"):
            assert Decimal(str(floor)) == running
            running += amount
        else:
            running -= amount
            assert Decimal(str(floor)) == running
    assert running == F.EXPECTED["end"][1]
    option = base(page_charts(page)["chart-waterfall-data"])
    bars = option["series"][1]["data"]
    assert all(b["url"].startswith(DEALS + "?period=2019-Q1") for b in bars)
    assert bars[7]["deals"] == 5 and "category=won" in bars[7]["url"]


def test_the_deals_behind_it_with_their_categories_pushes_and_links(deals):
    from revcast.pipeline.models import Opportunity

    page = body(login(deals.manager).get(DEALS, {"period": F.PERIOD}))
    rows = deal_rows(page)
    assert {name.removeprefix("Deal ") for name in rows} == set(F.EXPECTED_DEALS)
    for key, (category, pushes_window, pushes_total) in F.EXPECTED_DEALS.items():
        row = rows[f"Deal {key}"]
        assert row["category"] == category, key
        assert (int(row["pushes_window"]), int(row["pushes_total"])) == (pushes_window, pushes_total), key
    c = rows["Deal C"]
    assert (c["amount_start"], c["amount_end"], c["amount_change"]) == ("3000.00", "3500.00", "500.00")
    assert (c["close_start"], c["close_end"]) == ("2019-03-20", "2019-05-15")
    assert c["url"] == f"/opportunities/{Opportunity.objects.get(external_id='pc-C').pk}/"
    assert "Increased + Pushed out" in page

    won = deal_rows(body(login(deals.manager).get(DEALS, {"period": F.PERIOD, "category": "won"})))
    assert sorted(won) == ["Deal D", "Deal G", "Deal P", "Deal T", "Deal V"]
    # Start: every deal of the start pipeline, moved or not (all=1 is implied).
    start = deal_rows(body(login(deals.manager).get(DEALS, {"period": F.PERIOD, "category": "start"})))
    assert len(start) == F.EXPECTED["start"][0]
    assert sum(Decimal(r["amount_start"]) for r in start.values()) == F.EXPECTED["start"][1]
    assert "Deal L" in start  # in the pipeline all along, unchanged


def test_a_rep_sees_only_own_deals_and_none_of_the_other_reps(deals):
    mine = {k for k in F.EXPECTED_DEALS if deals.values[k]["owner"].username == F.REP1}
    theirs = set(deals.values) - mine
    page = body(login(deals.reps[1]).get(DEALS, {"period": F.PERIOD}))
    assert {name.removeprefix("Deal ") for name in deal_rows(page)} == mine
    for key in theirs:
        assert f"Deal {key}<" not in page, key
    # Filtering on the other rep shows nothing of theirs.
    other = body(login(deals.reps[1]).get(WATERFALL, {"period": F.PERIOD, "owner": F.REP2}))
    assert all(n == 0 for n, _a in figures(other).values())


def test_slipped_deals_page(deals):
    page = body(login(deals.manager).get(SLIPPED))
    rows = deal_rows(page, "slipped-table")
    assert [(n.removeprefix("Deal "), int(r["days_slipped"]), int(r["pushes"])) for n, r in rows.items()] == [
        ("C", 146, 2), ("I", 33, 1), ("O", 25, 1)]
    c = rows["Deal C"]
    assert (c["original_close"], c["current_close"], c["amount"]) == ("2018-12-20", "2019-05-15", "3500.00")
    assert 'data-count="3"' in page
    every = deal_rows(body(login(deals.manager).get(SLIPPED, {"status": "all"})), "slipped-table")
    assert "Deal E" in every and len(every) == 4
    out_of_q1 = body(login(deals.manager).get(SLIPPED, {"period": "2019-Q1"}))
    assert list(deal_rows(out_of_q1, "slipped-table")) == ["Deal C", "Deal O"]
    assert list(deal_rows(body(login(deals.reps[2]).get(SLIPPED)), "slipped-table")) == ["Deal O"]


# ---------------------------------------------------------------- downloads through the report export route


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content[:500]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_downloads_hold_the_pages_numbers(deals):
    client = login(deals.manager)
    page = body(client.get(WATERFALL, {"period": F.PERIOD}))
    href = htmllib.unescape(re.search(r'href="(/reports/pipeline-changes/export/csv/[^"]*)"', page)[1])
    assert "period=2019-Q1" in href
    rows = _csv(client.get(href))
    assert {r["category"]: (int(r["deals"]), Decimal(r["amount"])) for r in rows} == F.EXPECTED

    deals_href = htmllib.unescape(re.search(r'href="(/reports/pipeline-changes-deals/export/xlsx/[^"]*)"', page)[1])
    response = client.get(deals_href)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    listed = _csv(client.get(deals_href.replace("/xlsx/", "/csv/")))
    assert {r["deal"].removeprefix("Deal ") for r in listed} == set(F.EXPECTED_DEALS)

    slipped = body(client.get(SLIPPED, {"status": "all"}))
    slipped_href = htmllib.unescape(re.search(r'href="(/reports/slipped-deals/export/csv/[^"]*)"', slipped)[1])
    assert "status=all" in slipped_href
    assert [r["deal"] for r in _csv(client.get(slipped_href))] == ["Deal C", "Deal I", "Deal E", "Deal O"]
    # A rep's download holds only the rep's deals.
    rep_rows = _csv(login(deals.reps[2]).get(deals_href.replace("/xlsx/", "/csv/")))
    assert rep_rows and {r["owner"] for r in rep_rows} == {F.REP2}


def test_the_deals_download_keeps_the_pages_category(deals):
    """The deals page filtered on a category downloads just those deals (the report's category option)."""
    client = login(deals.manager)
    for category in ("won", "pulled_in", "unchanged"):
        page = body(client.get(DEALS, {"period": F.PERIOD, "category": category}))
        href = htmllib.unescape(re.search(r'href="(/reports/pipeline-changes-deals/export/csv/[^"]*)"', page)[1])
        assert f"category={category}" in href
        expected = {d for d, (cats, _w, _t) in F.EXPECTED_DEALS.items() if category in cats.split("+")}
        got = {r["deal"].removeprefix("Deal ") for r in _csv(client.get(href))}
        shown = {name.removeprefix("Deal ") for name in deal_rows(page, "deals-table")}
        assert got == expected == shown, category
    r = client.get(DEALS + "export/csv/", {"period": F.PERIOD, "category": "nope"})
    assert r.status_code == 400


# ---------------------------------------------------------------- Chinese, menu, bad input


@pytest.mark.parametrize("cookie", [False, True])
def test_the_page_in_chinese(deals, cookie):
    client = login(deals.manager, ZH, cookie=cookie)
    page = body(client.get(WATERFALL, {"period": F.PERIOD}))
    assert '<html lang="zh-hans">' in page
    assert "<title>销售管道变化 · revcast</title>" in page
    assert '<h1 class="h3 mb-1">销售管道变化</h1>' in page
    assert figures(page) == F.EXPECTED  # the same numbers, written the same way
    headers = re.findall(r'<th scope="col"(?: class="[^"]*")?>([^<]+)</th>',
                         page.split('id="waterfall-table"', 1)[1])[:3]
    assert headers == ["类别", "商机", "金额"]
    for label in ("期初管道", "新建", "提前纳入", "推迟", "赢单", "输单", "期末管道"):
        assert label in page, label
    assert "没有预计成交日期的商机不属于任何期间的销售管道" in page  # the note, translated
    bars = base(page_charts(page)["chart-waterfall-data"])["xAxis"]["data"]
    assert bars[0] == "期初管道" and bars[-1] == "期末管道"
    nav = nav_text(page)  # the Reports menu lists the pages in Chinese, with no English left in the menu
    assert "销售管道变化" in nav and "销售管道变化：商机" in nav and "延期商机" in nav
    assert english_words(nav) == []
    for url, text in ((DEALS, "期初金额"), (SLIPPED, "延期天数")):
        assert text in body(client.get(url, {"period": F.PERIOD})), url


def test_the_reports_menu_lists_the_pages():
    page = body(login(DARCEL).get("/"))
    menu = page.split("Reports</a>", 1)[1].split("</ul>", 1)[0]
    for url, label in ((WATERFALL, "Pipeline changes"), (DEALS, "Pipeline changes: deals"),
                       (SLIPPED, "Slipped deals")):
        assert f'href="{url}">{label}</a>' in menu


@pytest.mark.parametrize(("url", "query", "message"), [
    (WATERFALL, {"period": "2017-Q5"}, "Unknown period 2017-Q5"),
    (WATERFALL, {"period": "soon"}, "Unknown period soon"),
    (WATERFALL, {"period": "2017-Q4", "start": "2017-13-01"}, "2017-13-01 is not a date (YYYY-MM-DD)."),
    (WATERFALL, {"period": "2017-Q4", "start": "2017-12-01", "end": "2017-11-01"},
     "the end 2017-11-01 is before the start 2017-12-01"),
    (DEALS, {"period": "2017-Q4", "category": "everything"}, "Unknown value everything for category."),
    (SLIPPED, {"as_of": "yesterday"}, "yesterday is not a date (YYYY-MM-DD)."),
    (SLIPPED, {"period": "Q4"}, "Unknown period Q4"),
])
def test_bad_parameters_give_a_message_not_an_error(url, query, message):
    page = body(login(DARCEL).get(url, query), 400)
    alerts = " ".join(re.findall(r'data-error="1">([^<]*)<', page))
    assert message in htmllib.unescape(alerts)
    assert 'id="changes-form"' in page and "waterfall-table" not in page


def test_a_bad_period_in_chinese_and_kept_in_the_picker(maven):
    page = body(login(DARCEL, ZH).get(WATERFALL, {"period": "2017-Q5"}), 400)
    assert "未知的期间 2017-Q5" in page
    assert '<option value="2017-Q5" selected>2017-Q5</option>' in page


def test_anonymous_users_log_in(client):
    for url in (WATERFALL, DEALS, SLIPPED):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
