"""The process-wide training queue with its real worker thread and real training: a recipe is trained once
however many sessions ask at the same time; the app's keys, caches and file names name the full recipe.
(The queue's order and bounds, with training stubbed: tests/test_queue.py.)"""

import hashlib
import threading

import pytest

from excolor.app.trainer import TrainingQueue
from excolor.schedule import Schedule, parse_dopesheet, to_dopesheet
from excolor.train import Recipe

SHORT = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n120,0.05,0,0,0,0\n")


def _wait(entries, timeout=60.0):
    for entry in entries:
        assert entry.done.wait(timeout), "training did not finish"


def test_thirty_simultaneous_requests_train_each_recipe_once():
    queue = TrainingQueue()
    recipes = [Recipe("pre", 5, SHORT), Recipe("post", 5, SHORT)]
    start = threading.Barrier(30)
    seen = []

    def visitor(i):
        start.wait()  # everyone asks at the same instant
        entries = queue.request(recipes, f"visitor-{i}")
        _wait(entries)
        seen.append(tuple(id(e) for e in entries))

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert len(seen) == 30
    assert len(set(seen)) == 1  # every visitor got the very same entries
    assert queue.trained == {recipes[0]: 1, recipes[1]: 1}
    entries = queue.request(recipes)
    assert [e.run.recipe for e in entries] == recipes and all(e.error is None for e in entries)
    queue.stop()


def test_a_big_job_and_a_pair_asked_for_during_it_both_finish_on_the_worker():
    queue = TrainingQueue(chunk_model_steps=2 * SHORT.steps)
    job = queue.request_big("teacher", [Recipe(p, s, SHORT) for s in range(20, 24) for p in ("pre", "post")], "cmp")
    pair = queue.request([Recipe("pre", 30, SHORT), Recipe("post", 30, SHORT)], "student")
    _wait(pair)
    _wait(job.entries)
    assert job.runs is not None and all(e.run is not None for e in pair)
    assert queue.current is None and not queue.big  # the finished job left the rotation
    queue.stop()


def test_a_failing_training_reports_its_error_the_worker_keeps_going_and_a_retry_trains(monkeypatch):
    from excolor.app import trainer

    calls = []
    real_train = trainer.train

    def broken_train(recipes, progress=None):
        calls.append(recipes)
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return real_train(recipes, progress=progress)

    queue = TrainingQueue(train_fn=broken_train)
    bad = queue.request([Recipe("post", 3, SHORT)])
    _wait(bad)
    assert bad[0].error == "training failed: RuntimeError: out of memory"
    retry = queue.request([Recipe("post", 3, SHORT)])  # the failure was not kept: this trains it
    _wait(retry)
    assert retry[0].error is None and retry[0].run.recipe == Recipe("post", 3, SHORT)
    queue.stop()


def test_stop_abandons_a_running_training_quickly():
    queue = TrainingQueue()
    long = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n19000,0.05,0,0,0,0\n")
    (entry,) = queue.request([Recipe("post", 9, long)])
    queued = queue.request([Recipe("pre", 9, long)])  # a chunk of 8 default models holds one of 19,000 steps
    while entry.unit is None or entry.unit.step == 0:
        entry.done.wait(0.05)
    queue.stop(timeout=10)
    assert not queue.worker.is_alive()
    assert entry.done.is_set() and entry.error == "the server is shutting down"
    assert entry.unit.step < 19_000
    assert queued[0].error == "the server is shutting down"


# --------------------------------------------------------------------------------------------------
# Keys (issue 15 item 1): every shared cache is keyed by the recipe's full identity


@pytest.mark.parametrize("placement", ["pre", "post"])
def test_recipe_keys_name_placement_seed_batch_and_the_full_schedule_digest(placement):
    key = Recipe(placement, 7, SHORT).key
    assert key == f"{placement}-s7-b64-{hashlib.sha256(to_dopesheet(SHORT).encode()).hexdigest()}"
    assert key != Recipe(placement, 7).key  # a different schedule is a different recipe


def test_schedules_whose_old_40_bit_keys_collide_get_their_own_cached_numbers(monkeypatch):
    """Issue 15's attack: two schedules (lr 0.02 and lr 1e-7) with the same first 10 hex digits. The digest is
    patched so that their first 10 digits agree (as a crafted collision's would) while the rest differ: each
    still gets its own validation losses, evaluation and file name."""
    from excolor.app import caches, downloads
    from excolor.evaluate import validation_losses
    from excolor.train import train

    def colliding_digest(schedule):
        return "0123456789" + hashlib.sha256(to_dopesheet(schedule).encode()).hexdigest()[10:]

    monkeypatch.setattr(Schedule, "digest", property(colliding_digest))
    fast = parse_dopesheet("STEP,lr\n0,0.02\n150,0.02\n")
    slow = parse_dopesheet("STEP,lr\n0,1e-7\n150,1e-7\n")
    run_fast, run_slow = (train(Recipe("post", 0, s))[0] for s in (fast, slow))
    assert run_fast.recipe.key[:22] == run_slow.recipe.key[:22]  # the old 10-digit keys: equal
    assert caches.validation(run_fast) != caches.validation(run_slow)
    expected = [validation_losses(run.model) for run in (run_fast, run_slow)]  # computed afresh, uncached
    monkeypatch.setattr(caches, "validation_losses", lambda model: pytest.fail("computed again: not cached"))
    for run, numbers in zip((run_fast, run_slow), expected):  # each still cached, each number its run's own
        assert caches.validation(run) == numbers
    assert caches.evaluation(run_fast).max_error < 0.5 < caches.evaluation(run_slow).max_error  # barely trained
    assert downloads.file_stem(run_fast) == downloads.file_stem(run_slow) == "excolor-post-s0-b64-0123456789"


