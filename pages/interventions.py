"""Page 4 · Suppression vs repulsion: two ways to take red out at inference time, side by side, with their knobs.

Layout only: interventions come from excolor.interventions, figures and their descriptions from excolor.charts
and excolor.figures.latents3d, trained runs and (cached) evaluations and latent views from excolor.app.
"""

from excolor.app import shell

frame = shell.page("Suppression vs repulsion")  # first: the menu and sidebar, before the heavy imports below

import math

import streamlit as st

from excolor.app import caches, classroom, divergence, downloads, training, urlstate, visitor
from excolor.figures import intervention_notes, mappings, named_colors, notebook, swatches
from excolor.figures.error_curves import error_curve_panels
from excolor.figures.latents3d import VIEWS
from excolor.interventions import Ablation, BezierMapper, BoundedFalloff, Repulsion, Suppression
from excolor.text import pct

DEFAULTS = {"sup_a": 0.0, "sup_b": 1.0, "sup_p": 2.0, "rep_a": 0.0, "rep_b": 0.5}  # the notebook's (SPEC §6)
ALIGNMENTS = [round(i / 20, 2) for i in range(21)]  # d = cos θ in steps of 0.05; a < 1, so a stops at 0.95
VIEW_HEIGHT, VIEW_ZOOM = 420, 380  # one view per intervention, side by side
VIEW_TILT = 25  # look at the cones from slightly above, so their rims show as ellipses, not edge-on
STRENGTHS = [round(i / 20, 2) for i in range(21)]  # b of suppression: 0 to 1 in steps of 0.05
SHAPES = [i / 4 for i in range(1, 33)]  # p of suppression: 0.25 to 8 in steps of 0.25
# Every control that changes a result is mirrored in the URL (urlstate.bind / publish): a link opens this view.
URL = {
    "placement": urlstate.placement_param("interventions_placement"),
    "sup_a": urlstate.UrlParam("sa", DEFAULTS["sup_a"], urlstate.parse_choice(ALIGNMENTS[:-1]), key="sup_a"),
    "sup_b": urlstate.UrlParam("sb", DEFAULTS["sup_b"], urlstate.parse_choice(STRENGTHS), key="sup_b"),
    "sup_p": urlstate.UrlParam("sp", DEFAULTS["sup_p"], urlstate.parse_choice(SHAPES), key="sup_p"),
    "rep_a": urlstate.UrlParam("ra", DEFAULTS["rep_a"], urlstate.parse_choice(ALIGNMENTS[:-1]), key="rep_a"),
    "rep_b": urlstate.UrlParam("rb", DEFAULTS["rep_b"], urlstate.parse_choice(ALIGNMENTS), key="rep_b"),
    "log": urlstate.UrlParam("log", False, urlstate.parse_bool, key="interventions_log"),
    "view": urlstate.view_param("interventions_view"),
}
SPACE_TABS = {"angles": "Angle from red (all four dimensions)", "3d": "In 3-D, with the cones"}  # URL text -> label
SPACE = urlstate.tabs_param("space", SPACE_TABS, key="interventions_space")


def angle(d: float) -> str:
    return f"{math.degrees(math.acos(d)):.0f}°"


def reset() -> None:
    st.session_state.update(DEFAULTS)


def introduction() -> None:
    st.title("Suppression vs repulsion")
    for name, param in URL.items():  # from the link on a first visit, else the controls' own state; notices here
        if name != "view":  # bound in the 3-D tab, which draws its control
            urlstate.bind(param)
    st.markdown(
        "Red now has a known home: the direction $c = (1, 0, 0, 0)$ of the bottleneck. Both interventions act there, "
        "at inference time only, on a latent's **alignment** with red, $d = z \\cdot c = \\cos\\theta$ (1 for "
        "exact red, 0 at 90° from it). **Suppression** shrinks the red component of latents inside a cone around "
        "$c$; **repulsion** rotates them out of a hole around $c$, so they stay on the sphere but no longer point at "
        "red. A good intervention breaks red and leaves every other color alone."
    )


def cone_start(key: str, help: str) -> float:
    """The a of either intervention: the alignment (and angle from red) where its cone starts."""
    return st.select_slider(
        "a · where the cone starts (alignment, angle from red)",
        options=ALIGNMENTS[:-1],
        format_func=lambda d: f"{d:.2f} (cone {angle(d)})",
        key=key,
        help=help,
    )


