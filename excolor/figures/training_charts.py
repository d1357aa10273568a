"""Figures and tables for the first two pages (hypothesis, placement): pure builders, no Streamlit.

Every builder returns its figure together with a text description computed from the same numbers, so
the caption (and the alt text) states the finding, not just "a chart". Colors are fixed per meaning:
each loss term always has the same color, pre-norm and post-norm are always the same pair, and a point
that stands for a color is filled with that color (a literal hex string, ``scale=None``). The series
colors sit at mid luminance so that they read on Streamlit's light and dark backgrounds alike.

Long per-step histories (3,001 steps) are smoothed and thinned before they reach the browser: a few
hundred points per line draw instantly, 3,001 noisy ones draw slowly and show mostly noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from .. import colors
from ..classmode.questions import QUESTIONS
from ..designs import PRESET_TITLES
from ..losses import LABEL_OF, PLACEMENTS, RED_DIRECTION, TERMS
from ..model import LATENT_DIMS
from ..schedule import PARAMS, Schedule
from ..train import Replay, TrainedRun
from .charts import NOTEBOOK, NOTEBOOK_SOURCE, fmt
from .diagrams import Edge, Node
from .diagrams import svg as diagram_svg

# Okabe-Ito hues (distinguishable with the common color-vision deficiencies), grey for the sums.
TERM_COLORS = {
    "recon": "#56B4E9",
    "separate": "#E69F00",
    "anchor": "#D55E00",  # the term that pins red: a red-orange
    "unit": "#CC79A7",
    "planar": "#009E73",
    "total": "#9A9A9A",
    "lr": "#8C8CC8",
}
TERM_NAMES = {
    "recon": "reconstruction",
    "separate": "separate",
    "anchor": "anchor",
    "unit": "unitarity",
    "planar": "planarity",
    "total": "total loss",
    "lr": "learning rate",
}
PLACEMENT_COLORS = {"pre": "#E8833A", "post": "#3E8FD8"}
NEUTRAL = "#8A8A8A"  # lines and text that must read on white and on near-black
SEPARATE_POWER = 100
HISTORY_CURVES = ("recon", *TERMS)
LABELLED = tuple(LABEL_OF)  # terms averaged over labelled samples only: 0 means "no labelled sample"
# lr dashed; unitarity dotted, because in Ex 2.4 it follows exactly the same curve as planarity
SCHEDULE_DASHES = {"lr": [6, 3], "unit": [2, 3]}  # the rest solid
SQUARE_PADDING = {"left": 5, "top": 5, "right": 5, "bottom": 5}
SAME_TOLERANCE = 0.2  # relative gap in max error below which one seed cannot tell the placements apart
# Rows of the comparison table that test the hypothesis (lower reconstruction error, a better-shaped latent space),
# and what they test. Anchor and planarity count only on the fixed set: there both placements are measured on the
# unit latent, the space the decoder and the interventions see.
HYPOTHESIS_ROWS = {
    "reconstruction (fixed set)": "reconstruction",
    "max error": "reconstruction",
    "median error": "reconstruction",
    "anchor (fixed set)": "layout",
    "planarity (fixed set)": "layout",
}


def _color_scale(names: tuple[str, ...]) -> alt.Scale:
    return alt.Scale(domain=[TERM_NAMES[n] for n in names], range=[TERM_COLORS[n] for n in names])


def _decades(values: pd.Series) -> list[float]:
    """Powers of ten spanning the data: log-axis ticks and grid lines at decades only (minor lines are noise)."""
    low, high = np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))
    return [float(10.0**e) for e in np.arange(low, high + 1)]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------------------------------
# Diagrams (SVG laid out by hand, see diagrams.py; st.image shows them)

_TAP_FILL = {"encoder": "#F7D2B4", "bottleneck": "#BFD9F2"}  # light tints of the pre / post pair
_NETWORK_CAPTION = (
    "The network, down the left and up the right: 3 color channels → 16 hidden units (GELU) → 4 numbers, "
    "the encoder tap (raw latent z, any length) → divided by its length → the bottleneck tap (unit latent ẑ, "
    "length exactly 1, a point on a 4-D sphere) → 16 hidden units (GELU) → 3 color channels. The decoder only "
    "ever sees ẑ."
)


def network_diagram() -> tuple[str, str]:
    """The autoencoder as a U with its two taps highlighted (SVG), and its description: the encoder runs down the
    left, the taps across the bottom, the decoder up the right. Four nodes tall and three wide, it reads on a
    390 px phone, where a left-to-right chain of nine nodes shrank to unreadable."""
    left, middle, right, w = 75.0, 210.0, 345.0, 120.0
    rows = (25.0, 80.0, 135.0, 192.0)  # top to bottom; the taps' row is one line taller
    nodes = [
        Node("rgb_in", ("RGB in", "3 numbers"), left, rows[0], w, 36),
        Node("enc1", ("Linear 3→16", "+ GELU"), left, rows[1], w, 36),
        Node("enc2", ("Linear 16→4",), left, rows[2], w, 28),
        Node("encoder", ("encoder tap", "raw latent z (4-D)"), left, rows[3], w + 6, 40, fill=_TAP_FILL["encoder"],
             bold_border=True),
        Node("norm", ("normalize", "z / ‖z‖"), middle, rows[3], 90, 36, fill="#FFFFFF"),
        Node("bottleneck", ("bottleneck tap", "unit latent ẑ (4-D)"), right, rows[3], w + 6, 40,
             fill=_TAP_FILL["bottleneck"], bold_border=True),
        Node("dec1", ("Linear 4→16", "+ GELU"), right, rows[2], w, 36),
        Node("dec2", ("Linear 16→3",), right, rows[1], w, 28),
        Node("rgb_out", ("RGB out", "3 numbers"), right, rows[0], w, 36),
    ]  # fmt: skip
    keys = [node.key for node in nodes]
    edges = [Edge(a, b) for a, b in zip(keys, keys[1:])]  # down the left, across the taps, up the right
    return diagram_svg(nodes, edges, 420, 216, scale=1.05), _NETWORK_CAPTION


PLACEMENT_TERM_ORDER = ("unit", "anchor", "separate", "planar")  # unitarity first: fewest crossing arrows
# Separate divides its inputs by their length itself (cosines of unit vectors), so on the encoder tap and on the
# bottleneck tap it has the same value and gradient (SPEC §4): its tap is drawn, dashed, but changes nothing.
TAP_INDIFFERENT = ("separate",)
_TERM_X = {"unit": 45.0, "anchor": 135.0, "separate": 260.0, "planar": 395.0}  # the terms' row, left to right


def _term_node(term: str) -> Node:
    lines = (TERM_NAMES[term], "(same on either tap)") if term in TAP_INDIFFERENT else (TERM_NAMES[term],)
    width = 150.0 if term in TAP_INDIFFERENT else 80.0
    return Node(term, lines, _TERM_X[term], 122.0, width, 40 if len(lines) > 1 else 30, shape="ellipse")


def placement_diagram(placement: str, placements: Mapping[str, Mapping[str, str]] = PLACEMENTS) -> str:
    """One placement's wiring (SVG): the two taps on top, the four regularizers below, an arrow from the tap each
    term reads, in the placement's color. Two of these side by side show the experiment's one difference."""
    color = PLACEMENT_COLORS.get(placement, NEUTRAL)
    nodes = [
        Node("encoder", ("encoder tap", "raw latent z"), 120, 30, 100, 38, fill=_TAP_FILL["encoder"], bold_border=True),
        Node("norm", ("normalize", "z / ‖z‖"), 232, 30, 80, 36, fill="#FFFFFF"),
        Node("bottleneck", ("bottleneck tap", "unit latent ẑ"), 348, 30, 108, 38, fill=_TAP_FILL["bottleneck"],
             bold_border=True),
        *(_term_node(term) for term in PLACEMENT_TERM_ORDER),
    ]  # fmt: skip
    edges = [Edge("encoder", "norm"), Edge("norm", "bottleneck")]
    edges += [
        Edge(placements[placement][term], term, color=color, width=2.5, dashed=term in TAP_INDIFFERENT)
        for term in PLACEMENT_TERM_ORDER
    ]
    return diagram_svg(nodes, edges, 440, 146, scale=1.05)


def placement_description(placements: Mapping[str, Mapping[str, str]] = PLACEMENTS) -> str:
    """Which tap each term reads under each placement, in words; terms wired alike share a sentence."""
    names = list(placements)
    groups: dict[tuple[str, ...], list[str]] = {}
    for term in PLACEMENT_TERM_ORDER:
        groups.setdefault(tuple(placements[p][term] for p in names), []).append(TERM_NAMES[term])
    sentences = []
    for taps, terms in groups.items():
        subject = _join(terms).capitalize()
        verb = "reads" if len(terms) == 1 else "read"
        if len(set(taps)) == 1:
            sentences.append(f"{subject} {verb} the {taps[0]} tap under both placements")
        else:
            where = " and ".join(f"the {tap} tap {p}-norm" for p, tap in zip(names, taps))
            sentences.append(f"{subject} {verb} {where}")
    moved = [t for t in PLACEMENT_TERM_ORDER if len({placements[p][t] for p in names}) > 1]
    real = [TERM_NAMES[t] for t in moved if t not in TAP_INDIFFERENT]
    idle = [TERM_NAMES[t] for t in moved if t in TAP_INDIFFERENT]
    if idle:
        sentences.append(
            f"{_join(idle).capitalize()} divides its inputs by their length itself, so it computes the same value "
            "and the same gradient on either tap (its arrow is dashed): "
            + (f"only {_join(real)} really change with the placement" if real else "both train the same model")
        )
    return (
        "Where each regularizer looks, one diagram per placement: the encoder tap, the normalization and the "
        "bottleneck tap on top, the four regularizers below, an arrow from the tap each one is computed on. "
        + ". ".join(sentences)
        + "."
    )


# --------------------------------------------------------------------------------------------------
# Regularizer shapes (hypothesis page)


def separate_kernel(angle_deg: np.ndarray | float, power: float = SEPARATE_POWER) -> np.ndarray:
    """((1 + cos θ)/2)^power: how hard two latents at angle θ push each other apart (1 at 0°)."""
    return ((1 + np.cos(np.radians(angle_deg))) / 2) ** power


def about(angle_deg: float, step: float = 0.5) -> str:
    """An angle rounded to the nearest `step` for prose ('24.5' for 24.497): a caption saying "below 1% by 24°"
    when the kernel is still 1.2% there would be wrong; rounding to the nearest half degree keeps it honest."""
    return f"{round(angle_deg / step) * step:g}"


def kernel_half_angle(power: float = SEPARATE_POWER, level: float = 0.5) -> float:
    """The angle (degrees) at which the separate kernel has fallen to `level`."""
    return math.degrees(math.acos(2 * level ** (1 / power) - 1))


def separate_kernel_frame(powers: tuple[float, ...] = (1, 10, SEPARATE_POWER), step_deg: float = 0.5) -> pd.DataFrame:
    angle = np.arange(0, 180 + step_deg / 2, step_deg)
    return pd.concat(
        [pd.DataFrame({"angle": angle, "push": separate_kernel(angle, p), "power": f"power {p:g}"}) for p in powers],
        ignore_index=True,
    )


def separate_kernel_chart(powers: tuple[float, ...] = (1, 10, SEPARATE_POWER)) -> tuple[alt.Chart, str]:
    """The separate term's kernel against angle, for a few powers: 100 makes it a short-range push."""
    frame = separate_kernel_frame(powers)
    order = [f"power {p:g}" for p in powers]
    dashes = [[2, 3], [6, 3], [1, 0]][-len(powers) :] if len(powers) <= 3 else alt.Undefined
    half = kernel_half_angle()
    lines = (
        alt.Chart(frame)
        .mark_line(color=TERM_COLORS["separate"], strokeWidth=2.5)
        .encode(
            x=alt.X("angle:Q", title="angle between two latents (degrees)", scale=alt.Scale(domain=[0, 180])),
            y=alt.Y("push:Q", title="((1 + cos θ)/2)^power"),
            strokeDash=alt.StrokeDash(
                "power:N",
                sort=order,
                scale=alt.Scale(domain=order, range=dashes),
                legend=alt.Legend(title=None, orient="top-right"),
            ),
            tooltip=[
                alt.Tooltip("power:N"),
                alt.Tooltip("angle:Q", format=".1f", title="angle (°)"),
                alt.Tooltip("push:Q", format=".3g"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"angle": [half], "push": [0.2], "label": [f"half at {half:.1f}°"]}))
        .mark_rule(color=NEUTRAL, strokeDash=[3, 3])
        .encode(x="angle:Q")
    )
    text = rule.mark_text(align="left", dx=6, color=NEUTRAL).encode(y="push:Q", text="label:N")
    chart = (lines + rule + text).properties(height=220)
    p01 = kernel_half_angle(level=0.01)
    caption = (
        f"The separate term's push between two latents against the angle between them. With power {SEPARATE_POWER} "
        f"(solid) it is 1 at 0°, halves at about {about(half)}°, falls below 1% at about {about(p01)}° and is "
        f"{fmt(separate_kernel(90.0))} at 90°: only near neighbours push each other."
    )
    if len(powers) > 1:
        caption += (
            " With power "
            + _join([f"{p:g}" for p in powers[:-1]])
            + " (dotted, dashed) the push at 90° would still be "
            + _join([fmt(separate_kernel(90.0, p)) for p in powers[:-1]])
            + ": felt across the whole sphere."
        )
    return chart, caption


