"""Measures: the numbers a comparison compares, and how one trained run is measured for them.

`measure_run(run)` takes the few numbers a comparison needs from one run (dense-grid errors with and without the
default interventions, their selectivity and collateral damage, the six hue peaks, the regularizers on a fixed
validation set);
`run_record` puts them under the run's identity; `value(record, measure)` reads one back. Only this module
touches a model: the statistics (excolor.evidence) and the words (excolor.verdicts) work on the records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from . import colors
from .designs import parse_design


@dataclass(frozen=True)
class Measure:
    """One number per run that a comparison compares between designs."""

    key: str
    label: str  # reads inside a sentence: "post-norm had the lower {label} on 6 of 8 seeds"
    path: tuple[str, ...]  # where the value sits in a run record
    better: str | None  # "lower", "higher", or None when neither direction is "better"
    group: str
    meaning: str  # one line for a newcomer: what the number says


MEASURES = (
    Measure(
        "baseline_max",
        "baseline max error",
        ("metrics", "baseline", "max"),
        "lower",
        "reconstruction",
        "the worst-reconstructed color on the dense grid, no intervention",
    ),
    Measure(
        "baseline_median",
        "baseline median error",
        ("metrics", "baseline", "median"),
        "lower",
        "reconstruction",
        "a typical color's reconstruction error, no intervention",
    ),
    Measure(
        "recon",
        "validation reconstruction loss",
        ("validation", "recon"),
        "lower",
        "reconstruction",
        "reconstruction loss over the whole training grid, weighted as training samples it",
    ),
    Measure(
        "peak_ratio",
        "hue-peak unevenness",
        ("hue_peaks", "ratio"),
        "lower",
        "reconstruction",
        "the highest error of the six pure primaries and secondaries (the spikes of the error-vs-hue panel) "
        "÷ their mean: 1 means all six spikes are equally high, 6 that one spike carries all the error",
    ),
    Measure(
        "anchor",
        "anchor loss",
        ("validation", "anchor"),
        "lower",
        "structure",
        "how far red colors sit from the red direction (1,0,0,0) after normalization",
    ),
    Measure(
        "planar",
        "planarity loss",
        ("validation", "planar"),
        "lower",
        "structure",
        "how far vibrant colors stray out of the plane of latent dimensions 0 and 1",
    ),
    Measure(
        "suppression_max",
        "suppression max error",
        ("metrics", "suppression", "max"),
        None,
        "interventions",
        "how much suppression changes the most-affected color (red): larger means a stronger effect",
    ),
    Measure(
        "repulsion_max",
        "repulsion max error",
        ("metrics", "repulsion", "max"),
        None,
        "interventions",
        "how much repulsion changes the most-affected color: larger means a stronger effect",
    ),
    Measure(
        "suppression_r",
        "suppression selectivity r",
        ("selectivity", "suppression"),
        "higher",
        "interventions",
        "correlation of suppression's damage with similarity to red: how much the damage is shaped like red "
        "(not how much the other colors suffer: that is collateral damage)",
    ),
    Measure(
        "repulsion_r",
        "repulsion selectivity r",
        ("selectivity", "repulsion"),
        "higher",
        "interventions",
        "correlation of repulsion's damage with similarity to red: how much the damage is shaped like red "
        "(not how much the other colors suffer: that is collateral damage)",
    ),
    Measure(
        "suppression_collateral",
        "suppression collateral damage",
        ("collateral", "suppression", "ratio"),
        "lower",
        "interventions",
        "median error of the colors far from red under suppression ÷ the baseline's median on them: 1 means the "
        "other colors are untouched",
    ),
    Measure(
        "repulsion_collateral",
        "repulsion collateral damage",
        ("collateral", "repulsion", "ratio"),
        "lower",
        "interventions",
        "median error of the colors far from red under repulsion ÷ the baseline's median on them: 1 means the "
        "other colors are untouched",
    ),
)
MEASURE_BY_KEY = {m.key: m for m in MEASURES}
GROUPS = {
    "reconstruction": "Reconstruction",
    "structure": "Latent structure",
    "interventions": "Interventions",
}
# What the notebook claimed post-norm improves: the verdict weighs these, and corrects for comparing this many.
HYPOTHESIS_KEYS = ("baseline_max", "baseline_median", "recon", "peak_ratio", "anchor", "planar")
HEADLINE_KEY = "baseline_max"  # the notebook's headline number


def measure_run(run) -> dict:
    """Everything a comparison needs from one trained run (`run.model`), and nothing more.

    The numbers are exactly evaluate.standard_metrics's, but only per-color errors are kept and nothing survives
    the call: a 64-run comparison must not keep 64 encoded dense grids alive (docs/science.md). The evaluation
    modules (and PyTorch) are imported here, not above, so that reading records never loads them.
    """
    from .evaluate import STANDARD, collateral_damage, far_from_red, pearson, validation_losses

    model = run.model
    dense = _errors_under_interventions(model, "dense")
    rgb = _errors_under_interventions(model, "rgb")
    metrics = {name: {"max": float(e.max()), "median": float(np.median(e))} for name, e in dense.items()}
    selectivity = {name: pearson(rgb[name], _red_similarity_sq()) for name in STANDARD[1:]}
    far = far_from_red()
    collateral = {name: collateral_damage(dense[name], dense["baseline"], far) for name in STANDARD[1:]}
    heights = peak_heights(dense["baseline"].reshape(colors.dense_grid().shape))
    return {
        "metrics": metrics,
        "selectivity": selectivity,
        "collateral": {name: {"ratio": c.ratio, "damaged": c.damaged} for name, c in collateral.items()},
        "far_from_red_share": float(far.mean()),
        "hue_peaks": {
            "hues": list(colors.PEAK_HUES_DEG),
            "heights": heights.tolist(),
            "ratio": peak_unevenness(heights),
        },
        "validation": validation_losses(model),
    }


def _errors_under_interventions(model, grid: str) -> dict[str, np.ndarray]:
    """Per-color error of every color of a named grid, without and with each default intervention."""
    from .evaluate import STANDARD, errors_under
    from .interventions import default_interventions

    interventions = {"baseline": None, **default_interventions()}
    return errors_under(model, grid, {name: interventions[name] for name in STANDARD})


@cache
def _red_similarity_sq() -> np.ndarray:
    return colors.similarity_to_red(colors.rgb_grid().flat_hsv) ** 2


def peak_heights(error_cube: np.ndarray, hues_deg: Sequence[float] = colors.PEAK_HUES_DEG) -> np.ndarray:
    """The error of the fully saturated, full-value color at each of `hues_deg`, from a dense-grid error cube
    shaped (hues, saturations, values) with hue 0 first and S, V ending at 1: the spikes of the notebook's
    error-vs-hue panel, where the hue circle turns a corner of the RGB cube."""
    n_hues = error_cube.shape[0]
    idx = [int(round(h / 360 * n_hues)) % n_hues for h in hues_deg]
    return np.asarray(error_cube[idx, -1, -1], dtype=np.float64)


def peak_unevenness(heights: Sequence[float]) -> float:
    """Tallest hue peak ÷ the mean of the six: 1 when all six spikes are equally high, up to 6 when one spike
    carries all the error; puts a number on the notebook's "post-norm's spikes are tidier".

    Not max ÷ min: a peak can be exactly 0, and a ratio to zero says nothing. NaN when a height is missing or all
    are 0."""
    h = np.asarray(heights, dtype=np.float64)
    if h.size == 0 or not np.all(np.isfinite(h)) or h.mean() <= 0:
        return float("nan")
    return float(h.max() / h.mean())


def run_record(run, measured: dict | None = None) -> dict:
    """One run as a record: the keys `python -m excolor train --json` gives, the run's canonical `design` text,
    plus `selectivity` and `collateral` (suppression, repulsion), `hue_peaks` and `validation` (recon, unit, anchor,
    planar on the fixed validation set)."""
    measured = measure_run(run) if measured is None else measured
    return {**run.describe(), "design": parse_design(run.recipe.design).text, **measured}


def value(record: dict, measure: Measure | str) -> float:
    """A measure's value in a record; NaN when it is missing or not a finite number (e.g. a diverged run)."""
    measure = MEASURE_BY_KEY[measure] if isinstance(measure, str) else measure
    node = record
    for part in measure.path:
        if not isinstance(node, dict) or part not in node:
            return float("nan")
        node = node[part]
    try:
        x = float(node)
    except (TypeError, ValueError):
        return float("nan")
    return x if math.isfinite(x) else float("nan")
