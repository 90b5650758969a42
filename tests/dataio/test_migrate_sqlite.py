"""`revcast migrate` from a SQLite source into the test database (which holds the Maven data), in process:
counts and sums against the raw legacy rows, the reconciliation catching real differences, the command staying
Django's migrate without --source, resume refusals. (The backup is checked end to end: test_migrate_e2e.)"""

from __future__ import annotations

import io
import json
import sqlite3
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.dataio import legacy_crm
from tests.dataio.support import _migrate

pytestmark = pytest.mark.usefixtures("maven")


def test_sqlite_source_migrates_with_the_mapping_transformations(legacy):
    from revcast.customers.models import Account
    from revcast.org.models import User
    from revcast.pipeline.models import Opportunity

    url, mapping = legacy
    expected = legacy_crm.expected()
    users_before = User.objects.count()
    result = _migrate(url, mapping, "--batch-size", "7")
    assert result["kind"] == "migration" and result["status"] == "partial"
    assert result["counts"]["deals"]["created"] == expected["deals"]
    assert result["counts"]["deals"]["rejected"] == expected["deals_rejected"]
    deals = Opportunity.objects.filter(external_id__startswith="LEG-")
    assert deals.count() == expected["deals"]
    assert sum((d.amount for d in deals if d.amount is not None), Decimal(0)) == expected["amount_sum"]
    assert set(deals.values_list("currency", flat=True)) == {"USD"}
    assert deals.filter(stage__name="Won").count() == expected["won"]
    assert deals.filter(account__isnull=True).count() == expected["no_account"]
    accounts = Account.objects.filter(external_id__startswith="C0")
    assert accounts.count() == expected["accounts"]
    assert sum((a.annual_revenue for a in accounts if a.annual_revenue is not None), Decimal(0)) == expected["revenue_sum"]
    assert set(accounts.values_list("revenue_currency", flat=True)) == {"USD"}
    # names with stray spaces are stripped; derived names come from the template
    assert accounts.get(external_id="C001").name == "Client 01 Trading"
    customers = {c[0]: c[1].strip() for c in legacy_crm.rows()["customers"]}
    for deal in legacy_crm.rows()["deals"][:20]:
        if legacy_crm.deal_valid(deal):
            name = f"{customers.get(deal[1], '')} #{deal[0]}".strip()
            assert deals.get(external_id=f"LEG-{deal[0]}").name == name
    assert User.objects.count() == users_before + expected["users"] + expected["managers"]
    assert result["reconciliation"]["ok"] is True
    # the warning on the deal whose customer does not exist names the source row by its key
    issues = {(i["file"], i["field"], i["severity"]) for i in result["issues"]}
    assert (f"query deals (deal_no={legacy_crm.ORPHAN_DEAL})", "account", "warning") in issues


def test_reconciliation_finds_changed_missing_and_extra_records(legacy):
    from revcast.dataio.mapping import load
    from revcast.dataio.models import ImportRun
    from revcast.dataio.reconcile import reconcile
    from revcast.dataio.sqlsource import SqlSource
    from revcast.pipeline.models import Opportunity

    url, mapping = legacy
    run_id = _migrate(url, mapping)["run"]
    run = ImportRun.objects.get(pk=run_id)
    # three real differences: a stored amount changed, a record deleted, a source row deleted after the run
    changed = (
        Opportunity.objects.filter(external_id__startswith="LEG-", amount__isnull=False)
        .exclude(external_id__in=["LEG-1002", "LEG-1003"]).order_by("pk").first()
    )
    Opportunity.objects.filter(pk=changed.pk).update(amount=changed.amount + Decimal("1.00"))
    Opportunity.objects.filter(external_id="LEG-1002").delete()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM deals WHERE deal_no = 1003")
    with SqlSource(url) as src:
        rec = reconcile(load(mapping), src, run=run, sample=200, seed=1)
    deals = next(o for o in rec["objects"] if o["source"] == "deals")
    assert rec["ok"] is False and deals["ok"] is False
    assert deals["missing"] == {"count": 1, "examples": ["LEG-1002"]}
    assert deals["extra"] == {"count": 1, "examples": ["LEG-1003"]}
    assert deals["amount_differences"]["count"] == 1
    assert deals["amount_differences"]["examples"][0]["key"] == changed.external_id
    # target (keys in the source) minus source: +1.00 changed, LEG-1002's amount missing
    assert Decimal(deals["sums"]["amount"]["difference"]) == Decimal("1.00") - _source_amount(1002)
    unequal = {s["key"] for s in deals["sample"] if not s["equal"]}
    assert unequal == {changed.external_id, "LEG-1002"}  # sample of 200 covers every mapped deal
    field = next(f for s in deals["sample"] if s["key"] == changed.external_id for f in s["fields"] if not f["equal"])
    assert field["field"] == "amount" and Decimal(field["target"]) - Decimal(field["source"]) == Decimal("1.00")
    assert all(o["ok"] for o in rec["objects"] if o["source"] != "deals")


