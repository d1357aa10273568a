"""The notebook's three error panels (error vs hue, vs saturation, vs value), the hue spikes, and what to look for.

Error vs hue draws fully saturated colors, one line per value level; error vs saturation and vs value draw one
line per hue, each in its own hue. The captions and the 'What to look for' bullets are computed from the same
curves, so they say what this model shows, not what the notebook's did.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from ..colors import PEAK_HUES_DEG
from ..evaluate import VISIBLE_ERROR, Curves
from ..measures import peak_unevenness
from ..text import fmt, join
from .style import LOG_FLOOR, NEUTRAL_INK, dash_scale, error_axis, error_scale, hue_name, line_color, log_safe

# Value levels in the error-vs-hue panel, an ordered light-to-dark ramp (V = 1 lightest) with a dash pattern per
# level, so five lines that often overlap stay apart even where the blues look alike (or for color-blind eyes).
# Relative luminance runs from 0.42 to 0.10 (contrast at least 2.2 against white and 2.7 against Streamlit's dark
# background), so both ends read on either theme.
VALUE_BLUES = ["#89afec", "#5797e7", "#1c81da", "#166db9", "#115b9c", "#0d4a80"]
VALUE_DASHES = [[1, 0], [8, 3], [4, 3], [2, 2], [1, 2], [1, 3]]
BLACK_SERIES = "V = 0 (black)"  # the flat line: at V = 0 every hue is black, so its error is one number
BLACK_DASH = [8, 3, 2, 3]


def black_error(curves: Curves) -> float:
    """The error of black: the value panel's lines all start there (S = 1, V = 0 is black at every hue)."""
    return float(np.mean(curves.by_value[:, 0]))


def curves_frames(curves: Curves) -> dict[str, pd.DataFrame]:
    """Long-form frames for the three panels: 'hue' (one series per value, plus the flat line of black at V = 0),
    'saturation' and 'value' (one series per hue). Each has columns x, series, error, plus the series' numeric key.
    """
    hue_rows = [
        pd.DataFrame({"x": curves.hue_deg, "series": f"V = {v:.2f}", "level": float(v), "error": row.astype(float)})
        for v, row in zip(curves.values, curves.by_hue, strict=True)
    ]
    # Black is one color, whatever the hue: two points make its flat line across the whole panel.
    black = {"x": [0.0, 360.0], "series": BLACK_SERIES, "level": 0.0, "error": black_error(curves)}
    hue_rows.append(pd.DataFrame(black))
    frames = {"hue": pd.concat(hue_rows, ignore_index=True)}
    for key, table in (("saturation", curves.by_saturation), ("value", curves.by_value)):
        rows = [
            pd.DataFrame({"x": curves.levels, "series": _hue_label(h), "hue": float(h), "error": row.astype(float)})
            for h, row in zip(curves.hues_deg, table, strict=True)
        ]
        frames[key] = pd.concat(rows, ignore_index=True)
    return frames


def _hue_label(h: float) -> str:
    return f"{h:.0f}° {hue_name(h)}"


