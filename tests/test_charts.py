"""Chart builders: the data each chart carries is the data it claims to show, and captions carry the numbers.

Most tests use a synthetic Evaluation whose answers are known by construction (red reconstructed as grey,
an error bump centred on red); one test checks the builders on a really trained model.
"""

from __future__ import annotations

import dataclasses
import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

torch.set_num_threads(1)

from excolor import colors  # noqa: E402
from excolor import evaluate as ev  # noqa: E402
from excolor.figures import error_curves, intervention_notes, mappings, named_colors, notebook, style, swatches  # noqa: E402,E501
from excolor.interventions import (  # noqa: E402
    Ablation,
    BezierMapper,
    BoundedFalloff,
    Repulsion,
    Suppression,
    mapping_curve,
)
from excolor.text import fmt  # noqa: E402

PEAK = 0.16


def _synthetic_dense_error(grid: colors.Grid) -> np.ndarray:
    """PEAK x cos(hue)^4 on the red side, times S V^2: 0.16 at pure red, exactly 0 beyond +-90 deg."""
    h, s, v = grid.flat_hsv[:, 0], grid.flat_hsv[:, 1], grid.flat_hsv[:, 2]
    return PEAK * np.clip(np.cos(2 * np.pi * h), 0, None) ** 4 * s * v**2


@pytest.fixture(scope="module")
def synthetic_eval() -> ev.Evaluation:
    swatch = colors.swatch_grid()
    true = swatch.rgb
    out = true.copy()
    out[0, -1, -1] = 0.5  # pure red (hue 0, S = 1, V = 1) comes back mid-grey
    swatch_error = ((out - true) ** 2).mean(-1)
    dense = colors.dense_grid()
    dense_error = _synthetic_dense_error(dense)
    rgb = colors.rgb_grid().flat_rgb
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(len(rgb), 4))
    latents /= np.linalg.norm(latents, axis=1, keepdims=True)
    names, _, named_rgb = colors.named_colors()
    named = {n: (0.2 if n == "red" else 0.002 if n in ("orange", "pink") else 1e-5) for n in names}
    return ev.Evaluation(
        max_error=float(dense_error.max()),
        median_error=float(np.median(dense_error)),
        curves=ev.error_curves(dense, dense_error),
        swatch_true=true,
        swatch_out=out,
        swatch_error=swatch_error,
        latents=latents,
        rgb_true=rgb,
        rgb_out=rgb,
        rgb_error=np.zeros(len(rgb)),
        selectivity=0.9,
        collateral=1.5,
        damaged_share=0.02,
        named_error=named,
    )


def _datasets(spec: dict) -> list[list[dict]]:
    return list(spec.get("datasets", {}).values())


# --------------------------------------------------------------------------------------------------
# helpers


def test_fmt_is_compact():
    assert fmt(0.16) == "0.16"
    assert fmt(1.5e-5) == "1.5e-5"
    assert fmt(0.0011) == "0.0011"
    assert fmt(0) == "0"
    assert fmt(float("nan")) == "n/a"


def test_hue_names_and_fractions():
    assert style.hue_name(0) == "red"
    assert style.hue_name(359) == "red"
    assert style.hue_name(15) == "red-orange"
    assert style.hue_name(240) == "blue"
    assert style.fraction_label(1 / 3) == "1/3"
    assert style.describe_color(0, 1, 1) == "red (0°, S 1, V 1)"
    assert style.describe_color(120, 0, 0) == "black"


def test_line_colors_keep_their_hue_and_stay_legible():
    assert style.line_color(0) == "#ff0000"  # red is already mid-luminance: unchanged
    assert style.line_color(300) == "#ff00ff"
    for hue in (60, 120, 180, 240):
        hexed = style.line_color(hue)
        rgb = np.array([int(hexed[i : i + 2], 16) for i in (1, 3, 5)]) / 255
        lum = float(style.srgb_to_linear(rgb) @ np.array([0.2126, 0.7152, 0.0722]))
        assert 0.17 <= lum <= 0.41, (hue, hexed, lum)
        assert colors.rgb_to_hsv(rgb)[0] * 360 == pytest.approx(hue, abs=3)


