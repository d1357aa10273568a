"""A diverged run on every page (AppTest, issue 15 item 2): each page renders, says which run diverged, puts a short
note where that run's figures would be, and draws the other run as usual.

Which runs a real schedule makes diverge depends on float32 rounding in training: the issue's schedule (separate
3e36 at lr 0.01) made pre-norm alone diverge at step 1 with autograd; with the hand-written backward pass it
trained both placements, and later made post-norm diverge too. So the one-run case is made certain here: the
server's board trains a harmless schedule normally and then swaps each pre-norm run of it for what divergence at
step 1 leaves behind (NaN weights, NaN history and replay from step 1, a Divergence). The both-runs case uses real
training: a weight of 1e300 is infinite in float32, so every model diverges at step 0 whatever the arithmetic.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from untrained import forget

from excolor import lab
from excolor.app import training
from excolor.schedule import parse_dopesheet
from excolor.train import Divergence

torch.set_num_threads(1)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PRE_DIVERGES = "STEP,lr,separate\n0,0.01,0.02\n200,0.01,0.02\n"  # trains fine: pre-norm's divergence is made
BOTH_DIVERGE = "STEP,lr,separate\n0,1,1e300\n217,1,1e300\n"  # a length no other test uses: trained here
PRE = "pre-norm (Ex 2.3)"
POST = "post-norm (Ex 2.4)"
PRE_MESSAGE = f"{PRE}: training diverged at step 1: the recon term became NaN or infinite."
PRE_NOTE = f"{PRE} diverged at step 1 (its recon term became NaN or infinite): nothing to draw."


def diverged_at_step_1(run):
    """The run as divergence at step 1 leaves it: every weight NaN, the history and the replay NaN from step 1."""
    history = {k: np.asarray(v, dtype=float).copy() for k, v in run.history.items()}
    for term in ("recon", "separate", "anchor", "unit", "planar", "total"):
        history[term][1:] = np.nan
    latents = run.replay.latents.copy()
    latents[1:] = np.nan
    return dataclasses.replace(
        run,
        weights={k: torch.full_like(v, math.nan) for k, v in run.weights.items()},
        history=history,
        replay=dataclasses.replace(run.replay, latents=latents),
        diverged=Divergence(1, "recon"),
    )


@pytest.fixture(scope="module")
def pre_diverges():
    """An AppTest session whose schedule is PRE_DIVERGES: pre-norm diverged at step 1, post-norm trained."""
    from streamlit.testing.v1 import AppTest

    b = training.queue()
    real, schedule = b.train_fn, parse_dopesheet(PRE_DIVERGES)

    def train(recipes, progress=None):
        runs = real(recipes, progress=progress)
        swap = [r.recipe.design.text == "pre" and r.recipe.schedule == schedule for r in runs]
        return [diverged_at_step_1(r) if s else r for r, s in zip(runs, swap, strict=True)]

    b.train_fn = train
    try:
        yield _session(AppTest, PRE_DIVERGES)
    finally:
        b.train_fn = real


def _session(AppTest, schedule: str):
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/placement.py").run()
    at.session_state["schedule_text"] = schedule
    at.button(key="schedule_apply").click().run()
    _ok(at)
    return at


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _decks(at) -> int:
    return len(at.get("deck_gl_json_chart"))


def _visit(at, page: str):
    at.switch_page(page).run()
    _ok(at)
    return at


def test_the_hypothesis_page_and_the_sidebar_say_which_run_diverged(pre_diverges):
    at = _visit(pre_diverges, "app.py")
    assert any(e.startswith(PRE_MESSAGE) for e in _texts(at.error)), _texts(at.error)
    assert not any("Both models" in s for s in _texts(at.success))
    sidebar = [c.value for c in at.sidebar.caption]
    assert f"⚠️ seed 0: {PRE} diverged at step 1" in sidebar, sidebar


def test_the_placement_page_draws_post_norm_and_says_why_pre_norm_has_no_view(pre_diverges):
    at = _visit(pre_diverges, "pages/placement.py")
    assert any(e.startswith(PRE_MESSAGE) for e in _texts(at.error)), _texts(at.error)
    metrics = {m.label: m for m in at.metric}
    assert metrics["Max error · pre-norm"].value == "n/a"
    assert 0 < float(metrics["Max error · post-norm"].value) < 1  # post-norm trained: a real number
    assert metrics["Max error · post-norm"].proto.delta == ""  # no "+nan% vs pre-norm"
    captions = _texts(at.caption)
    assert not [c for c in captions if re.search(r"\bnan\b", c)], [c for c in captions if "nan" in c]
    curves = next(c for c in captions if c.startswith("Loss terms against training step"))
    assert re.search(rf"{re.escape(PRE)}: reconstruction [0-9.]+ → diverged, ", curves), curves
    assert "(first step → the loss stopped being a number at step 1)" in curves
    assert re.search(rf"{re.escape(POST)}: reconstruction [0-9.]+ → [0-9.]+", curves)  # post-norm: its numbers
    replay = next(c for c in captions if "probe" in c)
    # issue 24 item 11: the replay's slider grid ends at step 200 of this 201-step schedule
    assert f"{PRE}: step 200: training diverged; 232 of 232 probe latents are not numbers" in replay
    assert f"{POST}: step 200. Unit latents of 232 probe colors" in replay
    table = next(c for c in captions if c.startswith("Final losses and errors side by side"))
    assert re.search(r"pre-norm diverged, post-norm [0-9.]+: with a run diverged there is no ratio", table), table
    at.session_state["placement_space"] = "After training, in 3-D"  # the latent space's 3-D tab, opened
    at.run()
    _ok(at)
    assert PRE_NOTE in _texts(at.info)
    assert _decks(at) == 1  # post-norm's latent view; pre-norm's is the note


@pytest.mark.parametrize("page", ["pages/reconstruction.py", "pages/interventions.py"])
def test_a_one_model_page_draws_post_norm_and_names_the_diverged_pre_norm(pre_diverges, page):
    at = _visit(pre_diverges, page)
    assert any(e.startswith(PRE_MESSAGE) for e in _texts(at.error)), _texts(at.error)
    assert PRE_NOTE not in _texts(at.info)  # post-norm is shown: its figures are all drawn
    space = "reconstruction_space" if "reconstruction" in page else "interventions_space"
    at.session_state[space] = "Rotate it in 3-D" if "reconstruction" in page else "In 3-D, with the cones"
    at.run()  # the latent space's 3-D tab, opened
    _ok(at)
    assert _decks(at) == (3 if "reconstruction" in page else 2)
    assert all(m.proto.delta == "" or "nan" not in m.proto.delta for m in at.metric)


@pytest.mark.parametrize("page", ["pages/reconstruction.py", "pages/interventions.py"])
def test_a_one_model_page_showing_the_diverged_run_says_why_instead_of_drawing(pre_diverges, page):
    at = _visit(pre_diverges, page)
    key = "reconstruction_placement" if "reconstruction" in page else "interventions_placement"
    at.segmented_control(key=key).set_value("pre").run()
    _ok(at)
    try:
        assert any(e.startswith(PRE_MESSAGE) for e in _texts(at.error)), _texts(at.error)
        assert PRE_NOTE in _texts(at.info)
        assert _decks(at) == 0 and not at.metric
        # interventions: the two mapping curves are the interventions' own, not the run's: still drawn
        assert len(at.get("vega_lite_chart")) == (0 if "reconstruction" in page else 2)
    finally:
        at.segmented_control(key=key).set_value("post").run()


def test_the_lab_names_the_diverged_runs_and_draws_the_others(pre_diverges):
    at = _visit(pre_diverges, "pages/evidence.py")
    at.slider(key="evidence_seeds").set_value(2).run()
    at.button(key="lab_compare_started_button").click().run()
    _ok(at)
    warnings = [w for w in _texts(at.warning) if "left out of the paired comparison" in w]
    assert len(warnings) == 1 and "pre seed 0: training diverged at step 1" in warnings[0], _texts(at.warning)
    assert "pre seed 1: training diverged at step 1" in warnings[0] and "post seed" not in warnings[0]
    assert f"{PRE} diverged at step 1 (its recon term became NaN or infinite): nothing to draw." in _texts(at.info)
    assert _decks(at) == 1  # seed 0: B (post-norm) drawn, A (pre-norm) the note
    # item 7: the CLI equivalent names the custom schedule and offers it as a file
    captions = _texts(at.caption)
    command = "`python -m excolor compare --a pre --b post --seeds 2 --schedule excolor-schedule.csv --json`"
    assert any(command in c for c in captions), [c for c in captions if "python -m" in c]


def test_the_cli_caption_has_no_schedule_option_for_ex24():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/evidence.py").run()
    forget(lab.comparison_recipes("pre", "post", 2))  # whatever earlier tests trained, the page must ask
    at.slider(key="evidence_seeds").set_value(2).run()
    at.button(key="lab_compare_started_button").click().run()  # AppTest raises if the button is not there
    _ok(at)
    commands = [c for c in _texts(at.caption) if "python -m excolor" in c]
    assert commands == ["The same as `python -m excolor compare --a pre --b post --seeds 2 --json` prints."], commands


@pytest.fixture(scope="module")
def both_diverge():
    from streamlit.testing.v1 import AppTest

    return _session(AppTest, BOTH_DIVERGE)


@pytest.mark.parametrize("page", ["app.py", "pages/placement.py", "pages/reconstruction.py", "pages/interventions.py"])
def test_with_both_runs_diverged_every_page_says_so_and_draws_no_latent_view(both_diverge, page):
    at = _visit(both_diverge, page)
    errors = _texts(at.error)
    for name in (PRE, POST):  # real training: the infinite weight makes the total infinite at step 0
        assert any(e.startswith(f"{name}: training diverged at step 0: the total term") for e in errors), errors
    if page == "pages/placement.py":  # its latent views are in the latent space's 3-D tab: open it
        at.session_state["placement_space"] = "After training, in 3-D"
        at.run()
        _ok(at)
        assert len([t for t in _texts(at.info) if "diverged" in t]) >= 2, _texts(at.info)  # a note for each
    assert _decks(at) == 0
    # training stopped before the first update, so the weights are the untrained ones: still no numbers, no verdict
    assert all(m.value == "n/a" for m in at.metric), [(m.label, m.value) for m in at.metric]
    assert not any("Measured" in t for t in _texts(at.info) + _texts(at.success) + _texts(at.warning))