def _circular_regions(mask: np.ndarray) -> list[np.ndarray]:
    """Index runs where mask is true, joining a run that wraps round from the end to the start."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    if idx.size == mask.size:
        return [idx]
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == mask.size - 1:
        runs = [np.concatenate([runs[-1], runs[0]]), *runs[1:-1]]
    return runs


def curves_description(curves: Curves) -> str:
    """The findings of the three panels in words: where error peaks and how fast it falls away."""
    tables = (curves.by_hue, curves.by_saturation, curves.by_value)
    broken = sum(int((~np.isfinite(t)).sum()) for t in tables)
    if broken:  # a diverged model: peaks and fall-offs of NaN mean nothing, so say only that
        total = sum(t.size for t in tables)
        return (
            f"Error curves: {broken:,} of {total:,} points are not numbers (the model diverged), "
            "so the panels show only the points that are."
        )
    return " ".join([_hue_panel_finding(curves), *_level_panel_findings(curves)])


def _hue_panel_finding(curves: Curves) -> str:
    """Where the brightest line peaks and how wide its peak is, the other peaks, and the flat line of black."""
    top = int(np.argmax(curves.values))
    row = curves.by_hue[top]
    peak = int(np.argmax(row))
    peak_hue, peak_err = float(curves.hue_deg[peak]), float(row[peak])
    text = (
        f"Error vs hue (S = 1): at V = {curves.values[top]:.2f} error peaks at {peak_hue:.0f}° "
        f"({hue_name(peak_hue)}) with {fmt(peak_err)}"
    )
    if peak_err > 0:
        regions = _circular_regions(row > peak_err / 10)
        main = next(r for r in regions if peak in r)
        lo, hi = float(curves.hue_deg[main[0]]), float(curves.hue_deg[main[-1]])
        if main.size < row.size:
            text += f" and stays above a tenth of that from {lo:.0f}° to {hi:.0f}°"
        others = [r[np.argmax(row[r])] for r in regions if peak not in r]
        others.sort(key=lambda i: -row[i])
        if others:
            listed = ", ".join(f"{curves.hue_deg[i]:.0f}° ({fmt(row[i])})" for i in others[:5])
            text += f"; other peaks above that line: {listed}"
    dark = int(np.argmin(curves.values))
    return text + (
        f". The darkest line (V = {curves.values[dark]:.2f}) stays below {fmt(curves.by_hue[dark].max())}; the flat "
        f"grey line is black (V = 0), one color whatever the hue, so its error ({fmt(black_error(curves))}) is the "
        "same all the way across."
    )


def _level_panel_findings(curves: Curves) -> list[str]:
    """For error vs saturation and vs value: the worst hue, and the common start (white, black) of every line."""
    sentences = []
    for key, table, other, start in (
        ("saturation", curves.by_saturation, "V = 1", "white"),
        ("value", curves.by_value, "S = 1", "black"),
    ):
        maxima = table.max(axis=1)
        order = np.argsort(-maxima)
        best = int(order[0])
        at = float(curves.levels[int(np.argmax(table[best]))])
        sentence = (
            f"Error vs {key} ({other}): highest for {_hue_label(curves.hues_deg[best])} "
            f"({fmt(maxima[best])} at {key} {at:.2f})"
        )
        if len(order) > 1:
            sentence += f"; the other hues stay below {fmt(maxima[order[1]])}"
        first = table[:, 0]
        if np.ptp(first) <= 1e-9 + 1e-6 * abs(first).max():
            sentence += (
                f". All lines start together at {key} 0, where every hue is the same color ({start}), "
                f"error {fmt(first[0])}"
            )
        sentences.append(sentence + ".")
    return sentences


SPIKE_WINDOW_DEG = 6.0  # a spike is the highest point within this many degrees either side
SPIKE_OVER_MEDIAN = 2.0  # ... and at least this many times the line's median


def hue_spikes(curves: Curves) -> dict[int, tuple[float, bool]]:
    """{hue: (error, is it a spike)} at the six primaries and secondaries on the brightest line (S = V = 1).

    A spike is a local peak that stands out: the highest error within ±6° and at least twice the line's median.
    The notebook saw one at each of the six; a model can have fewer (seed 0 post-norm has none at red).
    """
    top = int(np.argmax(curves.values))
    row, hues = np.asarray(curves.by_hue[top], dtype=float), np.asarray(curves.hue_deg, dtype=float)
    step = 360.0 / len(hues)
    reach = max(1, int(round(SPIKE_WINDOW_DEG / step)))
    median = float(np.median(row))
    out = {}
    for h in PEAK_HUES_DEG:
        i = int(round(h / step)) % len(hues)
        window = row[(np.arange(i - reach, i + reach + 1)) % len(row)]
        out[h] = (float(row[i]), bool(row[i] >= window.max() and row[i] >= SPIKE_OVER_MEDIAN * median))
    return out


def spike_unevenness(curves: Curves) -> float:
    """Tallest ÷ mean error of the six primaries and secondaries: 1 when all are equal (the notebook's 'regular'),
    up to 6 when one carries all the error. The Experiment lab's hue-peak unevenness, the same number."""
    return peak_unevenness([e for e, _ in hue_spikes(curves).values()])


def spikes_advice(curves_by_placement: Mapping[str, Curves], shown: str) -> str:
    """'What to look for' about the hue spikes, from the measured heights of the placement shown, and whether
    this seed agrees with the notebook (six spikes of about the same height, post-norm's tidier than pre-norm's).
    """
    curves = curves_by_placement[shown]
    spikes = hue_spikes(curves)
    present = [h for h, (_, spike) in spikes.items() if spike]
    absent = [h for h in PEAK_HUES_DEG if h not in present]
    tall = max(spikes, key=lambda h: spikes[h][0])
    short = min(spikes, key=lambda h: spikes[h][0])
    name = f"{shown}-norm" if shown in ("pre", "post") else shown
    if not present:
        found = f"Here ({name}, S = V = 1) none of the six stands out as a spike"
    elif not absent:
        found = f"Here ({name}, S = V = 1) all six stand out as spikes"
    else:
        found = (
            f"Here ({name}, S = V = 1) there are spikes at {join([hue_name(h) for h in present])}, but none at "
            + ", ".join(f"{hue_name(h)} ({fmt(spikes[h][0])})" for h in absent)
        )
    text = (
        f"{found} (a spike: the highest error within {SPIKE_WINDOW_DEG:g}° either side and at least "
        f"{SPIKE_OVER_MEDIAN:g}× the line's median). The tallest ({hue_name(tall)}, {fmt(spikes[tall][0])}) is "
        f"{spike_unevenness(curves):.2f}× the mean of the six (1 = all equal, 6 = a single spike); the lowest is "
        f"{hue_name(short)} ({fmt(spikes[short][0])})."
    )
    if {"pre", "post"} <= set(curves_by_placement):
        post, pre = (spike_unevenness(curves_by_placement[p]) for p in ("post", "pre"))
        tidier = post < pre
        verdict = "post-norm's are the more even, as in the notebook." if tidier else "this seed disagrees with it."
        text += (
            " The notebook saw six spikes of about the same height post-norm, more even than pre-norm's; on this "
            f"seed the tallest is {post:.2f}× the mean post-norm and {pre:.2f}× pre-norm, so {verdict}"
        )
    return text


def look_for(curves_by_placement: Mapping[str, Curves], shown: str) -> list[str]:
    """The reconstruction page's 'What to look for' bullets, each sentence that depends on numbers computed from
    the curves of the placement shown (and, for the comparison, the other one)."""
    curves = curves_by_placement[shown]
    highest = float(max(np.nanmax(t) for t in (curves.by_hue, curves.by_saturation, curves.by_value)))
    scale = (
        f"all of this stays below {fmt(VISIBLE_ERROR)} (the highest point is {fmt(highest)}), the rule-of-thumb "
        "threshold of a visible difference"
        if highest < VISIBLE_ERROR
        else f"the highest point ({fmt(highest)}) passes {fmt(VISIBLE_ERROR)}, the rule-of-thumb threshold of a "
        "visible difference"
    )
    return [
        "**Spikes at the primaries and secondaries** (red 0°, yellow 60°, green 120°, cyan 180°, blue 240°, magenta "
        "300°). These six are the corners of the RGB cube: at a corner one channel is exactly 1 and another exactly "
        "0, and the path of fully saturated colors turns sharply. A decoder built from 16 smooth GELU units tends to "
        "round a corner off, so the colors right at it can be rebuilt least well. When the six spikes have about the "
        "same height, the model treats the hues evenly: a sign of a regular color wheel in latent space. "
        + spikes_advice(curves_by_placement, shown),
        "**The flat line of black.** At value 0 every hue is the same color, black, so its error cannot depend on "
        "hue: the notebook saw it as an oddly straight line around 4e-4. Here it is the grey dash-dot line of the "
        f"*error vs hue* panel, at {fmt(black_error(curves))}; every line of the *error vs value* panel starts from "
        "it, and white does the same at saturation 0 in the middle panel.",
        f"**Scale.** Here {scale}. On the next page the interventions raise the error near red a hundredfold and "
        "more: that is the contrast that matters.",
    ]


def visible_error_basis() -> str:
    """Where the 0.001 threshold comes from: an RMS difference of √0.001 ≈ 0.032 per channel is 8 of 255 levels."""
    levels = math.sqrt(VISIBLE_ERROR) * 255
    return (
        f"An error of {fmt(VISIBLE_ERROR)} means the channels differ by about {math.sqrt(VISIBLE_ERROR):.3f} "
        f"(root mean square), {levels:.0f} of 255 levels: a rule of thumb for where a difference starts to show "
        "next to the original, not a measured threshold."
    )


def error_curve_panels(
    curves: Curves, log: bool = False, width: int | str = "container", height: int = 170
) -> tuple[list[alt.Chart], str]:
    """The notebook's three panels as three charts on one error axis (an explicit shared domain), so their
    heights compare wherever a page puts them: side by side in columns on a wide screen, one under the other on
    a phone, each as wide as its column (`width="container"`), its legend below it.

    Left: error vs hue for fully saturated colors, one line per value level (an ordered blue ramp with a dash
    pattern each, lightest for V = 1) and the flat grey line of black at V = 0. Middle and right: error vs
    saturation (V = 1) and vs value (S = 1), one line per hue, each drawn in its own hue (adjusted in lightness
    to read on both themes). `log=True` uses a log axis; errors of exactly 0 (possible: the output is clamped)
    are drawn at LOG_FLOOR there, while tooltips keep the true number.
    """
    frames = curves_frames(curves)
    text = curves_description(curves)
    errors = np.concatenate([frame["error"].to_numpy(dtype=float) for frame in frames.values()])
    plotted = log_safe(errors) if log else errors
    plotted = plotted[np.isfinite(plotted)]  # a diverged model's may be all NaN: each panel then scales itself
    top = float(plotted.max()) if plotted.size else None
    y_scale, y_axis = error_scale(log, top), error_axis(log, top)
    size = {"width": width, "height": height}
    panels = [
        _value_lines(frames["hue"], curves, (y_scale, y_axis), log).properties(**size, title="error vs hue"),
        _hue_lines(frames["saturation"], curves, "saturation", (y_scale, y_axis), log, legend=True).properties(
            **size, title="error vs saturation (V = 1)"
        ),
        _hue_lines(frames["value"], curves, "value", (y_scale, y_axis), log, legend=False).properties(
            **size, title="error vs value (S = 1)"
        ),
    ]
    return [panel.properties(description=text) for panel in panels], text


ERROR_TIP = alt.Tooltip("error:Q", title="error", format=".2e")


def _value_lines(frame: pd.DataFrame, curves: Curves, y: tuple[alt.Scale, alt.Axis], log: bool) -> alt.Chart:
    """Error vs hue: one line per value level, each its own blue, dash and width; black's flat line in grey."""
    value_domain = [f"V = {v:.2f}" for v in sorted(curves.values, reverse=True)]
    widths = [*np.linspace(2.4, 1.2, len(value_domain)), 1.5]
    value_colors = [*VALUE_BLUES[: len(value_domain)], NEUTRAL_INK]
    value_dashes = [*VALUE_DASHES[: len(value_domain)], BLACK_DASH]
    value_domain.append(BLACK_SERIES)
    y_title = "mean squared error" + (" (log)" if log else "")
    return (
        _curve_chart(frame, value_domain, log)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X(
                "x:Q",
                title="hue (°)",
                scale=alt.Scale(domain=[0, 360], nice=False),
                axis=alt.Axis(values=list(range(0, 361, 60))),
            ),
            y=alt.Y("plotted:Q", title=y_title, scale=y[0], axis=y[1]),
            color=alt.Color(
                "series:O",
                title="value (S = 1)",
                scale=alt.Scale(domain=value_domain, range=value_colors),
                # line symbols, so the legend shows each level's dash pattern as well as its blue
                legend=alt.Legend(
                    orient="bottom", direction="vertical", symbolType="stroke", symbolStrokeWidth=2, symbolSize=500
                ),
            ),
            strokeDash=alt.StrokeDash("series:O", scale=alt.Scale(domain=value_domain, range=value_dashes)),
            strokeWidth=alt.StrokeWidth("series:O", scale=alt.Scale(domain=value_domain, range=widths), legend=None),
            tooltip=[
                alt.Tooltip("x:Q", title="hue (°)", format=".1f"),
                alt.Tooltip("series:N", title="value"),
                ERROR_TIP,
            ],
        )
    )