def intervention_curve(run, intervention) -> None:
    """How the intervention maps a latent's alignment with red."""
    chart, caption = caches.figure(mappings.mapping_chart, run, intervention, of="mapping", width=340, height=240)
    caches.show_chart(chart, width="content")
    st.caption(caption)


def suppression_controls(run) -> Suppression:
    st.subheader("Suppression")
    st.latex(r"z' = z - g(d)\,(z \cdot c)\,c")  # two short lines: one long one is clipped in a half-width column
    st.latex(r"g(d) = b \left(\frac{d - a}{1 - a}\right)^{p} \text{ for } d > a, \text{ else } 0")
    sup_a = cone_start("sup_a", "Latents less aligned with red than a (further than acos a) are left alone.")
    sup_b = st.slider("b · strength at exact red", 0.0, 1.0, step=0.05, key="sup_b", help="1 removes red entirely.")
    sup_p = st.slider("p · rim shape", 0.25, 8.0, step=0.25, key="sup_p", help="Above 1: a soft rim and a sharp hub.")
    for name, value in (("sup_a", sup_a), ("sup_b", sup_b), ("sup_p", sup_p)):
        urlstate.publish(URL[name], value)
    suppression = Suppression(BoundedFalloff(sup_a, sup_b, sup_p))
    st.markdown(f"a = {sup_a:.2f} (cone {angle(sup_a)}) · b = {sup_b:.2f} · p = {sup_p:g}")
    intervention_curve(run, suppression)
    return suppression


def repulsion_controls(run) -> Repulsion:
    st.subheader("Repulsion")
    st.latex(r"z' = t\,c + \sqrt{1 - t^2}\,u, \qquad t = \mathrm{mapper}(d)")
    rep_a = cone_start("rep_a", "Latents less aligned with red than a are left where they are.")
    rep_b = st.select_slider(
        "b · where exact red is sent (alignment, angle of the hole)",
        options=ALIGNMENTS,
        format_func=lambda d: f"{d:.2f} (hole {angle(d)})",
        key="rep_b",
        help="Exact red ends up at alignment b: a hole of half-angle acos b opens around red. b must be at least a.",
    )
    urlstate.publish(URL["rep_a"], rep_a)
    urlstate.publish(URL["rep_b"], rep_b)
    if rep_b < rep_a:
        st.warning(
            f"b = {rep_b:.2f} (hole {angle(rep_b)}) is below a = {rep_a:.2f} (cone {angle(rep_a)}): the hole must "
            f"fit inside the cone, so b ≥ a. Showing b = a = {rep_a:.2f} until you raise b or lower a.",
            icon="⚠️",
        )
        rep_b = rep_a
    repulsion = Repulsion(BezierMapper(rep_a, rep_b))
    st.markdown(f"a = {rep_a:.2f} (cone {angle(rep_a)}) · b = {rep_b:.2f} (hole {angle(rep_b)})")
    intervention_curve(run, repulsion)
    return repulsion


def the_two_interventions(run) -> dict:
    """Both interventions' formulas, knobs and curves side by side: {"suppression": …, "repulsion": …}."""
    st.button(
        "↺ Reset to the notebook's settings",
        on_click=reset,
        key="reset",
        help="Suppression a = 0, b = 1, p = 2; repulsion a = 0, b = cos 60° = 0.5.",
    )
    left, right = st.columns(2, gap="large")
    with left:
        suppression = suppression_controls(run)
    with right:
        repulsion = repulsion_controls(run)
    return {"suppression": suppression, "repulsion": repulsion}


def error_numbers(run, placement: str, interventions: dict) -> None:
    """Max and median error under each intervention, as a multiple of the baseline's, the notebook's beside."""
    st.subheader("Error over 552,960 colors")
    baseline = caches.evaluation(run)
    evs = {name: caches.evaluation(run, iv) for name, iv in interventions.items()}
    cols = st.columns(4)
    for i, (name, ev) in enumerate(evs.items()):
        label = name.capitalize()
        cols[2 * i].metric(
            f"{label} · max error",
            f"{ev.max_error:.3g}",
            delta=f"{ev.max_error / baseline.max_error:.0f}× baseline",
            delta_color="off",
            border=True,
            help="The worst color of the dense grid (hue in 1.5° steps, 48 saturations, 48 values).",
        )
        cols[2 * i + 1].metric(
            f"{label} · median error",
            f"{ev.median_error:.3g}",
            delta=f"{ev.median_error / baseline.median_error:.2f}× baseline",
            delta_color="off",
            border=True,
            help="A typical color. Close to the baseline's means most colors are left alone.",
        )
    for i, (name, iv) in enumerate(interventions.items()):
        for j, stat in enumerate(("max", "median")):  # SPEC §8, beside ours, when the settings are the notebook's
            cols[2 * i + j].caption(notebook.notebook_reference(placement, name, stat, iv))
    summaries = [intervention_notes.error_summary(baseline, "baseline", intervened=False)]
    summaries += [intervention_notes.error_summary(e, n) for n, e in evs.items()]
    st.caption(" ".join(summaries))


