"""Web and API speed on the Maven demo data: server time of the dashboard and the opportunity list, and
API list throughput over HTTP.

Run plainly (``.venv/bin/python bench/web.py``) it creates a demo database in a temp dir (SQLite by
default; ``--postgres`` uses a throwaway PostgreSQL server through scripts/with_postgres.py) and runs
itself as a worker on it:

- server time: Django's test client inside the worker (no network, no browser), per page and user,
  1 warm-up then N requests (30 by default): p50 / p95 in ms. Target: p95 under 150 ms on SQLite, 2 cores.
- API throughput: ``revcast serve`` (gunicorn, 2 workers) on the same database, 4 client threads for
  10 seconds fetching ``GET /api/opportunities/?page=K`` with a Bearer token: requests/s and latency.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REVCAST = str(Path(sys.executable).with_name("revcast"))
PAGES = [("dashboard", "/"), ("opportunity list", "/opportunities/"), ("opportunity list, filtered", "/opportunities/?status=open&stage=Engaging&sort=-amount")]
USERS = ["admin", "melvin.marxen", "darcel.schlecht"]
TARGET_P95_MS = 150.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, round(q * len(ordered)))  # nearest rank
    return ordered[rank - 1]


def server_times(runs: int) -> list[tuple[str, str, float, float]]:
    from django.test import Client

    from revcast.org.models import User

    results = []
    for username in USERS:
        client = Client()
        client.force_login(User.objects.get(username=username))
        for label, path in PAGES:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            results.append((label, username, statistics.median(times), percentile(times, 0.95)))
    return results


def api_throughput(db_env: dict[str, str], cwd: Path, seconds: float = 10.0, threads: int = 4) -> dict[str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = subprocess.run([REVCAST, "token", "create", "admin", "--name", "bench"], env=db_env, cwd=cwd,
                           capture_output=True, text=True, check=True).stdout.strip()
    server = subprocess.Popen([REVCAST, "serve", "--port", str(port), "--workers", "2"], env=db_env, cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def client(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < stop_at:
                page = rng.randint(1, 176)  # 8,800 opportunities / 50 per page
                request = urllib.request.Request(f"{base}/api/opportunities/?page={page}",
                                                 headers={"Authorization": f"Bearer {token}"})
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        json.loads(response.read())
                    with lock:
                        latencies.append((time.perf_counter() - started) * 1000)
                except OSError:
                    with lock:
                        errors[0] += 1

        workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
        started = time.monotonic()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.monotonic() - started
        return {"requests": len(latencies), "errors": errors[0], "seconds": elapsed,
                "rps": len(latencies) / elapsed, "p50_ms": statistics.median(latencies),
                "p95_ms": percentile(latencies, 0.95)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def worker(runs: int, cwd: Path) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revcast.settings")
    os.environ["REVCAST_DEBUG"] = "false"
    os.environ["REVCAST_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from revcast.core.demo import load_demo

    call_command("migrate", verbosity=0)
    summary = load_demo()
    print(f"database: {connection.vendor}; {summary.opportunities:,} opportunities loaded")
    print(f"\nServer time (Django test client, {runs} requests after a warm-up), target p95 under "
          f"{TARGET_P95_MS:.0f} ms on SQLite")
    print(f"{'page':<30} {'user':<17} {'p50 ms':>8} {'p95 ms':>8}")
    for label, username, p50, p95 in server_times(runs):
        verdict = "met" if p95 < TARGET_P95_MS else "MISSED"
        print(f"{label:<30} {username:<17} {p50:8.1f} {p95:8.1f}  ({verdict})")
    connection.close()
    env = dict(os.environ)
    stats = api_throughput(env, cwd)
    print("\nAPI throughput (gunicorn 2 workers, 4 client threads, GET /api/opportunities/?page=K, 50 per page)")
    print(f"{stats['requests']:,} requests in {stats['seconds']:.1f} s: {stats['rps']:.1f} requests/s, "
          f"p50 {stats['p50_ms']:.1f} ms, p95 {stats['p95_ms']:.1f} ms, errors {stats['errors']}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", action="store_true", help="benchmark on a throwaway PostgreSQL")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.runs, Path.cwd())
    with tempfile.TemporaryDirectory(prefix="revcast-bench-web-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--runs", str(args.runs)]
        if args.postgres:
            cmd = [sys.executable, str(ROOT / "scripts" / "with_postgres.py"), "--", *cmd]
        else:
            env["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return subprocess.run(cmd, env=env, cwd=tmp).returncode


if __name__ == "__main__":
    sys.exit(main())
