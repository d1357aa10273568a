"""Altair chart builders for the app's figures, each paired with a text description of what it shows.

Pages only lay out: they call a builder here and pass the chart to ``st.altair_chart(chart, theme="streamlit")``
and the text to a caption (or alt text). The text is computed from the same numbers as the chart, so a
student who cannot see the figure (or a teacher reading it aloud) gets the finding, not just "a chart".

Colors that *are* data (a swatch, a named hue) are literal hex strings with ``scale=None``: red must be
red whatever the theme. Colors that only tell series apart are chosen to stay legible on both the light
and the dark Streamlit background. Nothing here imports Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

import altair as alt
import numpy as np
import pandas as pd
import torch

from .. import colors
from ..evaluate import Curves, Evaluation
from ..interventions import Repulsion, Suppression
from ..measures import peak_unevenness

# An error this large is a visible difference: RMS 0.032 per channel is about 8 of 255 levels.
VISIBLE_ERROR = 1e-3
# Value levels in the error-vs-hue panel, an ordered light-to-dark ramp (V = 1 lightest) with a dash pattern per
# level, so five lines that often overlap stay apart even where the blues look alike (or for color-blind eyes).
# Relative luminance runs from 0.42 to 0.10 (contrast at least 2.2 against white and 2.7 against Streamlit's dark
# background), so both ends read on either theme.
VALUE_BLUES = ["#89afec", "#5797e7", "#1c81da", "#166db9", "#115b9c", "#0d4a80"]
VALUE_DASHES = [[1, 0], [8, 3], [4, 3], [2, 2], [1, 2], [1, 3]]
BLACK_SERIES = "V = 0 (black)"  # the flat line: at V = 0 every hue is black, so its error is one number
BLACK_DASH = [8, 3, 2, 3]
NEUTRAL_INK = "#888888"  # annotation text that reads on the light and the dark background
LOG_FLOOR = 1e-7  # errors below this are drawn at this height on a log axis (a log axis cannot show 0)
SATURATION_PANEL_HEADER = "S = {}"
# SPEC §8: what the notebook reported for its one training run, (placement, run) -> max and median dense-grid error.
# Seeds differ (its RNG streams cannot be replayed), so a page shows these beside ours as a reference, not a target.
NOTEBOOK = {
    ("post", "baseline"): {"max": 0.0011, "median": 1.5e-5},
    ("post", "suppression"): {"max": 0.16, "median": 2.0e-5},
    ("post", "repulsion"): {"max": 0.094, "median": 2.5e-5},
    ("pre", "baseline"): {"max": 0.0017, "median": 1.6e-5},
    ("pre", "suppression"): {"max": 0.19, "median": 1.9e-5},
    ("pre", "repulsion"): {"max": 0.12, "median": 1.9e-5},
}
NOTEBOOK_SOURCE = "one seed of the original pipeline"


# --------------------------------------------------------------------------------------------------
# Formatting helpers (shared by the captions)


def fmt(x: float) -> str:
    """Two significant digits, with compact exponents: 0.16, 0.0011, 1.5e-5 (not 1.5e-05)."""
    x = float(x)
    if not np.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    text = f"{x:.2g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def fraction_label(x: float) -> str:
    """0, 1/3, 2/3, 1 for the swatch grid's saturation levels (and plain decimals for anything else)."""
    frac = Fraction(float(x)).limit_denominator(12)
    if abs(float(frac) - x) > 1e-9:
        return f"{x:.2f}"
    return str(frac)


def hue_name(hue_deg: float) -> str:
    """The nearest of the 12 named hues (30 degrees apart), or 'red-orange' style halfway between two."""
    steps = (float(hue_deg) % 360.0) / 30.0
    nearest = int(round(steps))
    if abs(steps - nearest) <= 0.25:
        return colors.NAMED_HUES[nearest % 12]
    below = int(np.floor(steps))
    return f"{colors.NAMED_HUES[below % 12]}-{colors.NAMED_HUES[(below + 1) % 12]}"


def _hue_order(name: str) -> tuple[int, str]:
    """Sort key for hue_name() results, in-between names ('red-orange') right after their first hue."""
    return colors.NAMED_HUES.index(name.split("-")[0]), name


def describe_color(hue_deg: float, saturation: float, value: float) -> str:
    """A short human name for an HSV color, e.g. 'red (0°, S 1, V 1)', 'black', 'grey (V 0.43)'."""
    if value <= 1e-9:
        return "black"
    if saturation <= 1e-9:
        return "white" if value >= 1 - 1e-9 else f"grey (V {value:.2g})"
    return f"{hue_name(hue_deg)} ({hue_deg:.0f}°, S {fraction_label(saturation)}, V {value:.2g})"


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.clip(c, 0, None) ** (1 / 2.4) - 0.055)


def line_color(hue_deg: float, low: float = 0.18, high: float = 0.4) -> str:
    """The hue itself, darkened or lightened just enough to read on a white and on a near-black page.

    Pure yellow vanishes on white and pure blue on black; scaling the linear RGB keeps the hue but moves
    the relative luminance into [low, high]. Red (0.21) and magenta (0.28) come through unchanged.
    """
    lin = _srgb_to_linear(colors.hsv_to_rgb(np.array([hue_deg / 360.0, 1.0, 1.0])))
    lum = float(lin @ np.array([0.2126, 0.7152, 0.0722]))
    if lum > high:
        lin = lin * (high / lum)
    elif lum < low:
        lin = lin + (low - lum) / (1 - lum) * (1 - lin)
    return str(colors.to_hex(_linear_to_srgb(lin)))


def _log_safe(error: np.ndarray) -> np.ndarray:
    return np.maximum(np.asarray(error, dtype=float), LOG_FLOOR)


