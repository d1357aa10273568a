"""The process-wide training board: a recipe is trained once however many sessions ask at the same time."""

import threading

import pytest

from excolor.app.board import Board, recipe_key
from excolor.schedule import parse_dopesheet
from excolor.train import Recipe

SHORT = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n120,0.05,0,0,0,0\n")


def _wait(jobs, timeout=60.0):
    for job in jobs:
        assert job.done.wait(timeout), "training did not finish"


def test_thirty_simultaneous_requests_train_each_recipe_once():
    board = Board()
    recipes = [Recipe("pre", 5, SHORT), Recipe("post", 5, SHORT)]
    start = threading.Barrier(30)
    seen = []

    def visitor():
        start.wait()  # everyone asks at the same instant
        jobs = board.request(recipes)
        _wait(jobs)
        seen.append(tuple(id(j) for j in jobs))

    threads = [threading.Thread(target=visitor) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert len(seen) == 30
    assert len(set(seen)) == 1  # every visitor got the very same job
    assert board.trained == {recipes[0]: 1, recipes[1]: 1}
    job = board.request(recipes)[0]
    assert set(job.runs) == set(recipes) and job.error is None


def test_a_later_request_reuses_trained_recipes_and_trains_only_the_new_ones():
    board = Board()
    first = [Recipe("pre", 1, SHORT), Recipe("post", 1, SHORT)]
    _wait(board.request(first))
    more = [*first, Recipe("pre", 2, SHORT), Recipe("post", 2, SHORT)]
    jobs = board.request(more)
    _wait(jobs)
    assert len(jobs) == 2  # the old job (reused) and one new job holding only the two new recipes
    assert set(jobs[1].recipes) == set(more[2:])
    assert all(count == 1 for count in board.trained.values()) and len(board.trained) == 4


def test_a_failing_job_reports_its_error_and_the_worker_keeps_going(monkeypatch):
    from excolor.app import board as board_module

    board = Board()
    calls = []

    def broken_train(recipes, progress=None):
        calls.append(recipes)
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return real_train(recipes, progress=progress)

    real_train = board_module.train
    monkeypatch.setattr(board_module, "train", broken_train)
    bad = board.request([Recipe("post", 3, SHORT)])
    _wait(bad)
    assert bad[0].error == "RuntimeError: out of memory"
    good = board.request([Recipe("post", 4, SHORT)])
    _wait(good)
    assert good[0].error is None and Recipe("post", 4, SHORT) in good[0].runs


def test_finished_runs_are_evicted_beyond_the_limit_but_pinned_ones_stay():
    pinned = Recipe("post", 10, SHORT)
    board = Board(pinned=[pinned], max_runs=2)
    for seed in (10, 11, 12, 13):
        _wait(board.request([Recipe("post", seed, SHORT)]))
    board.request([pinned])  # triggers eviction on a full board
    assert pinned in board.jobs  # the default pair is never evicted
    assert Recipe("post", 11, SHORT) not in board.jobs and Recipe("post", 12, SHORT) not in board.jobs
    assert Recipe("post", 13, SHORT) in board.jobs and len(board.jobs) == 2


@pytest.mark.parametrize("placement", ["pre", "post"])
def test_recipe_keys_name_placement_seed_and_schedule(placement):
    key = recipe_key(Recipe(placement, 7, SHORT))
    assert key.startswith(f"{placement}-s7-b64-")
    assert key != recipe_key(Recipe(placement, 7))  # a different schedule is a different recipe


def test_stop_abandons_a_running_training_quickly():
    board = Board()
    long = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n19000,0.05,0,0,0,0\n")
    job = board.request([Recipe("post", 9, long)])[0]
    while job.step == 0 and not job.done.is_set():
        job.done.wait(0.05)
    board.stop(timeout=10)
    assert not board.worker.is_alive()
    assert job.done.is_set() and job.error == "the server is shutting down"
    assert job.step < 19_000