def anchor_penalty(angle_deg: np.ndarray | float, length: float = 1.0) -> np.ndarray:
    """‖z − c‖² for a latent of this length at this angle from c (c a unit vector): L² − 2L cos θ + 1."""
    return length**2 - 2 * length * np.cos(np.radians(angle_deg)) + 1


def anchor_penalty_chart(lengths: tuple[float, ...] = (0.5, 1.0, 1.5), step_deg: float = 1.0) -> tuple[alt.Chart, str]:
    """Anchor penalty against angle from red, for latents of several lengths.

    After normalization every latent has length 1, so the penalty depends on the angle alone (the solid
    line); before it, the same term also pulls on the length, which the decoder never sees.
    """
    angle = np.arange(0, 180 + step_deg / 2, step_deg)
    names = [f"length {x:g}" + (" (every unit latent)" if x == 1 else "") for x in lengths]
    frame = pd.concat(
        [
            pd.DataFrame({"angle": angle, "penalty": anchor_penalty(angle, x), "latent": n})
            for x, n in zip(lengths, names)
        ],
        ignore_index=True,
    )
    dashes = [[1, 0] if x == 1 else [5, 3] if x > 1 else [2, 3] for x in lengths]
    chart = (
        alt.Chart(frame)
        .mark_line(color=TERM_COLORS["anchor"], strokeWidth=2.5)
        .encode(
            x=alt.X("angle:Q", title="angle from the red direction (degrees)", scale=alt.Scale(domain=[0, 180])),
            y=alt.Y("penalty:Q", title="‖z − c‖²"),
            strokeDash=alt.StrokeDash(
                "latent:N",
                sort=names,
                scale=alt.Scale(domain=names, range=dashes),
                legend=alt.Legend(title=None, orient="top-left"),
            ),
            tooltip=[
                alt.Tooltip("latent:N"),
                alt.Tooltip("angle:Q", title="angle (°)"),
                alt.Tooltip("penalty:Q", format=".2f"),
            ],
        )
        .properties(height=220)
    )
    short = [x for x in lengths if x < 1]
    extra = (
        f" A latent {short[0]:g} long pays {anchor_penalty(0.0, short[0]):.2f} even when it points exactly at red: "
        "before normalization the anchor also pulls on length."
        if short
        else ""
    )
    caption = (
        "Anchor penalty ‖z − c‖² against the angle between a latent and the red direction c. A unit latent pays "
        f"{anchor_penalty(0.0):.0f} at 0°, {anchor_penalty(90.0):.0f} at 90° and {anchor_penalty(180.0):.0f} "
        "opposite red (2 − 2 cos θ): after normalization the term is purely about angle." + extra
    )
    return chart, caption


