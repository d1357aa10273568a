"""How a class voted on a question: a small bar chart (counts and shares, the measured answer marked) and its
description, built from the counts alone. No Streamlit here; excolor.app.classroom draws it.

The chart is one bar per answer, all answers listed (zero votes too, so an empty class reads as empty, not as
missing). Its width follows the container, so it fits a 390 px phone as well as a projector.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

MEASURED_COLOR = "#009E73"  # Okabe-Ito green: the answer the measurement gave
OTHER_COLOR = "#8A8A8A"  # mid grey: legible on Streamlit's light and dark backgrounds
BAR_PX = 34  # height per answer


def tally_frame(counts: Mapping[str, int], labels: Mapping[str, str], measured: str | None) -> pd.DataFrame:
    """One row per answer in `labels` order: count, share of the votes, the text drawn at the bar's end, and the
    axis label (the measured answer's starts with ✓)."""
    total = sum(counts.get(a, 0) for a in labels)
    rows = []
    for answer, label in labels.items():
        n = int(counts.get(answer, 0))
        share = n / total if total else 0.0
        right = answer == measured
        shown = f"✓ {label}" if right else label  # the axis label: the mark stays readable however narrow
        rows.append(
            {
                "answer": label,
                "shown": shown,
                "votes": n,
                "share": share,
                "text": f"{n} · {share:.0%}",
                "measured": right,
            }
        )
    return pd.DataFrame(rows)


def tally_chart(
    counts: Mapping[str, int], labels: Mapping[str, str], measured: str | None, code: str
) -> tuple[alt.LayerChart, str]:
    """Horizontal bars of the class's votes per answer; the measured answer's bar green, its label marked ✓."""
    frame = tally_frame(counts, labels, measured)
    top = max(1, int(frame["votes"].max()))
    y = alt.Y(
        "shown:N",
        sort=list(frame["shown"]),
        title=None,
        scale=alt.Scale(paddingInner=0.35),
        axis=alt.Axis(labelLimit=140, labelFontSize=12),
    )
    x = alt.X(
        "votes:Q",
        title="votes",
        scale=alt.Scale(domain=[0, top * 1.4]),  # room on the right for the count and share
        axis=alt.Axis(tickMinStep=1, format="d", values=list(range(0, top + 1, max(1, top // 4)))),
    )
    bars = (
        alt.Chart(frame)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=x,
            y=y,
            color=alt.condition("datum.measured", alt.value(MEASURED_COLOR), alt.value(OTHER_COLOR)),
            tooltip=[
                alt.Tooltip("answer:N"),
                alt.Tooltip("votes:Q"),
                alt.Tooltip("share:Q", format=".0%"),
            ],
        )
    )
    text = bars.mark_text(align="left", dx=5, fontSize=13, color=OTHER_COLOR).encode(text="text:N")
    # height as a step per answer: a fixed height is not kept for a band axis in a container-wide chart
    chart = (bars + text).properties(width="container", height=alt.Step(BAR_PX))
    return chart, tally_description(frame, code, measured is not None)


def tally_description(frame: pd.DataFrame, code: str, measured: bool) -> str:
    total = int(frame["votes"].sum())
    if total == 0:
        return f"Class {code}: no votes on this question yet."
    parts = [f"{row.answer}: {row.votes} ({row.share:.0%})" for row in frame.itertuples()]
    text = f"Class {code}, {total} vote{'s' if total != 1 else ''}. " + "; ".join(parts) + "."
    if measured:
        right = frame[frame["measured"]]
        n = int(right["votes"].sum())
        text += f" The measured answer (green, ✓) is {right['answer'].iloc[0]}: {n} of {total} predicted it."
    return text
