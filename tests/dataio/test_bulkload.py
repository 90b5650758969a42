"""Bulk loads into empty tables (dataio.bulkload, ADR 0023): what is set aside comes back exactly, a row that
breaks a foreign key is named, killed runs' leftovers are restored by the next run, and a migration loads the
same data with or without it. The legacy CRM (tests/dataio/legacy_crm.py) is the source; its expected figures
come from its raw rows. Indexes and keys are read from PostgreSQL's catalogue, not from revcast's records."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.dataio import legacy_crm
from tests.dataio.support import _migrate

pytestmark = pytest.mark.django_db
POSTGRES = connection.vendor == "postgresql"

TABLES = ("pipeline_opportunity", "pipeline_opportunityfieldhistory")


def _schema(tables: tuple[str, ...] = TABLES) -> set[tuple[str, str]]:
    """(table, definition) of every index and foreign key of ``tables``, from the catalogue."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute(f"SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                        f"({', '.join(['%s'] * len(tables))})", list(tables))
            found = set(cur.fetchall())
            for table in tables:
                cur.execute(f"PRAGMA foreign_key_list({table})")
                found |= {(table, repr(row)) for row in cur.fetchall()}
            return found
        cur.execute("SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [list(tables)])
        found = set(cur.fetchall())
        cur.execute(
            "SELECT conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
            [list(tables)],
        )
        return found | set(cur.fetchall())


@pytest.fixture
def empty_deals() -> None:
    """The suite's database holds the Maven data: empty the deal tables inside the test's transaction."""
    from revcast.pipeline.models import Opportunity

    if POSTGRES:
        with connection.cursor() as cur:
            cur.execute("TRUNCATE pipeline_opportunity, pipeline_opportunityfieldhistory CASCADE")
    else:
        Opportunity.objects.all().delete()


def test_set_aside_drops_secondary_indexes_and_foreign_keys_and_restore_brings_back_the_same():
    from revcast.dataio import bulkload
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    before = _schema()
    if not POSTGRES:
        with pytest.raises(NotImplementedError, match="PostgreSQL only"):
            bulkload.set_aside([Opportunity, OpportunityFieldHistory])
        assert _schema() == before
        return
    statements = bulkload.set_aside([Opportunity, OpportunityFieldHistory])
    during = _schema()
    kept = {d for _, d in during}
    # primary keys and unique constraints stay (upserts by key rely on them); nothing else does
    assert any("pipeline_opportunity_pkey" in d for d in kept)
    assert any("UNIQUE" in d and "(external_id)" in d for d in kept)
    assert not any("FOREIGN KEY" in d for d in kept)
    assert not any(d.startswith("CREATE INDEX") for d in kept)
    dropped = before - during
    assert len(statements) == len(dropped) > 10
    assert {s["kind"] for s in statements} == {"index", "foreign key"}
    bulkload.restore(statements)
    assert _schema() == before


def test_a_statement_that_cannot_be_restored_is_named_with_the_databases_reason():
    from revcast.dataio import bulkload
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Stage

    if not POSTGRES:  # SQLite: a unique index over the Maven deals' stages (8,800 deals, 4 stages) cannot be built
        statements = [{"table": "pipeline_opportunity", "kind": "index", "name": "probe_one_per_stage",
                       "sql": "CREATE UNIQUE INDEX probe_one_per_stage ON pipeline_opportunity (stage_id)"}]
        with pytest.raises(bulkload.RestoreError) as exc:
            bulkload.restore(statements)
        assert "probe_one_per_stage of pipeline_opportunity" in str(exc.value) and "UNIQUE" in str(exc.value)
        return
    stage = Stage.objects.create(name="Open", order=10, type=Stage.Type.OPEN, probability=10)
    statements = bulkload.set_aside([Opportunity, OpportunityFieldHistory])
    Opportunity.objects.create(external_id="X-1", name="Orphan", owner_id=987654, stage=stage, probability=10,
                               reached_stage=stage)  # no key checks it now
    with pytest.raises(bulkload.RestoreError) as exc:
        bulkload.restore(statements)
    message = str(exc.value)
    assert "owner_id" in message and "987654" in message and "pipeline_opportunity" in message


def test_a_migration_into_empty_tables_bulk_loads_the_same_data_and_ends_with_the_whole_schema(legacy, empty_deals):
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    url, mapping = legacy
    expected = legacy_crm.expected()
    before = _schema()
    result = _migrate(url, mapping, "--batch-size", "25", "--bulk-load", "on")
    notes = [n for n in result["notes"] if n.startswith("bulk load of deals")]
    if POSTGRES:
        assert len(notes) == 1 and "set aside for the load and rebuilt after it" in notes[0]
    else:
        assert notes == ["bulk load of deals: PostgreSQL targets only; loaded row by row"]
    assert _schema() == before
    deals = Opportunity.objects.filter(external_id__startswith="LEG-")
    assert deals.count() == expected["deals"] == result["counts"]["deals"]["created"]
    assert sum((d.amount for d in deals if d.amount is not None), Decimal(0)) == expected["amount_sum"]
    assert OpportunityFieldHistory.objects.filter(opportunity__in=deals).count() > expected["deals"]
    assert result["reconciliation"]["ok"] is True
    from revcast.dataio.models import ImportRun

    assert "set_aside" not in ImportRun.objects.get(pk=result["run"]).checkpoint
    # a second run finds the tables full: row by row, and nothing changes
    again = _migrate(url, mapping, "--batch-size", "25", "--bulk-load", "on")
    if POSTGRES:
        assert any("its tables are not empty; loaded row by row" in n for n in again["notes"])
    assert again["counts"]["deals"]["unchanged"] == expected["deals"]


def test_auto_leaves_small_sources_row_by_row(legacy, empty_deals):
    url, mapping = legacy
    result = _migrate(url, mapping, "--batch-size", "25")
    assert not any(n.startswith("bulk load") for n in result["notes"])


def test_a_source_that_fails_restores_what_it_set_aside_before_the_failure_is_reported(legacy, empty_deals, monkeypatch):
    from revcast.dataio import migrate
    from revcast.dataio.models import ImportRun
    from revcast.pipeline.models import Opportunity

    url, mapping = legacy
    before = _schema()
    calls = {"n": 0}
    original = migrate.MigrationRunner._write_batch

    def failing(self, plan, *args, **kwargs):
        if plan.spec.name == "deals":
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("disk on fire")
        return original(self, plan, *args, **kwargs)

    monkeypatch.setattr(migrate.MigrationRunner, "_write_batch", failing)
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("migrate", "--source", url, "--mapping", str(mapping), "--no-backup", "--format", "json",
                     "--batch-size", "25", "--bulk-load", "on", stdout=out)
    result = json.loads(out.getvalue())
    assert result["status"] == "failed"
    assert any("disk on fire" in i["reason"] for i in result["issues"])
    assert _schema() == before  # the two committed batches stay, under their indexes and keys
    assert Opportunity.objects.filter(external_id__startswith="LEG-").exists()
    assert "set_aside" not in ImportRun.objects.get(pk=result["run"]).checkpoint


def test_what_a_killed_run_left_set_aside_is_restored_by_the_next_run(legacy):
    from revcast.dataio import bulkload
    from revcast.dataio.models import ImportRun
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    url, mapping = legacy
    before = _schema()
    killed = ImportRun.objects.create(kind=ImportRun.Kind.MIGRATION, source="postgresql://old/crm",
                                      mapping_name="old", status=ImportRun.Status.RUNNING, checkpoint={},
                                      started_at=timezone.now())
    if POSTGRES:
        statements = bulkload.set_aside([Opportunity, OpportunityFieldHistory])
    else:  # SQLite has no bulk load; a leftover statement is restored all the same
        with connection.cursor() as cur:
            cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                        "AND tbl_name = 'pipeline_opportunity' ORDER BY name LIMIT 1")
            name, sql = cur.fetchone()
            cur.execute(f'DROP INDEX "{name}"')
        statements = [{"table": "pipeline_opportunity", "kind": "index", "name": name, "sql": sql}]
    killed.checkpoint["set_aside"] = {"source": "deals", "statements": statements}
    killed.save()
    # resuming that run itself would go on with them set aside: restore_pending leaves it be
    assert bulkload.restore_pending(exclude=killed.pk) == []
    assert _schema() != before
    result = _migrate(url, mapping, "--batch-size", "25", "--bulk-load", "off")
    assert any(n.startswith("restored the") and f"run #{killed.pk}" in n for n in result["notes"])
    assert _schema() == before
    killed.refresh_from_db()
    assert "set_aside" not in killed.checkpoint


