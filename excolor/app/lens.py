"""The color-vision lens: a sidebar control, mirrored in the URL as `cvd=protan|deutan|tritan`.

It changes only what is drawn (caches.figure and caches.latent_view pass it to the figure builders that draw
colors); every number and caption is computed from the true colors (excolor.cvd).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from excolor import colors, cvd

from . import urlstate

OFF = "off"
CVD = urlstate.UrlParam("cvd", OFF, urlstate.parse_choice((OFF, *cvd.KINDS)), key="cvd_lens")
LABELS = {OFF: "Off: true colors", "protan": "Protan: no red cones", "deutan": "Deutan: no green cones",
          "tritan": "Tritan: no blue cones"}  # fmt: skip
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
    if choice != OFF or CVD.name in st.query_params:  # a link without a lens stays as short as it was
        urlstate.publish(CVD, choice)
    return current()


def current() -> str | None:
    """The lens this session has chosen: 'protan', 'deutan', 'tritan', or None (off, or outside a page run)."""
    try:
        return cvd.parse_kind(st.session_state.get(CVD.state_key))
    except Exception:  # no Streamlit session (a script or test calling the caches directly)
        return None


def red_passage(kind: str | None) -> str:
    """What the lens shows about "red" and the anchored direction (lens on), or a one-line pointer to it (off)."""
    if kind is None:
        return (
            "👓 About 1 in 12 boys has a red-green color-vision deficiency: the **color-vision lens** in the sidebar "
            "redraws these swatches and the latent views as a viewer with a color-vision deficiency sees them."
        )
    red, green = (np.array(c, dtype=float) for c in ((1, 0, 0), (0, 1, 0)))
    seen = {name: cvd.simulate(c, kind) for name, c in (("red", red), ("green", green))}
    hexes = {name: colors.to_hex(c) for name, c in seen.items()}
    hues = {name: int(cvd.hue_deg(c)) for name, c in seen.items()}
    return (
        f"👓 **Through the lens of {cvd.NAMES[kind]}.** Pure red `#ff0000` looks like `{hexes['red']}` "
        f"(hue {hues['red']}°) and pure green `#00ff00` like `{hexes['green']}` (hue {hues['green']}°)"
        + (
            ": red and green take almost one hue, told apart by lightness alone. "
            if abs(hues["red"] - hues["green"]) <= 30
            else ". "
        )
        + 'The model never sees through a lens: its anchored "red" direction (latent dimension 0) is a direction '
        "in the RGB numbers it is given, not in what this viewer sees. Its errors, and every number on this page, "
        "are the same with the lens on or off; only the drawing changes. " + CITATION
    )
