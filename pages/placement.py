"""Page 2 · Regularizer placement: pre-norm (Ex 2.3) and post-norm (Ex 2.4) trained together, side by side.

Layout only: the numbers and figures come from excolor.figures.training_charts and excolor.figures.latents3d, the runs
from excolor.app. Each interactive section is a fragment, so moving a control redraws its own section only. The
latent space has two tabs and only the open one is built: the training replay (scrubbed in the browser, with no
rerun) and, on demand, the two 8,000-point 3-D views (about 0.6 MB each, and the slowest thing to draw).
"""

from excolor.app import shell

frame = shell.page("Regularizer placement")  # first: the menu and sidebar, before the heavy imports below

import csv
import io

import pandas as pd
import streamlit as st

from excolor import evidence
from excolor.app import caches, classroom, divergence, downloads, lens, training, urlstate, visitor
from excolor.designs import PRESET_TITLES
from excolor.figures import comparison, diagrams, notebook, replay, schedule_curves
from excolor.figures.latents3d import VIEWS
from excolor.figures.training_curves import curves_panels
from excolor.schedule import EX24, EX24_DOPESHEET, MAX_BYTES, PARAMS, ScheduleError
from excolor.text import fmt

# mirrored in the URL (urlstate.bind / publish): a link opens this very view
WEIGHTED = urlstate.UrlParam("weighted", False, urlstate.parse_bool, key="placement_weighted")
VIEW = urlstate.view_param("placement_view")
SPACE_TABS = {"replay": "Training replay (2-D)", "3d": "After training, in 3-D"}  # URL text -> tab label
SPACE = urlstate.tabs_param("space", SPACE_TABS, key="placement_space")
COLUMNS = ("STEP", *PARAMS)


# --------------------------------------------------------------------------------------------------
# The schedule editor


def sheet_table(text: str) -> pd.DataFrame:
    """A dopesheet as a table of text cells (so "+10" and "+0.5" stay as written); unknown columns dropped."""
    rows = [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(c.strip() for c in row)]
    header = [c.strip() for c in rows[0]] if rows else []
    records = [
        {
            name: (row[header.index(name)] if name in header and header.index(name) < len(row) else "")
            for name in COLUMNS
        }
        for row in rows[1:]
    ]
    return pd.DataFrame(records, columns=list(COLUMNS), dtype=str)


def table_sheet(table: pd.DataFrame) -> str:
    """The editor's table back to dopesheet CSV; parameters without any value are left out (switched off)."""
    table = table.fillna("").astype(str)
    columns = ["STEP", "lr"] + [p for p in PARAMS[1:] if table[p].str.strip().any()]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for _, row in table.iterrows():
        writer.writerow([row[c].strip() for c in columns])
    return out.getvalue()


def reset_schedule() -> None:
    visitor.reset_schedule()
    st.session_state["schedule_text"] = EX24_DOPESHEET
    st.session_state["schedule_version"] = st.session_state.get("schedule_version", 0) + 1


def apply(text: str, source: str) -> None:
    try:
        schedule = visitor.apply_schedule(text)
    except ScheduleError as err:
        st.error(f"Schedule not applied ({source}): {err}. The last valid schedule is still in use.", icon="🚫")
        return
    st.session_state["schedule_text"] = text
    st.session_state["schedule_version"] = st.session_state.get("schedule_version", 0) + 1
    st.session_state["schedule_applied"] = f"Applied the {source}: {schedule.steps:,} training steps."
    st.rerun()  # the sidebar and the training below must use it too


def schedule_table(version: int) -> None:
    """The dopesheet as an editable table, with its Apply, Reset and Download buttons."""
    table = st.data_editor(
        sheet_table(st.session_state["schedule_text"]),
        num_rows="dynamic",
        hide_index=True,
        column_config={c: st.column_config.TextColumn(c) for c in COLUMNS},
        key=f"schedule_editor_{version}",
    )
    text = table_sheet(table)
    cols = st.columns(3)
    if cols[0].button("Apply schedule", type="primary", key="schedule_apply"):
        apply(text, "table")
    cols[1].button("↺ Reset to Ex 2.4", on_click=reset_schedule, key="schedule_reset")
    cols[2].download_button(
        "⬇ This table (CSV)", data=text, file_name=visitor.SCHEDULE_FILE, mime="text/csv", on_click="ignore"
    )


