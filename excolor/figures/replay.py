"""The training replay: the unit latents of ~300 probe colors at snapshots through training, both placements side
by side, scrubbed with a slider that runs in the browser (moving it never reruns the page)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from .. import colors, cvd
from ..designs import PRESET_TITLES
from ..losses import RED_DIRECTION
from ..model import LATENT_DIMS
from ..text import degrees
from ..train import Replay
from .style import NEUTRAL

SQUARE_PADDING = {"left": 5, "top": 5, "right": 5, "bottom": 5}


def _unit_circle(n: int = 121) -> pd.DataFrame:
    t = np.linspace(0, 2 * np.pi, n)
    return pd.DataFrame({"x": np.cos(t), "y": np.sin(t), "order": np.arange(n)})


def replay_stats(replay: Replay, index: int, dims: tuple[int, int] = (1, 0)) -> dict[str, float]:
    """The numbers a student should see change: where pure red points, how the vivid hues spread.

    - red_angle: degrees between pure red's latent and the red direction (1, 0, 0, 0).
    - coverage: degrees of the circle (in the shown plane) covered by the vivid hues, 360 minus their
      largest empty gap: small when they clump, near 360 once the wheel has formed.
    - in_plane: mean share of the vivid hues' length that lies in the shown plane (1 = flat wheel).
    """
    z = replay.latents[index]
    hsv = colors.rgb_to_hsv(replay.rgb)
    c = np.asarray(RED_DIRECTION[:LATENT_DIMS])
    red = np.flatnonzero(np.all(np.isclose(replay.rgb, (1, 0, 0)), axis=1))
    red_angle = float("nan")
    if red.size:
        v = z[red[0]]
        red_angle = math.degrees(math.acos(np.clip(v @ c / max(np.linalg.norm(v), 1e-12), -1, 1)))
    vivid = (hsv[:, 1] > 0.99) & (hsv[:, 2] > 0.99)
    planar = z[vivid][:, list(dims)]
    angles = np.sort(np.degrees(np.arctan2(planar[:, 1], planar[:, 0])) % 360)
    gaps = np.diff(np.concatenate([angles, angles[:1] + 360])) if angles.size else np.array([360.0])
    norms = np.linalg.norm(z[vivid], axis=1)
    in_plane = float(np.mean(np.linalg.norm(planar, axis=1) / np.maximum(norms, 1e-12))) if vivid.any() else np.nan
    return {
        "red_angle": red_angle,
        "coverage": float(360 - gaps.max()),
        "in_plane": in_plane,
        "n_vivid": int(vivid.sum()),
        "n": len(z),
    }


# The replay scrubs in the browser: the snapshots of both placements are sent once, and a Vega-Lite parameter bound
# to a range input picks the one drawn, so moving the slider never reruns the page. Both panels share one plot whose
# width follows the container; expressions on Vega's `width` signal choose the layout that draws the panels largest
# (side by side on a projector, one above the other on a 390 px phone) and set the axis domains so that a data unit
# is as many pixels across as up (`ppu`): the circles stay round at any width.
REPLAY_HEIGHT = 420  # px
REPLAY_RADIUS = 1.2  # data units from a panel's centre to its edge
REPLAY_TITLE = 0.3  # data units above each panel for its title
REPLAY_OFFSET = 2 * REPLAY_RADIUS + 0.25  # side by side: from the left panel's centre to the right one's
REPLAY_DROP = 2 * REPLAY_RADIUS + REPLAY_TITLE + 0.15  # stacked: from the upper panel's centre to the lower one's
REPLAY_PARAM = "snapshot"  # the snapshot drawn: the slider's step ÷ the steps between snapshots
STEP_PARAM = "step"  # the slider, in training steps
# Coordinates travel as int16 (value × COORD_SCALE, 1e-4 units: far below a pixel), half the bytes of float32;
# a point with no finite value (a diverged run) is NO_VALUE and is not drawn.
COORD_SCALE = 10_000
NO_VALUE = -32768
REPLAY_PANELS = ("pre", "post")


def replay_snapshots(replays: Mapping[str, Replay], dims: tuple[int, int] = (1, 0)) -> dict[str, pd.DataFrame]:
    """The replay as two compact tables, sent to the browser once.

    points: one row per probe color: its hex and HSV, then for every snapshot s both placements' screen
      coordinates (latent dims `dims`) as int16 columns `<placement>_x<s>`, `<placement>_y<s>` holding
      value × COORD_SCALE, NO_VALUE where not finite; a run with fewer snapshots (it diverged) repeats its last one.
      Wide, not one row per (snapshot, probe): the browser handles one row per probe, and the slider's snapshot
      picks two columns per row (`datum['post_x' + snapshot]`) instead of filtering every row (docs/figures.md).
    steps: the training step of each snapshot.
    """
    first = max((replays[p] for p in REPLAY_PANELS), key=lambda r: len(r.steps))  # the one that did not diverge
    kept = regular_snapshots(first.steps)
    n_snaps = len(kept)
    hsv = colors.rgb_to_hsv(first.rgb)
    columns = {
        "probe": np.arange(len(first.rgb), dtype=np.int16),
        "color": colors.to_hex(first.rgb),
        "hue": np.round(hsv[:, 0] * 360).astype(np.int16),
        "saturation": np.round(hsv[:, 1], 2).astype(np.float32),
        "value": np.round(hsv[:, 2], 2).astype(np.float32),
    }
    for p in REPLAY_PANELS:
        latents = replays[p].latents[np.minimum(kept, len(replays[p].steps) - 1)]  # (S, P, 4)
        for axis, dim in zip("xy", dims):
            values = np.clip(latents[:, :, dim] * COORD_SCALE, NO_VALUE + 1, -NO_VALUE - 1)
            coords = np.where(np.isfinite(values), np.round(values), NO_VALUE).astype(np.int16)  # (S, P)
            columns.update({f"{p}_{axis}{s}": coords[s] for s in range(n_snaps)})
    points = pd.DataFrame(columns)
    steps = pd.DataFrame({"snap": np.arange(n_snaps, dtype=np.int16), "step": first.steps[kept].astype(np.int32)})
    for p in REPLAY_PANELS:  # what the line under each panel says at each step, rounded as every page rounds it
        last = len(replays[p].steps) - 1
        steps[f"{p}_red"] = [_red_line(replays[p], min(int(i), last), dims) for i in kept]
    return {"points": points, "steps": steps}


def regular_snapshots(steps: np.ndarray) -> np.ndarray:
    """Indices of the snapshots on a regular grid of training steps (0, every, 2 every, …), so a slider in training
    steps lands on each of them exactly: the last update (step 3,001) is off that grid and is not scrubbed to."""
    steps = np.asarray(steps)
    if len(steps) < 2:
        return np.arange(len(steps))
    every = int(steps[1] - steps[0])
    return np.flatnonzero(steps % every == 0)


def snapshot_every(steps: np.ndarray) -> int:
    """Training steps between two scrubbed snapshots (1 when there is only one)."""
    steps = np.asarray(steps)
    return int(steps[1] - steps[0]) if len(steps) > 1 else 1


def _red_line(replay: Replay, index: int, dims: tuple[int, int]) -> str:
    """'pure red 13.5° from the red direction' at one snapshot ('' for a diverged one)."""
    angle = replay_stats(replay, index, dims)["red_angle"]
    return f"pure red {degrees(angle)} from the red direction" if math.isfinite(angle) else ""


def _replay_layout() -> tuple[alt.Scale, alt.Scale, list[alt.Parameter]]:
    """The x and y scales, and the parameters they read: `stacked` (the layout) and `ppu` (pixels per unit)."""
    block = 2 * REPLAY_RADIUS + REPLAY_TITLE  # one panel with its title, in data units
    side = f"min(width / {REPLAY_OFFSET + 2 * REPLAY_RADIUS}, height / {block})"
    stack = f"min(width / {2 * REPLAY_RADIUS}, height / {REPLAY_DROP + block})"
    stacked = alt.param(name="stacked", expr=f"{stack} > {side}")
    ppu = alt.param(name="ppu", expr=f"max(1, {side}, {stack})")
    centre = f"(stacked ? 0 : {REPLAY_OFFSET / 2})"
    x = alt.Scale(
        domainMin=alt.ExprRef(f"{centre} - width / ppu / 2"),
        domainMax=alt.ExprRef(f"{centre} + width / ppu / 2"),
        nice=False,
        zero=False,
    )
    top = REPLAY_RADIUS + REPLAY_TITLE  # the first panel hangs from the top; any spare height is below
    y = alt.Scale(domainMin=alt.ExprRef(f"{top} - height / ppu"), domainMax=top, nice=False, zero=False)
    return x, y, [stacked, ppu]


def _placed(chart: alt.Chart, panel: str, lx: str, ly: str) -> alt.Chart:
    """x, y of a point at (lx, ly) in panel `panel` (0 or 1; expressions): beside or below the first panel."""
    return chart.transform_calculate(
        x=f"({lx}) + (stacked ? 0 : ({panel}) * {REPLAY_OFFSET})",
        y=f"({ly}) - (stacked ? ({panel}) * {REPLAY_DROP} : 0)",
    )


def _replay_guides(x: alt.X, y: alt.Y, dims: tuple[int, int]) -> alt.LayerChart:
    """The static parts of both panels: unit circles, cross-hairs and axis labels."""
    ring = _unit_circle().rename(columns={"x": "lx", "y": "ly"})
    rings = pd.concat([ring.assign(panel=i) for i in range(2)], ignore_index=True)
    cross = pd.DataFrame(
        [
            {"lx": dx, "ly": dy, "panel": i, "line": f"{i}{axis}"}
            for i in range(2)
            for axis, ends in (("h", ((-1, 0), (1, 0))), ("v", ((0, -1), (0, 1))))
            for dx, dy in ends
        ]
    )
    up = f"↑ dim {dims[1]}" + (" (red)" if dims[1] == 0 else "")
    labels = pd.DataFrame(
        [
            {"lx": dx, "ly": dy, "panel": i, "text": text, "align": align}
            for i in range(2)
            for dx, dy, text, align in ((0.0, 1.1, up, "center"), (1.18, -1.12, f"dim {dims[0]} →", "right"))
        ]
    )

    def place(frame: pd.DataFrame) -> alt.Chart:
        return _placed(alt.Chart(frame), "datum.panel", "datum.lx", "datum.ly")

    circle = place(rings).mark_line(color=NEUTRAL, strokeDash=[3, 3], strokeWidth=1)
    circle = circle.encode(x=x, y=y, detail="panel:N", order="order:Q")
    hairs = place(cross).mark_line(color=NEUTRAL, strokeWidth=0.5, opacity=0.5).encode(x=x, y=y, detail="line:N")
    text = [
        place(labels[labels["align"] == a])
        .mark_text(color=NEUTRAL, fontSize=11, align=a, baseline="middle")
        .encode(x=x, y=y, text="text:N")
        for a in ("center", "right")
    ]
    return alt.layer(hairs, circle, *text)


def replay_scrub_chart(
    replays: Mapping[str, Replay], dims: tuple[int, int] = (1, 0), lens: str | None = None
) -> tuple[alt.LayerChart, str]:
    """Both placements' probe colors at one snapshot, each point filled with its true color; a range input under
    the chart (a Vega-Lite parameter) picks the snapshot in the browser, for both panels. Starts at the last.

    Width "container" (the page draws it at width="stretch"); see the comment above REPLAY_HEIGHT. `lens`
    (cvd.KINDS) fills the points as that viewer sees them; the tooltip keeps the true color beside."""
    tables = replay_snapshots(replays, dims)
    if lens is not None:
        tables["points"]["seen"] = cvd.simulate_hex(tables["points"]["color"], lens)
    steps = tables["steps"]["step"].to_numpy()
    every = snapshot_every(steps)
    step = alt.param(  # the slider reads in training steps, the number each panel's title shows
        name=STEP_PARAM,
        value=int(steps[-1]),
        bind=alt.binding_range(min=0, max=int(steps[-1]), step=every, name="Training step (0 = untrained) "),
    )
    snapshot = alt.param(name=REPLAY_PARAM, expr=f"round({STEP_PARAM} / {every})")  # which columns to draw
    xs, ys, layout = _replay_layout()
    x = alt.X("x:Q", scale=xs, axis=None)
    y = alt.Y("y:Q", scale=ys, axis=None)
    chart = (
        alt.layer(
            _replay_guides(x, y, dims),
            *_snapshot_points(tables["points"], x, y),
            *_panel_titles(tables["steps"], snapshot, x, y),
        )
        .add_params(step, snapshot, *layout)
        .properties(width="container", height=REPLAY_HEIGHT, padding=SQUARE_PADDING)
    )
    return chart, replay_scrub_description(replays, dims)


def _snapshot_points(points: pd.DataFrame, x: alt.X, y: alt.Y) -> list[alt.Chart]:
    """Each panel's probe colors at the slider's snapshot: two columns picked per row, missing values not drawn."""
    tooltip = [
        alt.Tooltip("color:N", title="true color"),
        alt.Tooltip("hue:Q", title="hue (°)"),
        alt.Tooltip("saturation:Q"),
        alt.Tooltip("value:Q"),
    ]
    fill = "seen" if "seen" in points.columns else "color"
    if fill == "seen":
        tooltip.append(alt.Tooltip("seen:N", title="color as seen"))
    # point area follows the scale: ~55 px² at 140 px per unit, smaller on a phone
    dots = alt.Chart(points).mark_circle(
        opacity=1, stroke=NEUTRAL, strokeWidth=0.6, size=alt.ExprRef("pow(ppu / 19, 2)")
    )
    return [
        _placed(
            dots.transform_calculate(
                px=f"datum['{p}_x' + {REPLAY_PARAM}]", py=f"datum['{p}_y' + {REPLAY_PARAM}]"
            ).transform_filter(f"datum.px != {NO_VALUE} && datum.py != {NO_VALUE}"),
            str(i),
            f"datum.px / {COORD_SCALE}",
            f"datum.py / {COORD_SCALE}",
        ).encode(x=x, y=y, fill=alt.Fill(f"{fill}:N", scale=None), tooltip=tooltip)
        for i, p in enumerate(REPLAY_PANELS)
    ]


def _panel_titles(steps: pd.DataFrame, snapshot: alt.Parameter, x: alt.X, y: alt.Y) -> list[alt.Chart]:
    """'post-norm · step 1,500' above each panel and 'pure red 13.5° from the red direction' under it, following the
    slider: the words under the chart change with it, where a caption could not."""
    names = {p: PRESET_TITLES.get(p, p).split(" (")[0] for p in REPLAY_PANELS}  # short: fits a phone's panel
    titles = alt.Chart(steps).transform_filter(alt.datum.snap == snapshot)
    heads = [
        _placed(titles, str(i), "0", str(REPLAY_RADIUS + 0.16))
        .transform_calculate(label=f"'{names[p]} · step ' + format(datum.step, ',')")
        .mark_text(fontSize=13, fontWeight="bold", baseline="middle", color=NEUTRAL)
        .encode(x=x, y=y, text="label:N")
        for i, p in enumerate(REPLAY_PANELS)
    ]
    feet = [
        _placed(titles, str(i), str(-REPLAY_RADIUS + 0.04), str(-REPLAY_RADIUS + 0.08))
        .mark_text(fontSize=11, align="left", baseline="middle", color=NEUTRAL)
        .encode(x=x, y=y, text=f"{p}_red:N")
        for i, p in enumerate(REPLAY_PANELS)
    ]
    return heads + feet


def replay_scrub_description(replays: Mapping[str, Replay], dims: tuple[int, int] = (1, 0)) -> str:
    """The caption: both placements at their final snapshot, in numbers, and what the slider does."""
    first = max((replays[p] for p in REPLAY_PANELS), key=lambda r: len(r.steps))
    kept = regular_snapshots(first.steps)
    every = snapshot_every(first.steps)
    finals = " ".join(
        replay_description(replays[p], min(int(kept[-1]), len(replays[p].steps) - 1), PRESET_TITLES.get(p, p), dims)
        for p in REPLAY_PANELS
    )
    return (
        f"Where the slider starts: {finals} The slider under the chart is in training steps: it moves both "
        f"placements through the {len(kept)} snapshots (every {every:,} training steps, from the untrained network "
        "at step 0), and each panel's title and the line under it follow it; it runs in your browser, so scrubbing "
        "never reloads the page."
    )


def replay_description(replay: Replay, index: int, title: str = "", dims: tuple[int, int] = (1, 0)) -> str:
    who = f"{title}: " if title else ""
    broken = int((~np.isfinite(replay.latents[index]).all(axis=-1)).sum())
    if broken:  # a diverged run: NaN latents have no angle or spread, and the chart leaves them out
        return (
            f"{who}step {int(replay.steps[index]):,}: training diverged; {broken} of {len(replay.rgb)} probe latents "
            "are not numbers, so they are not drawn."
        )
    s = replay_stats(replay, index, dims)
    return (
        f"{who}step {int(replay.steps[index]):,}. Unit latents of {s['n']} probe colors, latent dim {dims[0]} "
        f"across and dim {dims[1]} up, each dot in its true color; dashed: the unit circle. Pure red points "
        f"{degrees(s['red_angle'])} away from the red direction; the {s['n_vivid']} vivid hues cover "
        f"{s['coverage']:.0f}° of the circle and keep {s['in_plane']:.0%} of their length in this plane."
    )
