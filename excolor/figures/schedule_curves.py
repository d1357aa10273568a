"""The training schedule: the learning rate and the four regularizer weights against step, and its keyframes in
words."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ..schedule import PARAMS, Schedule
from ..text import capitalized, fmt, join
from .style import TERM_COLORS, TERM_NAMES, term_color_scale

# lr dashed; unitarity dotted, because in Ex 2.4 it follows exactly the same curve as planarity
SCHEDULE_DASHES = {"lr": [6, 3], "unit": [2, 3]}  # the rest solid


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
                scale=term_color_scale(terms),
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
                f"{capitalized(join(names))}{same}: " + ", ".join(f"{fmt(v)} at step {s:,}" for s, v in keys) + "."
            )
    landmarks = [s for s in (500, 2000) if s < schedule.steps]
    if landmarks:
        parts.append(
            "In between, e.g. learning rate "
            + " and ".join(f"{fmt(schedule.value('lr', s))} at step {s:,}" for s in landmarks)
            + "."
        )
    return " ".join(parts)
