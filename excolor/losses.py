"""The four regularizers and the two placements that the experiment compares.

Every term takes latents shaped (K, B, D) and, where it needs them, labels shaped (K, B), and
returns one value per model, shape (K,). Summing the K values gives each model exactly its own
gradient, which is what lets K models train as one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .designs import PRESETS

RED_DIRECTION = (1.0, 0.0, 0.0, 0.0)  # the concept direction c: anchor pins red to it, the interventions act along it
TERMS = ("separate", "anchor", "unit", "planar")

# Which tap each term reads under the two published designs (excolor.designs has the general form). Unitarity
# always reads the raw encoder output: it exists to keep the vectors that normalization divides near unit length.
PLACEMENTS = {name: {term: design.tap(term) for term in TERMS} for name, design in PRESETS.items()}


def labelled_mean(per_sample: Tensor, labels: Tensor) -> Tensor:
    """sum(label * value) / (sum(label) + 1e-8): the mean over labelled samples, 0 when none are."""
    return (per_sample * labels).sum(-1) / (labels.sum(-1) + 1e-8)


@dataclass(frozen=True)
class Unitarity:
    """(|z| - 1)^2: pulls every latent onto the unit sphere, so normalization barely changes it."""

    def __call__(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return ((z.norm(dim=-1) - 1) ** 2).mean(-1)


@dataclass(frozen=True)
class Anchor:
    """|z - c|^2 over samples labelled red: pins red to the chosen direction c."""

    concept: tuple[float, ...] = RED_DIRECTION

    def __call__(self, z: Tensor, labels: Tensor) -> Tensor:
        c = torch.tensor(self.concept, dtype=z.dtype)
        return labelled_mean(((z - c) ** 2).sum(-1), labels)


@dataclass(frozen=True)
class Separate:
    """sum_j ((cos_ij + 1)/2)^power: an angular repulsion that spreads latents over the sphere.

    Near-1 cosines (a sample with itself, or a color drawn twice in one batch) are zeroed first:
    a vector cannot be pushed away from itself, and trying only adds noise.
    """

    power: float = 100.0
    same_tolerance: float = 1e-5

    def __call__(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        u = z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        cos = u @ u.transpose(-1, -2)
        cos = cos.masked_fill(cos >= 1 - self.same_tolerance, 0.0)
        return (((cos + 1) / 2) ** self.power).sum(-1).mean(-1)


@dataclass(frozen=True)
class Planarity:
    """z_2^2 + z_3^2 over samples labelled vibrant: lays the vivid hues out in the plane of dims 0 and 1."""

    def __call__(self, z: Tensor, labels: Tensor) -> Tensor:
        return labelled_mean((z[..., 2:] ** 2).sum(-1), labels)


REGULARIZERS = {"separate": Separate(), "anchor": Anchor(), "unit": Unitarity(), "planar": Planarity()}
LABEL_OF = {"anchor": "red", "planar": "vibrant"}


def regularizer_terms(
    encoder: Tensor, bottleneck: Tensor, on_bottleneck: dict[str, Tensor], labels: dict[str, Tensor]
) -> dict:
    """Every regularizer's value per model, each reading the tap its model's design assigns.

    `on_bottleneck[term]` (K,) bool chooses, per model, whether that term reads the bottleneck or the encoder
    (unitarity always reads the encoder). Written for autograd: training uses backprop.Step's hand-derived
    gradients, and the tests hold them to these.
    """
    out = {}
    for name, term in REGULARIZERS.items():
        z = encoder if name == "unit" else torch.where(on_bottleneck[name][:, None, None], bottleneck, encoder)
        out[name] = term(z, labels.get(LABEL_OF.get(name, "")))
    return out
