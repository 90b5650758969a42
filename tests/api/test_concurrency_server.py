"""Two writers at the same moment against a real server (gunicorn, real transactions): exactly one wins.

The rolled-back test transaction cannot show this, so this module loads the demo into a database of its own
(a temporary SQLite file, or a new database on the PostgreSQL server of a PostgreSQL run), creates a token with
the real ``revcast token create`` and serves it with ``revcast serve``. Each round, two threads send the same
PATCH with the same If-Match at once: one gets 200, the other 412, and the amount is the winner's.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REVCAST = str(Path(sys.executable).with_name("revcast"))
ROUNDS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_database(url: str) -> tuple[str, Any]:
    """A new database on the server of ``url``; returns its URL and a function that drops it."""
    import psycopg

    name = f"revcast_api_race_{uuid.uuid4().hex[:8]}"
    base, _, _ = url.rpartition("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, str, str]]:
    where = tmp_path_factory.mktemp("api-race")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REVCAST_EXPECT_DB")}
    env["DJANGO_SETTINGS_MODULE"] = "revcast.settings"
    drop = None
    url = os.environ.get("DATABASE_URL", "")
    vendor = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    if vendor == "postgresql":
        env["DATABASE_URL"], drop = _postgres_database(url)
    proc = None
    try:
        out = subprocess.run([REVCAST, "demo", "--no-serve", "--no-forecasts"], cwd=where, env=env, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        # What the guide tells people to do: TOKEN=$(revcast token create admin)
        out = subprocess.run([REVCAST, "token", "create", "admin"], cwd=where, env=env, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert re.fullmatch(r"rc_[A-Za-z0-9_-]{43}\n", out.stdout), out.stdout
        assert "it is not shown again" in out.stderr
        token = out.stdout.strip()
        port = _free_port()
        proc = subprocess.Popen([REVCAST, "serve", "--port", str(port), "--workers", "2"], cwd=where, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("the server did not start") from None
                time.sleep(0.3)
        yield base, token, vendor
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if drop is not None:
            drop()


def _call(base: str, token: str, method: str, path: str, body: Any = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_two_simultaneous_writers_exactly_one_wins(server):
    base, token, _vendor = server
    status, _, page = _call(base, token, "GET", "/api/opportunities/?status=open&page_size=1")
    assert status == 200 and page["count"] == 2089
    url = f"/api/opportunities/{page['results'][0]['id']}/"
    for round_no in range(ROUNDS):
        status, headers, current = _call(base, token, "GET", url)
        assert status == 200
        etag = headers["ETag"]
        assert etag == f'"{current["version"]}"'
        barrier = threading.Barrier(2)
        results: list[tuple[int, str, Any]] = []

        def write(amount: str, etag: str = etag, barrier: threading.Barrier = barrier,
                  results: list[tuple[int, str, Any]] = results) -> None:
            barrier.wait()
            status, _, body = _call(base, token, "PATCH", url, {"amount": amount}, {"If-Match": etag})
            results.append((status, amount, body))

        threads = [threading.Thread(target=write, args=(f"{1000 * (round_no + 1) + i}.00",)) for i in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(r[0] for r in results) == [200, 412], results
        winner = next(r for r in results if r[0] == 200)
        loser = next(r for r in results if r[0] == 412)
        assert loser[2]["error"]["code"] == "precondition_failed"
        status, headers, after = _call(base, token, "GET", url)
        assert after["amount"] == winner[1] == winner[2]["amount"]
        assert after["version"] == current["version"] + 1 and headers["ETag"] == f'"{after["version"]}"'
    status, _, history = _call(base, token, "GET", f"{url}history/")
    api_changes = [h for h in history if h["source"] == "api"]
    assert len(api_changes) == ROUNDS and all(h["field"] == "amount" for h in api_changes)
    assert all(h["changed_by"] == "admin" for h in api_changes)


def test_docs_page_schema_and_their_assets_are_served(server):
    base, token, _vendor = server
    with urllib.request.urlopen(f"{base}/api/docs/", timeout=10) as response:
        page = response.read().decode()
    assert response.status == 200 and "swagger-ui" in page
    bundle = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', page)
    assert bundle, page
    with urllib.request.urlopen(base + bundle.group(1), timeout=10) as response:
        assert response.status == 200 and len(response.read()) > 100_000
    request = urllib.request.Request(f"{base}/api/schema/", headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        schema = json.loads(response.read())
    assert schema["openapi"].startswith("3.") and "/api/opportunities/{id}/history/" in schema["paths"]
    status, _, body = _call(base, "rc_not_a_token", "GET", "/api/stages/")
    assert status == 401 and body["error"]["code"] == "authentication_failed"
    assert _call(base, token, "GET", "/api/stages/")[2]["count"] == 4
