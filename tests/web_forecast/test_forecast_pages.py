"""The forecast pages for an admin, a manager and a rep: only visible deals and slices, and the numbers shown
equal sums computed here from the stored deal rows, with who sees what taken from the raw Maven files."""

from __future__ import annotations

import re
from decimal import Decimal

import pandas as pd
import pytest

from tests.i18n.pages import english_words, labels, nav_text
from tests.reporting import expected as E
from tests.web_dashboard.support import base, categories, page_charts
from tests.web_forecast.conftest import DARCEL, MELVIN

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- independent expectations


def owners_seen_by(username: str) -> set[str] | None:
    """From the raw files: a rep sees their own deals, a manager those of their team; the admin all (None)."""
    if username == "admin":
        return None
    raw = E.deals()
    return {username} | set(raw.loc[raw["manager"] == username, "owner"])


def rows(run, username: str) -> pd.DataFrame:
    """The stored deal rows of ``run`` whose deal the user may see (owner from the raw files, by external id)."""
    from revcast.forecasting.models import DealForecast

    frame = pd.DataFrame.from_records(
        DealForecast.objects.filter(run=run).values("opportunity_id", "opportunity__external_id", "expected", "p",
                                                     "p_win", "amount"))
    raw_owner = E.deals().set_index("external_id")["owner"]
    frame["owner"] = frame["opportunity__external_id"].map(raw_owner)
    seen = owners_seen_by(username)
    return frame if seen is None else frame[frame["owner"].isin(seen)].reset_index(drop=True)


def won_in(username: str, start: str, as_of: str) -> float:
    """Σ close value of deals won from ``start`` to ``as_of`` (midnight: a close at that moment is known then)
    in the user's scope, from the raw files."""
    raw = E.deals()
    won = raw[(raw["stage"] == "Won") & (raw["closed_on"] >= start) & (raw["closed_on"] <= as_of)]
    seen = owners_seen_by(username)
    return float((won if seen is None else won[won["owner"].isin(seen)])["amount"].sum())


def shown_number(html: str, element_id: str) -> int:
    match = re.search(rf'id="{element_id}"[^>]*>\s*([−+]?[\d,]+)', html)
    assert match, element_id
    return int(match[1].replace(",", "").replace("−", "-"))


def row_ids(html: str, table_id: str) -> list[int]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, table_id
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', table[0])]


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# ---------------------------------------------------------------- the forecast page


@pytest.mark.parametrize("username", ["admin", MELVIN, DARCEL])
def test_headline_counts_exactly_the_visible_deals(client_for, stored, username):
    run = stored.second
    html = page(client_for(username), "/forecast/")
    visible = rows(run, username)
    assert f"#{run.pk}" in html  # the latest run of the latest period is the one shown
    assert abs(shown_number(html, "kpi-open") - float((visible["p"] * visible["amount"].astype(float)).sum())) <= 1
    assert abs(shown_number(html, "kpi-closed") - won_in(username, "2017-10-01", "2017-11-01")) <= 1
    p10, p50, p90, exp = (shown_number(html, k) for k in ("kpi-p10", "kpi-p50", "kpi-p90", "kpi-expected"))
    assert p10 <= p50 <= p90
    assert exp >= shown_number(html, "kpi-open") + shown_number(html, "kpi-closed") - 1
    if username == "admin":  # the company: the stored run's own totals
        assert abs(exp - run.totals["expected"]) <= 1


@pytest.mark.parametrize("username", ["admin", MELVIN, DARCEL])
def test_contributors_are_the_largest_visible_expected_values(client_for, stored, username):
    html = page(client_for(username), "/forecast/")
    visible = rows(stored.second, username).sort_values(["expected", "opportunity_id"], ascending=[False, True])
    assert row_ids(html, "contributors") == visible["opportunity_id"].head(10).tolist()