# --------------------------------------------------------------------------------------------------
# swatches


def test_swatch_frame_has_every_swatch_with_exact_hex(synthetic_eval):
    frame = swatches.swatch_frame(synthetic_eval)
    assert len(frame) == 768
    red = frame[(frame.hue == 0) & (frame.saturation == 1) & (frame.value == 1)].iloc[0]
    assert red["true"] == "#ff0000"
    assert red["reconstructed"] == "#808080"
    assert red["error"] == pytest.approx(0.25)
    white = frame[(frame.saturation == 0) & (frame.value == 1)]
    assert set(white["true"]) == {"#ffffff"}
    green = frame[(frame.hue == 120) & (frame.saturation == 1) & (frame.value == 1)].iloc[0]
    assert green["true"] == green["reconstructed"] == "#00ff00"
    assert list(frame["panel"].unique()) == ["S = 0", "S = 1/3", "S = 2/3", "S = 1"]


def test_swatch_chart_layers_reconstruction_around_truth(synthetic_eval):
    chart, text = swatches.swatch_chart(synthetic_eval, "Reconstructed colors")
    spec = chart.to_dict()
    assert spec["facet"]["field"] == "panel"
    outer, inner = spec["spec"]["layer"]
    assert outer["mark"]["type"] == "rect"
    assert outer["encoding"]["color"] == {"field": "reconstructed", "type": "nominal", "scale": None}
    assert inner["mark"]["type"] == "square"
    assert inner["encoding"]["color"] == {"field": "true", "type": "nominal", "scale": None}
    assert inner["encoding"]["y"]["sort"] == "descending"  # bright at the top
    (rows,) = _datasets(spec)
    assert len(rows) == 768
    assert spec["description"] == text
    assert "1 of 768 swatches differ visibly" in text
    assert "true #ff0000 shown as #808080 (error 0.25)" in text


def test_swatch_description_says_when_nothing_is_visibly_wrong(synthetic_eval):
    clean = ev.Evaluation(**{**synthetic_eval.__dict__, "swatch_out": synthetic_eval.swatch_true})
    clean.swatch_error = np.zeros_like(synthetic_eval.swatch_error)
    assert "No swatch differs visibly" in swatches.swatch_description(clean)


# --------------------------------------------------------------------------------------------------
# error curves


def test_curve_frames_carry_the_curves(synthetic_eval):
    curves = synthetic_eval.curves
    frames = error_curves.curves_frames(curves)
    hue = frames["hue"]
    assert sorted(hue["series"].unique()) == sorted([*(f"V = {v:.2f}" for v in curves.values), "V = 0 (black)"])
    assert len(hue) == 5 * 240 + 2
    black = hue[hue["series"] == "V = 0 (black)"]  # one color at every hue: a flat line across the panel
    assert black["x"].tolist() == [0.0, 360.0] and (black["error"] == curves.by_value[0, 0]).all()
    top = hue[hue["series"] == "V = 1.00"]
    np.testing.assert_allclose(top["error"].to_numpy(), curves.by_hue[0])
    assert top["error"].max() == pytest.approx(PEAK)
    for key, table in (("saturation", curves.by_saturation), ("value", curves.by_value)):
        frame = frames[key]
        assert list(frame["series"].unique()) == ["0° red", "60° yellow", "120° green", "180° cyan", "240° blue",
                                                  "300° magenta"]  # fmt: skip
        red = frame[frame["series"] == "0° red"]
        np.testing.assert_allclose(red["error"].to_numpy(), table[0])
        assert red["error"].iloc[-1] == pytest.approx(PEAK)  # S = V = 1