def _y_scale(log: bool, top: float | None = None) -> alt.Scale:
    """The error axis; `top` fixes its upper end, so separate charts can share one axis."""
    scale = alt.Scale(type="log", domainMin=LOG_FLOOR) if log else alt.Scale(type="linear", zero=True)
    return scale if top is None else alt.Scale(**scale.to_dict(), domainMax=top)


def _y_axis(log: bool) -> alt.Axis:
    return alt.Axis(format=".0e") if log else alt.Axis()


# --------------------------------------------------------------------------------------------------
# Swatches: true vs reconstructed colors


def swatch_frame(ev: Evaluation) -> pd.DataFrame:
    """One row per swatch (hue-major, then saturation, then value, as in the grid): 768 rows by default."""
    n_h, n_s, n_v = ev.swatch_error.shape
    hue = np.arange(n_h) * 360.0 / n_h
    sat = np.linspace(0.0, 1.0, n_s)
    val = np.linspace(0.0, 1.0, n_v)
    hh, ss, vv = np.meshgrid(hue, sat, val, indexing="ij")
    frame = pd.DataFrame(
        {
            "hue": hh.ravel(),
            "saturation": ss.ravel(),
            "value": np.round(vv.ravel(), 4),
            "true": colors.to_hex(ev.swatch_true).ravel(),
            "reconstructed": colors.to_hex(ev.swatch_out).ravel(),
            "error": ev.swatch_error.ravel().astype(float),
        }
    )
    frame["panel"] = [SATURATION_PANEL_HEADER.format(fraction_label(s)) for s in frame["saturation"]]
    return frame


def swatch_description(ev: Evaluation) -> str:
    """Which swatches look wrong and how: the numbers behind what a person sees in the swatch chart."""
    frame = swatch_frame(ev)
    n = len(frame)
    head = (
        f"Swatches of {n} colors: hue runs across ({frame['hue'].nunique()} steps), value runs down "
        f"(bright at the top), one panel per saturation ({', '.join(frame['panel'].unique())}). "
        "Each outer square is the reconstructed color, its inner square the true color. "
    )
    broken = ~np.isfinite(frame["error"].to_numpy())
    if broken.any():  # a diverged model: its reconstructions are not numbers, drawn neutral grey
        head += f"{broken.sum()} of {n} reconstructions are not numbers (the model diverged) and are drawn grey. "
        frame = frame[~broken]
        if frame.empty:
            return head.rstrip()
    worst = frame.sort_values("error", ascending=False).head(3)
    worst_text = "; ".join(
        f"{describe_color(r.hue, r.saturation, r.value)}: true {r.true} shown as {r.reconstructed} "
        f"(error {fmt(r.error)})"
        for r in worst.itertuples()
    )
    visible = frame[frame["error"] > VISIBLE_ERROR]
    if visible.empty:
        return head + (
            f"No swatch differs visibly (all errors below {fmt(VISIBLE_ERROR)}); "
            f"the largest is {worst_text.split('; ')[0]}."
        )
    chromatic = visible[(visible["saturation"] > 0) & (visible["value"] > 0)]
    where = ""
    if not chromatic.empty:
        dist = np.abs((chromatic["hue"].to_numpy() + 180.0) % 360.0 - 180.0)
        if dist.max() <= 90:
            where = f", all of them within {dist.max():.0f}° of red"
        else:
            names = sorted({hue_name(h) for h in chromatic["hue"]}, key=_hue_order)
            where = f", at hues named {', '.join(names)}"
    greys = int(((visible["saturation"] == 0) | (visible["value"] == 0)).sum())
    grey_text = f" ({greys} of them grey or black)" if greys else ""
    return head + (
        f"{len(visible)} of {n} swatches differ visibly (error above {fmt(VISIBLE_ERROR)}){grey_text}{where}. "
        f"Largest differences: {worst_text}."
    )


def swatch_chart(
    ev: Evaluation, title: str | None = None, step: int = 13, columns: int = 2, inner: float = 0.45
) -> tuple[alt.FacetChart, str]:
    """Four panels of swatches (one per saturation), value down and hue across.

    The outer square of a cell is the reconstruction and the inner square the truth, so a good model shows
    solid squares and a failure shows a dot of one color inside another. `step` is the cell size in pixels,
    `inner` the inner square's side as a fraction of it; two panels per row keep cells large enough to see.
    """
    frame = swatch_frame(ev)
    text = swatch_description(ev)
    chart = (
        _swatch_cells(frame, step, inner)
        .properties(width=step * frame["hue"].nunique(), height=step * frame["value"].nunique())
        .facet(
            facet=alt.Facet(
                "panel:N", sort=_swatch_panel_names(frame), title=None, header=alt.Header(labelFontWeight="bold")
            ),
            columns=columns,
        )
        .properties(title=title or "", description=text)
    )
    return chart, text


def swatch_panels(ev: Evaluation, step: int = 13, inner: float = 0.45) -> tuple[list[alt.LayerChart], str]:
    """The four panels of swatch_chart as four charts, each as wide as its container (cells stretch across,
    `step` px tall), for a page to lay out in columns: two by two on a wide screen, one under the other on a phone.
    """
    frame = swatch_frame(ev)
    text = swatch_description(ev)
    panels = [
        _swatch_cells(frame[frame["panel"] == name], step, inner).properties(
            width="container", height=step * frame["value"].nunique(), title=name, description=text
        )
        for name in _swatch_panel_names(frame)
    ]
    return panels, text


def _swatch_panel_names(frame: pd.DataFrame) -> list[str]:
    return [SATURATION_PANEL_HEADER.format(fraction_label(s)) for s in sorted(frame["saturation"].unique())]


