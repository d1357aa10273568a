"""The training queue's order and bounds (issue 13) and its bookkeeping under pressure (issue 15 item 5).

Training is stubbed (a fake train() that returns tiny runs at once and records each call) and the worker is
off (start=False): each test advances the queue one unit at a time with run_once(), so the order is exact.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from excolor.app import jobs, trainer
from excolor.app.trainer import TrainingQueue
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
        self.during = during  # called while "training" (the unit is the queue's current one)
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


def make_queue(chunk: int = 4, **kwargs) -> tuple[TrainingQueue, FakeTrainer]:
    fake = kwargs.pop("fake", None) or FakeTrainer()
    kwargs.setdefault("clock", Clock())
    return TrainingQueue(train_fn=fake, chunk_model_steps=chunk * STEPS, start=False, **kwargs), fake


def drain(queue: TrainingQueue) -> int:
    n = 0
    while queue.run_once() is not None:
        n += 1
    return n


def owners(units) -> list[str]:
    return ["interactive" if u.job is None else u.job.visitor for u in units]


# --------------------------------------------------------------------------------------------------
# Order


def test_a_new_pair_trains_before_the_chunks_of_a_big_job_already_queued():
    queue, fake = make_queue(chunk=4)
    teacher = queue.request_big("teacher", seeds(8), "comparison of 8 seeds")  # 16 models: 4 chunks of 4
    queue.run_once()  # its first chunk is running when the student arrives
    student = queue.request(pair(40), "student")
    assert owners(queue.plan()) == ["interactive", "teacher", "teacher", "teacher"]
    queue.run_once()
    assert fake.calls[1] == pair(40)  # the student's pair waited for one chunk only
    assert all(e.run is not None for e in student) and not teacher.done
    drain(queue)
    assert teacher.done and [len(c) for c in fake.calls] == [4, 2, 4, 4, 4]


def test_waiting_pairs_of_the_same_schedule_train_together_oldest_first_up_to_one_chunk():
    queue, fake = make_queue(chunk=4)
    custom = parse_dopesheet("STEP,lr\n0,0.02\n3000,0.02\n")
    for visitor, recipes in (("a", pair(1)), ("b", pair(2, custom)), ("c", pair(3)), ("d", pair(4))):
        queue.request(recipes, visitor)
    drain(queue)
    assert fake.calls == [pair(1) + pair(3), pair(2, custom), pair(4)]  # batching never mixes schedules


def test_big_jobs_take_turns_one_chunk_each():
    queue, fake = make_queue(chunk=4)
    queue.request_big("t1", seeds(4), "comparison of 4 seeds")  # 8 models: 2 chunks
    queue.request_big("t2", seeds(6, start=100), "comparison of 6 seeds")  # 12 models: 3 chunks
    assert owners(queue.plan()) == ["t1", "t2", "t1", "t2", "t2"]
    drain(queue)
    assert fake.calls == [seeds(2), seeds(2, 100), seeds(2, 2), seeds(2, 102), seeds(2, 104)]


def test_a_big_job_that_arrives_during_anothers_chunk_has_the_next_turn():
    queue, fake = make_queue(chunk=4)
    queue.request_big("t1", seeds(6), "comparison of 6 seeds")
    planned = []

    def during():
        if len(fake.calls) == 1:  # t2 asks while t1's first chunk trains
            queue.request_big("t2", seeds(4, start=100), "comparison of 4 seeds")
            planned.extend(owners(queue.plan()))

    fake.during = during
    drain(queue)
    assert planned == ["t2", "t1", "t2", "t1"]
    assert [c[0].seed for c in fake.calls] == [0, 100, 2, 102, 4]


def test_a_chunk_is_sized_by_steps_times_models():
    queue, fake = make_queue(chunk=8)
    job = queue.request_big("t", seeds(4, schedule=LONG), "comparison on a long schedule")
    assert [len(u) for u in queue.plan()] == [2, 2, 2, 2]  # 12,000 steps: 2 models per chunk, not 8
    drain(queue)
    assert job.done and max(len(c) * c[0].schedule.steps for c in fake.calls) <= 8 * STEPS


def test_asking_for_a_recipe_a_big_job_has_queued_moves_it_ahead_and_trains_it_once():
    queue, fake = make_queue(chunk=4)
    teacher = queue.request_big("teacher", seeds(8), "comparison of 8 seeds")
    wanted = pair(6)  # in the teacher's last chunk
    student = queue.request(wanted, "student")
    assert queue.plan()[0].entries == tuple(student)
    drain(queue)
    assert [c for c in fake.calls if set(wanted) & set(c)] == [wanted]  # trained once, first
    held = {e.recipe: e for e in teacher.entries}
    assert [held[r] for r in wanted] == student  # the very same entries: both get the same runs
    assert teacher.done and queue.trained[wanted[0]] == 1


def test_a_big_job_reuses_recipes_already_trained():
    queue, fake = make_queue(chunk=4)
    queue.request(pair(0), "someone")
    queue.run_once()
    job = queue.request_big("teacher", seeds(3), "comparison of 3 seeds")
    drain(queue)
    assert fake.calls == [pair(0), seeds(2, 1)] and job.done and job.runs is not None


# --------------------------------------------------------------------------------------------------
# Bounds


def test_one_big_job_per_visitor_a_new_one_replaces_the_old_and_says_so():
    queue, fake = make_queue(chunk=4)
    first = queue.request_big("t", seeds(8), "comparison of 8 seeds")
    assert queue.request_big("t", seeds(8), "comparison of 8 seeds") is first  # asking again: the same job
    queue.run_once()  # seeds 0-1 trained
    second = queue.request_big("t", seeds(3, start=6), "comparison of 3 seeds")  # seeds 6-8
    assert second.note == (
        "your earlier comparison of 8 seeds was replaced by this one (what it had trained already is kept)"
    )
    assert list(queue.big) == ["t"] and queue.big["t"] is second
    dropped = [e for e in first.entries if e.error]
    assert {e.recipe.seed for e in dropped} == {2, 3, 4, 5}  # queued for the old job only
    assert all("no page was waiting" in e.error for e in dropped)
    drain(queue)
    assert second.done and second.error is None
    assert [c[0].seed for c in fake.calls] == [0, 6, 8]
    assert queue.entries[pair(0)[0]].run is not None  # what the old job trained stays on the queue


def test_a_big_job_beyond_the_cap_is_refused_with_the_wait_and_the_board_carries_on():
    queue, fake = make_queue(chunk=4, max_waiting_models=24)
    accepted = queue.request_big("t1", seeds(8), "comparison of 8 seeds")  # 16 waiting
    refused = queue.request_big("t2", seeds(8, start=50), "comparison of 8 seeds")  # 16 more: over 24
    assert accepted.refused is None
    assert refused.refused.startswith("the server is busy: 16 models ahead, try again in ")
    assert refused.error == refused.refused and refused.runs is None
    assert list(queue.big) == ["t1"]  # nothing of the refused job was queued
    small = queue.request_big("t3", seeds(4, start=50), "comparison of 4 seeds")  # 16 + 8 = 24: fits
    assert small.refused is None
    student = queue.request(pair(99), "student")  # interactive: never refused below the cap
    assert all(e.error is None for e in student)
    drain(queue)
    assert accepted.done and small.done and all(e.run is not None for e in student)
    assert queue.request_big("t2", seeds(8, start=50), "comparison of 8 seeds").refused is None  # room again


def test_a_job_larger_than_the_whole_cap_is_refused_as_too_big():
    queue, _ = make_queue(chunk=4, max_waiting_models=10)
    job = queue.request_big("t", seeds(8), "comparison of 8 seeds")
    assert job.refused == (
        "this asks for 16 models, more than the server queues for anyone (10 of this schedule's length): ask for fewer"
    )


def test_the_cap_counts_long_schedules_in_proportion_to_their_steps():
    queue, _ = make_queue(chunk=4, max_waiting_models=16)
    assert queue.request_big("t1", seeds(1, schedule=LONG), "comparison").refused is None  # 2 x 4 = 8 default models
    assert queue.request_big("t2", seeds(2, start=10), "comparison").refused is None  # 8 + 4 = 12
    assert queue.request_big("t3", seeds(3, start=20), "comparison").refused.startswith("the server is busy")  # 18


def test_replacing_counts_the_room_the_old_job_frees():
    queue, _ = make_queue(chunk=4, max_waiting_models=16)
    queue.request_big("t", seeds(8), "comparison of 8 seeds")  # 16 waiting: the cap
    assert queue.request_big("t", seeds(8, start=8), "comparison of 8 other seeds").refused is None


def test_interactive_requests_are_refused_only_beyond_the_cap_and_the_reserve(monkeypatch):
    monkeypatch.setattr(trainer, "INTERACTIVE_RESERVE", 4)
    queue, fake = make_queue(chunk=4, max_waiting_models=8)
    queue.request_big("t", seeds(4), "comparison of 4 seeds")  # 8 waiting: at the cap
    ok = [queue.request(pair(s), f"s{s}") for s in (100, 101)]  # 12: cap + reserve
    over = queue.request(pair(102), "s102")
    assert all(e.error is None for r in ok for e in r)
    assert all(e.error.startswith("the server is busy: 12 models ahead, try again in") for e in over)
    assert all(e.done.is_set() for e in over) and pair(102)[0] not in queue.entries
    drain(queue)
    assert len(fake.calls) == 3 and all(e.run is not None for r in ok for e in r)


# --------------------------------------------------------------------------------------------------
# Bookkeeping under pressure (issue 15 item 5)


def test_eviction_never_removes_what_a_request_uses_or_a_visitor_still_looks_at():
    clock = Clock()
    queue, fake = make_queue(chunk=2, max_kept_mb=0.15, clock=clock)  # room for one 100 KB run
    a, b, c = (Recipe("post", seed) for seed in (1, 2, 3))
    queue.request([a], "v")
    queue.run_once()
    entries = queue.request([a, b], "v")  # the queue is full, and this request uses a: the old KeyError
    assert queue.entries[a] is entries[0] and entries[0].run is not None
    queue.run_once()  # b trained: over budget, but the visitor still looks at both
    assert queue.request([a, b], "v") == entries and fake.calls == [[a], [b]]
    queue.request([c])  # an anonymous request: nobody looks at it once answered
    queue.run_once()
    assert c not in queue.entries and a in queue.entries and b in queue.entries
    clock.t += trainer.GRACE_S + 1  # the visitor left: their runs become ordinary cache entries
    queue.request([c])
    queue.run_once()
    assert list(queue.entries) == [c]


def test_eviction_keeps_the_finished_part_of_an_unfinished_big_job_and_pinned_runs():
    pinned = Recipe("post", 0)
    queue, fake = make_queue(chunk=2, max_kept_mb=0.15, pinned=[pinned])
    queue.request([pinned])
    queue.run_once()
    job = queue.request_big("t", seeds(3, start=1), "comparison of 3 seeds")
    queue.run_once()
    queue.request(pair(50), "student")  # trains, and would evict the job's first chunk without protection
    drain(queue)
    assert job.done and job.runs is not None and len(fake.calls) == 5  # nothing retrained
    assert pinned in queue.entries


def test_a_status_query_never_queues_work():
    queue, fake = make_queue(chunk=2, max_kept_mb=0.15)
    queue.request([Recipe("post", 1)])
    queue.run_once()
    queue.request([Recipe("post", 2)])
    queue.run_once()  # seed 1 evicted
    entries = queue.lookup([Recipe("post", 1), Recipe("post", 2)], "visitor")
    assert entries[0] is None
    status = queue.status(entries, "visitor")
    assert status.text == "not queued yet" and not status.done
    assert queue.plan() == [] and queue.run_once() is None and len(fake.calls) == 2


def test_a_failed_training_is_dropped_so_a_later_request_retries():
    queue, fake = make_queue(chunk=2, fake=FakeTrainer(fail_on={1}))
    bad = queue.request(pair(3), "v")
    queue.run_once()
    assert [e.error for e in bad] == ["training failed: MemoryError: no room"] * 2
    assert pair(3)[0] not in queue.entries and not queue.trained
    assert queue.status(bad, "v").error == "training failed: MemoryError: no room"
    again = queue.request(pair(3), "v")
    queue.run_once()
    assert all(e.run is not None and e.error is None for e in again)
    assert queue.trained == {pair(3)[0]: 1, pair(3)[1]: 1}


def test_a_failed_chunk_fails_its_big_job_and_asking_again_retrains_only_what_failed():
    queue, fake = make_queue(chunk=4, fake=FakeTrainer(fail_on={2}))
    job = queue.request_big("t", seeds(4), "comparison of 4 seeds")
    drain(queue)
    assert job.done and job.error == "training failed: MemoryError: no room" and job.runs is None
    assert "t" not in queue.big  # it left the rotation
    retry = queue.request_big("t", seeds(4), "comparison of 4 seeds")
    drain(queue)
    assert retry.runs is not None and fake.calls[-1] == seeds(2, 2)


def test_the_trained_counter_is_pruned_with_the_board():
    queue, _ = make_queue(chunk=2, max_kept_mb=0.25)
    for seed in range(5):
        queue.request([Recipe("post", seed)])
        queue.run_once()
    assert set(queue.trained) == set(queue.entries) == {Recipe("post", 3), Recipe("post", 4)}
    assert queue.models_trained == 5


def test_queued_work_of_a_visitor_who_left_is_dropped():
    clock = Clock()
    queue, fake = make_queue(chunk=4, clock=clock, session_alive=lambda v: v == "connected")
    gone = queue.request_big("gone", seeds(4), "comparison of 4 seeds")
    stays = queue.request_big("connected", seeds(2, start=50), "comparison of 2 seeds")
    clock.t += trainer.GRACE_S + 1  # neither asked anything since; only one session is still connected
    drain(queue)
    assert fake.calls == [seeds(2, 50)]
    assert all(e.error == "dropped from the queue: no page was waiting for it any more" for e in gone.entries)
    assert stays.done and stays.error is None and "gone" not in queue.seen


def test_a_visitor_paging_through_seeds_keeps_only_their_last_pairs_queued():
    queue, fake = make_queue(chunk=2)
    for seed in range(10):  # a student scrubs through ten seeds before anything trains
        queue.request(pair(seed), "student")
    drain(queue)
    trained_seeds = sorted({r.seed for call in fake.calls for r in call})
    assert trained_seeds == list(range(10 - trainer.INTERACTIVE_KEPT // 2, 10))


def test_anonymous_requests_stay_queued_until_trained():
    clock = Clock()
    queue, fake = make_queue(chunk=2, clock=clock)
    queue.request(pair(1))  # the server itself (the default pair) or a script: no session to wait for
    clock.t += 10 * trainer.GRACE_S
    drain(queue)
    assert fake.calls == [pair(1)]


# --------------------------------------------------------------------------------------------------
# Status that tells the truth


def test_the_status_says_what_runs_now_how_many_models_are_ahead_and_how_long():
    seen = {}
    queue, fake = make_queue(chunk=4)

    def during():  # a student opens seed 40 while the teacher's first chunk trains
        if len(fake.calls) == 2:
            queue.request(pair(40), "student")
            seen["student"] = queue.status(queue.lookup(pair(40), "student"), "student")
            seen["teacher"] = queue.status(queue.lookup(seeds(8), "teacher"), "teacher")

    fake.during = during
    queue.request_big("teacher", seeds(8), "comparison of 8 seeds")
    queue.request_big("other", seeds(2, start=200), "comparison of 2 seeds")
    queue.request(pair(30), "first-student")
    queue.run_once()  # the first student's pair
    queue.run_once()  # the teacher's first chunk, with the status taken inside
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
    queue, fake = make_queue(pinned=pair(0))
    seen = {}

    def during():
        queue.request(pair(3), "visitor")
        seen["status"] = queue.status(queue.lookup(pair(3), "visitor"), "visitor")
        seen["pair_s"] = queue._predict(2 * STEPS, 2)  # before this unit's time updates the queue's speed

    fake.at, fake.during = 10, during
    queue.request(pair(0))  # the server's own request: no visitor
    queue.run_once()
    status = seen["status"]
    assert status.text.startswith(f"waiting for the default 2 models every page shows first (step 10 of {STEPS:,})")
    assert status.ahead == 2
    assert status.eta == pytest.approx(2 * seen["pair_s"], rel=0.01)  # the pair ahead, then its own


def test_the_estimate_counts_every_unit_until_the_last_of_yours():
    queue, _ = make_queue(chunk=4)
    queue.request_big("t1", seeds(4), "comparison of 4 seeds")  # 2 chunks
    queue.request_big("t2", seeds(4, start=10), "comparison of 4 seeds")  # 2 chunks, in turns with t1
    one_chunk = queue._predict(4 * STEPS, 4)
    t1 = queue.status(queue.lookup(seeds(4), "t1"), "t1")
    t2 = queue.status(queue.lookup(seeds(4, start=10), "t2"), "t2")
    assert t1.text == "queued · yours are next · " + jobs.wait_text(3 * one_chunk) + " to go"
    assert t1.eta == pytest.approx(3 * one_chunk) and t2.eta == pytest.approx(4 * one_chunk)
    assert t2.ahead == 4


def test_when_done_the_status_is_the_final_summary():
    queue, _ = make_queue(chunk=4)
    entries = queue.request(pair(1), "v")
    queue.run_once()
    status = queue.status(entries, "v")
    assert status.done and status.fraction == 1.0 and status.error is None
    assert status.text.startswith("2 models trained in ") and status.text.endswith(" s")


def test_estimates_round_honestly():
    assert [jobs.wait_text(s) for s in (0.2, 3.2, 9.9, 10.1, 41, 119, 121, 600)] == [
        "1 s", "4 s", "10 s", "about 20 s", "about 50 s", "about 120 s", "about 3 min", "about 10 min",
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Keys (issue 15 item 1)


def test_recipe_keys_hold_the_schedules_full_digest():
    custom = parse_dopesheet("STEP,lr\n0,0.02\n3000,0.02\n")
    key = Recipe("post", 3, custom).key
    assert key == f"post-s3-b64-{custom.digest}" and len(custom.digest) == 64


def test_chunked_training_gives_the_numbers_of_training_alone():
    """The real train(): a model trained in a chunk of the queue equals the model trained by itself."""
    from excolor.train import train

    short = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n80,0.05,0,0,0,0\n")
    queue = TrainingQueue(start=False, chunk_model_steps=3 * short.steps)
    job = queue.request_big("t", seeds(2, schedule=short), "comparison")
    drain(queue)
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
    queue, _ = make_queue(chunk=4, max_waiting_models=256)
    results = [
        queue.request_big(f"session-{i}", seeds(32, start=100 * (i + 1)), "comparison of 32 seeds", "203.0.113.9")
        for i in range(8)
    ]
    accepted = [job for job in results if job.refused is None]
    assert len(accepted) == int(256 * trainer.ADDRESS_SHARE) // 64
    refusal = results[-1].refused
    assert refusal.startswith("other visitors at your network address have 128 models waiting") and "\n" not in refusal
    honest = queue.request_big("honest", seeds(32), "comparison of 32 seeds", "192.0.2.1")
    assert honest.refused is None
    same_browser = queue.request_big("session-0", seeds(32, start=100), "comparison of 32 seeds", "203.0.113.9")
    assert same_browser is results[0]  # one big job per identity: asking again is the same job
