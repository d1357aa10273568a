"""A loss that becomes NaN is a divergence too (issue 28): every divergence check in train() is run with NaN
injected, as tests/test_train.py runs it with inf. `np.isinf` in place of `~np.isfinite` would pass every inf test
and miss every one of these."""

import math
import threading

import numpy as np
import pytest
from test_train import STEPS, InfFrom, fingerprint  # noqa: E402  (the inf injector, with NaN as its value)

from excolor import backprop
from excolor.schedule import parse_dopesheet
from excolor.train import Divergence, Recipe, train


class NanFrom(InfFrom):
    """From training step `step` on, report `term` as NaN for the chosen models (0 x inf, inf - inf: a NaN loss)."""

    value = math.nan


def test_a_nan_term_is_reported_with_its_step_and_term(monkeypatch, short_schedule):
    NanFrom(monkeypatch, "planar", 5, [0])
    run = train(Recipe("post", 0, short_schedule))[0]
    assert run.diverged == Divergence(5, "planar")
    assert len(run.history["recon"]) == 6  # training stopped once every model had diverged
    assert np.isnan(run.history["planar"][5]) and np.isnan(run.history["total"][5])
    assert np.isfinite(run.history["total"][:5]).all()


def test_a_nan_recon_term_is_named_first(monkeypatch, short_schedule):
    NanFrom(monkeypatch, "recon", 9, [0])
    assert train(Recipe("pre", 0, short_schedule))[0].diverged == Divergence(9, "recon")


def test_a_nan_in_one_model_leaves_its_neighbours_alone(monkeypatch, short_schedule):
    solo = train(Recipe("post", 0, short_schedule))[0]
    NanFrom(monkeypatch, "anchor", 7, [1])
    runs = train([Recipe("post", 0, short_schedule), Recipe("pre", 1, short_schedule)])
    assert runs[0].diverged is None and len(runs[0].history["recon"]) == STEPS
    assert fingerprint(runs[0]) == fingerprint(solo)
    assert runs[1].diverged == Divergence(7, "anchor")


def test_a_nan_in_a_term_switched_off_is_no_divergence(monkeypatch):
    schedule = parse_dopesheet("STEP,lr,unit\n0,0.01,0.01\n100,0.01,0\n150,0.01,0\n")
    NanFrom(monkeypatch, "unit", 120, [0])
    run = train(Recipe("post", 0, schedule))[0]
    assert run.diverged is None and len(run.history["recon"]) == 151
    assert np.isnan(run.history["unit"][120:]).all() and np.isfinite(run.history["total"]).all()


def test_a_nan_in_a_term_the_design_switches_off_is_no_divergence(monkeypatch, short_schedule):
    NanFrom(monkeypatch, "planar", 3, [0, 1])
    runs = train([Recipe("post,planar=off", 0, short_schedule), Recipe("post", 0, short_schedule)])
    assert runs[0].diverged is None and np.isfinite(runs[0].history["total"]).all()
    assert runs[1].diverged == Divergence(3, "planar")


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_total_that_alone_is_not_a_number_is_reported_as_the_total(monkeypatch, short_schedule, bad):
    """Every term finite, the weighted sum not (as when inf - inf or a huge weight meets a term): 'total'."""
    original, ours, calls = backprop.Step.total, threading.current_thread(), []

    def total(step_self):
        original(step_self)
        if threading.current_thread() is ours:  # an app test's background trainer is not ours
            if len(calls) >= 4:
                step_self.row[-1, :] = bad
            calls.append(1)

    monkeypatch.setattr(backprop.Step, "total", total)
    runs = train([Recipe("pre", 0, short_schedule), Recipe("post", 0, short_schedule)])
    assert [r.diverged for r in runs] == [Divergence(4, "total")] * 2
    assert all(len(r.history["recon"]) == 5 for r in runs)
