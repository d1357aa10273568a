"""What every chart shares: the inks and series colors, the log error axis, and the names of hues and loss terms.

Colors that *are* data (a swatch, a named hue) are literal hex strings drawn with ``scale=None``: red must be red
whatever the theme. Colors that only tell series apart sit at mid luminance, so they read on Streamlit's light and
dark backgrounds alike, and each meaning keeps one color on every page (a loss term, a placement).
"""

from __future__ import annotations

import math
from fractions import Fraction

import altair as alt
import numpy as np
import pandas as pd

from .. import colors

NEUTRAL_INK = "#888888"  # annotation text of the evaluation charts, legible on the light and the dark background
NEUTRAL = "#8A8A8A"  # lines and text of the training charts, legible on white and on near-black
LOG_FLOOR = 1e-7  # errors below this are drawn at this height on a log axis (a log axis cannot show 0)

# Okabe-Ito hues (distinguishable with the common color-vision deficiencies), grey for the sums.
TERM_COLORS = {
    "recon": "#56B4E9",
    "separate": "#E69F00",
    "anchor": "#D55E00",  # the term that pins red: a red-orange
    "unit": "#CC79A7",
    "planar": "#009E73",
    "total": "#9A9A9A",
    "lr": "#8C8CC8",
}
TERM_NAMES = {
    "recon": "reconstruction",
    "separate": "separate",
    "anchor": "anchor",
    "unit": "unitarity",
    "planar": "planarity",
    "total": "total loss",
    "lr": "learning rate",
}
PLACEMENT_COLORS = {"pre": "#E8833A", "post": "#3E8FD8"}


# --------------------------------------------------------------------------------------------------
# Names of colors


def fraction_label(x: float) -> str:
    """0, 1/3, 2/3, 1 for the swatch grid's saturation levels (and plain decimals for anything else)."""
    frac = Fraction(float(x)).limit_denominator(12)
    if abs(float(frac) - x) > 1e-9:
        return f"{x:.2f}"
    return str(frac)


def hue_name(hue_deg: float) -> str:
    """The nearest of the 12 named hues (30 degrees apart), or 'red-orange' style halfway between two."""
    steps = (float(hue_deg) % 360.0) / 30.0
    nearest = int(round(steps))
    if abs(steps - nearest) <= 0.25:
        return colors.NAMED_HUES[nearest % 12]
    below = int(np.floor(steps))
    return f"{colors.NAMED_HUES[below % 12]}-{colors.NAMED_HUES[(below + 1) % 12]}"


def hue_order(name: str) -> tuple[int, str]:
    """Sort key for hue_name() results, in-between names ('red-orange') right after their first hue."""
    return colors.NAMED_HUES.index(name.split("-")[0]), name


def describe_color(hue_deg: float, saturation: float, value: float) -> str:
    """A short human name for an HSV color, e.g. 'red (0°, S 1, V 1)', 'black', 'grey (V 0.43)'."""
    if value <= 1e-9:
        return "black"
    if saturation <= 1e-9:
        return "white" if value >= 1 - 1e-9 else f"grey (V {value:.2g})"
    return f"{hue_name(hue_deg)} ({hue_deg:.0f}°, S {fraction_label(saturation)}, V {value:.2g})"


# --------------------------------------------------------------------------------------------------
# Line colors that read on both themes


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.clip(c, 0, None) ** (1 / 2.4) - 0.055)


def line_color(hue_deg: float, low: float = 0.18, high: float = 0.4) -> str:
    """The hue itself, darkened or lightened just enough to read on a white and on a near-black page.

    Pure yellow vanishes on white and pure blue on black; scaling the linear RGB keeps the hue but moves
    the relative luminance into [low, high]. Red (0.21) and magenta (0.28) come through unchanged.
    """
    lin = srgb_to_linear(colors.hsv_to_rgb(np.array([hue_deg / 360.0, 1.0, 1.0])))
    lum = float(lin @ np.array([0.2126, 0.7152, 0.0722]))
    if lum > high:
        lin = lin * (high / lum)
    elif lum < low:
        lin = lin + (low - lum) / (1 - lum) * (1 - lin)
    return str(colors.to_hex(linear_to_srgb(lin)))


# Dash patterns for lines told apart by color: a viewer who cannot tell the colors apart (or a grey print) still
# tells the lines apart, and the legend (symbolType "stroke") shows each line's pattern beside its color.
DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 4], [12, 3], [4, 2, 1, 2])


def dash_scale(domain: list) -> alt.Scale:
    """One DASHES pattern per series of `domain` (cycling when there are more series than patterns)."""
    return alt.Scale(domain=list(domain), range=[DASHES[i % len(DASHES)] for i in range(len(domain))])


def term_color_scale(names: tuple[str, ...]) -> alt.Scale:
    """Each loss term (or schedule parameter) in its own color, named as TERM_NAMES names it."""
    return alt.Scale(domain=[TERM_NAMES[n] for n in names], range=[TERM_COLORS[n] for n in names])


# --------------------------------------------------------------------------------------------------
# Log axes


def log_safe(error: np.ndarray) -> np.ndarray:
    """Errors raised to LOG_FLOOR where smaller, so a log axis can draw them (tooltips keep the true value)."""
    return np.maximum(np.asarray(error, dtype=float), LOG_FLOOR)


def error_scale(log: bool, top: float | None = None) -> alt.Scale:
    """The error axis; `top` fixes its upper end, so separate charts can share one axis."""
    scale = alt.Scale(type="log", domainMin=LOG_FLOOR) if log else alt.Scale(type="linear", zero=True)
    return scale if top is None else alt.Scale(**scale.to_dict(), domainMax=top)


def error_axis(log: bool, top: float | None = None) -> alt.Axis:
    """The error axis's ticks: on a log axis, the powers of ten from LOG_FLOOR to `top` (the scale's upper end),
    never the uneven 2e-4, 3e-5, 1e-5 Vega picks by itself."""
    if not log:
        return alt.Axis()
    return alt.Axis(format=".0e", values=decades_within(LOG_FLOOR, top)) if top else alt.Axis(format=".0e")


def decades_within(low: float, high: float) -> list[float]:
    """The powers of ten from `low` to `high`, both ends included when they are one: ticks inside a log scale."""
    lo, hi = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
    return [float(10.0**e) for e in range(lo, hi + 1)]


def decades(values: pd.Series) -> list[float]:
    """Powers of ten spanning the data: log-axis ticks and grid lines at decades only (minor lines are noise)."""
    low, high = np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))
    return [float(10.0**e) for e in np.arange(low, high + 1)]


# --------------------------------------------------------------------------------------------------
# Compact chart data: Streamlit sends an Altair chart's data as an Arrow table, so small integer columns instead of
# float64 and hex strings cut a chart's bytes several-fold; the chart recomputes the display values in Vega.


def color_codes(hexes) -> np.ndarray:
    """'#rrggbb' strings as 0xrrggbb integers (uint32): 4 bytes a color on the wire instead of ~11."""
    return np.array([int(h[1:], 16) for h in np.asarray(hexes).ravel()], dtype=np.uint32)


def hex_expr(field: str) -> str:
    """The Vega expression that turns a color_codes column back into its '#rrggbb' string."""
    return f"'#' + format(datum.{field}, '06x')"