# --------------------------------------------------------------------------------------------------
# Training curves and the schedule (placement page)


def _measured(history: Mapping[str, np.ndarray], term: str) -> np.ndarray:
    """A term's per-step values as floats, with steps that carry no measurement set to NaN.

    Anchor and planarity average over labelled samples: a batch with no red (or vibrant) label reports
    exactly 0, which means "not measured", not "perfect".
    """
    values = np.asarray(history[term], dtype=float).copy()
    values[~np.isfinite(values)] = np.nan
    if term in LABELLED:
        values[values == 0] = np.nan
    return values


def final_terms(history: Mapping[str, np.ndarray], window: int = 100) -> dict[str, float]:
    """Each term's mean over the measured steps among the last `window` (one batch is too noisy)."""
    out = {}
    for term in HISTORY_CURVES:
        tail = _measured(history, term)[-window:]
        tail = tail[np.isfinite(tail)]
        out[term] = float(tail.mean()) if tail.size else float("nan")
    return out


def diverged_at(history: Mapping[str, np.ndarray]) -> int | None:
    """The first step whose total loss is not a finite number (the run diverged there), or None."""
    bad = np.flatnonzero(~np.isfinite(np.asarray(history["total"], dtype=float)))
    return int(bad[0]) if bad.size else None


def curves_frame(
    histories: Mapping[str, Mapping[str, np.ndarray]], weighted: bool = False, every: int = 10, window: int = 51
) -> pd.DataFrame:
    """Long table (placement, term, step, value) of smoothed, thinned, strictly positive loss curves.

    A centred rolling median over `window` steps (ignoring unmeasured steps) keeps the trend and drops
    single-batch spikes; every `every`-th step is kept. `weighted` multiplies each regularizer by its
    schedule weight (what the optimizer actually feels) and adds the total. Non-positive values are
    dropped: a log axis cannot show them, and a zero weight means the term is switched off.
    """
    terms = (*HISTORY_CURVES, "total") if weighted else HISTORY_CURVES
    parts = []
    for placement, history in histories.items():
        steps = np.asarray(history["step"])
        for term in terms:
            values = _measured(history, term)
            if weighted and term in TERMS:
                values = values * np.asarray(history[f"w_{term}"], dtype=float)
            smooth = pd.Series(values).rolling(window, center=True, min_periods=1).median().to_numpy()
            keep = np.zeros(len(steps), dtype=bool)
            keep[::every] = True
            keep[-1] = True
            keep &= np.isfinite(smooth) & (smooth > 0)
            parts.append(
                pd.DataFrame(
                    {
                        "placement": PRESET_TITLES.get(placement, placement),
                        "term": TERM_NAMES[term],
                        "step": steps[keep].astype(int),
                        "value": smooth[keep],
                    }
                )
            )
    frame = pd.concat(parts, ignore_index=True)
    if weighted:
        # As a weight eases to 0 its term dives through ten decades; cut the dive a decade below the smallest
        # reconstruction loss, so the axis keeps showing the curves that matter.
        recon = frame.loc[frame["term"] == TERM_NAMES["recon"], "value"]
        if not recon.empty:
            frame = frame[frame["value"] >= 10 ** (np.floor(np.log10(recon.min())) - 1)]
    return frame.reset_index(drop=True)


def curves_chart(
    histories: Mapping[str, Mapping[str, np.ndarray]], weighted: bool = False, width: int = 380
) -> tuple[alt.FacetChart, str]:
    """Loss terms against step on a log axis, one panel per placement, same y axis for a fair comparison: one
    figure of fixed width (pages use curves_panels). Clicking a term in the legend isolates it in both panels."""
    frame = curves_frame(histories, weighted)
    chart = (
        _curves_lines(frame, weighted, _decades(frame["value"]))
        .properties(width=width, height=300)
        .facet(column=alt.Column("placement:N", title=None, sort=list(frame["placement"].unique())))
    )
    return chart, curves_description(histories, weighted)


def curves_panels(
    histories: Mapping[str, Mapping[str, np.ndarray]], weighted: bool = False
) -> tuple[list[alt.Chart], str]:
    """The panels of curves_chart as one chart per placement, each as wide as its container, on one y axis (the
    same decades) with the legend below: side by side in columns on a wide screen, one under the other on a
    phone. Clicking a term in a panel's legend isolates it in that panel (the others fade)."""
    frame = curves_frame(histories, weighted)
    decades = _decades(frame["value"])
    panels = [
        _curves_lines(frame[frame["placement"] == name], weighted, decades, shared=True).properties(
            width="container", height=300, title=name
        )
        for name in frame["placement"].unique()
    ]
    return panels, curves_description(histories, weighted)


