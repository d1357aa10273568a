"""Altair chart builders for the app's figures, each paired with a text description of what it shows.

Pages only lay out: they call a builder here and pass the chart to ``st.altair_chart(chart, theme="streamlit")``
and the text to a caption (or alt text). The text is computed from the same numbers as the chart, so a
student who cannot see the figure (or a teacher reading it aloud) gets the finding, not just "a chart".

Colors that *are* data (a swatch, a named hue) are literal hex strings with ``scale=None``: red must be
red whatever the theme. Colors that only tell series apart are chosen to stay legible on both the light
and the dark Streamlit background. Nothing here imports Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import altair as alt
import numpy as np
import pandas as pd
import torch

from .. import colors
from ..evaluate import Curves, Evaluation
from ..interventions import Repulsion, Suppression

# An error this large is a visible difference: RMS 0.032 per channel is about 8 of 255 levels.
VISIBLE_ERROR = 1e-3
# Value levels in the error-vs-hue panel: brightest level in the strongest blue. Blues between relative
# luminance ~0.1 and ~0.45 stay legible on the white and on the near-black Streamlit background.
VALUE_BLUES = ["#1565c0", "#1e88e5", "#42a5f5", "#64b5f6", "#90caf9", "#bbdefb"]
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


def _y_scale(log: bool) -> alt.Scale:
    return alt.Scale(type="log", domainMin=LOG_FLOOR) if log else alt.Scale(type="linear", zero=True)


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
    n_h = frame["hue"].nunique()
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
    panels = [SATURATION_PANEL_HEADER.format(fraction_label(s)) for s in sorted(frame["saturation"].unique())]
    chart = (
        alt.layer(outer, dot, data=frame)
        .properties(width=step * n_h, height=step * frame["value"].nunique())
        .facet(
            facet=alt.Facet("panel:N", sort=panels, title=None, header=alt.Header(labelFontWeight="bold")),
            columns=columns,
        )
        .properties(title=title or "", description=text)
    )
    return chart, text


# --------------------------------------------------------------------------------------------------
# The three error panels


def curves_frames(curves: Curves) -> dict[str, pd.DataFrame]:
    """Long-form frames for the three panels: 'hue' (one series per value), 'saturation' and 'value'
    (one series per hue). Each has columns x, series, error, plus the series' numeric key."""
    hue_rows = [
        pd.DataFrame({"x": curves.hue_deg, "series": f"V = {v:.2f}", "level": float(v), "error": row.astype(float)})
        for v, row in zip(curves.values, curves.by_hue, strict=True)
    ]
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
    text += f". The darkest line (V = {curves.values[dark]:.2f}) stays below {fmt(curves.by_hue[dark].max())}."
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


def error_curves_chart(
    curves: Curves, title: str | None = None, log: bool = False, panel_width: int = 170, height: int = 170
) -> tuple[alt.HConcatChart, str]:
    """The notebook's three panels side by side, on one shared error axis so their heights compare.

    Left: error vs hue for fully saturated colors, one line per value level (blues, strongest for V = 1).
    Middle and right: error vs saturation (V = 1) and vs value (S = 1), one line per hue, each drawn in its
    own hue (adjusted in lightness to read on both themes). `log=True` uses a log axis; errors of exactly 0
    (possible: the output is clamped) are drawn at 1e-7 there, while tooltips keep the true number.
    """
    frames = curves_frames(curves)
    text = curves_description(curves)
    for frame in frames.values():
        frame["plotted"] = _log_safe(frame["error"]) if log else frame["error"]
    y_title = "mean squared error" + (" (log)" if log else "")
    hue_domain = [_hue_label(h) for h in curves.hues_deg]
    value_domain = [f"V = {v:.2f}" for v in sorted(curves.values, reverse=True)]
    widths = list(np.linspace(2.4, 1.2, len(value_domain)))
    hue_range = [line_color(h) for h in curves.hues_deg]
    error_tip = alt.Tooltip("error:Q", title="error", format=".2e")

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
            y=alt.Y("plotted:Q", title=y_title, scale=_y_scale(log), axis=_y_axis(log)),
            color=alt.Color(
                "series:O",
                title="value (S = 1)",
                scale=alt.Scale(domain=value_domain, range=VALUE_BLUES[: len(value_domain)]),
                legend=alt.Legend(orient="bottom", direction="vertical"),
            ),
            strokeWidth=alt.StrokeWidth("series:O", scale=alt.Scale(domain=value_domain, range=widths), legend=None),
            tooltip=[
                alt.Tooltip("x:Q", title="hue (°)", format=".1f"),
                alt.Tooltip("series:N", title="value"),
                error_tip,
            ],
        )
        .properties(width=panel_width, height=height, title="error vs hue")
    )

    def hue_lines(key: str, other: str, show_legend: bool) -> alt.Chart:
        legend = alt.Legend(orient="bottom", direction="vertical", columns=2) if show_legend else None
        return (
            alt.Chart(frames[key])
            .mark_line(strokeWidth=2)
            .encode(
                x=alt.X("x:Q", title=key, scale=alt.Scale(domain=[0, 1], nice=False)),
                y=alt.Y("plotted:Q", title=None, scale=_y_scale(log), axis=_y_axis(log)),
                color=alt.Color(
                    "series:N", title="hue", scale=alt.Scale(domain=hue_domain, range=hue_range), legend=legend
                ),
                tooltip=[
                    alt.Tooltip("x:Q", title=key, format=".2f"),
                    alt.Tooltip("series:N", title="hue"),
                    error_tip,
                ],
            )
            .properties(width=panel_width, height=height, title=f"error vs {key} ({other})")
        )

    chart = (
        alt.hconcat(hue_panel, hue_lines("saturation", "V = 1", True), hue_lines("value", "S = 1", False))
        .resolve_scale(y="shared", color="independent")
        .properties(title=title or "", description=text)
    )
    return chart, text


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


def mapping_description(intervention: Suppression | Repulsion) -> str:
    if isinstance(intervention, Suppression):
        a, b, p = intervention.falloff.a, intervention.falloff.b, intervention.falloff.p
        mid = float(intervention.falloff(torch.tensor([0.5], dtype=torch.float64))[0])
        return (
            f"Suppression gate g(d) = b((d − a)/(1 − a))^p against alignment d = cos θ with red. "
            f"It is 0 up to a = {a:.2f} (latents more than {_angle(a):.0f}° from red are left alone) and rises "
            f"to b = {b:.2f} at d = 1 (exact red, whose red component is {'removed' if b >= 1 else 'scaled by'}"
            f"{'' if b >= 1 else f' {1 - b:.2f}'}). With p = {p:g} the rim is "
            f"{'soft' if p > 1 else 'sharp' if p < 1 else 'linear'}: at d = 0.5 (60°) the gate is {fmt(mid)}."
        )
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
            f"hole of half-angle {_angle(b):.0f}° around it. " + (f"For example {moves}." if moves else "")
        )
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
        x=alt.X("run:N", sort=labels, title=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("color:N", sort=order, title=None, axis=alt.Axis(labels=False, ticks=False, domain=False)),
    )
    heat = base.mark_rect().encode(
        color=alt.Color(
            "plotted:Q",
            title="error",
            scale=alt.Scale(type="log", scheme="viridis"),
            legend=alt.Legend(format=".0e", orient="right"),
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
    table = alt.layer(heat, values).properties(width=alt.Step(cell * 4), height=alt.Step(cell))
    chart = (
        alt.hconcat(swatches, table, spacing=4)
        .resolve_scale(color="independent")  # literal swatch colors must not merge with the error scale
        .properties(title=title or "", description=text)
    )
    return chart, text


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
