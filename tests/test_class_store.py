"""The class store's bounds against the attacks of issue 27, scripted (bounded, direct store calls), and the
teacher's state of issue 26; each on SQLite and on PostgreSQL. The shipped limits are used unless a test says."""

from __future__ import annotations

import json
import logging
import re

import pytest
from test_votes import vote

from excolor.classmode import codes, limits, store
from excolor.classmode.store import Position, Refused, Store, Who

HOUR = 3600.0
KEY = "k" * 22


def refusal(call) -> str:
    with pytest.raises(Refused) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and len(message) < 200
    return message


# --------------------------------------------------------------------------------------- a live class survives


def live_class(s: Store) -> None:
    s.create_class("year-9b-k3f9", KEY, Who("teacher", "10.0.0.1"))
    for i in range(25):
        vote(s, "year-9b-k3f9", "placement", f"student-{i}", ("pre", "post", "same")[i % 3])


def test_one_script_cannot_make_more_than_a_few_classes_an_hour(s, clock):
    """Before: one script made ~428 new classes a minute, each by voting in it. Now at most
    NEW_CLASSES.per_identity from one browser and per_address from one address in an hour."""
    attacker = Who("attacker", "203.0.113.9")
    made = 0
    for i in range(1000):
        try:
            s.vote(f"junk-{i}", "placement", attacker, "pre")
            made += 1
        except Refused as err:
            assert "too many new classes from this browser" in str(err)
            break
    assert made == limits.NEW_CLASSES.per_identity
    fresh_cookies = [Who(f"cookie-{i}", "203.0.113.9") for i in range(1000)]  # a new identity every time
    made = sum(1 for who in fresh_cookies if _tries(lambda who=who: s.create_class(codes.new_class_code(), KEY, who)))
    assert made == limits.NEW_CLASSES.per_address - limits.NEW_CLASSES.per_identity
    clock.t += HOUR + 1
    s.create_class("next-hour", KEY, attacker)  # the limit is an hour's


def _tries(call) -> bool:
    try:
        call()
    except Refused:
        return False
    return True


def test_a_live_class_survives_a_thousand_new_classes_even_from_a_thousand_addresses(s, clock, caplog):
    """Before: 1,000 new classes dropped the least recently used class, one with 25 votes at its reveal. Now a
    full store drops only classes idle for KEEP_ACTIVE_S, else refuses; reading the tally counts as activity."""
    live_class(s)
    clock.t += store.KEEP_ACTIVE_S - HOUR  # the votes are almost a day old...
    s.tally("year-9b-k3f9")  # ...but the teacher's reveal reads the tally now
    clock.t += 2 * HOUR
    refused = []
    with caplog.at_level(logging.WARNING, logger="excolor.classmode.store"):
        for i in range(1000):  # a botnet: a new identity and address for every class, beyond any rate limit
            who = Who(f"bot-{i}", f"198.51.{i // 250}.{i % 250}")
            try:
                s.vote(f"junk-{i}", "placement", who, "pre")
            except Refused as err:
                refused.append(str(err))
    assert len(refused) == 1000 - (store.MAX_CLASSES - 1)
    assert set(refused) == {f"the class store is full ({store.MAX_CLASSES:,} classes in use); try again tomorrow"}
    assert len([r for r in caplog.records if "store is full" in r.getMessage()]) == 1  # logged once, not 1000 times
    assert s.tally("year-9b-k3f9")["placement"] == {"pre": 9, "post": 8, "same": 8}
    assert s.teacher_ok("year-9b-k3f9", KEY, Who("teacher"))
    clock.t += store.KEEP_ACTIVE_S + 1  # a day later every class is idle: a new one makes room again
    s.create_class("tomorrow", KEY, Who("teacher-2", "10.0.0.2"))


# --------------------------------------------------------------------------------------- one person, one vote


def test_twenty_sessions_of_one_browser_add_one_vote(s):
    """Before: 20 scripted sessions added 20 votes. The vote is the browser identity's, whatever the session."""
    for answer in ("pre", "post") * 10:
        s.vote("room-12", "placement", Who("one-browser", "203.0.113.7"), answer)
    assert s.tally("room-12")["placement"] == {"pre": 0, "post": 1, "same": 0}


