"""Page 3 · Reconstruction error: how faithfully one trained model rebuilds every color, with no intervention.

Layout only: figures and their descriptions come from excolor.figures (charts, latents3d), the trained runs and
their (cached) evaluations from excolor.app.
"""

from excolor.app import shell

frame = shell.page("Reconstruction error")  # first: the menu and sidebar, before the heavy imports below

import streamlit as st

from excolor.app import caches, divergence, downloads, lens, training, urlstate, visitor
from excolor.designs import PRESET_TITLES
from excolor.figures import error_curves, intervention_notes, notebook, swatches
from excolor.figures.latents3d import VIEWS

# Three views side by side: the sphere (diameter VIEW_ZOOM / 1.3 px) must fit a third of a 1,400 px page's width
# and a 390 px phone's; its axis labels sit above and below it, so they need height, not width.
VIEW_HEIGHT = 380
VIEW_ZOOM = 330
# mirrored in the URL (urlstate.bind / publish): a link opens this very view
PLACEMENT = urlstate.placement_param("reconstruction_placement")
LOG = urlstate.UrlParam("log", False, urlstate.parse_bool, key="reconstruction_log")
VIEWS_TABS = {"shapes": "What the shapes mean", "3d": "Rotate it in 3-D"}  # URL text -> tab label
SPACE = urlstate.tabs_param("space", VIEWS_TABS, key="reconstruction_space")
METRIC_HELP = {
    "max": "The worst of 552,960 colors (hue in 1.5° steps, 48 saturations, 48 values).",
    "median": "A typical color: half of the 552,960 colors are reconstructed better than this.",
}


def introduction() -> None:
    st.title("Reconstruction error")
    st.markdown(
        "Before we intervene on red, we need to know how well the model works *without* any intervention. "
        "Every color goes in, through the 4-number bottleneck, and comes back out; the error of a color is the mean "
        "squared difference over R, G and B between what went in and what came out. "
        + error_curves.visible_error_basis()
    )


def choose_placement() -> str:
    urlstate.bind(PLACEMENT)
    return urlstate.placement_control(
        PLACEMENT,
        "Which of the two models trained for your seed to look at. Post-norm is Ex 2.4, the notebook's choice.",
    )


def error_numbers(placement: str, by: dict) -> None:
    """This model's max and median error, as a change from the other placement's, the notebook's beside."""
    compared = not any(r.diverged for r in by.values())  # a diverged run has no error to compare with
    ev = caches.evaluation(by[placement])
    other = divergence.evaluation(by["pre" if placement == "post" else "post"])
    name = PRESET_TITLES[placement].split(" ")[0]
    other_name = "pre-norm" if placement == "post" else "post-norm"
    for col, stat in zip(st.columns(2), ("max", "median"), strict=True):
        value, before = getattr(ev, f"{stat}_error"), getattr(other, f"{stat}_error")
        col.metric(
            f"{stat.capitalize()} error · {name}",
            f"{value:.3g}",
            delta=f"{value / before - 1:+.0%} vs {other_name}" if compared else None,
            delta_color="inverse",
            border=True,
            help=METRIC_HELP[stat],
        )
        col.caption(notebook.notebook_reference(placement, "baseline", stat))  # SPEC §8, beside ours
    st.caption(
        intervention_notes.error_summary(ev, PRESET_TITLES[placement], intervened=False)
        + " "
        + intervention_notes.error_summary(other, other_name, intervened=False)
        + " "
        + intervention_notes.SELECTIVITY_DEFINITION
    )


def true_vs_reconstructed(run) -> None:
    st.subheader("True vs reconstructed colors")
    panels, caption = caches.figure(swatches.swatch_panels, run, step=16)  # big cells: it is projected in class
    caches.show_panels(panels, per_row=2)
    st.caption(caption)
    st.markdown(
        "Each square is a color as the model **rebuilt** it, with the **true** color as a smaller square inside. "
        "Where the two match you see one solid square. Hover over a square for its hue, saturation, value, both hex "
        "codes and its error. In the notebook's model the most vivid colors (top row of the S = 1 panel) came back a "
        "little washed out and white a touch grey: the caption above lists where yours differs most."
    )
    st.markdown(lens.red_passage(lens.current()))


