# This page is the Experiment lab; the file keeps the name evidence.py because its URL (/evidence) is in shared links.
"""Experiment lab: pose a comparison of two designs and get an answer across seeds, or screen which term matters."""

from __future__ import annotations

from excolor.app import shell

frame = shell.page("Experiment lab")  # first: the menu and sidebar, before the heavy imports below

import time

import pandas as pd
import streamlit as st

from excolor import evidence as ev
from excolor import lab, screen_verdicts, verdicts
from excolor.app import caches, classroom, divergence, training, urlstate, visitor
from excolor.designs import PLACED_TERMS, PRESET_TITLES, PRESETS, Design, DesignError, parse_design
from excolor.figures.evidence_charts import (
    differences_chart,
    distribution_chart,
    effects_chart,
    overview_chart,
    runs_table,
)
from excolor.figures.latents3d import VIEWS
from excolor.measures import GROUPS, HEADLINE_KEY, MEASURES

DEFAULT_SEEDS = 8
SCREEN_SEEDS = (2, 12, 4)  # min, max, default seeds of the factorial screen (8 models per seed)
TERM_LABELS = {"anchor": "Anchor", "separate": "Separate", "planar": "Planarity", "unit": "Unitarity"}
TAP_LABELS = {"pre": "raw (pre)", "post": "unit (post)", "off": "off", "on": "on"}
TERM_HELP = {
    "anchor": "Pulls red colors onto the red direction. Pre reads the raw latent (its length matters too); post "
    "reads the unit latent, the one the interventions act on.",
    "separate": "Spreads latents over the sphere using only their directions (cosines), so its tap makes no "
    "difference: on either tap it has the same value and gradient. A useful check: it should show no effect.",
    "planar": "Lays vivid hues in the plane of latent dimensions 0 and 1. Pre reads the raw latent, post the unit "
    "latent.",
    "unit": "Keeps the raw latent near unit length; it always reads the raw latent (encoder tap).",
}


def _design_text(text: str) -> str:
    try:
        return parse_design(text).text
    except DesignError:
        raise ValueError("a design such as pre, post or post,anchor=pre") from None


A = urlstate.UrlParam("a", "pre", _design_text, key="lab_a")
B = urlstate.UrlParam("b", "post", _design_text, key="lab_b")
SEEDS = urlstate.UrlParam("seeds", DEFAULT_SEEDS, urlstate.parse_int(2, visitor.MAX_SWEEP_SEEDS), key="evidence_seeds")


# --------------------------------------------------------------------------------------------------
# Controls


def _control_keys(side: str) -> dict[str, str]:
    return {term: f"lab_{side}_{term}" for term in (*PLACED_TERMS, "unit")}


def _set_design(side: str, design: Design) -> None:
    """Put a design into one side's controls (a preset button's on_click, or the URL's value on arrival)."""
    ss = st.session_state
    for term, key in _control_keys(side).items():
        ss[key] = ("on" if design.unit else "off") if term == "unit" else getattr(design, term)


def term_controls(keys: dict[str, str]) -> Design:
    """One control per term: the tap each placed term reads (or off), and unitarity on or off."""
    values = {}
    for term in PLACED_TERMS:
        values[term] = st.segmented_control(
            TERM_LABELS[term],
            options=("pre", "post", "off"),
            format_func=TAP_LABELS.get,
            required=True,
            key=keys[term],
            help=TERM_HELP[term],
        )
    unit = st.segmented_control(
        TERM_LABELS["unit"], options=("on", "off"), required=True, key=keys["unit"], help=TERM_HELP["unit"]
    )
    return Design(**values, unit=unit == "on")


def design_picker(side: str, param: urlstate.UrlParam) -> Design:
    """Presets plus one control per term for design A or B, bound to the URL's `a` / `b`."""
    text = urlstate.bind(param)
    keys = _control_keys(side)
    if any(k not in st.session_state for k in keys.values()):  # first visit, or back from another page
        _set_design(side, parse_design(text))
    st.markdown(f"**Design {side.upper()}**")
    buttons = st.columns(2)
    for column, (name, design) in zip(buttons, PRESETS.items()):
        column.button(
            PRESET_TITLES[name],
            key=f"lab_{side}_preset_{name}",
            on_click=_set_design,
            args=(side, design),
            width="stretch",
        )
    design = term_controls(keys)
    st.caption(
        f"{side.upper()} = **{design.label}** · as text: {design.text}"
    )  # no inline code: too faint in a caption
    st.session_state[param.state_key] = design.text
    urlstate.publish(param, design.text)
    return design


