"""Migration throughput from a PostgreSQL source into a PostgreSQL target, against PostgreSQL's COPY.

A throwaway PostgreSQL server (scripts/with_postgres.py) gets a source database holding a legacy CRM of the
shape tests/dataio/legacy_crm.py uses (staff, customers, an FX rate table, deals in cents with text dates),
scaled up (``--deals``, default 100,000, and a tenth as many customers), and an empty target database, migrated
by Django. ``revcast migrate`` then runs in a child process (as an admin runs it), with its backup and its
reconciliation; its per-source times come from the run's counts. The ceiling is PostgreSQL's COPY of the same
rows (read from the source) into a plain table of the target; a second figure is the floor of revcast's own
schema: the deals and history the run wrote, COPYed back into their tables, row by row (indexes, foreign keys
checked at commit) and the way revcast's bulk load into empty tables does it (ADR 0023). Times are
printed, never asserted; the exit status is non-zero only when the migration does not succeed or its
reconciliation disagrees.

    .venv/bin/python bench/migrate.py [--deals N] [--batch-size N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REVCAST = str(Path(sys.executable).parent / "revcast")
TARGET_ROWS_PER_S = 20_000
STAFF = 60

MAPPING = """\
name: bench_legacy
defaults: {currency: USD}
stages:
  - {name: Prospecting, order: 10, type: open, probability: 10}
  - {name: Engaging, order: 20, type: open, probability: 40}
  - {name: Won, order: 90, type: won, probability: 100, forecast_category: closed}
  - {name: Lost, order: 99, type: lost, probability: 0, forecast_category: omitted}
sources:
  - name: staff
    table: staff
    object: sales_team
    key_column: staff_no
    fields: {name: full_nm, manager: mgr_nm, region: office}
  - name: customers
    table: customers
    object: account
    fields:
      external_id: cust_id
      name: cust_nm
      industry: {column: sector_cd, map: {TEC: technology, RET: retail, MED: medical, FIN: finance}, unmapped: reject}
      annual_revenue: {column: revenue_wan, multiply: 10000, convert: {from: rev_ccy, to: USD, rates: {CNY: 0.14, USD: 1}}}
      country: {column: country, default: ""}
  - name: deals
    query: |
      SELECT d.deal_no, d.cust_id, d.status_cd, d.amt_cents, d.ccy, d.opened_txt, d.closed_txt,
             s.full_nm AS owner_name, r.to_usd
      FROM deals d JOIN staff s ON s.staff_no = d.owner_no LEFT JOIN fx_rates r ON r.ccy = d.ccy
    object: opportunity
    key_column: deal_no
    date_format: "%d.%m.%Y"
    fields:
      external_id: {template: "LEG-{deal_no}"}
      owner: {column: owner_name, ref: user, by: full_name}
      account: {column: cust_id, ref: account, by: external_id}
      stage: {column: status_cd, ref: stage, by: name, map: {P: Prospecting, E: Engaging, W: Won, L: Lost}, unmapped: reject}
      amount: {column: amt_cents, multiply: 0.01, convert: {from: ccy, to: USD, rate: to_usd}}
      created_on: opened_txt
      closed_on: closed_txt
    stage_dates: {Won: closed_txt, Lost: closed_txt}
