"""Short notes that explain what an intervention did: where pure red went, why ablation hurts cyan too, and the
headline numbers (max and median error, selectivity, collateral damage) with their definitions."""

from __future__ import annotations

import math

import numpy as np

from .. import colors
from ..evaluate import FAR_FROM_RED, VISIBLE_ERROR, Evaluation, far_from_red
from ..text import degrees, fmt, pct
from .mappings import angle_from_red
from .named_colors import named_errors
from .style import hue_name

SELECTIVITY_DEFINITION = (
    "Selectivity r is the correlation, over the 8,000 colors of a 20 × 20 × 20 RGB grid, between a color's error and "
    "its squared similarity to pure red (in hue, saturation and value): how much the damage is shaped like red, "
    "not how much the other colors suffer (collateral damage says that). Without an intervention it only says where "
    "the model's small errors happen to fall."
)


def collateral_definition() -> str:
    """What collateral damage measures (SPEC §7), with the share of the dense grid it looks at."""
    return (
        f"Collateral damage looks at the colors far from red: the {far_from_red().mean():.0%} of the 552,960-color "
        f"dense grid whose similarity to pure red is at most {FAR_FROM_RED}. It is their median error under the "
        "intervention as a multiple of the baseline model's median on the same colors (1.00× = untouched), with the "
        f"share of them visibly damaged (error above {VISIBLE_ERROR}). It says how much the other colors suffer; "
        "selectivity says only how much the damage is shaped like red."
    )


def times(x: float) -> str:
    """A ratio to the baseline, '1.03×': the one rounding of collateral damage on every page."""
    return f"{x:.2f}×" if math.isfinite(x) else "n/a"


def collateral_phrase(ev: Evaluation) -> str:
    """'far-from-red median error 1.03× the baseline's, 0.0% of those colors visibly damaged'."""
    return (
        f"far-from-red median error {times(ev.collateral)} the baseline's, {pct(100 * ev.damaged_share)} of those "
        "colors visibly damaged"
    )


ANCHOR_LANDMARKS = {"black": (0, 0, 0), "white": (1, 1, 1), "yellow": (1, 1, 0), "green": (0, 1, 0),
                    "cyan": (0, 1, 1), "blue": (0, 0, 1), "magenta": (1, 0, 1)}  # fmt: skip


def _grid_index(rgb: np.ndarray, color: tuple[float, float, float]) -> int | None:
    hit = np.flatnonzero(np.all(np.isclose(np.asarray(rgb, dtype=float), color, atol=1e-6), axis=1))
    return int(hit[0]) if hit.size else None


def tone(rgb) -> str:
    """A plain name for a reconstructed color: 'dark red', 'pale red', 'grey', 'near black'."""
    h, sat, val = colors.rgb_to_hsv(np.clip(np.asarray(rgb, dtype=float), 0, 1))
    if val < 0.15:
        return "near black"
    if sat < 0.15:
        return "white" if val > 0.9 else "grey"
    return ("dark " if val < 0.6 else "") + ("pale " if sat < 0.6 else "") + hue_name(h * 360)


def pure_red_after(baseline, after) -> str:
    """'#790000 (dark red)': what pure red of the RGB grid comes back as under an intervention."""
    i = _grid_index(baseline.rgb_true, (1, 0, 0))
    if i is None:
        return "n/a"
    return f"{colors.to_hex(np.asarray(after.rgb_out[i]))} ({tone(after.rgb_out[i])})"