def test_votes_are_rate_limited_per_browser_and_per_address(s, clock):
    browser = Who("clicker", "203.0.113.7")
    answers = ("pre", "post", "same")
    for i in range(limits.VOTES.per_identity):
        s.vote("room-12", "placement", browser, answers[i % 3])
    assert "too many votes from this browser" in refusal(lambda: s.vote("room-12", "placement", browser, "pre"))
    done = limits.VOTES.per_identity  # the address has these already
    for i in range(limits.VOTES.per_address - done):  # cookieless: a new identity per vote, one address
        s.vote("room-12", "lab", Who(f"no-cookie-{i}", "203.0.113.7"), "all")
    message = refusal(lambda: s.vote("room-12", "lab", Who("one-more", "203.0.113.7"), "all"))
    assert "too many votes from this network address" in message
    s.vote("room-12", "lab", Who("elsewhere", "192.0.2.1"), "few")  # another address is not affected
    clock.t += 61
    s.vote("room-12", "placement", browser, "same")  # a minute later it may vote again


def test_a_class_of_thirty_behind_one_address_votes_and_changes_its_answers(s):
    """The honest path: 30 students behind one school NAT, three questions, a third change their answer."""
    for i in range(30):
        who = Who(f"student-{i}", "192.0.2.50")
        for question, answer in (("placement", "pre"), ("interventions", "split"), ("lab", "most")):
            assert s.vote("room-30", question, who, answer).status == "counted"
        if i % 3 == 0:
            assert s.vote("room-30", "placement", who, "post").status == "moved"
    tally = s.tally("room-30")
    assert tally["placement"] == {"pre": 20, "post": 10, "same": 0} and sum(tally["lab"].values()) == 30


def test_the_tally_poll_is_served_from_the_last_result_within_its_interval(s, clock):
    """Before: one session polled 21 times a second, each a query. Now one query per TALLY_FRESH_S."""
    vote(s, "room-12", "placement", "a", "pre")
    reads = []
    real = s.backend.transaction

    def counting(write):
        reads.append(write)
        return real(write)

    s.backend.transaction = counting
    for _ in range(21):
        assert s.tally("room-12")["placement"]["pre"] == 1
    assert len(reads) == 1
    clock.t += store.TALLY_FRESH_S
    s.tally("room-12")
    assert len(reads) == 2


# --------------------------------------------------------------------------------------- teacher keys


def test_a_class_code_made_by_the_app_has_a_random_part():
    made = {codes.new_class_code("Year 9B!") for _ in range(200)}
    assert all(re.fullmatch(r"year-9b-[a-z0-9]{4}", c) for c in made) and len(made) > 150
    assert all(codes.is_class_code(codes.new_class_code(name)) for name in ("", "x" * 80, "--", "Ünï"))


def test_the_teacher_key_is_stored_only_as_a_salted_hash_and_checked(s):
    s.create_class("abc-1234", KEY, Who("t"))
    s.create_class("abd-1234", KEY, Who("t"))
    with s.backend.transaction(write=False) as tx:
        rows = tx.execute("SELECT salt, digest FROM classes").fetchall()
        dump = json.dumps([[bytes(x).hex() for x in row] for row in rows])
    assert KEY not in dump and KEY.encode().hex() not in dump
    assert rows[0][0] != rows[1][0] and rows[0][1] != rows[1][1]  # a salt per class: same key, other hashes
    assert s.has_teacher("abc-1234") and not s.has_teacher("no-such")
    assert s.teacher_ok("abc-1234", KEY, Who("t"))
    assert not s.teacher_ok("abc-1234", KEY[:-1] + "x", Who("t"))
    assert not s.teacher_ok("no-such", KEY, Who("t"))
    assert "taken" in refusal(lambda: s.create_class("abc-1234", "other-key", Who("u")))


def test_wrong_keys_are_limited_per_browser_and_per_address(s, clock):
    s.create_class("abc-1234", KEY, Who("t"))
    guesser = Who("guesser", "203.0.113.5")
    for i in range(limits.KEY_FAILURES.per_identity):
        assert not s.teacher_ok("abc-1234", f"guess-{i}", guesser)
    message = refusal(lambda: s.teacher_ok("abc-1234", KEY, guesser))  # even the right key, for a while
    assert "too many wrong teacher keys from this browser" in message
    others = [Who(f"g-{i}", "203.0.113.5") for i in range(10)]
    results = [_tries(lambda who=who: s.teacher_ok("abc-1234", "nope", who)) for who in others]
    assert results.count(True) == limits.KEY_FAILURES.per_address - limits.KEY_FAILURES.per_identity
    assert s.teacher_ok("abc-1234", KEY, Who("the-teacher", "192.0.2.9"))  # the real teacher elsewhere: fine
    clock.t += 61
    assert s.teacher_ok("abc-1234", KEY, guesser)