def _curves_lines(frame: pd.DataFrame, weighted: bool, decades: list[float], shared: bool = False) -> alt.Chart:
    """One log-scaled line per term, legend-selectable; `shared` pins the y axis to `decades` (separate panels)."""
    names = (*HISTORY_CURVES, "total") if weighted else HISTORY_CURVES
    pick = alt.selection_point(fields=["term"], bind="legend")
    scale = alt.Scale(type="log", domain=[decades[0], decades[-1]]) if shared else alt.Scale(type="log")
    return (
        alt.Chart(frame)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("step:Q", title="training step"),
            y=alt.Y(
                "value:Q",
                scale=scale,
                title="weighted term (w × value)" if weighted else "value",
                axis=alt.Axis(format=".0e", values=decades),
            ),
            color=alt.Color(
                "term:N",
                scale=_color_scale(names),
                sort=[TERM_NAMES[n] for n in names],
                legend=alt.Legend(title="term (click to isolate)", orient="bottom", columns=3),
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
            tooltip=[
                alt.Tooltip("placement:N"),
                alt.Tooltip("term:N"),
                alt.Tooltip("step:Q"),
                alt.Tooltip("value:Q", format=".3g"),
            ],
        )
        .add_params(pick)
    )


def curves_description(histories: Mapping[str, Mapping[str, np.ndarray]], weighted: bool = False) -> str:
    """The numbers behind the curves, per placement, from the raw (unsmoothed) histories.

    Raw view: each term's first value and its mean over the last 100 steps. Weighted view: what each term
    contributes around the step where the summed weights peak (1,000 in Ex 2.4) and where the total ends.
    """
    if weighted:
        head = "Weighted loss terms (each regularizer times its schedule weight, and the total the optimizer minimizes)"
    else:
        head = "Loss terms"
    parts = [
        head + " against training step on a log axis, smoothed with a rolling median over 51 steps; one panel "
        "per placement, same axis."
    ]
    for placement, history in histories.items():
        name = PRESET_TITLES.get(placement, placement)
        if weighted:
            peak = int(np.argmax(sum(np.asarray(history[f"w_{t}"], dtype=float) for t in TERMS)))
            near = slice(max(peak - 50, 0), peak + 51)
            felt = {}
            for t in HISTORY_CURVES:
                v = _measured(history, t)[near]
                if t in TERMS:
                    v = v * np.asarray(history[f"w_{t}"], dtype=float)[near]
                felt[t] = float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")
            total = np.asarray(history["total"], dtype=float)
            items = ", ".join(f"{TERM_NAMES[t]} {fmt(v)}" for t, v in felt.items())
            broken = diverged_at(history)
            end = f"ends at {fmt(np.nanmean(total[-100:]))}" if broken is None else f"diverged at step {broken:,}"
            parts.append(f"{name}: around step {peak:,}: {items}; the total {end}.")
        else:
            final = final_terms(history)
            broken = diverged_at(history)
            items = []
            for t in HISTORY_CURVES:
                v = _measured(history, t)
                v = v[np.isfinite(v)]
                end = fmt(final[t]) if broken is None else "diverged"
                items.append(f"{TERM_NAMES[t]} {fmt(v[0]) if v.size else 'n/a'} → {end}")
            ends = "mean of the last 100" if broken is None else f"the loss stopped being a number at step {broken:,}"
            parts.append(f"{name}: " + ", ".join(items) + f" (first step → {ends}).")
    history = next(iter(histories.values()))
    if not weighted:
        parts.append(weights_off_note(histories))
    counts = [f"{TERM_NAMES[t]} on {int(np.isfinite(_measured(history, t)).sum()):,}" for t in LABELLED if t in history]
    parts.append(
        f"Anchor and planarity are only measured on batches holding a labelled sample ({_join(counts)} of "
        f"{len(history['step']):,} steps in the first run). Pre-norm they are measured on the raw latent, "
        "post-norm on the unit latent, so their training values are not directly comparable."
    )
    if weighted:
        off = np.flatnonzero(np.all([np.asarray(history[f"w_{t}"]) == 0 for t in TERMS], axis=0))
        if off.size:
            parts.append(f"All regularizer weights are 0 from step {int(off[0]):,}, so their lines end there.")
    return " ".join(parts)


def _weights_off_from(history: Mapping[str, np.ndarray]) -> int | None:
    """The first step from which every regularizer weight stays 0, or None if they never all reach 0."""
    on = np.any([np.asarray(history[f"w_{t}"]) != 0 for t in TERMS if f"w_{t}" in history], axis=0)
    if on.size == 0 or on[-1]:
        return None
    return int(np.flatnonzero(on)[-1] + 1) if on.any() else 0


