"""How an intervention moves latents: its mapping curve against alignment with red, and each color's angle from
red before and after it (the hole, measured in all four dimensions, without the 3-D view's projection).

The curve arrives as numbers (excolor.interventions.mapping_curve): nothing here runs an intervention.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from .. import colors
from ..evaluate import Evaluation
from ..interventions import MappingCurve, Suppression
from ..text import fmt
from .style import NEUTRAL_INK, color_codes, hex_expr

# --------------------------------------------------------------------------------------------------
# Intervention mapping curves

HEMISPHERE_PROBES_DEG = (60.0, 80.0)  # how much a whole-hemisphere intervention still does far from red
CURVE_INK = "#d62728"


def _angle(d: float) -> float:
    return float(np.degrees(np.arccos(np.clip(d, -1.0, 1.0))))


def _parameters(curve: MappingCurve) -> tuple[float, float]:
    """(a, b): where the cone starts, and the strength (suppression) or alignment (repulsion) at exact red."""
    iv = curve.intervention
    shape = iv.falloff if isinstance(iv, Suppression) else iv.mapper
    return shape.a, shape.b


def mapping_frame(curve: MappingCurve) -> pd.DataFrame:
    """The curve itself: alignment d in [0, 1] and the gate (suppression) or output alignment (repulsion)."""
    return pd.DataFrame({"d": curve.d, "y": curve.y, "angle": np.degrees(np.arccos(curve.d))})


def _mapping_wire(curve: MappingCurve) -> pd.DataFrame:
    """mapping_frame as sent: d and y as float32 (7 digits, the tooltip shows 3), the angle computed in the chart."""
    return pd.DataFrame({"d": curve.d.astype(np.float32), "y": curve.y.astype(np.float32)})


def hemisphere_note(curve: MappingCurve) -> str:
    """With a = 0 the 'cone' is the whole hemisphere facing red (90°): say so, and that only the curve's shape then
    spares distant colors, with what it still does at 60° and 80°. Empty for a narrower cone."""
    a, _ = _parameters(curve)
    if a > 1e-9:
        return ""
    values = [curve.named[math.cos(math.radians(x))] for x in HEMISPHERE_PROBES_DEG]
    if isinstance(curve.intervention, Suppression):
        shape = f"the gate's shape (p = {curve.intervention.falloff.p:g})"
        effect = ", ".join(f"{fmt(v)} at {x:.0f}°" for x, v in zip(HEMISPHERE_PROBES_DEG, values, strict=True))
        effect = f"the gate is {effect}"
    else:
        shape = "the mapper's shape"
        turned = zip(HEMISPHERE_PROBES_DEG, values, strict=True)
        effect = "; ".join(f"a latent at {x:.0f}° is turned to {_angle(v):.0f}°" for x, v in turned)
    return (
        "With a = 0 the cone is the whole hemisphere facing red: every latent less than 90° from red is touched, "
        f"and only {shape} spares the distant ones ({effect})."
    )


def mapping_description(curve: MappingCurve) -> str:
    a, b = _parameters(curve)
    if isinstance(curve.intervention, Suppression):
        p = curve.intervention.falloff.p
        return (
            f"Suppression gate g(d) = b((d − a)/(1 − a))^p against alignment d = cos θ with red. "
            f"It is 0 up to a = {a:.2f} (latents more than {_angle(a):.0f}° from red are left alone) and rises "
            f"to b = {b:.2f} at d = 1 (exact red, whose red component is {'removed' if b >= 1 else 'scaled by'}"
            f"{'' if b >= 1 else f' {1 - b:.2f}'}). With p = {p:g} the rim is "
            f"{'soft' if p > 1 else 'sharp' if p < 1 else 'linear'}: at d = 0.5 (60°) the gate is "
            f"{fmt(curve.named[0.5])}. " + hemisphere_note(curve)
        ).rstrip()
    moves = "; ".join(
        f"d = {d:.2f} ({_angle(d):.0f}°) goes to {curve.named[d]:.2f} ({_angle(curve.named[d]):.0f}°)"
        for d in (0.9, 0.99)
        if d > a
    )
    return (
        f"Repulsion mapper: output alignment against input alignment d = cos θ with red. "
        f"It follows the identity (dashed) up to a = {a:.2f} ({_angle(a):.0f}°), then bends down to "
        f"b = {b:.2f} at d = 1: exact red is rotated to {_angle(b):.0f}° from the red direction, leaving a "
        f"hole of half-angle {_angle(b):.0f}° around it. "
        + (f"For example {moves}. " if moves else "")
        + hemisphere_note(curve)
    ).rstrip()


def mapping_chart(
    curve: MappingCurve, title: str | None = None, width: int = 360, height: int = 260
) -> tuple[alt.LayerChart, str]:
    """The intervention's curve against alignment d = cos θ, with a and b marked and angles on the axis.

    Suppression: the gate g(d) (0 = untouched, 1 = red component removed). Repulsion: the output alignment
    with the identity dashed for reference; the gap between them is how far a latent is rotated.
    """
    text = mapping_description(curve)
    is_suppression = isinstance(curve.intervention, Suppression)
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    angle_label = "format(datum.value, '.2~f') + ' (' + format(acos(datum.value) * 180 / PI, '.0f') + '°)'"
    x = alt.X(
        "d:Q",
        title="alignment d = cos θ (angle from red)",
        scale=alt.Scale(domain=[0, 1], nice=False),
        axis=alt.Axis(values=ticks, labelExpr=angle_label, labelOverlap=False),
    )
    y_title = "gate g(d)" if is_suppression else "output alignment (angle)"
    y_axis = alt.Axis(values=ticks) if is_suppression else alt.Axis(values=ticks, labelExpr=angle_label)
    y = alt.Y("y:Q", title=y_title, scale=alt.Scale(domain=[0, 1], nice=False), axis=y_axis)
    tooltip = [
        alt.Tooltip("d:Q", title="d", format=".3f"),
        alt.Tooltip("angle:Q", title="angle (°)", format=".1f"),
        alt.Tooltip("y:Q", title="gate" if is_suppression else "output d", format=".3f"),
    ]
    line = (
        alt.Chart(_mapping_wire(curve))
        .transform_calculate(angle="acos(datum.d) * 180 / PI")
        .mark_line(strokeWidth=2.5, color=CURVE_INK)
        .encode(x=x, y=y, tooltip=tooltip)
    )
    chart = alt.layer(*_guides(curve), line, *_marked_points(curve)).properties(
        width=width, height=height, title=title or "", description=text
    )
    return chart, text


def _guides(curve: MappingCurve) -> list[alt.Chart]:
    """Dotted rules at d = a and y = b, and for repulsion the identity, dashed: what 'not moved' looks like. Their
    few values travel inline in the spec (~30 bytes), not as Arrow tables (~800 bytes each)."""
    a, b = _parameters(curve)
    rules = alt.Chart(alt.Data(values=[{"d": a}])).mark_rule(strokeDash=[2, 3], color="gray").encode(x="d:Q")
    hrule = alt.Chart(alt.Data(values=[{"y": b}])).mark_rule(strokeDash=[2, 3], color="gray").encode(y="y:Q")
    if isinstance(curve.intervention, Suppression):
        return [rules, hrule]
    identity = alt.Data(values=[{"d": 0.0, "y": 0.0}, {"d": 1.0, "y": 1.0}])
    dashed = alt.Chart(identity).mark_line(strokeDash=[5, 4], color="gray", strokeWidth=1.5).encode(x="d:Q", y="y:Q")
    return [rules, hrule, dashed]


def _marked_points(curve: MappingCurve) -> list[alt.Chart]:
    """The curve's two defining points, (a, ·) and (1, b), as dots with their labels."""
    a, b = _parameters(curve)
    if isinstance(curve.intervention, Suppression):
        points = pd.DataFrame({"d": [a, 1.0], "y": [0.0, b], "label": [f"a = {a:.2f}", f"b = {b:.2f}"]})
    else:
        points = pd.DataFrame({"d": [a, 1.0], "y": [a, b], "label": [f"(a, a), a = {a:.2f}", f"(1, b), b = {b:.2f}"]})
    dots = (
        alt.Chart(points)
        .mark_point(filled=True, size=70, color=CURVE_INK)
        .encode(x="d:Q", y="y:Q", tooltip=["label:N"])
    )
    # The (a, .) label sits right of its point (clear of the y axis), the (1, b) label left of it (clear of the
    # frame); mid grey reads on both themes, where Vega's default black text would vanish on the dark one.
    labels = [
        alt.Chart(points.iloc[[i]])
        .mark_text(align=align, dx=dx, dy=-10, fontSize=12, color=NEUTRAL_INK)
        .encode(x="d:Q", y="y:Q", text="label:N")
        for i, align, dx in ((0, "left", 8), (1, "right", -8))
    ]
    return [dots, *labels]


