"""Training: a frozen Recipe -> train() -> TrainedRun (weights, per-step history, replay snapshots).

K recipes that share a schedule train together as one batched model. Each model still gets exactly
what it would get alone: its init, its batches and its labels come from generators seeded by its own
seed, drawn up front, and Adam's update is elementwise, so neighbours in the batch never mix.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from torch import Tensor

from . import colors
from .designs import PLACED_TERMS, Design, parse_design
from .losses import TERMS, regularizer_terms
from .model import ColorAutoencoder, unit_length
from .schedule import EX24, Schedule

HISTORY_TERMS = ("recon", *TERMS, "total")
MAX_SEED = 2**31 - 1
DATA_STREAM_OFFSET = 1 << 32  # the data generator's seed, kept apart from the init generator's


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a trained model. Frozen and hashable: it is the cache key.

    The design may be given as text (`Recipe("post,anchor=pre", 3)`); it is parsed once, so equal designs
    make equal, equally hashed recipes.
    """

    design: Design = Design()
    seed: int = 0
    schedule: Schedule = EX24
    batch_size: int = 64

    def __post_init__(self) -> None:
        object.__setattr__(self, "design", parse_design(self.design))  # frozen: set once, here
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, not {self.seed!r}")
        if not isinstance(self.batch_size, int) or not 2 <= self.batch_size <= 1024:
            raise ValueError(f"batch size must be a whole number from 2 to 1024, not {self.batch_size!r}")

    @property
    def placement(self) -> str:
        """The design's canonical text: 'pre' or 'post' for the two published designs (what pages and records
        called the placement before designs existed)."""
        return self.design.text

    @cached_property
    def key(self) -> str:
        """The recipe's full identity as text, for shared caches and file names: computed once per recipe.

        Full length on purpose (the schedule's whole SHA-256): two different recipes never share a key.
        """
        return f"{self.design.text}-s{self.seed}-b{self.batch_size}-{self.schedule.digest}"


@dataclass(frozen=True)
class Divergence:
    """Where a run stopped because its loss stopped being a finite number."""

    step: int
    term: str

    def __str__(self) -> str:
        return f"training diverged at step {self.step}: the {self.term} term became NaN or infinite"


@dataclass
class Replay:
    """Bottleneck latents of a fixed probe set of colors, captured during training."""

    steps: np.ndarray  # (S,) number of updates applied when the snapshot was taken
    latents: np.ndarray  # (S, P, 4)
    rgb: np.ndarray  # (P, 3) the probe colors


@dataclass
class TrainedRun:
    recipe: Recipe
    weights: dict[str, Tensor]
    history: dict[str, np.ndarray]  # per step: loss terms (HISTORY_TERMS) and schedule values (lr, w_<term>)
    replay: Replay
    train_seconds: float
    diverged: Divergence | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @cached_property
    def model(self) -> ColorAutoencoder:
        model = ColorAutoencoder([self.weights]).eval()
        model.requires_grad_(False)
        return model

    def describe(self) -> dict:
        """The run's identity and training outcome as plain JSON values (the head of every run record)."""
        return {
            "placement": self.recipe.placement,
            "design": self.recipe.design.text,
            "seed": self.recipe.seed,
            "train_seconds": round(self.train_seconds, 3),
            "final_recon": self.final_recon,
            "diverged": None if self.diverged is None else str(self.diverged),
        }

    @property
    def final_recon(self) -> float:
        """Training reconstruction loss, averaged over the last 100 steps (one batch is too noisy)."""
        recon = self.history["recon"]
        recon = recon[np.isfinite(recon)]
        return float(recon[-100:].mean()) if recon.size else float("nan")


def replay_probe(n_hues: int = 24) -> np.ndarray:
    """~300 colors that show the wheel forming: a few hues at several saturations/values, plus greys."""
    grid = colors.hsv_grid("probe", n_hues, 4, 4).flat_rgb
    greys = np.repeat(np.linspace(0, 1, 12)[:, None], 3, axis=1)
    return np.concatenate([grid[np.unique(grid, axis=0, return_index=True)[1]], greys])


