"""The hand-derived training step against autograd: every loss term's value and gradient, both placements and
mixed designs, one model and several, float64 (the math) and float32 (the rounding); and the chunked data stream.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from excolor import colors
from excolor.backprop import ROW, TAPS, Routing, Step, aligned_empty
from excolor.data import TrainingData, data_stream, training_sampler
from excolor.designs import parse_design
from excolor.losses import TERMS, regularizer_terms
from excolor.model import ColorAutoencoder
from excolor.train import tap_weights

B = 64
DESIGN_SETS = {
    "post": ["post"],
    "pre": ["pre"],
    "both, K=2": ["pre", "post"],
    "mixed, K=5": ["post", "post,anchor=pre", "pre,planar=post,unit=off", "pre,separate=post", "post,separate=pre"],
}


def batch(k: int, dtype: torch.dtype, seed: int = 0):
    """Colors with a duplicated sample (the separate term's zeroed pair) and sparse 0/1 labels, per model."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(k, B, 3, generator=gen, dtype=dtype)
    x[:, 7] = x[:, 3]
    red = (torch.rand(k, B, generator=gen) < 0.2).to(dtype)
    vibrant = (torch.rand(k, B, generator=gen) < 0.2).to(dtype)
    red[:, 0] = vibrant[:, 0] = 1  # at least one label each
    return x, red, vibrant


def weights_per_tap(designs, weights: dict[str, float], dtype) -> torch.Tensor:
    """(2, 5, K): each term's weight on the tap its model reads it on, 0 elsewhere and when the term is off."""
    plan = {name: np.array([weights.get(name, 0.0)]) for name in TERMS}
    return tap_weights(designs, plan, 0, 1)[0].to(dtype)


def autograd(designs, model, x, red, vibrant, weights):
    """Loss values and gradients the ordinary way: the model's forward pass, losses.py, loss.backward()."""
    model.zero_grad()
    taps = model(x)
    on_bottleneck = {n: torch.tensor([d.tap(n) == "bottleneck" for d in designs]) for n in TERMS}
    terms = regularizer_terms(taps.encoder, taps.bottleneck, on_bottleneck, {"red": red, "vibrant": vibrant})
    recon = ((taps.output - x) ** 2).mean(dim=(-1, -2))
    loss = recon.clone()
    for name in TERMS:
        on = torch.tensor([d.tap(name) is not None for d in designs], dtype=x.dtype)
        loss = loss + weights.get(name, 0.0) * on * terms[name]
    loss.sum().backward()
    values = torch.stack([recon, *(terms[n] for n in ROW[1:])]).detach()
    return values, {n: p.grad.clone() for n, p in model.named_parameters()}


def by_hand(designs, model, x, red, vibrant, weights):
    """The same through backprop.Step, fed as train() feeds it (feature-major, labels as label weights)."""
    params = {n: p.detach() for n, p in model.named_parameters()}
    grads = {n: torch.full_like(p, float("nan")) for n, p in params.items()}  # every entry must be written
    k = len(designs)
    routing = Routing(
        {t: torch.tensor([d.tap(t) == "bottleneck" for d in designs]) for t in ("separate", "anchor", "planar")}
    )
    step = Step(params, grads, routing, k, B)
    label_weights = [(lab / (lab.sum(-1, keepdim=True) + 1e-8))[:, None] for lab in (red, vibrant)]
    row = step(x.transpose(1, 2).contiguous(), *label_weights, weights_per_tap(designs, weights, x.dtype))
    total = row[0] + sum(
        weights.get(n, 0.0) * row[ROW.index(n)] * torch.tensor([d.tap(n) is not None for d in designs]) for n in TERMS
    )
    torch.testing.assert_close(row[-1], total, rtol=1e-6, atol=0)  # the total: recon + weighted terms switched on
    return row[:-1].clone(), {n: g.clone() for n, g in grads.items()}


def setup(names, dtype, seed=0):
    designs = [parse_design(n) for n in names]
    model = ColorAutoencoder.from_seeds(list(range(seed, seed + len(designs)))).to(dtype)
    return designs, model, *batch(len(designs), dtype, seed)


def assert_grads_close(got, want, rtol, label):
    for name, ref in want.items():
        scale = ref.abs().max()
        assert scale > 0, (label, name)
        error = (got[name] - ref).abs().max() / scale
        assert error <= rtol, f"{label}: {name} off by {error:.2e} of its largest entry"


@pytest.mark.parametrize("names", DESIGN_SETS.values(), ids=DESIGN_SETS.keys())
@pytest.mark.parametrize("term", ["recon", *TERMS])
def test_each_term_equals_autograd_float64(names, term):
    """The math, term by term: recon alone, then recon + 1 x term minus recon (float64: rounding ~1e-16)."""
    designs, model, x, red, vibrant = setup(names, torch.float64)
    weights = {} if term == "recon" else {term: 1.0}
    values, want = autograd(designs, model, x, red, vibrant, weights)
    row, got = by_hand(designs, model, x, red, vibrant, weights)
    torch.testing.assert_close(row, values, rtol=1e-12, atol=0)
    if term != "recon":  # isolate the term's own gradient on both sides
        _, want_recon = autograd(designs, model, x, red, vibrant, {})
        _, got_recon = by_hand(designs, model, x, red, vibrant, {})
        want = {n: want[n] - want_recon[n] for n in want}
        got = {n: got[n] - got_recon[n] for n in got}
        if all(d.tap(term) is None for d in designs):
            assert all(torch.equal(g, torch.zeros_like(g)) for g in got.values())  # off: nothing at all
            return
        want = {n: g for n, g in want.items() if n.startswith("enc")}  # a regularizer only reaches the encoder
    assert_grads_close(got, want, 1e-10, f"{names} {term}")


@pytest.mark.parametrize("names", DESIGN_SETS.values(), ids=DESIGN_SETS.keys())
@pytest.mark.parametrize("term", ["recon", *TERMS])
def test_each_term_equals_autograd_float32(names, term):
    """The rounding: in float32, the term weighted so that it dominates (100 x), within 1e-5 relative."""
    designs, model, x, red, vibrant = setup(names, torch.float32, seed=3)
    weights = {} if term == "recon" else {term: 100.0}
    values, want = autograd(designs, model, x, red, vibrant, weights)
    row, got = by_hand(designs, model, x, red, vibrant, weights)
    torch.testing.assert_close(row, values, rtol=1e-5, atol=0)
    assert_grads_close(got, want, 1e-5, f"{names} {term}")


@pytest.mark.parametrize("names", DESIGN_SETS.values(), ids=DESIGN_SETS.keys())
def test_the_whole_objective_equals_autograd_float32(names):
    """All five terms at the schedule's step-1000 weights, as training sees them."""
    designs, model, x, red, vibrant = setup(names, torch.float32, seed=5)
    weights = {"separate": 0.01, "anchor": 0.04, "unit": 0.1, "planar": 0.1}
    values, want = autograd(designs, model, x, red, vibrant, weights)
    row, got = by_hand(designs, model, x, red, vibrant, weights)
    torch.testing.assert_close(row, values, rtol=1e-5, atol=0)
    assert_grads_close(got, want, 1e-5, str(names))


def test_zero_weights_leave_only_recon():
    """Every regularizer at weight 0 (the schedule's last 200 steps): finite, and exactly recon's gradient."""
    designs, model, x, red, vibrant = setup(["pre", "post"], torch.float64)
    _, want = autograd(designs, model, x, red, vibrant, {})
    row, got = by_hand(designs, model, x, red, vibrant, dict.fromkeys(TERMS, 0.0))
    assert torch.isfinite(row).all()
    assert_grads_close(got, want, 1e-12, "zero weights")


def test_a_model_in_a_batch_gets_its_solo_numbers():
    """Bit for bit: model 3 of a mixed batch of 5 and the same model alone."""
    names = DESIGN_SETS["mixed, K=5"]
    designs, model, x, red, vibrant = setup(names, torch.float32)
    weights = {"separate": 0.01, "anchor": 0.04, "unit": 0.1, "planar": 0.1}
    row, grads = by_hand(designs, model, x, red, vibrant, weights)
    for i in (1, 3):
        solo_row, solo = by_hand(
            [designs[i]],
            ColorAutoencoder([model.weights(i)]),
            x[i : i + 1],
            red[i : i + 1],
            vibrant[i : i + 1],
            weights,
        )
        assert torch.equal(solo_row[:, 0], row[:, i])
        assert all(torch.equal(solo[n][0], grads[n][i]) for n in grads)


def test_tap_weights():
    designs = [parse_design(d) for d in ("post", "pre", "post,anchor=pre,planar=off,unit=off")]
    plan = {name: np.array([0.5, 2.0]) * (i + 1) for i, name in enumerate(TERMS)}  # separate 1x, anchor 2x, ...
    w = tap_weights(designs, plan, 1, 2)
    assert w.shape == (1, len(TAPS), len(ROW), 3) and w.dtype == torch.float32
    w = w[0]
    enc, bot = TAPS.index("encoder"), TAPS.index("bottleneck")
    separate, anchor, unit, planar = (ROW.index(t) for t in ("separate", "anchor", "unit", "planar"))
    assert w[:, 0].eq(0).all()  # recon has no weight here
    assert w[enc, unit].tolist() == [6.0, 6.0, 0.0] and w[bot, unit].eq(0).all()  # unit: encoder, or off
    assert w[bot, separate].tolist() == [2.0, 0.0, 2.0] and w[enc, separate].tolist() == [0.0, 2.0, 0.0]
    assert w[bot, anchor].tolist() == [4.0, 0.0, 0.0] and w[enc, anchor].tolist() == [0.0, 4.0, 4.0]
    assert w[bot, planar].tolist() == [8.0, 0.0, 0.0] and w[enc, planar].tolist() == [0.0, 8.0, 0.0]


@pytest.mark.parametrize(("steps", "batch_size", "chunk"), [(300, 64, 128), (7, 2, 1), (10, 3, 4)])
def test_training_data_in_chunks_is_the_data_stream(steps, batch_size, chunk):
    """Chunk after chunk, the same indices and labels as data_stream() draws for all steps at once."""
    seeds = [0, 5, 2**31 - 1]
    data = TrainingData(seeds, steps, batch_size)
    grid = colors.training_grid()
    w = torch.tensor(colors.sampling_weights(grid.flat_hsv), dtype=torch.float64)
    streams = [data_stream(s, steps, batch_size, w) for s in seeds]
    rgb = torch.tensor(grid.flat_rgb, dtype=torch.float32)
    p_red = torch.tensor(colors.red_probability(grid.flat_rgb), dtype=torch.float32)
    done = 0
    while done < steps:
        n = min(chunk, steps - done)
        x, red, vibrant = data.chunk(n)
        assert x.shape == (n, 3, 3, batch_size) and red.shape == vibrant.shape == (n, 3, 1, batch_size)
        for k, (idx, draws) in enumerate(streams):
            idx, draws = idx[done : done + n], draws[done : done + n]
            assert torch.equal(x[:, k], rgb[idx].transpose(1, 2))
            labels = (draws[..., 0] < p_red[idx]).float()
            assert torch.equal(red[:, k, 0], labels / (labels.sum(-1, keepdim=True) + 1e-8))
        done += n


def test_inverse_cdf_draws_what_multinomial_draws():
    """The guide-table sampler returns torch.multinomial's indices for the same generator state, and the
    binary search's answer (first cumulative entry >= u) on the hard cases: u on an entry, on a bucket edge, 0."""
    sampler = training_sampler()
    grid = colors.training_grid()
    weights = torch.tensor(colors.sampling_weights(grid.flat_hsv), dtype=torch.float64)
    for seed in (0, 1, 2**31 - 1 + 2**32):
        reference = torch.multinomial(weights, 20_000, True, generator=torch.Generator().manual_seed(seed))
        u = torch.empty(20_000, dtype=torch.float64).uniform_(generator=torch.Generator().manual_seed(seed))
        assert torch.equal(sampler.sample(u).long(), reference)
    cum = sampler.cum[: len(weights)]
    edges = torch.arange(0, sampler.buckets, 997, dtype=torch.float64) / sampler.buckets
    hard = torch.cat([cum[:-1], cum[:-1].nextafter(torch.tensor(0.0, dtype=torch.float64)), edges, torch.tensor([0.0])])
    assert torch.equal(sampler.sample(hard).long(), torch.searchsorted(cum, hard))
    assert sampler.span >= 1 and sampler.start.dtype == torch.int32


@pytest.mark.parametrize("shape", [(3, 33), (4, 17), (1, 5), (64, 64)])
def test_aligned_blocks(shape):
    """Every model's block starts on a 64-byte boundary, row-major inside, blocks not overlapping."""
    t = aligned_empty(5, *shape)
    assert t.shape == (5, *shape)
    assert all(t[k].data_ptr() % 64 == 0 for k in range(5))
    assert all(t[k].is_contiguous() for k in range(5))
    t.copy_(torch.arange(t.numel(), dtype=torch.float32).view(t.shape))
    assert torch.equal(t.flatten(), torch.arange(t.numel(), dtype=torch.float32))