def schedule_upload() -> None:
    """A dopesheet file in place of the table, applied on a click; a file over MAX_BYTES is refused."""
    upload = st.file_uploader("…or upload a dopesheet (CSV, up to 100 KB)", type=["csv", "txt"])
    if upload is None or not st.button(f"Apply {upload.name}", key="schedule_apply_upload"):
        return
    data = upload.getvalue()
    if len(data) > MAX_BYTES:
        st.error(
            f"Schedule not applied (file {upload.name}): the file is {len(data) / 1000:.0f} KB, larger "
            f"than {MAX_BYTES // 1000} KB. The last valid schedule is still in use.",
            icon="🚫",
        )
    else:
        apply(data.decode("utf-8", errors="replace"), f"file {upload.name}")


def schedule_editor() -> None:
    """Edit, upload, download and apply a custom schedule (SPEC §5 dopesheet)."""
    st.session_state.setdefault("schedule_text", EX24_DOPESHEET)
    version = st.session_state.setdefault("schedule_version", 0)
    schedule = visitor.current_schedule()
    custom = schedule != EX24
    label = f"✏️ Schedule: {'custom' if custom else 'Ex 2.4'} ({schedule.steps:,} steps) · edit, upload, download"
    with st.expander(label, expanded=custom):
        if applied := st.session_state.pop("schedule_applied", None):
            st.success(applied, icon="✅")
        st.markdown(
            "Each row is a keyframe: STEP is absolute (`1000`), an offset from the previous absolute step (`+10`) "
            "or a fraction of the gap between the absolute steps around it (`+0.5`); an empty cell means *not keyed "
            "here*. Values move between keyframes on a smooth curve and hold after the last. lr at most 1, "
            "at most 20,000 steps. Error messages count the header as line 1."
        )
        schedule_table(version)
        schedule_upload()


# --------------------------------------------------------------------------------------------------
# The two placements, their training and their numbers


def introduction() -> None:
    st.title("Regularizer placement: pre-norm vs post-norm")
    st.markdown(
        "Two models, identical in every way — same initial weights, same batches, same labels, same schedule — "
        "except for **which tap anchor and planarity read**. Pre-norm (Ex 2.3) computes anchor, separate and "
        "planarity on the raw latent; post-norm (Ex 2.4) computes them on the unit latent the decoder actually uses. "
        "Separate moves too, but it divides its inputs by their length itself, so it gives the same value on either "
        "tap. " + diagrams.SEPARATE_ROUNDING_NOTE
    )


def where_each_term_looks() -> None:
    st.subheader("Where each term looks")
    caption = diagrams.placement_description()
    for col, p in zip(st.columns(2), ("pre", "post"), strict=True):
        with col:
            st.markdown(f"**{PRESET_TITLES[p]}**")
            st.image(diagrams.placement_diagram(p), alt=f"{PRESET_TITLES[p]}: {caption}")
    st.caption(caption)


@st.fragment
def training_curves(recipes, by: dict) -> None:
    st.subheader("Training curves")
    weighted = urlstate.toggle_control(
        WEIGHTED,
        "Multiply each regularizer by its schedule weight (what the optimizer actually feels)",
        help="Off: the raw value of each term. On: weight × value, plus the total loss being minimized.",
    )
    panels, caption = caches.frozen_chart(
        f"placement.curve_panels|{'|'.join(r.key for r in recipes)}|{weighted}",
        lambda: curves_panels({p: run.history for p, run in by.items()}, weighted=weighted),
    )
    caches.show_panels(panels, per_row=2, alt=caption)
    st.caption(caption)


def the_schedule(recipe) -> None:
    st.subheader("The schedule")
    chart, caption = caches.frozen_chart(
        f"placement.schedule|{recipe.key}", lambda: schedule_curves.schedule_chart(recipe.schedule)
    )
    caches.show_chart(chart, alt=caption)
    st.caption(caption)


