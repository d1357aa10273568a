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

import contextlib
import ctypes
import os
import sys
from dataclasses import dataclass

import streamlit as st

# PyTorch computes GELU with oneDNN, which compiles and keeps a kernel for every input shape it meets (~0.4 MB
# each): by default up to 1,024 of them, ~430 MB of a server that must fit in 1 GB. The app's passes use a few
# dozen shapes (excolor.evaluate.ROW_BLOCK), so a smaller cache loses nothing; read when the first kernel is built.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
KEEP_AT_MOST = 8 << 20  # bytes: more than an evaluation chunk's temporaries (~5 MB), reused, not faulted in again


def _return_freed_memory() -> None:
    """Have glibc give big freed blocks back to the system. By default it raises two thresholds as the process frees
    big blocks (up to 32 MB then served from its heaps, up to 64 MB kept free at a heap's top), and the script of
    every session runs in a thread that gets a heap of its own (up to 16 heaps on two cores): after a class the
    server held the high-water mark of each. Fixed at 8 MB, measured in the 30-visitor load test: peak RSS 604-617
    MB instead of 686-700 MB, page times and the 8-seed sweep unchanged. (Lower, at glibc's 128 kB: 565 MB, but the
    sweep took 30% longer.) These settings act at once on every heap; a no-op where libc is not glibc."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, KEEP_AT_MOST)
        libc.mallopt(M_TRIM_THRESHOLD, KEEP_AT_MOST)


_return_freed_memory()

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
    with st.sidebar:
        st.markdown("**Experiment 2.4** · where should the regularizers act: before or after normalization?")
        for script, label, icon in PAGES:
            if script not in TEACHER_PAGES or TEACHER_STATE in st.session_state:
                st.page_link(script, label=label, icon=icon)
        seed_slot = st.container()
        status_slot = st.empty()
        link_slot = st.empty()
    if "excolor.app.board" not in sys.modules:  # the first visitor after a (re)start: PyTorch takes ~1 s to load
        status_slot.progress(0.0, text="Starting: loading PyTorch, then training both placements …")

    import torch

    from . import board, classroom, follow, urlstate, visitor

    torch.set_num_threads(1)  # a 263-parameter model: extra threads cost more than they give
    with seed_slot:
        urlstate.seed_from_sidebar()
        follow.set_page(next((script for script, label, _ in PAGES if label == title), None))
        classroom.sidebar()  # the class code from the link, if any, kept in every link from here on
    recipes = visitor.current_recipes()
    board.start_training(recipes)  # both placements, batched; pages wait for it only when they need it
    show_training_status(status_slot, recipes)
    urlstate.show_link(link_slot)  # as of now, in case the page stops early; Frame.finish() refreshes it
    return Frame(status_slot, link_slot, recipes)


def show_training_status(slot, recipes) -> None:
    from . import board, divergence

    status = board.status_for(board.visitor_id(), recipes)
    if status.error:
        slot.caption(f"⚠️ seed {recipes[0].seed}: {status.error}")
    elif not status.done:
        slot.progress(status.fraction, text=status.text)
    else:
        slot.caption(divergence.status_line(recipes) or f"✅ seed {recipes[0].seed}: both placements trained")