def runs_for(recipes: list, label: str, button: str, key: str) -> list | None:
    """Trained runs for these recipes: at once when all are trained already (asking the board for nothing, so a
    big job this visitor has queued elsewhere is not replaced); else after a click, as this visitor's big job."""
    runs = training.trained_runs(recipes)  # reading only: they do not become this visitor's wanted recipes
    if runs is not None:
        return runs
    if not st.session_state.get(key):
        prompt = st.empty()
        with prompt.container():
            st.info(
                f"Nothing is trained for this yet: {len(recipes)} models. You can read on while they train; the "
                "progress shows here."
            )
            clicked = st.button(f"{button} ({len(recipes)} models)", type="primary", key=f"{key}_button")
        if not clicked:
            return None
        prompt.empty()  # the notice and button go once training starts; the progress takes their place
        st.session_state[key] = True  # from now on, changing the controls re-runs straight away
    return training.trained(recipes, label, big=True)


def measured(runs: list, what: str) -> tuple[list[dict], float]:
    """Each run's record (cached per recipe for the whole server), with a progress bar the first time."""
    start = time.perf_counter()
    bar = st.progress(0.0, text="Measuring each run …")
    records = []
    for i, run in enumerate(runs):
        bar.progress(
            i / len(runs),
            text=f"Measuring {what} run {i + 1} of {len(runs)} ({run.recipe.design.text}, seed {run.recipe.seed}): "
            "552,960 colors, with and without each intervention",
        )
        records.append(caches.run_record(run))
    bar.empty()
    return records, time.perf_counter() - start


def json_download(label: str, data, file_name: str, cli_args: str) -> None:
    """A JSON download generated on click, and the CLI command that prints the same."""
    st.download_button(label, data=data, file_name=file_name, mime="application/json")
    visitor.cli_equivalent(cli_args)


# --------------------------------------------------------------------------------------------------
# Tab 1: compare two designs


def predict_first(slot, n_seeds: int, a: Design, b: Design, summary: dict | None) -> None:
    """The question before training, and the reveal once `summary` is there. Pre vs post is the class question."""
    with slot:
        if (a.text, b.text) == ("pre", "post"):
            classroom.lab_question(n_seeds, summary)
            return
        st.subheader("Predict first")
        answers = {
            "b": "B will have the lower max error",
            "a": "A will have the lower max error",
            "same": "No clear difference",
        }
        choice = st.radio(  # one answer per exact question: the two designs and the number of seeds
            f"Across {n_seeds} seeds, which design will reconstruct colors better (lower baseline max error)?",
            options=list(answers),
            format_func=answers.get,
            index=None,
            key=f"lab_predict|{a.text}|{b.text}|{n_seeds}",
            help="Kept for this session; the comparison below checks it.",
        )
        if summary is None:
            return
        truth = ev.prediction_answer(summary)
        m = summary["measures"][HEADLINE_KEY]
        found = "Measured: " + verdicts.measure_sentence(m, summary)
        classroom.verdict(choice, truth, found, answers)


def comparison_controls() -> tuple[Design, Design, int]:
    """Design A and B side by side, and the number of seeds, all mirrored in the URL."""
    left, right = st.columns(2)
    with left:
        a = design_picker("a", A)
    with right:
        b = design_picker("b", B)
    urlstate.bind(SEEDS)  # mirrored in the URL: a link opens the same comparison
    n_seeds = st.slider(
        "Number of seeds",
        min_value=2,
        max_value=visitor.MAX_SWEEP_SEEDS,
        key="evidence_seeds",
        help="Seeds 0, 1, … N−1, both designs each, trained together. Runs already trained on this server (for "
        "example seed 0 of pre- and post-norm, the default on every other page) are reused.",
    )
    urlstate.publish(SEEDS, n_seeds)
    return a, b, n_seeds