# --------------------------------------------------------------------------------------------------
# Angle from red, before and after an intervention (the hole without the 3-D view's projection)

HOLE_INK = "#ffc828"  # the 3-D view's hole color (latents3d.CONE_COLORS["hole"])
CONE_INKS = {"cone": NEUTRAL_INK, "hole": HOLE_INK}


ANGLE_STRIP_COLORS = 1500  # colors drawn in the angle strips: enough to see the hole, small enough to send


def angle_from_red(z: np.ndarray) -> np.ndarray:
    """Degrees between each latent and the red direction c = (1, 0, 0, 0), whatever the latent's length."""
    z = np.atleast_2d(np.asarray(z, dtype=float))
    length = np.linalg.norm(z, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.degrees(np.arccos(np.clip(z[:, 0] / length, -1.0, 1.0)))


def angle_shift_frame(
    before: Evaluation, after: Evaluation, max_colors: int = ANGLE_STRIP_COLORS, tolerance_deg: float = 0.05
) -> pd.DataFrame:
    """Long table (row 'before' or 'after', angle from red, true color, jitter) of the RGB-grid colors whose latent
    the intervention turned; at most `max_colors` of them, evenly spaced through the grid, so the chart stays
    small. A latent shortened to length 0 has no angle after and is left out of the 'after' row."""
    a0, a1 = angle_from_red(before.latents), angle_from_red(after.latents)
    moved = np.flatnonzero(~np.isfinite(a1) | (np.abs(a1 - a0) > tolerance_deg))
    if moved.size > max_colors:
        moved = moved[np.linspace(0, moved.size - 1, max_colors).round().astype(int)]
    hexes = colors.to_hex(np.asarray(before.rgb_true)[moved])
    jitter = (np.arange(moved.size) * 0.6180339887) % 1.0  # evenly spread, the same on every run
    rows = [
        pd.DataFrame({"row": row, "angle": np.round(angles[moved], 1), "color": hexes, "jitter": np.round(jitter, 3)})
        for row, angles in (("before", a0), ("after", a1))
    ]
    frame = pd.concat(rows, ignore_index=True)
    return frame[np.isfinite(frame["angle"])].reset_index(drop=True)


def angle_shift_description(before: Evaluation, after: Evaluation, name: str, cones: Mapping[str, float]) -> str:
    """The hole (or the squash) in numbers, from every color, not just the ones the chart draws."""
    a0, a1 = angle_from_red(before.latents), angle_from_red(after.latents)
    n = len(a0)
    moved = int((~np.isfinite(a1) | (np.abs(a1 - a0) > 0.05)).sum())
    lost = int((~np.isfinite(a1)).sum())
    parts = [
        f"Angle from red of each color's latent before (top row) and after (bottom row) the {name}, for the "
        f"{moved:,} of {n:,} RGB-grid colors it turns ({min(moved, ANGLE_STRIP_COLORS):,} drawn), each dot in its "
        "true color."
    ]
    if lost:
        parts.append(f"{lost:,} latents are squashed to length 0 and have no angle left.")
    hole = cones.get("hole")
    closest = float(np.nanmin(a1)) if np.isfinite(a1).any() else float("nan")
    if hole is not None:
        inside0, inside1 = int((a0 < hole).sum()), int((a1 < hole - 1e-6).sum())
        parts.append(
            f"Before, {inside0:,} latents lay within the hole's {hole:.0f}° of red; after, {inside1:,} do (the closest "
            f"is {closest:.1f}° away)" + (": the hole is empty." if inside1 == 0 else ".")
        )
        if inside1 == 0:
            parts.append(
                "In the 3-D view some dots seem to sit inside the yellow cone: it shows three of the four dimensions, "
                "tilted, so a latent turned away from red along the hidden dimension is drawn near the red axis. "
                "These angles are measured in all four dimensions."
            )
    else:
        short = int((np.linalg.norm(np.asarray(after.latents, dtype=float), axis=1) < 0.5).sum())
        parts.append(
            f"Closest to red before: {np.nanmin(a0):.1f}°; after: {closest:.1f}°. Suppression does not turn latents: "
            f"it shortens their red part, which tilts them away from red too; {short:,} end shorter than 0.5."
        )
    return " ".join(parts)


def angle_shift_chart(
    evaluations: Mapping[str, Evaluation], cones: Mapping[str, float] | None = None, width: int = 340, height: int = 190
) -> tuple[alt.LayerChart, str]:
    """Two strips of dots, each color's angle from red before and after an intervention, in its true color.

    `evaluations` is {"baseline": ..., name: ...} (the page's caches.figure passes a dict of evaluations); `cones`
    the intervention's cones (half-angles in degrees), drawn as rules. A repulsion's hole shows as an empty stretch
    of the 'after' strip, measured in all four dimensions: no projection can put a dot inside it.
    """
    (before, after), name = list(evaluations.values())[:2], list(evaluations)[1]
    cones = dict(cones or {})
    frame = angle_shift_frame(before, after)
    text = angle_shift_description(before, after, name, cones)
    x = alt.X(
        "angle:Q",
        title="angle from red (°)",
        scale=alt.Scale(domain=[0, 180], nice=False),
        axis=alt.Axis(values=list(range(0, 181, 30))),
    )
    y = alt.Y("row:N", title=None, sort=["before", "after"], axis=alt.Axis(labelPadding=4))
    dots = (
        alt.Chart(_angle_wire(frame))
        .transform_fold(["b", "a"], as_=["row", "tenths"])
        .transform_filter(f"datum.tenths != {NO_ANGLE}")
        .transform_calculate(
            angle="datum.tenths / 10",
            row="datum.row == 'a' ? 'after' : 'before'",
            color=hex_expr("c"),
            jitter="datum.j / 1000",
        )
        .mark_circle(size=12, opacity=0.9, stroke=NEUTRAL_INK, strokeWidth=0.2)
        .encode(
            x=x,
            y=y,
            yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[0, 1])),
            fill=alt.Fill("color:N", scale=None),
            tooltip=[alt.Tooltip("color:N", title="true color"), alt.Tooltip("angle:Q", format=".1f", title="°")],
        )
    )
    rules, labels = _cone_marks(cones)
    chart = alt.layer(*rules, dots, *labels).properties(width=width, height=height, description=text)
    return chart, text