def test_off_loads_row_by_row_into_empty_tables(legacy, empty_deals):
    url, mapping = legacy
    before = _schema()
    result = _migrate(url, mapping, "--batch-size", "25", "--bulk-load", "off")
    assert [n for n in result["notes"] if n.startswith("bulk load")] == []
    assert result["counts"]["deals"]["created"] == legacy_crm.expected()["deals"]
    assert _schema() == before


def test_a_restore_cut_short_runs_again_over_what_it_already_rebuilt():
    """Indexes built on their own connections commit one by one; a restore after a kill skips what exists."""
    from revcast.dataio import bulkload
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    before = _schema()
    if not POSTGRES:  # nothing is set aside on SQLite: restoring nothing changes nothing
        bulkload.restore([], builders=2)
        assert _schema() == before
        return
    statements = bulkload.set_aside([Opportunity, OpportunityFieldHistory])
    done = [s for s in statements if s["kind"] == "index"][:3] + [s for s in statements if s["kind"] != "index"][:1]
    with connection.cursor() as cur:
        for s in done:
            cur.execute(s["sql"])
    assert len(before - _schema()) == len(statements) - len(done)
    # builders=2, but this transaction holds the tables' locks: the indexes are built in it, one by one
    bulkload.restore(statements, builders=2)
    assert _schema() == before


def test_concurrent_builders_take_the_largest_tables_indexes_first():
    """Longest work first, so the builders end together; within a table the order stays as it was."""
    from revcast.dataio import bulkload

    if not POSTGRES:  # nothing is set aside on SQLite, so there is nothing to build concurrently
        assert not bulkload.supported()
        return
    statements = [
        {"table": "pipeline_opportunity", "kind": "index", "name": "a", "sql": ""},
        {"table": "pipeline_opportunityfieldhistory", "kind": "index", "name": "b", "sql": ""},
        {"table": "pipeline_opportunity", "kind": "index", "name": "c", "sql": ""},
        {"table": "pipeline_stage", "kind": "index", "name": "d", "sql": ""},
        {"table": "pipeline_opportunityfieldhistory", "kind": "index", "name": "e", "sql": ""},
    ]
    with connection.cursor() as cur:
        rows = {}
        for table in {s["table"] for s in statements}:
            cur.execute(f"SELECT count(*) FROM {table}")
            rows[table] = cur.fetchone()[0]
    # The Maven data: several history rows per deal, 8,800 deals, four stages.
    assert rows["pipeline_opportunityfieldhistory"] > 2 * rows["pipeline_opportunity"] > 1000 > rows["pipeline_stage"]
    ordered = [s["name"] for s in bulkload._largest_first(statements)]
    assert ordered == ["b", "e", "a", "c", "d"]