def final_numbers(runs, evaluations: dict) -> None:
    """Max and median error of both placements, post-norm's as a change from pre-norm's, the notebook's beside."""
    st.subheader("Final numbers")
    compared = not any(run.diverged for run in runs)  # a diverged run has no error to compare with
    cols = st.columns(4)
    for col, (p, stat) in zip(cols, [("pre", "max"), ("post", "max"), ("pre", "median"), ("post", "median")]):
        value, before = getattr(evaluations[p], f"{stat}_error"), getattr(evaluations["pre"], f"{stat}_error")
        col.metric(
            f"{stat.capitalize()} error · {p}-norm",
            fmt(value),
            delta=f"{value / before - 1:+.0%} vs pre-norm" if p == "post" and compared else None,
            delta_color="inverse",
            border=True,
        )
        col.caption(notebook.notebook_reference(p, "baseline", stat))  # SPEC §8, beside ours
    st.caption(
        "Per-color error is the mean squared difference over R, G and B between a color and its reconstruction, "
        "over a dense grid of 552,960 colors; the maximum is the worst color, the median a typical one."
    )


def across_seeds() -> dict[int, tuple[float, float]] | None:
    """(pre, post) max error per seed from the largest pre- vs post-norm comparison already trained and measured on
    this server (by the Experiment lab), or None. Asks the trainer for nothing and measures nothing: while a
    comparison is still training, measuring its finished part here would cost a student's page seconds."""
    for n in range(visitor.MAX_SWEEP_SEEDS, 1, -1):
        runs = training.trained_runs(visitor.sweep_recipes(n))
        records = caches.measured_records(runs) if runs is not None else None
        if records is not None:
            by_seed = evidence.values_by_seed(records, "baseline_max")
            return {s: (v.get("pre", float("nan")), v.get("post", float("nan"))) for s, v in by_seed.items()}
    return None


def your_prediction(seed: int, evaluations: dict) -> None:
    """The visitor's prediction from the Hypothesis page against the measured max errors; in a class, its vote."""
    pre, post = evaluations["pre"].max_error, evaluations["post"].max_error
    right, text = comparison.prediction_verdict(st.session_state.get("prediction"), pre, post)
    if right is None:
        st.info(text + " (Make a prediction on the Hypothesis page next time.)", icon="🔮")
    elif right:
        st.success("Your prediction was right. " + text, icon="🎯")
    else:
        st.warning("Not this time. " + text, icon="🔄")
    st.markdown(comparison.seed_context(seed, pre, post, across_seeds()))
    classroom.tally("placement", comparison.measured_outcome(pre, post))  # in a class: how it voted


def comparison_table(by: dict, evaluations: dict) -> None:
    """Every measure of both placements in one table, every row visible."""
    table = comparison.comparison_table(
        by,
        {p: caches.validation(run) for p, run in by.items()},
        {p: {"max": ev.max_error, "median": ev.median_error} for p, ev in evaluations.items()},
    )
    caption = comparison.comparison_description(table, {p: run.history for p, run in by.items()})
    number = st.column_config.NumberColumn(format="%.2e")
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            PRESET_TITLES["pre"]: number,
            PRESET_TITLES["post"]: number,
            "post ÷ pre": st.column_config.NumberColumn(format="%.2f", help="Below 1: post-norm is lower (better)."),
            "tests the hypothesis": st.column_config.TextColumn(
                help="What the row tests: reconstruction error, or the layout the regularizers ask for (measured on "
                "the unit latent for both). Training-batch rows are a record of training, not a test."
            ),
        },
        height=35 * (len(table) + 1) + 3,  # every row visible: no inner scrolling for a projected screen
        alt=caption,
    )
    st.caption(caption)


def model_downloads(by: dict) -> None:
    """Each placement's weights and recipe, to load outside the app (excolor.export)."""
    for col, (p, run) in zip(st.columns(2), by.items(), strict=True):
        with col:
            st.download_button(
                f"⬇ {PRESET_TITLES[p]} weights (.pt)",
                data=downloads.weights_file(run),
                file_name=f"{downloads.file_stem(run)}.pt",
                mime="application/octet-stream",
                on_click="ignore",
                key=f"placement_weights_{p}",
                help="The state dict and the recipe; `excolor.export.load(path)` rebuilds the model.",
            )
            st.download_button(
                f"⬇ {PRESET_TITLES[p]} recipe (JSON)",
                data=downloads.recipe_json(run),
                file_name=f"{downloads.file_stem(run)}-recipe.json",
                mime="application/json",
                on_click="ignore",
                key=f"placement_recipe_{p}",
                help="Placement, seed, batch size and the schedule as a dopesheet.",
            )