@st.fragment
def where_the_error_is(placement: str, by: dict) -> None:
    """The error curves; a fragment, so the log switch redraws these three panels only."""
    st.subheader("Where the error is")
    log = urlstate.toggle_control(
        LOG,
        "Logarithmic error axis",
        help="Small errors become visible next to large ones. Errors of exactly 0 are drawn at 1e-7.",
    )
    panels, caption = caches.figure(error_curves.error_curve_panels, by[placement], of="curves", log=log, height=200)
    caches.show_panels(panels, per_row=3)
    st.caption(caption)
    with st.expander("What to look for", expanded=True):
        bullets = error_curves.look_for({p: caches.evaluation(r).curves for p, r in by.items()}, placement)
        st.markdown("\n".join(f"- {b}" for b in bullets))


@st.fragment
def latent_space(run) -> None:
    """The bottleneck in three 3-D views side by side, what its shapes mean, and its coordinates to download.

    The views are a tab opened on demand (mirrored in the URL as `space=3d`): three 8,000-point WebGL canvases are
    most of this page's bytes and the slowest thing it draws. A fragment, so opening the tab reruns only this."""
    st.subheader("Latent space")
    st.markdown(
        "The bottleneck of 8,000 colors (a 20 × 20 × 20 RGB grid), three of its four dimensions at a time. Each dot "
        "is ringed in its **reconstructed** color with its **true** color at the centre; the dark disc is the unit "
        "sphere they all lie on. Drag to rotate, scroll to zoom."
    )
    tabs = urlstate.tabs_control(SPACE, VIEWS_TABS)
    with tabs["shapes"]:
        if tabs["shapes"].open:
            what_the_shapes_mean()
    with tabs["3d"]:
        if tabs["3d"].open:
            latent_views(run)
    st.download_button(
        "⬇ Latent coordinates (CSV)",
        data=downloads.latents_file(caches.evaluation(run)),
        file_name=f"{downloads.file_stem(run)}-latents.csv",
        mime="text/csv",
        on_click="ignore",
        key="reconstruction_latents_csv",
        help="The 8,000 colors of the grid shown above: true RGB, reconstructed RGB and the 4 latent coordinates.",
    )


def latent_views(run) -> None:
    for col, dims in zip(st.columns(3), VIEWS, strict=True):
        with col:
            st.markdown("**dims {}, {}, {}** (across, up, toward you)".format(*dims))
            deck, caption = caches.latent_view(run, None, dims, size=VIEW_ZOOM)
            st.pydeck_chart(deck, height=VIEW_HEIGHT, alt=caption)
            st.caption(caption)


def what_the_shapes_mean() -> None:
    st.markdown(
        "**What the shapes mean.** The first view looks straight down on a color wheel: the vivid hues run round the "
        "rim in rainbow order, with red at 12 o'clock because the anchor regularizer put it on dimension 0; white "
        "faces you and black hides on the far side. The other two views turn the sphere so that red faces you. The "
        "planarity regularizer pulls vivid colors onto the plane of dimensions 0 and 1, so they trace a band through "
        "the middle, and paler and darker versions of each hue spread away from it over a dome. A smooth wheel and "
        "dome mean that similar colors get similar latents — which is what lets an intervention on red spare "
        "everything else. The notebook found the post-norm dome tidier than the pre-norm one, its primaries more "
        "evenly spaced around the hub: switch the placement above to compare."
    )


def main() -> None:
    introduction()
    placement = choose_placement()
    runs = training.trained(visitor.current_recipes(), label="Training both placements")
    if runs is None:
        st.stop()
    by = {run.recipe.design.text: run for run in runs}
    divergence.warn(runs)
    if not divergence.skip(by[placement]):  # every figure below is of this run
        error_numbers(placement, by)
        true_vs_reconstructed(by[placement])
        where_the_error_is(placement, by)
        latent_space(by[placement])
    frame.finish()


main()
