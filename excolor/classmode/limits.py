"""Rate limits per visitor identity and per client address, kept in the store so every replica sees them.

A script opens Streamlit sessions as fast as the server answers, so nothing here counts sessions: each limit
counts the browser identity (its long-lived cookie token) and, separately, the client address (which a script
cannot multiply as cheaply). The address limits are higher than the identity ones: a class behind one school NAT
shares an address. Each counted action is one row (kind, who, at) in the store's `events` table; rows older than
the longest window are pruned.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backend import Transaction


@dataclass(frozen=True)
class Who:
    """A visitor as the store sees them: the browser identity and, when known, the client address."""

    identity: str
    address: str | None = None

    def counted_as(self) -> list[str]:
        return [f"i:{self.identity}"] + ([f"a:{self.address}"] if self.address else [])


@dataclass(frozen=True)
class Limit:
    kind: str
    per_identity: int
    per_address: int
    window_s: float
    what: str  # "new classes", worded for the refusal: "too many new classes from this browser..."


NEW_CLASSES = Limit("class", per_identity=5, per_address=20, window_s=3600.0, what="new classes")
KEY_FAILURES = Limit("key", per_identity=5, per_address=10, window_s=60.0, what="wrong teacher keys")
VOTES = Limit("vote", per_identity=30, per_address=300, window_s=60.0, what="votes")
LIMITS = (NEW_CLASSES, KEY_FAILURES, VOTES)
KEEP_S = max(limit.window_s for limit in LIMITS)


def over(tx: Transaction, limit: Limit, who: Who, now: float) -> str | None:
    """The one-line refusal if `who` has reached `limit` (by identity or by address), else None."""
    for key in who.counted_as():
        cap = limit.per_address if key.startswith("a:") else limit.per_identity
        (n,) = tx.execute(
            "SELECT COUNT(*) FROM events WHERE kind = ? AND who = ? AND at > ?", (limit.kind, key, now - limit.window_s)
        ).fetchone()
        if n >= cap:
            source = "network address" if key.startswith("a:") else "browser"
            return (
                f"too many {limit.what} from this {source} (at most {cap} in {_span(limit.window_s)}); try again later"
            )
    return None


def record(tx: Transaction, limit: Limit, who: Who, now: float) -> None:
    for key in who.counted_as():
        tx.execute("INSERT INTO events (kind, who, at) VALUES (?, ?, ?)", (limit.kind, key, now))


def prune(tx: Transaction, now: float) -> None:
    tx.execute("DELETE FROM events WHERE at < ?", (now - KEEP_S,))


def _span(seconds: float) -> str:
    return "a minute" if seconds == 60 else "an hour" if seconds == 3600 else f"{seconds:g} s"
