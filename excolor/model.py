"""The color autoencoder: 3 -> 16 -> 4 (encoder) -> unit length (bottleneck) -> 16 -> 3.

One object holds K independent copies of the network as stacked weights, so K models (several seeds,
both placements) train and evaluate as one batched model: every layer is a single batched matmul
instead of K small ones. K = 1 is simply a single model.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

LAYERS = (("enc1", 3, 16), ("enc2", 16, 4), ("dec1", 4, 16), ("dec2", 16, 3))
LATENT_DIMS = 4


class Taps(NamedTuple):
    """What one forward pass exposes to the losses: both sides of the normalization and the output."""

    encoder: Tensor  # raw latent, before normalization ("pre-norm")
    bottleneck: Tensor  # the same latent scaled to unit length ("post-norm")
    output: Tensor  # reconstructed RGB (linear: not clamped)


def init_weights(seed: int) -> dict[str, Tensor]:
    """PyTorch's default nn.Linear init, drawn from a generator seeded with `seed`.

    Layers are drawn in order, weight then bias, each uniform in +-1/sqrt(fan_in): exactly what
    nn.Linear draws after torch.manual_seed(seed). Weights are stored transposed (in, out) for bmm.
    """
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for name, fan_in, fan_out in LAYERS:
        bound = 1 / math.sqrt(fan_in)
        w = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=gen)
        b = torch.empty(fan_out).uniform_(-bound, bound, generator=gen)
        weights[f"{name}.weight"] = w.T.contiguous()
        weights[f"{name}.bias"] = b
    return weights


def unit_length(z: Tensor) -> Tensor:
    """L2-normalize the last axis (like F.normalize: tiny vectors are divided by 1e-12, not 0)."""
    return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class ColorAutoencoder(nn.Module):
    """K stacked autoencoders. Inputs are (K, N, 3) or (N, 3) (the same colors for every model)."""

    def __init__(self, weights: list[dict[str, Tensor]]):
        super().__init__()
        self.k = len(weights)
        for name, _, _ in LAYERS:
            w = torch.stack([wd[f"{name}.weight"] for wd in weights])
            b = torch.stack([wd[f"{name}.bias"] for wd in weights]).unsqueeze(1)
            self.register_parameter(f"{name}_w", nn.Parameter(w.clone()))
            self.register_parameter(f"{name}_b", nn.Parameter(b.clone()))

    @classmethod
    def from_seeds(cls, seeds: list[int]) -> ColorAutoencoder:
        return cls([init_weights(s) for s in seeds])

    def _layer(self, name: str, x: Tensor) -> Tensor:
        return torch.baddbmm(getattr(self, f"{name}_b"), x, getattr(self, f"{name}_w"))

    def _batched(self, x: Tensor) -> Tensor:
        return x.expand(self.k, *x.shape) if x.dim() == 2 else x

    def encode(self, x: Tensor) -> Tensor:
        """Colors -> raw 4-D latents (the "encoder" tap)."""
        return self._layer("enc2", F.gelu(self._layer("enc1", self._batched(x))))

    def decode(self, z: Tensor) -> Tensor:
        """Unit latents -> RGB. Linear output: clamp to [0, 1] only when evaluating."""
        return self._layer("dec2", F.gelu(self._layer("dec1", self._batched(z))))

    def forward(self, x: Tensor) -> Taps:
        raw = self.encode(x)
        unit = unit_length(raw)
        return Taps(raw, unit, self.decode(unit))

    def weights(self, i: int) -> dict[str, Tensor]:
        """Model i's weights in init_weights() layout: a plain, portable state dict."""
        out = {}
        for name, _, _ in LAYERS:
            out[f"{name}.weight"] = getattr(self, f"{name}_w")[i].detach().clone()
            out[f"{name}.bias"] = getattr(self, f"{name}_b")[i, 0].detach().clone()
        return out
