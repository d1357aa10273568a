"""The four regularizers against hand-computed values on tiny batches, and the placement routing."""

from __future__ import annotations

import math

import pytest
import torch

from excolor.designs import parse_design
from excolor.losses import (
    LABEL_OF,
    PLACEMENTS,
    REGULARIZERS,
    Anchor,
    Planarity,
    Separate,
    Unitarity,
    labelled_mean,
    regularizer_terms,
)

HALF_POW = 0.5**100  # ((0 + 1)/2)^100: an orthogonal pair, or a zeroed (self / duplicate) entry


def t(rows, dtype=torch.float64):
    """(B, D) rows -> a K = 1 batch (1, B, D)."""
    return torch.tensor(rows, dtype=dtype)[None]


def test_unitarity_hand_value():
    z = t([[3, 4, 0, 0], [0, 0, 0, 0.5], [1, 1, 1, 1]])  # norms 5, 0.5, 2
    assert Unitarity()(z).tolist() == pytest.approx([(16 + 0.25 + 1) / 3], rel=1e-12)


def test_unitarity_per_model():
    z = torch.stack([t([[1, 0, 0, 0], [0, 2, 0, 0]])[0], t([[0, 0, 3, 0], [0, 0, 0, 1]])[0]])  # K = 2, B = 2
    assert Unitarity()(z).tolist() == pytest.approx([0.5, 2.0], rel=1e-12)


def test_anchor_label_weighted_mean():
    # |z - (1,0,0,0)|^2 = 0, 2, 4, 1
    z = t([[1, 0, 0, 0], [0, 1, 0, 0], [-1, 0, 0, 0], [0.5, 0.5, 0.5, 0.5]])
    anchor = Anchor()
    assert anchor(z, t([1, 1, 0, 1])).item() == pytest.approx(3 / 3, rel=1e-7)
    assert anchor(z, t([0, 0, 1, 0])).item() == pytest.approx(4.0, rel=1e-7)
    assert anchor(z, t([1, 0, 1, 0])).item() == pytest.approx(2.0, rel=1e-7)
    # exactly (sum label * v) / (sum label + 1e-8)
    assert anchor(z, t([0, 1, 1, 1])).item() == pytest.approx(7 / (3 + 1e-8), rel=1e-14)


def test_anchor_with_no_labelled_sample_is_zero():
    z = t([[0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 5, 0]])
    value = Anchor()(z, t([0, 0, 0]))
    assert value.item() == 0.0 and torch.isfinite(value).all()
    # and its gradient is finite (zero), so an unlabelled batch cannot poison training
    zg = z.clone().requires_grad_(True)
    Anchor()(zg, t([0, 0, 0])).sum().backward()
    assert torch.equal(zg.grad, torch.zeros_like(zg))


def test_anchor_per_model_labels():
    z = t([[0, 1, 0, 0], [-1, 0, 0, 0]]).expand(2, 2, 4)
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert Anchor()(z, labels).tolist() == pytest.approx([2.0, 4.0], rel=1e-7)


def test_labelled_mean_is_label_weighted():
    v = torch.tensor([[2.0, 4.0, 8.0]], dtype=torch.float64)
    assert labelled_mean(v, torch.tensor([[0.5, 0.0, 1.0]], dtype=torch.float64)).item() == pytest.approx(
        (1 + 8) / (1.5 + 1e-8), rel=1e-14
    )


def test_separate_orthogonal_vectors():
    # C = identity; the diagonal is zeroed, so every entry contributes ((0 + 1)/2)^100
    z = t([[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 3]])
    assert Separate()(z).item() == pytest.approx(4 * HALF_POW, rel=1e-12)
    assert math.isclose(HALF_POW, 7.888609052210118e-31, rel_tol=1e-12)


def test_separate_antiparallel_vectors():
    # C = [[1, -1], [-1, 1]] -> self entries zeroed (0.5^100 each), the antiparallel pair gives 0^100 = 0
    z = t([[1, 0, 0, 0], [-2, 0, 0, 0]])
    assert Separate()(z).item() == pytest.approx(HALF_POW, rel=1e-12)


def test_separate_hand_value_with_a_close_pair():
    s = math.sqrt(1 - 0.81)
    z = t([[1, 0, 0, 0], [0.9, s, 0, 0], [0, 0, 2, 0]])  # cos(0, 1) = 0.9; sample 2 orthogonal to both
    close = 0.95**100  # ((0.9 + 1)/2)^100
    per_sample = [2 * HALF_POW + close, 2 * HALF_POW + close, 3 * HALF_POW]
    assert Separate()(z).item() == pytest.approx(sum(per_sample) / 3, rel=1e-10)
    assert close == pytest.approx(0.005920529, rel=1e-6)