def compare_tab() -> None:
    st.markdown(
        "The notebook compared two **designs** on one seed: every placement-dependent term before the "
        "normalization (pre-norm, Ex 2.3) or after it (post-norm, Ex 2.4). Here you choose the two designs, term "
        "by term, and the lab trains both on many seeds. Each seed trains the network once per design from the "
        "same initial weights, with the same batches and labels, so only the design differs and the fair "
        "comparison is the difference **B − A within each seed**."
    )
    a, b, n_seeds = comparison_controls()
    if a == b:
        st.warning(f"A and B are the same design ({a.text}): change one of them to compare something.", icon="⚖️")
        return
    st.caption(
        "Time: on a quiet two-core machine 8 seeds (16 models) train and measure in about 10 s, 32 seeds in about "
        "40 s. A shared server can be slower; once trained, a comparison is shared with every visitor and reloads "
        "at once."
    )
    question = st.container()
    schedule = visitor.current_schedule()
    recipes = lab.comparison_recipes(a.text, b.text, n_seeds, schedule)
    label = f"comparison of {n_seeds} seeds ({a.text} vs {b.text})"
    runs = runs_for(recipes, label, f"Train and compare {n_seeds} seeds", "lab_compare_started")
    if runs is None:
        predict_first(question, n_seeds, a, b, None)
        return
    records, measure_seconds = measured(runs, "comparison")
    summary = ev.summarize(records, a.text, b.text)
    predict_first(question, n_seeds, a, b, summary)
    show_comparison(runs, records, summary, measure_seconds, n_seeds)


def show_comparison(runs, records, summary, measure_seconds: float, n_seeds: int) -> None:
    key = "|".join(r.recipe.key for r in runs)  # names the comparison in the frozen charts' keys
    verdict(runs, summary, measure_seconds)
    at_a_glance(key, summary)
    measure_by_measure(key, records, summary)
    latent_views(runs, summary, n_seeds)
    how_to_read(summary)
    every_run(records, summary, n_seeds)


def verdict(runs, summary: dict, measure_seconds: float) -> None:
    st.header("Verdict")
    with st.container(border=True):
        st.markdown(verdicts.verdict(summary))  # paragraphs separated by blank lines
    st.caption(
        f"{len(runs)} models; training took {summary['train_seconds']:.1f} s in all (runs trained earlier on this "
        f"server were reused, not retrained); measuring took {measure_seconds:.1f} s this time (runs measured "
        "before are remembered)."
    )
    divergence.warn_records(summary["diverged"], "the paired comparison")


def at_a_glance(key: str, summary: dict) -> None:
    st.header("All measures at a glance")
    overview_text = verdicts.overview_caption(summary)
    chart, _ = caches.frozen_chart(f"evidence.overview|{key}", lambda: (overview_chart(summary), overview_text))
    caches.show_chart(chart, width="stretch")
    st.caption(overview_text)
    st.dataframe(pd.DataFrame(verdicts.summary_rows(summary)), hide_index=True, width="stretch")


def measure_by_measure(key: str, records, summary: dict) -> None:
    """One tab per group of measures; in each, every measure's runs (left) and per-seed differences (right)."""
    st.header("Measure by measure")
    st.markdown(
        f"Left: the runs of each design (box = middle half of the runs, line inside = median; a grey line joins "
        f"the two runs of one seed). Right: each seed's difference {verdicts.difference_label(summary)}, the median "
        "difference (tick) and its 95% bootstrap interval (bar). Hover over a dot to see its seed."
    )
    rows = pd.DataFrame(ev.long_rows(records, summary))
    tabs = st.tabs(list(GROUPS.values()))
    for tab, group in zip(tabs, GROUPS):
        with tab:
            for m in (m for m in MEASURES if m.group == group):
                one_measure(key, m, rows, summary)