def test_error_curve_panels_draw_each_hue_in_its_hue(synthetic_eval):
    panels, text = error_curves.error_curve_panels(synthetic_eval.curves)
    specs = [panel.to_dict() for panel in panels]
    assert len(specs) == 3
    scale = specs[1]["encoding"]["color"]["scale"]
    colors_by_hue = dict(zip(scale["domain"], scale["range"], strict=True))
    assert colors_by_hue["0° red"] == "#ff0000"
    assert colors_by_hue["300° magenta"] == "#ff00ff"
    assert specs[0]["encoding"]["y"]["title"] == "mean squared error"
    n_rows = sum(len(rows) for spec in specs for rows in _datasets(spec))
    assert n_rows == 5 * 240 + 2 + 2 * 6 * 48  # a few thousand marks at most
    assert all(spec["description"] == text for spec in specs)
    # five value levels plus black: each its own color and dash pattern, the blues ordered light (V = 1) to dark
    value = specs[0]["encoding"]
    assert value["color"]["scale"]["domain"][-1] == "V = 0 (black)"
    ramp = value["color"]["scale"]["range"]
    assert len(set(ramp)) == len(ramp) == 6 and len({str(d) for d in value["strokeDash"]["scale"]["range"]}) == 6
    lum = [float(style.srgb_to_linear(np.array([int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)])) @ [0.2126, 0.7152,
           0.0722]) for h in ramp[:5]]  # fmt: skip
    assert lum == sorted(lum, reverse=True) and lum[0] > 3 * lum[-1]


def test_curves_description_reports_peak_and_falloff(synthetic_eval):
    text = error_curves.curves_description(synthetic_eval.curves)
    # PEAK cos^4(h) > PEAK/10 for |h| < acos(0.1^(1/4)) = 55.8 deg; the grid steps by 1.5 deg
    assert "error peaks at 0° (red) with 0.16" in text
    assert "from 304° to 56°" in text
    assert "Error vs saturation (V = 1): highest for 0° red (0.16 at saturation 1.00)" in text
    assert "All lines start together at value 0, where every hue is the same color (black), error 0" in text
    assert "the flat grey line is black (V = 0), one color whatever the hue, so its error (0)" in text


def test_log_axis_floors_zeros_but_keeps_true_values(synthetic_eval):
    panels, _ = error_curves.error_curve_panels(synthetic_eval.curves, log=True)
    specs = [panel.to_dict() for panel in panels]
    rows = [r for spec in specs for rows in _datasets(spec) for r in rows]
    assert min(r["error"] for r in rows) == 0
    # the plotted height is computed in the chart from the true error: floored at LOG_FLOOR on the log axis
    assert {t["as"]: t["calculate"] for t in specs[0]["transform"]}["plotted"] == "max(datum.error, 1e-07)"
    assert style.LOG_FLOOR == 1e-07
    assert specs[0]["encoding"]["y"]["scale"]["type"] == "log"
    # issue 24 item 13: ticks at decades only, 1e-7 up to the axis's top (not 2e-4, 3e-5, 1e-5, 2e-6 …)
    top = specs[0]["encoding"]["y"]["scale"]["domainMax"]
    for spec in specs:
        ticks = spec["encoding"]["y"]["axis"]["values"]
        assert ticks == [10.0**e for e in range(-7, int(math.floor(math.log10(top))) + 1)]


def test_log_color_legend_of_the_named_colors_is_ticked_at_decades(synthetic_eval):
    chart, _ = named_colors.named_colors_chart({"baseline": synthetic_eval, "suppression": synthetic_eval})
    legends = [lg for lg in _all(chart.to_dict(), "legend") if isinstance(lg, dict) and "values" in lg]
    assert legends and all(all(math.log10(v) == round(math.log10(v)) for v in lg["values"]) for lg in legends)


def test_error_curve_panels_share_one_axis_each_as_wide_as_its_column(synthetic_eval):
    curves = dataclasses.replace(synthetic_eval.curves, by_hue=synthetic_eval.curves.by_hue / 2)  # hue panel: PEAK/2
    for log in (False, True):
        panels, text = error_curves.error_curve_panels(curves, log=log)
        specs = [panel.to_dict() for panel in panels]
        assert [s["title"] for s in specs] == ["error vs hue", "error vs saturation (V = 1)", "error vs value (S = 1)"]
        for spec in specs:
            assert spec["width"] == "container" and spec["description"] == text
            # every panel's axis ends at the tallest curve of all three (PEAK, at pure red): heights compare
            assert spec["encoding"]["y"]["scale"]["domainMax"] == pytest.approx(PEAK)
        assert [s["encoding"]["color"]["legend"] for s in specs][2] is None  # the middle panel's hues serve both
        assert {specs[i]["encoding"]["color"]["legend"]["orient"] for i in (0, 1)} == {"bottom"}  # width stays


