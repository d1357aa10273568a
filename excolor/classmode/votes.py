"""A class's predictions: one anonymous vote per visitor per question, in an embedded SQLite database.

Why SQLite: votes must survive a server restart and be readable by `python -m excolor tally` from another process,
with no server to run. Every operation opens its own connection (so threads and processes never share one), runs
in one `BEGIN IMMEDIATE` transaction (so a bound is checked and a vote written atomically) and closes it; WAL mode
lets readers go on while a vote is written. An in-process lock lines up this process's writers, so thirty sessions
voting at once queue for a few milliseconds instead of spinning on SQLite's busy timeout.

What is stored, and nothing else: a random visitor token (made here, kept in the visitor's session), the class
code, the question, the answer and a timestamp. Bounded: MAX_VOTES_PER_CLASS votes a class (at most one per
visitor per question; changing the answer moves the vote), MAX_CLASSES classes (the one unused longest is dropped
for a new one), and a class unused for MAX_AGE_DAYS days is purged when the store is first opened by a process.

Every failure (unwritable folder, read-only disk, corrupt file) is raised as VoteStoreError with a one-line
message, so a page can say so and carry on.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .questions import QUESTIONS, is_answer

DATA_DIR_ENV = "EXCOLOR_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # beside app.py, outside the package
FILE_NAME = "votes.sqlite3"
CLASS_CODE = re.compile(r"[a-z0-9-]{3,24}")
CLASS_CODE_RULE = "3 to 24 characters: a–z, 0–9 and -"
MAX_VOTES_PER_CLASS = 10_000
MAX_CLASSES = 1_000
MAX_AGE_DAYS = 30
BUSY_TIMEOUT_S = 10.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (
    code TEXT PRIMARY KEY,
    created REAL NOT NULL,
    last_vote REAL NOT NULL,
    votes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS classes_by_last_vote ON classes (last_vote);
CREATE TABLE IF NOT EXISTS votes (
    class TEXT NOT NULL REFERENCES classes (code),
    question TEXT NOT NULL,
    visitor TEXT NOT NULL,
    answer TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (class, question, visitor)
) WITHOUT ROWID;
"""

_write_lock = threading.Lock()
_prepared: set[Path] = set()  # databases this process has set up (schema, WAL, purge): once each


class VoteStoreError(Exception):
    """The vote store cannot be used (read or written); the message is one line."""


def is_class_code(text: str) -> bool:
    return isinstance(text, str) and CLASS_CODE.fullmatch(text) is not None


def parse_class_code(text: str) -> str:
    """A class code as written in a link, or ValueError saying what is allowed (urlstate's notice uses it)."""
    if not is_class_code(text):
        raise ValueError(CLASS_CODE_RULE)
    return text


def new_token() -> str:
    """A random visitor token: 128 bits, no link to who the visitor is."""
    return secrets.token_urlsafe(16)


