"""Loss curves of a training run, per placement: every term against step on a log axis, raw or as the optimizer
feels it (times its schedule weight), with the numbers behind them in words.

Per-step histories (3,001 steps) are smoothed and thinned before they reach the browser: a few hundred points per
line draw at once and show the trend, where every noisy step would draw slowly and show mostly noise.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from ..designs import PRESET_TITLES
from ..losses import LABEL_OF, TERMS
from ..text import fmt, join
from .style import TERM_NAMES, dash_scale, decades, term_color_scale

HISTORY_CURVES = ("recon", *TERMS)
LABELLED = tuple(LABEL_OF)  # terms averaged over labelled samples only: 0 means "no labelled sample"


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


def curves_panels(
    histories: Mapping[str, Mapping[str, np.ndarray]], weighted: bool = False
) -> tuple[list[alt.Chart], str]:
    """Loss terms against step on a log axis, one chart per placement, each as wide as its container, on one y axis
    (the same decades, for a fair comparison) with the legend below: side by side in columns on a wide screen, one
    under the other on a phone. Clicking a term in a panel's legend isolates it in that panel (the others fade)."""
    frame = curves_frame(histories, weighted)
    ticks = decades(frame["value"])
    panels = [
        _curves_lines(frame[frame["placement"] == name], weighted, ticks, shared=True).properties(
            width="container", height=300, title=name
        )
        for name in frame["placement"].unique()
    ]
    return panels, curves_description(histories, weighted)


def _wire(frame: pd.DataFrame, names: tuple[str, ...]) -> tuple[pd.DataFrame, str, str]:
    """A panel's rows as sent: step (int16 up to 32,767), the term's index in `names` (uint8) and the value (float32: 7
    significant digits, far finer than a pixel on a log axis); the term's and placement's names are computed in
    the chart. About 7 bytes a point instead of ~55 (issue 23: the `weighted` switch resent ~205 KB)."""
    labels = [TERM_NAMES[n] for n in names]
    wire = pd.DataFrame(
        {
            "step": frame["step"]
            .to_numpy()
            .astype(np.int16 if frame["step"].to_numpy().max(initial=0) < 2**15 else np.int32),
            "t": np.array([labels.index(term) for term in frame["term"]], dtype=np.uint8),
            "value": frame["value"].to_numpy().astype(np.float32),
        }
    )
    placement = frame["placement"].iloc[0] if len(frame) else ""
    return wire, "[" + ", ".join(f"'{name}'" for name in labels) + "][datum.t]", repr(str(placement))


def _curves_lines(frame: pd.DataFrame, weighted: bool, ticks: list[float], shared: bool = False) -> alt.Chart:
    """One log-scaled line per term, legend-selectable, ticked at `ticks` (decades); `shared` pins the y axis to
    them, so separate panels compare."""
    names = (*HISTORY_CURVES, "total") if weighted else HISTORY_CURVES
    pick = alt.selection_point(fields=["term"], bind="legend")
    scale = alt.Scale(type="log", domain=[ticks[0], ticks[-1]]) if shared else alt.Scale(type="log")
    wire, term, placement = _wire(frame, names)
    return (
        alt.Chart(wire)
        .transform_calculate(term=term, placement=placement)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("step:Q", title="training step"),
            y=alt.Y(
                "value:Q",
                scale=scale,
                title="weighted term (w × value)" if weighted else "value",
                axis=alt.Axis(format=".0e", values=ticks),
            ),
            color=alt.Color(
                "term:N",
                scale=term_color_scale(names),
                sort=[TERM_NAMES[n] for n in names],
                legend=alt.Legend(title="term (click to isolate)", orient="bottom", columns=3, symbolType="stroke"),
            ),
            strokeDash=alt.StrokeDash(  # one legend with the color's: each term's dash beside its color
                "term:N",
                scale=dash_scale([TERM_NAMES[n] for n in names]),
                sort=[TERM_NAMES[n] for n in names],
                legend=alt.Legend(title="term (click to isolate)", orient="bottom", columns=3, symbolType="stroke"),
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
        parts.append(
            f"{name}: " + (_weighted_terms_at_peak(history) if weighted else _raw_terms_first_to_last(history))
        )
    history = next(iter(histories.values()))
    if not weighted:
        parts.append(weights_off_note(histories))
    counts = [f"{TERM_NAMES[t]} on {int(np.isfinite(_measured(history, t)).sum()):,}" for t in LABELLED if t in history]
    parts.append(
        f"Anchor and planarity are only measured on batches holding a labelled sample ({join(counts)} of "
        f"{len(history['step']):,} steps in the first run). Pre-norm they are measured on the raw latent, "
        "post-norm on the unit latent, so their training values are not directly comparable."
    )
    if weighted:
        off = np.flatnonzero(np.all([np.asarray(history[f"w_{t}"]) == 0 for t in TERMS], axis=0))
        if off.size:
            parts.append(f"All regularizer weights are 0 from step {int(off[0]):,}, so their lines end there.")
    return " ".join(parts)


def _weighted_terms_at_peak(history: Mapping[str, np.ndarray]) -> str:
    """Each weighted term's median around the step where the summed weights peak, and where the total ends."""
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
    return f"around step {peak:,}: {items}; the total {end}."


def _raw_terms_first_to_last(history: Mapping[str, np.ndarray]) -> str:
    """Each term's first measured value and its mean over the last 100 steps (or where the run diverged)."""
    final = final_terms(history)
    broken = diverged_at(history)
    items = []
    for t in HISTORY_CURVES:
        v = _measured(history, t)
        v = v[np.isfinite(v)]
        end = fmt(final[t]) if broken is None else "diverged"
        items.append(f"{TERM_NAMES[t]} {fmt(v[0]) if v.size else 'n/a'} → {end}")
    ends = "mean of the last 100" if broken is None else f"the loss stopped being a number at step {broken:,}"
    return ", ".join(items) + f" (first step → {ends})."


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
        f"{text}, so {join([TERM_NAMES[t] for t in risen])} climb back up (most: {TERM_NAMES[most]} {where}, "
        f"{fmt(lowest)} at its lowest 100-step mean, {fmt(end)} at the end). That is the schedule letting go, not "
        "training failing: switch on the toggle above to see the weighted terms."
    )