def _block_means(values: np.ndarray, block: int = 100) -> np.ndarray:
    """Means of the measured values in consecutive blocks of `block` steps (NaN for a block with none)."""
    n = len(values) // block * block
    blocks = values[:n].reshape(-1, block)
    counts = np.isfinite(blocks).sum(1)
    sums = np.nansum(blocks, axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def weights_off_note(histories: Mapping[str, Mapping[str, np.ndarray]], rise: float = 1.5) -> str:
    """The raw view's warning: as the schedule eases the weights to 0 nothing holds the raw values down, so a
    regularizer climbing back up at the end (planarity 0.016 at its lowest, 0.054 at the end) is the schedule
    letting go, not training failing. A term counts as climbing when its final value (mean of the last 100
    steps) is at least `rise` times its lowest 100-step mean."""
    history = next(iter(histories.values()))
    off = _weights_off_from(history)
    if off is None:
        return "The regularizer weights stay above 0 to the end, so every term is still being pushed down."
    peak = int(np.argmax(sum(np.asarray(history[f"w_{t}"], dtype=float) for t in TERMS)))
    risen: dict[str, tuple[float, str, float, float]] = {}  # term -> (factor, placement, lowest, final)
    for placement, h in histories.items():
        final = final_terms(h)
        for t in TERMS:
            blocks = _block_means(_measured(h, t))
            lowest = np.nanmin(blocks) if np.isfinite(blocks).any() else np.nan
            if lowest > 0 and final[t] >= rise * lowest:
                short = PRESET_TITLES.get(placement, placement).split(" ")[0]
                rise_here = (final[t] / lowest, short, lowest, final[t])
                risen[t] = max(risen.get(t, rise_here), rise_here)
    text = (
        f"The schedule eases the regularizer weights down after step {peak:,} and to 0 by step {off:,}: as they "
        "fade, nothing holds these raw values down"
    )
    if not risen:
        return text + ", yet none climbs back up by half or more."
    _, where, lowest, end = max(risen.values())
    most = max(risen, key=lambda t: risen[t])
    return (
        f"{text}, so {_join([TERM_NAMES[t] for t in risen])} climb back up (most: {TERM_NAMES[most]} {where}, "
        f"{fmt(lowest)} at its lowest 100-step mean, {fmt(end)} at the end). That is the schedule letting go, not "
        "training failing: switch on the toggle above to see the weighted terms."
    )


def schedule_frame(schedule: Schedule, every: int = 5) -> pd.DataFrame:
    """Long table (parameter, step, value) of the schedule, every `every`-th step plus every keyframe."""
    values = schedule.values()
    steps = np.arange(schedule.steps)
    keep = np.zeros(schedule.steps, dtype=bool)
    keep[::every] = True
    keep[-1] = True
    for _, keys in schedule.keyframes:
        keep[[s for s, _ in keys if s < schedule.steps]] = True
    # rows (and so drawing order) put unitarity last: when it shares planarity's curve, its dots stay on top
    order = sorted(PARAMS, key=lambda p: p == "unit")
    return pd.concat(
        [pd.DataFrame({"parameter": TERM_NAMES[p], "step": steps[keep], "value": values[p][keep]}) for p in order],
        ignore_index=True,
    )


def schedule_chart(schedule: Schedule) -> tuple[alt.VConcatChart, str]:
    """The learning rate in a panel of its own above the four regularizer weights, on one step axis.

    Not one axis, nor a second axis on the right of the same plot: the learning rate (0.01 to 0.1) follows the
    same curve as the unitarity and planarity weights (0.01 to 0.1) up to step 1,000, so drawn over them on
    any equal scale it could not be told apart from them. Both panels are as wide as the page; the legend sits
    below, where it adds height instead of squashing the plot.
    """
    frame = schedule_frame(schedule)
    lr = TERM_NAMES["lr"]
    terms = tuple(p for p in PARAMS if p != "lr")
    names = [TERM_NAMES[p] for p in terms]
    pick = alt.selection_point(fields=["parameter"], bind="legend")
    x = alt.X("step:Q", title="training step", scale=alt.Scale(domain=[0, max(schedule.steps - 1, 1)], nice=False))
    tooltip = [alt.Tooltip("parameter:N"), alt.Tooltip("step:Q"), alt.Tooltip("value:Q", format=".4g")]
    rate = (
        alt.Chart(frame)
        .transform_filter(alt.datum.parameter == lr)
        .mark_line(strokeWidth=2.5, color=TERM_COLORS["lr"])
        .encode(x=x.title(None), y=alt.Y("value:Q", title="learning rate"), tooltip=tooltip)
        .properties(width="container", height=90)
    )
    weights = (
        alt.Chart(frame)
        .transform_filter(alt.datum.parameter != lr)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=x,
            y=alt.Y("value:Q", title="regularizer weight"),
            color=alt.Color(
                "parameter:N",
                scale=_color_scale(terms),
                sort=names,
                legend=alt.Legend(title="weight (click to isolate)", orient="bottom", columns=2),
            ),
            strokeDash=alt.StrokeDash(
                "parameter:N",
                scale=alt.Scale(domain=names, range=[SCHEDULE_DASHES.get(p, [1, 0]) for p in terms]),
                legend=None,
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
            tooltip=tooltip,
        )
        .add_params(pick)
        .properties(width="container", height=200)
    )
    return alt.vconcat(rate, weights, spacing=8), schedule_description(schedule)


def schedule_description(schedule: Schedule) -> str:
    """Each parameter's keyframes in words, and the learning rate at a few landmark steps."""
    parts = [
        f"The schedule over {schedule.steps:,} steps: the learning rate in its own panel on top, the regularizer "
        "weights below, each easing "
        "between keyframes along a smooth start-and-stop curve."
    ]
    groups: dict[tuple, list[str]] = {}
    for p in PARAMS:
        groups.setdefault(schedule.keys(p), []).append(TERM_NAMES[p])
    for keys, names in groups.items():
        if keys:
            same = " (the same curve)" if len(names) > 1 else ""
            parts.append(
                f"{_join(names).capitalize()}{same}: " + ", ".join(f"{fmt(v)} at step {s:,}" for s, v in keys) + "."
            )
    landmarks = [s for s in (500, 2000) if s < schedule.steps]
    if landmarks:
        parts.append(
            "In between, e.g. learning rate "
            + " and ".join(f"{fmt(schedule.value('lr', s))} at step {s:,}" for s in landmarks)
            + "."
        )
    return " ".join(parts)


# --------------------------------------------------------------------------------------------------
# Final numbers side by side, and the prediction


def comparison_table(
    runs: Mapping[str, TrainedRun],
    validation: Mapping[str, Mapping[str, float]],
    errors: Mapping[str, Mapping[str, float]],
) -> pd.DataFrame:
    """One row per quantity, one column per placement, plus post ÷ pre. Lower is better on every row.

    `validation` is excolor.evaluate.validation_losses per placement (fixed set, same tap for both);
    `errors` holds {"max", "median"} dense-grid reconstruction errors per placement. The "tests the hypothesis"
    column names what a row tests (HYPOTHESIS_ROWS); training-batch rows are a record of training, not a test.
    """
    rows: list[tuple[str, str, dict[str, float]]] = []
    finals = {p: final_terms(r.history) for p, r in runs.items()}
    for term in HISTORY_CURVES:
        where = "training batches"
        if term in TAP_INDIFFERENT:
            where += " (same value on either tap)"
        elif term not in ("recon", "unit"):
            where += ", own tap (not comparable)"
        rows.append((f"{TERM_NAMES[term]} (last 100 steps)", where, {p: f[term] for p, f in finals.items()}))
    val_where = {
        "recon": "all training colors",
        "unit": "all training colors, raw latent",
        "anchor": "red-labelled colors, unit latent",
        "planar": "vibrant colors, unit latent",
    }
    for term, where in val_where.items():
        rows.append((f"{TERM_NAMES[term]} (fixed set)", where, {p: v[term] for p, v in validation.items()}))
    rows.append(("max error", "552,960 colors", {p: e["max"] for p, e in errors.items()}))
    rows.append(("median error", "552,960 colors", {p: e["median"] for p, e in errors.items()}))
    names = {p: PRESET_TITLES.get(p, p) for p in runs}
    frame = pd.DataFrame(
        [
            {"quantity": q, "measured on": w, "tests the hypothesis": HYPOTHESIS_ROWS.get(q, "—")}
            | {names[p]: float(v[p]) for p in runs}
            for q, w, v in rows
        ]
    )
    if set(runs) >= {"pre", "post"}:
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["post ÷ pre"] = frame[names["post"]] / frame[names["pre"]]
    return frame


def comparison_description(table: pd.DataFrame, histories: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> str:
    """What the rows that test the hypothesis say, and why the two reconstruction rows can disagree.

    No tally of "rows where post-norm is lower": reconstruction appears four times and unitarity twice, so a
    count would weigh them by how often they are listed, not by what they test.
    """
    if "post ÷ pre" not in table:
        return "Final losses and errors per placement; lower is better on every row."
    rows = table.set_index("quantity")
    tests = rows[rows["tests the hypothesis"] != "—"] if "tests the hypothesis" in rows else rows.iloc[:0]
    listed = _join([f"{q} {r:.2f}" for q, r in tests["post ÷ pre"].items()]) if len(tests) else ""
    row = rows.loc["max error"]
    if not np.isfinite(row["post ÷ pre"]):  # a diverged run: its losses and errors are not numbers
        values = {p: row[PRESET_TITLES[p]] for p in ("pre", "post")}
        shown = {p: fmt(v) if np.isfinite(v) else "diverged" for p, v in values.items()}
        return (
            "Final losses and errors side by side (lower is better on every row). Max reconstruction error: pre-norm "
            f"{shown['pre']}, post-norm {shown['post']}: with a run diverged there is no ratio, and nothing here "
            "tests the hypothesis."
        )
    parts = [
        "Final losses and errors side by side (lower is better on every row). Max reconstruction error: pre-norm "
        f"{fmt(row[PRESET_TITLES['pre']])}, post-norm {fmt(row[PRESET_TITLES['post']])} (post ÷ pre = "
        f"{row['post ÷ pre']:.2f})."
    ]
    if listed:
        parts.append(
            "The rows that test the hypothesis (reconstruction error, and how well red and the vivid hues sit where "
            f"the regularizers ask, on the unit latent for both), as post ÷ pre: {listed}."
        )
    parts.append(reconstruction_rows_note(table, histories))
    parts.append(
        "Rows marked 'not comparable' are measured on the tap each model was trained on: raw latents pre-norm, "
        "unit latents post-norm."
    )
    return " ".join(p for p in parts if p)


def reconstruction_rows_note(table: pd.DataFrame, histories: Mapping[str, Mapping[str, np.ndarray]] | None) -> str:
    """Why reconstruction on training batches and on the fixed set can point different ways.

    The batch row is a mean over the last 100 training batches (64 colors each) while the weights still move;
    the fixed-set row scores the final weights once on every training color. With the two histories, the spread
    of post ÷ pre batch by batch (same batches for both: they are paired) shows how noisy the batch row is.
    """
    ratios = table.set_index("quantity")["post ÷ pre"]
    batch, fixed = ratios.get("reconstruction (last 100 steps)"), ratios.get("reconstruction (fixed set)")
    if batch is None or fixed is None or not (np.isfinite(batch) and np.isfinite(fixed)):
        return ""
    same_side = (batch < 1) == (fixed < 1) and abs(batch - fixed) < 0.1
    text = f"Reconstruction on training batches (post ÷ pre {batch:.2f}) and on the fixed set ({fixed:.2f}) "
    if same_side:
        return text + "agree."
    text += (
        "disagree: the batch row averages the loss of the last 100 training batches of 64 colors while the weights "
        "are still moving; the fixed set scores the final weights once on all the training colors, weighted as "
        "training samples them, so it is the steadier of the two."
    )
    if histories and {"pre", "post"} <= set(histories):
        pre = np.asarray(histories["pre"]["recon"], dtype=float)[-100:]
        post = np.asarray(histories["post"]["recon"], dtype=float)[-100:]
        with np.errstate(divide="ignore", invalid="ignore"):
            paired = post / pre
        paired = paired[np.isfinite(paired)]
        if paired.size >= 10:
            lo, hi = np.percentile(paired, [10, 90])
            text += (
                f" Batch by batch (the same batches for both models) post ÷ pre ranges from {lo:.2f} to {hi:.2f} "
                "over those 100 steps (10th to 90th percentile)."
            )
    return text


PREDICTIONS = QUESTIONS["placement"].answers  # the hypothesis page's question (excolor.classmode.questions)


def measured_outcome(pre_max: float, post_max: float, tolerance: float = SAME_TOLERANCE) -> str:
    """'post', 'pre' or 'same': which placement has the lower max error, 'same' if within `tolerance`;
    'unknown' when a run has no usable error (it diverged)."""
    if not (math.isfinite(pre_max) and math.isfinite(post_max)) or max(pre_max, post_max) <= 0:
        return "unknown"
    gap = abs(post_max - pre_max) / max(pre_max, post_max)
    if gap < tolerance:
        return "same"
    return "post" if post_max < pre_max else "pre"


def prediction_verdict(
    prediction: str | None, pre_max: float, post_max: float, tolerance: float = SAME_TOLERANCE
) -> tuple[bool | None, str]:
    """(was the prediction right, or None if there was none; a sentence saying what was measured)."""
    outcome = measured_outcome(pre_max, post_max, tolerance)
    if outcome == "unknown":
        return None, "No verdict for this seed: a model has no usable reconstruction error (it diverged)."
    gap = abs(post_max - pre_max) / max(pre_max, post_max)
    if outcome == "same":
        found = (
            f"the two max errors (pre-norm {fmt(pre_max)}, post-norm {fmt(post_max)}) differ by only {gap:.0%}, "
            f"less than the {tolerance:.0%} that changing the seed alone can do"
        )
    else:
        better, worse = (post_max, pre_max) if outcome == "post" else (pre_max, post_max)
        found = (
            f"{PRESET_TITLES[outcome]} reconstructs better on this seed: max error {fmt(better)} against "
            f"{fmt(worse)}, {gap:.0%} lower"
        )
    if prediction not in PREDICTIONS:
        return None, f"Measured: {found}."
    right = prediction == outcome
    return right, f"You predicted: {PREDICTIONS[prediction]}. Measured: {found}."


def _relative(post: float, pre: float) -> str:
    """'62% higher' / '35% lower': post-norm's max error against pre-norm's, as the page's metric delta has it."""
    change = post / pre - 1
    return f"{abs(change):.0%} {'higher' if change > 0 else 'lower'}"


def seed_context(
    seed: int,
    pre_max: float,
    post_max: float,
    across: Mapping[int, tuple[float, float]] | None = None,
    tolerance: float = SAME_TOLERANCE,
) -> str:
    """How this seed's max-error outcome compares with the notebook's run and, when a sweep has run on this server
    (`across`: seed -> (pre max, post max)), with the other seeds. A 62% gap is never called small."""
    if not (math.isfinite(pre_max) and math.isfinite(post_max)) or min(pre_max, post_max) <= 0:
        return ""
    nb_pre, nb_post = NOTEBOOK[("pre", "baseline")]["max"], NOTEBOOK[("post", "baseline")]["max"]
    outcome = measured_outcome(pre_max, post_max, tolerance)
    here = (
        f"On seed {seed} post-norm's max error is {_relative(post_max, pre_max)} than pre-norm's "
        f"({fmt(post_max)} vs {fmt(pre_max)})"
    )
    notebook = (
        f"the notebook's run (post-norm {_relative(nb_post, nb_pre)}: {fmt(nb_post)} vs {fmt(nb_pre)}, "
        f"{NOTEBOOK_SOURCE})"
    )
    if outcome == "post":
        text = f"{here}: the same direction as {notebook}."
    elif outcome == "pre":
        text = f"{here}: the opposite of {notebook}."
    else:
        text = f"{here}: within the {tolerance:.0%} the seed alone can move it, too close to call, unlike {notebook}."
    pairs = {
        s: (a, b) for s, (a, b) in (across or {}).items() if math.isfinite(a) and math.isfinite(b) and min(a, b) > 0
    }
    if len(pairs) < 2:
        return text + (
            " One seed is one roll of the dice: the Experiment lab page trains many seeds of both placements "
            "and counts how often each comes out ahead."
        )
    ratios = {s: b / a for s, (a, b) in pairs.items()}
    wins = sum(r < 1 for r in ratios.values())
    text += (
        f" Across the {len(pairs)} seeds trained on this server for the Experiment lab, post-norm had the lower max "
        f"error on {wins}; the median post ÷ pre is {np.median(list(ratios.values())):.2f}."
    )
    if seed in ratios:
        order = sorted(ratios, key=ratios.get)
        rank = order.index(seed)
        if rank == len(order) - 1:
            text += f" Seed {seed} is pre-norm's widest margin of them all."
        elif rank == 0:
            text += f" Seed {seed} is post-norm's widest margin of them all."
        else:
            place = f"the {_ordinal(rank + 1)} lowest of {len(order)}"
            text += f" Seed {seed}'s post ÷ pre ({ratios[seed]:.2f}) is {place}."
    return text


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --------------------------------------------------------------------------------------------------
# Training replay: the bottleneck of ~300 probe colors as training goes


def _unit_circle(n: int = 121) -> pd.DataFrame:
    t = np.linspace(0, 2 * np.pi, n)
    return pd.DataFrame({"x": np.cos(t), "y": np.sin(t), "order": np.arange(n)})


def replay_stats(replay: Replay, index: int, dims: tuple[int, int] = (1, 0)) -> dict[str, float]:
    """The numbers a student should see change: where pure red points, how the vivid hues spread.

    - red_angle: degrees between pure red's latent and the red direction (1, 0, 0, 0).
    - coverage: degrees of the circle (in the shown plane) covered by the vivid hues, 360 minus their
      largest empty gap: small when they clump, near 360 once the wheel has formed.
    - in_plane: mean share of the vivid hues' length that lies in the shown plane (1 = flat wheel).
    """
    z = replay.latents[index]
    hsv = colors.rgb_to_hsv(replay.rgb)
    c = np.asarray(RED_DIRECTION[:LATENT_DIMS])
    red = np.flatnonzero(np.all(np.isclose(replay.rgb, (1, 0, 0)), axis=1))
    red_angle = float("nan")
    if red.size:
        v = z[red[0]]
        red_angle = math.degrees(math.acos(np.clip(v @ c / max(np.linalg.norm(v), 1e-12), -1, 1)))
    vivid = (hsv[:, 1] > 0.99) & (hsv[:, 2] > 0.99)
    planar = z[vivid][:, list(dims)]
    angles = np.sort(np.degrees(np.arctan2(planar[:, 1], planar[:, 0])) % 360)
    gaps = np.diff(np.concatenate([angles, angles[:1] + 360])) if angles.size else np.array([360.0])
    norms = np.linalg.norm(z[vivid], axis=1)
    in_plane = float(np.mean(np.linalg.norm(planar, axis=1) / np.maximum(norms, 1e-12))) if vivid.any() else np.nan
    return {
        "red_angle": red_angle,
        "coverage": float(360 - gaps.max()),
        "in_plane": in_plane,
        "n_vivid": int(vivid.sum()),
        "n": len(z),
    }


# The replay scrubs in the browser: the snapshots of both placements are sent once, and a Vega-Lite parameter bound
# to a range input picks the one drawn, so moving the slider never reruns the page. Both panels share one plot whose
# width follows the container; expressions on Vega's `width` signal choose the layout that draws the panels largest
# (side by side on a projector, one above the other on a 390 px phone) and set the axis domains so that a data unit
# is as many pixels across as up (`ppu`): the circles stay round at any width.
REPLAY_HEIGHT = 420  # px
REPLAY_RADIUS = 1.2  # data units from a panel's centre to its edge
REPLAY_TITLE = 0.3  # data units above each panel for its title
REPLAY_OFFSET = 2 * REPLAY_RADIUS + 0.25  # side by side: from the left panel's centre to the right one's
REPLAY_DROP = 2 * REPLAY_RADIUS + REPLAY_TITLE + 0.15  # stacked: from the upper panel's centre to the lower one's
REPLAY_PARAM = "snapshot"
# Coordinates travel as int16 (value × COORD_SCALE, 1e-4 units: far below a pixel), half the bytes of float32;
# a point with no finite value (a diverged run) is NO_VALUE and is not drawn.
COORD_SCALE = 10_000
NO_VALUE = -32768
REPLAY_PANELS = ("pre", "post")


def replay_snapshots(replays: Mapping[str, Replay], dims: tuple[int, int] = (1, 0)) -> dict[str, pd.DataFrame]:
    """The replay as two compact tables, sent to the browser once.

    points: one row per probe color: its hex and HSV, then for every snapshot s both placements' screen
      coordinates (latent dims `dims`) as int16 columns `<placement>_x<s>`, `<placement>_y<s>` holding
      value × COORD_SCALE, NO_VALUE where not finite; a run with fewer snapshots (it diverged) repeats its last one.
      Wide, not one row per (snapshot, probe): the browser then handles 232 rows instead of 14,384, and the
      slider's snapshot picks two columns per row (`datum['post_x' + snapshot]`) instead of filtering every row.
    steps: the training step of each snapshot.
    """
    first = max((replays[p] for p in REPLAY_PANELS), key=lambda r: len(r.steps))  # the one that did not diverge
    n_snaps = len(first.steps)
    hsv = colors.rgb_to_hsv(first.rgb)
    columns = {
        "probe": np.arange(len(first.rgb), dtype=np.int16),
        "color": colors.to_hex(first.rgb),
        "hue": np.round(hsv[:, 0] * 360).astype(np.int16),
        "saturation": np.round(hsv[:, 1], 2).astype(np.float32),
        "value": np.round(hsv[:, 2], 2).astype(np.float32),
    }
    for p in REPLAY_PANELS:
        latents = replays[p].latents[np.minimum(np.arange(n_snaps), len(replays[p].steps) - 1)]  # (S, P, 4)
        for axis, dim in zip("xy", dims):
            values = np.clip(latents[:, :, dim] * COORD_SCALE, NO_VALUE + 1, -NO_VALUE - 1)
            coords = np.where(np.isfinite(values), np.round(values), NO_VALUE).astype(np.int16)  # (S, P)
            columns.update({f"{p}_{axis}{s}": coords[s] for s in range(n_snaps)})
    points = pd.DataFrame(columns)
    steps = pd.DataFrame({"snap": np.arange(n_snaps, dtype=np.int16), "step": first.steps.astype(np.int32)})
    return {"points": points, "steps": steps}


def _replay_layout() -> tuple[alt.Scale, alt.Scale, list[alt.Parameter]]:
    """The x and y scales, and the parameters they read: `stacked` (the layout) and `ppu` (pixels per unit)."""
    block = 2 * REPLAY_RADIUS + REPLAY_TITLE  # one panel with its title, in data units
    side = f"min(width / {REPLAY_OFFSET + 2 * REPLAY_RADIUS}, height / {block})"
    stack = f"min(width / {2 * REPLAY_RADIUS}, height / {REPLAY_DROP + block})"
    stacked = alt.param(name="stacked", expr=f"{stack} > {side}")
    ppu = alt.param(name="ppu", expr=f"max(1, {side}, {stack})")
    centre = f"(stacked ? 0 : {REPLAY_OFFSET / 2})"
    x = alt.Scale(
        domainMin=alt.ExprRef(f"{centre} - width / ppu / 2"),
        domainMax=alt.ExprRef(f"{centre} + width / ppu / 2"),
        nice=False,
        zero=False,
    )
    top = REPLAY_RADIUS + REPLAY_TITLE  # the first panel hangs from the top; any spare height is below
    y = alt.Scale(domainMin=alt.ExprRef(f"{top} - height / ppu"), domainMax=top, nice=False, zero=False)
    return x, y, [stacked, ppu]


def _placed(chart: alt.Chart, panel: str, lx: str, ly: str) -> alt.Chart:
    """x, y of a point at (lx, ly) in panel `panel` (0 or 1; expressions): beside or below the first panel."""
    return chart.transform_calculate(
        x=f"({lx}) + (stacked ? 0 : ({panel}) * {REPLAY_OFFSET})",
        y=f"({ly}) - (stacked ? ({panel}) * {REPLAY_DROP} : 0)",
    )


def _replay_guides(x: alt.X, y: alt.Y, dims: tuple[int, int]) -> alt.LayerChart:
    """The static parts of both panels: unit circles, cross-hairs and axis labels."""
    ring = _unit_circle().rename(columns={"x": "lx", "y": "ly"})
    rings = pd.concat([ring.assign(panel=i) for i in range(2)], ignore_index=True)
    cross = pd.DataFrame(
        [
            {"lx": dx, "ly": dy, "panel": i, "line": f"{i}{axis}"}
            for i in range(2)
            for axis, ends in (("h", ((-1, 0), (1, 0))), ("v", ((0, -1), (0, 1))))
            for dx, dy in ends
        ]
    )
    up = f"↑ dim {dims[1]}" + (" (red)" if dims[1] == 0 else "")
    labels = pd.DataFrame(
        [
            {"lx": dx, "ly": dy, "panel": i, "text": text, "align": align}
            for i in range(2)
            for dx, dy, text, align in ((0.0, 1.1, up, "center"), (1.18, -1.12, f"dim {dims[0]} →", "right"))
        ]
    )

    def place(frame: pd.DataFrame) -> alt.Chart:
        return _placed(alt.Chart(frame), "datum.panel", "datum.lx", "datum.ly")

    circle = place(rings).mark_line(color=NEUTRAL, strokeDash=[3, 3], strokeWidth=1)
    circle = circle.encode(x=x, y=y, detail="panel:N", order="order:Q")
    hairs = place(cross).mark_line(color=NEUTRAL, strokeWidth=0.5, opacity=0.5).encode(x=x, y=y, detail="line:N")
    text = [
        place(labels[labels["align"] == a])
        .mark_text(color=NEUTRAL, fontSize=11, align=a, baseline="middle")
        .encode(x=x, y=y, text="text:N")
        for a in ("center", "right")
    ]
    return alt.layer(hairs, circle, *text)


def replay_scrub_chart(replays: Mapping[str, Replay], dims: tuple[int, int] = (1, 0)) -> tuple[alt.LayerChart, str]:
    """Both placements' probe colors at one snapshot, each point filled with its true color; a range input under
    the chart (a Vega-Lite parameter) picks the snapshot in the browser, for both panels. Starts at the last.

    Width "container" (the page draws it at width="stretch"); see the comment above REPLAY_HEIGHT."""
    tables = replay_snapshots(replays, dims)
    n_snaps = len(tables["steps"])
    snapshot = alt.param(
        name=REPLAY_PARAM,
        value=n_snaps - 1,
        bind=alt.binding_range(min=0, max=n_snaps - 1, step=1, name="Training snapshot (0 = untrained) "),
    )
    xs, ys, layout = _replay_layout()
    x = alt.X("x:Q", scale=xs, axis=None)
    y = alt.Y("y:Q", scale=ys, axis=None)
    at_snapshot = alt.datum.snap == snapshot
    tooltip = [
        alt.Tooltip("color:N", title="true color"),
        alt.Tooltip("hue:Q", title="hue (°)"),
        alt.Tooltip("saturation:Q"),
        alt.Tooltip("value:Q"),
    ]
    # point area follows the scale: ~55 px² at 140 px per unit, smaller on a phone
    dots = alt.Chart(tables["points"]).mark_circle(
        opacity=1, stroke=NEUTRAL, strokeWidth=0.6, size=alt.ExprRef("pow(ppu / 19, 2)")
    )
    panels = [
        _placed(
            dots.transform_calculate(
                px=f"datum['{p}_x' + {REPLAY_PARAM}]", py=f"datum['{p}_y' + {REPLAY_PARAM}]"
            ).transform_filter(f"datum.px != {NO_VALUE} && datum.py != {NO_VALUE}"),
            str(i),
            f"datum.px / {COORD_SCALE}",
            f"datum.py / {COORD_SCALE}",
        ).encode(x=x, y=y, fill=alt.Fill("color:N", scale=None), tooltip=tooltip)
        for i, p in enumerate(REPLAY_PANELS)
    ]
    names = {p: PRESET_TITLES.get(p, p).split(" (")[0] for p in REPLAY_PANELS}  # short: fits a phone's panel
    titles = alt.Chart(tables["steps"]).transform_filter(at_snapshot)
    heading = [
        _placed(titles, str(i), "0", str(REPLAY_RADIUS + 0.16))
        .transform_calculate(label=f"'{names[p]} · step ' + format(datum.step, ',')")
        .mark_text(fontSize=13, fontWeight="bold", baseline="middle", color=NEUTRAL)
        .encode(x=x, y=y, text="label:N")
        for i, p in enumerate(REPLAY_PANELS)
    ]
    chart = (
        alt.layer(_replay_guides(x, y, dims), *panels, *heading)
        .add_params(snapshot, *layout)
        .properties(width="container", height=REPLAY_HEIGHT, padding=SQUARE_PADDING)
    )
    return chart, replay_scrub_description(replays, dims)


def replay_scrub_description(replays: Mapping[str, Replay], dims: tuple[int, int] = (1, 0)) -> str:
    """The caption: both placements at their final snapshot, in numbers, and what the slider does."""
    first = max((replays[p] for p in REPLAY_PANELS), key=lambda r: len(r.steps))
    every = int(first.steps[1] - first.steps[0]) if len(first.steps) > 1 else 0
    finals = " ".join(
        replay_description(replays[p], len(replays[p].steps) - 1, PRESET_TITLES.get(p, p), dims) for p in REPLAY_PANELS
    )
    return (
        f"{finals} The slider under the chart moves both placements through the {len(first.steps)} snapshots "
        f"(every {every:,} training steps, from the untrained network at step 0); it runs in your browser, so "
        "scrubbing never reloads the page."
    )


def replay_description(replay: Replay, index: int, title: str = "", dims: tuple[int, int] = (1, 0)) -> str:
    who = f"{title}: " if title else ""
    broken = int((~np.isfinite(replay.latents[index]).all(axis=-1)).sum())
    if broken:  # a diverged run: NaN latents have no angle or spread, and the chart leaves them out
        return (
            f"{who}step {int(replay.steps[index]):,}: training diverged; {broken} of {len(replay.rgb)} probe latents "
            "are not numbers, so they are not drawn."
        )
    s = replay_stats(replay, index, dims)
    return (
        f"{who}step {int(replay.steps[index]):,}. Unit latents of {s['n']} probe colors, latent dim {dims[0]} "
        f"across and dim {dims[1]} up, each dot in its true color; dashed: the unit circle. Pure red points "
        f"{s['red_angle']:.0f}° away from the red direction; the {s['n_vivid']} vivid hues cover "
        f"{s['coverage']:.0f}° of the circle and keep {s['in_plane']:.0%} of their length in this plane."
    )
