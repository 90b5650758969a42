"""The real `revcast` command: demo loading into a fresh embedded database, and serving it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REVCAST = str(Path(sys.executable).with_name("revcast"))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REVCAST_EXPECT_DB")}
    env["DJANGO_SETTINGS_MODULE"] = "revcast.settings"
    return env


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> tuple[Path, str]:
    where = tmp_path_factory.mktemp("demo")
    out = subprocess.run(
        [REVCAST, "demo", "--no-serve"], cwd=where, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return where, out.stdout


def test_demo_loads_and_prints_the_maven_counts(demo_dir):
    where, stdout = demo_dir
    assert (where / "revcast.sqlite3").exists()
    for line in ("8,800 opportunities", "85 accounts", "35 reps", "6 managers", "3 regions", "7 products"):
        assert line in stdout, stdout
    assert "GTXPro" in stdout and "derived from product.list_price" in stdout
    assert "revcast-demo" in stdout and "darcel.schlecht" in stdout


def test_demo_twice_changes_nothing(demo_dir):
    where, _ = demo_dir
    out = subprocess.run(
        [
            REVCAST,
            "import",
            str(Path(__file__).parent.parent / "src/revcast/demo_data/maven_crm"),
            "--mapping",
            str(Path(__file__).parent.parent / "mappings/maven_crm.yaml"),
            "--format",
            "json",
        ],
        cwd=where,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    import json

    report = json.loads(out.stdout)
    assert report["status"] == "succeeded"
    for counts in report["counts"].values():
        assert counts["created"] == counts["updated"] == counts["rejected"] == 0
        assert counts["unchanged"] == counts["read"]


def test_demo_login_works_with_the_documented_password(demo_dir):
    where, _ = demo_dir
    code = (
        "import django; django.setup();"
        "from django.contrib.auth import authenticate;"
        "from django.test import RequestFactory;"
        "request = RequestFactory().post('/login/');"
        "print(all(authenticate(request, username=u, password='revcast-demo') for u in "
        "('admin', 'melvin.marxen', 'darcel.schlecht')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=where, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "True", out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_with_secure_headers_and_static_files(demo_dir):
    where, _ = demo_dir
    port = _free_port()
    proc = subprocess.Popen(
        [REVCAST, "serve", "--port", str(port), "--workers", "1"],
        cwd=where,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    body = resp.read().decode()
                    break
            except OSError as exc:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(
                        "server did not start: " + (proc.stdout.read() if proc.poll() else "")
                    ) from exc
                time.sleep(0.3)
        assert '"status": "ok"' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5) as resp:
            assert resp.status == 200
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Server"].startswith("gunicorn")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/admin/css/base.css", timeout=5) as resp:
            assert resp.status == 200 and b"body" in resp.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_database_without_revcast_s_tables_gets_a_clear_message(tmp_path):
    """A command run before `revcast migrate` names the missing table and what to run, without a traceback."""
    env = _env()
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    out = subprocess.run(
        [REVCAST, "quality", "assess", "--format", "json"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    assert "the database has no table" in out.stderr and "Run `revcast migrate` first" in out.stderr
    assert "Traceback" not in out.stderr