"""


def _with_postgres() -> Any:
    spec = importlib.util.spec_from_file_location("with_postgres", ROOT / "scripts" / "with_postgres.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_source(url: str, deals: int) -> dict[str, int]:
    """The legacy tables, filled with COPY; the row counts."""
    import psycopg

    rnd = random.Random(11)
    customers = max(1, deals // 10)
    first = ["Qiao", "Bai", "Chen", "Dong", "Fang", "Guo", "Han", "Jiang", "Kong", "Liang"]
    last = ["Lin", "Yu", "Rui", "Xue", "Zhou", "Tian", "Mei", "Hao", "Ning", "Bo"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE staff (staff_no integer PRIMARY KEY, full_nm varchar(60), mgr_nm varchar(60), "
                     "office varchar(30))")
        conn.execute("CREATE TABLE customers (cust_id varchar(10) PRIMARY KEY, cust_nm varchar(100), "
                     "sector_cd varchar(5), revenue_wan numeric(12,1), rev_ccy char(3), country varchar(40))")
        conn.execute("CREATE TABLE fx_rates (ccy char(3) PRIMARY KEY, to_usd numeric(12,6))")
        conn.execute("CREATE TABLE deals (deal_no integer PRIMARY KEY, cust_id varchar(10), owner_no integer, "
                     "status_cd char(1), amt_cents bigint, ccy char(3), opened_txt varchar(10), closed_txt varchar(10))")
        conn.execute("INSERT INTO fx_rates VALUES ('CNY', 0.138), ('USD', 1)")
        with conn.cursor().copy("COPY staff FROM STDIN") as copy:
            for i in range(1, STAFF + 1):
                name = f"{first[i % 10]} {last[(i // 10) % 10]}{i}"
                copy.write_row((i, f" {name} ", f"Manager {i % 6}", ["East", "North", "South"][i % 3]))
        with conn.cursor().copy("COPY customers FROM STDIN") as copy:
            for i in range(1, customers + 1):
                copy.write_row((f"C{i:07d}", f" Client {i} Trading ", ["TEC", "RET", "MED", "FIN"][i % 4],
                                rnd.randint(10, 99999) / 10, "CNY" if i % 3 else "USD", "China" if i % 5 else ""))
        with conn.cursor().copy("COPY deals FROM STDIN") as copy:
            for n in range(1, deals + 1):
                status = rnd.choice("PEEWWLL")
                day = rnd.randint(1, 28)
                opened = f"{day:02d}.{rnd.randint(1, 12):02d}.2024"
                closed = f"{day:02d}.{rnd.randint(1, 12):02d}.2025" if status in "WL" else ""
                copy.write_row((n, f"C{rnd.randint(1, customers):07d}", rnd.randint(1, STAFF), status,
                                rnd.randint(1000, 90_000_000), rnd.choice(["CNY", "CNY", "USD"]), opened, closed))
        conn.execute("ANALYZE")
    return {"staff": STAFF, "customers": customers, "deals": deals}


def copy_ceiling(source_url: str, target_url: str) -> dict[str, float]:
    """Seconds to COPY the source's rows (as the mapping reads them) into plain tables of the target."""
    import psycopg

    result = {}
    queries = {
        "customers": "SELECT cust_id, cust_nm, sector_cd, revenue_wan, rev_ccy, country FROM customers ORDER BY cust_id",
        "deals": "SELECT d.deal_no, d.cust_id, d.status_cd, d.amt_cents, d.ccy, d.opened_txt, d.closed_txt, s.full_nm "
                 "FROM deals d JOIN staff s ON s.staff_no = d.owner_no ORDER BY d.deal_no",
    }
    ddl = {
        "customers": "CREATE TABLE copy_customers (cust_id text, cust_nm text, sector_cd text, revenue numeric, "
                     "ccy text, country text)",
        "deals": "CREATE TABLE copy_deals (deal_no integer, cust_id text, status text, amt bigint, ccy text, "
                 "opened text, closed text, owner text)",
    }
    with psycopg.connect(source_url) as src, psycopg.connect(target_url, autocommit=True) as tgt:
        for name, sql in queries.items():
            tgt.execute(ddl[name])
            started = time.perf_counter()
            with src.cursor(name=f"read_{name}") as cur, tgt.cursor().copy(f"COPY copy_{name} FROM STDIN") as copy:
                cur.execute(sql)
                for row in cur:
                    copy.write_row(row)
            result[name] = time.perf_counter() - started
            tgt.execute(f"DROP TABLE copy_{name}")
    return result


