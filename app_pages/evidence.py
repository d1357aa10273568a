"""Evidence across seeds: train both placements for many seeds and compare them seed by seed."""

from __future__ import annotations

import time

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import appstate
from excolor import evidence as ev

PLACEMENT_COLORS = {"pre-norm": "#E8873A", "post-norm": "#4A8FD9"}  # orange / blue: legible on light and dark
NEUTRAL = "#8c8c8c"
FAVOUR_COLORS = {**PLACEMENT_COLORS, "tie": NEUTRAL, "no better side": NEUTRAL}
COLOR_SCALE = alt.Scale(domain=list(PLACEMENT_COLORS), range=list(PLACEMENT_COLORS.values()))
DEFAULT_SEEDS = 8


def axis(values: np.ndarray, **kwargs) -> alt.Axis:
    """Tick labels that stay short: 2.0e-5 for small numbers (and a plain 0), 0.12 for the rest."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size and finite.max() < 0.01:
        return alt.Axis(labelExpr="datum.value == 0 ? '0' : format(datum.value, '.1e')", **kwargs)
    return alt.Axis(format="~g", **kwargs)


def distribution_chart(rows: pd.DataFrame, key: str) -> alt.Chart:
    """Box plot per placement, one dot per run, grey lines joining the two runs of each seed."""
    data = rows[rows["measure"] == key].dropna(subset=["value"])
    label = ev.MEASURE_BY_KEY[key].label
    x = alt.X("placement:N", sort=list(PLACEMENT_COLORS), title=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("value:Q", title=label, scale=alt.Scale(zero=False), axis=axis(data["value"].to_numpy()))
    color = alt.Color("placement:N", scale=COLOR_SCALE, legend=None)
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
            alt.Tooltip("placement:N"),
            alt.Tooltip("value:Q", title=label, format=".3~e"),
        ],
    )
    return (box + lines + points).properties(height=260)


def differences_chart(summary: dict, key: str) -> alt.Chart:
    """Each seed's post − pre difference, with the median and its bootstrap interval, against zero."""
    m = summary["measures"][key]
    d = np.asarray(m["differences"], dtype=float)
    if m["better"] is None:
        side = np.full(d.size, "no better side")
    else:
        post_better = d < 0 if m["better"] == "lower" else d > 0
        side = np.where(post_better, "post-norm", np.where(d == 0, "tie", "pre-norm"))
    present = [f for f in FAVOUR_COLORS if f in set(side)]  # legend entries only for what is drawn
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
    x = alt.X("difference:Q", title=f"post − pre, {m['label']}", axis=axis(extent))
    y = alt.Y("row:Q", axis=None, scale=alt.Scale(domain=[-1, 1]))
    points = (
        alt.Chart(data)
        .mark_circle(size=70, opacity=0.95)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "favours:N",
                title="seed favours",
                scale=alt.Scale(domain=present, range=[FAVOUR_COLORS[f] for f in present]),
                legend=alt.Legend(orient="top") if m["better"] else None,
            ),
            tooltip=[
                alt.Tooltip("seed:N"),
                alt.Tooltip("difference:Q", title="post − pre", format=".3~e"),
                alt.Tooltip("favours:N", title="seed favours"),
            ],
        )
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4], color=NEUTRAL).encode(x="x:Q")
    layers = [zero, points]
    if m["ci"][0] is not None:
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
        layers += [bar, tick]
    return alt.layer(*layers).properties(height=210)  # the whole figure, axis and legend included


def overview_chart(summary: dict) -> alt.Chart:
    """Every measure's median difference as a percentage of pre-norm's median, with its interval."""
    rows = []
    for m in summary["measures"].values():
        if m["relative_median_diff"] is None:
            continue
        if m["favours"]:
            outcome = f"{m['favours']}-norm better"
        elif m["clear"]:
            outcome = "clear, no better side"
        else:
            outcome = "no clear difference"
        rows.append(
            {
                "measure": m["label"],
                "median": m["relative_median_diff"],
                "lo": m["relative_ci"][0],
                "hi": m["relative_ci"][1],
                "outcome": outcome,
                "absolute": f"{ev.fmt(m['median_diff'])}, 95% CI {ev.fmt_ci(m['ci'])}",
                "ahead": f"post-norm {ev.lower_higher(m, 'post')} on {m['wins']['post']} of {m['n_pairs']} seeds",
            }
        )
    data = pd.DataFrame(rows)
    order = [m["label"] for m in summary["measures"].values()]
    color = alt.Color(
        "outcome:N",
        title=None,
        scale=alt.Scale(
            domain=[
                "post-norm better",
                "pre-norm better",
                "clear, no better side",
                "no clear difference",
            ],
            range=[PLACEMENT_COLORS["post-norm"], PLACEMENT_COLORS["pre-norm"], "#9467bd", NEUTRAL],
        ),
        legend=alt.Legend(orient="bottom", columns=2, labelLimit=400),
    )
    y = alt.Y("measure:N", sort=order, title=None, axis=alt.Axis(labelLimit=300))
    tooltip = [
        alt.Tooltip("measure:N"),
        alt.Tooltip("median:Q", title="median difference, % of pre-norm", format=".1f"),
        alt.Tooltip("lo:Q", title="interval from (%)", format=".1f"),
        alt.Tooltip("hi:Q", title="interval to (%)", format=".1f"),
        alt.Tooltip("absolute:N", title="median difference"),
        alt.Tooltip("ahead:N", title="seeds"),
        alt.Tooltip("outcome:N"),
    ]
    base = alt.Chart(data)
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("lo:Q", title="median difference post − pre, % of pre-norm's median"),
        x2="hi:Q",
        y=y,
        color=color,
        tooltip=tooltip,
    )
    points = base.mark_circle(size=90, opacity=1).encode(x="median:Q", y=y, color=color, tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4], color=NEUTRAL).encode(x="x:Q")
    return alt.layer(zero, bars, points).properties(height=34 * len(data) + 120)  # legend and axis included