@pytest.mark.parametrize("username", ["admin", MELVIN, DARCEL])
def test_movers_are_the_largest_changes_of_visible_deals(client_for, stored, username):
    html = page(client_for(username), "/forecast/")
    now = rows(stored.second, username).set_index("opportunity_id")["expected"]
    before = rows(stored.first, username).set_index("opportunity_id")["expected"]
    ids = sorted(set(now.index) | set(before.index))
    change = {i: now.get(i, Decimal(0)) - before.get(i, Decimal(0)) for i in ids}
    moved = sorted((i for i in ids if change[i] != 0 or i not in before.index), key=lambda i: (-abs(change[i]), i))
    assert row_ids(html, "movers") == moved[:10]
    total = float(now.sum() - before.sum())
    summary = re.search(r'id="movers-summary">(.*?)</p>', html, re.S)[1]
    assert f"{abs(total):,.0f}" in summary
    assert f"{len(set(now.index) - set(before.index))} new" in summary
    assert f"{len(set(before.index) - set(now.index))} no longer open" in summary


def test_a_rep_sees_only_his_own_deals_and_slice(client_for, stored):
    html = page(client_for(DARCEL), "/forecast/?by=owner")
    others = set(E.deals()["owner"]) - {DARCEL}
    assert [name for name in others if name in html] == []
    option = page_charts(html)["chart-forecast-range-data"]
    assert categories(option) == [DARCEL]
    mine = set(rows(stored.second, DARCEL)["opportunity_id"]) | set(rows(stored.first, DARCEL)["opportunity_id"])
    assert set(row_ids(html, "contributors")) <= mine
    assert set(row_ids(html, "movers")) <= mine


def test_a_manager_sees_his_team_by_owner_with_open_values_per_owner(client_for, stored):
    html = page(client_for(MELVIN), "/forecast/?by=owner")
    team = set(owners_seen_by(MELVIN))
    option = page_charts(html)["chart-forecast-range-data"]
    assert set(categories(option)) <= team
    visible = rows(stored.second, MELVIN)
    open_by_owner = (visible["p"] * visible["amount"].astype(float)).groupby(visible["owner"]).sum()
    table = re.search(r'<details class="mt-2">.*?</details>', html, re.S)[0]
    for owner, value in open_by_owner.items():
        cells = re.search(rf"<th scope=\"row\"><a [^>]*>{re.escape(owner)}</a></th>(.*?)</tr>", table, re.S)[1]
        shown = [int(c.replace(",", "")) for c in re.findall(r">([\d,]+)</td>", cells)]
        assert abs(shown[5] - value) <= 1, owner  # expected, P10, P50, P90, closed, open deals, new business
    bars = base(option)["series"][0]["data"]
    assert abs(sum(b["value"] for b in bars) - shown_number(html, "kpi-expected")) <= len(bars)
    for bar in bars:
        assert bar["url"] == f"/opportunities/?status=open&owner={bar['name']}"


def test_the_admin_by_team_and_an_unknown_breakdown(client_for, stored):
    client = client_for("admin")
    option = page_charts(page(client, "/forecast/"))["chart-forecast-range-data"]
    assert sorted(categories(option)) == sorted(set(E.deals()["team"]))
    boxes = base(option)["series"][1]["data"]
    assert all(b["value"][0] <= b["value"][2] <= b["value"][4] for b in boxes)  # P10 <= P50 <= P90
    html = page(client, "/forecast/?by=stage")
    assert "Unknown breakdown stage." in html


def test_an_earlier_run_is_shown_when_asked(client_for, stored):
    html = page(client_for("admin"), f"/forecast/?period=2017-Q4&run={stored.first.pk}")
    assert 'id="movers-none"' in html  # the first run of the period has nothing to compare with
    assert abs(shown_number(html, "kpi-closed") - won_in("admin", "2017-10-01", "2017-10-01")) <= 1


def test_empty_state_offers_the_form_to_managers_only(client_for, stored):
    from revcast.forecasting.models import ForecastRun

    ForecastRun.objects.all().delete()  # rolled back with the test
    manager = page(client_for(MELVIN), "/forecast/")
    assert 'id="forecast-empty"' in manager and 'id="forecast-run-form"' in manager
    rep = page(client_for(DARCEL), "/forecast/")
    assert 'id="forecast-empty"' in rep and 'id="forecast-run-form"' not in rep
    assert "Ask one of them to run one." in rep


