"""Interventions on the red direction: the falloff and Bezier curves, suppression, repulsion, ablation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from excolor.interventions import (
    Ablation,
    BezierMapper,
    BoundedFalloff,
    Repulsion,
    Suppression,
    alignment,
    default_interventions,
)

C = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
K = 1 / math.sqrt(2)


def d64(*values):
    return torch.tensor(values, dtype=torch.float64)


def random_unit(n, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 4, generator=gen, dtype=dtype)
    return z / z.norm(dim=-1, keepdim=True)


def bezier(points, s):
    """The cubic Bezier in parametric form: (x(s), y(s))."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    u = 1 - s
    x = u**3 * x0 + 3 * u**2 * s * x1 + 3 * u * s**2 * x2 + s**3 * x3
    y = u**3 * y0 + 3 * u**2 * s * y1 + 3 * u * s**2 * y2 + s**3 * y3
    return x, y


# -------------------------------------------------------------------------------------------- falloff


def test_falloff_default_is_d_squared():
    g = BoundedFalloff()
    assert (g.a, g.b, g.p) == (0.0, 1.0, 2.0)
    d = torch.linspace(0, 1, 11, dtype=torch.float64)
    torch.testing.assert_close(g(d), d**2, rtol=1e-12, atol=0)


def test_falloff_defining_points():
    g = BoundedFalloff(0.3, 0.8, 3.0)
    assert g(d64(0.0, 0.1, 0.3)).tolist() == [0.0, 0.0, 0.0]  # zero at and below a
    assert g(d64(1.0)).item() == pytest.approx(0.8, rel=1e-12)  # b at exact alignment
    assert g(d64(0.65)).item() == pytest.approx(0.8 * 0.5**3, rel=1e-12)  # b ((d - a)/(1 - a))^p
    assert g(d64(0.3 + 1e-9)).item() == pytest.approx(0.0, abs=1e-20)  # continuous at the rim
    soft = BoundedFalloff(0.5, 1.0, 0.5)
    assert soft(d64(0.75)).item() == pytest.approx(math.sqrt(0.5), rel=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"a": 1.0}, {"a": 1.5}, {"a": -0.1}, {"a": math.nan},
        {"b": 1.1}, {"b": -0.1}, {"b": math.nan},
        {"p": 0.0}, {"p": -1.0}, {"p": math.nan}, {"p": math.inf}, {"p": 101.0},
    ],
)  # fmt: skip
def test_falloff_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match="falloff"):
        BoundedFalloff(**kwargs)


# --------------------------------------------------------------------------------------------- mapper


def test_mapper_control_points_per_spec():
    m = BezierMapper(0.2, 0.6)
    p0, p1, p2, p3 = m.control_points()
    assert p0 == (0.2, 0.2) and p3 == (1.0, 0.6)
    assert p1 == pytest.approx((0.2 + 0.4 * K, 0.2 + 0.4 * K), rel=1e-12)
    assert p2 == pytest.approx((1 - 0.4 * K, 0.6), rel=1e-12)
    # 1/sqrt(2) of the way from each end toward where the tangents cross, (b, b)
    cross = np.array([0.6, 0.6])
    for end, inner in ((p0, p1), (p3, p2)):
        ratio = np.linalg.norm(np.subtract(inner, end)) / np.linalg.norm(cross - end)
        assert ratio == pytest.approx(K, rel=1e-12)


@pytest.mark.parametrize(("a", "b"), [(0.0, 0.5), (0.2, 0.6), (0.0, 0.05), (0.5, 0.5), (0.9, 0.95), (0.0, 0.99)])
def test_mapper_follows_its_bezier(a, b):
    m = BezierMapper(a, b)
    x, y = bezier(m.control_points(), torch.linspace(0, 1, 2001, dtype=torch.float64))
    torch.testing.assert_close(m(x), torch.where(x > a, y, x), rtol=0, atol=1e-9)


@pytest.mark.parametrize(("a", "b"), [(0.0, 0.5), (0.3, 0.6), (0.7, 0.9), (0.1, 0.1)])
def test_mapper_defining_points(a, b):
    m = BezierMapper(a, b)
    below = torch.linspace(-1, a, 50, dtype=torch.float64)
    assert torch.equal(m(below), below)  # identity at and below a
    assert m(d64(1.0)).item() == pytest.approx(b, abs=1e-12)
    d = torch.linspace(a, 1, 4001, dtype=torch.float64)
    y = m(d)
    assert torch.all(torch.diff(y) >= -1e-12)  # monotone for b >= a
    assert torch.all(y <= b + 1e-12) and torch.all(y >= a - 1e-12)


