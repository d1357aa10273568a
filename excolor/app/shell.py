"""The page shell: what every page draws first (page setup, the menu, the sidebar, training status).

Streamlit runs the app in its folder mode (`app.py` plus one script per page in `pages/`) with its own sidebar
navigation hidden (`client.showSidebarNavigation = false`): each page script calls `page()` before anything else,
so a visitor who arrives by a shared deep link (`/interventions?sa=0.3`) on a freshly started server gets the same
menu, seed, training and link as one who arrives at the root. (`st.navigation` with a `pages/` folder beside it is
not an option: Streamlit 1.67 then decides per process, at its first session, to run the folder mode without the
entry script.)

This module imports only Streamlit at the top: the first paint happens before PyTorch loads (~1 s).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import streamlit as st

# Keyboard users must see where they are (WCAG 2.4.7): a ring on every focused control, link, tab, chart toolbar
# button and scrollable area, in a blue that keeps 3:1 against both themes' backgrounds (#2563eb: 5.2 on white,
# 3.6 on the dark theme's #171614). Only for keyboard focus (:focus-visible), so a mouse click draws no ring.
# In the dark theme a selected pill's label takes the text color: the primary on its own 20% tint reaches only
# 3.6:1 (WCAG 1.4.3), and the pill's tint and border still mark it as selected. Text drawn in the primary on the
# dark page (a slider's value, the open tab's label: 3.9:1) takes a lighter red of the same hue (8.0:1).
PAGE_CSS = """<style>
:is(a, button, input, select, textarea, summary, [tabindex], [role="slider"]):focus-visible {
  outline: 3px solid #2563eb !important; outline-offset: 2px !important;
}
@media (prefers-color-scheme: dark) {
  .stButtonGroup [data-selected="true"] [data-testid="stMarkdownContainer"] p { color: #edebe8; }
  [data-testid="stSliderThumbValue"] p, [data-testid="stTab"][aria-selected="true"] p { color: #ff8a94; }
}
</style>"""

# (script, menu label, icon): the menu's order is the argument's order
PAGES = (
    ("app.py", "Hypothesis", "💡"),
    ("pages/placement.py", "Regularizer placement", "📍"),
    ("pages/reconstruction.py", "Reconstruction error", "🎨"),
    ("pages/interventions.py", "Suppression vs repulsion", "🧲"),
    ("pages/evidence.py", "Experiment lab", "📊"),
    ("pages/projector.py", "Projector", "📽️"),
)
TEACHER_PAGES = {"pages/projector.py"}  # in the menu only for a class's teacher; never a place students follow to
TEACHER_STATE = "_teacher"  # session state: (class code, teacher key) once a teacher link was accepted (app.teacher)


@dataclass
class Frame:
    """The sidebar slots a page refreshes when it is done (its controls have reached the URL by then)."""

    status_slot: object
    link_slot: object
    recipes: tuple

    def finish(self) -> None:
        from . import urlstate

        show_training_status(self.status_slot, self.recipes)
        urlstate.show_link(self.link_slot)


def page(title: str) -> Frame:
    """Set the page up and draw the shared sidebar; start training this visitor's pair in the background."""
    st.set_page_config(page_title=f"{title} · excolor", page_icon="🔴", layout="wide")
    st.html(PAGE_CSS)
    with st.sidebar:
        st.markdown("**Experiment 2.4** · where should the regularizers act: before or after normalization?")
        for script, label, icon in PAGES:
            if script not in TEACHER_PAGES or TEACHER_STATE in st.session_state:
                st.page_link(script, label=label, icon=icon)
        seed_slot = st.container()
        status_slot = st.empty()
        link_slot = st.empty()
    if "excolor.app.training" not in sys.modules:  # the first visitor after a (re)start: PyTorch takes ~1 s to load
        status_slot.progress(0.0, text="Starting: loading PyTorch, then training both placements …")

    from . import classroom, follow, lens, training, urlstate, visitor

    with seed_slot:
        urlstate.seed_from_sidebar()
        lens.sidebar()
        follow.set_page(next((script for script, label, _ in PAGES if label == title), None))
        classroom.sidebar()  # the class code from the link, if any, kept in every link from here on
    recipes = visitor.current_recipes()
    training.start(recipes)  # both placements, batched; pages wait for it only when they need it
    show_training_status(status_slot, recipes)
    urlstate.show_link(link_slot)  # as of now, in case the page stops early; Frame.finish() refreshes it
    return Frame(status_slot, link_slot, recipes)


def show_training_status(slot, recipes) -> None:
    from . import divergence, training

    status = training.status_for(training.visitor_id(), recipes)
    if status.error:
        slot.caption(f"⚠️ seed {recipes[0].seed}: {status.error}")
    elif not status.done:
        slot.progress(status.fraction, text=status.text)
    else:
        slot.caption(divergence.status_line(recipes) or f"✅ seed {recipes[0].seed}: both placements trained")