def test_swatch_panels_are_the_four_saturations_each_as_wide_as_its_column(synthetic_eval):
    panels, text = swatches.swatch_panels(synthetic_eval, step=16)
    specs = [panel.to_dict() for panel in panels]
    assert [s["title"] for s in specs] == ["S = 0", "S = 1/3", "S = 2/3", "S = 1"]
    for spec in specs:
        assert spec["width"] == "container" and spec["height"] == 16 * 8  # 8 value rows of 16 px
        (rows,) = _datasets(spec)
        assert len(rows) == 768 // 4 and spec["description"] == text
    (rows,) = _datasets(specs[3])
    # sent compact (grid indices, colors as 0xrrggbb), the chart computes hue, value and the hex codes back
    red = next(r for r in rows if r["h"] == 0 and r["v"] == 7)
    assert red["t"] == 0xFF0000 and red["r"] == 0x808080  # the S = 1 panel holds pure red
    calculated = {t["as"]: t["calculate"] for t in specs[3]["transform"]}
    assert calculated["true"] == "'#' + format(datum.t, '06x')" and calculated["hue"] == "datum.h * 360 / 24"
    assert calculated["reconstructed"] == "'#' + format(datum.r, '06x')"


def curves_with_peaks(heights: dict[int, float], median: float = 1e-5, black: float = 4e-4) -> ev.Curves:
    """Curves whose brightest error-vs-hue line is `median` everywhere except a one-sample peak of the given
    height at each listed hue (hue step 1.5°, as the dense grid)."""
    hue = np.arange(240) * 1.5
    row = np.full(240, median)
    for h, height in heights.items():
        row[int(h / 1.5)] = height
    by_value = np.full((6, 48), 1e-5)
    by_value[:, 0] = black
    return ev.Curves(
        hue_deg=hue,
        by_hue=np.stack([row, row / 10]),
        values=np.array([1.0, 0.5]),
        levels=np.linspace(0, 1, 48),
        by_saturation=np.full((6, 48), 1e-5),
        by_value=by_value,
        hues_deg=np.array([0.0, 60, 120, 180, 240, 300]),
    )


EVEN = {h: 5e-4 for h in (0, 60, 120, 180, 240, 300)}
UNEVEN_NO_RED = {0: 1e-5, 60: 8e-4, 120: 6e-4, 180: 3e-4, 240: 1.6e-4, 300: 9e-4}


def test_hue_spikes_find_the_peaks_that_stand_out():
    spikes = error_curves.hue_spikes(curves_with_peaks(UNEVEN_NO_RED))
    assert spikes[0] == (1e-5, False)  # no higher than the line around it: not a spike
    assert spikes[300] == (9e-4, True) and all(spikes[h][1] for h in (60, 120, 180, 240))
    assert error_curves.spike_unevenness(curves_with_peaks(UNEVEN_NO_RED)) == pytest.approx(9e-4 / np.mean(
        list(UNEVEN_NO_RED.values())))  # fmt: skip
    assert error_curves.spike_unevenness(curves_with_peaks(EVEN)) == pytest.approx(1)