@pytest.mark.parametrize(("a", "b"), [(0.0, 0.5), (0.3, 0.6), (0.5, 0.8)])
def test_mapper_end_slopes(a, b):
    m = BezierMapper(a, b)
    h = 1e-5
    start = (m(d64(a + 2 * h)) - m(d64(a + h))).item() / h
    end = (m(d64(1.0)) - m(d64(1.0 - h))).item() / h
    assert start == pytest.approx(1.0, abs=1e-3)  # no kink where the curve takes over from the identity
    assert end == pytest.approx(0.0, abs=1e-3)  # arrives flat at (1, b)


def test_mapper_with_b_equal_one_is_the_identity():
    d = torch.linspace(0, 1, 1001, dtype=torch.float64)
    torch.testing.assert_close(BezierMapper(0.0, 1.0)(d), d, rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"a": 1.0}, {"a": 1.2}, {"a": -0.1}, {"a": math.nan},
        {"a": 0.6, "b": 0.5}, {"b": -0.1}, {"b": 1.5}, {"b": math.nan}, {"a": math.inf},
    ],
)  # fmt: skip
def test_mapper_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match="mapper"):
        BezierMapper(**kwargs)


# ------------------------------------------------------------------------------------------ repulsion


def test_alignment_is_clamped_dot_product():
    z = d64([1, 0, 0, 0], [-0.6, 0.8, 0, 0], [0.6, 0, 0.8, 0], [1.5, 0, 0, 0])
    assert alignment(z).tolist() == [1.0, 0.0, 0.6, 1.0]


@pytest.mark.parametrize("mapper", [BezierMapper(), BezierMapper(0.3, 0.7), BezierMapper(0.0, 0.05)])
def test_repulsion_on_random_unit_vectors(mapper):
    z = random_unit(20_000)
    out = Repulsion(mapper)(z)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(20_000, dtype=torch.float64), rtol=0, atol=1e-12)
    along = z @ C
    ahead = along > 0
    # non-positive alignment: untouched, bit for bit
    assert torch.equal(out[~ahead], z[~ahead])
    # positive alignment: the new alignment is exactly mapper(d)
    torch.testing.assert_close(out[ahead] @ C, mapper(along[ahead]), rtol=0, atol=1e-5)
    # ... reached by a rotation in the plane of c and z: the perpendicular part keeps its direction
    perp_in, perp_out = z[ahead, 1:], out[ahead, 1:]
    cos = (perp_in * perp_out).sum(-1) / (perp_in.norm(dim=-1) * perp_out.norm(dim=-1))
    assert cos.min().item() > 1 - 1e-9


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_repulsion_leaves_latents_outside_its_cone_exactly(dtype):
    # for d <= a the mapper is the identity: z is returned as it was, bit for bit, not rebuilt from t and u
    z = random_unit(20_000, seed=5, dtype=dtype)
    out = Repulsion(BezierMapper(0.5, 0.7))(z)
    outside = z[:, 0] <= 0.5
    inside = ~outside
    assert ((z[:, 0] > 0) & outside).sum() > 1000
    assert torch.equal(out[outside], z[outside])
    assert torch.all(out[inside, 0] <= z[inside, 0] + 1e-6)  # the curve lies below the identity: never closer
    torch.testing.assert_close(out[inside, 0], BezierMapper(0.5, 0.7)(z[inside, 0]), rtol=0, atol=1e-5)
    assert torch.all(out[inside, 0] <= 0.7 + 1e-6)


def test_repulsion_float32_keeps_unit_length():
    z = random_unit(20_000, seed=4, dtype=torch.float32)
    out = Repulsion()(z)
    assert (out.norm(dim=-1) - 1).abs().max().item() < 1e-6
    ahead = z[:, 0] > 0
    torch.testing.assert_close(out[ahead, 0], BezierMapper()(alignment(z[ahead])), rtol=0, atol=1e-5)


def test_repulsion_of_exact_red():
    rep = Repulsion(BezierMapper(0.0, math.cos(math.pi / 3)))
    z = torch.stack([C, C, -C, torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64)])
    out = rep(z)
    assert out[0].norm().item() == pytest.approx(1.0, abs=1e-12)
    assert out[0, 0].item() == pytest.approx(0.5, abs=1e-12)
    assert math.degrees(math.acos(out[0, 0].item())) == pytest.approx(60.0, abs=1e-6)  # pushed 60 degrees away
    assert torch.equal(out[0], out[1])
    assert torch.equal(out[2:], z[2:])  # anti-red and orthogonal latents stay put
    # batched (K, N, 4) input works the same
    assert torch.equal(rep(z[None])[0], out)


def test_repulsion_cones():
    assert Repulsion().cones() == pytest.approx({"cone": 90.0, "hole": 60.0})
    assert Repulsion(BezierMapper(0.5, 0.8)).cones() == pytest.approx(
        {"cone": 60.0, "hole": math.degrees(math.acos(0.8))}
    )


