"""The training queue's order and bounds (issue 13) and its bookkeeping under pressure (issue 15 item 5).

Training is stubbed (a fake train() that returns tiny runs at once and records each call) and the worker is
off (start=False): each test advances the queue one unit at a time with run_once(), so the order is exact.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from excolor.app import trainer
from excolor.app.trainer import Board, recipe_key
from excolor.schedule import EX24, parse_dopesheet
from excolor.train import Recipe, Replay, TrainedRun

STEPS = EX24.steps
LONG = parse_dopesheet("STEP,lr\n0,0.01\n11999,0.01\n")  # 12,000 steps: 4x the default


def fake_run(recipe: Recipe, kb: int = 100) -> TrainedRun:
    history = {"recon": np.zeros(kb * 256, dtype=np.float32)}  # kb KB, so memory budgets are exact
    replay = Replay(np.zeros(0, dtype=np.int64), np.zeros((0, 0, 4), np.float32), np.zeros((0, 3), np.float32))
    return TrainedRun(recipe, {}, history, replay, train_seconds=0.0)


class FakeTrainer:
    """Stands in for excolor.train.train: records every call's recipes; fails the calls it is told to."""

    def __init__(self, fail_on: set[int] = frozenset(), during=None):
        self.calls: list[list[Recipe]] = []
        self.fail_on = fail_on
        self.during = during  # called while "training" (the unit is the board's current one)
        self.at = None  # the step reported before `during` runs; None: half-way

    def __call__(self, recipes, progress=None):
        self.calls.append(list(recipes))
        if progress is not None:
            steps = recipes[0].schedule.steps
            progress(steps // 2 if self.at is None else self.at, steps, {"recon": np.zeros(len(recipes))})
        if self.during is not None:
            self.during()
        if len(self.calls) in self.fail_on:
            raise MemoryError("no room")
        return [fake_run(r) for r in recipes]


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def seeds(n: int, start: int = 0, schedule=EX24) -> list[Recipe]:
    """pre and post for n seeds: a comparison's recipes."""
    return [Recipe(p, s, schedule) for s in range(start, start + n) for p in ("pre", "post")]


def pair(seed: int, schedule=EX24) -> list[Recipe]:
    return seeds(1, seed, schedule)


def make_board(chunk: int = 4, **kwargs) -> tuple[Board, FakeTrainer]:
    fake = kwargs.pop("fake", None) or FakeTrainer()
    kwargs.setdefault("clock", Clock())
    return Board(train_fn=fake, chunk_model_steps=chunk * STEPS, start=False, **kwargs), fake


def drain(board: Board) -> int:
    n = 0
    while board.run_once() is not None:
        n += 1
    return n


def owners(units) -> list[str]:
    return ["interactive" if u.job is None else u.job.visitor for u in units]


# --------------------------------------------------------------------------------------------------
# Order


def test_a_new_pair_trains_before_the_chunks_of_a_big_job_already_queued():
    board, fake = make_board(chunk=4)
    teacher = board.request_big("teacher", seeds(8), "comparison of 8 seeds")  # 16 models: 4 chunks of 4
    board.run_once()  # its first chunk is running when the student arrives
    student = board.request(pair(40), "student")
    assert owners(board.plan()) == ["interactive", "teacher", "teacher", "teacher"]
    board.run_once()
    assert fake.calls[1] == pair(40)  # the student's pair waited for one chunk only
    assert all(e.run is not None for e in student) and not teacher.done
    drain(board)
    assert teacher.done and [len(c) for c in fake.calls] == [4, 2, 4, 4, 4]


def test_waiting_pairs_of_the_same_schedule_train_together_oldest_first_up_to_one_chunk():
    board, fake = make_board(chunk=4)
    custom = parse_dopesheet("STEP,lr\n0,0.02\n3000,0.02\n")
    for visitor, recipes in (("a", pair(1)), ("b", pair(2, custom)), ("c", pair(3)), ("d", pair(4))):
        board.request(recipes, visitor)
    drain(board)
    assert fake.calls == [pair(1) + pair(3), pair(2, custom), pair(4)]  # batching never mixes schedules


def test_big_jobs_take_turns_one_chunk_each():
    board, fake = make_board(chunk=4)
    board.request_big("t1", seeds(4), "comparison of 4 seeds")  # 8 models: 2 chunks
    board.request_big("t2", seeds(6, start=100), "comparison of 6 seeds")  # 12 models: 3 chunks
    assert owners(board.plan()) == ["t1", "t2", "t1", "t2", "t2"]
    drain(board)
    assert fake.calls == [seeds(2), seeds(2, 100), seeds(2, 2), seeds(2, 102), seeds(2, 104)]


def test_a_big_job_that_arrives_during_anothers_chunk_has_the_next_turn():
    board, fake = make_board(chunk=4)
    board.request_big("t1", seeds(6), "comparison of 6 seeds")
    planned = []

    def during():
        if len(fake.calls) == 1:  # t2 asks while t1's first chunk trains
            board.request_big("t2", seeds(4, start=100), "comparison of 4 seeds")
            planned.extend(owners(board.plan()))

    fake.during = during
    drain(board)
    assert planned == ["t2", "t1", "t2", "t1"]
    assert [c[0].seed for c in fake.calls] == [0, 100, 2, 102, 4]


def test_a_chunk_is_sized_by_steps_times_models():
    board, fake = make_board(chunk=8)
    job = board.request_big("t", seeds(4, schedule=LONG), "comparison on a long schedule")
    assert [len(u) for u in board.plan()] == [2, 2, 2, 2]  # 12,000 steps: 2 models per chunk, not 8
    drain(board)
    assert job.done and max(len(c) * c[0].schedule.steps for c in fake.calls) <= 8 * STEPS


def test_asking_for_a_recipe_a_big_job_has_queued_moves_it_ahead_and_trains_it_once():
    board, fake = make_board(chunk=4)
    teacher = board.request_big("teacher", seeds(8), "comparison of 8 seeds")
    wanted = pair(6)  # in the teacher's last chunk
    student = board.request(wanted, "student")
    assert board.plan()[0].entries == tuple(student)
    drain(board)
    assert [c for c in fake.calls if set(wanted) & set(c)] == [wanted]  # trained once, first
    held = {e.recipe: e for e in teacher.entries}
    assert [held[r] for r in wanted] == student  # the very same entries: both get the same runs
    assert teacher.done and board.trained[wanted[0]] == 1


def test_a_big_job_reuses_recipes_already_trained():
    board, fake = make_board(chunk=4)
    board.request(pair(0), "someone")
    board.run_once()
    job = board.request_big("teacher", seeds(3), "comparison of 3 seeds")
    drain(board)
    assert fake.calls == [pair(0), seeds(2, 1)] and job.done and job.runs is not None


# --------------------------------------------------------------------------------------------------
# Bounds


def test_one_big_job_per_visitor_a_new_one_replaces_the_old_and_says_so():
    board, fake = make_board(chunk=4)
    first = board.request_big("t", seeds(8), "comparison of 8 seeds")
    assert board.request_big("t", seeds(8), "comparison of 8 seeds") is first  # asking again: the same job
    board.run_once()  # seeds 0-1 trained
    second = board.request_big("t", seeds(3, start=6), "comparison of 3 seeds")  # seeds 6-8
    assert second.note == (
        "your earlier comparison of 8 seeds was replaced by this one (what it had trained already is kept)"
    )
    assert list(board.big) == ["t"] and board.big["t"] is second
    dropped = [e for e in first.entries if e.error]
    assert {e.recipe.seed for e in dropped} == {2, 3, 4, 5}  # queued for the old job only
    assert all("no page was waiting" in e.error for e in dropped)
    drain(board)
    assert second.done and second.error is None
    assert [c[0].seed for c in fake.calls] == [0, 6, 8]
    assert board.entries[pair(0)[0]].run is not None  # what the old job trained stays on the board


def test_a_big_job_beyond_the_cap_is_refused_with_the_wait_and_the_board_carries_on():
    board, fake = make_board(chunk=4, max_waiting_models=24)
    accepted = board.request_big("t1", seeds(8), "comparison of 8 seeds")  # 16 waiting
    refused = board.request_big("t2", seeds(8, start=50), "comparison of 8 seeds")  # 16 more: over 24
    assert accepted.refused is None
    assert refused.refused.startswith("the server is busy: 16 models ahead, try again in ")
    assert refused.error == refused.refused and refused.runs is None
    assert list(board.big) == ["t1"]  # nothing of the refused job was queued
    small = board.request_big("t3", seeds(4, start=50), "comparison of 4 seeds")  # 16 + 8 = 24: fits
    assert small.refused is None
    student = board.request(pair(99), "student")  # interactive: never refused below the cap
    assert all(e.error is None for e in student)
    drain(board)
    assert accepted.done and small.done and all(e.run is not None for e in student)
    assert board.request_big("t2", seeds(8, start=50), "comparison of 8 seeds").refused is None  # room again


def test_a_job_larger_than_the_whole_cap_is_refused_as_too_big():
    board, _ = make_board(chunk=4, max_waiting_models=10)
    job = board.request_big("t", seeds(8), "comparison of 8 seeds")
    assert job.refused == (
        "this asks for 16 models, more than the server queues for anyone (10 of this schedule's length): ask for fewer"
    )


def test_the_cap_counts_long_schedules_in_proportion_to_their_steps():
    board, _ = make_board(chunk=4, max_waiting_models=16)
    assert board.request_big("t1", seeds(1, schedule=LONG), "comparison").refused is None  # 2 x 4 = 8 default models
    assert board.request_big("t2", seeds(2, start=10), "comparison").refused is None  # 8 + 4 = 12
    assert board.request_big("t3", seeds(3, start=20), "comparison").refused.startswith("the server is busy")  # 18


def test_replacing_counts_the_room_the_old_job_frees():
    board, _ = make_board(chunk=4, max_waiting_models=16)
    board.request_big("t", seeds(8), "comparison of 8 seeds")  # 16 waiting: the cap
    assert board.request_big("t", seeds(8, start=8), "comparison of 8 other seeds").refused is None


def test_interactive_requests_are_refused_only_beyond_the_cap_and_the_reserve(monkeypatch):
    monkeypatch.setattr(trainer, "INTERACTIVE_RESERVE", 4)
    board, fake = make_board(chunk=4, max_waiting_models=8)
    board.request_big("t", seeds(4), "comparison of 4 seeds")  # 8 waiting: at the cap
    ok = [board.request(pair(s), f"s{s}") for s in (100, 101)]  # 12: cap + reserve
    over = board.request(pair(102), "s102")
    assert all(e.error is None for r in ok for e in r)
    assert all(e.error.startswith("the server is busy: 12 models ahead, try again in") for e in over)
    assert all(e.done.is_set() for e in over) and pair(102)[0] not in board.entries
    drain(board)
    assert len(fake.calls) == 3 and all(e.run is not None for r in ok for e in r)


# --------------------------------------------------------------------------------------------------
# Bookkeeping under pressure (issue 15 item 5)


def test_eviction_never_removes_what_a_request_uses_or_a_visitor_still_looks_at():
    clock = Clock()
    board, fake = make_board(chunk=2, max_kept_mb=0.15, clock=clock)  # room for one 100 KB run
    a, b, c = (Recipe("post", seed) for seed in (1, 2, 3))
    board.request([a], "v")
    board.run_once()
    entries = board.request([a, b], "v")  # the board is full, and this request uses a: the old KeyError
    assert board.entries[a] is entries[0] and entries[0].run is not None
    board.run_once()  # b trained: over budget, but the visitor still looks at both
    assert board.request([a, b], "v") == entries and fake.calls == [[a], [b]]
    board.request([c])  # an anonymous request: nobody looks at it once answered
    board.run_once()
    assert c not in board.entries and a in board.entries and b in board.entries
    clock.t += trainer.GRACE_S + 1  # the visitor left: their runs become ordinary cache entries
    board.request([c])
    board.run_once()
    assert list(board.entries) == [c]


def test_eviction_keeps_the_finished_part_of_an_unfinished_big_job_and_pinned_runs():
    pinned = Recipe("post", 0)
    board, fake = make_board(chunk=2, max_kept_mb=0.15, pinned=[pinned])
    board.request([pinned])
    board.run_once()
    job = board.request_big("t", seeds(3, start=1), "comparison of 3 seeds")
    board.run_once()
    board.request(pair(50), "student")  # trains, and would evict the job's first chunk without protection
    drain(board)
    assert job.done and job.runs is not None and len(fake.calls) == 5  # nothing retrained
    assert pinned in board.entries


def test_a_status_query_never_queues_work():
    board, fake = make_board(chunk=2, max_kept_mb=0.15)
    board.request([Recipe("post", 1)])
    board.run_once()
    board.request([Recipe("post", 2)])
    board.run_once()  # seed 1 evicted
    entries = board.lookup([Recipe("post", 1), Recipe("post", 2)], "visitor")
    assert entries[0] is None
    status = board.status(entries, "visitor")
    assert status.text == "not queued yet" and not status.done
    assert board.plan() == [] and board.run_once() is None and len(fake.calls) == 2


def test_a_failed_training_is_dropped_so_a_later_request_retries():
    board, fake = make_board(chunk=2, fake=FakeTrainer(fail_on={1}))
    bad = board.request(pair(3), "v")
    board.run_once()
    assert [e.error for e in bad] == ["training failed: MemoryError: no room"] * 2
    assert pair(3)[0] not in board.entries and not board.trained
    assert board.status(bad, "v").error == "training failed: MemoryError: no room"
    again = board.request(pair(3), "v")
    board.run_once()
    assert all(e.run is not None and e.error is None for e in again)
    assert board.trained == {pair(3)[0]: 1, pair(3)[1]: 1}


def test_a_failed_chunk_fails_its_big_job_and_asking_again_retrains_only_what_failed():
    board, fake = make_board(chunk=4, fake=FakeTrainer(fail_on={2}))
    job = board.request_big("t", seeds(4), "comparison of 4 seeds")
    drain(board)
    assert job.done and job.error == "training failed: MemoryError: no room" and job.runs is None
    assert "t" not in board.big  # it left the rotation
    retry = board.request_big("t", seeds(4), "comparison of 4 seeds")
    drain(board)
    assert retry.runs is not None and fake.calls[-1] == seeds(2, 2)


def test_the_trained_counter_is_pruned_with_the_board():
    board, _ = make_board(chunk=2, max_kept_mb=0.25)
    for seed in range(5):
        board.request([Recipe("post", seed)])
        board.run_once()
    assert set(board.trained) == set(board.entries) == {Recipe("post", 3), Recipe("post", 4)}
    assert board.models_trained == 5


def test_queued_work_of_a_visitor_who_left_is_dropped():
    clock = Clock()
    board, fake = make_board(chunk=4, clock=clock, session_alive=lambda v: v == "connected")
    gone = board.request_big("gone", seeds(4), "comparison of 4 seeds")
    stays = board.request_big("connected", seeds(2, start=50), "comparison of 2 seeds")
    clock.t += trainer.GRACE_S + 1  # neither asked anything since; only one session is still connected
    drain(board)
    assert fake.calls == [seeds(2, 50)]
    assert all(e.error == "dropped from the queue: no page was waiting for it any more" for e in gone.entries)
    assert stays.done and stays.error is None and "gone" not in board.seen


def test_a_visitor_paging_through_seeds_keeps_only_their_last_pairs_queued():
    board, fake = make_board(chunk=2)
    for seed in range(10):  # a student scrubs through ten seeds before anything trains
        board.request(pair(seed), "student")
    drain(board)
    trained_seeds = sorted({r.seed for call in fake.calls for r in call})
    assert trained_seeds == list(range(10 - trainer.INTERACTIVE_KEPT // 2, 10))


def test_anonymous_requests_stay_queued_until_trained():
    clock = Clock()
    board, fake = make_board(chunk=2, clock=clock)
    board.request(pair(1))  # the server itself (the default pair) or a script: no session to wait for
    clock.t += 10 * trainer.GRACE_S
    drain(board)
    assert fake.calls == [pair(1)]


# --------------------------------------------------------------------------------------------------
# Status that tells the truth


def test_the_status_says_what_runs_now_how_many_models_are_ahead_and_how_long():
    seen = {}
    board, fake = make_board(chunk=4)

    def during():  # a student opens seed 40 while the teacher's first chunk trains
        if len(fake.calls) == 2:
            board.request(pair(40), "student")
            seen["student"] = board.status(board.lookup(pair(40), "student"), "student")
            seen["teacher"] = board.status(board.lookup(seeds(8), "teacher"), "teacher")

    fake.during = during
    board.request_big("teacher", seeds(8), "comparison of 8 seeds")
    board.request_big("other", seeds(2, start=200), "comparison of 2 seeds")
    board.request(pair(30), "first-student")
    board.run_once()  # the first student's pair
    board.run_once()  # the teacher's first chunk, with the status taken inside
    student, teacher = seen["student"], seen["teacher"]
    assert student.text.startswith(
        f"waiting for the current chunk of another visitor's comparison of 8 seeds (step {STEPS // 2:,} of {STEPS:,})"
        " · 4 models ahead of yours · "
    )
    assert student.ahead == 4 and not student.done and 0.0 <= student.fraction < 1.0
    assert teacher.text.startswith(f"training 4 models: step {STEPS // 2:,} of {STEPS:,} · ")
    assert teacher.eta > student.eta > 0  # the teacher's last chunk comes after the student and the other job
    assert student.text.endswith(" to go")


def test_a_visitor_behind_the_default_pair_is_told_what_trains_and_a_predicted_wait():
    """The server trains the default pair as it starts (excolor.app.warmup): a deep link's first visitor waits for
    it. Over the first tenth of a unit's steps the estimate is the prediction, not an extrapolation of steps that
    run slowly while the server is still starting (it said "about 30 s" for a wait of one)."""
    board, fake = make_board(pinned=pair(0))
    seen = {}

    def during():
        board.request(pair(3), "visitor")
        seen["status"] = board.status(board.lookup(pair(3), "visitor"), "visitor")
        seen["pair_s"] = board._predict(2 * STEPS, 2)  # before this unit's time updates the board's speed

    fake.at, fake.during = 10, during
    board.request(pair(0))  # the server's own request: no visitor
    board.run_once()
    status = seen["status"]
    assert status.text.startswith(f"waiting for the default 2 models every page shows first (step 10 of {STEPS:,})")
    assert status.ahead == 2
    assert status.eta == pytest.approx(2 * seen["pair_s"], rel=0.01)  # the pair ahead, then its own


def test_the_estimate_counts_every_unit_until_the_last_of_yours():
    board, _ = make_board(chunk=4)
    board.request_big("t1", seeds(4), "comparison of 4 seeds")  # 2 chunks
    board.request_big("t2", seeds(4, start=10), "comparison of 4 seeds")  # 2 chunks, in turns with t1
    one_chunk = board._predict(4 * STEPS, 4)
    t1 = board.status(board.lookup(seeds(4), "t1"), "t1")
    t2 = board.status(board.lookup(seeds(4, start=10), "t2"), "t2")
    assert t1.text == "queued · yours are next · " + trainer._seconds(3 * one_chunk) + " to go"
    assert t1.eta == pytest.approx(3 * one_chunk) and t2.eta == pytest.approx(4 * one_chunk)
    assert t2.ahead == 4


def test_when_done_the_status_is_the_final_summary():
    board, _ = make_board(chunk=4)
    entries = board.request(pair(1), "v")
    board.run_once()
    status = board.status(entries, "v")
    assert status.done and status.fraction == 1.0 and status.error is None
    assert status.text.startswith("2 models trained in ") and status.text.endswith(" s")


def test_estimates_round_honestly():
    assert [trainer._seconds(s) for s in (0.2, 3.2, 9.9, 10.1, 41, 119, 121, 600)] == [
        "1 s", "4 s", "10 s", "about 20 s", "about 50 s", "about 120 s", "about 3 min", "about 10 min",
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Keys (issue 15 item 1)


def test_recipe_keys_hold_the_schedules_full_digest():
    custom = parse_dopesheet("STEP,lr\n0,0.02\n3000,0.02\n")
    key = recipe_key(Recipe("post", 3, custom))
    assert key == f"post-s3-b64-{custom.digest}" and len(custom.digest) == 64


def test_chunked_training_gives_the_numbers_of_training_alone():
    """The real train(): a model trained in a chunk of the queue equals the model trained by itself."""
    from excolor.train import train

    short = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n80,0.05,0,0,0,0\n")
    board = Board(start=False, chunk_model_steps=3 * short.steps)
    job = board.request_big("t", seeds(2, schedule=short), "comparison")
    drain(board)
    solo = train(Recipe("post", 1, short))[0]
    chunked = job.runs[3]
    assert chunked.recipe == solo.recipe
    assert all(torch.equal(chunked.weights[k], solo.weights[k]) for k in solo.weights)
    assert np.array_equal(chunked.history["recon"], solo.history["recon"])


def test_eight_sessions_of_one_client_cannot_keep_another_visitors_comparison_out():
    """Issue 27, before: 8 sessions of one client retrying every 2 s kept an honest 32-seed comparison refused for
    ~115 s. Now the big jobs of one address hold at most ADDRESS_SHARE of the queue: of 8 cookieless sessions
    (8 identities) from one address asking for 32 seeds each, 2 get in, and another visitor's comparison is
    accepted at once."""
    board, _ = make_board(chunk=4, max_waiting_models=256)
    results = [
        board.request_big(f"session-{i}", seeds(32, start=100 * (i + 1)), "comparison of 32 seeds", "203.0.113.9")
        for i in range(8)
    ]
    accepted = [job for job in results if job.refused is None]
    assert len(accepted) == int(256 * trainer.ADDRESS_SHARE) // 64
    refusal = results[-1].refused
    assert refusal.startswith("other visitors at your network address have 128 models waiting") and "\n" not in refusal
    honest = board.request_big("honest", seeds(32), "comparison of 32 seeds", "192.0.2.1")
    assert honest.refused is None
    same_browser = board.request_big("session-0", seeds(32, start=100), "comparison of 32 seeds", "203.0.113.9")
    assert same_browser is results[0]  # one big job per identity: asking again is the same job
