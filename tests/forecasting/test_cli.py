"""`revcast forecast train|run|backtest`: output in table and JSON, stored records, clear errors."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from revcast.forecasting.models import BacktestRun, ForecastRun, WinModelVersion
from tests.api import support as S
from tests.forecasting import support as F


def forecast(*args: str) -> str:
    out = io.StringIO()
    call_command("forecast", *args, stdout=out)
    return out.getvalue()


def forecast_json(*args: str) -> Any:
    return json.loads(forecast(*args, "--format", "json"))


def test_train_prints_the_card_and_stores_the_active_model(stored, db):
    text = forecast("train", "--cutoff", "2017-10-01")
    version = WinModelVersion.objects.get(is_active=True)
    assert version.pk != stored.model_id and str(version.cutoff)[:10] == "2017-10-01"
    assert f"Win model #{version.pk} (active)" in text
    for word in ("AUC", "Brier", "base-rate Brier", "ECE", "Calibration of the served model",
                 "verdict: " + version.verdict, f"{version.card['data']['closed_deals']:,}"):
        assert word in text, word
    assert ("LightGBM (served)" in text) == (version.kind == "lightgbm")
    # Deals closed before the cutoff, from the CSV (a close is dated 00:00 of its close date).
    closed = [d for d in F.raw_deals() if d["close_date"] and d["close_date"] < "2017-10-01"]
    assert f"closed deals before the cutoff: {len(closed):,} " in text
    body = forecast_json("train", "--cutoff", "2017-10-01")
    assert body["active"] is True and body["card"]["kind"] == body["card"]["kind"]
    assert {"verdict", "beats_base_rate"} <= set(body["card"])
    assert WinModelVersion.objects.filter(is_active=True).get().pk == body["version"]


def test_run_as_a_manager_shows_the_teams_share(stored, db):
    body = forecast_json("run", "--period", "2017-Q4", "--as-of", F.AS_OF, "--as", "melvin.marxen",
                         "--by", "owner", "--draws", "500", "--top", "5")
    run = ForecastRun.objects.get(pk=body["run"]["id"])
    assert (run.period, run.draws, run.source) == ("2017-Q4", 500, "cli")
    view = body["forecast"]
    team = S.team("melvin.marxen")
    assert view["scope"] == "subtree" and {g["key"] for g in view["groups"]} <= team
    assert sum(g["expected"] for g in view["groups"]) == pytest.approx(view["total"]["expected"], rel=1e-9)
    assert view["total"]["closed"] == pytest.approx(float(F.won_between("2017-10-01", F.WON_BEFORE, team)), abs=0.01)
    assert len(body["top_deals"]) == 5 and {d["owner"] for d in body["top_deals"]} <= team
    expected = [d["expected"] for d in body["top_deals"]]
    assert expected == sorted(expected, reverse=True)


def test_run_table_shows_totals_and_top_deals(stored, db):
    text = forecast("run", "--period", "2017-10", "--as-of", "2017-10-01", "--draws", "300")
    run = ForecastRun.objects.order_by("-id").first()
    assert f"Forecast 2017-10 (2017-10-01 to 2017-11-01, end exclusive) as of 2017-10-01 00:00 UTC: run #{run.pk}" \
        in text
    assert "company-wide" in text
    for word in ("Totals", "expected", "P10", "P50", "P90", "closed", "open (expected)", "new (expected)",
                 "Top deals by expected value", "P(win)"):
        assert word in text, word
    assert f"{run.totals['expected']:,.0f}" in text


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--period", "2017-Q5"], "period '2017-Q5': expected a month like 2017-11 or a quarter like 2017-Q4"),
    (["run", "--as", "no.body"], "--as 'no.body': no such user"),
    (["run", "--as-of", "soon"], "as_of 'soon': expected a date"),
    (["train", "--cutoff", "13/13/2017"], "cutoff '13/13/2017': expected a date"),
    (["backtest", "--period", "month", "--from", "2017-09-01", "--to", "2017-03-01"],
     "from 2017-09-01 is after to 2017-03-01"),
])
def test_errors_are_clear(stored, db, args, message):
    with pytest.raises(CommandError) as info:
        forecast(*args)
    assert message in str(info.value)


def test_no_data_is_a_clear_error(db):
    from revcast.pipeline.models import OpportunityFieldHistory

    OpportunityFieldHistory.objects.all().delete()
    with pytest.raises(CommandError, match="no data: there are no opportunities with field history"):
        forecast("run", "--period", "2017-Q4")


def test_backtest_json_has_the_issues_shape_and_is_stored(stored, db):
    body = forecast_json("backtest", "--period", "month", "--from", "2017-09-01", "--to", "2017-10-31")
    assert [p["period"] for p in body["periods"]] == ["2017-09", "2017-10"]
    for row in body["periods"]:
        assert {"period", "as_of", "forecast", "p10", "p50", "p90", "actual", "error_pct", "inside",
                "weighted_pipeline", "seasonal_naive"} <= set(row)
        first, nxt = row["period"] + "-01", ("2017-10-01" if row["period"] == "2017-09" else "2017-11-01")
        assert row["actual"] == pytest.approx(float(F.won_between(first, nxt)), abs=0.01)
        assert row["as_of"][:10] == first
        assert row["error_pct"] == pytest.approx((row["forecast"] - row["actual"]) / row["actual"], abs=1e-4)
    summary = body["summary"]
    assert set(summary["revcast"]) == {"mape", "bias", "coverage"}
    assert set(summary["weighted_pipeline"]) == set(summary["seasonal_naive"]) == {"mape", "bias"}
    errors = [abs(r["forecast"] - r["actual"]) / r["actual"] for r in body["periods"]]
    assert summary["revcast"]["mape"] == pytest.approx(sum(errors) / len(errors), abs=1e-4)
    stored_run = BacktestRun.objects.get(pk=body["backtest"])
    assert stored_run.result["summary"] == summary and stored_run.period_kind == "month"


def test_backtest_table(stored, db):
    text = forecast("backtest", "--period", "quarter", "--at", "mid", "--from", "2017-07-01", "--to", "2017-09-30")
    for word in ("2017-Q3", "2017-08-16", "weighted pipeline", "seasonal naive", "MAPE", "bias",
                 "P10-P90 coverage", "revcast"):
        assert word in text, word
