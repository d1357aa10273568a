"""Training: a frozen Recipe -> train() -> TrainedRun (weights, per-step history, replay snapshots).

K recipes that share a schedule train together as one batched model. Each model still gets exactly
what it would get alone: its init, its batches and its labels come from generators seeded by its own
seed (excolor.data, drawn CHUNK_STEPS steps at a time, so memory does not grow with the schedule's length),
its gradients are derived by hand per model (backprop.Step), and Adam's update is elementwise, so
neighbours in the batch never mix.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from types import SimpleNamespace

import numpy as np
import torch
from torch import Tensor

from . import colors
from .backprop import ALIGN, ROW, TAPS, Routing, Step
from .data import TrainingData
from .designs import PLACED_TERMS, Design, parse_design
from .losses import TERMS
from .model import ColorAutoencoder, unit_length
from .schedule import EX24, Schedule

HISTORY_TERMS = ("recon", *TERMS, "total")
MAX_SEED = 2**31 - 1
CHUNK_STEPS = 200  # training data is generated this many steps at a time


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
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # see memo()

    @cached_property
    def model(self) -> ColorAutoencoder:
        model = ColorAutoencoder([self.weights]).eval()
        model.requires_grad_(False)
        return model

    def memo(self, name: str, make: Callable[[], object]):
        """A value derived from this run (e.g. evaluate's Probe), made by `make()` on first use and kept with the run,
        so it lives and dies with it. A copy made by dataclasses.replace starts with none."""
        if name not in self._memo:
            self._memo[name] = make()
        return self._memo[name]

    def describe(self) -> dict:
        """The run's identity and training outcome as plain JSON values (the head of every run record)."""
        return {
            "placement": self.recipe.design.text,
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


def measured_tap(design: Design, term: str) -> str:
    """The tap a term is measured on: the one its design names, or, when it is off, its design base's."""
    if term in PLACED_TERMS:
        return design.tap(term) or ("bottleneck" if design.base == "post" else "encoder")
    return "encoder"


def tap_weights(designs: Sequence[Design], plan: dict[str, np.ndarray], start: int, stop: int) -> Tensor:
    """(steps, 2, 5, K) float32: each term's schedule weight at each step, per tap (encoder, bottleneck) and
    model; 0 where the model's design reads the term on the other tap or switches it off."""
    reads = np.zeros((2, len(ROW), len(designs)))
    for k, design in enumerate(designs):
        for i, term in enumerate(ROW[1:], start=1):
            if design.tap(term) is not None:
                reads[TAPS.index(design.tap(term)), i, k] = 1.0
    w = np.stack([np.zeros(stop - start), *(plan[term][start:stop] for term in ROW[1:])], axis=1)  # (n, 5)
    return torch.tensor(w[:, None, :, None] * reads[None], dtype=torch.float32)


def _check_batchable(recipes: Sequence[Recipe]) -> None:
    if not recipes:
        raise ValueError("train() needs at least one recipe")
    first = recipes[0]
    for r in recipes[1:]:
        if r.schedule != first.schedule or r.batch_size != first.batch_size:
            raise ValueError("recipes trained together must share their schedule and batch size")


@contextmanager
def denormals_flushed():
    """While training, this thread computes float32 results below 2^-126 (the subnormal range) as 0.

    Why: separate's q^99 lands there for pairs of samples about 100 degrees apart, and x86 cores handle subnormals
    on a slow path (training took up to 3x longer). Such values cannot move a sum with a gradient-sized term, so the
    numbers stay bit-identical. Switched off after (every thread's default). Measurements in docs/science.md.
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


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
    designs = [r.design for r in recipes]
    data = TrainingData([r.seed for r in recipes], steps, batch)

    model = ColorAutoencoder.from_seeds([r.seed for r in recipes])
    optimizer = FlatAdam(list(model.parameters()))
    step = _hand_derived_step(model, designs, batch)
    snapshots = Snapshots(model)

    table = torch.empty(steps, len(HISTORY_TERMS), k)  # per step: the loss terms (ROW order), then the total
    rows = table.unbind(0)  # every step's row as a view, made at once
    table_np = table.numpy()  # the same memory: checked for divergence without a tensor operation
    diverged: dict[int, Divergence] = {}
    steps_done = steps
    with denormals_flushed():  # bit-identical, and up to 3x faster (see denormals_flushed)
        snapshots.take(0)
        for t in range(steps):
            if t % CHUNK_STEPS == 0:
                xs, reds, vibrants, ws, counts = _next_chunk(data, designs, plan, t, min(CHUNK_STEPS, steps - t))
            i = t % CHUNK_STEPS
            rows[t].copy_(step(xs[i], reds[i], vibrants[i], ws[i]))
            if not np.isfinite(table_np[t, -1]).all():
                _note_divergence(table_np[t], counts[i, 1:], t, diverged)
                if len(diverged) == k:
                    steps_done = t + 1
                    break
            optimizer.step(float(plan["lr"][t]))
            if (t + 1) % replay_every == 0 or t + 1 == steps:
                snapshots.take(t + 1)
            if progress is not None and ((t + 1) % progress_every == 0 or t + 1 == steps):
                progress(t + 1, steps, {n: v.copy() for n, v in zip(HISTORY_TERMS, table_np[t])})

    seconds = (time.perf_counter() - started) / k
    return _trained_runs(recipes, model, table[:steps_done].numpy(), plan, snapshots.replays(), seconds, diverged)


def _trained_runs(recipes, model, table: np.ndarray, plan, replays, seconds: float, diverged) -> list[TrainedRun]:
    """One TrainedRun per recipe, from the batched model and the (steps_done, n_terms, K) loss table."""
    return [
        TrainedRun(
            recipe, model.weights(i), _history(table[:, :, i], recipe, plan), replays[i], seconds, diverged.get(i)
        )
        for i, recipe in enumerate(recipes)
    ]


def _hand_derived_step(model: ColorAutoencoder, designs: Sequence[Design], batch: int) -> Step:
    """backprop.Step over the model's parameters, writing the gradients where FlatAdam reads them, each placed
    term reading the tap its model's design measures it on."""
    named = dict(model.named_parameters())
    routing = Routing(
        {term: torch.tensor([measured_tap(d, term) == "bottleneck" for d in designs]) for term in PLACED_TERMS}
    )
    return Step(
        {n: p.detach() for n, p in named.items()}, {n: p.grad for n, p in named.items()}, routing, len(designs), batch
    )


def _next_chunk(data: TrainingData, designs: Sequence[Design], plan: dict[str, np.ndarray], start: int, n: int):
    """The next n steps' inputs, one entry per step: colors, red and vibrant labels, tap weights, and (n, 5, K)
    which terms count for each model (for telling which term diverged)."""
    xs, reds, vibrants = (c.unbind(0) for c in data.chunk(n))
    ws = tap_weights(designs, plan, start, start + n)
    counts = (ws.sum(1) != 0).numpy()
    return xs, reds, vibrants, ws.unbind(0), counts


def _history(table: np.ndarray, recipe: Recipe, plan: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One model's per-step history from its (steps, n_terms) slice of the loss table, with the schedule's values
    (a term switched off by the design has weight 0 throughout)."""
    n = len(table)
    history = {name: table[:, j].copy() for j, name in enumerate(HISTORY_TERMS)}
    history["step"] = np.arange(n)
    history["lr"] = plan["lr"][:n]
    for name in TERMS:
        on = recipe.design.tap(name) is not None
        history[f"w_{name}"] = plan[name][:n] if on else np.zeros(n)
    return history


class Snapshots:
    """Bottleneck latents of the replay probe colors, taken during training (the replay page's frames)."""

    def __init__(self, model: ColorAutoencoder):
        self.model = model
        self.rgb = replay_probe()
        self.probe = torch.tensor(self.rgb, dtype=torch.float32)
        self.latents: list[np.ndarray] = []
        self.steps: list[int] = []

    def take(self, n_updates: int) -> None:
        with torch.no_grad():
            self.latents.append(unit_length(self.model.encode(self.probe)).numpy().copy())
        self.steps.append(n_updates)

    def replays(self) -> list[Replay]:
        """One Replay per model."""
        latents = np.stack(self.latents)  # (S, K, P, 4)
        return [Replay(np.array(self.steps), latents[:, i], self.rgb) for i in range(latents.shape[1])]


class FlatAdam:
    """Adam (PyTorch's defaults: betas 0.9/0.999, eps 1e-8, no weight decay) over one flat buffer.

    The parameters and their gradients are re-pointed into two flat tensors, so a step is a dozen
    tensor operations whatever the number of layers or models. It uses only correctly rounded
    elementwise operations (no fused multiply-add, no lerp), so a value comes out bit-identical whether
    it sits in a vectorized chunk or a scalar tail: a model trained inside a batch of K gets exactly
    the numbers it gets alone. Each parameter starts on a 64-byte boundary (the padding between them is 0 and
    stays 0), so every model's weight matrix is aligned alike whatever K (see backprop.aligned_empty).
    """

    def __init__(self, params: list[Tensor], betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        starts = np.cumsum([0] + [-(-p.numel() // ALIGN) * ALIGN for p in params])  # each on a 64-byte boundary
        self.flat = torch.zeros(int(starts[-1]), dtype=params[0].dtype)
        self.grad = torch.zeros_like(self.flat)
        for p, start in zip(params, starts.tolist()):
            n = p.numel()
            self.flat[start : start + n] = p.detach().reshape(-1)
            p.data = self.flat[start : start + n].view_as(p)
            p.grad = self.grad[start : start + n].view_as(p)  # backward accumulates in place
        self.m = torch.zeros_like(self.flat)
        self.v = torch.zeros_like(self.flat)
        self.tmp, self.denom = torch.empty_like(self.flat), torch.empty_like(self.flat)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0

        def scalar(value: float) -> Tensor:  # 0-dim, in the buffer's dtype: what a Python number becomes anyway
            return torch.tensor(value, dtype=self.flat.dtype)

        self.c = SimpleNamespace(
            beta1=scalar(self.beta1),
            beta2=scalar(self.beta2),
            eps=scalar(eps),
            one_minus_beta1=scalar(1 - self.beta1),
            one_minus_beta2=scalar(1 - self.beta2),
            root_bias2=scalar(1.0),
            step_size=scalar(1.0),  # set each step
        )

    @torch.no_grad()
    def step(self, lr: float) -> None:
        self.t += 1
        g = self.grad
        tmp, denom, c = self.tmp, self.denom, self.c  # preallocated: a step allocates nothing
        self.m.mul_(c.beta1).add_(torch.mul(g, c.one_minus_beta1, out=tmp))
        self.v.mul_(c.beta2).add_(torch.mul(g, g, out=tmp).mul_(c.one_minus_beta2))
        bias1 = 1 - self.beta1**self.t
        bias2 = 1 - self.beta2**self.t
        torch.sqrt(self.v, out=denom).div_(c.root_bias2.fill_(math.sqrt(bias2))).add_(c.eps)
        self.flat.sub_(torch.div(self.m, denom, out=tmp).mul_(c.step_size.fill_(lr / bias1)))


def _note_divergence(row: np.ndarray, counts: np.ndarray, step: int, diverged: dict[int, Divergence]) -> None:
    """Record, for each model whose total loss just became non-finite, the first term that did among those that
    count (recon, the terms switched on), or the total itself when only the weighted sum overflowed."""
    bad = ~np.isfinite(row) & np.concatenate(
        [np.ones((1, row.shape[1]), bool), counts, np.ones((1, row.shape[1]), bool)]
    )
    for i in np.flatnonzero(bad[-1]).tolist():
        if i not in diverged:
            diverged[i] = Divergence(step, HISTORY_TERMS[int(np.flatnonzero(bad[:, i])[0])])