def schema_floor(target_url: str) -> dict[str, dict[str, float]]:
    """Seconds the database alone needs for the migration's writes of deals: the rows the run wrote (deals and
    their field history) taken out as COPY text, deleted, and COPYed back into revcast's own tables. No Python
    work per row: the floor under any writer. Twice: row by row (indexes maintained, foreign keys checked at
    commit: what a load into tables that already hold data pays) and as revcast's bulk load does it (indexes and
    foreign keys set aside, the rows COPYed, then the indexes rebuilt and the keys re-added and validated)."""
    import io

    import psycopg

    tables = ("pipeline_opportunity", "pipeline_opportunityfieldhistory")
    data: dict[str, bytes] = {}
    with psycopg.connect(target_url) as conn:
        for table in tables:
            buf = io.BytesIO()
            with conn.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    buf.write(chunk)
            data[table] = buf.getvalue()

    def empty() -> None:
        with psycopg.connect(target_url) as conn:
            conn.execute("DELETE FROM pipeline_opportunityfieldhistory")
            conn.execute("DELETE FROM pipeline_opportunity")
        with psycopg.connect(target_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

    # revcast's own bulk load (dataio.bulkload) sets aside and restores, through Django on the target.
    os.environ.update(DATABASE_URL=target_url, REVCAST_DEBUG="false", DJANGO_SETTINGS_MODULE="revcast.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from revcast.dataio import bulkload
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    result: dict[str, dict[str, float]] = {}
    for mode in ("row by row", "bulk load"):
        empty()
        times: dict[str, float] = {}
        transaction.set_autocommit(False)
        try:
            statements: list[dict[str, str]] = []
            if mode == "bulk load":
                started = time.perf_counter()
                statements = bulkload.set_aside([Opportunity, OpportunityFieldHistory])
                times["set aside"] = time.perf_counter() - started
            for table in tables:
                started = time.perf_counter()
                with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(data[table])
                times[table] = time.perf_counter() - started
            if statements:
                started = time.perf_counter()
                bulkload.restore(statements)
                times["rebuild"] = time.perf_counter() - started
            started = time.perf_counter()
            transaction.commit()
            times["commit"] = time.perf_counter() - started
        finally:
            transaction.set_autocommit(True)
        result[mode] = times
    connection.close()
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args(argv)
    wp = _with_postgres()
    with wp.throwaway_server() as server_url, tempfile.TemporaryDirectory(prefix="revcast-bench-mig-") as tmp:
        base = server_url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1)
        import psycopg

        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute("CREATE DATABASE legacy")
            admin.execute("CREATE DATABASE revcast")
            version = admin.execute("SHOW server_version").fetchone()[0]
        source_url, target_url = f"{base}/legacy", f"{base}/revcast"
        started = time.perf_counter()
        rows = build_source(source_url, args.deals)
        print(f"source: PostgreSQL {version}; {rows['staff']:,} staff, {rows['customers']:,} customers, "
              f"{rows['deals']:,} deals built in {time.perf_counter() - started:.1f} s", flush=True)
        env = {**os.environ, "DATABASE_URL": target_url, "REVCAST_DEBUG": "false"}
        subprocess.run([REVCAST, "migrate", "-v0", "--skip-checks"], env=env, check=True)
        mapping = Path(tmp) / "bench.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        started = time.perf_counter()
        proc = subprocess.run(
            [REVCAST, "migrate", "--skip-checks", "--source", source_url, "--mapping", str(mapping), "--format", "json",
             "--batch-size", str(args.batch_size), "--backup-dir", str(Path(tmp) / "backups")],
            env=env, capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
            print(f"FAILED: revcast migrate exited with {proc.returncode}")
            return 1
        run = json.loads(proc.stdout)
        ceiling = copy_ceiling(source_url, target_url)
        floor = schema_floor(target_url)
    total_rows = sum(c["read"] for n, c in run["counts"].items() if n != "stages")
    total_ms = sum(c.get("ms", 0) for n, c in run["counts"].items() if n != "stages")
    print(f"\nrevcast migrate: run #{run['run']} {run['status']} in {run['duration_ms'] / 1000:.1f} s "
          f"(wall {wall:.1f} s with start-up; batch size {args.batch_size})")
    for note in run["notes"]:
        if note.startswith(("backup", "reconciliation", "bulk load")) or " key ranges by " in note:
            print(f"  {note}")
    print(f"\n{'object':<12} {'rows':>9} {'created':>9} {'seconds':>8} {'rows/s':>9} {'COPY rows/s':>12}")
    for name, c in run["counts"].items():
        if name == "stages":
            continue
        secs = c.get("ms", 0) / 1000
        copy_rate = f"{c['read'] / ceiling[name]:>12,.0f}" if name in ceiling else f"{'':>12}"
        print(f"{name:<12} {c['read']:>9,} {c['created']:>9,} {secs:>8.2f} {c['read'] / secs if secs else 0:>9,.0f} {copy_rate}")
    overall = total_rows / (total_ms / 1000) if total_ms else 0
    copy_total = sum(rows[n] for n in ceiling) / sum(ceiling.values())
    print(f"{'overall':<12} {total_rows:>9,} {'':>9} {total_ms / 1000:>8.2f} {overall:>9,.0f} {copy_total:>12,.0f}")
    history = sum(c.get("history rows", 0) for c in run["counts"].values() if isinstance(c, dict))
    if history and total_ms:
        print(f"\nbesides the {total_rows:,} records, the run wrote {history:,} field-history rows (each new deal's "
              f"stage, amount, close date, owner and category as of its dates): {(total_rows + history) / (total_ms / 1000):,.0f} "
              "rows/s written in all")
    deals = run["counts"]["deals"]
    others_s = total_ms / 1000 - deals.get("ms", 0) / 1000  # staff and customers, as this run took them
    print("\nthe database alone, writing the same deals and history into revcast's tables from COPY text (the floor "
          "under any writer):")
    for mode, times in floor.items():
        floor_s = sum(times.values())
        parts = ", ".join(f"{name.removeprefix('pipeline_')} {secs:.2f} s" for name, secs in times.items())
        print(f"  {mode:<11} {parts} = {floor_s:.2f} s: at most {deals['read'] / floor_s:,.0f} deals/s, "
              f"{total_rows / (floor_s + others_s):,.0f} rows/s overall")
    bulk_s = sum(floor["bulk load"].values())
    print(f"  revcast's deals took {deals.get('ms', 0) / 1000:.2f} s, {deals.get('ms', 0) / 1000 / bulk_s:.1f}x the bulk "
          "floor: the rest is Python's work per row (reading, mapping, building each deal and its history)")
    verdict = "met" if overall >= TARGET_ROWS_PER_S else "MISSED"
    print(f"\ntarget: at least {TARGET_ROWS_PER_S:,} rows/s overall: {verdict}; "
          f"COPY ceiling {copy_total:,.0f} rows/s ({overall / copy_total:.0%} of it)")
    ok = run["status"] == "succeeded" and (run.get("reconciliation") or {}).get("ok")
    if not ok:
        print("FAILED: the migration did not succeed or its reconciliation disagrees")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
