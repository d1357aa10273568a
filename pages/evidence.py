"""Evidence across seeds: train both placements for many seeds and compare them seed by seed."""

from __future__ import annotations

from excolor.app import shell

frame = shell.page("Evidence across seeds")  # first: the menu and sidebar, before the heavy imports below

import time

import pandas as pd
import streamlit as st

from excolor import evidence as ev
from excolor.app import board, caches, classroom, divergence, urlstate, visitor
from excolor.figures.evidence_charts import differences_chart, distribution_chart, overview_chart, runs_table

DEFAULT_SEEDS = 8


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

SEEDS = urlstate.UrlParam("seeds", DEFAULT_SEEDS, urlstate.parse_int(2, visitor.MAX_SWEEP_SEEDS), key="evidence_seeds")
urlstate.bind(SEEDS)  # mirrored in the URL: a link opens the same sweep
n_seeds = st.slider(
    "Number of seeds",
    min_value=2,
    max_value=visitor.MAX_SWEEP_SEEDS,
    key="evidence_seeds",
    help="Seeds 0, 1, … N−1, both placements each, trained together as one batched model. Seeds already "
    "trained on this server (for example seed 0, the default on every other page) are reused.",
)
urlstate.publish(SEEDS, n_seeds)
st.caption(
    "Time: models train in batches of 16 (8 seeds), which costs less per model than one at a time. On a "
    "quiet two-core machine 8 seeds take about 10 s to train plus 5 s to measure; 32 seeds about 35 s plus "
    "20 s. A shared server with other visitors can be slower; once trained, a sweep is shared with every "
    "visitor and reloads instantly."
)

recipes = visitor.sweep_recipes(n_seeds)
if not board.is_trained(recipes) and not st.session_state.get("evidence_started"):
    st.info(
        f"Nothing is trained for {n_seeds} seeds yet. Training {len(recipes)} models takes a little while; "
        "you can read on in the meantime, the progress shows here."
    )
    if not st.button(f"Train and compare {n_seeds} seeds", type="primary"):
        st.stop()
    st.session_state["evidence_started"] = True  # from now on, moving the slider re-runs straight away

# this visitor's big job: trained in chunks, taking turns with other visitors' work (their new seeds go first)
runs = board.trained(recipes, label=f"comparison of {n_seeds} seeds", big=True)
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
    records.append(caches.sweep_record(run))
measuring.empty()
measure_seconds = time.perf_counter() - start
summary = ev.summarize(records)

classroom.lab_question(n_seeds, summary)  # predict, then the measured count (and, in a class, its live split)
st.header("Verdict")
with st.container(border=True):
    st.markdown(ev.verdict(summary))  # paragraphs separated by blank lines
st.caption(
    f"{len(runs)} models; training took {summary['train_seconds']:.1f} s in all (seeds trained earlier on this "
    f"server were reused, not retrained); measuring took {measure_seconds:.1f} s this time (runs measured "
    "before are remembered)."
)
divergence.warn_records(summary["diverged"], "the paired comparison")

st.header("All measures at a glance")
overview_text = ev.overview_caption(summary)
sweep_key = "|".join(board.recipe_key(r) for r in recipes)
chart, _ = caches.frozen_chart(f"evidence.overview|{sweep_key}", lambda: (overview_chart(summary), overview_text))
caches.show_chart(chart, width="stretch")
st.caption(overview_text)
st.dataframe(pd.DataFrame(ev.summary_rows(summary)), hide_index=True, width="stretch")

st.header("Measure by measure")
st.markdown(
    "Left: the runs of each placement (box = middle half of the runs, line inside = median; a grey line joins "
    "the two runs of one seed). Right: each seed's difference post − pre, the median difference (tick) and its "
    "95% bootstrap interval (bar). Hover over a dot to see its seed."
)
rows = pd.DataFrame(ev.long_rows(records, summary))
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
                chart, _ = caches.frozen_chart(
                    f"evidence.distribution|{sweep_key}|{m.key}",
                    lambda m=m, text=text: (distribution_chart(rows, m.key, summary["names"]), text),
                )
                caches.show_chart(chart, width="stretch")
                st.caption(text)
            with right:
                text = ev.differences_caption(summary, m.key)
                chart, _ = caches.frozen_chart(
                    f"evidence.differences|{sweep_key}|{m.key}",
                    lambda m=m, text=text: (differences_chart(summary, m.key), text),
                )
                caches.show_chart(chart, width="stretch")
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
        runs_table(records, summary),
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
    visitor.cli_equivalent(f"sweep --seeds {n_seeds}")

frame.finish()