def true_vs_reconstructed(run, interventions: dict) -> None:
    st.subheader("True vs reconstructed colors")
    for col, (name, iv) in zip(st.columns(2, gap="large"), interventions.items(), strict=True):
        with col:
            chart, caption = caches.figure(swatches.swatch_chart, run, iv, title=name.capitalize(), columns=1, step=12)
            caches.show_chart(chart, width="content")
            st.caption(caption)
    red_note = intervention_notes.repulsion_red_note(
        caches.evaluation(run), caches.evaluation(run, interventions["repulsion"])
    )
    st.markdown(f"**Where does red go under repulsion?** {red_note}")


@st.fragment
def error_curves(run, interventions: dict) -> None:
    """Both interventions' error curves; a fragment, so the log switch redraws these panels only."""
    st.subheader("Error curves")
    log = st.toggle("Logarithmic error axis", key="interventions_log", help="Shows how far from red the error reaches.")
    urlstate.publish(URL["log"], log)
    for name, iv in interventions.items():
        st.markdown(f"**{name.capitalize()}**")
        panels, caption = caches.figure(error_curve_panels, run, iv, of="curves", log=log)
        caches.show_panels(panels, per_row=3)
        st.caption(caption)


@st.fragment
def latent_space_with_cones(run, interventions: dict) -> None:
    """Each intervention's latents: their angles from red before and after, or (a tab opened on demand, mirrored in
    the URL as `space=3d`) in 3-D with its cones; and a download. The two 8,000-point WebGL views are most of this
    page's bytes and the slowest thing it draws, so a visitor pays for them when opening them; a fragment, so
    switching tabs or views reruns only this section."""
    st.subheader("Latent space, with the cones")
    tabs = urlstate.tabs_control(SPACE, SPACE_TABS)
    with tabs["angles"]:
        if tabs["angles"].open:
            angle_strips(run, interventions)
    with tabs["3d"]:
        if tabs["3d"].open:
            latent_views(run, interventions)
    for col, name in zip(st.columns(2, gap="large"), interventions, strict=True):
        col.download_button(
            f"⬇ Latent coordinates under {name} (CSV)",
            data=downloads.latents_file(caches.evaluation(run, interventions[name])),
            file_name=f"{downloads.file_stem(run)}-{name}-latents.csv",
            mime="text/csv",
            on_click="ignore",
            key=f"interventions_latents_{name}",
            help="The 8,000 colors of the grid: true RGB, reconstructed RGB and the 4 latent coordinates after "
            f"the {name}.",
        )


def angle_strips(run, interventions: dict) -> None:
    """The latents without a projection: each color's angle from red in all four dimensions, before and after."""
    for col, (name, iv) in zip(st.columns(2, gap="large"), interventions.items(), strict=True):
        with col:
            st.markdown(f"**{name.capitalize()}**")
            chart, caption = caches.figure(
                mappings.angle_shift_chart, run, {"baseline": None, name: iv}, cones=iv.cones(), width="container"
            )
            caches.show_chart(chart)
            st.caption(caption)


def latent_views(run, interventions: dict) -> None:
    """Each intervention's latents in 3-D with its cones, in one of latents3d.VIEWS (mirrored in the URL)."""
    urlstate.bind(URL["view"])
    view = urlstate.view_control(
        URL["view"],
        "(1, 0, 2) looks down on the color wheel with red at the top; the other two look at red head-on, from two "
        "sides.",
    )
    st.markdown(
        "Each dot is ringed in its reconstructed color with its true color at the centre; drag to rotate. The dashed "
        "white cone is where an intervention acts (half-angle acos a); repulsion's yellow cone is the hole it opens "
        "(half-angle acos b). Suppressed latents sink *inside* the sphere; repelled ones slide along its surface."
    )
    for col, (name, iv) in zip(st.columns(2, gap="large"), interventions.items(), strict=True):
        with col:
            st.markdown(f"**{name.capitalize()}**")
            deck, caption = caches.latent_view(run, iv, VIEWS[view], size=VIEW_ZOOM, tilt=VIEW_TILT)
            st.pydeck_chart(deck, height=VIEW_HEIGHT, alt=caption)
            st.caption(caption)