NO_ANGLE = -1  # an 'after' angle the frame has not (a latent squashed to length 0)


def _angle_wire(frame: pd.DataFrame) -> pd.DataFrame:
    """angle_shift_frame as sent, one row per color: its angle before (b) and after (a) in tenths of a degree
    (NO_ANGLE where it has none after), color code, jitter in thousandths: 10 bytes a color instead of ~90. The
    chart folds b and a back into the two rows and computes the same values."""
    before, after = frame[frame["row"] == "before"], frame[frame["row"] == "after"]
    tenths = pd.Series(np.round(after["angle"].to_numpy() * 10), index=after["color"].to_numpy())
    after_tenths = before["color"].map(lambda c: tenths.get(c, NO_ANGLE))
    return pd.DataFrame(
        {
            "b": np.round(before["angle"].to_numpy() * 10).astype(np.int16),
            "a": after_tenths.to_numpy().astype(np.int16),
            "c": color_codes(before["color"]),
            "j": np.round(before["jitter"].to_numpy() * 1000).astype(np.uint16),
        }
    )


def _cone_marks(cones: Mapping[str, float]) -> tuple[list[alt.Chart], list[alt.Chart]]:
    """A dashed rule at each cone's half-angle in its ink, and its label; none when there is no cone."""
    rows = [
        {"angle": float(cones[k]), "label": f"{k} {cones[k]:.0f}°", "ink": ink}
        for k, ink in CONE_INKS.items()
        if k in cones
    ]
    if not rows:
        return [], []
    marks = alt.Data(values=rows)  # inline in the spec: ~60 bytes, not a ~1.3 KB Arrow table
    rules = [
        alt.Chart(marks)
        .mark_rule(strokeDash=[4, 3], strokeWidth=2)
        .encode(x="angle:Q", color=alt.Color("ink:N", scale=None), tooltip=["label:N"])
    ]
    # the label sits just above the plot, left of its rule, in ink that reads on both themes
    labels = [
        alt.Chart(marks)
        .mark_text(align="right", dx=-4, dy=-6, baseline="bottom", fontSize=11, color=NEUTRAL_INK)
        .encode(x="angle:Q", y=alt.value(0), text="label:N")
    ]
    return rules, labels