def _swatch_cells(frame: pd.DataFrame, step: int, inner: float) -> alt.LayerChart:
    """The swatch cells of `frame`: reconstruction as the cell, truth as a square of side `inner` × `step` px."""
    hue_ticks = [h for h in sorted(frame["hue"].unique()) if h % 60 == 0]
    tooltip = [
        alt.Tooltip("hue:Q", title="hue (°)", format=".0f"),
        alt.Tooltip("saturation:Q", title="S", format=".2f"),
        alt.Tooltip("value:Q", title="V", format=".2f"),
        alt.Tooltip("true:N", title="true"),
        alt.Tooltip("reconstructed:N", title="reconstructed"),
        alt.Tooltip("error:Q", title="error", format=".2e"),
    ]
    base = alt.Chart().encode(
        x=alt.X(
            "hue:O",
            title="hue (°)",
            scale=alt.Scale(paddingInner=0.1, paddingOuter=0.05),
            axis=alt.Axis(values=hue_ticks, labelAngle=0, format=".0f", ticks=False, domain=False),
        ),
        y=alt.Y(
            "value:O",
            title="value",
            sort="descending",
            scale=alt.Scale(paddingInner=0.1, paddingOuter=0.05),
            axis=alt.Axis(format=".2f", ticks=False, domain=False),
        ),
        tooltip=tooltip,
    )
    # A faint grey edge keeps white cells visible on the light theme and black cells on the dark one.
    outer = base.mark_rect(stroke="#80808080", strokeWidth=0.5).encode(color=alt.Color("reconstructed:N", scale=None))
    side = step * inner
    dot = base.mark_square(size=side * side, opacity=1, strokeWidth=0).encode(color=alt.Color("true:N", scale=None))
    return alt.layer(outer, dot, data=frame)


# --------------------------------------------------------------------------------------------------
# The three error panels


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
    parts = []
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
    text += (
        f". The darkest line (V = {curves.values[dark]:.2f}) stays below {fmt(curves.by_hue[dark].max())}; the flat "
        f"grey line is black (V = 0), one color whatever the hue, so its error ({fmt(black_error(curves))}) is the "
        "same all the way across."
    )
    parts.append(text)
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
        parts.append(sentence + ".")
    return " ".join(parts)


PEAK_HUES = (0, 60, 120, 180, 240, 300)  # the primaries and secondaries: the corners of the RGB cube
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
    for h in PEAK_HUES:
        i = int(round(h / step)) % len(hues)
        window = row[(np.arange(i - reach, i + reach + 1)) % len(row)]
        out[h] = (float(row[i]), bool(row[i] >= window.max() and row[i] >= SPIKE_OVER_MEDIAN * median))
    return out


def spike_unevenness(curves: Curves) -> float:
    """Tallest ÷ mean error of the six primaries and secondaries: 1 when all are equal (the notebook's 'regular'),
    up to 6 when one carries all the error. The Experiment lab's hue-peak unevenness, the same number."""
    return peak_unevenness([e for e, _ in hue_spikes(curves).values()])


def _hue_list(hues: list[int]) -> str:
    names = [hue_name(h) for h in hues]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def spikes_advice(curves_by_placement: Mapping[str, Curves], shown: str) -> str:
    """'What to look for' about the hue spikes, from the measured heights of the placement shown, and whether
    this seed agrees with the notebook (six spikes of about the same height, post-norm's tidier than pre-norm's).
    """
    curves = curves_by_placement[shown]
    spikes = hue_spikes(curves)
    present = [h for h, (_, spike) in spikes.items() if spike]
    absent = [h for h in PEAK_HUES if h not in present]
    tall = max(spikes, key=lambda h: spikes[h][0])
    short = min(spikes, key=lambda h: spikes[h][0])
    name = f"{shown}-norm" if shown in ("pre", "post") else shown
    if not present:
        found = f"Here ({name}, S = V = 1) none of the six stands out as a spike"
    elif not absent:
        found = f"Here ({name}, S = V = 1) all six stand out as spikes"
    else:
        found = f"Here ({name}, S = V = 1) there are spikes at {_hue_list(present)}, but none at " + ", ".join(
            f"{hue_name(h)} ({fmt(spikes[h][0])})" for h in absent
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


def error_curves_chart(
    curves: Curves, title: str | None = None, log: bool = False, panel_width: int = 170, height: int = 170
) -> tuple[alt.HConcatChart, str]:
    """The notebook's three panels side by side as one figure of fixed width (see error_curve_panels)."""
    panels, text = error_curve_panels(curves, log, panel_width, height)
    chart = (
        alt.hconcat(*panels)
        .resolve_scale(y="shared", color="independent")
        .properties(title=title or "", description=text)
    )
    return chart, text


def error_curve_panels(
    curves: Curves, log: bool = False, width: int | str = "container", height: int = 170
) -> tuple[list[alt.Chart], str]:
    """The notebook's three panels as three charts on one error axis (an explicit shared domain), so their
    heights compare wherever a page puts them: side by side in columns on a wide screen, one under the other on
    a phone, each as wide as its column (`width="container"`), its legend below it.

    Left: error vs hue for fully saturated colors, one line per value level (an ordered blue ramp with a dash
    pattern each, lightest for V = 1) and the flat grey line of black at V = 0. Middle and right: error vs
    saturation (V = 1) and vs value (S = 1), one line per hue, each drawn in its own hue (adjusted in lightness
    to read on both themes). `log=True` uses a log axis; errors of exactly 0
    (possible: the output is clamped) are drawn at 1e-7 there, while tooltips keep the true number.
    """
    frames = curves_frames(curves)
    text = curves_description(curves)
    for frame in frames.values():
        frame["plotted"] = _log_safe(frame["error"]) if log else frame["error"]
    y_title = "mean squared error" + (" (log)" if log else "")
    hue_domain = [_hue_label(h) for h in curves.hues_deg]
    value_domain = [f"V = {v:.2f}" for v in sorted(curves.values, reverse=True)]
    widths = [*np.linspace(2.4, 1.2, len(value_domain)), 1.5]
    value_colors = [*VALUE_BLUES[: len(value_domain)], NEUTRAL_INK]
    value_dashes = [*VALUE_DASHES[: len(value_domain)], BLACK_DASH]
    value_domain.append(BLACK_SERIES)
    hue_range = [line_color(h) for h in curves.hues_deg]
    error_tip = alt.Tooltip("error:Q", title="error", format=".2e")
    plotted = np.concatenate([frame["plotted"].to_numpy(dtype=float) for frame in frames.values()])
    plotted = plotted[np.isfinite(plotted)]  # a diverged model's may be all NaN: each panel then scales itself
    y_scale = _y_scale(log, float(plotted.max()) if plotted.size else None)

    hue_panel = (
        alt.Chart(frames["hue"])
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X(
                "x:Q",
                title="hue (°)",
                scale=alt.Scale(domain=[0, 360], nice=False),
                axis=alt.Axis(values=list(range(0, 361, 60))),
            ),
            y=alt.Y("plotted:Q", title=y_title, scale=y_scale, axis=_y_axis(log)),
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
                error_tip,
            ],
        )
        .properties(width=width, height=height, title="error vs hue")
    )

    def hue_lines(key: str, other: str, show_legend: bool) -> alt.Chart:
        legend = alt.Legend(orient="bottom", direction="vertical", columns=2) if show_legend else None
        return (
            alt.Chart(frames[key])
            .mark_line(strokeWidth=2)
            .encode(
                x=alt.X("x:Q", title=key, scale=alt.Scale(domain=[0, 1], nice=False)),
                y=alt.Y("plotted:Q", title=None, scale=y_scale, axis=_y_axis(log)),
                color=alt.Color(
                    "series:N", title="hue", scale=alt.Scale(domain=hue_domain, range=hue_range), legend=legend
                ),
                tooltip=[
                    alt.Tooltip("x:Q", title=key, format=".2f"),
                    alt.Tooltip("series:N", title="hue"),
                    error_tip,
                ],
            )
            .properties(width=width, height=height, title=f"error vs {key} ({other})")
        )

    panels = [hue_panel, hue_lines("saturation", "V = 1", True), hue_lines("value", "S = 1", False)]
    return [panel.properties(description=text) for panel in panels], text