def how_targeted(run, runs, interventions: dict) -> None:
    """Collateral damage and selectivity of the baseline, both interventions and ablation, the 12 named hues, and the
    metrics file."""
    st.subheader("How targeted is it?")
    compared = {"baseline": None, **interventions, "ablation": Ablation()}
    st.markdown(
        "**Collateral damage** answers *how much do the other colors suffer?* "
        f"{intervention_notes.collateral_definition()} **Selectivity** r is how much the damage is shaped like red: "
        "the correlation, over 8,000 colors, between a color's error and its squared similarity to pure red. A narrow "
        "cone that harms almost nothing can score a lower r than a wide one that harms much more. **Ablation** "
        "(beyond the notebook) is the blunt alternative: delete latent dimension 0 from the network altogether."
    )
    evs = {name: caches.evaluation(run, iv) for name, iv in compared.items()}
    for col, (name, e) in zip(st.columns(4), evs.items(), strict=True):
        col.metric(  # a label short enough for a quarter of a projector's width
            f"{name.capitalize()} · collateral",
            intervention_notes.times(e.collateral),
            delta=f"{pct(100 * e.damaged_share)} visibly damaged",
            delta_color="off",
            delta_arrow="off",  # a share, not a change: no arrow
            border=True,
            help="Collateral damage: the median error of the colors far from red ÷ the baseline's median on them, "
            "and the share of them with an error above 0.001.",
        )
        col.metric(f"{name.capitalize()} · selectivity r", f"{e.selectivity:.2f}", border=True)
    st.caption(
        "Collateral damage: "
        + "; ".join(f"{name} {intervention_notes.collateral_phrase(e)}" for name, e in evs.items())
        + ". Selectivity r (Pearson, over the 8,000 colors of a 20 × 20 × 20 RGB grid): "
        + ", ".join(f"{name} {e.selectivity:.2f}" for name, e in evs.items())
        + ". The baseline's numbers are for reference only: its collateral damage is 1.00× by definition and its "
        "errors are tiny wherever they fall."
    )
    title = "Error of the 12 named hues (S = V = 1)"
    chart, caption = caches.figure(named_colors.named_colors_chart, run, compared, title=title)
    caches.show_chart(chart, width="content")
    st.caption(caption)
    baseline, repelled = caches.evaluation(run), caches.evaluation(run, interventions["repulsion"])
    ablated = caches.evaluation(run, Ablation())
    st.markdown(
        f"{intervention_notes.ablation_note(baseline, ablated)} Under repulsion pure red comes back as "
        f"{intervention_notes.pure_red_after(baseline, repelled)}: *Where does red go under repulsion?* above says why."
    )
    st.download_button(
        "⬇ Metrics of both placements (CSV)",
        data=downloads.metrics_file(runs, compared),
        file_name=f"excolor-seed{run.recipe.seed}-metrics.csv",
        mime="text/csv",
        on_click="ignore",
        key="interventions_metrics_csv",
        help="Max and median error over 552,960 colors, selectivity r and collateral damage (with the share of colors "
        "far from red visibly damaged), for pre- and post-norm under the baseline, "
        "this page's suppression and repulsion settings, and ablation.",
    )


def your_prediction(run, placement: str) -> None:
    st.subheader("Your prediction")
    classroom.interventions_reveal(run, placement)  # at the notebook's settings; in a class, the class's split


def main() -> None:
    introduction()
    placement = urlstate.placement_control(
        URL["placement"], "Which of the two models trained for your seed to intervene on."
    )
    classroom.interventions_question(placement)  # of this placement's model; revealed at the end of the page
    runs = training.trained(visitor.current_recipes(), label="Training both placements")
    if runs is None:
        st.stop()
    run = {r.recipe.design.text: r for r in runs}[placement]
    divergence.warn(runs)
    interventions = the_two_interventions(run)
    if not divergence.skip(run):  # the curves above are the interventions' own; every figure below is of this run
        error_numbers(run, placement, interventions)
        true_vs_reconstructed(run, interventions)
        error_curves(run, interventions)
        latent_space_with_cones(run, interventions)
        how_targeted(run, runs, interventions)
        your_prediction(run, placement)
    frame.finish()


main()
