"""The class store in PostgreSQL (EXCOLOR_DATABASE_URL=postgresql://…): one database shared by several app
replicas, so a class's votes, reveals and the teacher's position are the same whichever replica a browser reaches.

Write transactions take one transaction-level advisory lock, so writes are serialized across every replica as
SQLite serializes them in one file: the store's bounds (votes per class, classes, rate limits) are checked and
written atomically on both backends with the same SQL. Connections are reused from a small per-process pool; one
that failed is closed, not reused. The URL's password never appears in a message.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg

from .backend import StoreError, one_line, schema_statements

LOCK_ID = 0x6578636F6C6F72  # "excolor": the advisory lock every write takes
POOL_SIZE = 8
CONNECT_TIMEOUT_S = 5


def redacted(url: str) -> str:
    """The URL without its user and password: what a message may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class _Translated:
    """The store writes `?` placeholders (SQLite's); psycopg wants `%s`."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def execute(self, sql: str, params: tuple = ()):
        return self.conn.execute(sql.replace("?", "%s"), params)


class PostgresBackend:
    def __init__(self, url: str):
        self.url = url
        self.where = f"vote store {redacted(url)}"
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue(maxsize=POOL_SIZE)

    def _connect(self) -> psycopg.Connection:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
            if not conn.closed:
                return conn

    def _release(self, conn: psycopg.Connection, healthy: bool) -> None:
        if healthy and not conn.closed:
            try:
                self._idle.put_nowait(conn)
                return
            except queue.Full:
                pass
        conn.close()

    def prepare(self) -> None:
        with self.transaction(write=True) as tx:
            for statement in schema_statements(float="DOUBLE PRECISION", blob="BYTEA", without_rowid=""):
                tx.execute(statement)

    @contextmanager
    def transaction(self, write: bool) -> Iterator[_Translated]:
        conn, healthy = None, False
        try:
            conn = self._connect()
            with conn.transaction():
                if write:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
                yield _Translated(conn)
            healthy = True
        except psycopg.Error as err:
            raise StoreError(f"{self.where}: {one_line(err)}") from err
        finally:
            if conn is not None:
                self._release(conn, healthy or not conn.broken)