# --------------------------------------------------------------------------------------------------
# Intervention mapping curves


def _angle(d: float) -> float:
    return float(np.degrees(np.arccos(np.clip(d, -1.0, 1.0))))


def mapping_frame(intervention: Suppression | Repulsion, n: int = 201) -> pd.DataFrame:
    """The curve itself: alignment d in [0, 1] and the gate (suppression) or output alignment (repulsion)."""
    d = np.linspace(0.0, 1.0, n)
    with torch.no_grad():
        if isinstance(intervention, Suppression):
            y = intervention.falloff(torch.tensor(d, dtype=torch.float64)).numpy()
        elif isinstance(intervention, Repulsion):
            y = intervention.mapper(torch.tensor(d, dtype=torch.float64)).numpy()
        else:
            raise TypeError(f"only suppression and repulsion have a mapping curve, not {type(intervention).__name__}")
    return pd.DataFrame({"d": d, "y": y, "angle": np.degrees(np.arccos(d))})


HEMISPHERE_PROBES_DEG = (60.0, 80.0)  # how much a whole-hemisphere intervention still does far from red


def hemisphere_note(intervention: Suppression | Repulsion) -> str:
    """With a = 0 the 'cone' is the whole hemisphere facing red (90°): say so, and that only the curve's shape then
    spares distant colors, with what it still does at 60° and 80°. Empty for a narrower cone."""
    a = intervention.falloff.a if isinstance(intervention, Suppression) else intervention.mapper.a
    if a > 1e-9:
        return ""
    d = torch.tensor([math.cos(math.radians(x)) for x in HEMISPHERE_PROBES_DEG], dtype=torch.float64)
    with torch.no_grad():
        if isinstance(intervention, Suppression):
            g = intervention.falloff(d).numpy()
            shape = f"the gate's shape (p = {intervention.falloff.p:g})"
            effect = ", ".join(f"{fmt(v)} at {x:.0f}°" for x, v in zip(HEMISPHERE_PROBES_DEG, g, strict=True))
            effect = f"the gate is {effect}"
        else:
            t = intervention.mapper(d).numpy()
            shape = "the mapper's shape"
            turned = zip(HEMISPHERE_PROBES_DEG, t, strict=True)
            effect = "; ".join(f"a latent at {x:.0f}° is turned to {_angle(v):.0f}°" for x, v in turned)
    return (
        "With a = 0 the cone is the whole hemisphere facing red: every latent less than 90° from red is touched, "
        f"and only {shape} spares the distant ones ({effect})."
    )