# ---------------------------------------------------------------------------------------- suppression


@pytest.mark.parametrize("falloff", [BoundedFalloff(), BoundedFalloff(0.4, 0.7, 1.5)])
def test_suppression_removes_exactly_g_times_alignment_along_c(falloff):
    z = random_unit(5_000, seed=2)
    out = Suppression(falloff)(z)
    assert torch.equal(out[:, 1:], z[:, 1:])  # the part orthogonal to c is untouched
    along = z[:, 0].numpy()
    d = np.clip(along, 0, 1)
    gate = np.where(d > falloff.a, falloff.b * np.clip((d - falloff.a) / (1 - falloff.a), 0, None) ** falloff.p, 0)
    np.testing.assert_allclose(out[:, 0].numpy(), along - gate * along, rtol=0, atol=1e-12)
    outside = along <= falloff.a
    assert torch.equal(out[outside], z[outside])


def test_suppression_of_exact_red_and_cone():
    out = Suppression()(torch.stack([C, 0.8 * C + 0.6 * torch.tensor([0, 1.0, 0, 0], dtype=torch.float64)]))
    assert out[0].tolist() == [0.0, 0.0, 0.0, 0.0]  # default (0, 1, 2) squashes exact red fully
    assert out[1].tolist() == pytest.approx([0.8 - 0.64 * 0.8, 0.6, 0.0, 0.0], abs=1e-12)
    assert Suppression(BoundedFalloff(0.5, 1, 2)).cones() == pytest.approx({"cone": 60.0})
    assert Suppression().cones() == pytest.approx({"cone": 90.0})


# ------------------------------------------------------------------------------------------- ablation


def test_ablation_zeroes_dimension_zero_only():
    z = random_unit(100, seed=3).reshape(2, 50, 4)
    before = z.clone()
    out = Ablation()(z)
    assert torch.equal(z, before)  # the input is not modified
    assert torch.equal(out[..., 0], torch.zeros(2, 50, dtype=torch.float64))
    assert torch.equal(out[..., 1:], z[..., 1:])
    assert Ablation().tap == "encoder" and Suppression().tap == "bottleneck" and Repulsion().tap == "bottleneck"
    assert Ablation().cones() == {}


def test_default_interventions_are_the_notebook_settings():
    ivs = default_interventions()
    assert list(ivs) == ["suppression", "repulsion", "ablation"]
    assert ivs["suppression"] == Suppression(BoundedFalloff(0.0, 1.0, 2.0))
    assert ivs["repulsion"].mapper.a == 0.0
    assert ivs["repulsion"].mapper.b == pytest.approx(0.5, abs=1e-15)
    assert ivs["ablation"] == Ablation(0)


# ---------------------------------------------------------------------------------- non-finite latents
# A diverged run has NaN weights, hence NaN latents: nothing may raise, NaN stays NaN, and finite entries
# next to NaN ones get exactly what they get alone (no cross-talk through the vectorized code).

NAN = float("nan")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("a", "b"), [(0.0, 0.5), (0.3, 0.8), (0.0, 1.0)])
def test_mapper_of_nan_is_nan(a, b, dtype):
    mapper = BezierMapper(a, b)
    d = torch.tensor([0.0, 0.4, NAN, 0.9, 1.0, NAN], dtype=dtype)
    out = mapper(d)
    assert out.isnan().tolist() == [False, False, True, False, False, True]
    finite = ~d.isnan()
    assert torch.equal(out[finite], mapper(d[finite]))
    assert mapper(torch.tensor([NAN], dtype=dtype)).isnan().all()


def test_falloff_of_nan_is_nan():
    g = BoundedFalloff(0.3, 0.8, 3.0)
    out = g(d64(NAN, 0.1, 1.0))
    assert math.isnan(out[0].item())
    assert out[1:].tolist() == [0.0, pytest.approx(0.8, rel=1e-12)]


@pytest.mark.parametrize("name", ["suppression", "repulsion", "ablation"])
def test_interventions_pass_nan_latents_through_as_nan(name):
    intervention = default_interventions()[name]
    z = random_unit(64, seed=3)
    z[5] = NAN
    z[9, 2] = NAN  # one bad component poisons the whole latent
    out = intervention(z)
    bad = torch.zeros(64, dtype=torch.bool)
    bad[[5, 9]] = True
    assert out[5].isnan().any() and out[9].isnan().any()  # (ablation still zeroes dimension 0 of the NaN rows)
    assert not out[~bad].isnan().any()
    torch.testing.assert_close(out[~bad], intervention(z[~bad]), rtol=0, atol=0)
