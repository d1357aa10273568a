"""The class store: classes and their teacher keys, one anonymous vote per visitor per question, the teacher's
reveals and position, and who is connected; on SQLite (the default) or PostgreSQL (EXCOLOR_DATABASE_URL).

What is stored, and nothing else: the class code, a salted hash of its teacher key, each vote (a random visitor
token, the question, the answer, a timestamp), the questions the teacher revealed, the teacher's page and section,
when each visitor was last seen, and the rate-limit events (excolor.classmode.limits).

Bounded on both backends: MAX_VOTES_PER_CLASS votes a class (one per visitor per question; changing the answer
moves the vote), MAX_PRESENT visitors seen per class, MAX_CLASSES classes. A full store makes room only by
dropping a class idle for KEEP_ACTIVE_S (votes, tally reads, teacher actions and students present all count as
activity); with none, it refuses the new class, so a live class is never dropped. A class unused for MAX_AGE_DAYS
is purged when a process first opens the store. Every refusal is a Refused with a one-line reason, logged once a
minute at most; a store that cannot be used is a StoreError, also one line.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from . import limits
from .backend import Backend, StoreError
from .codes import CLASS_CODE_RULE, hash_key, is_class_code, key_matches
from .limits import Who
from .questions import QUESTIONS, is_answer

DATABASE_URL_ENV = "EXCOLOR_DATABASE_URL"
MAX_VOTES_PER_CLASS = 10_000
MAX_CLASSES = 1_000
MAX_PRESENT = 1_000  # visitors seen per class within PRESENT_KEEP_S
MAX_AGE_DAYS = 30
KEEP_ACTIVE_S = 24 * 3600.0  # a class used within this never makes room for a new one
TALLY_FRESH_S = 3.0  # a tally asked for again within this is served from the last result (per process)
TOUCH_EVERY_S = 60.0  # reads and heartbeats mark a class active at most this often
HEARTBEAT_EVERY_S = 5.0  # a visitor's heartbeats closer than this are not written (per process)
PRESENT_KEEP_S = 300.0
MAX_TEXT = 80  # a page or section name

log = logging.getLogger(__name__)

__all__ = ["Store", "Who", "Cast", "Position", "Refused", "StoreError", "open_store"]


class Refused(Exception):
    """A bound refused the request (rate limit, full store, wrong key): the message is one line for the page."""


@dataclass(frozen=True)
class Cast:
    """What happened to a vote: 'counted' (new), 'moved' (another answer before), 'same', or 'full' (the class
    has MAX_VOTES_PER_CLASS votes; not stored)."""

    status: str
    previous: str | None = None


@dataclass(frozen=True)
class Position:
    """Where the teacher is: a page, a section within it ('' for none), and a version that grows with each move."""

    page: str
    section: str
    version: int


def _check_code(code: str) -> None:
    if not is_class_code(code):
        raise ValueError(f"class code {code!r}: {CLASS_CODE_RULE}")


def _check_token(text: str, what: str) -> None:
    if not isinstance(text, str) or not 0 < len(text) <= 64:
        raise ValueError(f"a {what} is 1 to 64 characters")


def _check_place(text: str) -> None:
    if not isinstance(text, str) or len(text) > MAX_TEXT or not text.isprintable():
        raise ValueError(f"a page or section name is at most {MAX_TEXT} printable characters")


class Store:
    """One class store on one backend. Thread-safe; keep one per process (open_store() does)."""

    def __init__(self, backend: Backend, clock: Callable[[], float] = time.time):
        self.backend, self.clock = backend, clock
        self.where = backend.where
        self._lock = threading.Lock()
        self._prepared = False
        self._tallies: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self._teachers: dict[tuple[str, str], float] = {}  # (code, sha256 of the key) -> when it was checked
        self._beats: dict[tuple[str, str], float] = {}
        self._logged: dict[str, float] = {}
        self._pruned = -float("inf")

    # ------------------------------------------------------------------------------ opening and the bounds

    def _tx(self, write: bool):
        if not self._prepared:
            self.prepare()
        return self.backend.transaction(write)

    def prepare(self) -> int:
        """Create the tables and purge classes unused for MAX_AGE_DAYS; returns how many were purged."""
        with self._lock:
            self.backend.prepare()
            self._prepared = True
        return self.purge()

    def purge(self) -> int:
        now = self.clock()
        with self._tx(write=True) as tx:
            old = [
                c for (c,) in tx.execute("SELECT code FROM classes WHERE active < ?", (now - MAX_AGE_DAYS * 86_400,))
            ]
            _drop(tx, old)
            limits.prune(tx, now)
        return len(old)

    def _refuse(self, reason: str) -> Refused:
        """The refusal to raise; logged once a minute at most per reason, so a script cannot flood the log."""
        now = self.clock()
        if now - self._logged.get(reason, -float("inf")) > 60:
            if len(self._logged) > 1000:
                self._logged.clear()
            self._logged[reason] = now
            log.warning("class store refused: %s", reason)
        return Refused(reason)

    def _limit(self, tx, limit: limits.Limit, who: Who, now: float) -> None:
        reason = limits.over(tx, limit, who, now)
        if reason is not None:
            raise self._refuse(reason)
        limits.record(tx, limit, who, now)
        if now - self._pruned > limits.KEEP_S / 4:
            self._pruned = now
            limits.prune(tx, now)

    def _make_room(self, tx, now: float) -> None:
        """Drop the class idle longest if the store is full and it has been idle KEEP_ACTIVE_S; else refuse."""
        (n,) = tx.execute("SELECT COUNT(*) FROM classes").fetchone()
        if n < MAX_CLASSES:
            return
        idle = tx.execute(
            "SELECT code FROM classes WHERE active < ? ORDER BY active, created LIMIT ?",
            (now - KEEP_ACTIVE_S, n - MAX_CLASSES + 1),
        ).fetchall()
        if len(idle) < n - MAX_CLASSES + 1:
            raise self._refuse(f"the class store is full ({MAX_CLASSES:,} classes in use); try again tomorrow")
        _drop(tx, [code for (code,) in idle])

    def _new_class(self, tx, code: str, who: Who, now: float, salt=None, digest=None) -> None:
        self._limit(tx, limits.NEW_CLASSES, who, now)
        self._make_room(tx, now)
        tx.execute(
            "INSERT INTO classes (code, created, active, votes, salt, digest) VALUES (?, ?, ?, 0, ?, ?)",
            (code, now, now, salt, digest),
        )

    # ------------------------------------------------------------------------------ classes and teacher keys

    def create_class(self, code: str, teacher_key: str, who: Who) -> None:
        """A new class whose teacher holds `teacher_key` (only its salted hash is stored)."""
        _check_code(code)
        _check_token(teacher_key, "teacher key")
        now = self.clock()
        with self._tx(write=False) as tx:  # refused before hashing: a refused request costs no key derivation
            reason = limits.over(tx, limits.NEW_CLASSES, who, now)
        if reason is not None:
            raise self._refuse(reason)
        salt, digest = hash_key(teacher_key)
        with self._tx(write=True) as tx:
            if tx.execute("SELECT 1 FROM classes WHERE code = ?", (code,)).fetchone():
                raise self._refuse(f"class code {code} is taken; start another class")
            self._new_class(tx, code, who, now, salt, digest)

    def has_teacher(self, code: str) -> bool:
        """Whether the class was started with a teacher key (else it is a class made by its first vote)."""
        _check_code(code)
        with self._tx(write=False) as tx:
            row = tx.execute("SELECT digest FROM classes WHERE code = ?", (code,)).fetchone()
        return row is not None and row[0] is not None

    def teacher_ok(self, code: str, key: str, who: Who) -> bool:
        """Whether `key` is class `code`'s teacher key. Wrong keys count against `who`: past
        limits.KEY_FAILURES every check (right key or not) is refused for a while."""
        _check_code(code)
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            return False
        remembered = (code, hashlib.sha256(key.encode()).hexdigest())
        now = self.clock()
        if now - self._teachers.get(remembered, -float("inf")) < TOUCH_EVERY_S:
            return True
        with self._tx(write=True) as tx:
            reason = limits.over(tx, limits.KEY_FAILURES, who, now)
            if reason is not None:
                raise self._refuse(reason)
            row = tx.execute("SELECT salt, digest FROM classes WHERE code = ?", (code,)).fetchone()
            ok = row is not None and row[1] is not None and key_matches(key, bytes(row[0]), bytes(row[1]))
            if not ok:
                limits.record(tx, limits.KEY_FAILURES, who, now)
                return False
            tx.execute("UPDATE classes SET active = ? WHERE code = ?", (now, code))
        if len(self._teachers) > 1000:
            self._teachers.clear()
        self._teachers[remembered] = now
        return True

    def _as_teacher(self, code: str, key: str, who: Who) -> None:
        if not self.teacher_ok(code, key, who):
            raise self._refuse(f"not the teacher key of class {code}: nothing changed")

    # ------------------------------------------------------------------------------ votes and tallies

    def vote(self, code: str, question: str, who: Who, answer: str) -> Cast:
        """Record `who`'s answer to `question` in class `code`: a new vote, or their earlier vote moved. A code
        nobody started becomes a class (without a teacher) with its first vote."""
        _check_code(code)
        if not is_answer(question, answer):
            raise ValueError(f"{answer!r} is not an answer to question {question!r}")
        _check_token(who.identity, "visitor token")
        now = self.clock()
        try:
            with self._tx(write=True) as tx:
                return self._vote(tx, code, question, who, answer, now)
        finally:
            self._tallies.pop(code, None)

    def _vote(self, tx, code: str, question: str, who: Who, answer: str, now: float) -> Cast:
        self._limit(tx, limits.VOTES, who, now)
        key = (code, question, who.identity)
        row = tx.execute("SELECT answer FROM votes WHERE class = ? AND question = ? AND visitor = ?", key).fetchone()
        if row is not None:
            tx.execute(
                "UPDATE votes SET answer = ?, at = ? WHERE class = ? AND question = ? AND visitor = ?",
                (answer, now, *key),
            )
            tx.execute("UPDATE classes SET active = ? WHERE code = ?", (now, code))
            return Cast("same" if row[0] == answer else "moved", row[0])
        found = tx.execute("SELECT votes FROM classes WHERE code = ?", (code,)).fetchone()
        if found is None:
            self._new_class(tx, code, who, now)
        elif found[0] >= MAX_VOTES_PER_CLASS:
            return Cast("full")
        tx.execute(
            "INSERT INTO votes (class, question, visitor, answer, at) VALUES (?, ?, ?, ?, ?)", (*key, answer, now)
        )
        tx.execute("UPDATE classes SET votes = votes + 1, active = ? WHERE code = ?", (now, code))
        return Cast("counted")

    def tally(self, code: str) -> dict[str, dict[str, int]]:
        """{question: {answer: count}} for a class, every known question and answer listed (zeros included).
        Asked again within TALLY_FRESH_S, the last result is served without touching the database."""
        _check_code(code)
        now = self.clock()
        cached = self._tallies.get(code)
        if cached is not None and now - cached[0] < TALLY_FRESH_S:
            return {q: dict(answers) for q, answers in cached[1].items()}
        counts = {q.id: dict.fromkeys(q.answers, 0) for q in QUESTIONS.values()}
        with self._tx(write=False) as tx:
            rows = tx.execute(
                "SELECT question, answer, COUNT(*) FROM votes WHERE class = ? GROUP BY question, answer", (code,)
            ).fetchall()
            active = tx.execute("SELECT active FROM classes WHERE code = ?", (code,)).fetchone()
        for question, answer, n in rows:
            if question in counts and answer in counts[question]:  # vote() stores nothing else
                counts[question][answer] = n
        if active is not None and now - active[0] > TOUCH_EVERY_S:
            self._touch(code, now)
        self._tallies[code] = (now, counts)
        while len(self._tallies) > 256:
            self._tallies.popitem(last=False)
        return {q: dict(answers) for q, answers in counts.items()}

    def _touch(self, code: str, now: float) -> None:
        with self._tx(write=True) as tx:
            tx.execute("UPDATE classes SET active = ? WHERE code = ? AND active < ?", (now, code, now))

    # ------------------------------------------------------------------------------ the teacher's controls

    def set_reveal(self, code: str, key: str, question: str, shown: bool, who: Who) -> None:
        """Show (or hide again) the class's result on `question`; only with the teacher key."""
        if question not in QUESTIONS:
            raise ValueError(f"no question {question!r}")
        self._as_teacher(code, key, who)
        with self._tx(write=True) as tx:
            tx.execute("DELETE FROM reveals WHERE class = ? AND question = ?", (code, question))
            if shown:
                tx.execute("INSERT INTO reveals (class, question) VALUES (?, ?)", (code, question))
            tx.execute("UPDATE classes SET active = ? WHERE code = ?", (self.clock(), code))

    def revealed(self, code: str) -> set[str]:
        _check_code(code)
        with self._tx(write=False) as tx:
            return {q for (q,) in tx.execute("SELECT question FROM reveals WHERE class = ?", (code,))}

    def set_position(self, code: str, key: str, page: str, section: str, who: Who) -> Position:
        """Publish the teacher's page and section (followers move there); only with the teacher key."""
        _check_place(page)
        _check_place(section)
        self._as_teacher(code, key, who)
        now = self.clock()
        with self._tx(write=True) as tx:
            tx.execute(
                "UPDATE classes SET page = ?, section = ?, version = version + 1, moved = ?, active = ? WHERE code = ?",
                (page, section, now, now, code),
            )
            (version,) = tx.execute("SELECT version FROM classes WHERE code = ?", (code,)).fetchone()
        return Position(page, section, version)

    def position(self, code: str) -> Position | None:
        """The teacher's last published position, or None before the first."""
        _check_code(code)
        with self._tx(write=False) as tx:
            row = tx.execute("SELECT page, section, version FROM classes WHERE code = ?", (code,)).fetchone()
        return None if row is None or row[0] is None else Position(row[0], row[1] or "", row[2])

    # ------------------------------------------------------------------------------ who is connected

    def heartbeat(self, code: str, who: Who) -> None:
        """`who` is looking at class `code` now (written at most every HEARTBEAT_EVERY_S per visitor and process;
        ignored for a class nobody started, and past MAX_PRESENT visitors)."""
        _check_code(code)
        _check_token(who.identity, "visitor token")
        now, seen = self.clock(), (code, who.identity)
        if now - self._beats.get(seen, -float("inf")) < HEARTBEAT_EVERY_S:
            return
        if len(self._beats) > 10_000:
            self._beats = {k: t for k, t in self._beats.items() if now - t < HEARTBEAT_EVERY_S}
        self._beats[seen] = now
        with self._tx(write=True) as tx:
            row = tx.execute("SELECT active FROM classes WHERE code = ?", (code,)).fetchone()
            if row is None:
                return
            tx.execute("DELETE FROM present WHERE class = ? AND at < ?", (code, now - PRESENT_KEEP_S))
            if tx.execute("UPDATE present SET at = ? WHERE class = ? AND visitor = ?", (now, *seen)).rowcount == 0:
                (n,) = tx.execute("SELECT COUNT(*) FROM present WHERE class = ?", (code,)).fetchone()
                if n < MAX_PRESENT:
                    tx.execute("INSERT INTO present (class, visitor, at) VALUES (?, ?, ?)", (*seen, now))
            if now - row[0] > TOUCH_EVERY_S:
                tx.execute("UPDATE classes SET active = ? WHERE code = ?", (now, code))

    def connected(self, code: str, within_s: float = 30.0) -> int:
        """How many visitors sent a heartbeat for the class within the last `within_s` seconds."""
        _check_code(code)
        with self._tx(write=False) as tx:
            (n,) = tx.execute(
                "SELECT COUNT(*) FROM present WHERE class = ? AND at > ?", (code, self.clock() - within_s)
            ).fetchone()
        return n


def _drop(tx, codes: list[str]) -> None:
    for table, column in (("votes", "class"), ("reveals", "class"), ("present", "class"), ("classes", "code")):
        for code in codes:
            tx.execute(f"DELETE FROM {table} WHERE {column} = ?", (code,))  # noqa: S608 - fixed names


_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def open_store() -> Store:
    """This process's store: PostgreSQL when EXCOLOR_DATABASE_URL is a postgresql:// URL, else the SQLite file in
    EXCOLOR_DATA_DIR. One Store per location, so its caches and throttles are shared by every session."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        location = url
    else:
        from .sqlite import database_path

        location = str(database_path())
    with _stores_lock:
        if location not in _stores:
            _stores[location] = Store(_backend(location, bool(url)))
        return _stores[location]


def _backend(location: str, is_url: bool) -> Backend:
    if not is_url:
        from pathlib import Path

        from .sqlite import SqliteBackend

        return SqliteBackend(Path(location))
    if not location.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"{DATABASE_URL_ENV} must be a postgresql:// URL")
    from .postgres import PostgresBackend

    return PostgresBackend(location)