def mapping_description(intervention: Suppression | Repulsion) -> str:
    if isinstance(intervention, Suppression):
        a, b, p = intervention.falloff.a, intervention.falloff.b, intervention.falloff.p
        mid = float(intervention.falloff(torch.tensor([0.5], dtype=torch.float64))[0])
        return (
            f"Suppression gate g(d) = b((d − a)/(1 − a))^p against alignment d = cos θ with red. "
            f"It is 0 up to a = {a:.2f} (latents more than {_angle(a):.0f}° from red are left alone) and rises "
            f"to b = {b:.2f} at d = 1 (exact red, whose red component is {'removed' if b >= 1 else 'scaled by'}"
            f"{'' if b >= 1 else f' {1 - b:.2f}'}). With p = {p:g} the rim is "
            f"{'soft' if p > 1 else 'sharp' if p < 1 else 'linear'}: at d = 0.5 (60°) the gate is {fmt(mid)}. "
            + hemisphere_note(intervention)
        ).rstrip()
    if isinstance(intervention, Repulsion):
        a, b = intervention.mapper.a, intervention.mapper.b
        probe = torch.tensor([0.9, 0.99], dtype=torch.float64)
        out = intervention.mapper(probe).numpy()
        moves = "; ".join(
            f"d = {d:.2f} ({_angle(d):.0f}°) goes to {t:.2f} ({_angle(t):.0f}°)"
            for d, t in zip(probe.numpy(), out, strict=True)
            if d > a
        )
        return (
            f"Repulsion mapper: output alignment against input alignment d = cos θ with red. "
            f"It follows the identity (dashed) up to a = {a:.2f} ({_angle(a):.0f}°), then bends down to "
            f"b = {b:.2f} at d = 1: exact red is rotated to {_angle(b):.0f}° from the red direction, leaving a "
            f"hole of half-angle {_angle(b):.0f}° around it. "
            + (f"For example {moves}. " if moves else "")
            + hemisphere_note(intervention)
        ).rstrip()
    raise TypeError(f"only suppression and repulsion have a mapping curve, not {type(intervention).__name__}")


def mapping_chart(
    intervention: Suppression | Repulsion, title: str | None = None, width: int = 360, height: int = 260
) -> tuple[alt.LayerChart, str]:
    """The intervention's curve against alignment d = cos θ, with a and b marked and angles on the axis.

    Suppression: the gate g(d) (0 = untouched, 1 = red component removed). Repulsion: the output alignment
    with the identity dashed for reference; the gap between them is how far a latent is rotated.
    """
    frame = mapping_frame(intervention)
    text = mapping_description(intervention)
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    angle_label = "format(datum.value, '.2~f') + ' (' + format(acos(datum.value) * 180 / PI, '.0f') + '°)'"
    x = alt.X(
        "d:Q",
        title="alignment d = cos θ (angle from red)",
        scale=alt.Scale(domain=[0, 1], nice=False),
        axis=alt.Axis(values=ticks, labelExpr=angle_label, labelOverlap=False),
    )
    is_suppression = isinstance(intervention, Suppression)
    y_title = "gate g(d)" if is_suppression else "output alignment (angle)"
    y_axis = alt.Axis(values=ticks) if is_suppression else alt.Axis(values=ticks, labelExpr=angle_label)
    y = alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=[0, 1], nice=False), axis=y_axis)
    tooltip = [
        alt.Tooltip("d:Q", title="d", format=".3f"),
        alt.Tooltip("angle:Q", title="angle (°)", format=".1f"),
        alt.Tooltip("y:Q", title="gate" if is_suppression else "output d", format=".3f"),
    ]
    curve = alt.Chart(frame).mark_line(strokeWidth=2.5, color="#d62728").encode(x=x, y=y, tooltip=tooltip)
    layers = []
    if is_suppression:
        a, b = intervention.falloff.a, intervention.falloff.b
        points = pd.DataFrame({"d": [a, 1.0], "y": [0.0, b], "label": [f"a = {a:.2f}", f"b = {b:.2f}"]})
    else:
        a, b = intervention.mapper.a, intervention.mapper.b
        points = pd.DataFrame({"d": [a, 1.0], "y": [a, b], "label": [f"(a, a), a = {a:.2f}", f"(1, b), b = {b:.2f}"]})
        identity = pd.DataFrame({"d": [0.0, 1.0], "y": [0.0, 1.0]})
        layers.append(
            alt.Chart(identity).mark_line(strokeDash=[5, 4], color="gray", strokeWidth=1.5).encode(x="d:Q", y="y:Q")
        )
    rules = alt.Chart(pd.DataFrame({"d": [a]})).mark_rule(strokeDash=[2, 3], color="gray").encode(x="d:Q")
    hrule = alt.Chart(pd.DataFrame({"y": [b]})).mark_rule(strokeDash=[2, 3], color="gray").encode(y="y:Q")
    dots = (
        alt.Chart(points)
        .mark_point(filled=True, size=70, color="#d62728")
        .encode(x="d:Q", y="y:Q", tooltip=["label:N"])
    )
    # The (a, .) label sits right of its point (clear of the y axis), the (1, b) label left of it (clear of the
    # frame); mid grey reads on both themes, where Vega's default black text would vanish on the dark one.
    labels = [
        alt.Chart(points.iloc[[i]])
        .mark_text(align=align, dx=dx, dy=-10, fontSize=12, color=NEUTRAL_INK)
        .encode(x="d:Q", y="y:Q", text="label:N")
        for i, align, dx in ((0, "left", 8), (1, "right", -8))
    ]
    chart = alt.layer(rules, hrule, *layers, curve, dots, *labels).properties(
        width=width, height=height, title=title or "", description=text
    )
    return chart, text


# --------------------------------------------------------------------------------------------------
# Angle from red, before and after an intervention (the hole without the 3-D view's projection)

HOLE_INK = "#ffc828"  # the 3-D view's hole color (latents3d.CONE_COLORS["hole"])
CONE_INKS = {"cone": NEUTRAL_INK, "hole": HOLE_INK}


ANGLE_STRIP_COLORS = 1500  # colors drawn in the angle strips: enough to see the hole, small enough to send


