"""Rotatable 3-D views of the bottleneck (pydeck), each paired with a text description of what it shows.

A view shows three of the four latent dimensions: the first listed is the screen's x (right), the second
its y (up), the third points at the viewer. deck.gl's OrbitView with ``orbitAxis="Y"`` puts its camera on
the +z axis looking at the origin with +y up, which is exactly that convention, so latents are plotted
as they are (no sign flips); dragging orbits around the screen's vertical axis.

Pages call ``st.pydeck_chart(deck)``; nothing here imports Streamlit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from .. import colors, cvd
from ..colors import NOT_A_COLOR

DEFAULT_DIMS = (1, 0, 2)
VIEWS = ((1, 0, 2), (1, 2, 0), (1, 3, 0))  # SPEC section 7: the three views the notebook draws
RED_DIM = 0  # the concept direction c = (1, 0, 0, 0)

# The sphere is drawn as an opaque dark disc facing the camera: with depth testing it hides exactly the
# latents behind the sphere's centre plane, like the notebook's solid sphere, and a dark body lets both
# bright and (via their outline) dark points read in the light and the dark theme alike.
SPHERE_BODY = [38, 39, 48, 255]
SPHERE_GRID = [150, 152, 165, 120]
AXIS_LABEL = [128, 128, 128, 255]
CONE_COLORS = {"cone": [235, 235, 235, 235], "hole": [255, 200, 40, 255]}
# A narrow field of view keeps perspective mild: the sphere's outline then stays within a percent of the
# body disc (at deck.gl's default 50 degrees the near cap bulges 5% past it) while rotation still reads as 3-D.
FOVY = 20
ON_SPHERE = 0.99  # latents at least this long count as "on the unit sphere"
# pydeck turns every plain string layer prop into an accessor expression ("@@=pixels"); literal strings
# such as units must be wrapped.
_LITERAL = pdk.types.String

LANDMARKS = {
    "red": (1, 0, 0),
    "yellow": (1, 1, 0),
    "green": (0, 1, 0),
    "cyan": (0, 1, 1),
    "blue": (0, 0, 1),
    "magenta": (1, 0, 1),
    "white": (1, 1, 1),
    "black": (0, 0, 0),
}


class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation: pydeck indents by 2, which roughly triples the size of
    8,000 points (Streamlit sends ``deck.to_json()`` to every visitor on every rerun)."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def _check_dims(dims: Sequence[int], n_latent: int) -> tuple[int, int, int]:
    dims = tuple(int(d) for d in dims)
    if len(dims) != 3 or len(set(dims)) != 3 or not all(0 <= d < n_latent for d in dims):
        raise ValueError(f"dims must be three different latent dimensions in 0..{n_latent - 1}, not {dims!r}")
    return dims  # type: ignore[return-value]


def screen_positions(latents: np.ndarray, dims: Sequence[int] = DEFAULT_DIMS) -> np.ndarray:
    """(N, 3) positions in deck coordinates: x = latents[:, dims[0]], y (up) = dims[1], z (to viewer) = dims[2]."""
    latents = np.asarray(latents, dtype=np.float64)
    dims = _check_dims(dims, latents.shape[-1])
    return latents[:, list(dims)]


def cone_ring(half_angle_deg: float, dims: Sequence[int] = DEFAULT_DIMS, n: int = 96) -> np.ndarray | None:
    """(n + 1, 3) closed ring of unit vectors at `half_angle_deg` from the red axis, in screen coordinates.

    In 4-D the cone's edge on the sphere is a 2-sphere; the ring is its slice through the three shown
    dimensions, i.e. where a latent with nothing in the hidden dimension meets the cone. None when the
    red dimension is not shown (the cone has no fixed place in that view).
    """
    dims = tuple(dims)
    if RED_DIM not in dims:
        return None
    k = dims.index(RED_DIM)
    i, j = [axis for axis in range(3) if axis != k]
    theta = math.radians(half_angle_deg)
    phi = np.linspace(0.0, 2 * np.pi, n + 1)
    ring = np.zeros((n + 1, 3))
    ring[:, k] = math.cos(theta)
    ring[:, i] = math.sin(theta) * np.cos(phi)
    ring[:, j] = math.sin(theta) * np.sin(phi)
    return ring


def _dashed(points: np.ndarray) -> list[list[list[float]]]:
    """Every other segment of a polyline, as separate short paths: a dashed line without extensions."""
    return [np.round(points[s : s + 2], 4).tolist() for s in range(0, len(points) - 1, 2)]


def _sphere_grid(n: int = 96) -> list[list[list[float]]]:
    """Latitude rings every 30 degrees around the screen's vertical axis and 12 meridians."""
    t = np.linspace(0.0, 2 * np.pi, n + 1)
    paths = []
    for lat in (-60, -30, 0, 30, 60):
        r, y = math.cos(math.radians(lat)), math.sin(math.radians(lat))
        paths.append(np.stack([r * np.cos(t), np.full_like(t, y), r * np.sin(t)], -1))
    half = np.linspace(-np.pi / 2, np.pi / 2, n // 2 + 1)
    for lon in range(0, 360, 30):
        a = math.radians(lon)
        paths.append(np.stack([np.cos(half) * math.cos(a), np.sin(half), np.cos(half) * math.sin(a)], -1))
    return [np.round(p, 4).tolist() for p in paths]


def _cone_paths(cones: Mapping[str, float], dims: tuple[int, int, int], spokes: int = 12) -> list[dict]:
    paths = []
    for name, angle in cones.items():
        ring = cone_ring(angle, dims)
        if ring is None:
            continue
        color = CONE_COLORS.get(name, CONE_COLORS["cone"])
        paths += [{"path": p, "c": color, "name": name} for p in _dashed(ring)]
        if angle > 89.5:  # a 90-degree cone is a flat plane: spokes would only lie in (and flicker with) the disc
            continue
        for end in ring[: -1 : max(1, (len(ring) - 1) // spokes)]:
            spoke = np.linspace(0.0, 1.0, 13)[:, None] * end
            paths += [{"path": p, "c": color, "name": name} for p in _dashed(spoke)]
    return paths


def drawable(latents: np.ndarray) -> np.ndarray:
    """(N,) bool: latents whose every coordinate is finite. A diverged model's are NaN, and NaN has no place
    on screen (deck.gl cannot even parse it from JSON), so those are left out and counted in the text."""
    return np.isfinite(latents).all(axis=-1)


def _landmark_index(true_rgb: np.ndarray) -> dict[str, int]:
    found = {}
    for name, rgb in LANDMARKS.items():
        dist = np.abs(true_rgb - np.array(rgb, dtype=float)).max(axis=1)
        i = int(np.argmin(dist))
        if dist[i] < 1e-6:
            found[name] = i
    return found


def _place(pos: np.ndarray, length: float) -> str:
    """Where a point appears on screen at the initial view, in words ('at 2 o'clock', 'at the centre')."""
    x, y, z = pos
    if length < 0.5:
        return f"pulled deep inside the sphere (length {length:.2f})"
    if math.hypot(x, y) < 0.35 * max(length, 1e-9):
        return "at the centre, facing you" if z >= 0 else "at the centre, on the far side"
    hour = int(round(math.degrees(math.atan2(x, y)) / 30.0)) % 12 or 12
    return f"at {hour} o'clock" + (" (far side)" if z < -0.5 else "")


def latent_description(
    latents: np.ndarray,
    true_rgb: np.ndarray,
    dims: Sequence[int] = DEFAULT_DIMS,
    cones: Mapping[str, float] | None = None,
) -> str:
    """What the 3-D view shows, from the numbers: where landmark colors sit, how many latents left the
    unit sphere, how close pure red is to the red direction, and how many latents each cone holds."""
    latents = np.asarray(latents, dtype=np.float64)
    true_rgb = np.asarray(true_rgb, dtype=np.float64)
    dims = _check_dims(dims, latents.shape[-1])
    n = len(latents)
    parts = [
        f"Rotatable 3-D view of the bottleneck latents of {n:,} colors, showing latent dimension {dims[0]} "
        f"across, {dims[1]} up and {dims[2]} toward you (drag to rotate). Each dot is drawn in its reconstructed "
        "color with its true color at its centre; the dark disc is the unit sphere, hiding what lies behind it."
    ]
    if RED_DIM in dims:
        where = ("right", "up", "toward you")[dims.index(RED_DIM)]
        parts.append(f"The red direction (dimension {RED_DIM}) points {where}.")
    else:
        parts.append(f"The red direction (dimension {RED_DIM}) is not shown in this view.")
    finite = drawable(latents)
    if not finite.all():  # a diverged model: describe (and draw) only the latents that are numbers
        parts.append(f"{n - finite.sum():,} of {n:,} latents are not numbers (the model diverged) and are not drawn.")
        latents, true_rgb = latents[finite], true_rgb[finite]
        n = len(latents)
        if not n:
            return " ".join(parts)
    pos = screen_positions(latents, dims)
    length = np.linalg.norm(latents, axis=1)
    marks = _landmark_index(true_rgb)
    if marks:
        parts.append(_landmarks_sentence(marks, pos, length))
    parts.append(_on_sphere_sentence(length))
    if "red" in marks:
        parts.append(_pure_red_sentence(latents, length, marks["red"]))
    if cones:
        parts += _cone_sentences(latents, pos, length, dims, cones)
    return " ".join(parts)


def _landmarks_sentence(marks: dict[str, int], pos: np.ndarray, length: np.ndarray) -> str:
    """Where the landmark colors appear at the initial view, those in one place named together."""
    groups: dict[str, list[str]] = {}
    for name, i in marks.items():
        groups.setdefault(_place(pos[i], float(length[i])), []).append(name)
    return (
        "Seen from the start: " + "; ".join(f"{' and '.join(names)} {place}" for place, names in groups.items()) + "."
    )


def _on_sphere_sentence(length: np.ndarray) -> str:
    n = len(length)
    on = int((length >= ON_SPHERE).sum())
    if on == n:
        return f"All {n:,} latents lie on the unit sphere."
    return (
        f"{on:,} of {n:,} latents lie on the unit sphere (length at least {ON_SPHERE}); the other {n - on:,} sit "
        f"inside it, the shortest with length {length.min():.2f}."
    )


def _pure_red_sentence(latents: np.ndarray, length: np.ndarray, i: int) -> str:
    if length[i] < 1e-3:
        return "Pure red's latent is squashed to the origin."
    angle = math.degrees(math.acos(np.clip(latents[i, RED_DIM] / length[i], -1, 1)))
    return f"Pure red's latent is {angle:.1f}° from the red direction (length {length[i]:.2f})."


def _cone_sentences(
    latents: np.ndarray, pos: np.ndarray, length: np.ndarray, dims: tuple[int, int, int], cones: Mapping[str, float]
) -> list[str]:
    """How many latents each cone holds, and how many only look inside it because the view hides a dimension."""
    n = len(latents)
    unit = latents / np.maximum(length, 1e-12)[:, None]
    angles = np.degrees(np.arccos(np.clip(unit[:, RED_DIM], -1, 1)))
    shown = pos / np.maximum(np.linalg.norm(pos, axis=1), 1e-12)[:, None]
    hidden = next(d for d in range(latents.shape[1]) if d not in dims)
    sentences = []
    for name, half in cones.items():
        inside = int(((angles < half) & (length > 1e-6)).sum())
        drawn = "drawn dashed" if RED_DIM in dims else "not drawn in this view"
        text = f"The {name} (half-angle {half:.0f}° around red, {drawn}) contains {inside:,} latents "
        text += f"({inside / n:.0%})"
        if half > 89.5:
            text += ": a 90° cone is the whole hemisphere facing red"
        if RED_DIM in dims and half < 89.5:
            seen = np.degrees(np.arccos(np.clip(shown[:, dims.index(RED_DIM)], -1, 1)))
            looks = int(((angles >= half) & (seen < half) & (length > 1e-6)).sum())
            if looks:
                text += (
                    f"; {looks:,} latents outside it look inside here, because this view leaves out dimension "
                    f"{hidden}: without it they point closer to red than they are"
                )
        sentences.append(text + ".")
    return sentences


def latent_deck(
    latents: np.ndarray,
    true_rgb: np.ndarray,
    recon_rgb: np.ndarray,
    dims: Sequence[int] = DEFAULT_DIMS,
    cones: Mapping[str, float] | None = None,
    error: np.ndarray | None = None,
    size: int = 500,
    point_px: float = 4.0,
    core_px: float = 2.0,
    tilt: float = 0.0,
    solid: bool = True,
    lens: str | None = None,
) -> tuple[CompactDeck, str]:
    """A rotatable 3-D view of three latent dimensions, and its description.

    Each latent is one billboard circle filled with the TRUE color and ringed by a thick stroke in the
    RECONSTRUCTED color (outer radius `point_px`, core radius `core_px`): one layer, so the two colors cannot
    z-fight. `cones` maps a name to a half-angle in degrees around c (e.g. ``intervention.cones()``); a cone
    is drawn as a dashed ring on the sphere plus dashed spokes from the origin (none for a flat 90° cone).
    `size` is the canvas height the initial zoom is chosen for (st.pydeck_chart's default height is 500).
    `tilt` (degrees) starts the camera that far above the screen's horizontal plane, which shows cones as
    ellipses instead of edge-on.
    `solid=False` leaves the sphere transparent so latents behind its centre stay visible. Latents are plotted
    as given: suppressed ones sit inside the sphere, on purpose.
    `lens` (cvd.KINDS) draws both colors as that viewer sees them; the tooltip then reads the true color's hex and
    hue beside the seen one's, and the description stays the true colors'.
    """
    latents = np.asarray(latents, dtype=np.float64)
    true_rgb = np.asarray(true_rgb, dtype=np.float64)
    recon_rgb = np.asarray(recon_rgb, dtype=np.float64)
    if not (len(latents) == len(true_rgb) == len(recon_rgb)):
        raise ValueError("latents, true_rgb and recon_rgb must have one row per color")
    dims = _check_dims(dims, latents.shape[-1])
    text = latent_description(latents, true_rgb, dims, cones)
    layers = _sphere_layers(dims, solid)
    if cones:
        layers.append(_cone_layer(cones, dims))
    records = _point_records(latents, cvd.simulate(true_rgb, lens), cvd.simulate(recon_rgb, lens), dims, error)
    tooltip = {"text": "true rgb({t})\nreconstructed rgb({r})" + ("" if error is None else "\nerror {e}")}
    if lens is not None:
        _add_readouts(records, true_rgb[drawable(latents)], lens)
        tooltip = {
            "text": f"true {{x}}, hue {{h}}°\nas seen ({lens}): {{s}}, hue {{sh}}°\nreconstructed as seen rgb({{r}})"
        }
        tooltip["text"] += "" if error is None else "\nerror {e}"
    layers.append(_latent_layer(records, point_px, core_px))
    deck = CompactDeck(
        layers=layers,
        views=[pdk.View(type="OrbitView", controller=True, orbit_axis="Y", fovy=FOVY)],
        initial_view_state=pdk.ViewState(
            target=[0, 0, 0],
            rotation_x=float(tilt),
            rotation_orbit=0,
            zoom=math.log2(size / 2.6),
            min_zoom=4,
            max_zoom=12,
        ),
        map_style=None,
        tooltip=tooltip,
    )
    return deck, text


def _point_records(
    latents: np.ndarray, true_rgb: np.ndarray, recon_rgb: np.ndarray, dims: tuple[int, int, int], error
) -> list[dict]:
    """One record per drawable latent: screen position, true and reconstructed color (0..255), error if given."""
    shown = drawable(latents)
    pos = np.round(screen_positions(latents[shown], dims), 4).tolist()
    fill = _rgb255(true_rgb[shown])
    stroke = _rgb255(recon_rgb[shown])
    if error is None:
        return [{"p": p, "t": t, "r": r} for p, t, r in zip(pos, fill, stroke, strict=True)]
    errs = [float(f"{e:.2g}") if math.isfinite(e) else None for e in np.asarray(error, dtype=float)[shown]]
    return [{"p": p, "t": t, "r": r, "e": e} for p, t, r, e in zip(pos, fill, stroke, errs, strict=True)]


def _add_readouts(records: list[dict], true_rgb: np.ndarray, lens: str) -> None:
    """The tooltip's readouts under a lens: the true color's hex (x) and hue (h), the seen color's (s, sh)."""
    seen = cvd.simulate(true_rgb, lens)
    hues = [cvd.hue_deg(c) for c in (true_rgb, seen)]
    hexes = [colors.to_hex(c) for c in (true_rgb, seen)]
    for record, x, h, s, sh in zip(records, hexes[0], hues[0], hexes[1], hues[1], strict=True):
        record.update(x=str(x), h=int(h), s=str(s), sh=int(sh))


def _sphere_layers(dims: tuple[int, int, int], solid: bool) -> list[pdk.Layer]:
    """The unit sphere's body (a disc facing the camera), its grid, and the two axis labels."""
    body = pdk.Layer(
        "ScatterplotLayer",
        id="sphere",
        data=[{"p": [0, 0, 0]}],
        get_position="p",
        billboard=True,
        radius_units=_LITERAL("common"),
        get_radius=1,
        filled=solid,
        get_fill_color=SPHERE_BODY,
        stroked=True,
        line_width_units=_LITERAL("pixels"),
        get_line_width=1.5,
        get_line_color=SPHERE_GRID,
    )
    grid = pdk.Layer(
        "PathLayer",
        id="sphere-grid",
        data=[{"path": p} for p in _sphere_grid()],
        get_path="path",
        get_color=SPHERE_GRID,
        width_units=_LITERAL("pixels"),
        get_width=1,
    )
    # The up axis is named above the sphere; the across axis below its right edge, with an arrow, not beyond it:
    # then the labels take no width beside the sphere, and the same zoom fits a half-width column on a projector
    # and a 390 px phone, where a label at the axis' end would be cut off by the canvas edge.
    labels = [
        {"p": [0.0, 1.22, 0.0], "text": f"dim {dims[1]}", "anchor": "middle"},
        {"p": [1.0, -1.12, 0.0], "text": f"dim {dims[0]} →", "anchor": "end"},
    ]
    axes = pdk.Layer(
        "TextLayer",
        id="axis-labels",
        data=labels,
        get_position="p",
        get_text="text",
        get_text_anchor="anchor",
        get_color=AXIS_LABEL,
        get_size=13,
        character_set=_LITERAL("".join(sorted(set("".join(label["text"] for label in labels))))),  # with the arrow
        billboard=True,
    )
    return [body, grid, axes]


def _cone_layer(cones: Mapping[str, float], dims: tuple[int, int, int]) -> pdk.Layer:
    return pdk.Layer(
        "PathLayer",
        id="cones",
        data=_cone_paths(cones, dims),
        get_path="path",
        get_color="c",
        width_units=_LITERAL("pixels"),
        get_width=1.5,
    )


def _latent_layer(records: list[dict], point_px: float, core_px: float) -> pdk.Layer:
    """Each latent one billboard circle: filled with its true color, ringed by its reconstructed color."""
    return pdk.Layer(
        "ScatterplotLayer",
        id="latents",
        data=records,
        get_position="p",
        billboard=True,
        radius_units=_LITERAL("pixels"),
        get_radius=(point_px + core_px) / 2,
        filled=True,
        get_fill_color="t",
        stroked=True,
        line_width_units=_LITERAL("pixels"),
        get_line_width=point_px - core_px,
        get_line_color="r",
        pickable=True,
    )


def _rgb255(rgb: np.ndarray) -> list[list[int]]:
    """Colors as 0..255 integer triples; a color with a NaN channel becomes to_hex's neutral grey."""
    rgb = np.where(np.isnan(rgb).any(axis=-1, keepdims=True), NOT_A_COLOR, rgb)
    return np.rint(np.clip(rgb, 0, 1) * 255).astype(int).tolist()


def evaluation_deck(ev, dims: Sequence[int] = DEFAULT_DIMS, intervention=None, **kwargs) -> tuple[CompactDeck, str]:
    """latent_deck for an Evaluation (its RGB-grid latents, colors and errors), with the intervention's cones."""
    cones = intervention.cones() if intervention is not None else None
    return latent_deck(ev.latents, ev.rgb_true, ev.rgb_out, dims, cones or None, error=ev.rgb_error, **kwargs)
