"""The color-vision lens: a sidebar control, mirrored in the URL as `cvd=protan|deutan|tritan`.

It changes only what is drawn (caches.figure and caches.latent_view pass it to the figure builders that draw
colors); every number and caption is computed from the true colors (excolor.cvd).
"""

from __future__ import annotations

import streamlit as st

from excolor import cvd

from . import urlstate

OFF = "off"
CVD = urlstate.UrlParam("cvd", OFF, urlstate.parse_choice((OFF, *cvd.KINDS)), key="cvd_lens")
LABELS = {OFF: "Off: true colors", **{kind: f"{kind.capitalize()}: {name}" for kind, name in cvd.NAMES.items()}}
CITATION = (
    "Simulation: Machado, Oliveira & Fernandes (2009), *A Physiologically-based Model for Simulation of Color "
    "Vision Deficiency*, IEEE TVCG 15(6), severity 1.0, in linear RGB."
)


def sidebar() -> str | None:
    """The lens selector (drawn where the caller puts it: the shared sidebar); the chosen kind or None."""
    urlstate.bind(CVD)
    choice = st.selectbox(
        "Color-vision lens",
        options=(OFF, *cvd.KINDS),
        format_func=LABELS.get,
        key=CVD.state_key,
        help="Draw swatches and latent views as a viewer with this color-vision deficiency sees them. "
        "Only the drawing changes: every number is computed from the true colors. " + CITATION,
    )
    urlstate.publish(CVD, choice)
    return current()


def current() -> str | None:
    """The lens this session has chosen: 'protan', 'deutan', 'tritan', or None (off, or outside a page run)."""
    try:
        return cvd.parse_kind(st.session_state.get(CVD.state_key))
    except Exception:  # no Streamlit session (a script or test calling the caches directly)
        return None