def test_separate_zeroes_duplicate_samples_like_self_pairs():
    a = [0.6, 0.8, 0.0, 0.0]
    b = [0.0, 0.8, 0.6, 0.0]  # cos(a, b) = 0.64
    z = t([a, [3 * x for x in a], b])  # sample 1 is sample 0 drawn again (scaled: the same direction)
    pair = 0.82**100  # ((0.64 + 1)/2)^100
    # the hand computation zeroes C for (0,0), (1,1), (2,2) and the duplicate pair (0,1), (1,0)
    per_sample = [2 * HALF_POW + pair, 2 * HALF_POW + pair, HALF_POW + 2 * pair]
    assert Separate()(z).item() == pytest.approx(sum(per_sample) / 3, rel=1e-10)
    # without the rule the duplicate pair would add ((1 + 1)/2)^100 = 1 twice: the value is tiny instead
    assert Separate()(z).item() < 1e-8


def test_separate_only_zeroes_near_one_cosines():
    # cos = 1 - 1e-3 is a different sample, not a duplicate: ((2 - 1e-3)/2)^100 counts
    cos = 1 - 1e-3
    z = t([[1, 0, 0, 0], [cos, math.sqrt(1 - cos**2), 0, 0]])
    assert Separate()(z).item() == pytest.approx(HALF_POW + (1 - 5e-4) ** 100, rel=1e-8)
    # within the tolerance (cos >= 1 - 1e-5) it counts as the same sample
    cos = 1 - 1e-7
    z = t([[1, 0, 0, 0], [cos, math.sqrt(1 - cos**2), 0, 0]])
    assert Separate()(z).item() == pytest.approx(2 * HALF_POW, rel=1e-10)


def test_separate_is_scale_invariant():
    torch.manual_seed(0)
    z = torch.randn(2, 6, 4, dtype=torch.float64)
    torch.testing.assert_close(Separate()(z), Separate()(z * 7.5), rtol=1e-10, atol=0)


def test_separate_in_float32_keeps_tiny_values():
    z = t([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=torch.float32)
    assert Separate()(z).item() == pytest.approx(2 * HALF_POW, rel=1e-5)


def test_planarity_hand_value():
    # z_2^2 + z_3^2 = 0, 1, 1, 0.5
    z = t([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0.6, 0.8], [0.5, 0.5, 0.5, 0.5]])
    assert Planarity()(z, t([1, 0, 1, 1])).item() == pytest.approx(1.5 / 3, rel=1e-7)
    assert Planarity()(z, t([0, 1, 0, 0])).item() == pytest.approx(1.0, rel=1e-7)
    assert Planarity()(z, t([1, 0, 0, 0])).item() == 0.0
    assert Planarity()(z, t([0, 0, 0, 0])).item() == 0.0


def test_placements_table():
    assert PLACEMENTS["pre"] == dict.fromkeys(("unit", "anchor", "separate", "planar"), "encoder")
    assert PLACEMENTS["post"] == {
        "unit": "encoder",
        "anchor": "bottleneck",
        "separate": "bottleneck",
        "planar": "bottleneck",
    }
    assert set(REGULARIZERS) == {"separate", "anchor", "unit", "planar"}


def _routing_batch():
    s = math.sqrt(1 - 0.99**2)
    # encoder: long vectors, two of them nearly parallel; bottleneck: a different, orthonormal set
    encoder = t([[2, 0, 0, 0], [1.98, 2 * s, 0, 0], [0, 0, 1.5, 1.5]])[0]
    bottleneck = t([[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]])[0]
    labels = {
        "red": torch.tensor([[1, 0, 1], [1, 0, 1]], dtype=torch.float64),
        "vibrant": torch.tensor([[0, 1, 1], [0, 1, 1]], dtype=torch.float64),
    }
    return torch.stack([encoder, encoder]), torch.stack([bottleneck, bottleneck]), labels  # K = 2