def angle_shift_frame(
    before: Evaluation, after: Evaluation, max_colors: int = ANGLE_STRIP_COLORS, tolerance_deg: float = 0.05
) -> pd.DataFrame:
    """Long table (row 'before' or 'after', angle from red, true color, jitter) of the RGB-grid colors whose latent
    the intervention turned; at most `max_colors` of them, evenly spaced through the grid, so the chart stays
    small. A latent shortened to length 0 has no angle after and is left out of the 'after' row."""
    a0, a1 = _angle_from_red(before.latents), _angle_from_red(after.latents)
    moved = np.flatnonzero(~np.isfinite(a1) | (np.abs(a1 - a0) > tolerance_deg))
    if moved.size > max_colors:
        moved = moved[np.linspace(0, moved.size - 1, max_colors).round().astype(int)]
    hexes = colors.to_hex(np.asarray(before.rgb_true)[moved])
    jitter = (np.arange(moved.size) * 0.6180339887) % 1.0  # evenly spread, the same on every run
    rows = [
        pd.DataFrame({"row": row, "angle": np.round(angles[moved], 1), "color": hexes, "jitter": np.round(jitter, 3)})
        for row, angles in (("before", a0), ("after", a1))
    ]
    frame = pd.concat(rows, ignore_index=True)
    return frame[np.isfinite(frame["angle"])].reset_index(drop=True)


def angle_shift_description(before: Evaluation, after: Evaluation, name: str, cones: Mapping[str, float]) -> str:
    """The hole (or the squash) in numbers, from every color, not just the ones the chart draws."""
    a0, a1 = _angle_from_red(before.latents), _angle_from_red(after.latents)
    n = len(a0)
    moved = int((~np.isfinite(a1) | (np.abs(a1 - a0) > 0.05)).sum())
    lost = int((~np.isfinite(a1)).sum())
    parts = [
        f"Angle from red of each color's latent before (top row) and after (bottom row) the {name}, for the "
        f"{moved:,} of {n:,} RGB-grid colors it turns ({min(moved, ANGLE_STRIP_COLORS):,} drawn), each dot in its "
        "true color."
    ]
    if lost:
        parts.append(f"{lost:,} latents are squashed to length 0 and have no angle left.")
    hole = cones.get("hole")
    closest = float(np.nanmin(a1)) if np.isfinite(a1).any() else float("nan")
    if hole is not None:
        inside0, inside1 = int((a0 < hole).sum()), int((a1 < hole - 1e-6).sum())
        parts.append(
            f"Before, {inside0:,} latents lay within the hole's {hole:.0f}° of red; after, {inside1:,} do (the closest "
            f"is {closest:.1f}° away)" + (": the hole is empty." if inside1 == 0 else ".")
        )
        if inside1 == 0:
            parts.append(
                "In the 3-D view some dots seem to sit inside the yellow cone: it shows three of the four dimensions, "
                "tilted, so a latent turned away from red along the hidden dimension is drawn near the red axis. "
                "These angles are measured in all four dimensions."
            )
    else:
        short = int((np.linalg.norm(np.asarray(after.latents, dtype=float), axis=1) < 0.5).sum())
        parts.append(
            f"Closest to red before: {np.nanmin(a0):.1f}°; after: {closest:.1f}°. Suppression does not turn latents: "
            f"it shortens their red part, which tilts them away from red too; {short:,} end shorter than 0.5."
        )
    return " ".join(parts)


def angle_shift_chart(
    evaluations: Mapping[str, Evaluation], cones: Mapping[str, float] | None = None, width: int = 340, height: int = 190
) -> tuple[alt.LayerChart, str]:
    """Two strips of dots, each color's angle from red before and after an intervention, in its true color.

    `evaluations` is {"baseline": ..., name: ...} (the page's caches.figure passes a dict of evaluations); `cones`
    the intervention's cones (half-angles in degrees), drawn as rules. A repulsion's hole shows as an empty stretch
    of the 'after' strip, measured in all four dimensions: no projection can put a dot inside it.
    """
    (before, after), name = list(evaluations.values())[:2], list(evaluations)[1]
    cones = dict(cones or {})
    frame = angle_shift_frame(before, after)
    text = angle_shift_description(before, after, name, cones)
    x = alt.X(
        "angle:Q",
        title="angle from red (°)",
        scale=alt.Scale(domain=[0, 180], nice=False),
        axis=alt.Axis(values=list(range(0, 181, 30))),
    )
    y = alt.Y("row:N", title=None, sort=["before", "after"], axis=alt.Axis(labelPadding=4))
    dots = (
        alt.Chart(frame)
        .mark_circle(size=12, opacity=0.9, stroke=NEUTRAL_INK, strokeWidth=0.2)
        .encode(
            x=x,
            y=y,
            yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[0, 1])),
            fill=alt.Fill("color:N", scale=None),
            tooltip=[alt.Tooltip("color:N", title="true color"), alt.Tooltip("angle:Q", format=".1f", title="°")],
        )
    )
    marks = pd.DataFrame(
        [{"angle": cones[k], "label": f"{k} {cones[k]:.0f}°", "ink": ink} for k, ink in CONE_INKS.items() if k in cones]
    )
    rules, labels = [], []
    if len(marks):
        rules = [
            alt.Chart(marks)
            .mark_rule(strokeDash=[4, 3], strokeWidth=2)
            .encode(x="angle:Q", color=alt.Color("ink:N", scale=None), tooltip=["label:N"])
        ]
        # the label sits just above the plot, left of its rule, in ink that reads on both themes
        labels = [
            alt.Chart(marks)
            .mark_text(align="right", dx=-4, dy=-6, baseline="bottom", fontSize=11, color=NEUTRAL_INK)
            .encode(x="angle:Q", y=alt.value(0), text="label:N")
        ]
    chart = alt.layer(*rules, dots, *labels).properties(width=width, height=height, description=text)
    return chart, text


# --------------------------------------------------------------------------------------------------
# Named colors


def _named_errors(run: Evaluation | Mapping[str, float]) -> Mapping[str, float]:
    return run.named_error if isinstance(run, Evaluation) else run


def named_colors_frame(runs: Mapping[str, Evaluation | Mapping[str, float]]) -> pd.DataFrame:
    """One row per named color (red, orange, ... pink), with its hue, hex swatch and one error column
    per run. A plain frame so a page can also show it as a table (e.g. style the 'swatch' column)."""
    names, hsv, rgb = colors.named_colors()
    frame = pd.DataFrame({"color": list(names), "hue": hsv[:, 0] * 360.0, "swatch": colors.to_hex(rgb)})
    for label, run in runs.items():
        errors = _named_errors(run)
        frame[label] = [float(errors[n]) for n in names]
    return frame


