"""The hypothesis and placement pages' figure builders: their data, their captions and their chart specs.

Most checks use small hand-built histories and replays whose right answers are known exactly; one short
real training (201 steps, both placements) checks that the builders accept what the trainer produces.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from excolor import colors  # noqa: E402
from excolor.figures import (  # noqa: E402
    comparison,
    diagrams,
    regularizers,
    schedule_curves,
    style,
    training_curves,
)
from excolor.figures.replay import (  # noqa: E402
    COORD_SCALE,
    NO_VALUE,
    REPLAY_PARAM,
    regular_snapshots,
    replay_description,
    replay_scrub_chart,
    replay_snapshots,
    replay_stats,
)
from excolor.schedule import EX24, parse_dopesheet  # noqa: E402
from excolor.train import Recipe, Replay, train  # noqa: E402

SHORT = parse_dopesheet("STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n200,0.05,0,0,0,0\n")


def fake_history(steps: int = 1000, scale: float = 1.0) -> dict[str, np.ndarray]:
    """Smooth known curves; anchor is only 'measured' (non-zero) on every 4th step, as with sparse labels."""
    t = np.arange(steps, dtype=float)
    anchor = np.where(t % 4 == 0, 0.5 * scale, 0.0)
    weight = np.where(t < steps - 100, 0.1, 0.0)  # every weight switched off for the last 100 steps
    history = {
        "step": np.arange(steps),
        "recon": 0.3 * scale * np.exp(-t / 200) + 1e-5,
        "separate": np.full(steps, 2.0 * scale),
        "anchor": anchor,
        "unit": np.full(steps, 0.01 * scale),
        "planar": np.full(steps, 0.04 * scale),
        "lr": np.full(steps, 0.01),
    }
    for term in ("separate", "anchor", "unit", "planar"):
        history[f"w_{term}"] = weight
    history["total"] = history["recon"] + sum(weight * history[k] for k in ("separate", "anchor", "unit", "planar"))
    return history


@pytest.fixture(scope="module")
def short_pair():
    """Pre- and post-norm trained together on a 201-step schedule (well under a second)."""
    pre, post = train([Recipe("pre", 3, SHORT), Recipe("post", 3, SHORT)])
    return {"pre": pre, "post": post}


# ---------------------------------------------------------------------------------------------- hypothesis page


def test_separate_kernel_is_one_at_zero_and_half_to_the_hundredth_at_ninety_degrees():
    assert regularizers.separate_kernel(0.0) == 1.0
    assert regularizers.separate_kernel(90.0) == pytest.approx(0.5**100, rel=1e-9)
    assert regularizers.separate_kernel(180.0) == pytest.approx(0.0, abs=1e-300)
    half = regularizers.kernel_half_angle()
    assert half == pytest.approx(9.53, abs=0.01)
    assert regularizers.separate_kernel(half) == pytest.approx(0.5)

    frame = regularizers.separate_kernel_frame()
    p100 = frame[frame["power"] == "power 100"].set_index("angle")["push"]
    assert p100.loc[0.0] == 1.0 and p100.loc[90.0] == pytest.approx(0.5**100)
    assert set(frame["power"]) == {"power 1", "power 10", "power 100"}
    assert frame.groupby("power")["push"].apply(lambda s: bool(np.all(np.diff(s.to_numpy()) <= 0))).all()


def test_separate_kernel_caption_states_its_numbers():
    _, caption = regularizers.separate_kernel_chart()
    for text in ("1 at 0°", "halves at about 9.5°", "below 1% at about 24.5°", "7.9e-31 at 90°", "0.5 and 9.8e-4"):
        assert text in caption
    assert "by 24°" not in caption  # at 24° the kernel is still 1.2%: the crossing is at 24.5°
    assert regularizers.separate_kernel(24.0) > 0.01 > regularizers.separate_kernel(24.5)
    about = regularizers.about
    assert about(24.4967) == "24.5" and about(9.5349) == "9.5" and about(24.2) == "24"


def test_anchor_penalty_depends_only_on_angle_for_unit_latents():
    assert regularizers.anchor_penalty(0.0) == pytest.approx(0.0, abs=1e-12)
    assert regularizers.anchor_penalty(90.0) == pytest.approx(2.0)
    assert regularizers.anchor_penalty(180.0) == pytest.approx(4.0)
    assert regularizers.anchor_penalty(0.0, 0.5) == pytest.approx(0.25)  # pointing at red, yet penalized: length
    z = np.array([0.3, 0.4, 0.0, 0.0])  # a raw latent: the closed form matches the definition |z - c|^2
    angle = math.degrees(math.acos(z[0] / np.linalg.norm(z)))
    assert regularizers.anchor_penalty(angle, np.linalg.norm(z)) == pytest.approx(np.sum((z - [1, 0, 0, 0]) ** 2))
    _, caption = regularizers.anchor_penalty_chart()
    assert "0 at 0°, 2 at 90° and 4 opposite red" in caption and "pays 0.25" in caption


SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(text: str) -> ET.Element:
    root = ET.fromstring(text)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    return root


def svg_nodes(root: ET.Element) -> dict[str, tuple[str, tuple[float, float, float, float], list[str]]]:
    """key -> (shape, (x0, y0, x1, y1) bounding box, lines of text)."""
    out = {}
    for group in root.iter(f"{SVG}g"):
        if "data-node" not in group.attrib:
            continue
        shape = group[0]
        if shape.tag == f"{SVG}rect":
            x, y, w, h = (float(shape.get(k)) for k in ("x", "y", "width", "height"))
            box = (x, y, x + w, y + h)
        else:
            cx, cy, rx, ry = (float(shape.get(k)) for k in ("cx", "cy", "rx", "ry"))
            box = (cx - rx, cy - ry, cx + rx, cy + ry)
        out[group.get("data-node")] = (shape.tag.removeprefix(SVG), box, [t.text for t in group.iter(f"{SVG}text")])
    return out


def svg_edges(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {tuple(g.get("data-edge").split("->")): g for g in root.iter(f"{SVG}g") if "data-edge" in g.attrib}


def assert_laid_out(root: ET.Element) -> None:
    """Every node inside the drawing, no two overlapping, every arrow from its source's border to its target's."""
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    nodes = svg_nodes(root)
    for _, (x0, y0, x1, y1), _ in nodes.values():
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    boxes = [box for _, box, _ in nodes.values()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    for (source, target), edge in svg_edges(root).items():
        line, head = edge.find(f"{SVG}line"), edge.find(f"{SVG}polygon")
        start = (float(line.get("x1")), float(line.get("y1")))
        tip = tuple(float(v) for v in head.get("points").split()[0].split(","))
        for point, key in ((start, source), (tip, target)):
            shape, (x0, y0, x1, y1), _ = nodes[key]
            u, v = (point[0] - (x0 + x1) / 2) / ((x1 - x0) / 2), (point[1] - (y0 + y1) / 2) / ((y1 - y0) / 2)
            on_border = math.hypot(u, v) if shape == "ellipse" else max(abs(u), abs(v))
            assert on_border == pytest.approx(1.0, abs=0.02), (source, target, key)


def test_border_points_by_hand():
    box = diagrams.Node("b", ("box",), 0.0, 0.0, 100.0, 40.0)
    assert box.border_point(100, 0) == pytest.approx((50, 0))
    assert box.border_point(0, -100) == pytest.approx((0, -20))
    assert box.border_point(100, 100) == pytest.approx((20, 20))  # the 45° ray meets the long side first
    oval = diagrams.Node("e", ("oval",), 10.0, 10.0, 80.0, 30.0, shape="ellipse")
    assert oval.border_point(10, 200) == pytest.approx((10, 25))
    assert oval.border_point(-200, 10) == pytest.approx((-30, 10))
    x, y = oval.border_point(110, 110)  # on the ellipse: ((x-10)/40)^2 + ((y-10)/15)^2 = 1, on the diagonal
    assert ((x - 10) / 40) ** 2 + ((y - 10) / 15) ** 2 == pytest.approx(1.0) and x == pytest.approx(y)


def test_network_diagram_marks_both_taps():
    text, caption = diagrams.network_diagram()
    root = parse_svg(text)
    assert_laid_out(root)
    nodes = svg_nodes(root)
    order = ["rgb_in", "enc1", "enc2", "encoder", "norm", "bottleneck", "dec1", "dec2", "rgb_out"]
    assert list(nodes) == order and set(svg_edges(root)) == set(zip(order, order[1:]))
    assert nodes["encoder"][2] == ["encoder tap", "raw latent z (4-D)"]
    assert nodes["bottleneck"][2] == ["bottleneck tap", "unit latent ẑ (4-D)"]
    # a U: the encoder down the left, the taps along the bottom, the decoder up the right
    tops = {key: box[1] for key, (_, box, _) in nodes.items()}
    assert tops["rgb_in"] < tops["enc1"] < tops["enc2"] < tops["encoder"] and tops["rgb_out"] < tops["dec2"]
    assert "3 color channels" in caption and "16 hidden units" in caption and "unit latent" in caption


def test_placement_diagrams_wire_each_term_to_its_tap():
    terms = ("unit", "anchor", "separate", "planar")
    wiring = {p: parse_svg(diagrams.placement_diagram(p)) for p in ("pre", "post")}
    for root in wiring.values():
        assert_laid_out(root)
    arrows = {p: {e: g for e, g in svg_edges(root).items() if e[1] in terms} for p, root in wiring.items()}
    assert set(arrows["pre"]) == {("encoder", t) for t in terms}
    assert set(arrows["post"]) == {("encoder", "unit")} | {("bottleneck", t) for t in terms[1:]}
    for p, edges in arrows.items():
        for (_, term), group in edges.items():
            line = group.find(f"{SVG}line")
            assert line.get("stroke") == style.PLACEMENT_COLORS[p]
            # separate normalizes its own inputs: its arrow is dashed and the text says only anchor and planarity matter
            assert (line.get("stroke-dasharray") is not None) == (term == "separate")
    assert svg_nodes(wiring["pre"])["separate"][2] == ["separate", "(same on either tap)"]
    caption = diagrams.placement_description()
    assert "Unitarity reads the encoder tap under both placements" in caption
    assert "Anchor, separate and planarity read the encoder tap pre-norm and the bottleneck tap post-norm" in caption
    assert "only anchor and planarity really change with the placement" in caption


def test_placement_caption_follows_which_terms_really_move():
    only_separate = {
        "a": {"unit": "encoder", "anchor": "encoder", "separate": "encoder", "planar": "encoder"},
        "b": {"unit": "encoder", "anchor": "encoder", "separate": "bottleneck", "planar": "encoder"},
    }
    caption = diagrams.placement_description(only_separate)
    assert "both train the same model" in caption and "only" not in caption.split("dashed)")[-1]
    only_anchor = {
        "a": {"unit": "encoder", "anchor": "encoder", "separate": "encoder", "planar": "encoder"},
        "b": {"unit": "encoder", "anchor": "bottleneck", "separate": "encoder", "planar": "encoder"},
    }
    caption = diagrams.placement_description(only_anchor)
    assert "dashed" not in caption and "Anchor reads the encoder tap a-norm and the bottleneck tap b-norm" in caption


def test_schedule_chart_data_hits_the_spec_values():
    frame = schedule_curves.schedule_frame(EX24)
    at = frame.set_index(["parameter", "step"])["value"]
    assert at[("learning rate", 2000)] == pytest.approx(0.075)
    assert at[("learning rate", 5)] == pytest.approx(0.005)
    assert at[("learning rate", 500)] == pytest.approx(0.05415, abs=1e-5)
    assert at[("anchor", 500)] == pytest.approx(0.025)
    assert at[("unitarity", 1500)] == pytest.approx(0.08651, abs=1e-5)
    assert at[("learning rate", 10)] == pytest.approx(0.01)  # a keyframe off the every-5th grid is kept
    assert at[("planarity", 2800)] == 0.0 and at[("learning rate", 3000)] == pytest.approx(0.05)
    assert len(frame) < 5 * 700  # thinned: not 5 x 3,001 points
    assert list(frame["parameter"].unique())[-1] == "unitarity"  # drawn last, on top of planarity's curve


def test_schedule_chart_gives_the_learning_rate_its_own_panel():
    chart, caption = schedule_curves.schedule_chart(EX24)
    spec = chart.to_dict()
    rate, weights = spec["vconcat"]
    assert rate["encoding"]["y"]["title"] == "learning rate" and "color" not in rate["encoding"]
    assert rate["transform"] == [{"filter": "(datum.parameter === 'learning rate')"}]
    assert weights["encoding"]["y"]["title"] == "regularizer weight"
    assert "learning rate" not in weights["encoding"]["color"]["scale"]["domain"]  # not drawn over the weights
    assert rate["width"] == weights["width"] == "container"
    assert "in its own panel" in caption


def test_schedule_caption_lists_keyframes_and_landmarks():
    _, caption = schedule_curves.schedule_chart(EX24)
    assert "0.075 at step 2,000" in caption and "0.054 at step 500" in caption
    assert "Unitarity and planarity (the same curve): 0.01 at step 0, 0.1 at step 1,000" in caption
    assert "Anchor: 0.01 at step 0, 0.04 at step 1,000, 0 at step 2,800" in caption


def test_curves_frame_is_thinned_positive_and_ignores_unmeasured_steps():
    histories = {"pre": fake_history(), "post": fake_history(scale=0.5)}
    frame = training_curves.curves_frame(histories)
    assert (frame["value"] > 0).all() and np.isfinite(frame["value"]).all()
    assert set(frame["placement"]) == {"pre-norm (Ex 2.3)", "post-norm (Ex 2.4)"}
    assert set(frame["term"]) == {"reconstruction", "separate", "anchor", "unitarity", "planarity"}
    per_line = frame.groupby(["placement", "term"]).size()
    assert per_line.max() <= 1000 // 10 + 1
    # the anchor's 0s mean "no red label in the batch": dropped, so the median is the measured 0.5
    anchor = frame[(frame["term"] == "anchor") & (frame["placement"] == "pre-norm (Ex 2.3)")]["value"]
    assert np.allclose(anchor, 0.5)


def test_weighted_curves_stop_where_the_weights_are_zero_and_add_the_total():
    frame = training_curves.curves_frame({"post": fake_history()}, weighted=True)
    assert "total loss" in set(frame["term"])
    separate = frame[frame["term"] == "separate"]
    assert separate["value"].to_numpy() == pytest.approx(0.2)  # 0.1 x 2.0
    assert separate["step"].max() < 900 + 51 // 2 + 1  # weights are 0 from step 900: nothing drawn after
    assert frame[frame["term"] == "reconstruction"]["step"].max() == 999
    floor = 10 ** (np.floor(np.log10(frame[frame["term"] == "reconstruction"]["value"].min())) - 1)
    assert frame["value"].min() >= floor  # weights easing to 0 do not stretch the log axis over ten decades


def test_final_terms_average_only_measured_steps():
    final = training_curves.final_terms(fake_history())
    assert final["anchor"] == pytest.approx(0.5)  # not 0.125, which counting the unmeasured zeros would give
    assert final["separate"] == pytest.approx(2.0)
    assert final["recon"] == pytest.approx(np.mean(0.3 * np.exp(-np.arange(900, 1000) / 200) + 1e-5))


def test_curves_panels_are_log_scaled_and_legend_selectable():
    panels, caption = training_curves.curves_panels({"pre": fake_history(), "post": fake_history(scale=0.5)})
    spec = panels[0].to_dict()
    assert spec["title"] == "pre-norm (Ex 2.3)"
    enc = spec["encoding"]
    assert enc["y"]["scale"]["type"] == "log"
    assert enc["color"]["scale"]["range"][:2] == [style.TERM_COLORS["recon"], style.TERM_COLORS["separate"]]
    assert any(p.get("bind") == "legend" for p in spec.get("params", []))
    assert "reconstruction 0.3 → 0.0026" in caption  # first raw value -> mean of the last 100 steps (pre)
    assert "separate 1 → 1" in caption  # post: scaled by 0.5
    assert "anchor on 250" in caption  # one step in four is measured


def test_curves_panels_are_one_chart_per_placement_on_the_same_decades():
    panels, caption = training_curves.curves_panels({"pre": fake_history(), "post": fake_history(scale=0.5)})
    specs = [panel.to_dict() for panel in panels]
    assert [s["title"] for s in specs] == ["pre-norm (Ex 2.3)", "post-norm (Ex 2.4)"]
    for spec in specs:
        assert spec["width"] == "container" and spec["encoding"]["color"]["legend"]["orient"] == "bottom"
        # smallest value: post's reconstruction, 0.15 e^-5 + 1e-5 = 1.0e-3; largest: pre's separate, 2
        assert spec["encoding"]["y"]["scale"]["domain"] == [1e-3, 10.0]
    assert caption == training_curves.curves_description({"pre": fake_history(), "post": fake_history(scale=0.5)})


def test_raw_caption_says_the_weights_ease_to_zero_and_which_terms_climb():
    rising = fake_history()
    rising["planar"] = np.where(np.arange(1000) < 900, 0.01, 0.05)  # climbs fivefold once the weights are 0
    caption = training_curves.curves_description({"pre": rising})
    assert "eases the regularizer weights down after step 0 and to 0 by step 900" in caption
    assert "planarity climb back up (most: planarity pre-norm, 0.01 at its lowest 100-step mean, 0.05 at the end)" in (
        caption
    )
    # flat terms: the weights still go, nothing climbs
    caption = training_curves.curves_description({"pre": fake_history()})
    assert "by step 900" in caption and "none climbs back up" in caption
    kept = fake_history()
    for term in ("separate", "anchor", "unit", "planar"):
        kept[f"w_{term}"] = np.full(1000, 0.1)
    caption = training_curves.curves_description({"pre": kept})
    assert "stay above 0 to the end" in caption and "eases" not in caption


def test_weighted_caption_reports_what_the_optimizer_feels():
    _, caption = training_curves.curves_panels({"post": fake_history()}, weighted=True)
    assert "around step 0: reconstruction 0.26, separate 0.2, anchor 0.05, unitarity 0.001" in caption
    assert "All regularizer weights are 0 from step 900" in caption


def comparison_inputs(batch_scale: float = 0.5, fixed_post: float = 2e-5):
    runs = {
        "pre": SimpleNamespace(history=fake_history()),
        "post": SimpleNamespace(history=fake_history(scale=batch_scale)),
    }
    validation = {
        "pre": {"recon": 4e-5, "unit": 0.01, "anchor": 0.2, "planar": 0.05},
        "post": {"recon": fixed_post, "unit": 0.02, "anchor": 0.1, "planar": 0.05},
    }
    errors = {"pre": {"max": 1e-3, "median": 2e-5}, "post": {"max": 8e-4, "median": 2e-5}}
    return runs, comparison.comparison_table(runs, validation, errors)


def test_comparison_table_puts_placements_side_by_side():
    _, table = comparison_inputs()
    assert list(table.columns) == [
        "quantity",
        "measured on",
        "tests the hypothesis",
        "pre-norm (Ex 2.3)",
        "post-norm (Ex 2.4)",
        "post ÷ pre",
    ]
    row = table.set_index("quantity")
    assert row.loc["max error", "post ÷ pre"] == pytest.approx(0.8)
    assert row.loc["anchor (fixed set)", "post-norm (Ex 2.4)"] == pytest.approx(0.1)
    assert row.loc["anchor (last 100 steps)", "pre-norm (Ex 2.3)"] == pytest.approx(0.5)
    # separate normalizes its own inputs: comparable; anchor and planarity on their own taps are not
    assert "not comparable" not in row.loc["separate (last 100 steps)", "measured on"]
    assert "not comparable" in row.loc["anchor (last 100 steps)", "measured on"]
    tests = row["tests the hypothesis"]
    assert set(tests[tests != "—"].index) == {
        "reconstruction (fixed set)",
        "max error",
        "median error",
        "anchor (fixed set)",
        "planarity (fixed set)",
    }
    caption = comparison.comparison_description(table)
    assert "Max reconstruction error: pre-norm 0.001, post-norm 8.0e-4 (post ÷ pre = 0.80)" in caption
    assert "max error 0.80" in caption and "reconstruction (fixed set) 0.50" in caption
    assert "comparable rows" not in caption  # no tally: it would count reconstruction four times


def test_reconstruction_rows_note_follows_the_two_ratios():
    # batches say post-norm is better (0.5) while the fixed set says it is worse (1.5): explained, with the spread
    runs, table = comparison_inputs(batch_scale=0.5, fixed_post=6e-5)
    histories = {p: r.history for p, r in runs.items()}
    caption = comparison.comparison_description(table, histories)
    assert "training batches (post ÷ pre 0.50) and on the fixed set (1.50) disagree" in caption
    assert "ranges from 0.50 to 0.50" in caption  # every batch of the fake history has exactly half the loss
    # both ratios below 1 and close: they agree, and nothing is explained away
    runs, table = comparison_inputs(batch_scale=0.5, fixed_post=2.1e-5)
    caption = comparison.comparison_description(table, {p: r.history for p, r in runs.items()})
    assert "(0.52) agree." in caption and "disagree" not in caption


def test_seed_context_says_how_this_seed_compares_with_the_notebook_and_the_sweep():
    against = comparison.seed_context(0, 0.00054, 0.00088)
    assert "post-norm's max error is 63% higher than pre-norm's (8.8e-4 vs 5.4e-4)" in against
    assert "the opposite of the notebook's run (post-norm 35% lower: 0.0011 vs 0.0017" in against
    assert "one seed of the original pipeline" in against and "Experiment lab" in against
    assert "small" not in against
    along = comparison.seed_context(3, 0.0012, 0.0009)
    assert "25% lower" in along and "the same direction as the notebook's run" in along
    tie = comparison.seed_context(1, 0.00100, 0.00095)
    assert "too close to call" in tie
    sweep = {0: (0.00054, 0.00088), 1: (1e-3, 8e-4), 2: (1e-3, 9e-4), 3: (1.2e-3, 9e-4)}
    text = comparison.seed_context(0, 0.00054, 0.00088, sweep)
    assert "Across the 4 seeds trained on this server" in text and "lower max error on 3" in text
    assert "median post ÷ pre is 0.85" in text and "Seed 0 is pre-norm's widest margin" in text
    text = comparison.seed_context(3, 1.2e-3, 9e-4, sweep)
    assert "Seed 3 is post-norm's widest margin" in text
    assert "2nd lowest of 4" in comparison.seed_context(2, 1e-3, 8e-4, sweep | {2: (1e-3, 7.6e-4)})
    assert comparison.seed_context(0, float("nan"), 1e-3) == ""


@pytest.mark.parametrize(
    ("pre", "post", "outcome"),
    [(1e-3, 5e-4, "post"), (5e-4, 1e-3, "pre"), (1e-3, 9e-4, "same"), (9e-4, 1e-3, "same")],
)
def test_measured_outcome_calls_small_gaps_a_tie(pre, post, outcome):
    assert comparison.measured_outcome(pre, post) == outcome


def test_prediction_verdict():
    assert comparison.prediction_verdict("post", 1e-3, 5e-4)[0] is True
    assert comparison.prediction_verdict("pre", 1e-3, 5e-4)[0] is False
    right, text = comparison.prediction_verdict("same", 1e-3, 9.5e-4)
    assert right is True and "differ by only 5%" in text
    right, text = comparison.prediction_verdict(None, 1e-3, 5e-4)
    assert right is None and "post-norm (Ex 2.4) reconstructs better" in text and "50% lower" in text
    assert comparison.prediction_verdict("nonsense", 1e-3, 5e-4)[0] is None
    # issue 24 item 6: one framing per fact, post-norm against pre-norm as the seed note and the metric delta say
    right, text = comparison.prediction_verdict("post", 1e-3, 1.62e-3)
    assert right is False and "post-norm's max error is 62% higher than pre-norm's" in text and "38%" not in text
    assert "62% higher than pre-norm's" in comparison.seed_context(0, 1e-3, 1.62e-3)
    right, text = comparison.prediction_verdict("post", float("nan"), 5e-4)  # a diverged run: no verdict, no crash
    assert right is None and "diverged" in text


def wheel_replay() -> Replay:
    """Snapshot 0: everything clumped near one direction. Snapshot 1: vivid hues on the circle in dims (1, 0),
    at their hue angle from the top (red exactly on (1, 0, 0, 0)), greys tipped into dimension 2."""
    hsv = np.array([[h / 24, 1.0, 1.0] for h in range(24)] + [[0.0, 0.0, 0.5]])
    rgb = colors.hsv_to_rgb(hsv)
    clump = np.tile([0.0, 0.0, 1.0, 0.0], (len(rgb), 1))
    clump[:, 1] += np.linspace(0, 0.1, len(rgb))
    clump /= np.linalg.norm(clump, axis=1, keepdims=True)
    theta = np.radians(hsv[:, 0] * 360)
    wheel = np.stack([np.cos(theta), np.sin(theta), np.zeros_like(theta), np.zeros_like(theta)], axis=1)
    wheel[-1] = [0.0, 0.0, 1.0, 0.0]
    return Replay(np.array([0, 50]), np.stack([clump, wheel]), rgb)


def test_replay_stats_see_the_wheel_form():
    replay = wheel_replay()
    start, end = replay_stats(replay, 0), replay_stats(replay, 1)
    assert end["red_angle"] == pytest.approx(0.0, abs=1e-6)
    assert start["red_angle"] == pytest.approx(90.0, abs=1e-6)
    assert end["coverage"] == pytest.approx(345.0) and start["coverage"] < 10
    assert end["in_plane"] == pytest.approx(1.0) and end["n_vivid"] == 24 and end["n"] == 25


def leaves(spec: dict):
    """Every single-mark layer of a (possibly nested) layered chart spec."""
    for layer in spec.get("layer", []):
        yield from leaves(layer) if "layer" in layer else [layer]


def test_replay_snapshots_send_every_snapshot_of_both_placements_once_in_int16():
    replay = wheel_replay()
    tables = replay_snapshots({"pre": replay, "post": replay})
    points = tables["points"]
    assert len(points) == 25 and list(tables["steps"]["step"]) == [0, 50]  # one row per probe color
    coords = [f"{p}_{a}{s}" for p in ("pre", "post") for a in "xy" for s in (0, 1)]
    assert list(points.columns) == ["probe", "color", "hue", "saturation", "value", *coords]
    assert all(points[c].dtype == np.int16 for c in coords)
    assert points.loc[0, "color"] == "#ff0000" and points.loc[0, "post_y1"] == COORD_SCALE  # red at the top
    assert points.loc[6, "post_x1"] == COORD_SCALE  # hue 90° (chartreuse) along dim 1, to the right
    assert points.loc[6, "post_y1"] == 0 and points.loc[6, "hue"] == 90
    assert (points["post_y0"] == 0).all()  # the clump at step 0 has no red component (dim 0, up)


def test_replay_snapshots_repeat_a_short_runs_last_snapshot_and_mark_missing_values():
    replay = wheel_replay()
    broken = Replay(replay.steps[:1], replay.latents[:1].copy(), replay.rgb)  # diverged after one snapshot
    broken.latents[0, 3] = np.nan
    points = replay_snapshots({"pre": broken, "post": replay})["points"]
    assert (points["pre_x0"] == points["pre_x1"]).all()  # the last snapshot it has, repeated
    assert points.loc[3, "pre_x0"] == NO_VALUE and points.loc[3, "post_x0"] != NO_VALUE


def test_replay_scrub_chart_has_one_range_slider_both_placements_follow():
    replay = wheel_replay()
    chart, caption = replay_scrub_chart({"pre": replay, "post": replay})
    spec = chart.to_dict()
    (slider,) = [p for p in spec["params"] if "bind" in p]
    # issue 24 item 11: the slider is in training steps, the number the panel titles show
    assert slider["bind"] == {"input": "range", "min": 0, "max": 50, "step": 50, "name": slider["bind"]["name"]}
    assert slider["value"] == 50  # starts at the end of training, as the caption describes
    assert slider["bind"]["name"].startswith("Training step")
    (picks,) = [p for p in spec["params"] if p["name"] == REPLAY_PARAM]
    assert picks["expr"] == f"round({slider['name']} / 50)"
    marks = list(leaves(spec))
    points = [layer for layer in marks if layer["mark"]["type"] == "circle"]
    assert len(points) == 2
    for layer in points:
        assert layer["encoding"]["fill"] == {"field": "color", "scale": None, "type": "nominal"}
        # the slider's value picks each probe's two columns of that snapshot; a missing value is not drawn
        picked = [t for t in layer["transform"] if t.get("as") in ("px", "py")]
        assert [t["calculate"] for t in picked] in (
            [f"datum['{p}_{a}' + {REPLAY_PARAM}]" for a in "xy"] for p in ("pre", "post")
        )
        assert {"filter": f"datum.px != {NO_VALUE} && datum.py != {NO_VALUE}"} in layer["transform"]
    (ring,) = [layer for layer in marks if "order" in layer["encoding"]]
    rows = spec["datasets"][ring["data"]["name"]]
    assert {r["panel"] for r in rows} == {0, 1}  # one unit circle per panel, placed by the layout's expressions
    assert np.allclose([math.hypot(r["lx"], r["ly"]) for r in rows], 1.0)
    names = {p["name"] for p in spec["params"]}
    assert {"stacked", "ppu"} <= names  # side by side or stacked, whichever draws the panels larger
    assert spec["width"] == "container" and spec["padding"]["bottom"] == spec["padding"]["top"]
    assert caption.count("step 50.") == 2 and "Pure red points 0.0° away" in caption and "cover 345°" in caption
    assert "through the 2 snapshots (every 50 training steps" in caption
    assert "each panel's title and the line under it follow it" in caption


def test_builders_accept_a_real_training_run(short_pair):
    histories = {p: run.history for p, run in short_pair.items()}
    for weighted in (False, True):
        panels, caption = training_curves.curves_panels(histories, weighted=weighted)
        assert (
            all(panel.to_dict() for panel in panels)
            and "pre-norm (Ex 2.3)" in caption
            and "post-norm (Ex 2.4)" in caption
        )
    replay = short_pair["post"].replay
    assert replay.steps[0] == 0 and replay.latents.shape[1] == len(replay.rgb)
    chart, caption = replay_scrub_chart({p: run.replay for p, run in short_pair.items()})
    last_scrubbed = int(replay.steps[regular_snapshots(replay.steps)[-1]])  # 200 of 201: on the slider's grid
    assert chart.to_dict() and caption.count(f"step {last_scrubbed:,}.") == 2
    final = training_curves.final_terms(short_pair["post"].history)
    assert final["recon"] == pytest.approx(short_pair["post"].final_recon, rel=1e-6)


def test_every_slider_position_is_a_snapshot_whose_title_shows_that_step():
    """Issue 24 item 11: 0, 50, …, 3,000 on the slider draw the snapshots taken at those steps; the last update
    (3,001, off the slider's grid) is left out rather than shown under another number."""
    steps = np.array([0, 50, 100, 150, 151])
    latents = np.repeat(wheel_replay().latents[1:], len(steps), axis=0)
    replay = Replay(steps, latents, wheel_replay().rgb)
    table = replay_snapshots({"pre": replay, "post": replay})["steps"]
    assert list(table["step"]) == [0, 50, 100, 150]
    for row in table.itertuples():
        assert round(row.step / 50) == row.snap  # the slider's round(step / 50) picks the row whose title says step
    assert list(table["post_red"]) == ["pure red 0.0° from the red direction"] * 4  # the line under each panel


def test_the_angle_of_pure_red_is_rounded_alike_in_2d_and_3d():
    """Issue 24 item 8: pure red 13.46° from c reads 13.5° in the replay caption and in the 3-D view's note."""
    from excolor.figures import latents3d

    replay = wheel_replay()
    theta = math.radians(13.46)
    replay.latents[1, 0] = [math.cos(theta), math.sin(theta), 0.0, 0.0]
    assert "Pure red points 13.5° away from the red direction" in replay_description(replay, 1)
    z = replay.latents[1]
    assert "13.5° from the red direction" in latents3d._pure_red_sentence(z, np.linalg.norm(z, axis=1), 0)