def test_teacher_actions_need_the_key(s):
    s.create_class("abc-1234", KEY, Who("t"))
    s.create_class("other-99", "other-key-0000000000000", Who("u"))
    student = Who("student", "192.0.2.3")
    for wrong in ("", "guess", "other-key-0000000000000"):  # none, guessed, another class's key
        message = refusal(lambda k=wrong: s.set_reveal("abc-1234", k, "placement", True, student))
        assert message == "not the teacher key of class abc-1234: nothing changed"
        refusal(lambda k=wrong: s.set_position("abc-1234", k, "placement", "", student))
    assert s.revealed("abc-1234") == set() and s.position("abc-1234") is None


# --------------------------------------------------------------------------------------- the teacher's state


def test_reveal_position_and_presence(s, clock):
    teacher = Who("teacher")
    s.create_class("abc-1234", KEY, teacher)
    s.set_reveal("abc-1234", KEY, "placement", True, teacher)
    s.set_reveal("abc-1234", KEY, "lab", True, teacher)
    s.set_reveal("abc-1234", KEY, "lab", False, teacher)
    assert s.revealed("abc-1234") == {"placement"}
    assert s.set_position("abc-1234", KEY, "placement", "replay", teacher) == Position("placement", "replay", 1)
    s.set_position("abc-1234", KEY, "interventions", "", teacher)
    assert s.position("abc-1234") == Position("interventions", "", 2)
    with pytest.raises(ValueError):
        s.set_position("abc-1234", KEY, "x" * 200, "", teacher)
    for i in range(5):
        s.heartbeat("abc-1234", Who(f"student-{i}"))
    s.heartbeat("abc-1234", Who("student-0"))  # again at once: not even written
    s.heartbeat("no-such-class", Who("student-0"))  # a class nobody started: ignored
    assert s.connected("abc-1234") == 5 and s.connected("no-such-class") == 0
    clock.t += 31
    s.heartbeat("abc-1234", Who("student-1"))
    assert s.connected("abc-1234", within_s=30) == 1


def test_presence_is_capped_per_class(s, monkeypatch):
    monkeypatch.setattr(store, "MAX_PRESENT", 3)
    s.create_class("abc-1234", KEY, Who("t"))
    for i in range(10):
        s.heartbeat("abc-1234", Who(f"student-{i}"))
    assert s.connected("abc-1234") == 3


def test_two_replicas_on_one_database_share_votes_reveals_and_the_position(postgres_url):
    """Two app servers, one PostgreSQL: votes on both counted once each, the teacher on A seen on B."""
    from excolor.classmode.postgres import PostgresBackend

    a, b = Store(PostgresBackend(postgres_url)), Store(PostgresBackend(postgres_url))
    a.create_class("shared-1a2b", KEY, Who("teacher"))
    a.vote("shared-1a2b", "placement", Who("s1"), "pre")
    b.vote("shared-1a2b", "placement", Who("s2"), "post")
    b.vote("shared-1a2b", "placement", Who("s1"), "same")  # s1 moves its vote on the other server
    assert (
        a.tally("shared-1a2b")["placement"] == b.tally("shared-1a2b")["placement"] == {"pre": 0, "post": 1, "same": 1}
    )
    a.set_reveal("shared-1a2b", KEY, "placement", True, Who("teacher"))
    a.set_position("shared-1a2b", KEY, "evidence", "compare", Who("teacher"))
    assert b.revealed("shared-1a2b") == {"placement"}
    assert b.position("shared-1a2b") == Position("evidence", "compare", 1)
    assert b.teacher_ok("shared-1a2b", KEY, Who("teacher"))


def test_cli_tally_reads_the_database_url(postgres_url, monkeypatch, capsys):
    from excolor import cli
    from excolor.classmode.postgres import PostgresBackend

    Store(PostgresBackend(postgres_url)).vote("year-9", "placement", Who("a"), "post")
    monkeypatch.setenv(store.DATABASE_URL_ENV, postgres_url)
    assert cli.main(["tally", "--class", "year-9", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"]["placement"] == {"post": 1, "pre": 0, "same": 0}
    monkeypatch.setenv(store.DATABASE_URL_ENV, "postgresql://nobody:secret@127.0.0.1:1/none")
    assert cli.main(["tally", "--class", "year-9"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "secret" not in err and "127.0.0.1:1/none" in err