def named_colors_description(runs: Mapping[str, Evaluation | Mapping[str, float]]) -> str:
    frame = named_colors_frame(runs)
    parts = [
        f"Reconstruction error of the 12 named hues (S = V = 1) for {', '.join(runs)}, "
        "one row per hue with its swatch, cells colored on a log scale."
    ]
    for label in runs:
        col = frame[label]
        if not np.isfinite(col).all():  # a diverged model
            parts.append(f"{label}: {(~np.isfinite(col)).sum()} of {len(col)} errors are not numbers (diverged).")
            continue
        visible = frame[col > VISIBLE_ERROR].sort_values(label, ascending=False)
        if visible.empty:
            worst = frame.loc[col.idxmax()]
            parts.append(f"{label}: none visibly wrong (largest {worst['color']}, {fmt(worst[label])}).")
            continue
        listed = ", ".join(f"{r['color']} ({fmt(r[label])})" for _, r in visible.iterrows())
        rest = len(frame) - len(visible)
        tail = ""
        if rest == 1:
            tail = f"; the remaining one stays below {fmt(VISIBLE_ERROR)}"
        elif rest > 1:
            tail = f"; the other {rest} stay below {fmt(VISIBLE_ERROR)}"
        parts.append(f"{label}: visibly wrong {listed}{tail}.")
    return " ".join(parts)


def named_colors_chart(
    runs: Mapping[str, Evaluation | Mapping[str, float]], title: str | None = None, cell: int = 22
) -> tuple[alt.HConcatChart, str]:
    """A heatmap of error (log color scale) with one row per named color and one column per run, led by a
    swatch column in the color's literal hex so the row's color is seen, not read."""
    frame = named_colors_frame(runs)
    text = named_colors_description(runs)
    labels = list(runs)
    long = frame.melt(id_vars=["color", "hue", "swatch"], value_vars=labels, var_name="run", value_name="error")
    long["plotted"] = _log_safe(long["error"])
    long["text"] = [fmt(e) for e in long["error"]]
    lo, hi = np.log10(long["plotted"].min()), np.log10(long["plotted"].max())
    position = (np.log10(long["plotted"]) - lo) / max(hi - lo, 1e-12)
    long["light_cell"] = position > 0.6  # viridis: dark at the low end, light at the top
    order = list(frame["color"])
    y = alt.Y("color:N", sort=order, title=None)
    swatches = (
        alt.Chart(frame)
        .mark_rect(stroke="gray", strokeWidth=0.5)
        .encode(
            y=y,
            color=alt.Color("swatch:N", scale=None),
            tooltip=[alt.Tooltip("color:N"), alt.Tooltip("swatch:N", title="hex"), alt.Tooltip("hue:Q", format=".0f")],
        )
        .properties(width=cell, height=alt.Step(cell))
    )
    base = alt.Chart(long).encode(
        x=alt.X(  # every run named, in a column narrow enough for a phone
            "run:N",
            sort=labels,
            title=None,
            axis=alt.Axis(orient="top", labelAngle=0, labelOverlap=False, labelFontSize=10),
        ),
        y=alt.Y("color:N", sort=order, title=None, axis=alt.Axis(labels=False, ticks=False, domain=False)),
    )
    heat = base.mark_rect().encode(
        color=alt.Color(
            "plotted:Q",
            title="error",
            scale=alt.Scale(type="log", scheme="viridis"),
            legend=alt.Legend(format=".0e", orient="bottom"),  # below: the table fits a 390 px phone
        ),
        tooltip=[
            alt.Tooltip("color:N"),
            alt.Tooltip("run:N"),
            alt.Tooltip("error:Q", format=".2e"),
        ],
    )
    values = base.mark_text(fontSize=11).encode(
        text="text:N", color=alt.condition("datum.light_cell", alt.value("#000000"), alt.value("#ffffff"))
    )
    table = alt.layer(heat, values).properties(width=alt.Step(cell * 3), height=alt.Step(cell))
    chart = (
        alt.hconcat(swatches, table, spacing=4)
        .resolve_scale(color="independent")  # literal swatch colors must not merge with the error scale
        .properties(title=title or "", description=text)
    )
    return chart, text


SELECTIVITY_DEFINITION = (
    "Selectivity r is the correlation, over the 8,000 colors of a 20 × 20 × 20 RGB grid, between a color's error and "
    "its squared similarity to pure red (in hue, saturation and value): near 1 when the damage falls on red and its "
    "close neighbours only. Without an intervention it only says where the model's small errors happen to fall."
)
ANCHOR_LANDMARKS = {"black": (0, 0, 0), "white": (1, 1, 1), "yellow": (1, 1, 0), "green": (0, 1, 0),
                    "cyan": (0, 1, 1), "blue": (0, 0, 1), "magenta": (1, 0, 1)}  # fmt: skip


def _grid_index(rgb: np.ndarray, color: tuple[float, float, float]) -> int | None:
    hit = np.flatnonzero(np.all(np.isclose(np.asarray(rgb, dtype=float), color, atol=1e-6), axis=1))
    return int(hit[0]) if hit.size else None


