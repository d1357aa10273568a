"""How a viewer with a color-vision deficiency sees the app's colors: the lens on a lesson about red.

Machado, Oliveira & Fernandes (2009), "A Physiologically-based Model for Simulation of Color Vision Deficiency",
IEEE Transactions on Visualization and Computer Graphics 15(6): 1291-1298. Their model shifts one cone's spectral
sensitivity and projects the result back onto a display's primaries; at severity 1.0 it gives one 3x3 matrix per
deficiency, applied to *linear* RGB (sRGB's transfer curve removed first, put back after). The matrices below are
the paper's published severity-1.0 values (protanopia, deuteranopia; tritanopia by the paper's shift
approximation). The lens changes only what is drawn: every number the app reports is computed from true colors.
"""

from __future__ import annotations

import numpy as np

from .colors import linear_to_srgb, rgb_to_hsv, srgb_to_linear, to_hex

KINDS = ("protan", "deutan", "tritan")
NAMES = {"protan": "protanopia (no red cones)", "deutan": "deuteranopia (no green cones)",
         "tritan": "tritanopia (no blue cones)"}  # fmt: skip

MACHADO_2009 = {
    "protan": np.array([
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ]),
    "deutan": np.array([
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]),
    "tritan": np.array([
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ]),
}  # fmt: skip


def parse_kind(text: str | None) -> str | None:
    """'protan', 'deutan' or 'tritan' from a URL value (case and spaces ignored); None for anything else."""
    kind = (text or "").strip().lower()
    return kind if kind in KINDS else None


def simulate(rgb: np.ndarray, kind: str | None) -> np.ndarray:
    """sRGB colors in [0, 1] (any leading shape, last axis RGB) as a viewer with `kind` sees them; None: unchanged.

    NaN channels stay NaN (colors.to_hex draws them grey), so a diverged model looks the same through the lens.
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    if kind is None:
        return rgb
    linear = srgb_to_linear(np.clip(rgb, 0.0, 1.0)) @ MACHADO_2009[kind].T
    out = linear_to_srgb(np.clip(linear, 0.0, 1.0))
    return np.where(np.isnan(rgb), np.nan, out)


def simulate_hex(hexes, kind: str | None) -> np.ndarray:
    """'#rrggbb' strings as a viewer with `kind` sees them (for charts that carry only hex colors)."""
    hexes = np.asarray(hexes)
    codes = np.array([int(h[1:], 16) for h in hexes.ravel()], dtype=np.int64)
    rgb = np.stack([(codes >> shift) & 255 for shift in (16, 8, 0)], axis=-1) / 255.0
    return to_hex(simulate(rgb, kind)).reshape(hexes.shape)


def hue_deg(rgb: np.ndarray) -> np.ndarray:
    """Hue angles in whole degrees (0..359) of sRGB colors: the tooltips' readout."""
    return np.rint(rgb_to_hsv(np.asarray(rgb, dtype=np.float64))[..., 0] * 360).astype(int) % 360