# hand values on the routing batch: unit reads the encoder (norms 2, 2, 1.5*sqrt(2)).
# anchor over red-labelled samples 0, 2. bottleneck: |e1 - c|^2 = 2, |c - c|^2 = 0;
# encoder: |(2,0,0,0) - c|^2 = 1, |(0,0,1.5,1.5) - c|^2 = 1 + 4.5.
# planar over vibrant samples 1, 2. bottleneck: e2 -> 1, e0 -> 0; encoder: (1.98, 2s, 0, 0) -> 0, 2 * 1.5^2 = 4.5.
# separate: bottleneck orthonormal (3 * 3 zeroed-or-orthogonal entries); the encoder has the cos 0.99 pair.
UNIT = ((2 - 1) ** 2 + (2 - 1) ** 2 + (1.5 * math.sqrt(2) - 1) ** 2) / 3
ON = {
    "anchor": {"bottleneck": 2 / 2, "encoder": (1 + 5.5) / 2},
    "planar": {"bottleneck": 1 / 2, "encoder": 4.5 / 2},
    "separate": {"bottleneck": 3 * HALF_POW, "encoder": (9 * HALF_POW + 2 * 0.995**100 - 2 * HALF_POW) / 3},
}


@pytest.mark.parametrize(
    ("model0", "model1"),
    [("post", "pre"), ("post,anchor=pre", "pre,planar=post"), ("pre,separate=post", "post,separate=pre")],
)
def test_regularizer_terms_routing(model0, model1):
    """Each model's terms read the taps its design names (hand values above); unitarity always the encoder."""
    enc, bot, labels = _routing_batch()
    designs = [parse_design(model0), parse_design(model1)]
    on_bottleneck = {n: torch.tensor([d.tap(n) == "bottleneck" for d in designs]) for n in REGULARIZERS}
    out = regularizer_terms(enc, bot, on_bottleneck, labels)
    assert set(out) == {"separate", "anchor", "unit", "planar"}
    assert all(v.shape == (2,) for v in out.values())
    assert out["unit"].tolist() == pytest.approx([UNIT, UNIT], rel=1e-12)
    for name, by_tap in ON.items():
        expected = [by_tap[d.tap(name)] for d in designs]
        assert out[name].tolist() == pytest.approx(expected, rel=1e-8), name


def test_regularizer_terms_gradients_follow_the_taps():
    """Gradients reach only the tap each term reads, and equal those of the terms on their own taps."""
    torch.manual_seed(4)
    enc = (torch.randn(2, 6, 4, dtype=torch.float64) * 2).requires_grad_()
    bot = torch.randn(2, 6, 4, dtype=torch.float64).requires_grad_()
    labels = {"red": torch.ones(2, 6, dtype=torch.float64), "vibrant": torch.ones(2, 6, dtype=torch.float64)}
    designs = [parse_design("post,anchor=pre"), parse_design("pre,planar=post")]
    on_bottleneck = {n: torch.tensor([d.tap(n) == "bottleneck" for d in designs]) for n in REGULARIZERS}
    for name in REGULARIZERS:
        value = regularizer_terms(enc, bot, on_bottleneck, labels)[name].sum()
        got = [
            g if g is not None else torch.zeros_like(enc)
            for g in torch.autograd.grad(value, (enc, bot), allow_unused=True)
        ]
        for i, design in enumerate(designs):
            tap = design.tap(name)
            z = (enc if tap == "encoder" else bot)[i : i + 1]
            label = labels[LABEL_OF[name]][i : i + 1] if name in LABEL_OF else None
            want = torch.autograd.grad(REGULARIZERS[name](z, label).sum(), z)[0]
            read, other = (got[0], got[1]) if tap == "encoder" else (got[1], got[0])
            torch.testing.assert_close(read[i], want[0], rtol=1e-12, atol=1e-15)
            assert torch.equal(other[i], torch.zeros_like(other[i])), (name, i)


def test_regularizer_terms_all_pre_and_all_post():
    torch.manual_seed(3)
    enc = torch.randn(2, 5, 4, dtype=torch.float64) * 3
    bot = torch.randn(2, 5, 4, dtype=torch.float64)
    labels = {"red": torch.ones(2, 5, dtype=torch.float64), "vibrant": torch.ones(2, 5, dtype=torch.float64)}
    post = regularizer_terms(enc, bot, dict.fromkeys(REGULARIZERS, torch.tensor([True, True])), labels)
    pre = regularizer_terms(enc, bot, dict.fromkeys(REGULARIZERS, torch.tensor([False, False])), labels)
    torch.testing.assert_close(post["anchor"], Anchor()(bot, labels["red"]))
    torch.testing.assert_close(pre["anchor"], Anchor()(enc, labels["red"]))
    torch.testing.assert_close(post["planar"], Planarity()(bot, labels["vibrant"]))
    torch.testing.assert_close(pre["planar"], Planarity()(enc, labels["vibrant"]))
    torch.testing.assert_close(post["unit"], Unitarity()(enc))
    torch.testing.assert_close(pre["unit"], Unitarity()(enc))
    assert not torch.allclose(post["anchor"], pre["anchor"])
