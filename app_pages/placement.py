"""Page 2 · Regularizer placement: pre-norm (Ex 2.3) and post-norm (Ex 2.4) trained together, side by side.

Layout only: the numbers and figures come from excolor.training_charts and excolor.latents3d, the runs
from appstate. Each interactive section is a fragment, so moving the replay slider redraws two small
scatter plots, not the two 8,000-point latent views (about 0.5 MB each) as well.
"""

import streamlit as st

import appstate
from excolor import training_charts as tc
from excolor.latents3d import VIEWS
from excolor.losses import PLACEMENT_NAMES

st.title("Regularizer placement: pre-norm vs post-norm")
st.markdown(
    "Two models, identical in every way — same initial weights, same batches, same labels, same schedule — "
    "except for **which tap three of the regularizers read**. Pre-norm (Ex 2.3) computes anchor, separate and "
    "planarity on the raw latent; post-norm (Ex 2.4) computes them on the unit latent the decoder actually uses."
)

st.subheader("Where each term looks")
caption = tc.placement_description()
for col, p in zip(st.columns(2), ("pre", "post"), strict=True):
    with col:
        st.markdown(f"**{PLACEMENT_NAMES[p]}**")
        st.graphviz_chart(tc.placement_dot(p), alt=caption)
st.caption(caption)

recipes = appstate.current_recipes()
runs = appstate.trained(recipes, label="Training both placements")
if runs is None:
    st.stop()
by = {run.recipe.placement: run for run in runs}
for run in runs:
    if run.diverged:
        st.warning(f"{PLACEMENT_NAMES[run.recipe.placement]}: {run.diverged}. Try another seed.")


@st.fragment
def training_curves() -> None:
    st.subheader("Training curves")
    weighted = st.toggle(
        "Multiply each regularizer by its schedule weight (what the optimizer actually feels)",
        help="Off: the raw value of each term. On: weight × value, plus the total loss being minimized.",
    )
    chart, caption = appstate.frozen_chart(
        f"placement.curves|{'|'.join(appstate.recipe_key(r) for r in recipes)}|{weighted}",
        lambda: tc.curves_chart({p: run.history for p, run in by.items()}, weighted=weighted),
    )
    appstate.show_chart(chart, alt=caption)
    st.caption(caption)


training_curves()

st.subheader("The schedule")
chart, caption = appstate.frozen_chart(
    f"placement.schedule|{appstate.recipe_key(recipes[0])}", lambda: tc.schedule_chart(recipes[0].schedule)
)
appstate.show_chart(chart, alt=caption)
st.caption(caption)

st.subheader("Final numbers")
evaluations = {p: appstate.evaluation(run) for p, run in by.items()}
pre, post = evaluations["pre"], evaluations["post"]
cols = st.columns(4)
cols[0].metric("Max error · pre-norm", tc.fmt(pre.max_error), border=True)
cols[1].metric(
    "Max error · post-norm",
    tc.fmt(post.max_error),
    delta=f"{post.max_error / pre.max_error - 1:+.0%} vs pre-norm",
    delta_color="inverse",
    border=True,
)
cols[2].metric("Median error · pre-norm", tc.fmt(pre.median_error), border=True)
cols[3].metric(
    "Median error · post-norm",
    tc.fmt(post.median_error),
    delta=f"{post.median_error / pre.median_error - 1:+.0%} vs pre-norm",
    delta_color="inverse",
    border=True,
)
st.caption(
    "Per-color error is the mean squared difference over R, G and B between a color and its reconstruction, "
    "over a dense grid of 552,960 colors; the maximum is the worst color, the median a typical one."
)

right, text = tc.prediction_verdict(st.session_state.get("prediction"), pre.max_error, post.max_error)
if right is None:
    st.info(text + " (Make a prediction on the Hypothesis page next time.)", icon="🔮")
elif right:
    st.success("Your prediction was right. " + text, icon="🎯")
else:
    st.warning("Not this time. " + text, icon="🔄")
st.markdown(
    "One seed is one sample: a different seed can reverse a small gap. The *Evidence across seeds* page trains "
    "many seeds of both placements to settle it."
)

table = tc.comparison_table(
    by,
    {p: appstate.validation(run) for p, run in by.items()},
    {p: {"max": ev.max_error, "median": ev.median_error} for p, ev in evaluations.items()},
)
caption = tc.comparison_description(table)
number = st.column_config.NumberColumn(format="%.2e")
st.dataframe(
    table,
    hide_index=True,
    column_config={
        PLACEMENT_NAMES["pre"]: number,
        PLACEMENT_NAMES["post"]: number,
        "post ÷ pre": st.column_config.NumberColumn(format="%.2f", help="Below 1: post-norm is lower (better)."),
    },
    height=35 * (len(table) + 1) + 3,  # every row visible: no inner scrolling for a projected screen
    alt=caption,
)
st.caption(caption)


@st.fragment
def latent_views() -> None:
    st.subheader("Latent space after training")
    view = st.segmented_control(
        "View (screen x, screen y, toward you)",
        options=range(len(VIEWS)),
        default=0,
        format_func=lambda i: "dims {}, {}, {}".format(*VIEWS[i]),
        required=True,
        help="(1, 0, 2) is the color wheel seen from above, red at the top; (1, 2, 0) looks at its edge: a flat "
        "wheel shows as a thin band.",
    )
    st.markdown("Each dot is a color of a 20 × 20 × 20 RGB grid, ringed by its reconstruction. Drag to rotate.")
    for col, p in zip(st.columns(2), evaluations, strict=True):
        with col:
            st.markdown(f"**{PLACEMENT_NAMES[p]}**")
            # zoomed for a 420 px canvas inside 460 px, so the axis labels fit a half-width column
            deck, caption = appstate.latent_view(by[p], None, VIEWS[view], size=420)
            st.pydeck_chart(deck, height=460)
            st.caption(caption)


latent_views()


@st.fragment
def training_replay() -> None:
    st.subheader("Training replay: watch the color wheel form")
    steps = [int(s) for s in by["post"].replay.steps]
    step = st.select_slider(
        "Training step (updates applied so far)",
        options=steps,
        value=steps[-1],
        format_func=lambda s: f"{s:,}",
        help=f"The latents of the same {len(by['post'].replay.rgb)} probe colors, saved every "
        f"{steps[1] - steps[0] if len(steps) > 1 else 0} training steps.",
    )
    st.markdown(
        "Latent dimension 1 across, dimension 0 up: red's chosen direction points to the top. At step 0 the "
        "colors huddle together; slide to see them spread around the circle and red climb to the top."
    )
    for col, (p, run) in zip(st.columns(2), by.items(), strict=True):
        index = min(steps.index(step), len(run.replay.steps) - 1)
        chart, caption = appstate.frozen_chart(
            f"placement.replay|{appstate.recipe_key(run.recipe)}|{index}",
            lambda run=run, index=index: tc.replay_chart(run.replay, index),
        )
        with col:
            st.markdown(f"**{PLACEMENT_NAMES[p]}**")
            appstate.show_chart(chart, width="content", alt=caption)
            st.caption(f"{PLACEMENT_NAMES[p]}: {caption}")


training_replay()