def runs_table(records: list[dict]) -> pd.DataFrame:
    rows = []
    for r in records:
        row = {"placement": ev.PLACEMENT_LABELS[r["placement"]], "seed": r["seed"]}
        for m in ev.MEASURES:
            row[m.label] = ev.value(r, m)
        row["diverged"] = r["diverged"] or ""
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Page

st.title("Evidence across seeds")
st.markdown(
    "The notebook compared the two placements on **one seed** and concluded that post-norm was *probably a "
    "small improvement*. One seed is one roll of the dice: a different starting point or a different order of "
    "batches could flip the result. Here we re-run the comparison on many seeds and ask how often, and by "
    "how much, post-norm comes out ahead."
)
st.markdown(
    "Each seed trains the network **twice**, once per placement, from the same initial weights, with the same "
    "batches and the same noisy labels. Only the placement differs, so the two runs of a seed form a *pair*, "
    "and the fair comparison is the difference **post − pre within each seed**."
)

SEEDS = appstate.UrlParam("seeds", DEFAULT_SEEDS, appstate.parse_int(2, appstate.MAX_SWEEP_SEEDS), key="evidence_seeds")
appstate.bind(SEEDS)  # mirrored in the URL: a link opens the same sweep
n_seeds = st.slider(
    "Number of seeds",
    min_value=2,
    max_value=appstate.MAX_SWEEP_SEEDS,
    key="evidence_seeds",
    help="Seeds 0, 1, … N−1, both placements each, trained together as one batched model. Seeds already "
    "trained on this server (for example seed 0, the default on every other page) are reused.",
)
appstate.publish(SEEDS, n_seeds)
st.caption(
    "Time: models train in batches of 16 (8 seeds), which costs less per model than one at a time. On a "
    "quiet two-core machine 8 seeds take about 10 s to train plus 5 s to measure; 32 seeds about 35 s plus "
    "20 s. A shared server with other visitors can be slower; once trained, a sweep is shared with every "
    "visitor and reloads instantly."
)

recipes = appstate.sweep_recipes(n_seeds)
if not appstate.is_trained(recipes) and not st.session_state.get("evidence_started"):
    st.info(
        f"Nothing is trained for {n_seeds} seeds yet. Training {len(recipes)} models takes a little while; "
        "you can read on in the meantime, the progress shows here."
    )
    if not st.button(f"Train and compare {n_seeds} seeds", type="primary"):
        st.stop()
    st.session_state["evidence_started"] = True  # from now on, moving the slider re-runs straight away

appstate.queue_sweep(recipes)  # in jobs of a few seeds each: a 1 GB server cannot batch 64 models at once
runs = appstate.trained(recipes, label=f"Evidence across {n_seeds} seeds")
if runs is None:
    st.stop()

start = time.perf_counter()
measuring = st.progress(0.0, text="Measuring each run …")
records = []
for i, run in enumerate(runs):
    measuring.progress(
        i / len(runs),
        text=f"Measuring run {i + 1} of {len(runs)} ({run.recipe.placement}-norm, seed {run.recipe.seed}): "
        "552,960 colors, with and without each intervention",
    )
    records.append(appstate.sweep_record(run))
measuring.empty()
measure_seconds = time.perf_counter() - start
summary = ev.summarize(records)

st.header("Verdict")
with st.container(border=True):
    st.markdown(ev.verdict(summary))  # paragraphs separated by blank lines
