"""Importing again: idempotency (API and CLI), dry runs, and an update of one opportunity."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.dataio.support import (
    db_snapshot,
    raw_header,
    raw_rows,
    source_counts,
    source_of,
    write_csv,
    write_mapping_copy,
    write_pipeline,
)

pytestmark = pytest.mark.usefixtures("maven")

SOURCES = {"stages": 4, "sales_teams": 35, "products": 7, "accounts": 85, "opportunities": 8800}


def _all_unchanged(counts: dict) -> None:
    assert set(counts) == set(SOURCES)
    for name, n in SOURCES.items():
        assert source_counts(counts, name) == (n, 0, 0, n, 0), name
        assert not counts[name].get("failed")


# ------------------------------------------------------------------ idempotency


def test_second_run_changes_nothing(maven_dir, mapping_obj):
    from revcast.dataio.runner import run_import

    before = db_snapshot()
    run = run_import(maven_dir, mapping_obj)
    assert run.status == "succeeded"
    assert run.dry_run is False
    _all_unchanged(run.counts)
    assert run.counts["opportunities"]["history rows"] == 0
    assert run.counts["sales_teams"]["manager"] == run.counts["sales_teams"]["team"] == 0
    assert run.counts["sales_teams"]["region"] == 0
    assert run.issues.count() == 0
    after = db_snapshot()
    assert after["history"] == before["history"]  # no OpportunityFieldHistory row written
    assert after == before


def test_cli_second_run_succeeds_and_changes_nothing(maven_dir, maven_mapping_path):
    from revcast.dataio.models import ImportRun

    before = db_snapshot()
    out = io.StringIO()
    result = call_command(
        "import", str(maven_dir), mapping=str(maven_mapping_path), format="json", stdout=out
    )
    assert result is None  # returned normally: exit code 0
    report = json.loads(out.getvalue())
    assert report["status"] == "succeeded"
    assert report["dry_run"] is False
    assert report["issue_count"] == 0
    _all_unchanged(report["counts"])
    run = ImportRun.objects.get(pk=report["run"])
    assert run.status == "succeeded"
    assert db_snapshot() == before


def test_cli_missing_path_and_bad_mapping(tmp_path, maven_dir, maven_mapping_path):
    from revcast.dataio.models import ImportRun

    runs = ImportRun.objects.count()
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("import", str(tmp_path / "nope"), mapping=str(maven_mapping_path), stdout=io.StringIO())
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources: [\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"bad\.yaml: not valid YAML"):
        call_command("import", str(maven_dir), mapping=str(bad), stdout=io.StringIO())
    assert ImportRun.objects.count() == runs


def test_cli_exit_code_3_for_partial_run(maven_copy, maven_mapping_path):
    write_pipeline(maven_copy, lambda rows: rows[10].update(engage_date="2017-13-45"))
    before = db_snapshot()
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("import", str(maven_copy), mapping=str(maven_mapping_path), stdout=out)
    assert exc.value.code == 3
    assert db_snapshot() == before
    text = out.getvalue()  # the table report for people
    assert "opportunities" in text and "8,800" in text and "8,799" in text
    assert "2017-13-45" in text
    assert "status: succeeded with rejected rows" in text


def test_cli_exit_code_1_for_failed_run(tmp_path, maven_dir, maven_mapping_path):
    def change(data):
        source_of(data, "opportunities")["fields"]["amout"] = "close_value"

    broken = write_mapping_copy(tmp_path, maven_mapping_path, change)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("import", str(maven_dir), mapping=str(broken), format="json", stdout=out)
    assert exc.value.code == 1
    report = json.loads(out.getvalue())
    assert report["status"] == "failed"
    assert "amout" in report["issues"][0]["reason"]


# ------------------------------------------------------------------ dry run and update


def _won_copy(folder):
    """The Maven folder with one Engaging deal closed as won; returns (opportunity_id, raw row before)."""
    rows = raw_rows("sales_pipeline.csv")
    index = next(i for i, r in enumerate(rows) if r["deal_stage"] == "Engaging" and r["account"])
    original = dict(rows[index])
    rows[index].update(deal_stage="Won", close_date="2017-12-29", close_value="4321")
    write_csv(folder / "sales_pipeline.csv", raw_header("sales_pipeline.csv"), rows)
    return original["opportunity_id"], original


def test_dry_run_counts_the_change_but_writes_nothing(maven_copy, mapping_obj):
    from revcast.dataio.models import ImportRun
    from revcast.dataio.runner import run_import
    from revcast.pipeline.models import Opportunity

    ext, _ = _won_copy(maven_copy)
    before = db_snapshot()
    run = run_import(maven_copy, mapping_obj, dry_run=True)
    assert run.status == "succeeded"
    opp = run.counts["opportunities"]
    assert source_counts(run.counts, "opportunities") == (8800, 0, 1, 8799, 0)
    # stage, forecast_category, amount and expected_close_on change: four history rows would be written
    assert opp["history rows"] == 4
    assert db_snapshot() == before
    stored = Opportunity.objects.get(external_id=ext)
    assert stored.stage.name == "Engaging" and stored.version == 1 and stored.closed_on is None
    recorded = ImportRun.objects.get(pk=run.pk)
    assert recorded.dry_run is True
    assert recorded.status == "succeeded"
    assert recorded.counts == run.counts
    assert recorded.finished_at is not None


def test_update_of_one_opportunity(maven_copy, mapping_obj):
    from revcast.dataio.runner import run_import
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    ext, original = _won_copy(maven_copy)
    products = {p["product"]: Decimal(p["sales_price"]) for p in raw_rows("products.csv")}
    list_price = products[{"GTXPro": "GTX Pro"}.get(original["product"], original["product"])]
    before = db_snapshot()
    opp_before = Opportunity.objects.get(external_id=ext)
    assert (opp_before.stage.name, opp_before.amount, opp_before.version) == ("Engaging", list_price, 1)

    run = run_import(maven_copy, mapping_obj)
    assert run.status == "succeeded"
    counts = run.counts["opportunities"]
    assert (counts["created"], counts["updated"], counts["unchanged"], counts["rejected"]) == (0, 1, 8799, 0)
    for name in ("sales_teams", "products", "accounts"):
        assert run.counts[name]["updated"] == run.counts[name]["created"] == 0

    after = db_snapshot()
    changed = {k for k in before["opportunity"] if before["opportunity"][k] != after["opportunity"][k]}
    assert changed == {opp_before.pk}
    opp = Opportunity.objects.get(external_id=ext)
    assert opp.stage.name == "Won"
    assert opp.reached_stage.name == "Won"
    assert (opp.probability, opp.forecast_category) == (100, "closed")
    assert opp.amount == Decimal("4321")
    assert opp.closed_on == opp.expected_close_on == dt.date(2017, 12, 29)
    assert opp.engaged_on == dt.date.fromisoformat(original["engage_date"])
    assert opp.version == 2

    new_history = set(
        OpportunityFieldHistory.objects.filter(opportunity=opp, source=f"import:{run.pk}").values_list(
            "field", "old_value", "new_value"
        )
    )
    assert new_history == {
        ("stage", "Engaging", "Won"),
        ("forecast_category", "pipeline", "closed"),
        ("amount", format(list_price.quantize(Decimal("0.01")), "f"), "4321.00"),
        ("expected_close_on", None, "2017-12-29"),
    }
    assert after["history"] == before["history"] + len(new_history)
    assert run.counts["opportunities"]["history rows"] == len(new_history)