def repulsion_red_note(baseline, repelled) -> str:
    """Why repulsion turns pure red the color it does (dark red on seed 0; the notebook saw pink).

    Repulsion rotates a latent z within the plane of c and z's own off-red part u, to alignment t = mapper(d). So
    red lands on the side it already leaned toward: the answer depends on where this model put pure red. Both
    arguments need .latents, .rgb_true and .rgb_out on the RGB grid (an Evaluation, or anything shaped like one).
    """
    i = _grid_index(baseline.rgb_true, (1, 0, 0))
    if i is None:
        return ""
    z = np.asarray(baseline.latents[i], dtype=float)
    z = z / np.linalg.norm(z)
    lean = z.copy()
    lean[0] = 0.0
    out_hex = str(colors.to_hex(np.asarray(repelled.rgb_out[i])))
    head = f"Pure red comes back as {out_hex}, {tone(repelled.rgb_out[i])}, under repulsion."
    if np.linalg.norm(lean) < 1e-6:
        return head + " This model put pure red exactly on c, so repulsion may turn it any way."
    lean /= np.linalg.norm(lean)
    toward, cosine = _leaning_toward(baseline, lean)
    after = float(angle_from_red(repelled.latents[i])[0])
    text = (
        f"{head} Repulsion turns each latent away from red within the plane of c and the latent's own off-red lean, "
        f"so red ends up on whichever side this model tilted it. Here pure red sits {degrees(angle_from_red(z)[0])} "
        f"from c"
    )
    if toward is not None:
        text += f", tilted toward where the model keeps {toward} (cosine {cosine:.2f} between their off-red parts)"
    color = tone(repelled.rgb_out[i])
    text += f"; turned to {after:.0f}° from c along that tilt, it decodes as {color}."
    if "pale" in color:
        return text + " The notebook's red came back pink too."
    return text + " The notebook's red came back pink instead: a tilt toward white would do that."


def _leaning_toward(baseline, lean: np.ndarray) -> tuple[str | None, float]:
    """The landmark color whose latent's off-red part points most like `lean` (a unit off-red direction), and
    the cosine between them; (None, -2) when no landmark is on the grid."""
    toward, cosine = None, -2.0
    for name, color in ANCHOR_LANDMARKS.items():
        j = _grid_index(baseline.rgb_true, color)
        if j is None:
            continue
        other = np.asarray(baseline.latents[j], dtype=float).copy()
        other[0] = 0.0
        if np.linalg.norm(other) > 1e-6 and float(lean @ other / np.linalg.norm(other)) > cosine:
            toward, cosine = name, float(lean @ other / np.linalg.norm(other))
    return toward, cosine


def ablation_note(baseline, ablated) -> str:
    """Which named hue ablation breaks most, and why cyan suffers with red: dimension 0 is the red–cyan axis."""
    errors = named_errors(ablated)
    order = sorted(errors, key=errors.get, reverse=True)
    first, second = order[0], order[1]
    text = f"Ablation's worst named hue is {first} ({fmt(errors[first])}), then {second} ({fmt(errors[second])})"
    j = _grid_index(baseline.rgb_true, (0, 1, 1))
    if j is None or "cyan" not in (first, second):
        return text + "."
    cyan = float(angle_from_red(baseline.latents[j])[0])
    where = "almost exactly at −c" if cyan >= 150 else "on the far side of the sphere" if cyan > 90 else "beside red"
    return (
        f"{text}: deleting dimension 0 deletes the whole red–cyan axis, not just red. This model keeps cyan "
        f"{cyan:.0f}° from red, {where}: its unit latent's dimension 0 is {math.cos(math.radians(cyan)):+.2f}, and "
        "ablation zeroes it."
    )


def error_summary(ev: Evaluation, label: str = "", intervened: bool = True) -> str:
    """'max error 0.16, median 2.0e-5' over the dense grid, plus selectivity and (for an intervention: the
    baseline's is 1× itself) collateral damage, when defined."""
    prefix = f"{label}: " if label else ""
    text = f"{prefix}max error {fmt(ev.max_error)}, median {fmt(ev.median_error)} over the dense grid"
    if np.isfinite(ev.selectivity):
        text += f", selectivity r = {ev.selectivity:.2f}"
    if intervened and np.isfinite(ev.collateral):
        text += f", {collateral_phrase(ev)}"
    return text + "."