def test_look_for_follows_the_measured_spikes_and_says_whether_the_seed_agrees():
    # post-norm even, pre-norm uneven: as in the notebook
    agree = error_curves.look_for({"post": curves_with_peaks(EVEN), "pre": curves_with_peaks(UNEVEN_NO_RED)}, "post")
    assert "all six stand out as spikes" in agree[0] and "is 1.00× the mean of the six" in agree[0]
    assert "post-norm's are the more even, as in the notebook" in agree[0]
    # the other way round: post-norm has no spike at red and its tallest is 1.95× the mean: the seed disagrees
    disagree = error_curves.look_for({"post": curves_with_peaks(UNEVEN_NO_RED), "pre": curves_with_peaks(EVEN)}, "post")
    assert "spikes at yellow, green, cyan, blue and magenta, but none at red (1.0e-5)" in disagree[0]
    assert "the tallest is 1.95× the mean post-norm and 1.00× pre-norm, so this seed disagrees" in disagree[0]
    assert "The tallest (magenta, 9.0e-4) is 1.95× the mean" in disagree[0]
    assert "the lowest is red (1.0e-5)" in disagree[0]
    # the black line and the scale come from the numbers too
    darker = error_curves.look_for({"post": curves_with_peaks(EVEN, black=7e-4)}, "post")
    assert "at 4.0e-4" in agree[1] and "at 7.0e-4" in darker[1]
    assert "stays below 0.001 (the highest point is 5.0e-4)" in agree[2]
    loud = error_curves.look_for({"post": curves_with_peaks({60: 3e-3})}, "post")
    assert "the highest point (0.003) passes 0.001" in loud[2] and "notebook saw six" not in loud[0]


def test_visible_error_basis_is_eight_levels_of_255():
    text = error_curves.visible_error_basis()
    assert "0.032" in text and "8 of 255 levels" in text and "rule of thumb" in text
    assert round(math.sqrt(ev.VISIBLE_ERROR) * 255) == 8


# --------------------------------------------------------------------------------------------------
# mapping curves


def test_repulsion_mapping_passes_through_a_a_and_1_b():
    rep = Repulsion(BezierMapper(0.2, 0.5))
    frame = mappings.mapping_frame(mapping_curve(rep))
    at = dict(zip(frame["d"].round(6), frame["y"], strict=True))
    assert at[0.2] == pytest.approx(0.2, abs=1e-6)
    assert at[1.0] == pytest.approx(0.5, abs=1e-6)
    assert at[0.1] == pytest.approx(0.1)  # identity below a
    chart, text = mappings.mapping_chart(mapping_curve(rep))
    spec = chart.to_dict()
    (marked,) = [rows for rows in _datasets(spec) if len(rows) == 2 and "label" in rows[0]]
    assert [(r["d"], r["y"]) for r in marked] == [(0.2, 0.2), (1.0, 0.5)]
    assert "acos(datum.value)" in str(spec)  # axis labels carry the angle
    assert "a = 0.20 (78°)" in text and "b = 0.50 at d = 1" in text and "60°" in text


def test_suppression_gate_is_zero_below_a_and_b_at_one():
    sup = Suppression(BoundedFalloff(0.3, 0.8, 2.0))
    frame = mappings.mapping_frame(mapping_curve(sup))
    assert (frame.loc[frame["d"] <= 0.3, "y"] == 0).all()
    assert frame["y"].iloc[-1] == pytest.approx(0.8)
    _, text = mappings.mapping_chart(mapping_curve(sup))
    assert "a = 0.30" in text and "b = 0.80" in text
    default_text = mappings.mapping_description(mapping_curve(Suppression()))
    assert "at d = 0.5 (60°) the gate is 0.25" in default_text


def test_whole_hemisphere_is_said_only_when_a_is_zero():
    wide = mappings.mapping_description(mapping_curve(Suppression(BoundedFalloff(0.0, 1.0, 2.0))))
    assert "the cone is the whole hemisphere facing red" in wide
    assert "only the gate's shape (p = 2) spares the distant ones (the gate is 0.25 at 60°, 0.03 at 80°)" in wide
    assert "hemisphere" not in mappings.mapping_description(mapping_curve(Suppression(BoundedFalloff(0.5, 1.0, 2.0))))
    wide = mappings.mapping_description(mapping_curve(Repulsion(BezierMapper(0.0, 0.5))))
    assert "whole hemisphere" in wide and "a latent at 80° is turned to 81°" in wide
    assert "hemisphere" not in mappings.mapping_description(mapping_curve(Repulsion(BezierMapper(0.3, 0.5))))


def test_mapping_chart_refuses_ablation():
    with pytest.raises(TypeError):
        mappings.mapping_chart(mapping_curve(Ablation()))


