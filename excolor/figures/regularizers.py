"""The shapes of two regularizers, for the hypothesis page: the separate term's kernel against angle, and the
anchor penalty against angle from red for latents of several lengths (why normalization changes what it asks)."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from ..text import fmt, join
from .style import NEUTRAL, TERM_COLORS

SEPARATE_POWER = 100


def separate_kernel(angle_deg: np.ndarray | float, power: float = SEPARATE_POWER) -> np.ndarray:
    """((1 + cos θ)/2)^power: how hard two latents at angle θ push each other apart (1 at 0°)."""
    return ((1 + np.cos(np.radians(angle_deg))) / 2) ** power


def about(angle_deg: float, step: float = 0.5) -> str:
    """An angle rounded to the nearest `step` for prose ('24.5' for 24.497): a caption saying "below 1% by 24°"
    when the kernel is still 1.2% there would be wrong; rounding to the nearest half degree keeps it honest."""
    return f"{round(angle_deg / step) * step:g}"


def kernel_half_angle(power: float = SEPARATE_POWER, level: float = 0.5) -> float:
    """The angle (degrees) at which the separate kernel has fallen to `level`."""
    return math.degrees(math.acos(2 * level ** (1 / power) - 1))


def separate_kernel_frame(powers: tuple[float, ...] = (1, 10, SEPARATE_POWER), step_deg: float = 0.5) -> pd.DataFrame:
    angle = np.arange(0, 180 + step_deg / 2, step_deg)
    return pd.concat(
        [pd.DataFrame({"angle": angle, "push": separate_kernel(angle, p), "power": f"power {p:g}"}) for p in powers],
        ignore_index=True,
    )


def separate_kernel_chart(powers: tuple[float, ...] = (1, 10, SEPARATE_POWER)) -> tuple[alt.Chart, str]:
    """The separate term's kernel against angle, for a few powers: 100 makes it a short-range push."""
    frame = separate_kernel_frame(powers)
    order = [f"power {p:g}" for p in powers]
    dashes = [[2, 3], [6, 3], [1, 0]][-len(powers) :] if len(powers) <= 3 else alt.Undefined
    half = kernel_half_angle()
    lines = (
        alt.Chart(frame)
        .mark_line(color=TERM_COLORS["separate"], strokeWidth=2.5)
        .encode(
            x=alt.X("angle:Q", title="angle between two latents (degrees)", scale=alt.Scale(domain=[0, 180])),
            y=alt.Y("push:Q", title="((1 + cos θ)/2)^power"),
            strokeDash=alt.StrokeDash(
                "power:N",
                sort=order,
                scale=alt.Scale(domain=order, range=dashes),
                legend=alt.Legend(title=None, orient="top-right"),
            ),
            tooltip=[
                alt.Tooltip("power:N"),
                alt.Tooltip("angle:Q", format=".1f", title="angle (°)"),
                alt.Tooltip("push:Q", format=".3g"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"angle": [half], "push": [0.2], "label": [f"half at {half:.1f}°"]}))
        .mark_rule(color=NEUTRAL, strokeDash=[3, 3])
        .encode(x="angle:Q")
    )
    text = rule.mark_text(align="left", dx=6, color=NEUTRAL).encode(y="push:Q", text="label:N")
    chart = (lines + rule + text).properties(height=220)
    p01 = kernel_half_angle(level=0.01)
    caption = (
        f"The separate term's push between two latents against the angle between them. With power {SEPARATE_POWER} "
        f"(solid) it is 1 at 0°, halves at about {about(half)}°, falls below 1% at about {about(p01)}° and is "
        f"{fmt(separate_kernel(90.0))} at 90°: only near neighbours push each other."
    )
    if len(powers) > 1:
        caption += (
            " With power "
            + join([f"{p:g}" for p in powers[:-1]])
            + " (dotted, dashed) the push at 90° would still be "
            + join([fmt(separate_kernel(90.0, p)) for p in powers[:-1]])
            + ": felt across the whole sphere."
        )
    return chart, caption


def anchor_penalty(angle_deg: np.ndarray | float, length: float = 1.0) -> np.ndarray:
    """‖z − c‖² for a latent of this length at this angle from c (c a unit vector): L² − 2L cos θ + 1."""
    return length**2 - 2 * length * np.cos(np.radians(angle_deg)) + 1


def anchor_penalty_chart(lengths: tuple[float, ...] = (0.5, 1.0, 1.5), step_deg: float = 1.0) -> tuple[alt.Chart, str]:
    """Anchor penalty against angle from red, for latents of several lengths.

    After normalization every latent has length 1, so the penalty depends on the angle alone (the solid
    line); before it, the same term also pulls on the length, which the decoder never sees.
    """
    angle = np.arange(0, 180 + step_deg / 2, step_deg)
    names = [f"length {x:g}" + (" (every unit latent)" if x == 1 else "") for x in lengths]
    frame = pd.concat(
        [
            pd.DataFrame({"angle": angle, "penalty": anchor_penalty(angle, x), "latent": n})
            for x, n in zip(lengths, names)
        ],
        ignore_index=True,
    )
    dashes = [[1, 0] if x == 1 else [5, 3] if x > 1 else [2, 3] for x in lengths]
    chart = (
        alt.Chart(frame)
        .mark_line(color=TERM_COLORS["anchor"], strokeWidth=2.5)
        .encode(
            x=alt.X("angle:Q", title="angle from the red direction (degrees)", scale=alt.Scale(domain=[0, 180])),
            y=alt.Y("penalty:Q", title="‖z − c‖²"),
            strokeDash=alt.StrokeDash(
                "latent:N",
                sort=names,
                scale=alt.Scale(domain=names, range=dashes),
                legend=alt.Legend(title=None, orient="top-left"),
            ),
            tooltip=[
                alt.Tooltip("latent:N"),
                alt.Tooltip("angle:Q", title="angle (°)"),
                alt.Tooltip("penalty:Q", format=".2f"),
            ],
        )
        .properties(height=220)
    )
    short = [x for x in lengths if x < 1]
    extra = (
        f" A latent {short[0]:g} long pays {anchor_penalty(0.0, short[0]):.2f} even when it points exactly at red: "
        "before normalization the anchor also pulls on length."
        if short
        else ""
    )
    caption = (
        "Anchor penalty ‖z − c‖² against the angle between a latent and the red direction c. A unit latent pays "
        f"{anchor_penalty(0.0):.0f} at 0°, {anchor_penalty(90.0):.0f} at 90° and {anchor_penalty(180.0):.0f} "
        "opposite red (2 − 2 cos θ): after normalization the term is purely about angle." + extra
    )
    return chart, caption