def _angle_from_red(z: np.ndarray) -> np.ndarray:
    """Degrees between each latent and the red direction c = (1, 0, 0, 0), whatever the latent's length."""
    z = np.atleast_2d(np.asarray(z, dtype=float))
    length = np.linalg.norm(z, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.degrees(np.arccos(np.clip(z[:, 0] / length, -1.0, 1.0)))


def tone(rgb) -> str:
    """A plain name for a reconstructed color: 'dark red', 'pale red', 'grey', 'near black'."""
    h, sat, val = colors.rgb_to_hsv(np.clip(np.asarray(rgb, dtype=float), 0, 1))
    if val < 0.15:
        return "near black"
    if sat < 0.15:
        return "white" if val > 0.9 else "grey"
    return ("dark " if val < 0.6 else "") + ("pale " if sat < 0.6 else "") + hue_name(h * 360)


def pure_red_after(baseline, after) -> str:
    """'#790000 (dark red)': what pure red of the RGB grid comes back as under an intervention."""
    i = _grid_index(baseline.rgb_true, (1, 0, 0))
    if i is None:
        return "n/a"
    return f"{colors.to_hex(np.asarray(after.rgb_out[i]))} ({tone(after.rgb_out[i])})"


def repulsion_red_note(baseline, repelled) -> str:
    """Why repulsion turns pure red the color it does (dark red on seed 0; the notebook saw pink).

    Repulsion rotates a latent z within the plane of c and z's own off-red part u, to alignment t = mapper(d). So
    red lands on the side it already leaned toward: the answer depends on where this model put pure red. Both
    arguments need .latents, .rgb_true and .rgb_out on the RGB grid (an Evaluation, or anything shaped like one).
    """
    i = _grid_index(baseline.rgb_true, (1, 0, 0))
    if i is None:
        return ""
    z = np.asarray(baseline.latents[i], dtype=float)
    z = z / np.linalg.norm(z)
    lean = z.copy()
    lean[0] = 0.0
    out_hex = str(colors.to_hex(np.asarray(repelled.rgb_out[i])))
    head = f"Pure red comes back as {out_hex}, {tone(repelled.rgb_out[i])}, under repulsion."
    if np.linalg.norm(lean) < 1e-6:
        return head + " This model put pure red exactly on c, so repulsion may turn it any way."
    lean /= np.linalg.norm(lean)
    toward, cosine = None, -2.0
    for name, color in ANCHOR_LANDMARKS.items():
        j = _grid_index(baseline.rgb_true, color)
        if j is None:
            continue
        other = np.asarray(baseline.latents[j], dtype=float).copy()
        other[0] = 0.0
        if np.linalg.norm(other) > 1e-6 and float(lean @ other / np.linalg.norm(other)) > cosine:
            toward, cosine = name, float(lean @ other / np.linalg.norm(other))
    after = float(_angle_from_red(repelled.latents[i])[0])
    text = (
        f"{head} Repulsion turns each latent away from red within the plane of c and the latent's own off-red lean, "
        f"so red ends up on whichever side this model tilted it. Here pure red sits {_angle_from_red(z)[0]:.1f}° "
        f"from c"
    )
    if toward is not None:
        text += f", tilted toward where the model keeps {toward} (cosine {cosine:.2f} between their off-red parts)"
    color = tone(repelled.rgb_out[i])
    text += f"; turned to {after:.0f}° from c along that tilt, it decodes as {color}."
    if "pale" in color:
        return text + " The notebook's red came back pink too."
    return text + " The notebook's red came back pink instead: a tilt toward white would do that."


def ablation_note(baseline, ablated) -> str:
    """Which named hue ablation breaks most, and why cyan suffers with red: dimension 0 is the red–cyan axis."""
    errors = _named_errors(ablated)
    order = sorted(errors, key=errors.get, reverse=True)
    first, second = order[0], order[1]
    text = f"Ablation's worst named hue is {first} ({fmt(errors[first])}), then {second} ({fmt(errors[second])})"
    j = _grid_index(baseline.rgb_true, (0, 1, 1))
    if j is None or "cyan" not in (first, second):
        return text + "."
    cyan = float(_angle_from_red(baseline.latents[j])[0])
    where = "almost exactly at −c" if cyan >= 150 else "on the far side of the sphere" if cyan > 90 else "beside red"
    return (
        f"{text}: deleting dimension 0 deletes the whole red–cyan axis, not just red. This model keeps cyan "
        f"{cyan:.0f}° from red, {where}: its unit latent's dimension 0 is {math.cos(math.radians(cyan)):+.2f}, and "
        "ablation zeroes it."
    )


def is_notebook_setting(intervention) -> bool:
    """Whether an intervention has the notebook's settings (SPEC §6), so its numbers compare with NOTEBOOK:
    suppression (a, b, p) = (0, 1, 2), repulsion (a, b) = (0, cos 60°). The baseline (None) always does."""
    if intervention is None:
        return True
    if isinstance(intervention, Suppression):
        f = intervention.falloff
        return bool(np.allclose([f.a, f.b, f.p], [0.0, 1.0, 2.0]))
    if isinstance(intervention, Repulsion):
        m = intervention.mapper
        return bool(np.allclose([m.a, m.b], [0.0, 0.5]))
    return False


def notebook_reference(placement: str, run: str, stat: str, intervention=None) -> str:
    """'Notebook: 0.0011 (one seed of the original pipeline)' for a headline metric, or '' when the notebook
    reported no such number (another design, ablation, or an intervention with other settings than its own)."""
    numbers = NOTEBOOK.get((placement, run))
    if numbers is None or stat not in numbers or not is_notebook_setting(intervention):
        return ""
    return f"Notebook: {fmt(numbers[stat])} ({NOTEBOOK_SOURCE})"


def error_summary(ev: Evaluation, label: str = "") -> str:
    """'max error 0.16, median 2.0e-5' over the dense grid, plus selectivity when it is defined."""
    prefix = f"{label}: " if label else ""
    text = f"{prefix}max error {fmt(ev.max_error)}, median {fmt(ev.median_error)} over the dense grid"
    if np.isfinite(ev.selectivity):
        text += f", selectivity r = {ev.selectivity:.2f}"
    return text + "."