# --------------------------------------------------------------------------------------------------
# named colors


def test_named_colors_frame_and_chart(synthetic_eval):
    runs = {"baseline": {n: 1e-5 for n in colors.NAMED_HUES}, "suppression": synthetic_eval}
    frame = named_colors.named_colors_frame(runs)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["color"]) == list(colors.NAMED_HUES)
    assert frame.loc[0, "swatch"] == "#ff0000"
    assert frame.loc[4, "swatch"] == "#00ff00"
    assert frame.loc[0, "suppression"] == pytest.approx(0.2)
    chart, text = named_colors.named_colors_chart(runs)
    spec = chart.to_dict()
    assert spec["resolve"]["scale"]["color"] == "independent"
    assert "suppression: visibly wrong red (0.2), orange (0.002), pink (0.002); the other 9 stay below 0.001" in text
    assert "baseline: none visibly wrong" in text


def test_notebook_reference_only_for_the_notebooks_own_settings():
    source = "(one seed of the original pipeline)"
    assert notebook.notebook_reference("post", "baseline", "max") == f"Notebook: 0.0011 {source}"
    assert notebook.notebook_reference("pre", "baseline", "median") == f"Notebook: 1.6e-5 {source}"
    rep = Repulsion(BezierMapper(0.0, math.cos(math.pi / 3)))
    assert notebook.notebook_reference("pre", "repulsion", "max", rep).startswith("Notebook: 0.12 ")
    assert notebook.notebook_reference("pre", "repulsion", "max", Repulsion(BezierMapper(0.0, 0.6))) == ""
    assert notebook.notebook_reference("post", "suppression", "max", Suppression(BoundedFalloff(0, 1, 2))) != ""
    assert notebook.notebook_reference("post", "suppression", "max", Suppression(BoundedFalloff(0, 1, 3))) == ""
    assert notebook.notebook_reference("post,anchor=pre", "baseline", "max") == ""


def _latent_scene(tilt: str, out_red: tuple[float, float, float]):
    """Red 13° from c, tilted toward black's latent (+dim 3) or white's (-dim 3); cyan 166° from red. Plain
    namespaces stand in for evaluations: the notes read only latents, true and reconstructed colors."""
    sign = 1.0 if tilt == "black" else -1.0
    t = math.radians(13)
    rgb = np.array([(1, 0, 0), (0, 0, 0), (1, 1, 1), (0, 1, 1), (0, 1, 0)], dtype=float)
    latents = np.array(
        [
            (math.cos(t), 0, 0, sign * math.sin(t)),
            (0, 0.1, 0, 1.0),
            (0, -0.1, 0, -1.0),
            (-math.cos(math.radians(14)), 0, math.sin(math.radians(14)), 0),
            (0, 1, 0, 0),
        ]
    )
    baseline = SimpleNamespace(latents=latents, rgb_true=rgb, rgb_out=rgb)
    moved = latents.copy()
    moved[0] = (0.5, 0, 0, sign * math.sqrt(0.75))
    out = rgb.copy()
    out[0] = out_red
    return baseline, SimpleNamespace(latents=moved, rgb_true=rgb, rgb_out=out)


def test_repulsion_red_note_follows_where_the_model_tilted_red():
    baseline, repelled = _latent_scene("black", (0.47, 0, 0))
    dark = intervention_notes.repulsion_red_note(baseline, repelled)
    assert "Pure red comes back as #780000, dark red" in dark
    assert "sits 13.0° from c, tilted toward where the model keeps black (cosine 1.00" in dark
    assert "turned to 60° from c" in dark and "a tilt toward white would do that" in dark
    baseline, repelled = _latent_scene("white", (1.0, 0.55, 0.55))
    pale = intervention_notes.repulsion_red_note(baseline, repelled)
    assert "tilted toward where the model keeps white" in pale and "pale red" in pale
    assert "The notebook's red came back pink too." in pale
    assert intervention_notes.pure_red_after(baseline, repelled) == "#ff8c8c (pale red)"


