"""Inference-time interventions on the red direction c = (1, 0, 0, 0), and the curves that shape them.

Suppression and repulsion act on the bottleneck (unit latents); ablation acts one step earlier, on
the encoder output, because removing a dimension there is what zeroing its weights does.
Each object has one job: `__call__(z) -> z'` (interventions) or `__call__(d) -> y` (curves).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from .losses import RED_DIRECTION


def _concept(z: Tensor) -> Tensor:
    return torch.tensor(RED_DIRECTION, dtype=z.dtype)


def alignment(z: Tensor) -> Tensor:
    """d = clamp(z . c, 0, 1): how far a unit latent points along red (0 for the far hemisphere)."""
    return (z @ _concept(z)).clamp(0.0, 1.0)


def _check_unit_interval(name: str, value: float, low_open: bool = False, high_open: bool = False) -> None:
    ok = math.isfinite(value) and (value > 0 if low_open else value >= 0) and (value < 1 if high_open else value <= 1)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {lo}0, 1{hi}, not {value!r}")


@dataclass(frozen=True)
class BoundedFalloff:
    """g(d) = b ((d - a)/(1 - a))^p for d > a, else 0: no effect outside the cone cos(angle) > a,
    rising to strength b at exact alignment; p shapes the rim (p > 1: soft rim, sharp hub)."""

    a: float = 0.0
    b: float = 1.0
    p: float = 2.0

    def __post_init__(self) -> None:
        _check_unit_interval("falloff a", self.a, high_open=True)
        _check_unit_interval("falloff b", self.b)
        if not (math.isfinite(self.p) and 0 < self.p <= 100):
            raise ValueError(f"falloff p must lie in (0, 100], not {self.p!r}")

    def __call__(self, d: Tensor) -> Tensor:
        """NaN stays NaN (a diverged model's latents), so the result says the input was not a number."""
        rel = ((d - self.a) / (1 - self.a)).clamp_min(0.0)
        return torch.where(d > self.a, self.b * rel**self.p, torch.where(d.isnan(), d, torch.zeros_like(d)))


@dataclass(frozen=True)
class BezierMapper:
    """Alignment in -> alignment out: the identity up to a, then a cubic Bezier to (1, b).

    The curve leaves (a, a) with slope 1 (no kink where it takes over from the identity) and arrives at
    (1, b) with slope 0 (exact red lands exactly at alignment b). Its inner control points sit 1/sqrt 2
    of the way from each end toward the point where those two tangents cross, (b, b).
    """

    a: float = 0.0
    b: float = 0.5

    def __post_init__(self) -> None:
        _check_unit_interval("mapper a", self.a, high_open=True)
        _check_unit_interval("mapper b", self.b)
        if self.b < self.a:
            raise ValueError(f"mapper b ({self.b:g}) must be at least a ({self.a:g}): the hole sits inside the cone")

    def control_points(self) -> tuple[tuple[float, float], ...]:
        k = 1 / math.sqrt(2)
        a, b = self.a, self.b
        return ((a, a), (a + k * (b - a), a + k * (b - a)), (1 + k * (b - 1), b), (1.0, b))

    def __call__(self, d: Tensor) -> Tensor:
        """NaN in, NaN out (it fails d > a, so the identity branch hands it back); above 1 maps to b."""
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.control_points()
        s = self._initial_guess(d)
        for _ in range(3):  # Newton from a guess already within ~1e-4: three steps reach float64 precision
            u = 1 - s
            x = u**3 * x0 + 3 * u**2 * s * x1 + 3 * u * s**2 * x2 + s**3 * x3
            dx = 3 * (u**2 * (x1 - x0) + 2 * u * s * (x2 - x1) + s**2 * (x3 - x2))
            s = (s - (x - d) / dx.clamp_min(1e-6)).clamp(0.0, 1.0)
        u = 1 - s
        y = u**3 * y0 + 3 * u**2 * s * y1 + 3 * u * s**2 * y2 + s**3 * y3
        return torch.where(d > self.a, y, d)

    def _initial_guess(self, d: Tensor) -> Tensor:
        """s(d) read off a table of the curve's parameter at evenly spaced x, linearly interpolated.

        Newton alone from the chord needs ~8 steps over half a million latents on every slider move;
        the table makes the first guess good to ~1e-4 for a few cheap operations.
        """
        table = torch.as_tensor(_parameter_table(self.a, self.b), dtype=d.dtype)
        # NaN survives clamp and would index the table at -2^63; any valid row will do, the result is discarded
        pos = ((d - self.a) / (1 - self.a)).clamp(0.0, 1.0).nan_to_num(0.0) * (len(table) - 1)
        i = pos.floor().clamp(max=len(table) - 2)
        lo = table[i.long()]
        return lo + (pos - i) * (table[i.long() + 1] - lo)


@lru_cache(maxsize=64)
def _parameter_table(a: float, b: float, size: int = 1025) -> np.ndarray:
    """The Bezier parameter s at x = a ... 1 in `size` even steps (x(s) is monotone when b >= a)."""
    (x0, _), (x1, _), (x2, _), (x3, _) = BezierMapper(a, b).control_points()
    s = np.linspace(0.0, 1.0, 16 * size)
    u = 1 - s
    x = u**3 * x0 + 3 * u**2 * s * x1 + 3 * u * s**2 * x2 + s**3 * x3
    return np.interp(np.linspace(a, 1.0, size), x, s)


@dataclass(frozen=True)
class Suppression:
    """z' = z - g(d) (z . c) c: squash the red component, more the closer z points to red."""

    falloff: BoundedFalloff = BoundedFalloff()
    tap = "bottleneck"

    def __call__(self, z: Tensor) -> Tensor:
        c = _concept(z)
        along = z @ c
        gate = self.falloff(along.clamp(0.0, 1.0))
        return z - (gate * along).unsqueeze(-1) * c

    def cones(self) -> dict[str, float]:
        """Half-angles (degrees) to draw around c."""
        return {"cone": math.degrees(math.acos(self.falloff.a))}


@dataclass(frozen=True)
class Repulsion:
    """Rotate z away from red, in the plane of c and z, so that its alignment becomes mapper(d).

    A rotation keeps unit length, so unlike suppression the latent stays on the sphere: red is not
    erased but moved, onto the rim of a hole of half-angle acos(b) around c.
    """

    mapper: BezierMapper = BezierMapper()
    tap = "bottleneck"

    def __call__(self, z: Tensor) -> Tensor:
        c = _concept(z)
        along = z @ c
        d = along.clamp(0.0, 1.0)
        t = self.mapper(d)
        perp = z - along.unsqueeze(-1) * c
        norm = perp.norm(dim=-1, keepdim=True)
        fallback = torch.zeros_like(z)
        fallback[..., 1] = 1.0  # any unit vector orthogonal to c, for z exactly along c
        u = torch.where(norm > 1e-7, perp / norm.clamp_min(1e-12), fallback)
        moved = t.unsqueeze(-1) * c + (1 - t**2).clamp_min(0.0).sqrt().unsqueeze(-1) * u
        # d <= a: the mapper is the identity, so z stays exactly as it was (rebuilding it from t and u
        # would only add rounding, and evaluate() would then re-decode latents that did not move)
        return torch.where((d > self.mapper.a).unsqueeze(-1), moved, z)

    def cones(self) -> dict[str, float]:
        return {"cone": math.degrees(math.acos(self.mapper.a)), "hole": math.degrees(math.acos(self.mapper.b))}


@dataclass(frozen=True)
class Ablation:
    """Remove latent dimension 0 from the network: zero the encoder weights and bias that produce it
    (and, equivalently, the decoder weights that read it, since it is then always 0)."""

    dim: int = 0
    tap = "encoder"

    def __call__(self, z: Tensor) -> Tensor:
        out = z.clone()
        out[..., self.dim] = 0.0
        return out

    def cones(self) -> dict[str, float]:
        return {}


Intervention = Suppression | Repulsion | Ablation


# Alignments d = cos θ a mapping curve's description names: 60° and 80° from red (what a whole-hemisphere cone
# still does far from red), and 0.9, 0.99 (how far latents close to red are turned).
NAMED_ALIGNMENTS = (0.5, math.cos(math.radians(60.0)), math.cos(math.radians(80.0)), 0.9, 0.99)


@dataclass(frozen=True, eq=False)
class MappingCurve:
    """An intervention's curve as numbers: the suppression gate g(d) or the repulsion's output alignment
    mapper(d), against alignment d = cos θ with red, on an even grid of d in [0, 1] (`d`, `y`) and at the
    NAMED_ALIGNMENTS (`named`). What a figure of the curve needs, so the figure never runs the curve itself."""

    intervention: Suppression | Repulsion
    d: np.ndarray
    y: np.ndarray
    named: dict[float, float]


def mapping_curve(intervention: Suppression | Repulsion, n: int = 201) -> MappingCurve:
    """The intervention's curve at n even alignments from 0 to 1 and at the NAMED_ALIGNMENTS, in float64."""
    if isinstance(intervention, Suppression):
        curve = intervention.falloff
    elif isinstance(intervention, Repulsion):
        curve = intervention.mapper
    else:
        raise TypeError(f"only suppression and repulsion have a mapping curve, not {type(intervention).__name__}")
    d = np.linspace(0.0, 1.0, n)
    with torch.no_grad():
        y = curve(torch.tensor(d, dtype=torch.float64)).numpy()
        named = curve(torch.tensor(NAMED_ALIGNMENTS, dtype=torch.float64)).numpy()
    return MappingCurve(intervention, d, y, dict(zip(NAMED_ALIGNMENTS, named.tolist(), strict=True)))


def default_interventions() -> dict[str, Intervention]:
    """The notebook's settings: suppression (0, 1, 2), repulsion (0, cos 60 deg), plus ablation."""
    return {
        "suppression": Suppression(BoundedFalloff(0.0, 1.0, 2.0)),
        "repulsion": Repulsion(BezierMapper(0.0, math.cos(math.pi / 3))),
        "ablation": Ablation(),
    }