# --------------------------------------------------------------------------------------------------
# What a page shows (issue 14 item 5): the final summary once done, and a weight of 0 read as such


def test_when_training_ends_the_status_box_shows_the_final_summary_not_the_last_step():
    from streamlit.testing.v1 import AppTest

    def page():
        import streamlit as st

        from excolor.app import training
        from excolor.schedule import parse_dopesheet
        from excolor.train import Recipe

        short = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n400,0.05,0,0,0,0\n")
        runs = training.trained([Recipe("pre", 123, short), Recipe("post", 123, short)], label="Training both")
        st.markdown(f"got {len(runs)} runs")

    at = AppTest.from_function(page, default_timeout=120).run()
    assert not at.exception and at.markdown[-1].value == "got 2 runs"
    (box,) = at.status
    assert box.label.startswith("Training both: done in ") and "(2 models trained in " in box.label
    assert box.state == "complete"
    (bar,) = at.progress
    assert bar.value == 100 and bar.text.startswith("2 models trained in ")  # the summary, not "step 400 of 401"
    assert not [c for c in at.caption if "losses at step" in c.value]


def test_the_loss_line_reads_a_weight_of_0_as_off():
    import numpy as np

    from excolor.app.jobs import Entry, Unit
    from excolor.app.training import loss_line

    entries = tuple(Entry(Recipe(p, 0), asked=0.0) for p in ("pre", "post"))  # the default schedule
    losses = {"recon": np.array([1e-4, 3e-4]), "separate": np.array([0.5, 0.5]), "anchor": np.array([0.0, 0.0])}
    late = Unit(entries, step=2_900, losses={**losses, "unit": np.zeros(2), "planar": np.zeros(2)})
    early = Unit(entries, step=1_000, losses=losses)
    assert loss_line(late) == (
        "losses at step 2,900 (mean over the 2 models training together): recon 2.00e-04 · separate off (weight 0) · "
        "anchor off (weight 0) · unit off (weight 0) · planar off (weight 0)"
    )
    assert loss_line(early).endswith("recon 2.00e-04 · separate 5.00e-01 · anchor 0.00e+00")  # on, and truly 0


def test_sweep_records_are_measured_once_and_a_page_can_read_them_without_measuring(monkeypatch):
    """A page that only mentions a comparison (the placement page's 'across seeds' line) reads the records the
    comparison measured, and gets None rather than measuring a comparison that is still training."""
    from excolor import measures
    from excolor.app import caches
    from excolor.train import train

    measured = []
    monkeypatch.setattr(measures, "run_record", lambda run: measured.append(run.recipe) or {"seed": run.recipe.seed})
    runs = train([Recipe("pre", 61, SHORT), Recipe("post", 61, SHORT)])
    assert caches.measured_records(runs) is None and measured == []  # nothing measured yet: None, and no cost
    first = caches.run_record(runs[0])
    assert caches.measured_records(runs) is None  # one of the two is still unmeasured
    assert caches.run_record(runs[1]) == {"seed": 61} and first == {"seed": 61}
    records = caches.measured_records(runs)
    assert records == [{"seed": 61}, {"seed": 61}] and measured == [r.recipe for r in runs]  # each measured once
    records[0]["seed"] = -1  # a caller changing its copy changes nobody else's
    assert caches.run_record(runs[0]) == {"seed": 61} and len(measured) == 2


def test_sessions_asking_for_the_same_record_at_once_measure_it_once(monkeypatch):
    from excolor import measures
    from excolor.app import caches
    from excolor.train import train

    measured, start = [], threading.Barrier(8)

    def slow_record(run):
        measured.append(run.recipe)
        threading.Event().wait(0.2)  # long enough for every thread to arrive while it measures
        return {"seed": run.recipe.seed}

    monkeypatch.setattr(measures, "run_record", slow_record)
    (run,) = train(Recipe("post", 62, SHORT))
    got = []

    def session():
        start.wait()
        got.append(caches.run_record(run))

    threads = [threading.Thread(target=session) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert got == [{"seed": 62}] * 8 and measured == [run.recipe]
