"""Swatches: the true and the reconstructed color side by side, one panel per saturation level.

A good model shows solid squares; a failure shows a dot of one color inside another. The text names the
swatches that differ visibly, from the same numbers as the chart.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .. import colors, cvd
from ..evaluate import VISIBLE_ERROR, Evaluation
from ..text import fmt
from .style import color_codes, describe_color, fraction_label, hex_expr, hue_name, hue_order

SATURATION_PANEL_HEADER = "S = {}"


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
            names = sorted({hue_name(h) for h in chromatic["hue"]}, key=hue_order)
            where = f", at hues named {', '.join(names)}"
    greys = int(((visible["saturation"] == 0) | (visible["value"] == 0)).sum())
    grey_text = f" ({greys} of them grey or black)" if greys else ""
    return head + (
        f"{len(visible)} of {n} swatches differ visibly (error above {fmt(VISIBLE_ERROR)}){grey_text}{where}. "
        f"Largest differences: {worst_text}."
    )


def swatch_chart(
    ev: Evaluation,
    title: str | None = None,
    step: int = 13,
    columns: int = 2,
    inner: float = 0.45,
    lens: str | None = None,
) -> tuple[alt.FacetChart, str]:
    """Four panels of swatches (one per saturation), value down and hue across.

    The outer square of a cell is the reconstruction and the inner square the truth, so a good model shows
    solid squares and a failure shows a dot of one color inside another. `step` is the cell size in pixels,
    `inner` the inner square's side as a fraction of it; two panels per row keep cells large enough to see.
    `lens` (cvd.KINDS) draws the colors as that viewer sees them; the text is the true colors' in any case.
    """
    frame = swatch_frame(ev)
    text = swatch_description(ev)
    chart = (
        _swatch_cells(_swatch_wire(ev, lens), ev.swatch_error.shape, step, inner)
        .properties(width=step * frame["hue"].nunique(), height=step * frame["value"].nunique())
        .facet(
            facet=alt.Facet(
                "panel:N", sort=_swatch_panel_names(frame), title=None, header=alt.Header(labelFontWeight="bold")
            ),
            columns=columns,
        )
        .transform_calculate(panel=_panel_expr(frame))
        .properties(title=title or "", description=text)
    )
    return chart, text


def swatch_panels(
    ev: Evaluation, step: int = 13, inner: float = 0.45, lens: str | None = None
) -> tuple[list[alt.LayerChart], str]:
    """The four panels of swatch_chart as four charts, each as wide as its container (cells stretch across,
    `step` px tall), for a page to lay out in columns: two by two on a wide screen, one under the other on a phone.
    """
    frame = swatch_frame(ev)
    text = swatch_description(ev)
    wire = _swatch_wire(ev, lens)
    panels = [
        _swatch_cells(wire[wire["s"] == s].reset_index(drop=True), ev.swatch_error.shape, step, inner).properties(
            width="container", height=step * frame["value"].nunique(), title=name, description=text
        )
        for s, name in enumerate(_swatch_panel_names(frame))
    ]
    return panels, text


def _swatch_wire(ev: Evaluation, lens: str | None = None) -> pd.DataFrame:
    """swatch_frame as sent: grid indices (hue, saturation, value), color codes and the error (float32); 15 bytes
    a swatch instead of ~80. _swatch_cells computes hue, saturation, value, true and reconstructed back in the chart.
    With a lens, the colors as that viewer sees them too (ts, rs) and the seen true color's hue (sh, degrees)."""
    n_h, n_s, n_v = ev.swatch_error.shape
    hh, ss, vv = np.meshgrid(np.arange(n_h), np.arange(n_s), np.arange(n_v), indexing="ij")
    wire = pd.DataFrame(
        {
            "h": hh.ravel().astype(np.uint8),
            "s": ss.ravel().astype(np.uint8),
            "v": vv.ravel().astype(np.uint8),
            "t": color_codes(colors.to_hex(ev.swatch_true)),
            "r": color_codes(colors.to_hex(ev.swatch_out)),
            "error": ev.swatch_error.ravel().astype(np.float32),  # 7 digits: the tooltip shows 3
        }
    )
    if lens is not None:
        seen_true = cvd.simulate(ev.swatch_true, lens)
        wire["ts"] = color_codes(colors.to_hex(seen_true))
        wire["rs"] = color_codes(colors.to_hex(cvd.simulate(ev.swatch_out, lens)))
        wire["sh"] = cvd.hue_deg(seen_true).ravel().astype(np.uint16)
    return wire


def _panel_expr(frame: pd.DataFrame) -> str:
    """The Vega expression naming a swatch's saturation panel from its index."""
    return "[" + ", ".join(f"'{name}'" for name in _swatch_panel_names(frame)) + "][datum.s]"


def _swatch_panel_names(frame: pd.DataFrame) -> list[str]:
    return [SATURATION_PANEL_HEADER.format(fraction_label(s)) for s in sorted(frame["saturation"].unique())]


def _swatch_cells(wire: pd.DataFrame, shape: tuple[int, int, int], step: int, inner: float) -> alt.LayerChart:
    """The swatch cells of `wire` (_swatch_wire rows of a grid of `shape` hues, saturations, values): reconstruction
    as the cell, truth as a square of side `inner` × `step` px. The chart computes swatch_frame's columns back."""
    n_h, n_s, n_v = shape
    hue_ticks = [h for h in np.arange(n_h) * 360.0 / n_h if h % 60 == 0]
    lens = "ts" in wire.columns
    tooltip = [
        alt.Tooltip("hue:Q", title="hue (°)", format=".0f"),
        alt.Tooltip("saturation:Q", title="S", format=".2f"),
        alt.Tooltip("value:Q", title="V", format=".2f"),
        alt.Tooltip("true:N", title="true"),
        alt.Tooltip("reconstructed:N", title="reconstructed"),
        alt.Tooltip("error:Q", title="error", format=".2e"),
    ]
    seen = {"true": "true", "reconstructed": "reconstructed"}
    if lens:  # what the viewer sees, after the true readouts: the numbers stay the true colors'
        seen = {"true": "seen_true", "reconstructed": "seen_reconstructed"}
        tooltip += [
            alt.Tooltip("seen_true:N", title="true, as seen"),
            alt.Tooltip("sh:Q", title="hue as seen (°)"),
            alt.Tooltip("seen_reconstructed:N", title="reconstructed, as seen"),
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
    outer = base.mark_rect(stroke="#80808080", strokeWidth=0.5).encode(
        color=alt.Color(f"{seen['reconstructed']}:N", scale=None)
    )
    side = step * inner
    dot = base.mark_square(size=side * side, opacity=1, strokeWidth=0).encode(
        color=alt.Color(f"{seen['true']}:N", scale=None)
    )
    computed = {
        "hue": f"datum.h * 360 / {n_h}",
        "saturation": f"datum.s / {max(n_s - 1, 1)}",
        "value": f"round(datum.v / {max(n_v - 1, 1)} * 10000) / 10000",  # swatch_frame's 4 decimals
        "true": hex_expr("t"),
        "reconstructed": hex_expr("r"),
    }
    if lens:
        computed.update(seen_true=hex_expr("ts"), seen_reconstructed=hex_expr("rs"))
    return alt.layer(outer, dot, data=wire).transform_calculate(**computed)