def data_stream(seed: int, steps: int, batch_size: int, n_colors: int, weights: Tensor) -> tuple[Tensor, Tensor]:
    """Batch indices (steps, B), drawn with replacement in proportion to `weights`, and the uniform
    draws (steps, B, 2) that become the red / vibrant labels. All from one generator seeded by `seed`."""
    gen = torch.Generator().manual_seed(seed + DATA_STREAM_OFFSET)
    idx = torch.multinomial(weights, steps * batch_size, replacement=True, generator=gen)
    draws = torch.rand(steps, batch_size, 2, generator=gen)
    return idx.view(steps, batch_size), draws


def routes(designs: Sequence[Design]) -> tuple[dict[str, Tensor], dict[str, Tensor | None]]:
    """Per term, which models read the bottleneck ((K,) bool), and which models have the term on ((K,) bool,
    or None when every model has it: then nothing is masked and the presets run exactly the ops they always did).

    An off term is still measured for the history, on the tap of its design's base, but never weighted.
    """
    on_bottleneck, active = {}, {}
    for name in TERMS:
        on_bottleneck[name] = torch.tensor([_measured_tap(d, name) == "bottleneck" for d in designs])
        on = [d.tap(name) is not None for d in designs]
        active[name] = None if all(on) else torch.tensor(on)
    return on_bottleneck, active


def _measured_tap(design: Design, term: str) -> str:
    """The tap a term is measured on: the one its design names, or, when it is off, its design base's."""
    if term in PLACED_TERMS:
        return design.tap(term) or ("bottleneck" if design.base == "post" else "encoder")
    return "encoder"


def _check_batchable(recipes: Sequence[Recipe]) -> None:
    if not recipes:
        raise ValueError("train() needs at least one recipe")
    first = recipes[0]
    for r in recipes[1:]:
        if r.schedule != first.schedule or r.batch_size != first.batch_size:
            raise ValueError("recipes trained together must share their schedule and batch size")


def train(
    recipes: Recipe | Sequence[Recipe],
    progress: Callable[[int, int, dict[str, np.ndarray]], None] | None = None,
    progress_every: int = 100,
    replay_every: int = 50,
) -> list[TrainedRun]:
    """Train every recipe, all together as one batched model; returns one TrainedRun per recipe.

    `progress(step, steps, losses)` is called every `progress_every` steps and at the end, with the
    current per-model loss terms (arrays of length K). Training stops early once every model diverged.
    """
    recipes = [recipes] if isinstance(recipes, Recipe) else list(recipes)
    _check_batchable(recipes)
    schedule, batch = recipes[0].schedule, recipes[0].batch_size
    steps, k = schedule.steps, len(recipes)
    plan = schedule.values()
    started = time.perf_counter()

    grid = colors.training_grid()
    rgb = torch.tensor(grid.flat_rgb, dtype=torch.float32)
    p_red = torch.tensor(colors.red_probability(grid.flat_rgb), dtype=torch.float32)
    p_vib = torch.tensor(colors.vibrant_probability(grid.flat_hsv), dtype=torch.float32)
    sample_w = torch.tensor(colors.sampling_weights(grid.flat_hsv), dtype=torch.float64)
    streams = [data_stream(r.seed, steps, batch, len(rgb), sample_w) for r in recipes]
    idx = torch.stack([s[0] for s in streams])  # (K, steps, B)
    draws = torch.stack([s[1] for s in streams])  # (K, steps, B, 2)
    x_all = rgb[idx]
    red_all = (draws[..., 0] < p_red[idx]).float()
    vib_all = (draws[..., 1] < p_vib[idx]).float()

    model = ColorAutoencoder.from_seeds([r.seed for r in recipes])
    on_bottleneck, active = routes([r.design for r in recipes])
    optimizer = FlatAdam(list(model.parameters()))
    probe_rgb = replay_probe()
    probe = torch.tensor(probe_rgb, dtype=torch.float32)
    snapshots, snapshot_steps = [], []

    def snapshot(n_updates: int) -> None:
        with torch.no_grad():
            snapshots.append(unit_length(model.encode(probe)).numpy().copy())
        snapshot_steps.append(n_updates)

    weights_at = {name: plan[name] for name in TERMS}
    records: list[Tensor] = []
    diverged: dict[int, Divergence] = {}
    snapshot(0)
    for t in range(steps):
        x = x_all[:, t]
        taps = model(x)
        recon = ((taps.output - x) ** 2).mean(dim=(-1, -2))
        labels = {"red": red_all[:, t], "vibrant": vib_all[:, t]}
        terms = regularizer_terms(taps.encoder, taps.bottleneck, on_bottleneck, labels)
        loss = recon
        for name in TERMS:
            w = weights_at[name][t]
            if w != 0:
                weighted = float(w) * terms[name]
                loss = loss + (weighted if active[name] is None else torch.where(active[name], weighted, 0.0))
        row = torch.stack([recon, *(terms[n] for n in TERMS), loss]).detach()
        records.append(row)
        if not torch.isfinite(loss).all():
            _note_divergence(row, t, diverged)
            if len(diverged) == k:
                break
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step(float(plan["lr"][t]))
        if (t + 1) % replay_every == 0 or t + 1 == steps:
            snapshot(t + 1)
        if progress is not None and ((t + 1) % progress_every == 0 or t + 1 == steps):
            progress(t + 1, steps, {n: v.numpy() for n, v in zip(HISTORY_TERMS, row)})

    elapsed = time.perf_counter() - started
    table = torch.stack(records).numpy()  # (steps_done, n_terms, K)
    replay_latents = np.stack(snapshots)  # (S, K, P, 4)
    runs = []
    for i, recipe in enumerate(recipes):
        history = {name: table[:, j, i].copy() for j, name in enumerate(HISTORY_TERMS)}
        history["step"] = np.arange(len(table))
        history["lr"] = plan["lr"][: len(table)]
        for name in TERMS:
            on = recipe.design.tap(name) is not None
            history[f"w_{name}"] = plan[name][: len(table)] if on else np.zeros(len(table))
        replay = Replay(np.array(snapshot_steps), replay_latents[:, i], probe_rgb)
        runs.append(TrainedRun(recipe, model.weights(i), history, replay, elapsed / k, diverged.get(i)))
    return runs


