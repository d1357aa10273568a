"""The shipped limits, unpatched (issue 28): the queue's 256-model cap and 128-model interactive reserve, a class's
10,000 votes and the store's 1,000 classes. The other tests shrink these constants to test the logic; these check
the values that run in production, at the boundary (the last one that fits, the first one refused).

Speed: the queue is counted without training (a fake train function, the worker off, as tests/test_queue.py
does); the vote store is filled in bulk with one SQL transaction, then the boundary votes go through cast()."""

import sqlite3

from test_queue import make_queue, pair, seeds  # noqa: E402  (the stubbed queue of the queue tests)

from excolor.app.trainer import INTERACTIVE_RESERVE, MAX_WAITING_MODELS
from excolor.classmode import store
from excolor.classmode.store import Who

# ------------------------------------------------------------------------------------------------ the queue


def full_queue():
    """A queue at exactly the shipped cap: four comparisons of 32 seeds (64 models each), 256 models waiting."""
    queue, fake = make_queue(chunk=16)
    jobs = [queue.request_big(f"teacher{i}", seeds(32, start=100 * i), "comparison of 32 seeds") for i in range(4)]
    return queue, fake, jobs


def test_the_shipped_cap_is_256_models_and_the_reserve_128():
    assert (MAX_WAITING_MODELS, INTERACTIVE_RESERVE) == (256, 128)  # the numbers the docstrings reason about


def test_big_jobs_fill_the_queue_to_exactly_256_models_and_the_next_model_is_refused():
    queue, fake, jobs = full_queue()
    assert all(job.refused is None for job in jobs)
    assert sum(e.queued for e in queue.entries.values()) == 256
    one_more = queue.request_big("teacher9", pair(999), "comparison of 1 seed")
    assert one_more.refused.startswith("the server is busy: 256 models ahead, try again in ")
    assert fake.calls == []  # counted, never trained


def test_a_job_of_257_models_is_refused_as_bigger_than_the_whole_queue():
    queue, _ = make_queue(chunk=16)
    job = queue.request_big("t", seeds(128) + pair(999)[:1], "comparison")
    assert job.refused == (
        "this asks for 257 models, more than the server queues for anyone (256 of this schedule's length): "
        "ask for fewer"
    )
    assert queue.request_big("t", seeds(128), "comparison").refused is None  # 256: exactly the cap fits


def test_students_still_get_64_pairs_past_a_full_queue_and_the_65th_is_refused():
    queue, fake, _ = full_queue()
    accepted = [queue.request(pair(1000 + s), f"student{s}") for s in range(64)]  # 128 models: the reserve
    assert all(e.error is None and e.queued for r in accepted for e in r)
    refused = queue.request(pair(2000), "student64")
    assert all(e.error.startswith("the server is busy: 384 models ahead, try again in ") for e in refused)
    assert fake.calls == []


# ------------------------------------------------------------------------------------------- the class store
# (1,000 classes at the shipped MAX_CLASSES: tests/test_class_store.py, a live class against 1,000 new ones)


def test_a_class_takes_its_10000th_vote_and_refuses_the_10001st(db, sq):
    n = store.MAX_VOTES_PER_CLASS - 1
    assert n + 1 == 10_000
    sq.prepare()
    with sqlite3.connect(db) as conn:  # 9,999 votes straight into the file, in one transaction
        conn.execute("INSERT INTO classes (code, created, active, votes) VALUES ('big-class', 1000, 1000, ?)", (n,))
        rows = [("big-class", "placement", f"v{i}", "post", 1000.0) for i in range(n)]
        conn.executemany("INSERT INTO votes (class, question, visitor, answer, at) VALUES (?, ?, ?, ?, ?)", rows)
    assert sq.vote("big-class", "placement", Who("last"), "pre").status == "counted"
    assert sq.vote("big-class", "placement", Who("late"), "pre").status == "full"
    assert sq.vote("big-class", "placement", Who("v0"), "same").status == "moved"  # changes still do
    assert sq.tally("big-class")["placement"] == {"post": 9_998, "pre": 1, "same": 1}
