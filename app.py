"""excolor: entry point. Navigation, the shared sidebar, and the start of background training."""

import sys

import streamlit as st

st.set_page_config(page_title="excolor · anchoring red", page_icon="🔴", layout="wide")

PAGES = [
    st.Page("app_pages/hypothesis.py", title="Hypothesis", icon="💡", default=True),
    st.Page("app_pages/placement.py", title="Regularizer placement", icon="📍"),
    st.Page("app_pages/reconstruction.py", title="Reconstruction error", icon="🎨"),
    st.Page("app_pages/interventions.py", title="Suppression vs repulsion", icon="🧲"),
    st.Page("app_pages/evidence.py", title="Evidence across seeds", icon="📊"),
]
page = st.navigation(PAGES)

with st.sidebar:
    st.markdown("**Experiment 2.4** · where should the regularizers act: before or after normalization?")
    seed_slot = st.container()
    status_slot = st.empty()
    link_slot = st.empty()
if "appstate" not in sys.modules:  # the first visitor after a (re)start: PyTorch takes about a second to load
    status_slot.progress(0.0, text="Starting: loading PyTorch, then training both placements …")

import torch  # noqa: E402  (after the first paint on purpose: the visitor sees progress at once)

import appstate  # noqa: E402

torch.set_num_threads(1)  # a 263-parameter model: extra threads cost more than they give


def show_training_status(slot, recipes) -> None:
    fraction, text = appstate.training_status(recipes)
    if fraction < 1.0:
        slot.progress(fraction, text=text)
    else:
        slot.caption(f"✅ seed {recipes[0].seed}: both placements trained")


with seed_slot:
    appstate.seed_from_sidebar()
recipes = appstate.current_recipes()
appstate.start_training(recipes)  # both placements, batched; pages wait for it only when they need it
show_training_status(status_slot, recipes)
appstate.show_link(link_slot)  # as of the last run, in case the page stops early; refreshed below

page.run()
show_training_status(status_slot, recipes)  # the page may have waited for training: don't leave a stale bar
appstate.show_link(link_slot)  # after the page: it has published its own controls to the URL by now
