#!/usr/bin/env python3
"""Run a command against PostgreSQL: ``python scripts/with_postgres.py -- CMD [ARGS...]``.

If DATABASE_URL already points at PostgreSQL, CMD runs with it unchanged. Otherwise a throwaway
server (Debian's /usr/lib/postgresql/*/bin) is started in a temp dir on a free port, CMD runs with
DATABASE_URL pointing at it, and the server and temp dir are removed afterwards, also on Ctrl-C.
Exits with CMD's exit code, or 2 when no server can be started. Standard library only.

``throwaway_server()`` is the same server as a context manager, for tests and benchmarks that need a
PostgreSQL server of their own (load this file with importlib: scripts/ is not a package).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Throwaway data: durability is not needed, speed is.
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
)


def log(message: str) -> None:
    print(f"with_postgres: {message}", file=sys.stderr, flush=True)


def find_bindir() -> Path | None:
    """The newest Debian PostgreSQL bin dir holding initdb and pg_ctl, if any."""

    def version(bindir: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))

    initdbs = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    bindirs = [p.parent for p in initdbs if (p.parent / "pg_ctl").exists()]
    return max(bindirs, key=version, default=None)


def as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root, so root runs the server commands as the postgres user."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(cmd)]


def server_cmd(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # A new session keeps the terminal's Ctrl-C away from the server; we stop it ourselves.
    return subprocess.run(
        as_server_user(cmd), cwd=cwd, capture_output=True, text=True, start_new_session=True, check=False
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: list[str], env: dict[str, str]) -> int:
    try:
        proc = subprocess.Popen(cmd, env=env)
    except OSError as exc:
        log(f"cannot run {cmd[0]}: {exc}")
        return 127
    try:
        return proc.wait()
    except BaseException as exc:
        # Ctrl-C reached CMD through the terminal already; SIGTERM is passed on. Give it time to finish.
        if not isinstance(exc, KeyboardInterrupt):
            proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


class ServerError(RuntimeError):
    """No throwaway server could be started; the message says why."""


@contextmanager
def throwaway_server() -> Iterator[str]:
    """A fresh PostgreSQL server in a temp dir on a free port, for the duration of the block; yields its URL
    (``postgres://postgres@127.0.0.1:PORT/postgres``, trust authentication). The server is stopped and the
    temp dir removed on leaving, on errors too. Importable: tests and benchmarks that need a server of their
    own load this file (``importlib``) and use this. Raises ServerError when no server can be started."""
    bindir = find_bindir()
    if bindir is None:
        raise ServerError(
            "PostgreSQL server binaries not found; install Debian's postgresql package: "
            "apt-get install -y postgresql"
        )
    tmp = Path(tempfile.mkdtemp(prefix="revcast-pg-"))
    data, logfile = tmp / "data", tmp / "server.log"
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(tmp, user="postgres", group="postgres")
        initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
        for locale in ("C.UTF-8", "C"):
            result = server_cmd([*initdb, "--encoding=UTF8", f"--locale={locale}"], cwd=tmp)
            if result.returncode == 0:
                break
            shutil.rmtree(data, ignore_errors=True)
        else:
            raise ServerError(f"initdb failed:\n{result.stdout}{result.stderr}")
        port = free_port()
        options = f"-p {port} -k {tmp} {SERVER_OPTIONS}"
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-w"]
        result = server_cmd([*pg_ctl, "-t", "60", "-l", str(logfile), "-o", options, "start"], cwd=tmp)
        started = True  # even a failed start may leave a postmaster behind; always try to stop it
        if result.returncode != 0:
            tail = logfile.read_text(errors="replace").splitlines()[-30:] if logfile.exists() else []
            raise ServerError("PostgreSQL server failed to start:\n" + "\n".join([result.stdout + result.stderr, *tail]))
        log(f"started PostgreSQL {bindir.parent.name} ({bindir}) on 127.0.0.1:{port}, data in {tmp}")
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            stop = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "30", "stop"]
            if server_cmd([*stop, "-m", "fast"], cwd=tmp).returncode != 0:
                server_cmd([*stop, "-m", "immediate"], cwd=tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def with_throwaway_server(cmd: list[str]) -> int:
    try:
        with throwaway_server() as url:
            return run(cmd, {**os.environ, "DATABASE_URL": url})
    except ServerError as exc:
        log(str(exc))
        return 2


def raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    cmd = argv[1:] if argv[:1] == ["--"] else argv
    if not cmd or cmd[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, raise_on_sigterm)  # so that the finally clauses clean up on SIGTERM too
    try:
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            log("using DATABASE_URL from the environment")
            return run(cmd, dict(os.environ))
        return with_throwaway_server(cmd)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