def one_measure(key: str, m, rows: pd.DataFrame, summary: dict) -> None:
    better = {"lower": "lower is better", "higher": "higher is better", None: "neither side is better"}
    st.subheader(m.label.capitalize())
    st.caption(f"{m.meaning[:1].upper()}{m.meaning[1:]} ({better[m.better]}).")
    left, right = st.columns([2, 3])
    with left:
        distribution_text = verdicts.distribution_caption(summary, m.key)
        chart, _ = caches.frozen_chart(
            f"evidence.distribution|{key}|{m.key}",
            lambda: (distribution_chart(rows, m.key, summary["names"]), distribution_text),
        )
        caches.show_chart(chart, width="stretch")
        st.caption(distribution_text)
    with right:
        differences_text = verdicts.differences_caption(summary, m.key)
        chart, _ = caches.frozen_chart(
            f"evidence.differences|{key}|{m.key}", lambda: (differences_chart(summary, m.key), differences_text)
        )
        caches.show_chart(chart, width="stretch")
        st.caption(differences_text)


def every_run(records, summary: dict, n_seeds: int) -> None:
    with st.expander("Every run"):
        small = {"baseline_max", "baseline_median", "recon"}
        st.dataframe(
            runs_table(records, summary),
            hide_index=True,
            width="stretch",
            column_config={
                m.label: st.column_config.NumberColumn(m.label, format="%.2e" if m.key in small else "%.3f")
                for m in MEASURES
            },
        )
        json_download(
            "Download runs and summary (JSON)",
            lambda: ev.to_json(records, summary),
            f"excolor-compare-{summary['a']}-vs-{summary['b']}-{n_seeds}-seeds.json",
            f"compare --a {summary['a']} --b {summary['b']} --seeds {n_seeds}",
        )


def latent_views(runs, summary: dict, n_seeds: int) -> None:
    """A and B of one seed side by side, in the same 3-D view."""
    st.header("Latents of A and B, one seed")
    st.session_state.setdefault("lab_latent_view", 0)
    if st.session_state.get("lab_latent_seed", 0) >= n_seeds:  # fewer seeds than before: back to seed 0
        st.session_state["lab_latent_seed"] = 0
    seed = st.select_slider("Seed", options=list(range(n_seeds)), key="lab_latent_seed")
    view = st.segmented_control(
        "View (screen x, screen y, toward you)",
        options=range(len(VIEWS)),
        format_func=lambda i: "dims {}, {}, {}".format(*VIEWS[i]),
        required=True,
        key="lab_latent_view",
    )
    by = {(ev.canonical(r.recipe.design), r.recipe.seed): r for r in runs}
    columns = st.columns(2)
    for column, side in zip(columns, ev.SIDES):
        run = by[(summary[side], seed)]
        with column:
            st.markdown(f"**{side.upper()}: {summary['labels'][side]}** · seed {seed}")
            if divergence.skip(run):
                continue
            deck, caption = caches.latent_view(run, None, VIEWS[view], size=420)
            st.pydeck_chart(deck, height=440, alt=caption)
            st.caption(caption)


def how_to_read(summary: dict) -> None:
    with st.expander("How to read this: pairs, medians, bootstrap intervals, sign tests"):
        st.markdown(
            f"""
- **Why pairs.** Two runs of the same seed share their starting weights and their data, so most of the
  seed-to-seed luck cancels in their difference. Comparing all A runs with all B runs as two unrelated groups
  would throw that away.
- **Why the median.** One unlucky seed can have a much larger error than the rest; the median difference is
  the value half the seeds are above and half below, and one odd seed barely moves it.
- **The win count and its sign test** ("lower on 6 of 8 seeds, p = 0.29"): if the design made no difference,
  each seed would be a coin toss; p is the chance of a split at least that lopsided from fair coins. 8 of 8 gives
  p = 0.0078, 7 of 8 p = 0.07, 6 of 8 p = 0.29. The verdict calls evidence *strong* when p clears the corrected
  bar below ({ev.COMPARISON_STRONG:.2g}), *moderate* below 0.05, otherwise *weak*.
- **The 95% bootstrap interval.** We cannot train infinitely many seeds, so we ask how much the median would
  wobble had we drawn a different set of seeds: draw {summary["n_pairs"]} seeds *from our own seeds*, with
  replacement, {summary["resamples"]:,} times, take each draw's median difference, and keep the middle 95%. If
  that range **includes zero**, "no difference" is still a fair reading; if it **excludes zero**, the sign of
  the difference is unlikely to be luck, although the difference may still be too small to matter. With fewer
  than {ev.MIN_SEEDS_TO_CALL} seeds nothing is called.
- **Many measures at once.** The verdict weighs {len(summary["hypothesis_measures"])} of the
  {len(summary["measures"])} measures in the table (the ones the hypothesis makes a claim about), so one of them
  can look like a difference by chance alone; the verdict says which differences still clear the bar once that
  is allowed for (p below 0.05 divided by that number). A result that matters should hold up when you add seeds.
- **What "better" means.** Lower reconstruction error, more even hue peaks and lower anchor and planarity
  losses are what the notebook's hypothesis predicted for post-norm. A lower *collateral damage* means an
  intervention leaves the colors far from red more intact; a higher *selectivity r* means its damage is more
  shaped like red (which is not the same: a narrow cone can harm almost nothing yet score a lower r). The max
  error under an intervention only says how strongly red is changed, so neither side is "better" there.
- The anchor and planarity losses are measured after normalization for every design, on a fixed validation
  set (the whole training grid, weighted as training samples it), not on the last noisy training batch.
"""
        )