def test_running_a_forecast_from_the_page(client_for, stored):
    from revcast.forecasting.models import ForecastRun

    assert client_for(DARCEL).post("/forecast/run/", {"period": "2017-12", "as_of": "2017-12-01"}).status_code == 403
    manager = client_for(MELVIN)
    bad = manager.post("/forecast/run/", {"period": "2017-13"})
    assert bad.status_code == 400 and "Unknown period 2017-13" in bad.content.decode()
    response = manager.post("/forecast/run/", {"period": "2017-12", "as_of": "2017-12-01"})
    run = ForecastRun.objects.get(period="2017-12")
    assert response.status_code == 302 and response["Location"] == f"/forecast/?period=2017-12&run={run.pk}"
    assert run.source == "web" and run.created_by.username == MELVIN and run.model_id == stored.model.pk
    html = page(manager, response["Location"])
    assert row_ids(html, "contributors") == rows(run, MELVIN).sort_values(
        ["expected", "opportunity_id"], ascending=[False, True])["opportunity_id"].head(10).tolist()


# ---------------------------------------------------------------- the opportunity page


def test_a_scored_deal_shows_its_score_and_factors(client_for, stored):
    from revcast.forecasting.models import DealForecast

    row = DealForecast.objects.filter(run=stored.second, owner_username=DARCEL).exclude(factors=[]) \
        .order_by("-expected").first()
    html = page(client_for(DARCEL), f"/opportunities/{row.opportunity_id}/")
    panel = re.search(r'<section class="card mb-3" aria-labelledby="win-probability-title".*?</section>', html, re.S)[0]
    assert f"{row.p_win * 100:.1f} %" in panel and f"{row.p * 100:.1f} %" in panel
    assert f"{float(row.expected):,.0f}" in panel
    factors = re.findall(r'<li [^>]*data-sign="([+-]?)"><span[^>]*>.*?</span><span>(.*?)</span></li>', panel, re.S)
    assert [text for _sign, text in factors] == [f["text"] for f in row.factors]
    assert [sign for sign, _text in factors] == ["+" if f["points"] > 0 else "-" if f["points"] < 0 else ""
                                                 for f in row.factors]
    # another rep's deal stays invisible, score and all
    other = DealForecast.objects.filter(run=stored.second).exclude(owner_username__in=owners_seen_by(MELVIN)).first()
    assert client_for(DARCEL).get(f"/opportunities/{other.opportunity_id}/").status_code == 404


def test_a_deal_never_scored_says_so(client_for, stored):
    from revcast.forecasting.models import DealForecast
    from revcast.pipeline.models import Opportunity

    never = Opportunity.objects.filter(owner__username=DARCEL).exclude(
        pk__in=DealForecast.objects.values("opportunity_id")).first()
    html = page(client_for(DARCEL), f"/opportunities/{never.pk}/")
    assert 'id="win-probability-none"' in html


# ---------------------------------------------------------------- backtest and model pages


def _mape(periods: list[dict], key: str) -> float:
    scored = [p for p in periods if p["actual"]]
    return sum(abs(p[key] - p["actual"]) / p["actual"] for p in scored) / len(scored)


