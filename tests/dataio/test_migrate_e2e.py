"""End to end: a legacy CRM in a real PostgreSQL database, migrated by `revcast migrate` in a subprocess into a
fresh target database, killed half-way (SIGKILL), resumed, reconciled, re-run (nothing changes) and rolled back.
On PostgreSQL each source loads in two key ranges by two loader processes (``--workers 2``, dataio.parallel):
the kill takes the loaders with it, and each range resumes after its own last batch.

The target is a fresh database of the suite's kind: a SQLite file on the SQLite run, a new PostgreSQL database
on the PostgreSQL run (the test database's transaction is invisible to subprocesses). The source is always
PostgreSQL: on the suite's server, or on a throwaway server (scripts/with_postgres.py) on the SQLite run.
Expected figures come from tests/dataio/legacy_crm.py, computed from the raw rows in plain Python.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.dataio import legacy_crm, pg_support

REVCAST = str(Path(sys.executable).parent / "revcast")
BATCH = 10
THROTTLE_MS = 150


class Target:
    """The fresh target database: its URL for revcast, and plain SQL queries on it for the test."""

    def __init__(self, url: str, sqlite_path: Path | None = None) -> None:
        self.url = url
        self.sqlite_path = sqlite_path

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.sqlite_path is not None:
            with sqlite3.connect(self.sqlite_path, timeout=30) as conn:
                return list(conn.execute(sql).fetchall())
        import psycopg

        with psycopg.connect(self.url.replace("postgres://", "postgresql://", 1)) as conn:
            return list(conn.execute(sql).fetchall())

    def scalar(self, sql: str) -> Any:
        return self.query(sql)[0][0]


def revcast(target: Target, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    """``revcast ARGS`` on the target, without Django's system checks (they import every URL and view, which
    costs seconds per command and is tested elsewhere)."""
    env = {**os.environ, "DATABASE_URL": target.url}
    result = subprocess.run([REVCAST, *args, "--skip-checks"], env=env, capture_output=True, text=True, timeout=300, check=False)
    if check is not None:
        assert result.returncode == check, (result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    return result


def _checkpoint(target: Target) -> dict[str, Any]:
    rows = target.query("SELECT checkpoint FROM dataio_importrun WHERE kind = 'migration' ORDER BY id DESC LIMIT 1")
    if not rows:
        return {}
    value = rows[0][0]
    return json.loads(value) if isinstance(value, str) else value


def _kill_half_way(target: Target, cmd: list[str], log: Path) -> dict[str, Any]:
    """Start the migration, wait until the deals' checkpoint shows progress (not done), SIGKILL it."""
    env = {**os.environ, "DATABASE_URL": target.url}
    with log.open("w") as out:
        proc = subprocess.Popen([REVCAST, *cmd, "--skip-checks"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                deals = _checkpoint(target).get("sources", {}).get("deals", {})
                if _rows_done(deals) >= 4 * BATCH and not deals.get("done"):
                    break
                assert proc.poll() is None, f"the migration ended before it was killed: {log.read_text()[-3000:]}"
                time.sleep(0.03)
            else:
                raise AssertionError(f"no progress within 120 s: {log.read_text()[-3000:]}")
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return _checkpoint(target)


def _rows_done(progress: dict[str, Any]) -> int:
    """Source rows committed: of the source, or of all its key ranges."""
    if "parts" in progress:
        return sum(part["rows"] for part in progress["parts"])
    return progress.get("rows", 0)


def _schema(target: Target) -> set[tuple[Any, ...]]:
    """Every index and foreign key of the target's deal tables, from the catalogue."""
    if target.sqlite_path is not None:
        return set(target.query("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'pipeline_opportunity%'"))
    return set(target.query(
        "SELECT tablename, indexdef FROM pg_indexes WHERE tablename LIKE 'pipeline_opportunity%' UNION ALL "
        "SELECT conrelid::regclass::text, conname || pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text LIKE 'pipeline_opportunity%'"
    ))


def _migrated(target: Target) -> dict[str, Any]:
    return {
        "deals": target.scalar("SELECT COUNT(*) FROM pipeline_opportunity WHERE external_id LIKE 'LEG-%'"),
        "distinct": target.scalar("SELECT COUNT(DISTINCT external_id) FROM pipeline_opportunity"),
        "amount": Decimal(str(target.scalar(
            "SELECT COALESCE(SUM(amount), 0) FROM pipeline_opportunity WHERE external_id LIKE 'LEG-%'"
        ))).quantize(Decimal("0.01")),
        "accounts": target.scalar("SELECT COUNT(*) FROM customers_account"),
        "revenue": Decimal(str(target.scalar("SELECT COALESCE(SUM(annual_revenue), 0) FROM customers_account")))
        .quantize(Decimal("0.01")),
        "users": target.scalar("SELECT COUNT(*) FROM org_user"),
    }


def _check_backup(target: Target, backups: Path) -> None:
    """One backup, made before the first write: the schema is in it, and no migrated record."""
    (backup,) = backups.iterdir()
    if target.sqlite_path is not None:
        with sqlite3.connect(backup) as conn:
            assert conn.execute("SELECT COUNT(*) FROM pipeline_opportunity").fetchone()[0] == 0
            assert conn.execute("SELECT COUNT(*) FROM django_migrations").fetchone()[0] > 0
        return
    from revcast.dataio.backup import find_pg_tool

    pg_restore = find_pg_tool("pg_restore")
    assert pg_restore is not None
    listing = subprocess.run([pg_restore, "--list", str(backup)], capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA public pipeline_opportunity" in listing
    data = subprocess.run([pg_restore, "--data-only", "--table=pipeline_opportunity", "--file=-", str(backup)],
                          capture_output=True, text=True, check=True).stdout
    copy = data.split("COPY public.pipeline_opportunity", 1)[1].split("\\.", 1)[0]
    assert copy.count("\n") == 1  # the COPY header line only: no rows


def _scenario(target: Target, source_url: str, tmp_path: Path) -> None:
    expected = legacy_crm.expected()
    mapping = tmp_path / "legacy.yaml"
    mapping.write_text(legacy_crm.MAPPING, encoding="utf-8")
    backups = tmp_path / "backups"
    revcast(target, "migrate", "-v0")  # Django's schema migration: the command still is Django's migrate
    cmd = ["migrate", "--source", source_url, "--mapping", str(mapping), "--batch-size", str(BATCH),
           "--backup-dir", str(backups), "--sample", "25", "--seed", "3", "--format", "json", "--bulk-load", "on",
           "--workers", "2"]
    schema = _schema(target)

    # 1. killed half-way: every committed batch is there with its checkpoint, nothing of the batch in flight
    cp = _kill_half_way(target, [*cmd, "--throttle", str(THROTTLE_MS)], tmp_path / "killed.log")
    progress = cp["sources"]["deals"]
    done = _rows_done(progress)
    assert 0 < done < expected["deals_read"]
    assert cp["sources"]["customers"]["done"] and cp["sources"]["staff"]["done"]
    half = _migrated(target)
    if target.sqlite_path is None:  # two key ranges, each committed batch by batch from its own first row
        parts = progress["parts"]
        assert len(parts) == 2 and parts[0]["first_line"] == 1 and not all(p["done"] for p in parts)
        assert parts[1]["first_line"] == expected["deals_read"] // 2 + 1
        assert all(p["rows"] % BATCH == 0 or p["done"] for p in parts)
        assert half["deals"] == legacy_crm.valid_deals_among_lines([(p["first_line"], p["rows"]) for p in parts])
        time.sleep(1.5)  # the loaders died with their parent: nothing moves any more (a batch takes 150 ms)
        assert _checkpoint(target)["sources"]["deals"]["parts"] == parts and _migrated(target) == half
    else:
        assert "parts" not in progress and done % BATCH == 0
        assert half["deals"] == legacy_crm.valid_deals_among_first(done)
    assert target.scalar("SELECT status FROM dataio_importrun ORDER BY id DESC LIMIT 1") == "running"
    _check_backup(target, backups)
    if target.sqlite_path is None:  # killed in a bulk load: the deal tables' indexes and keys are set aside
        assert cp["set_aside"]["source"] == "deals"
        missing = schema - _schema(target)
        assert len(missing) == len(cp["set_aside"]["statements"]) > 10

    # 2. resumed: continues after the last committed batch; the run ends partial (three rows have bad codes)
    resumed = json.loads(revcast(target, *cmd, "--resume", check=3).stdout)
    run_id = resumed["run"]
    assert resumed["kind"] == "migration" and resumed["status"] == "partial"
    assert resumed["source"].startswith("postgresql+psycopg://")
    assert resumed["source"].endswith(source_url.rsplit("/", 1)[1])
    deals = resumed["counts"]["deals"]
    assert deals["read"] == expected["deals_read"]
    assert deals["created"] == expected["deals"] and deals["updated"] == deals["unchanged"] == 0
    assert deals["rejected"] == expected["deals_rejected"]
    assert resumed["counts"]["customers"]["created"] == expected["accounts"]
    assert resumed["counts"]["staff"]["created"] == expected["users"]
    assert any(n.startswith("resumed at") for n in resumed["notes"])
    assert _schema(target) == schema  # the resumed run rebuilt what the killed one set aside
    if target.sqlite_path is None:
        assert any(n.startswith("bulk load of deals: its ") for n in resumed["notes"])
        assert "deals: loaded in 2 key ranges by 2 loader processes" in resumed["notes"]
    else:
        assert "bulk load of deals: PostgreSQL targets only; loaded row by row" in resumed["notes"]
        assert ("deals: loaded by one process (several loaders need a PostgreSQL target, Linux and no open "
                "transaction)") in resumed["notes"]
    assert any(n.startswith("backup of the target before writing") for n in resumed["notes"])
    after = _migrated(target)
    assert after["deals"] == after["distinct"] == expected["deals"]  # nothing duplicated, nothing missing
    assert after["amount"] == expected["amount_sum"]
    assert after["accounts"] == expected["accounts"] and after["revenue"] == expected["revenue_sum"]
    assert after["users"] == expected["users"] + expected["managers"]
    assert target.scalar("SELECT COUNT(*) FROM customers_account WHERE parent_id IS NOT NULL") == expected["with_parent"]

    # 3. the reconciliation stored with the run: equal counts and sums, an all-equal sample
    rec = resumed["reconciliation"]
    assert rec["ok"] is True and rec["sample_size"] == 25 and rec["seed"] == 3
    by_source = {o["source"]: o for o in rec["objects"]}
    d = by_source["deals"]
    assert d["source_rows"] == expected["deals_read"] and d["source_rejected"] == expected["deals_rejected"]
    assert d["source_count"] == d["target_count"] == expected["deals"]
    assert Decimal(d["sums"]["amount"]["source"]) == Decimal(d["sums"]["amount"]["target"]) == expected["amount_sum"]
    assert d["missing"]["count"] == d["extra"]["count"] == d["amount_differences"]["count"] == 0
    assert len(d["sample"]) == 25 and all(s["equal"] for s in d["sample"])
    c = by_source["customers"]
    assert c["source_count"] == c["target_count"] == expected["accounts"]
    assert Decimal(c["sums"]["annual_revenue"]["target"]) == expected["revenue_sum"]
    assert all(s["equal"] for s in c["sample"]) and len(c["sample"]) == 20
    stored = json.loads(revcast(target, "migrate", "reconcile", "--run", str(run_id), "--source", source_url,
                                "--sample", "25", "--seed", "3", "--format", "json").stdout)
    assert [s["key"] for s in stored["objects"][2]["sample"]] == [s["key"] for s in d["sample"]]  # seeded

    # 4. a second full run changes nothing
    again = json.loads(revcast(target, *cmd, check=3).stdout)
    assert again["run"] != run_id
    for name in ("staff", "customers", "deals"):
        counts = again["counts"][name]
        assert counts["created"] == counts["updated"] == 0, (name, counts)
    assert again["counts"]["deals"]["unchanged"] == expected["deals"]
    assert _migrated(target) == after and again["reconciliation"]["ok"] is True
    # --resume now has nothing to resume
    nothing = revcast(target, *cmd, "--resume", check=1)
    assert "nothing to resume" in nothing.stderr

    # 5. rollback of the (resumed) first run takes out everything it made, across both sessions
    revcast(target, "rollback", str(run_id), "--format", "json")
    gone = _migrated(target)
    assert gone["deals"] == gone["accounts"] == gone["users"] == 0
    assert target.scalar("SELECT COUNT(*) FROM pipeline_opportunityfieldhistory") == 0
    assert target.scalar("SELECT COUNT(*) FROM pipeline_stage") == 0


def test_killed_migration_resumes_reconciles_reruns_and_rolls_back(tmp_path: Path) -> None:
    with pg_support.server() as server, pg_support.database(server, "legacy_src") as source_url:
        legacy_crm.create(source_url)
        if pg_support._current_server() is not None:  # PostgreSQL run: a fresh target database on the server
            with pg_support.database(server, "revcast_target") as target_url:
                _scenario(Target(target_url), source_url, tmp_path)
        else:  # SQLite run: a fresh SQLite file
            path = tmp_path / "target.sqlite3"
            _scenario(Target(f"sqlite:///{path}", sqlite_path=path), source_url, tmp_path)
