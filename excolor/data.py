"""Training data: every model's batches of colors and their red / vibrant labels, drawn from its own seed.

A model's data depends on its seed alone (never on which models train beside it), and comes
`train.CHUNK_STEPS` steps at a time so that memory does not grow with the schedule's length.
`data_stream` is the plain definition; `TrainingData` draws the same numbers faster, in chunks.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import Tensor

from . import colors
from .backprop import aligned_empty

DATA_STREAM_OFFSET = 1 << 32  # the data generator's seed, kept apart from the init generator's


def data_stream(seed: int, steps: int, batch_size: int, weights: Tensor) -> tuple[Tensor, Tensor]:
    """Batch indices (steps, B), drawn with replacement in proportion to `weights`, and the uniform
    draws (steps, B, 2) that become the red / vibrant labels. All from one generator seeded by `seed`."""
    gen = torch.Generator().manual_seed(seed + DATA_STREAM_OFFSET)
    idx = torch.multinomial(weights, steps * batch_size, replacement=True, generator=gen)
    draws = torch.rand(steps, batch_size, 2, generator=gen)
    return idx.view(steps, batch_size), draws


class TrainingData:
    """Every model's batches and labels, generated a chunk of steps at a time: memory stays bounded however
    long the schedule, and the numbers are exactly data_stream()'s (its two generator streams, split in two:
    the indices from the seeded generator, the label draws from a copy advanced past all the indices).
    """

    def __init__(self, seeds: Sequence[int], steps: int, batch_size: int):
        grid = colors.training_grid()
        self.rgb = torch.tensor(grid.flat_rgb, dtype=torch.float32)
        self.p_red = torch.tensor(colors.red_probability(grid.flat_rgb), dtype=torch.float32)
        self.p_vib = torch.tensor(colors.vibrant_probability(grid.flat_hsv), dtype=torch.float32)
        self.batch = batch_size
        self.index_gens = [torch.Generator().manual_seed(s + DATA_STREAM_OFFSET) for s in seeds]
        self.draw_gens = [_advanced(g, steps * batch_size) for g in self.index_gens]

    def chunk(self, n_steps: int) -> tuple[Tensor, Tensor, Tensor]:
        """The next n_steps steps, feature-major as backprop.Step takes them: colors (n, K, 3, B) and the red and
        vibrant label weights (n, K, 1, B), each label divided by (its batch's label count + 1e-8), so that a
        labelled mean is a dot product with them."""
        k, b = len(self.index_gens), self.batch
        draws = [torch.empty(n_steps * b, dtype=torch.float64).uniform_(generator=g) for g in self.index_gens]
        idx = training_sampler().sample(torch.stack(draws)).view(k, n_steps, b).transpose(0, 1).flatten()  # n K B
        draws = torch.stack([torch.rand(n_steps, b, 2, generator=g) for g in self.draw_gens], dim=1)
        red = (draws[..., 0] < self.p_red.index_select(0, idx).view(n_steps, k, b)).float()
        vibrant = (draws[..., 1] < self.p_vib.index_select(0, idx).view(n_steps, k, b)).float()
        red /= red.sum(-1, keepdim=True) + 1e-8
        vibrant /= vibrant.sum(-1, keepdim=True) + 1e-8
        picked = self.rgb.index_select(0, idx).view(n_steps * k, b, 3).transpose(1, 2)
        x = aligned_empty(n_steps * k, 3, b).copy_(picked)
        return x.unflatten(0, (n_steps, k)), red[:, :, None], vibrant[:, :, None]


class InverseCdf:
    """torch.multinomial(weights, n, replacement=True)'s draws, the same indices, ~10x faster.

    Both take one float64 uniform u per sample and return the first index whose cumulative weight is >= u:
    multinomial by binary search, this by a guide table of `buckets` entries and a few vectorized gathers (how, in
    docs/science.md).
    """

    def __init__(self, weights: Tensor, buckets: int = 1 << 18):
        cum = torch.cumsum(weights.double(), 0)
        cum /= cum[-1].clone()  # normalized as multinomial normalizes it,
        cum[-1] = 1.0  # and its last entry made exactly 1
        first = torch.searchsorted(cum, torch.arange(buckets + 1, dtype=torch.float64) / buckets)
        self.span = int((first[1:] - first[:-1]).max())
        self.cum = torch.cat([cum, torch.full((self.span,), 2.0, dtype=torch.float64)])
        self.start, self.buckets = first[:-1].to(torch.int32), buckets

    def sample(self, u: Tensor) -> Tensor:
        """Indices (int32) for uniform draws u in [0, 1), any shape."""
        flat = u.flatten()
        idx = self.start.index_select(0, (flat * self.buckets).to(torch.int32))
        base = idx.clone()
        for _ in range(self.span):
            idx += self.cum.index_select(0, base) < flat
            base += 1
        return idx.view(u.shape)


@functools.cache
def training_sampler() -> InverseCdf:
    """The sampler for the training grid's weights (SPEC section 2); built once per process (~30 ms, 1 MB)."""
    grid = colors.training_grid()
    return InverseCdf(torch.tensor(colors.sampling_weights(grid.flat_hsv), dtype=torch.float64))


def _advanced(gen: torch.Generator, n_samples: int) -> torch.Generator:
    """A copy of `gen` moved past n_samples multinomial draws (each consumes one float64 uniform)."""
    copy = torch.Generator().set_state(gen.get_state())
    while n_samples > 0:
        torch.empty(min(n_samples, 1 << 20), dtype=torch.float64).uniform_(generator=copy)
        n_samples -= 1 << 20
    return copy