def data_dir() -> Path:
    """EXCOLOR_DATA_DIR if set, else the `data/` folder beside app.py."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def database_path() -> Path:
    return data_dir() / FILE_NAME


@dataclass(frozen=True)
class Cast:
    """What happened to a vote: 'counted' (new), 'moved' (another answer before), 'same', or 'full' (the class
    has MAX_VOTES_PER_CLASS votes; not stored)."""

    status: str
    previous: str | None = None


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=True)
    conn.execute("PRAGMA foreign_keys = ON")
    # WAL with NORMAL sync: a commit survives the app crashing (only a power cut may lose the last few), without
    # an fsync per vote
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 160 else text[:157] + "…"


class _Operation:
    """`with _Operation(path, write) as conn:` one connection, one transaction, every failure a VoteStoreError."""

    def __init__(self, path: Path | None, write: bool):
        self.path = database_path() if path is None else Path(path)
        self.write = write
        self.conn: sqlite3.Connection | None = None
        self.holds_lock = False

    def __enter__(self) -> sqlite3.Connection:
        try:
            if self.path not in _prepared:
                prepare(self.path)
            if self.write:
                self.holds_lock = _write_lock.acquire(timeout=BUSY_TIMEOUT_S)
            self.conn = _connect(self.path)
            self.conn.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")
        except (sqlite3.Error, OSError) as err:
            self._close()
            raise VoteStoreError(f"vote store {self.path}: {_one_line(err)}") from err
        return self.conn

    def __exit__(self, kind, err, tb) -> bool:
        try:
            self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
        except sqlite3.Error as failure:
            err = err or failure
        finally:
            self._close()
        if isinstance(err, sqlite3.Error | OSError):
            raise VoteStoreError(f"vote store {self.path}: {_one_line(err)}") from err
        return False

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.holds_lock:
            self.holds_lock = False
            _write_lock.release()


def prepare(path: Path | None = None, now: float | None = None) -> int:
    """Create the folder and the tables, switch to WAL, and purge classes unused for MAX_AGE_DAYS days.
    Runs once per database per process (later operations skip it); returns the number of classes purged."""
    path = database_path() if path is None else Path(path)
    with _write_lock:  # one thread sets up; the others wait, then find it done
        if path in _prepared and now is None:
            return 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(path)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(SCHEMA)
                purged = _purge(conn, time.time() if now is None else now)
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as err:
            raise VoteStoreError(f"vote store {path}: {_one_line(err)}") from err
        _prepared.add(path)
    return purged


def _purge(conn: sqlite3.Connection, now: float) -> int:
    cutoff = now - MAX_AGE_DAYS * 86_400
    conn.execute("BEGIN IMMEDIATE")
    try:
        old = [row[0] for row in conn.execute("SELECT code FROM classes WHERE last_vote < ?", (cutoff,))]
        _drop(conn, old)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(old)


def _drop(conn: sqlite3.Connection, codes: list[str]) -> None:
    conn.executemany("DELETE FROM votes WHERE class = ?", [(c,) for c in codes])
    conn.executemany("DELETE FROM classes WHERE code = ?", [(c,) for c in codes])


def cast(
    code: str, question: str, visitor: str, answer: str, path: Path | None = None, now: float | None = None
) -> Cast:
    """Record `visitor`'s answer to `question` in class `code`: a new vote, or the visitor's earlier vote moved."""
    if not is_class_code(code):
        raise ValueError(f"class code {code!r}: {CLASS_CODE_RULE}")
    if not is_answer(question, answer):
        raise ValueError(f"{answer!r} is not an answer to question {question!r}")
    if not visitor or len(visitor) > 64:
        raise ValueError("a visitor token is 1 to 64 characters")
    now = time.time() if now is None else now
    with _Operation(path, write=True) as conn:
        row = conn.execute(
            "SELECT answer FROM votes WHERE class = ? AND question = ? AND visitor = ?", (code, question, visitor)
        ).fetchone()
        if row is not None:
            conn.execute(
                "UPDATE votes SET answer = ?, at = ? WHERE class = ? AND question = ? AND visitor = ?",
                (answer, now, code, question, visitor),
            )
            conn.execute("UPDATE classes SET last_vote = ? WHERE code = ?", (now, code))
            return Cast("same" if row[0] == answer else "moved", row[0])
        found = conn.execute("SELECT votes FROM classes WHERE code = ?", (code,)).fetchone()
        if found is None:
            _make_room(conn)
            conn.execute("INSERT INTO classes (code, created, last_vote, votes) VALUES (?, ?, ?, 0)", (code, now, now))
        elif found[0] >= MAX_VOTES_PER_CLASS:
            return Cast("full")
        conn.execute(
            "INSERT INTO votes (class, question, visitor, answer, at) VALUES (?, ?, ?, ?, ?)",
            (code, question, visitor, answer, now),
        )
        conn.execute("UPDATE classes SET votes = votes + 1, last_vote = ? WHERE code = ?", (now, code))
        return Cast("counted")


def _make_room(conn: sqlite3.Connection) -> None:
    """Drop the classes unused longest until one more fits under MAX_CLASSES."""
    (n,) = conn.execute("SELECT COUNT(*) FROM classes").fetchone()
    if n >= MAX_CLASSES:
        oldest = conn.execute(
            "SELECT code FROM classes ORDER BY last_vote, created LIMIT ?", (n - MAX_CLASSES + 1,)
        ).fetchall()
        _drop(conn, [code for (code,) in oldest])


def tally(code: str, path: Path | None = None) -> dict[str, dict[str, int]]:
    """{question: {answer: count}} for a class, every known question and answer listed (zeros included)."""
    if not is_class_code(code):
        raise ValueError(f"class code {code!r}: {CLASS_CODE_RULE}")
    counts = {q.id: dict.fromkeys(q.answers, 0) for q in QUESTIONS.values()}
    with _Operation(path, write=False) as conn:
        rows = conn.execute(
            "SELECT question, answer, COUNT(*) FROM votes WHERE class = ? GROUP BY question, answer", (code,)
        ).fetchall()
    for question, answer, n in rows:
        if question in counts and answer in counts[question]:  # cast() stores nothing else
            counts[question][answer] = n
    return counts
