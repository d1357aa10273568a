"""The class store on each backend for the tests: `s` (parametrized: SQLite and PostgreSQL), `sq` (SQLite only),
`clock` (the store's settable clock), and the throwaway PostgreSQL server behind them: Debian's `postgresql`
binaries, a cluster made by initdb in a temporary folder, trust authentication on 127.0.0.1 at a free port,
stopped and removed at the end of the session. When it cannot start (no binaries, no way to run as a non-root
user) the tests that need it are skipped with the reason. `.ci/run` installs the package when it is missing.

tests/conftest.py imports the fixtures; `postgres_url` is the session's server with the tables emptied for each
test, `postgres_server` the server only.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from excolor.classmode import sqlite
from excolor.classmode.sqlite import SqliteBackend
from excolor.classmode.store import Store

DATABASE = "excolor_test"
TABLES = ("votes", "reveals", "present", "events", "classes")


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run as the postgres user when we are root (PostgreSQL refuses to run as root), else as ourselves."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, capture_output=True, text=True, timeout=60, **kwargs)


def _start(folder: Path) -> tuple[str | None, str]:
    """(URL, '') when the server runs, else (None, why not)."""
    bin_dir = _binaries()
    if bin_dir is None:
        return None, "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", _free_port()
    steps = [
        [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
        [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "30", "start", "-o",
         f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"],
        [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", DATABASE],
    ]  # fmt: skip
    for step in steps:
        try:
            done = _as_postgres(step)
        except (OSError, subprocess.SubprocessError) as err:
            return None, f"PostgreSQL could not start: {err}"
        if done.returncode != 0:
            why = " ".join((done.stderr or done.stdout).split())[:300]
            return None, f"PostgreSQL could not start ({Path(step[0]).name}): {why}"
    return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}", ""


def _stop(folder: Path) -> None:
    bin_dir = _binaries()
    if bin_dir is not None and (folder / "data").exists():
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "-w", "stop"])
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    folder = Path(tempfile.mkdtemp(prefix="excolor-pg-"))
    url, why = _start(folder)
    try:
        if url is None:
            pytest.skip(why)
        yield url
    finally:
        _stop(folder)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """The session's server with the store's tables emptied (they exist once a store has been used)."""
    import psycopg

    with psycopg.connect(postgres_server, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('classes') IS NOT NULL").fetchone()[0]
        if exists:
            conn.execute(f"TRUNCATE {', '.join(TABLES)}")
    return postgres_server


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / sqlite.FILE_NAME


class Clock:
    """A settable clock for the store: `clock.t = ...` moves time."""

    def __init__(self, t: float = 1e9):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sq(db: Path, clock: Clock) -> Store:
    """A store on SQLite, for what only SQLite has (a file, WAL)."""
    return Store(SqliteBackend(db), clock=clock)


@pytest.fixture(params=["sqlite", "postgres"])
def s(request, db: Path, clock: Clock) -> Store:
    """The same store on each backend: every bound must hold on both."""
    if request.param == "sqlite":
        return Store(SqliteBackend(db), clock=clock)
    from excolor.classmode.postgres import PostgresBackend

    return Store(PostgresBackend(request.getfixturevalue("postgres_url")), clock=clock)