def test_backtest_page_for_the_admin_shows_amounts_and_the_best_method(client_for, stored):
    html = page(client_for("admin"), "/forecast/backtest/")
    periods = stored.backtest.result["periods"]
    assert len(periods) == 2
    table = re.search(r'<table[^>]*id="periods-table".*?</table>', html, re.S)[0]
    assert re.findall(r'data-period="([^"]+)" data-inside="(\d)"', table) == [
        (p["period"], "1" if p["inside"] else "0") for p in periods]
    for p in periods:
        assert f"{p['actual']:,.0f}" in table
    mapes = {"revcast": _mape(periods, "forecast"), "the weighted pipeline": _mape(periods, "weighted_pipeline"),
             "the seasonal naive forecast": _mape(periods, "seasonal_naive")}
    best = min(mapes, key=mapes.get)
    sentence = re.search(r'id="best-method">(.*?)</p>', html)[1]
    assert sentence.lower().startswith(best.lower())
    assert f"{round(mapes[best], 4) * 100:.1f} %" in sentence  # the engine stores fractions to 4 places
    option = page_charts(html)["chart-backtest-data"]
    assert categories(option) == [p["period"] for p in periods]
    assert [i["value"] for i in base(option)["series"][0]["data"]] == [round(p["actual"]) for p in periods]


def test_backtest_page_for_a_manager_is_relative_to_the_actual(client_for, stored):
    html = page(client_for(MELVIN), "/forecast/backtest/?kind=quarter&at=start")
    periods = stored.backtest.result["periods"]
    assert 'id="relative-note"' in html
    assert not [p for p in periods if f"{p['actual']:,.0f}" in html]  # no company-wide amount
    option = page_charts(html)["chart-backtest-data"]
    forecast = next(s for s in base(option)["series"] if s["name"] == "revcast forecast")["data"]
    assert [i["value"] for i in forecast] == [round(p["forecast"] / p["actual"] * 100, 1) for p in periods]
    assert client_for(MELVIN).post("/forecast/backtest/run/", {"period_kind": "quarter", "at": "start"}) \
        .status_code == 403
    bad = client_for("admin").post("/forecast/backtest/run/", {"period_kind": "quarter", "at": "start",
                                                                 "date_from": "2017-10-01", "date_to": "2017-07-01"})
    assert bad.status_code == 400 and "The end date is before the start date." in bad.content.decode()


def test_model_page_shows_the_card(client_for, stored):
    card = stored.model.card
    html = page(client_for(DARCEL), "/forecast/model/")
    assert card["verdict"] in html
    figures = re.search(r'<table[^>]*id="model-figures".*?</table>', html, re.S)[0]
    auc = re.search(r'data-metric="auc">.*?<td class="rc-table-num fw-semibold">([\d.–]+)</td>', figures, re.S)[1]
    assert auc == f"{card['holdout']['auc']:.3f}"
    sizes = re.search(r'<table[^>]*id="model-sizes".*?</table>', html, re.S)[0]
    assert f"{card['data']['holdout']['deals']:,}" in sizes
    option = page_charts(html)["chart-calibration-data"]
    table = (card.get("served_holdout") or card)["calibration_table"]
    assert [p["value"] for p in option["series"][1]["data"]] == [
        [round(b["mean_predicted"] * 100, 1), round(b["observed"] * 100, 1)] for b in table if b["n"]]


# ---------------------------------------------------------------- Chinese


@pytest.mark.parametrize("url", ["/forecast/", "/forecast/backtest/", "/forecast/model/"])
def test_forecast_pages_in_chinese(client_for, stored, url):
    html = page(client_for(MELVIN, "zh-hans"), url)
    assert "预测" in nav_text(html)
    brands = {"revcast", "LightGBM", "P10", "P50", "P90", "AUC", "Brier", "MAPE"}
    texts = labels(html, tags={"h1", "h2", "th", "label", "button", "summary", "dt"})
    data = set(E.deals()["owner"])
    left = [t for t in texts if t not in data and english_words(t, brands)]
    assert left == [], url


def test_factors_in_chinese_use_translated_labels(client_for, stored):
    from revcast.forecasting.models import DealForecast

    row = DealForecast.objects.filter(run=stored.second, owner_username=DARCEL).exclude(factors=[]).first()
    html = page(client_for(DARCEL, "zh-hans"), f"/opportunities/{row.opportunity_id}/")
    factors = re.findall(r'data-sign="[+-]?"><span[^>]*>.*?</span><span>(.*?)</span></li>', html, re.S)
    assert len(factors) == len(row.factors)
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in factors), factors
