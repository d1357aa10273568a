"""Charts of a comparison across seeds: per-design distributions, paired differences (B − A), an overview.

Pure builders (no Streamlit), like every figure builder: the page lays them out and excolor.app.caches freezes
their specs.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .. import evidence as ev
from .. import verdicts
from ..measures import MEASURE_BY_KEY, MEASURES, value
from ..text import fmt, fmt_signed

SIDE_COLORS = {"a": "#E8873A", "b": "#4A8FD9"}  # A orange, B blue (pre-norm, post-norm by default): light and dark
NEUTRAL = "#8c8c8c"
FAVOUR_SHAPES = ("circle", "square", "triangle-up")  # a seed's favoured side by shape as well as color


def side_scale(names: dict[str, str]) -> alt.Scale:
    """Design names (pre-norm/post-norm, or A/B) to their side's color."""
    return alt.Scale(domain=[names["a"], names["b"]], range=[SIDE_COLORS["a"], SIDE_COLORS["b"]])


def axis(values: np.ndarray, **kwargs) -> alt.Axis:
    """Tick labels that stay short: 2.0e-5 for small numbers (and a plain 0), 0.12 for the rest."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size and finite.max() < 0.01:
        return alt.Axis(labelExpr="datum.value == 0 ? '0' : format(datum.value, '.1e')", **kwargs)
    return alt.Axis(format="~g", **kwargs)


def distribution_chart(rows: pd.DataFrame, key: str, names: dict[str, str]) -> alt.Chart:
    """Box plot per design, one dot per run, grey lines joining the two runs of each seed."""
    data = rows[rows["measure"] == key].dropna(subset=["value"])
    label = MEASURE_BY_KEY[key].label
    x = alt.X("design:N", sort=[names["a"], names["b"]], title=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("value:Q", title=label, scale=alt.Scale(zero=False), axis=axis(data["value"].to_numpy()))
    color = alt.Color("design:N", scale=side_scale(names), legend=None)
    base = alt.Chart(data)
    box = base.mark_boxplot(size=44, opacity=0.35, outliers=False, median={"strokeWidth": 2, "color": NEUTRAL}).encode(
        x=x, y=y, color=color
    )
    lines = base.mark_line(color=NEUTRAL, opacity=0.45, strokeWidth=1).encode(x=x, y=y, detail="seed:N")
    points = base.mark_circle(size=60, opacity=0.95).encode(
        x=x,
        y=y,
        color=color,
        tooltip=[
            alt.Tooltip("seed:N", title="seed"),
            alt.Tooltip("design:N"),
            alt.Tooltip("value:Q", title=label, format=".3~e"),
        ],
    )
    return (box + lines + points).properties(height=260)


def differences_chart(summary: dict, key: str) -> alt.Chart:
    """Each seed's B − A difference, with the median and its bootstrap interval, against zero."""
    m = summary["measures"][key]
    names = summary["names"]
    favour_colors = {
        names["b"]: SIDE_COLORS["b"],
        names["a"]: SIDE_COLORS["a"],
        "tie": NEUTRAL,
        "no better side": NEUTRAL,
    }
    d = np.asarray(m["differences"], dtype=float)
    if m["better"] is None:
        side = np.full(d.size, "no better side")
    else:
        b_better = d < 0 if m["better"] == "lower" else d > 0
        side = np.where(b_better, names["b"], np.where(d == 0, "tie", names["a"]))
    present = [f for f in favour_colors if f in set(side)]  # legend entries only for what is drawn
    seeds = np.asarray(m["seeds"], dtype=int)
    data = pd.DataFrame(
        {
            "seed": seeds,
            "difference": d,
            "favours": side,
            "row": ((seeds * 0.618034) % 1.0 - 0.5) * 0.6,  # a fixed jitter so equal values stay visible
        }
    )
    extent = np.concatenate([d, [v for v in m["ci"] if v is not None]])
    x = alt.X("difference:Q", title=f"{verdicts.difference_label(summary)}, {m['label']}", axis=axis(extent))
    y = alt.Y("row:Q", axis=None, scale=alt.Scale(domain=[-1, 1]))
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=70, opacity=0.95)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "favours:N",
                title="seed favours",
                scale=alt.Scale(domain=present, range=[favour_colors[f] for f in present]),
                legend=alt.Legend(orient="top") if m["better"] else None,
            ),
            shape=alt.Shape(  # which design a seed favours by shape too, in the same legend
                "favours:N",
                title="seed favours",
                scale=alt.Scale(
                    domain=present, range=[FAVOUR_SHAPES[i % len(FAVOUR_SHAPES)] for i in range(len(present))]
                ),
                legend=alt.Legend(orient="top") if m["better"] else None,
            ),
            tooltip=[
                alt.Tooltip("seed:N"),
                alt.Tooltip("difference:Q", title=verdicts.difference_label(summary), format=".3~e"),
                alt.Tooltip("favours:N", title="seed favours"),
            ],
        )
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4], color=NEUTRAL).encode(x="x:Q")
    layers = [zero, points]
    if m["ci"][0] is not None:
        layers += _median_interval(m)
    return alt.layer(*layers).properties(height=210)  # the whole figure, axis and legend included


