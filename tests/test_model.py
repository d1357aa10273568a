"""The batched color autoencoder: parameter count, PyTorch-default init, forward taps, K-model slicing."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from excolor.model import LAYERS, ColorAutoencoder, init_weights, unit_length


def reference_net(weights: dict[str, torch.Tensor]) -> tuple[nn.Sequential, nn.Sequential]:
    """The SPEC section 3 network built from plain torch modules, loaded with one model's weights."""
    encoder = nn.Sequential(nn.Linear(3, 16), nn.GELU(), nn.Linear(16, 4)).double()
    decoder = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Linear(16, 3)).double()
    with torch.no_grad():
        for layer, name in ((encoder[0], "enc1"), (encoder[2], "enc2"), (decoder[0], "dec1"), (decoder[2], "dec2")):
            layer.weight.copy_(weights[f"{name}.weight"].T)  # stored (in, out)
            layer.bias.copy_(weights[f"{name}.bias"])
    return encoder, decoder


def n_parameters(model: ColorAutoencoder) -> int:
    """Trainable parameters per model of a batched model."""
    return sum(p.numel() for p in model.parameters()) // model.k


def test_263_parameters_per_model():
    by_hand = (3 * 16 + 16) + (16 * 4 + 4) + (4 * 16 + 16) + (16 * 3 + 3)
    assert by_hand == 263
    assert n_parameters(ColorAutoencoder.from_seeds([0])) == 263
    assert n_parameters(ColorAutoencoder.from_seeds([0, 1, 2])) == 263
    assert sum(p.numel() for p in ColorAutoencoder.from_seeds([0, 1, 2]).parameters()) == 3 * 263
    assert [(n, i, o) for n, i, o in LAYERS] == [("enc1", 3, 16), ("enc2", 16, 4), ("dec1", 4, 16), ("dec2", 16, 3)]


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1])
def test_init_matches_nn_linear_after_manual_seed(seed):
    weights = init_weights(seed)
    torch.manual_seed(seed)
    layers = [nn.Linear(3, 16), nn.Linear(16, 4), nn.Linear(4, 16), nn.Linear(16, 3)]
    for (name, _, _), layer in zip(LAYERS, layers):
        assert torch.equal(weights[f"{name}.weight"], layer.weight.detach().T), name
        assert torch.equal(weights[f"{name}.bias"], layer.bias.detach()), name
        assert weights[f"{name}.weight"].shape == (layer.in_features, layer.out_features)


def test_init_bounds_and_seeds():
    a, b = init_weights(3), init_weights(4)
    assert not torch.equal(a["enc1.weight"], b["enc1.weight"])
    for name, fan_in, _ in LAYERS:
        bound = 1 / math.sqrt(fan_in)
        assert a[f"{name}.weight"].abs().max() <= bound and a[f"{name}.bias"].abs().max() <= bound
    # init_weights does not touch the global RNG
    torch.manual_seed(9)
    expected = torch.rand(3)
    torch.manual_seed(9)
    init_weights(123)
    assert torch.equal(torch.rand(3), expected)


def test_forward_taps():
    model = ColorAutoencoder.from_seeds([5])
    x = torch.rand(200, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        taps = model(x)
        assert taps.encoder.shape == (1, 200, 4) and taps.bottleneck.shape == (1, 200, 4)
        assert taps.output.shape == (1, 200, 3)
        torch.testing.assert_close(taps.bottleneck.norm(dim=-1), torch.ones(1, 200), rtol=0, atol=1e-6)
        torch.testing.assert_close(taps.bottleneck, taps.encoder / taps.encoder.norm(dim=-1, keepdim=True))
        assert torch.equal(taps.encoder, model.encode(x))
        assert torch.equal(taps.output, model.decode(taps.bottleneck))


def test_forward_matches_the_spec_network():
    weights = init_weights(11)
    model = ColorAutoencoder([weights]).double()
    encoder, decoder = reference_net(weights)
    x = torch.rand(300, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 1.4 - 0.2
    with torch.no_grad():
        taps = model(x)
        raw = encoder(x)
        unit = nn.functional.normalize(raw, dim=-1)
        torch.testing.assert_close(taps.encoder[0], raw, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(taps.bottleneck[0], unit, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(taps.output[0], decoder(unit), rtol=1e-12, atol=1e-12)
        # the GELU is the exact erf form, not the tanh approximation
        h = x @ weights["enc1.weight"].double() + weights["enc1.bias"].double()
        gelu = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))
        manual = gelu @ weights["enc2.weight"].double() + weights["enc2.bias"].double()
        torch.testing.assert_close(taps.encoder[0], manual, rtol=1e-12, atol=1e-12)
        # the output is linear: not clamped to [0, 1]
        assert taps.output.min() < 0 or taps.output.max() > 1


def test_member_equals_slice_of_batched_model():
    batched = ColorAutoencoder.from_seeds([7, 8, 9])
    x = torch.rand(500, 3, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        taps = batched(x)
        for i, seed in enumerate((7, 8, 9)):
            member = ColorAutoencoder([batched.weights(i)])
            assert member.k == 1
            for name, value in member.weights(0).items():
                assert torch.equal(value, init_weights(seed)[name])
            solo = member(x)
            for got, want in zip(solo, taps):
                torch.testing.assert_close(got[0], want[i], rtol=1e-6, atol=1e-7)
            # ColorAutoencoder.from_seeds([seed]) is the same network
            torch.testing.assert_close(ColorAutoencoder.from_seeds([seed])(x).output, solo.output, rtol=0, atol=0)


def test_member_is_a_detached_copy():
    batched = ColorAutoencoder.from_seeds([1, 2])
    member = ColorAutoencoder([batched.weights(1)])
    with torch.no_grad():
        member.enc1_w.zero_()
    assert not torch.equal(batched.enc1_w[1], member.enc1_w[0])


def test_per_model_inputs():
    model = ColorAutoencoder.from_seeds([1, 2])
    x = torch.rand(2, 10, 3, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        both = model(x).output
        torch.testing.assert_close(both[1], ColorAutoencoder([model.weights(1)])(x[1]).output[0], rtol=1e-6, atol=1e-7)
        shared = model(x[0]).output  # (N, 3) input goes to every model
        torch.testing.assert_close(shared[0], both[0], rtol=1e-6, atol=1e-7)


def test_weights_round_trip_and_unit_length_of_zero():
    model = ColorAutoencoder.from_seeds([0, 1])
    again = ColorAutoencoder([model.weights(0), model.weights(1)])
    for (name, p), (_, q) in zip(model.named_parameters(), again.named_parameters()):
        assert torch.equal(p, q), name
    z = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 4.0]], dtype=torch.float64)
    assert unit_length(z).tolist() == [[0.0, 0.0, 0.0, 0.0], [0.0, 0.6, 0.0, 0.8]]
