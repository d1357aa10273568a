"""Pages 3 (reconstruction error) and 4 (suppression vs repulsion) under Streamlit's AppTest.

Both pages wait for the default pair (seed 0, pre and post), which the app's process-wide board trains once for
the whole test session. The slider tests check what a student sees: the shown max (or median) error moves.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
DEFAULTS = {"sup_a": 0.0, "sup_b": 1.0, "sup_p": 2.0, "rep_a": 0.0, "rep_b": 0.5}
RERUN_LIMIT_S = 2.0  # generous for a loaded CI machine; the target on an idle one is 0.5 s, and the test prints it


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _widget(at, key: str):
    """The slider or select_slider with this key (a/b alignments are select_sliders, showing their angle)."""
    for kind in (at.select_slider, at.slider):
        try:
            return kind(key=key)
        except KeyError:
            continue
    raise KeyError(key)


def _page(path: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def reconstruction():
    return _page("pages/reconstruction.py")


@pytest.fixture()
def interventions():
    return _page("pages/interventions.py")


def test_reconstruction_page_shows_swatches_curves_metrics_and_three_latent_views(reconstruction):
    at = reconstruction
    assert at.title[0].value == "Reconstruction error"
    assert at.segmented_control(key="reconstruction_placement").value == "post"
    metrics = _metrics(at)
    assert float(metrics["Max error · post-norm"]) < 0.01  # a trained model: no color is visibly wrong
    assert float(metrics["Median error · post-norm"]) < 1e-3
    assert len(at.get("vega_lite_chart")) == 4 + 3  # swatch panels, error-curve panels (each its own chart)
    for spec in (json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")):
        # as wide as its column (which a phone stacks), as tall as built: the legend below adds, never squashes
        assert spec["width"] == "container" and spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    assert not at.get("deck_gl_json_chart")  # the 3-D views are a tab, built when it is opened
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Swatches of 768 colors") for c in captions)
    assert any(c.startswith("Error vs hue") for c in captions)
    notes = " ".join(m.value for m in at.markdown)
    assert "every hue is the same color" in notes and "corners of the RGB cube" in notes
    # generated from the measured spikes of both placements, and compared with the notebook's run
    assert "Here (post-norm, S = V = 1)" in notes and "× the mean post-norm and" in notes
    assert "8 of 255 levels" in notes  # the basis of the 0.001 threshold
    assert any(c == "Notebook: 0.0011 (one seed of the original pipeline)" for c in captions)
    assert any("Selectivity r is the correlation" in c for c in captions)  # defined where it first appears
    at.session_state["reconstruction_space"] = "Rotate it in 3-D"  # what a click on the tab sets
    at.run()
    assert not at.exception and at.query_params["space"] == "3d"  # a link opens this tab
    assert len(at.get("deck_gl_json_chart")) == 3  # dims (1, 0, 2), (1, 2, 0), (1, 3, 0)
    assert sum(c.value.startswith("Rotatable 3-D view") for c in at.caption) == 3
    at.session_state["reconstruction_space"] = "What the shapes mean"  # closed again for the next test
    at.run()


def test_reconstruction_placement_toggle_switches_the_model(reconstruction):
    at = reconstruction
    post = _metrics(at)["Max error · post-norm"]
    at.segmented_control(key="reconstruction_placement").set_value("pre").run()
    assert not at.exception
    assert "Max error · pre-norm" in _metrics(at) and _metrics(at)["Max error · pre-norm"] != post
    at.toggle(key="reconstruction_log").set_value(True).run()  # log axis: still renders
    assert not at.exception and len(at.get("vega_lite_chart")) == 4 + 3


def test_interventions_page_shows_both_interventions_side_by_side(interventions):
    at = interventions
    metrics = _metrics(at)
    for name in ("Suppression", "Repulsion"):
        assert float(metrics[f"{name} · max error"]) > 0.01  # red is visibly broken
        assert float(metrics[f"{name} · median error"]) < 1e-3  # most colors are not
    assert {f"{n} · selectivity r" for n in ("Baseline", "Suppression", "Repulsion", "Ablation")} <= set(metrics)
    # issue 24 item 1: how much the other colors suffer, beside how much the damage is shaped like red
    assert metrics["Baseline · collateral"] == "1.00×"
    assert all(metrics[f"{n} · collateral"].endswith("×") for n in ("Suppression", "Repulsion", "Ablation"))
    assert any(
        "how much the damage is shaped like red" in m.value and "Collateral damage" in m.value for m in at.markdown
    )
    assert any(c.value.startswith("Collateral damage: baseline far-from-red median error 1.00×") for c in at.caption)
    # two mapping curves, two swatch charts, two times three error-curve panels, two angle strips, the named colors
    assert len(at.get("vega_lite_chart")) == 2 + 2 + 2 * 3 + 2 + 1
    assert not at.get("deck_gl_json_chart")  # the 3-D views are a tab, built when it is opened
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Suppression gate") for c in captions)
    assert any(c.startswith("Repulsion mapper") for c in captions)
    assert any(c.startswith("Reconstruction error of the 12 named hues") for c in captions)
    assert any("a = 0.00 (cone 90°)" in m.value for m in at.markdown)  # angles next to the alignment values
    assert any("the hole is empty" in c for c in captions)  # the angle strips, without the 3-D projection
    assert any(c.startswith("Notebook: ") for c in captions)  # the notebook's settings: its numbers beside ours
    notes = " ".join(m.value for m in at.markdown)
    assert "Where does red go under repulsion?" in notes and "tilted toward where the model keeps" in notes
    assert "Ablation's worst named hue is" in notes and "red–cyan axis" in notes
    at.session_state["interventions_space"] = "In 3-D, with the cones"  # what a click on the tab sets
    at.run()
    assert not at.exception and at.query_params["space"] == "3d"  # a link opens this tab
    assert len(at.get("deck_gl_json_chart")) == 2  # one view at a time, suppression and repulsion side by side
    captions = [c.value for c in at.caption]
    assert sum("cone (half-angle 90°" in c for c in captions) == 2
    assert any("hole (half-angle 60°" in c for c in captions)
    assert any("the whole hemisphere facing red" in c for c in captions)  # a = 0


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("sup_a", 0.2, "Suppression · max error"),
        ("sup_b", 0.8, "Suppression · max error"),
        ("sup_p", 4.0, "Suppression · max error"),
        ("rep_b", 0.7, "Repulsion · max error"),
        # a only moves where the bend starts: pure red, the worst color, still lands at b, so the max error stays
        # put (0.1108 -> 0.1107) while the colors between a and red, i.e. the median, change
        ("rep_a", 0.4, "Repulsion · median error"),
    ],
)
def test_each_slider_changes_the_reported_error(interventions, key, value, shown):
    at = interventions
    before = _metrics(at)
    _widget(at, key).set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    after = _metrics(at)
    assert after[shown] != before[shown], (key, before[shown])
    other = "Repulsion" if key.startswith("sup") else "Suppression"
    assert after[f"{other} · max error"] == before[f"{other} · max error"]  # the other intervention is untouched


def test_reset_restores_the_notebook_settings(interventions):
    at = interventions
    initial = _metrics(at)
    for key, value in {"sup_a": 0.3, "sup_b": 0.5, "sup_p": 5.0, "rep_a": 0.2, "rep_b": 0.9}.items():
        _widget(at, key).set_value(value)
    at.run()
    assert _metrics(at) != initial
    at.button(key="reset").click().run()
    assert not at.exception
    assert {key: _widget(at, key).value for key in DEFAULTS} == DEFAULTS
    assert _metrics(at) == initial


def test_repulsion_b_below_a_shows_a_message_not_an_exception(interventions):
    at = interventions
    _widget(at, "rep_a").set_value(0.6)
    _widget(at, "rep_b").set_value(0.3)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("b ≥ a" in w.value for w in at.warning)
    assert any("a = 0.60 (cone 53°) · b = 0.60 (hole 53°)" in m.value for m in at.markdown)  # b raised to a
    assert "Repulsion · max error" in _metrics(at)
    _widget(at, "rep_b").set_value(0.8).run()
    assert not at.warning


def test_rerun_after_a_slider_move_is_fast(interventions):
    """Models and the untouched intervention are cached; a move costs one evaluation and its figures."""
    at = interventions
    walls, cpus = [], []
    moves = [("sup_a", 0.05), ("sup_a", 0.1), ("sup_b", 0.9), ("sup_p", 2.5), ("rep_b", 0.55), ("rep_a", 0.1)]
    for key, value in moves:
        _widget(at, key).set_value(value)
        wall, cpu = time.perf_counter(), time.process_time()
        at.run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert not at.exception
    print(
        "\nrerun after a slider move (AppTest, s): wall "
        + " ".join(f"{w:.2f}" for w in walls)
        + f" (median {statistics.median(walls):.2f}); process CPU "
        + " ".join(f"{c:.2f}" for c in cpus)
        + f" (median {statistics.median(cpus):.2f})"
    )
    assert statistics.median(walls) < RERUN_LIMIT_S
