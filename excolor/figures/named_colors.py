"""The 12 named hues (S = V = 1): a table of their errors, one column per run, led by each hue's own swatch."""

from __future__ import annotations

import json
from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from .. import colors, cvd
from ..evaluate import VISIBLE_ERROR, Evaluation
from ..text import fmt
from .style import decades_within, log_safe


def named_errors(run: Evaluation | Mapping[str, float]) -> Mapping[str, float]:
    """A run's error per named hue: an Evaluation's, or a plain {name: error} as given."""
    return run.named_error if isinstance(run, Evaluation) else run


def named_colors_frame(runs: Mapping[str, Evaluation | Mapping[str, float]]) -> pd.DataFrame:
    """One row per named color (red, orange, ... pink), with its hue, hex swatch and one error column
    per run. A plain frame so a page can also show it as a table (e.g. style the 'swatch' column)."""
    names, hsv, rgb = colors.named_colors()
    frame = pd.DataFrame({"color": list(names), "hue": hsv[:, 0] * 360.0, "swatch": colors.to_hex(rgb)})
    for label, run in runs.items():
        errors = named_errors(run)
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
    runs: Mapping[str, Evaluation | Mapping[str, float]],
    title: str | None = None,
    cell: int = 22,
    lens: str | None = None,
) -> tuple[alt.HConcatChart, str]:
    """A heatmap of error (log color scale) with one row per named color and one column per run, led by a
    swatch column in the color's literal hex so the row's color is seen, not read (through `lens`, cvd.KINDS,
    as that viewer sees it; the text is the true colors' in any case)."""
    frame = named_colors_frame(runs)
    text = named_colors_description(runs)
    order = list(frame["color"])
    chart = (
        alt.hconcat(_swatch_column(frame, order, cell, lens), _error_table(frame, list(runs), order, cell), spacing=4)
        .resolve_scale(color="independent")  # literal swatch colors must not merge with the error scale
        .properties(title=title or "", description=text)
    )
    return chart, text


def _swatch_column(frame: pd.DataFrame, order: list[str], cell: int, lens: str | None = None) -> alt.Chart:
    tooltip = [alt.Tooltip("color:N"), alt.Tooltip("swatch:N", title="hex"), alt.Tooltip("hue:Q", format=".0f")]
    frame = frame[["color", "hue", "swatch"]].assign(seen=cvd.simulate_hex(frame["swatch"], lens))
    if lens is not None:
        tooltip.append(alt.Tooltip("seen:N", title=f"hex as seen ({lens})"))
    return (
        alt.Chart(frame)
        .mark_rect(stroke="gray", strokeWidth=0.5)
        .encode(y=alt.Y("color:N", sort=order, title=None), color=alt.Color("seen:N", scale=None), tooltip=tooltip)
        .properties(width=cell, height=alt.Step(cell))
    )


def _error_table(frame: pd.DataFrame, labels: list[str], order: list[str], cell: int) -> alt.LayerChart:
    """One cell per (named color, run), colored by error on a log scale, its value written in ink that reads."""
    long = frame.melt(id_vars=["color", "hue", "swatch"], value_vars=labels, var_name="run", value_name="error")
    long["plotted"] = log_safe(long["error"])
    long["text"] = [fmt(e) for e in long["error"]]
    lo, hi = np.log10(long["plotted"].min()), np.log10(long["plotted"].max())
    position = (np.log10(long["plotted"]) - lo) / max(hi - lo, 1e-12)
    long["light_cell"] = position > 0.6  # viridis: dark at the low end, light at the top
    base = _error_wire_chart(long, labels, order).encode(
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
            legend=alt.Legend(  # below: the table fits a 390 px phone; ticked at decades, as every log axis is
                format=".0e", orient="bottom", values=decades_within(long["plotted"].min(), long["plotted"].max())
            ),
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
    return alt.layer(heat, values).properties(width=alt.Step(cell * 3), height=alt.Step(cell))


def _error_wire_chart(long: pd.DataFrame, labels: list[str], order: list[str]) -> alt.Chart:
    """The error table as sent: the color's and run's index (uint8, their names computed in the chart), error and
    plotted as float32 (the tooltip shows 3 digits), the written value and its ink; ~3 KB instead of ~7 KB."""
    wire = pd.DataFrame(
        {
            "c": np.array([order.index(c) for c in long["color"]], dtype=np.uint8),
            "r": np.array([labels.index(r) for r in long["run"]], dtype=np.uint8),
            "error": long["error"].to_numpy(dtype=np.float32),
            "plotted": long["plotted"].to_numpy(dtype=np.float32),
            "text": long["text"],
            "light_cell": long["light_cell"],
        }
    )
    return alt.Chart(wire).transform_calculate(
        color=f"{json.dumps(order)}[datum.c]", run=f"{json.dumps(labels)}[datum.r]"
    )
