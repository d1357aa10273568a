"""Colors: HSV <-> RGB, the training grid and its sampling weights, the evaluation grids, named hues.

Everything here is vectorized numpy on arrays whose last axis is a color (3 channels). Hue is a
fraction of a turn in [0, 1); saturation, value and RGB channels are in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

RED_HSV = (0.0, 1.0, 1.0)

# The 12 named hues, 30 degrees apart, all fully saturated and bright.
NAMED_HUES = (
    "red", "orange", "yellow", "lime", "green", "teal",
    "cyan", "azure", "blue", "purple", "magenta", "pink",
)  # fmt: skip
# The primaries and secondaries, the corners of the RGB cube: where the error curves of a regular latent peak.
PEAK_HUES_DEG = (0, 60, 120, 180, 240, 300)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """HSV -> RGB with the closed form c = v - v*s*clip(min(k, 4 - k), 0, 1), k = (n + 6h) mod 6.

    One expression per channel (n = 5, 3, 1 for R, G, B) avoids the six-way branch of the textbook
    algorithm, so a whole grid converts in a handful of array operations.
    """
    hsv = np.asarray(hsv, dtype=np.float64)
    h, s, v = hsv[..., 0:1], hsv[..., 1:2], hsv[..., 2:3]
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """RGB -> HSV; greys get hue 0 and black gets saturation 0 (the usual conventions)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    hi = rgb.max(axis=-1)
    lo = rgb.min(axis=-1)
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    hue = np.where(
        hi == r,
        ((g - b) / safe) % 6.0,
        np.where(hi == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    hue = np.where(span > 0, hue / 6.0, 0.0) % 1.0
    sat = np.where(hi > 0, span / np.where(hi > 0, hi, 1.0), 0.0)
    return np.stack([hue, sat, hi], axis=-1)


def vibrancy(hsv: np.ndarray) -> np.ndarray:
    """S x V: high only for colors that are both saturated and bright."""
    return hsv[..., 1] * hsv[..., 2]


@dataclass(frozen=True)
class Grid:
    """A regular grid of colors; `hsv` and `rgb` have shape (*shape, 3).

    The named grids below are built once per process and shared (read-only): the dense grid alone is
    26 MB, and every trained model is evaluated on the same colors.
    """

    name: str
    axes: tuple[str, ...]
    coords: tuple[np.ndarray, ...]
    hsv: np.ndarray
    rgb: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.rgb.shape[:-1]

    @property
    def flat_rgb(self) -> np.ndarray:
        return self.rgb.reshape(-1, 3)

    @property
    def flat_hsv(self) -> np.ndarray:
        return self.hsv.reshape(-1, 3)


def hsv_grid(name: str, n_hues: int, n_sat: int, n_val: int) -> Grid:
    """Hue in equal steps round the circle (0 included, 1 excluded); S and V from 0 to 1 inclusive."""
    h = np.arange(n_hues) / n_hues
    s = np.linspace(0.0, 1.0, n_sat)
    v = np.linspace(0.0, 1.0, n_val)
    hsv = np.stack(np.meshgrid(h, s, v, indexing="ij"), axis=-1)
    return Grid(name, ("hue", "saturation", "value"), (h, s, v), hsv, hsv_to_rgb(hsv))


def rgb_cube(name: str, n: int) -> Grid:
    r = np.linspace(0.0, 1.0, n)
    rgb = np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1)
    return Grid(name, ("red", "green", "blue"), (r, r, r), rgb_to_hsv(rgb), rgb)


@cache
def training_grid() -> Grid:
    """36 hues x 10 saturations x 10 values = 3,600 colors (SPEC section 2)."""
    return hsv_grid("train", 36, 10, 10)


@cache
def swatch_grid() -> Grid:
    """What a person looks at: 24 hues x 4 saturations x 8 values = 768 colors."""
    return hsv_grid("swatch", 24, 4, 8)


@cache
def dense_grid() -> Grid:
    """What the error statistics use: 240 hues x 48 saturations x 48 values = 552,960 colors."""
    return hsv_grid("dense", 240, 48, 48)


@cache
def rgb_grid() -> Grid:
    """What the latent plots use: a 20^3 RGB cube, 8,000 colors."""
    return rgb_cube("rgb", 20)


def sampling_weights(hsv: np.ndarray, n_hues: int = 36, n_sat: int = 10) -> np.ndarray:
    """w(s, v) = (1 - v)/(n_s n_h) + (1 - s) v / n_h + s v.

    An HSV grid holds n_h x n_s copies of black and n_h copies of every grey, so uniform sampling would
    drown the vivid colors; these weights give each perceptually distinct color a comparable share.
    """
    s, v = hsv[..., 1], hsv[..., 2]
    return (1 - v) / (n_sat * n_hues) + (1 - s) * v / n_hues + s * v


def red_probability(rgb: np.ndarray) -> np.ndarray:
    """P(label red) = 0.5 (r (1 - g/2 - b/2))^10: sharply peaked at pure red, never certain."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return 0.5 * np.clip(r * (1 - g / 2 - b / 2), 0.0, None) ** 10


def vibrant_probability(hsv: np.ndarray) -> np.ndarray:
    """P(label vibrant) = 0.5 vibrancy^100: only the most vivid colors are ever labelled."""
    return 0.5 * vibrancy(hsv) ** 100


def named_colors() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(names, hsv (12, 3), rgb (12, 3)) of the 12 named hues."""
    hsv = np.stack([np.arange(12) / 12, np.ones(12), np.ones(12)], axis=-1)
    return NAMED_HUES, hsv, hsv_to_rgb(hsv)


def similarity_to_red(hsv: np.ndarray) -> np.ndarray:
    """How alike a color is to pure red, in [0, 1] (SPEC section 7, selectivity).

    sim = (rho h + 1 - rho) (1 - |dS|) (1 - |dV|), with hue closeness h = max(0, (90 deg - dist)/90 deg)
    and rho the mean vibrancy of the two colors: hue matters less the greyer the pair is.
    """
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    dist = np.abs(hue - RED_HSV[0]) % 1.0
    dist = np.minimum(dist, 1.0 - dist) * 360.0
    closeness = np.maximum(0.0, (90.0 - dist) / 90.0)
    rho = (vibrancy(hsv) + RED_HSV[1] * RED_HSV[2]) / 2
    return (rho * closeness + 1 - rho) * (1 - np.abs(sat - RED_HSV[1])) * (1 - np.abs(val - RED_HSV[2]))


_HEX_BYTES = np.array([f"{i:02x}" for i in range(256)])


NOT_A_COLOR = 0.5  # drawn for a color with a NaN channel (a diverged model's output): neutral grey, #808080


def to_hex(rgb: np.ndarray) -> np.ndarray:
    """Array of '#rrggbb' strings for colors in [0, 1] (values outside, infinities too, are clipped).

    A color with any NaN channel has no meaningful value at all, so the whole color becomes neutral grey.
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    rgb = np.where(np.isnan(rgb).any(axis=-1, keepdims=True), NOT_A_COLOR, rgb)
    ints = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.int64)
    out = np.char.add("#", _HEX_BYTES[ints[..., 0]])
    return np.char.add(np.char.add(out, _HEX_BYTES[ints[..., 1]]), _HEX_BYTES[ints[..., 2]])


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB's transfer curve removed (IEC 61966-2-1): light adds up, and color matrices apply, in linear RGB."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """The inverse of srgb_to_linear (negative values are clipped to 0 first)."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.clip(c, 0, None) ** (1 / 2.4) - 0.055)
