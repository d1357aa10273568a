"""The class store in an embedded SQLite file: the default, with no server to run.

Votes must survive a server restart and be readable by `python -m excolor tally` from another process. Every
operation opens its own connection (so threads and processes never share one), runs in one transaction and closes
it; WAL mode lets readers go on while a vote is written. An in-process lock per file lines up this process's
writers, so thirty sessions voting at once queue for a few milliseconds instead of spinning on SQLite's busy
timeout. One idle connection per file stays open for the process's life: closing the last connection to a WAL
database checkpoints it and deletes the log (~10 ms, most of an operation's cost); with it open, SQLite
checkpoints as the log grows instead.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .backend import StoreError, one_line, schema_statements

DATA_DIR_ENV = "EXCOLOR_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # beside app.py, outside the package
FILE_NAME = "classes.sqlite3"
BUSY_TIMEOUT_S = 10.0

_locks: dict[Path, threading.Lock] = {}
_keepers: dict[Path, sqlite3.Connection] = {}  # never used for an operation: only held open
_locks_lock = threading.Lock()


def data_dir() -> Path:
    """EXCOLOR_DATA_DIR if set, else the `data/` folder beside app.py."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def database_path() -> Path:
    return data_dir() / FILE_NAME


def _write_lock(path: Path) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(path, threading.Lock())


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=True)
    conn.execute("PRAGMA foreign_keys = ON")
    # WAL with NORMAL sync: a commit survives the app crashing (only a power cut may lose the last few), without
    # an fsync per vote
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class SqliteBackend:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.where = f"vote store {self.path}"

    def prepare(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(self.path)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                for statement in schema_statements(float="REAL", blob="BLOB", without_rowid=" WITHOUT ROWID"):
                    conn.execute(statement)
            finally:
                conn.close()
            with _locks_lock:
                if self.path not in _keepers:
                    keeper = sqlite3.connect(self.path, check_same_thread=False)
                    keeper.execute("SELECT COUNT(*) FROM classes").fetchone()  # opens the log: it now counts
                    _keepers[self.path] = keeper
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"{self.where}: {one_line(err)}") from err

    @contextmanager
    def transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        lock = _write_lock(self.path) if write else None
        if lock is not None and not lock.acquire(timeout=BUSY_TIMEOUT_S):
            raise StoreError(f"{self.where}: busy for {BUSY_TIMEOUT_S:g} s")
        conn = None
        try:
            conn = _connect(self.path)
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"{self.where}: {one_line(err)}") from err
        finally:
            if conn is not None:
                conn.close()
            if lock is not None:
                lock.release()