def test_ablation_note_names_the_worst_hue_and_the_red_cyan_axis():
    baseline, _ = _latent_scene("black", (0.5, 0, 0))
    cyan_first = {n: 1e-5 for n in colors.NAMED_HUES} | {"cyan": 0.33, "red": 0.29}
    text = intervention_notes.ablation_note(baseline, cyan_first)
    assert text.startswith("Ablation's worst named hue is cyan (0.33), then red (0.29)")
    assert "red–cyan axis" in text and "cyan 166° from red, almost exactly at −c" in text and "is -0.97" in text
    red_first = {n: 1e-5 for n in colors.NAMED_HUES} | {"red": 0.34, "orange": 0.2}
    text = intervention_notes.ablation_note(baseline, red_first)
    assert text == "Ablation's worst named hue is red (0.34), then orange (0.2)."


def _angle_scene(inside_after: bool):
    """Twenty latents 0° to 38° from red (in the plane of dims 0 and 1), moved to 60°+ or only halfway there."""
    before = np.radians(np.linspace(0, 38, 20))
    after = np.radians(60 + np.linspace(0, 38, 20) / 2) if not inside_after else before + np.radians(10)
    rgb = np.linspace(0, 1, 60).reshape(20, 3)

    def latents(a):
        return np.stack([np.cos(a), np.sin(a), 0 * a, 0 * a], axis=1)

    return SimpleNamespace(latents=latents(before), rgb_true=rgb), SimpleNamespace(latents=latents(after), rgb_true=rgb)


def test_angle_strips_show_the_hole_empty_or_not():
    before, after = _angle_scene(inside_after=False)
    chart, text = mappings.angle_shift_chart({"baseline": before, "repulsion": after}, cones={"cone": 90, "hole": 60})
    assert "for the 20 of 20 RGB-grid colors it turns" in text
    assert "Before, 20 latents lay within the hole's 60° of red; after, 0 do (the closest is 60.0° away): the " in text
    assert text.count("the hole is empty.") == 1
    assert "three of the four dimensions" in text
    frame = mappings.angle_shift_frame(before, after)
    assert sorted(frame["row"].unique()) == ["after", "before"] and len(frame) == 40
    assert frame[frame["row"] == "after"]["angle"].min() == pytest.approx(60.0)
    spec = chart.to_dict()
    assert {r["encoding"]["x"]["field"] for r in spec["layer"]} == {"angle"}
    before, after = _angle_scene(inside_after=True)
    _, text = mappings.angle_shift_chart({"baseline": before, "repulsion": after}, cones={"cone": 90, "hole": 60})
    assert "after, 20 do (the closest is 10.0° away)." in text and "empty" not in text
    assert "three of the four dimensions" not in text  # dots inside the cone really are inside
    few = mappings.angle_shift_frame(before, after, max_colors=5)
    assert len(few) == 10  # five colors, each before and after


def test_error_summary(synthetic_eval):
    text = intervention_notes.error_summary(synthetic_eval, "suppression")
    assert text.startswith("suppression: max error 0.16, median ")
    assert "selectivity r = 0.90" in text
    # issue 24: how much the other colors suffer, beside how much the damage is shaped like red
    assert text.endswith("far-from-red median error 1.50× the baseline's, 2.0% of those colors visibly damaged.")


def test_selectivity_and_collateral_damage_are_defined_apart():
    assert "how much the damage is shaped like red" in intervention_notes.SELECTIVITY_DEFINITION
    definition = intervention_notes.collateral_definition()
    assert f"the {ev.far_from_red().mean():.0%} of the 552,960-color dense grid" in definition
    assert "at most 0.1" in definition and "error above 0.001" in definition


# --------------------------------------------------------------------------------------------------
# on a really trained model


@pytest.fixture(scope="module")
def trained_evals(request):
    """Baseline and default suppression of the default recipe (reusing the session's run when conftest has it)."""
    try:
        run = request.getfixturevalue("default_run")
    except pytest.FixtureLookupError:
        from excolor.train import Recipe, train

        run = train(Recipe())[0]
    return ev.evaluate(run), ev.evaluate(run, Suppression())