def _hue_lines(
    frame: pd.DataFrame, curves: Curves, key: str, y: tuple[alt.Scale, alt.Axis], log: bool, legend: bool
) -> alt.Chart:
    """Error vs saturation or value: one line per hue, drawn in that hue; `legend` on one panel serves both."""
    hue_domain = [_hue_label(h) for h in curves.hues_deg]
    hue_range = [line_color(h) for h in curves.hues_deg]
    key_legend = alt.Legend(orient="bottom", direction="vertical", columns=2, symbolType="stroke") if legend else None
    return (
        _curve_chart(frame, hue_domain, log)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("x:Q", title=key, scale=alt.Scale(domain=[0, 1], nice=False)),
            y=alt.Y("plotted:Q", title=None, scale=y[0], axis=y[1]),
            color=alt.Color(
                "series:N",
                title="hue",
                scale=alt.Scale(domain=hue_domain, range=hue_range),
                legend=key_legend,
            ),
            strokeDash=alt.StrokeDash("series:N", scale=dash_scale(hue_domain), legend=key_legend),  # one legend
            tooltip=[
                alt.Tooltip("x:Q", title=key, format=".2f"),
                alt.Tooltip("series:N", title="hue"),
                ERROR_TIP,
            ],
        )
    )


def _curve_chart(frame: pd.DataFrame, series: list[str], log: bool) -> alt.Chart:
    """A panel's chart of its curves_frames table as sent: x as uint16 in fixed units (a hue in 0.01°, a
    saturation or value in 1e-4: finer than a pixel and the tooltip), the error as float32 (7 significant digits),
    the series' index in `series`; x, the series' name and the plotted height (floored at LOG_FLOOR on a log axis)
    are computed in the chart. About 7 bytes a point instead of ~45."""
    x = frame["x"].to_numpy(dtype=float)
    units = 10_000 if x.max(initial=0) <= 1 else 100  # hue up to 360°: 36,000 fits a uint16
    wire = pd.DataFrame(
        {
            "xi": np.round(x * units).astype(np.uint16),
            "s": np.array([series.index(name) for name in frame["series"]], dtype=np.uint8),
            "error": frame["error"].to_numpy(dtype=np.float32),
        }
    )
    names = "[" + ", ".join(f"'{name}'" for name in series) + "][datum.s]"
    plotted = f"max(datum.error, {LOG_FLOOR})" if log else "datum.error"
    return alt.Chart(wire).transform_calculate(x=f"datum.xi / {units}", series=names, plotted=plotted)
