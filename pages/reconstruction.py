"""Page 3 · Reconstruction error: how faithfully one trained model rebuilds every color, with no intervention.

Layout only: figures and their descriptions come from excolor.figures (charts, latents3d), the trained runs and
their (cached) evaluations from excolor.app.
"""

from excolor.app import shell

frame = shell.page("Reconstruction error")  # first: the menu and sidebar, before the heavy imports below

import streamlit as st

from excolor.app import caches, divergence, downloads, training, urlstate, visitor
from excolor.figures import charts
from excolor.figures.latents3d import VIEWS
from excolor.losses import PLACEMENT_NAMES

# Three views side by side: the sphere (diameter VIEW_ZOOM / 1.3 px) must fit a third of a 1,400 px page's width
# and a 390 px phone's; its axis labels sit above and below it, so they need height, not width.
VIEW_HEIGHT = 380
VIEW_ZOOM = 330
# mirrored in the URL (urlstate.bind / publish): a link opens this very view
PLACEMENT = urlstate.placement_param("reconstruction_placement")
LOG = urlstate.UrlParam("log", False, urlstate.parse_bool, key="reconstruction_log")

st.title("Reconstruction error")
st.markdown(
    "Before we intervene on red, we need to know how well the model works *without* any intervention. "
    "Every color goes in, through the 4-number bottleneck, and comes back out; the error of a color is the mean "
    "squared difference over R, G and B between what went in and what came out. " + charts.visible_error_basis()
)

urlstate.bind(PLACEMENT)
placement = urlstate.placement_control(
    PLACEMENT, "Which of the two models trained for your seed to look at. Post-norm is Ex 2.4, the notebook's choice."
)
runs = training.trained(visitor.current_recipes(), label="Training both placements")
if runs is None:
    st.stop()
by = {run.recipe.placement: run for run in runs}
run = by[placement]
divergence.warn(runs)
if divergence.skip(run):  # every figure below is of this run
    frame.finish()
    st.stop()
compared = not any(r.diverged for r in runs)  # a diverged run has no error to compare with
ev = caches.evaluation(run)
other = divergence.evaluation(by["pre" if placement == "post" else "post"])
name = PLACEMENT_NAMES[placement].split(" ")[0]
other_name = "pre-norm" if placement == "post" else "post-norm"

cols = st.columns(2)
cols[0].metric(
    f"Max error · {name}",
    f"{ev.max_error:.3g}",
    delta=f"{ev.max_error / other.max_error - 1:+.0%} vs {other_name}" if compared else None,
    delta_color="inverse",
    border=True,
    help="The worst of 552,960 colors (hue in 1.5° steps, 48 saturations, 48 values).",
)
cols[1].metric(
    f"Median error · {name}",
    f"{ev.median_error:.3g}",
    delta=f"{ev.median_error / other.median_error - 1:+.0%} vs {other_name}" if compared else None,
    delta_color="inverse",
    border=True,
    help="A typical color: half of the 552,960 colors are reconstructed better than this.",
)
for col, stat in zip(cols, ("max", "median"), strict=True):
    col.caption(charts.notebook_reference(placement, "baseline", stat))  # SPEC §8, beside ours
st.caption(
    charts.error_summary(ev, PLACEMENT_NAMES[placement])
    + " "
    + charts.error_summary(other, other_name)
    + " "
    + charts.SELECTIVITY_DEFINITION
)

st.subheader("True vs reconstructed colors")
panels, caption = caches.figure(charts.swatch_panels, run, step=16)  # big cells: it is projected in class
caches.show_panels(panels, per_row=2)
st.caption(caption)
st.markdown(
    "Each square is a color as the model **rebuilt** it, with the **true** color as a smaller square inside. "
    "Where the two match you see one solid square. Hover over a square for its hue, saturation, value, both hex "
    "codes and its error. In the notebook's model the most vivid colors (top row of the S = 1 panel) came back a "
    "little washed out and white a touch grey: the caption above lists where yours differs most."
)

st.subheader("Where the error is")
log = urlstate.toggle_control(
    LOG,
    "Logarithmic error axis",
    help="Small errors become visible next to large ones. Errors of exactly 0 are drawn at 1e-7.",
)
panels, caption = caches.figure(charts.error_curve_panels, run, of="curves", log=log, height=200)
caches.show_panels(panels, per_row=3)
st.caption(caption)
with st.expander("What to look for", expanded=True):
    bullets = charts.look_for({p: caches.evaluation(r).curves for p, r in by.items()}, placement)
    st.markdown("\n".join(f"- {b}" for b in bullets))

st.subheader("Latent space")
st.markdown(
    "The bottleneck of 8,000 colors (a 20 × 20 × 20 RGB grid), three of its four dimensions at a time. Each dot "
    "is ringed in its **reconstructed** color with its **true** color at the centre; the dark disc is the unit "
    "sphere they all lie on. Drag to rotate, scroll to zoom."
)
for col, dims in zip(st.columns(3), VIEWS, strict=True):
    with col:
        st.markdown("**dims {}, {}, {}** (across, up, toward you)".format(*dims))
        deck, caption = caches.latent_view(run, None, dims, size=VIEW_ZOOM)
        st.pydeck_chart(deck, height=VIEW_HEIGHT, alt=caption)
        st.caption(caption)
st.download_button(
    "⬇ Latent coordinates (CSV)",
    data=downloads.latents_file(ev),
    file_name=f"{downloads.file_stem(run)}-latents.csv",
    mime="text/csv",
    on_click="ignore",
    key="reconstruction_latents_csv",
    help="The 8,000 colors of the grid shown above: true RGB, reconstructed RGB and the 4 latent coordinates.",
)
st.markdown(
    "**What the shapes mean.** The first view looks straight down on a color wheel: the vivid hues run round the "
    "rim in rainbow order, with red at 12 o'clock because the anchor regularizer put it on dimension 0; white faces "
    "you and black hides on the far side. The other two views turn the sphere so that red faces you. The planarity "
    "regularizer pulls vivid colors onto the plane of dimensions 0 and 1, so they trace a band through the middle, "
    "and paler and darker versions of each hue spread away from it over a dome. A smooth wheel and dome mean that "
    "similar colors get similar latents — which is what lets an intervention on red spare everything else. The "
    "notebook found the post-norm dome tidier than the pre-norm one, its primaries more evenly spaced around the "
    "hub: switch the placement above to compare."
)

frame.finish()