def test_charts_on_a_trained_model(trained_evals):
    base, sup = trained_evals
    _, text = swatches.swatch_chart(sup)
    assert "within" in text and "of red" in text  # suppression only spoils colors near red
    panels, caption = error_curves.error_curve_panels(sup.curves)
    assert f"with {fmt(sup.curves.by_hue[0].max())}" in caption
    peak_hue = float(sup.curves.hue_deg[np.argmax(sup.curves.by_hue[0])])
    assert min(peak_hue, 360 - peak_hue) < 15  # the error peaks at red
    [panel.to_dict() for panel in panels]
    _, caption = named_colors.named_colors_chart({"baseline": base, "suppression": sup})
    assert f"red ({fmt(sup.named_error['red'])})" in caption
    assert math.isfinite(base.max_error)


# --------------------------------------------------------------------------------------------------
# a diverged model: every number NaN (what evaluate() returns for NaN weights)


def _strict(chart) -> str:
    """The chart spec as strict JSON (what the browser can parse): NaN must have become null."""
    return json.dumps(chart.to_dict(), allow_nan=False)


@pytest.fixture(scope="module")
def diverged_eval(synthetic_eval) -> ev.Evaluation:
    nan = float("nan")
    curves = synthetic_eval.curves
    return dataclasses.replace(
        synthetic_eval,
        max_error=nan,
        median_error=nan,
        curves=dataclasses.replace(
            curves,
            by_hue=np.full_like(curves.by_hue, nan),
            by_saturation=np.full_like(curves.by_saturation, nan),
            by_value=np.full_like(curves.by_value, nan),
        ),
        swatch_out=np.full_like(synthetic_eval.swatch_out, nan),
        swatch_error=np.full_like(synthetic_eval.swatch_error, nan),
        selectivity=nan,
        collateral=nan,
        damaged_share=nan,
        named_error={n: nan for n in colors.NAMED_HUES},
    )


def test_swatches_of_a_diverged_model_are_grey_and_say_so(diverged_eval):
    frame = swatches.swatch_frame(diverged_eval)
    assert set(frame["reconstructed"]) == {"#808080"}
    red = frame[(frame["hue"] == 0) & (frame["saturation"] == 1) & (frame["value"] == 1)]
    assert red["true"].tolist() == ["#ff0000"]  # the truth is still drawn
    chart, text = swatches.swatch_chart(diverged_eval)
    _strict(chart)
    assert text.endswith("768 of 768 reconstructions are not numbers (the model diverged) and are drawn grey.")
    assert "No swatch differs visibly" not in text


def test_swatch_description_with_a_few_nan_swatches(synthetic_eval):
    out, err = synthetic_eval.swatch_out.copy(), synthetic_eval.swatch_error.copy()
    out[12, 0, 3], err[12, 0, 3] = np.nan, np.nan
    text = swatches.swatch_description(dataclasses.replace(synthetic_eval, swatch_out=out, swatch_error=err))
    assert "1 of 768 reconstructions are not numbers (the model diverged) and are drawn grey." in text
    assert "1 of 768 swatches differ visibly" in text  # the finite ones are described as usual (red)


def test_error_curves_of_a_diverged_model(diverged_eval):
    panels, text = error_curves.error_curve_panels(diverged_eval.curves, log=True)
    for panel in panels:
        _strict(panel)
    assert text == (
        "Error curves: 1,776 of 1,776 points are not numbers (the model diverged), "
        "so the panels show only the points that are."
    )


def test_named_colors_with_a_diverged_run_beside_a_good_one(synthetic_eval, diverged_eval):
    chart, text = named_colors.named_colors_chart({"pre": diverged_eval, "suppression": synthetic_eval})
    _strict(chart)
    assert "pre: 12 of 12 errors are not numbers (diverged)." in text
    assert "suppression: visibly wrong red (0.2), orange (0.002), pink (0.002)" in text
    summary = intervention_notes.error_summary(diverged_eval, "pre")
    assert summary == "pre: max error n/a, median n/a over the dense grid."


def _all(node, key: str):
    """Every value stored under `key` anywhere in a nested spec."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _all(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _all(v, key)
