"""What the class store needs from a database, and the one schema both backends create.

A backend (excolor.classmode.sqlite or .postgres) gives the store transactions: `with backend.transaction(write)
as tx: tx.execute(sql, params)`, the SQL written once with `?` placeholders. A write transaction is exclusive
(SQLite's BEGIN IMMEDIATE; on PostgreSQL one advisory lock shared by every replica), so a bound is checked and
written atomically on both. Every database failure leaves the backend as a StoreError with a one-line message.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (
    code TEXT PRIMARY KEY,
    created {float} NOT NULL,
    active {float} NOT NULL,
    votes INTEGER NOT NULL DEFAULT 0,
    salt {blob},
    digest {blob},
    page TEXT,
    section TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    moved {float}
);
CREATE INDEX IF NOT EXISTS classes_by_activity ON classes (active);
CREATE TABLE IF NOT EXISTS votes (
    class TEXT NOT NULL REFERENCES classes (code),
    question TEXT NOT NULL,
    visitor TEXT NOT NULL,
    answer TEXT NOT NULL,
    at {float} NOT NULL,
    PRIMARY KEY (class, question, visitor)
){without_rowid};
CREATE TABLE IF NOT EXISTS reveals (
    class TEXT NOT NULL REFERENCES classes (code),
    question TEXT NOT NULL,
    PRIMARY KEY (class, question)
){without_rowid};
CREATE TABLE IF NOT EXISTS present (
    class TEXT NOT NULL REFERENCES classes (code),
    visitor TEXT NOT NULL,
    at {float} NOT NULL,
    PRIMARY KEY (class, visitor)
){without_rowid};
CREATE TABLE IF NOT EXISTS events (
    kind TEXT NOT NULL,
    who TEXT NOT NULL,
    at {float} NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_who ON events (kind, who, at);
CREATE INDEX IF NOT EXISTS events_by_age ON events (at);
"""


class StoreError(Exception):
    """The class store cannot be used (read or written); the message is one line."""


class Transaction(Protocol):
    def execute(self, sql: str, params: tuple = ()) -> Any: ...


class Backend(Protocol):
    where: str  # "vote store <file or redacted URL>": how messages name it

    def prepare(self) -> None:
        """Create the tables (idempotent); the store calls it once per process before the first operation."""

    def transaction(self, write: bool) -> AbstractContextManager[Transaction]: ...


def schema_statements(**types: str) -> list[str]:
    return [s.strip() for s in SCHEMA.format(**types).split(";") if s.strip()]


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 160 else text[:157] + "…"
