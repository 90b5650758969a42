"""Browser tests: a real `revcast serve` on a freshly loaded demo database, driven by Debian's Chromium.

The server runs in its own process on its own database (a SQLite file, or a new database on the same
PostgreSQL server when the suite runs on PostgreSQL), so the browser sees exactly what a user of
`make demo` sees, and the rolled-back test transactions of the other tests are not involved.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REVCAST = str(Path(sys.executable).with_name("revcast"))
CHROMIUM = os.environ.get("REVCAST_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
PASSWORD = "revcast-demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url`` and return its URL."""
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_postgres_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[str]:
    """Base URL of a revcast server holding the Maven demo data (demo logins, password revcast-demo)."""
    where = tmp_path_factory.mktemp("e2e")
    env = {k: v for k, v in os.environ.items() if k not in ("REVCAST_EXPECT_DB",)}
    env["DJANGO_SETTINGS_MODULE"] = "revcast.settings"
    base_url = os.environ.get("DATABASE_URL", "")
    db_name = f"revcast_e2e_{os.getpid()}"
    if base_url.startswith("postgres"):
        env["DATABASE_URL"] = _postgres_database(base_url, db_name)
    else:
        env["DATABASE_URL"] = f"sqlite:///{where / 'revcast.sqlite3'}"
    load = subprocess.run([REVCAST, "demo", "--no-serve"], cwd=where, env=env, capture_output=True, text=True,
                          timeout=600)
    assert load.returncode == 0, load.stdout + load.stderr
    port = _free_port()
    log = (where / "server.log").open("w")
    proc = subprocess.Popen([REVCAST, "serve", "--port", str(port), "--workers", "2"], cwd=where, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((where / "server.log").read_text()) from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        if base_url.startswith("postgres"):
            _drop_postgres_database(base_url, db_name)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}: apt-get install chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


class Session:
    """A browser context with console-error capture and a login helper."""

    def __init__(self, browser, base_url: str, viewport: dict[str, int] | None = None) -> None:
        self.base_url = base_url
        self.context = browser.new_context(viewport=viewport or {"width": 1366, "height": 900}, locale="en-US")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("#login-form button[type=submit]")
        self.page.wait_for_url(lambda url: "/login/" not in url)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session_factory(browser, demo_server):
    sessions: list[Session] = []

    def make(viewport: dict[str, int] | None = None) -> Session:
        s = Session(browser, demo_server, viewport)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.close()