class FlatAdam:
    """Adam (PyTorch's defaults: betas 0.9/0.999, eps 1e-8, no weight decay) over one flat buffer.

    The parameters and their gradients are re-pointed into two flat tensors, so a step is a dozen
    tensor operations whatever the number of layers or models. It uses only correctly rounded
    elementwise operations (no fused multiply-add, no lerp), so a value comes out bit-identical whether
    it sits in a vectorized chunk or a scalar tail: a model trained inside a batch of K gets exactly
    the numbers it gets alone.
    """

    def __init__(self, params: list[Tensor], betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.flat = torch.cat([p.detach().reshape(-1) for p in params])
        self.grad = torch.zeros_like(self.flat)
        offset = 0
        for p in params:
            n = p.numel()
            p.data = self.flat[offset : offset + n].view_as(p)
            p.grad = self.grad[offset : offset + n].view_as(p)  # backward accumulates in place
            offset += n
        self.m = torch.zeros_like(self.flat)
        self.v = torch.zeros_like(self.flat)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0

    def zero_grad(self) -> None:
        self.grad.zero_()

    @torch.no_grad()
    def step(self, lr: float) -> None:
        self.t += 1
        g = self.grad
        self.m.mul_(self.beta1).add_(g * (1 - self.beta1))
        self.v.mul_(self.beta2).add_(g * g * (1 - self.beta2))
        bias1 = 1 - self.beta1**self.t
        bias2 = 1 - self.beta2**self.t
        denom = (self.v.sqrt() / math.sqrt(bias2)).add_(self.eps)
        self.flat.sub_(self.m / denom * (lr / bias1))


def _note_divergence(row: Tensor, step: int, diverged: dict[int, Divergence]) -> None:
    """Record, for each model whose loss just became non-finite, the first term that did."""
    bad = ~torch.isfinite(row)  # (n_terms, K)
    for i in torch.nonzero(bad.any(0)).flatten().tolist():
        if i not in diverged:
            term = HISTORY_TERMS[int(torch.nonzero(bad[:, i])[0])]
            diverged[i] = Divergence(step, term)
