"""The evidence page, and the promise behind it: sweeps reuse runs the rest of the app already trained."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

from untrained import forget  # noqa: E402

from excolor import lab, measures  # noqa: E402
from excolor.app import trainer, training, visitor  # noqa: E402
from excolor.schedule import EX24, parse_dopesheet  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SHORT = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n200,0.05,0,0,0,0\n")


def test_sweep_recipes_are_the_pairs_the_other_pages_ask_for():
    recipes = visitor.sweep_recipes(8, EX24)
    assert len(recipes) == 16 and len(set(recipes)) == 16
    assert recipes[:2] == list(training.default_recipes(0, EX24))
    assert set(training.default_recipes(5, EX24)) <= set(recipes)


def test_a_sweep_trains_only_the_recipes_not_trained_yet():
    defaults = training.default_recipes(0, SHORT)
    b = trainer.TrainingQueue(pinned=defaults, chunk_model_steps=2 * SHORT.steps)
    first = b.request(defaults)
    assert all(e.done.wait(120) and e.error is None for e in first)

    sweep = visitor.sweep_recipes(3, SHORT)
    job = b.request_big("teacher", sweep, "comparison of 3 seeds")
    assert list(job.entries[:2]) == first  # the default pair comes from the entries that already trained it
    assert all(e.done.wait(120) and e.error is None for e in job.entries)
    assert job.runs is not None

    again = b.request_big("teacher", sweep, "comparison of 3 seeds")  # asking again trains nothing
    assert again.done and [e.run for e in again.entries] == job.runs
    assert b.plan() == []
    assert set(b.trained) == set(sweep)
    assert all(count == 1 for count in b.trained.values())
    b.stop()


def _charts(at):
    return at.get("vega_lite_chart")


@pytest.fixture(scope="module")
def page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.switch_page("pages/evidence.py")
    at.run()
    assert not at.exception
    return at


def test_evidence_page_waits_for_a_click_before_training(page):
    if training.is_trained(visitor.sweep_recipes(8, EX24)):
        pytest.skip("another test in this process already trained 8 seeds")
    assert page.slider(key="evidence_seeds").value == 8
    assert any(b.label.startswith("Train and compare 8 seeds") for b in page.button)
    assert not _charts(page)


def test_evidence_page_trains_measures_and_gives_a_verdict(page):
    forget(lab.comparison_recipes("pre", "post", 2))  # whatever earlier tests trained, the page must ask
    page.slider(key="evidence_seeds").set_value(2).run()
    train = [b for b in page.button if b.label.startswith("Train and compare 2 seeds")]
    assert len(train) == 1, [b.label for b in page.button]
    train[0].click().run()
    assert not page.exception, [e.value for e in page.exception]

    assert "Verdict" in [h.value for h in page.header]
    verdict = next(m.value for m in page.markdown if "seeds" in m.value and "headline number" in m.value)
    assert "baseline max error" in verdict and "95% CI" in verdict
    assert "cannot settle" in verdict  # 2 seeds are never enough to call a difference

    charts = _charts(page)
    assert len(charts) == 1 + 2 * len(measures.MEASURES)  # the overview, then distribution + differences per measure
    captions = [c.value for c in page.caption]
    assert any(c.startswith("Median paired difference (post − pre)") for c in captions)
    assert sum("Grey lines join the two runs of the same seed" in c for c in captions) == len(measures.MEASURES)
    assert sum(c.startswith("Each dot is one seed's") for c in captions) == len(measures.MEASURES)

    # seed 0 is the app's default pair: trained once for the whole process, whichever page asked first
    b = training.queue()
    assert all(b.trained[r] == 1 for r in visitor.sweep_recipes(2, EX24))

    # the records are cached per recipe: a rerun measures nothing and gives the same verdict
    page.run()
    assert not page.exception
    assert verdict in [m.value for m in page.markdown]