# --------------------------------------------------------------------------------------------------
# The latent space


def latent_views(by: dict, evaluations: dict) -> None:
    """Both trained models' bottlenecks in 3-D, in one of latents3d.VIEWS (mirrored in the URL)."""
    urlstate.bind(VIEW)
    view = urlstate.view_control(
        VIEW,
        "(1, 0, 2) is the color wheel seen from above, red at the top; (1, 2, 0) looks at its edge: a flat "
        "wheel shows as a thin band.",
    )
    st.markdown("Each dot is a color of a 20 × 20 × 20 RGB grid, ringed by its reconstruction. Drag to rotate.")
    for col, p in zip(st.columns(2), evaluations, strict=True):
        with col:
            st.markdown(f"**{PRESET_TITLES[p]}**")
            if divergence.skip(by[p]):
                continue
            # zoomed for a 420 px canvas inside 460 px, so the axis labels fit a half-width column
            deck, caption = caches.latent_view(by[p], None, VIEWS[view], size=420)
            st.pydeck_chart(deck, height=460)
            st.caption(caption)
            st.download_button(
                "⬇ Latent coordinates (CSV)",
                data=downloads.latents_file(evaluations[p]),
                file_name=f"{downloads.file_stem(by[p])}-latents.csv",
                mime="text/csv",
                on_click="ignore",
                key=f"placement_latents_{p}",
                help="The 8,000 colors of the grid: true RGB, reconstructed RGB and the 4 latent coordinates.",
            )


def training_replay(by: dict) -> None:
    """The replay scrubs in the browser: the snapshots of both placements are sent once and the chart's own slider
    (a Vega-Lite parameter) picks the one drawn, so scrubbing never reruns this script; the URL has no `step`."""
    st.markdown(
        "Latent dimension 1 across, dimension 0 up: red's chosen direction points to the top. At step 0 the "
        "colors huddle together; drag the slider under the chart back and forth to see them spread around the "
        "circle and red climb to the top, in both placements at once. The next tab turns the trained models' "
        "full latent space in 3-D."
    )
    kind = lens.current()  # the color-vision lens draws the points as that viewer sees them
    chart, caption = caches.frozen_chart(
        f"placement.replay|{kind}|" + "|".join(run.recipe.key for run in by.values()),
        lambda: replay.replay_scrub_chart({p: run.replay for p, run in by.items()}, lens=kind),
    )
    caches.show_chart(chart, width="stretch", alt=caption)
    st.caption(caption)
    if "step" in st.query_params:  # an older link's replay step: the slider is in the chart now
        del st.query_params["step"]


@st.fragment
def latent_space(by: dict, evaluations: dict) -> None:
    """Two tabs, and only the open one runs: the 3-D views are two WebGL canvases of 8,000 points each (about
    1.2 MB to send; on a phone or a computer without a graphics card, seconds to draw), so a visitor pays for them
    when they open them. Switching tabs or views reruns this fragment, not the page."""
    st.subheader("The latent space: watch the color wheel form")
    tabs = urlstate.tabs_control(SPACE, SPACE_TABS)
    with tabs["replay"]:
        if tabs["replay"].open:
            training_replay(by)
    with tabs["3d"]:
        if tabs["3d"].open:
            latent_views(by, evaluations)


# --------------------------------------------------------------------------------------------------
# The page


def main() -> None:
    introduction()
    where_each_term_looks()
    schedule_editor()
    recipes = visitor.current_recipes()
    runs = training.trained(recipes, label="Training both placements")
    if runs is None:
        st.stop()
    by = {run.recipe.design.text: run for run in runs}
    divergence.warn(runs)
    training_curves(recipes, by)
    the_schedule(recipes[0])
    evaluations = {p: divergence.evaluation(run) for p, run in by.items()}  # a diverged run's errors: NaN
    final_numbers(runs, evaluations)
    your_prediction(recipes[0].seed, evaluations)
    comparison_table(by, evaluations)
    model_downloads(by)
    latent_space(by, evaluations)
    frame.finish()


main()
