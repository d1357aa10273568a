"""Evaluation: what a trained model (with or without an intervention) does to every color we look at.

`prepare(model)` encodes the evaluation grids once; `evaluate(probe, intervention)` then only has to
apply the intervention and decode the latents it actually moved, so a slider move costs a fraction of
a full pass over the 552,960-color dense grid.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import torch
from torch import Tensor

from . import colors
from .interventions import Intervention
from .losses import Anchor, Planarity, Unitarity
from .model import LATENT_DIMS, ColorAutoencoder, unit_length

HUE_PANEL_VALUE_INDICES = (47, 37, 27, 17, 7)  # dense-grid value levels drawn in the error-vs-hue panel
CURVE_HUES_DEG = (0, 60, 120, 180, 240, 300)  # hues drawn in the error-vs-saturation and -value panels


def per_color_error(output: Tensor, target: Tensor) -> Tensor:
    """Mean over R, G, B of the squared error of the output clamped to [0, 1]."""
    return ((output.clamp(0.0, 1.0) - target) ** 2).mean(-1)


# Colors per pass through the network: a chunk's temporaries stay near 5 MB (the whole dense grid at once peaked
# ~65 MB higher), and chunks are no slower. Every operation is per color, so the numbers equal one pass's.
CHUNK = 32_768

# Every pass through a half of the network has whole blocks of this many rows (zero rows pad the last): oneDNN
# then builds a few kernel shapes instead of one per slider move, and no layer sees so few rows that ATen rounds
# differently. Why each number, with its measurements: docs/science.md.
ROW_BLOCK = 4_096


def _chunks(n: int) -> list[slice]:
    return [slice(start, start + CHUNK) for start in range(0, n, CHUNK)]


def forward_rows(half, rows: Tensor) -> Tensor:
    """model.encode or model.decode (`half`) of a K = 1 model on (N, d) rows, as (N, d'), in whole ROW_BLOCKs."""
    n = len(rows)
    padded = -(-n // ROW_BLOCK) * ROW_BLOCK
    if padded != n:
        rows = torch.cat([rows, rows.new_zeros(padded - n, rows.shape[-1])])
    return half(rows)[0, :n]


@dataclass
class Encoded:
    """One grid pushed through the network once: inputs, unit latents, baseline outputs and errors.

    The raw (pre-normalization) latents are not kept: only the encoder-tap intervention (ablation) reads them,
    and encoding again gives the same numbers bit for bit, so a dense probe is 11 MB instead of 20 MB.
    """

    grid: colors.Grid
    x: Tensor
    unit: Tensor
    output: Tensor | None  # clamped baseline reconstruction (not kept for the dense grid: only errors are used)
    error: Tensor


@cache
def _grid_tensor(name: str) -> Tensor:
    return torch.tensor(GRIDS[name]().flat_rgb, dtype=torch.float32)


GRIDS = {"dense": colors.dense_grid, "swatch": colors.swatch_grid, "rgb": colors.rgb_grid}
_GRIDS_LOCK = threading.Lock()


def grid_tensors() -> dict[str, Tensor]:
    """Every named grid's float32 colors, shared by every model's probe. Built once, under a lock: a class arriving
    at a fresh server would otherwise build the dense grid (26 MB, ~0.15 s) once per session, all at once."""
    with _GRIDS_LOCK:
        return {name: _grid_tensor(name) for name in GRIDS}


def _encode(model: ColorAutoencoder, grid: colors.Grid, x: Tensor, keep_output: bool = True) -> Encoded:
    unit = torch.empty(len(x), LATENT_DIMS)
    output = torch.empty(len(x), 3) if keep_output else None
    error = torch.empty(len(x))
    with torch.no_grad():
        for part in _chunks(len(x)):
            unit[part] = unit_length(forward_rows(model.encode, x[part]))
            out = forward_rows(model.decode, unit[part]).clamp(0.0, 1.0)
            error[part] = per_color_error(out, x[part])
            if output is not None:
                output[part] = out
    return Encoded(grid, x, unit, output, error)


# SPEC §7, collateral damage: "the other colors" are the dense grid's colors with similarity to red at most
# FAR_FROM_RED, and a color is visibly damaged when its error exceeds VISIBLE_ERROR (RMS 0.032 per channel, about
# 8 of 255 levels: a visible difference; the charts draw the same line).
FAR_FROM_RED = 0.1
VISIBLE_ERROR = 1e-3


@cache
def far_from_red() -> np.ndarray:
    """Which dense-grid colors are far from red (sim <= FAR_FROM_RED): the same for every model, built once."""
    mask = colors.similarity_to_red(colors.dense_grid().flat_hsv) <= FAR_FROM_RED
    mask.flags.writeable = False
    return mask


@dataclass(frozen=True)
class Collateral:
    """How much an intervention harms the colors far from red (SPEC §7)."""

    ratio: float  # median error on the far colors ÷ the baseline's median on the same colors (1.0 = untouched)
    damaged: float  # share of the far colors with an error above VISIBLE_ERROR
    far_share: float  # share of the dense grid that is far from red


def collateral_damage(error: np.ndarray, baseline_error: np.ndarray, far: np.ndarray) -> Collateral:
    """Collateral damage from per-color errors (with and without the intervention) on the colors `far`.

    Selectivity asks whether the damage has red's shape; this asks how much the rest suffers, so a narrow cone
    that harms almost nothing scores near 1 however its damage is shaped."""
    error, base = np.asarray(error)[far], np.asarray(baseline_error)[far]
    share = float(np.mean(far))
    if not (error.size and np.isfinite(error).all() and np.isfinite(base).all()):  # e.g. a diverged run
        return Collateral(float("nan"), float("nan"), share)
    return Collateral(float(np.median(error) / np.median(base)), float((error > VISIBLE_ERROR).mean()), share)


@dataclass
class Probe:
    """A trained model with its evaluation grids already encoded."""

    model: ColorAutoencoder
    dense: Encoded
    swatch: Encoded
    rgb: Encoded
    named: Encoded
    red_similarity_sq: np.ndarray = field(repr=False)  # sim^2 of every RGB-grid color to pure red


def prepare(model: ColorAutoencoder) -> Probe:
    x = grid_tensors()  # first: it builds the grids once, however many sessions ask
    named_hsv = colors.named_colors()[1]
    named = colors.Grid("named", ("hue",), (named_hsv[:, 0],), named_hsv, colors.hsv_to_rgb(named_hsv))
    rgb = colors.rgb_grid()
    return Probe(
        model,
        _encode(model, colors.dense_grid(), x["dense"], keep_output=False),
        _encode(model, colors.swatch_grid(), x["swatch"]),
        _encode(model, rgb, x["rgb"]),
        _encode(model, named, torch.tensor(named.flat_rgb, dtype=torch.float32)),
        colors.similarity_to_red(rgb.flat_hsv) ** 2,
    )


def _intervene(model: ColorAutoencoder, x: Tensor, unit: Tensor, intervention: Intervention) -> Tensor:
    """The unit latents of colors x after the intervention (an encoder-tap one acts before the normalization)."""
    if intervention.tap == "encoder":
        return unit_length(intervention(forward_rows(model.encode, x)))
    return intervention(unit)


def _apply(
    model: ColorAutoencoder, enc: Encoded, intervention: Intervention | None
) -> tuple[Tensor | None, Tensor | None, Tensor]:
    """(latents after the intervention, clamped outputs, per-color errors) for one encoded grid.

    Only latents the intervention actually changed are decoded again; the rest keep their baseline. Latents and
    outputs come back only for grids that keep outputs (the dense grid gives errors alone).
    """
    if intervention is None:
        return enc.unit, enc.output, enc.error
    keep = enc.output is not None
    latents = torch.empty_like(enc.unit) if keep else None
    output = enc.output.clone() if keep else None
    error = enc.error.clone()
    with torch.no_grad():
        for part in _chunks(len(enc.x)):
            x, unit = enc.x[part], enc.unit[part]
            z = _intervene(model, x, unit, intervention)
            moved = (z != unit).any(-1)
            if keep:
                latents[part] = z
            if moved.any():
                out_moved = forward_rows(model.decode, z[moved]).clamp(0.0, 1.0)
                if keep:
                    output[part][moved] = out_moved
                error[part][moved] = per_color_error(out_moved, x[moved])
    return latents, output, error


def errors_under(
    model: ColorAutoencoder, grid: str, interventions: dict[str, Intervention | None]
) -> dict[str, np.ndarray]:
    """Per-color error of every color of a named grid under each intervention (None: the baseline), chunk by
    chunk and keeping nothing else: what measuring many runs needs without a Probe (11 MB) per run. The numbers
    are evaluate()'s, bit for bit."""
    x_all = grid_tensors()[grid]
    out = {name: np.empty(len(x_all), dtype=np.float32) for name in interventions}
    for part in _chunks(len(x_all)):
        enc = _encode(model, GRIDS[grid](), x_all[part], keep_output=False)
        for name, intervention in interventions.items():
            out[name][part] = _errors_after(model, enc, intervention).numpy()
    return out


def _errors_after(model: ColorAutoencoder, enc: Encoded, intervention: Intervention | None) -> Tensor:
    """Per-color errors of one encoded chunk after the intervention, every latent decoded again: an unmoved latent
    decodes to its baseline numbers bit for bit, and decoding all is cheaper than picking out the moved ones."""
    if intervention is None:
        return enc.error
    with torch.no_grad():
        z = _intervene(model, enc.x, enc.unit, intervention)
        return per_color_error(forward_rows(model.decode, z).clamp(0.0, 1.0), enc.x)


@dataclass
class Curves:
    """The notebook's three error panels, sliced from the dense grid (h, s, v order)."""

    hue_deg: np.ndarray  # (240,)
    by_hue: np.ndarray  # (len(values), 240): error vs hue, S = 1, one row per value level
    values: np.ndarray
    levels: np.ndarray  # (48,) saturation / value levels
    by_saturation: np.ndarray  # (len(hues), 48): V = 1
    by_value: np.ndarray  # (len(hues), 48): S = 1
    hues_deg: np.ndarray


def error_curves(dense_grid: colors.Grid, error: np.ndarray) -> Curves:
    cube = error.reshape(dense_grid.shape)
    h, s, v = dense_grid.coords
    hue_idx = [int(round(deg / 360 * len(h))) % len(h) for deg in CURVE_HUES_DEG]
    return Curves(
        hue_deg=h * 360,
        by_hue=cube[:, -1, list(HUE_PANEL_VALUE_INDICES)].T.copy(),
        values=v[list(HUE_PANEL_VALUE_INDICES)],
        levels=s,
        by_saturation=cube[hue_idx, :, -1].copy(),
        by_value=cube[hue_idx, -1, :].copy(),
        hues_deg=np.array(CURVE_HUES_DEG, dtype=float),
    )


@dataclass
class Evaluation:
    max_error: float
    median_error: float
    curves: Curves
    swatch_true: np.ndarray  # (24, 4, 8, 3) h, s, v
    swatch_out: np.ndarray
    swatch_error: np.ndarray  # (24, 4, 8)
    latents: np.ndarray  # (8000, 4) bottleneck of the RGB grid after the intervention
    rgb_true: np.ndarray  # (8000, 3)
    rgb_out: np.ndarray
    rgb_error: np.ndarray
    selectivity: float  # Pearson r of RGB-grid error with similarity-to-red squared
    collateral: float  # median error of the colors far from red ÷ the baseline's (Collateral.ratio)
    damaged_share: float  # share of the colors far from red visibly damaged (Collateral.damaged)
    named_error: dict[str, float]

    def metrics(self) -> dict[str, float]:
        return {
            "max": self.max_error,
            "median": self.median_error,
            "selectivity": self.selectivity,
            "collateral": self.collateral,
            "damaged share": self.damaged_share,
        }


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant (no linear relation to speak of)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    da, db = a - a.mean(), b - b.mean()
    denom = np.sqrt((da**2).sum() * (db**2).sum())
    return float((da * db).sum() / denom) if denom > 0 else float("nan")


def evaluate(target, intervention: Intervention | None = None) -> Evaluation:
    """Evaluate a Probe, a TrainedRun or a K = 1 model, with an optional intervention."""
    probe = target if isinstance(target, Probe) else probe_of(target)
    model = probe.model
    _, _, dense_err = _apply(model, probe.dense, intervention)
    dense_np = dense_err.numpy()
    _, swatch_out, swatch_err = _apply(model, probe.swatch, intervention)
    latents, rgb_out, rgb_err = _apply(model, probe.rgb, intervention)
    _, _, named_err = _apply(model, probe.named, intervention)
    shape = probe.swatch.grid.shape
    collateral = collateral_damage(dense_np, probe.dense.error.numpy(), far_from_red())
    return Evaluation(
        max_error=float(dense_np.max()),
        median_error=float(np.median(dense_np)),
        curves=error_curves(probe.dense.grid, dense_np),
        swatch_true=probe.swatch.grid.rgb,
        swatch_out=swatch_out.numpy().reshape(*shape, 3),
        swatch_error=swatch_err.numpy().reshape(shape),
        latents=latents.numpy(),
        rgb_true=probe.rgb.grid.flat_rgb,
        rgb_out=rgb_out.numpy(),
        rgb_error=rgb_err.numpy(),
        selectivity=pearson(rgb_err.numpy(), probe.red_similarity_sq),
        collateral=collateral.ratio,
        damaged_share=collateral.damaged,
        named_error=dict(zip(colors.NAMED_HUES, named_err.numpy().astype(float).tolist())),
    )


def probe_of(target) -> Probe:
    """The Probe for a TrainedRun (built once and kept on the run) or for a bare model."""
    if isinstance(target, ColorAutoencoder):
        return prepare(target)
    return target.memo("probe", lambda: prepare(target.model))


def validation_losses(model: ColorAutoencoder) -> dict[str, float]:
    """Regularizer values on a fixed set, not a noisy batch: the whole training grid, each color weighted
    by its sampling weight times its label probability (the expectation of the batch estimate).

    Anchor and planarity are measured on the bottleneck for both placements, because that is the
    space the interventions act on.
    """
    grid = colors.training_grid()
    x = torch.tensor(grid.flat_rgb, dtype=torch.float32)
    w = colors.sampling_weights(grid.flat_hsv)
    red = torch.tensor(w * colors.red_probability(grid.flat_rgb), dtype=torch.float32)[None]
    vib = torch.tensor(w * colors.vibrant_probability(grid.flat_hsv), dtype=torch.float32)[None]
    with torch.no_grad():
        taps = model(x)
        recon = ((taps.output - x) ** 2).mean(-1)
        weights = torch.tensor(w, dtype=torch.float32)
        return {
            "recon": float((recon * weights).sum() / weights.sum()),
            "unit": float(Unitarity()(taps.encoder)[0]),
            "anchor": float(Anchor()(taps.bottleneck, red)[0]),
            "planar": float(Planarity()(taps.bottleneck, vib)[0]),
        }


STANDARD = ("baseline", "suppression", "repulsion")


def standard_metrics(target, names: tuple[str, ...] = STANDARD) -> dict[str, dict[str, float]]:
    """Max / median dense-grid error, selectivity and collateral damage for the baseline and the notebook's
    interventions."""
    from .interventions import default_interventions

    interventions = {"baseline": None, **default_interventions()}
    out = {}
    for name in names:
        ev = evaluate(target, interventions[name])
        out[name] = ev.metrics()
    return out