# --------------------------------------------------------------------------------------------------
# Tab 2: which term matters? The factorial screen


def screen_tab() -> None:
    st.markdown(
        "Post-norm moves three terms at once: anchor, separate and planarity. Which of them makes the difference? "
        "The **factorial screen** trains all 8 designs where each of the three reads the raw latent (pre) or the "
        "unit latent (post), on every seed. A term's **main effect** is the change from moving that term alone "
        "from pre to post, averaged over the four settings of the other two; per seed, then summarized across "
        "seeds like the comparison. Separate reads only directions, so its effect should come out near zero: a "
        "check on the whole pipeline."
    )
    lo, hi, default = SCREEN_SEEDS
    n_seeds = st.slider(
        "Seeds for the screen",
        min_value=lo,
        max_value=hi,
        value=default,
        key="lab_screen_seeds",
        help="8 models per seed. Pre-norm and post-norm runs already trained (by any page) are reused.",
    )
    recipes = lab.screen_recipes(n_seeds, visitor.current_schedule())
    label = f"screen of 8 designs × {n_seeds} seeds"
    runs = runs_for(recipes, label, f"Train the screen: 8 designs × {n_seeds} seeds", "lab_screen_started")
    if runs is None:
        return
    records, _ = measured(runs, "screen")
    show_screen(runs, records, n_seeds)


def show_screen(runs, records, n_seeds: int) -> None:
    """The screen's verdict, each measure's main effects, and every effect and interaction in a table."""
    summary = lab.summarize_screen(records)
    divergence.warn_records(summary["diverged"], "the effects, with every other design of their seed")
    st.header("Which term matters?")
    with st.container(border=True):
        st.markdown(screen_verdicts.screen_verdict(summary))
    key = "|".join(r.recipe.key for r in runs)
    columns = st.columns(len(lab.SCREEN_KEYS))
    for column, measure in zip(columns, lab.SCREEN_KEYS):
        with column:
            text = screen_verdicts.effects_caption(summary, measure)
            chart, _ = caches.frozen_chart(
                f"lab.effects|{key}|{measure}",
                lambda measure=measure, text=text: (effects_chart(summary, measure), text),
            )
            caches.show_chart(chart, width="stretch")
            st.caption(text)
    with st.expander("Every effect and interaction"):
        st.caption(
            "An interaction of two terms is half the change in the first term's effect when the second moves from "
            "pre to post (0 when each term's effect is the same whatever the other does). Post-norm − pre-norm "
            "equals the sum of the three main effects plus the three-way interaction."
        )
        st.dataframe(pd.DataFrame(lab.screen_rows(summary)), hide_index=True, width="stretch")
        json_download(
            "Download the screen (JSON)",
            lambda: lab.screen_json(records, summary),
            f"excolor-screen-{n_seeds}-seeds.json",
            f"screen --seeds {n_seeds}",
        )


# --------------------------------------------------------------------------------------------------
# The page


def main() -> None:
    st.title("Experiment lab")
    compare, screen = st.tabs(["Compare two designs", "Which term matters? (factorial screen)"])
    with compare:
        compare_tab()
    with screen:
        screen_tab()
    frame.finish()


main()