def _median_interval(m: dict) -> list[alt.Chart]:
    """The median difference as a tick on a wide translucent bar: its 95% bootstrap interval."""
    interval = pd.DataFrame(
        {"lo": [m["ci"][0]], "hi": [m["ci"][1]], "median": [m["median_diff"]], "y": [0.0], "n": [m["n_pairs"]]}
    )
    tip = [
        alt.Tooltip("median:Q", title="median difference", format=".3~e"),
        alt.Tooltip("lo:Q", title="95% interval from", format=".3~e"),
        alt.Tooltip("hi:Q", title="95% interval to", format=".3~e"),
    ]
    bar = (
        alt.Chart(interval)
        .mark_rule(strokeWidth=8, opacity=0.35, color=NEUTRAL)
        .encode(x="lo:Q", x2="hi:Q", y="y:Q", tooltip=tip)
    )
    tick = (
        alt.Chart(interval)
        .mark_tick(thickness=3, size=40, color=NEUTRAL)
        .encode(x="median:Q", y=alt.Y("y:Q", scale=alt.Scale(domain=[-1, 1])), tooltip=tip)
    )
    return [bar, tick]


def overview_chart(summary: dict) -> alt.Chart:
    """Every measure's median difference (B − A) as a percentage of A's median, with its interval."""
    names = summary["names"]
    better = {side: f"{names[side]} better" for side in ev.SIDES}
    rows = [
        _overview_row(m, names, better) for m in summary["measures"].values() if m["relative_median_diff"] is not None
    ]
    data = pd.DataFrame(rows)
    order = [m["label"] for m in summary["measures"].values()]
    color = alt.Color(
        "outcome:N",
        title=None,
        scale=alt.Scale(
            domain=[better["b"], better["a"], "clear, no better side", "no clear difference"],
            range=[SIDE_COLORS["b"], SIDE_COLORS["a"], "#9467bd", NEUTRAL],
        ),
        legend=alt.Legend(orient="bottom", columns=1, labelLimit=400),  # one column: two do not fit a phone
    )
    y = alt.Y("measure:N", sort=order, title=None, axis=alt.Axis(labelLimit=300))
    tooltip = [
        alt.Tooltip("measure:N"),
        alt.Tooltip("median:Q", title=f"median difference, % of {names['a']}", format=".1f"),
        alt.Tooltip("lo:Q", title="interval from (%)", format=".1f"),
        alt.Tooltip("hi:Q", title="interval to (%)", format=".1f"),
        alt.Tooltip("absolute:N", title="median difference"),
        alt.Tooltip("ahead:N", title="seeds"),
        alt.Tooltip("outcome:N"),
    ]
    base = alt.Chart(data)
    bars = base.mark_rule(strokeWidth=3).encode(
        # two lines: on one, the title is wider than a phone's plot and is cut off
        x=alt.X(
            "lo:Q", title=[f"median difference {verdicts.difference_label(summary)},", f"% of {names['a']}'s median"]
        ),
        x2="hi:Q",
        y=y,
        color=color,
        tooltip=tooltip,
    )
    points = base.mark_circle(size=90, opacity=1).encode(x="median:Q", y=y, color=color, tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4], color=NEUTRAL).encode(x="x:Q")
    return alt.layer(zero, bars, points).properties(height=34 * len(data) + 170)  # legend and axis included