def _source_amount(deal_no: int) -> Decimal:
    d = next(d for d in legacy_crm.rows()["deals"] if d[0] == deal_no)
    return Decimal(0) if d[4] is None else (Decimal(d[4]) / 100 * legacy_crm.RATES[d[5]]).quantize(Decimal("0.01"))


def test_the_reconcile_command_is_seeded_and_stores_its_result(legacy):
    from revcast.dataio.models import ImportRun

    url, mapping = legacy
    run_id = _migrate(url, mapping)["run"]
    outputs = []
    for _ in range(2):
        out = io.StringIO()
        call_command("migrate", "reconcile", "--run", str(run_id), "--sample", "4", "--seed", "9", "--format", "json",
                     stdout=out)
        outputs.append(json.loads(out.getvalue()))
    keys = [[s["key"] for s in o["sample"]] for o in outputs[0]["objects"]]
    assert keys == [[s["key"] for s in o["sample"]] for o in outputs[1]["objects"]]
    assert [len(k) for k in keys] == [4, 4, 4]
    assert ImportRun.objects.get(pk=run_id).reconciliation["seed"] == 9
    table = io.StringIO()
    call_command("migrate", "reconcile", stdout=table)  # the latest run, as a table
    assert "source and target agree" in table.getvalue() and "annual_revenue" in table.getvalue()


def test_without_source_it_is_djangos_migrate():
    out = io.StringIO()
    call_command("migrate", "--plan", stdout=out)
    assert "No planned migration operations." in out.getvalue()
    with pytest.raises(CommandError, match="--dry-run, --resume need --source URL"):
        call_command("migrate", "--dry-run", "--resume")


def test_resume_refuses_when_there_is_nothing_to_resume(legacy):
    url, mapping = legacy
    with pytest.raises(CommandError, match=r"no migration of mapping .legacy_crm. from sqlite:///.* to resume"):
        call_command("migrate", "--source", url, "--mapping", str(mapping), "--resume", "--no-backup")
    _migrate(url, mapping)
    with pytest.raises(CommandError, match=r"finished \(partial\); nothing to resume"):
        call_command("migrate", "--source", url, "--mapping", str(mapping), "--resume", "--no-backup")


def test_dry_run_writes_nothing_and_reports_what_would_be(legacy):
    from revcast.pipeline.models import Opportunity

    url, mapping = legacy
    before = Opportunity.objects.count()
    result = _migrate(url, mapping, "--dry-run")
    assert result["dry_run"] is True and result["counts"]["deals"]["created"] == legacy_crm.expected()["deals"]
    assert result["reconciliation"]["ok"] is True  # what the target would hold
    assert Opportunity.objects.count() == before


def test_a_file_source_or_a_missing_column_fails_before_writing(legacy, tmp_path):
    from revcast.pipeline.models import Opportunity

    url, _mapping = legacy
    text = legacy_crm.MAPPING.replace("d.closed_txt,\n", "\n")  # the query loses a column the mapping reads
    broken = tmp_path / "broken.yaml"
    broken.write_text(text, encoding="utf-8")
    before = Opportunity.objects.count()
    result = _migrate(url, broken, code=1)
    assert result["status"] == "failed" and "column(s) ['closed_txt'] missing" in result["issues"][0]["reason"]
    assert Opportunity.objects.count() == before
    files = tmp_path / "files.yaml"
    files.write_text("name: f\nsources:\n  - file: a.csv\n    object: product\n    fields: {name: n}\n")
    result = _migrate(url, files, code=1)
    assert "reads a file (a.csv); `revcast migrate` reads 'table' and 'query' sources" in result["issues"][0]["reason"]


def test_the_table_report_shows_counts_issues_and_the_reconciliation(legacy):
    url, mapping = legacy
    expected = legacy_crm.expected()
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("migrate", "--source", url, "--mapping", str(mapping), "--no-backup", stdout=out)
    text = out.getvalue()
    assert exc.value.code == 3, text[-2000:]
    assert "Migration #" in text and "sqlite:///" in text
    deals_row = next(line for line in text.splitlines() if line.startswith("│ deals "))
    assert deals_row.split("│")[-2].strip() == str(expected["deals_rejected"])
    assert "issue(s)" in text
    assert "source row" in text  # issues are located by source and row
    assert "Reconciliation of run #" in text and "source and target agree" in text
    assert "status: " in text