st.caption(
    f"{len(runs)} models; training took {summary['train_seconds']:.1f} s in all (seeds trained earlier on this "
    f"server were reused, not retrained); measuring took {measure_seconds:.1f} s this time (runs measured "
    "before are remembered)."
)
if summary["diverged"]:
    st.warning(
        "Some runs diverged and are left out of the paired comparison: "
        + "; ".join(f"{d['placement']}-norm seed {d['seed']}: {d['diverged']}" for d in summary["diverged"])
    )

st.header("All measures at a glance")
overview_text = ev.overview_caption(summary)
sweep_key = "|".join(appstate.recipe_key(r) for r in recipes)
chart, _ = appstate.frozen_chart(f"evidence.overview|{sweep_key}", lambda: (overview_chart(summary), overview_text))
appstate.show_chart(chart, width="stretch")
st.caption(overview_text)
st.dataframe(pd.DataFrame(ev.summary_rows(summary)), hide_index=True, width="stretch")

st.header("Measure by measure")
st.markdown(
    "Left: the runs of each placement (box = middle half of the runs, line inside = median; a grey line joins "
    "the two runs of one seed). Right: each seed's difference post − pre, the median difference (tick) and its "
    "95% bootstrap interval (bar). Hover over a dot to see its seed."
)
rows = pd.DataFrame(ev.long_rows(records))
tabs = st.tabs(list(ev.GROUPS.values()))
for tab, group in zip(tabs, ev.GROUPS):
    with tab:
        for m in (m for m in ev.MEASURES if m.group == group):
            better = {"lower": "lower is better", "higher": "higher is better", None: "neither side is better"}
            st.subheader(m.label.capitalize())
            st.caption(f"{m.meaning[:1].upper()}{m.meaning[1:]} ({better[m.better]}).")
            left, right = st.columns([2, 3])
            with left:
                text = ev.distribution_caption(summary, m.key)
                chart, _ = appstate.frozen_chart(
                    f"evidence.distribution|{sweep_key}|{m.key}",
                    lambda m=m, text=text: (distribution_chart(rows, m.key), text),
                )
                appstate.show_chart(chart, width="stretch")
                st.caption(text)
            with right:
                text = ev.differences_caption(summary, m.key)
                chart, _ = appstate.frozen_chart(
                    f"evidence.differences|{sweep_key}|{m.key}",
                    lambda m=m, text=text: (differences_chart(summary, m.key), text),
                )
                appstate.show_chart(chart, width="stretch")
                st.caption(text)

with st.expander("How to read this: pairs, medians, bootstrap intervals"):
    st.markdown(
        f"""
- **Why pairs.** Two runs of the same seed share their starting weights and their data, so most of the
  seed-to-seed luck cancels in their difference. Comparing all pre-norm runs with all post-norm runs as two
  unrelated groups would throw that away.
- **Why the median.** One unlucky seed can have a much larger error than the rest; the median difference is
  the value half the seeds are above and half below, and one odd seed barely moves it.
- **The win count** ("post-norm lower on 6 of 8 seeds") is the plainest summary: if the placement made no
  difference, each seed would be a coin toss.
- **The 95% bootstrap interval.** We cannot train infinitely many seeds, so we ask how much the median would
  wobble had we drawn a different set of seeds: draw {summary["n_pairs"]} seeds *from our own seeds*, with
  replacement, {summary["resamples"]:,} times, take each draw's median difference, and keep the middle 95%. If
  that range **includes zero**, "no difference" is still a fair reading; if it **excludes zero**, the sign of
  the difference is unlikely to be luck, although the difference may still be too small to matter. With fewer
  than {ev.MIN_SEEDS_TO_CALL} seeds the range is barely more than the spread of the data, so nothing is called
  clear.
- **Many measures at once.** With {len(ev.MEASURES)} measures, one of them can now and then look clear by
  chance alone. A result that matters should hold up when you add seeds.
- **What "better" means.** Lower reconstruction error and lower anchor and planarity losses are what the
  hypothesis predicted for post-norm. A higher *selectivity r* means an intervention hits red and spares other
  colors. The max error under an intervention only says how strongly red is changed, so neither side is
  "better" there.
- The anchor and planarity losses are measured after normalization for both placements, on a fixed validation
  set (the whole training grid, weighted as training samples it), not on the last noisy training batch.
"""
    )

with st.expander("Every run"):
    small = {"baseline_max", "baseline_median", "recon"}
    st.dataframe(
        runs_table(records),
        hide_index=True,
        width="stretch",
        column_config={
            m.label: st.column_config.NumberColumn(m.label, format="%.2e" if m.key in small else "%.3f")
            for m in ev.MEASURES
        },
    )
    st.download_button(
        "Download runs and summary (JSON)",
        data=ev.to_json(records, summary),
        file_name=f"excolor-evidence-{n_seeds}-seeds.json",
        mime="application/json",
    )
    st.caption(f"The same as `python -m excolor sweep --seeds {n_seeds} --json` prints.")