def _overview_row(m: dict, names: dict[str, str], better: dict[str, str]) -> dict:
    """One measure's median relative difference, its interval, outcome and the numbers its tooltip gives."""
    if m["favours"]:
        outcome = better[m["favours"]]
    elif m["clear"]:
        outcome = "clear, no better side"
    else:
        outcome = "no clear difference"
    return {
        "measure": m["label"],
        "median": m["relative_median_diff"],
        "lo": m["relative_ci"][0],
        "hi": m["relative_ci"][1],
        "outcome": outcome,
        "absolute": f"{fmt(m['median_diff'])}, 95% CI {verdicts.fmt_ci(m['ci'])}",
        "ahead": f"{names['b']} {verdicts.lower_higher(m, 'b')} on {m['wins']['b']} of {m['n_pairs']} seeds "
        f"(sign test {verdicts.fmt_p(m['sign_p'])})",
    }


def runs_table(records: list[dict], summary: dict) -> pd.DataFrame:
    """One row per run: its design (name and canonical text), seed and every measure."""
    rows = []
    for r in records:
        side = ev.side_of(r, summary)
        row = {
            "design": summary["names"][side] if side else ev.design_of(r),
            "text": ev.design_of(r),
            "seed": r["seed"],
        }
        for m in MEASURES:
            row[m.label] = value(r, m)
        row["diverged"] = r["diverged"] or ""
        rows.append(row)
    return pd.DataFrame(rows)


EFFECT_COLORS = {"post better": SIDE_COLORS["b"], "pre better": SIDE_COLORS["a"], "no clear effect": NEUTRAL}


def effects_chart(screen: dict, key: str) -> alt.Chart:
    """The factorial screen on one measure: one row per term, its main effect (moving that term alone from pre
    to post, averaged over the other two) as % of pre-norm's median, with its 95% interval; the last row is
    post-norm − pre-norm, which the main effects split among the terms."""
    m = screen["measures"][key]
    rows = []
    named = {**m["effects"], "post-norm − pre-norm": m["total"]}
    for name, s in named.items():
        if s["relative_median_diff"] is None:
            continue
        if s["favours"] is not None:
            outcome = "post better" if s["favours"] == "b" else "pre better"
        else:
            outcome = "no clear effect"
        rows.append(
            {
                "effect": name,
                "median": s["relative_median_diff"],
                "lo": s["relative_ci"][0],
                "hi": s["relative_ci"][1],
                "outcome": outcome,
                "absolute": f"{fmt_signed(s['median_diff'])}, 95% CI {verdicts.fmt_ci(s['ci'])}",
                "seeds": f"post better on {s['wins']['b']} of {s['n_pairs']} ({verdicts.fmt_p(s['sign_p'])})",
            }
        )
    data = pd.DataFrame(rows, columns=["effect", "median", "lo", "hi", "outcome", "absolute", "seeds"])
    present = [o for o in EFFECT_COLORS if o in set(data["outcome"])]
    color = alt.Color(
        "outcome:N",
        title=None,
        scale=alt.Scale(domain=present, range=[EFFECT_COLORS[o] for o in present]),
        legend=alt.Legend(orient="bottom", columns=1),  # one entry a line: a third of a projector, or a phone
    )
    y = alt.Y("effect:N", sort=list(named), title=None, axis=alt.Axis(labelLimit=200))
    tooltip = [
        alt.Tooltip("effect:N"),
        alt.Tooltip("median:Q", title="median effect, % of pre-norm", format=".1f"),
        alt.Tooltip("lo:Q", title="interval from (%)", format=".1f"),
        alt.Tooltip("hi:Q", title="interval to (%)", format=".1f"),
        alt.Tooltip("absolute:N", title="median effect"),
        alt.Tooltip("seeds:N", title="seeds"),
    ]
    base = alt.Chart(data)
    # the measure names the chart above it (from its left edge: it may be wider than the plot), the axis only says
    # what its numbers are, in lines short enough for a third of a projector or a phone
    x = alt.X("lo:Q", title=["effect, % of", "pre-norm's median"])
    bars = base.mark_rule(strokeWidth=3).encode(x=x, x2="hi:Q", y=y, color=color, tooltip=tooltip)
    points = base.mark_circle(size=90, opacity=1).encode(x="median:Q", y=y, color=color, tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4], color=NEUTRAL).encode(x="x:Q")
    title = alt.TitleParams(m["label"], anchor="start", frame="group", fontSize=13)
    # the height is the whole chart's (Streamlit fits it): room for the title, the axis title and the legend too
    return alt.layer(zero, bars, points).properties(height=38 * len(named) + 190, title=title)
