"""3-D latent views: the deck plots the requested dimensions with deck.gl's axes (x right, y up, z toward the
viewer: OrbitView with orbitAxis "Y", checked by eye in a browser), cones sit at the right angle from red,
the JSON stays compact, and the description carries the numbers.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from excolor import colors  # noqa: E402
from excolor import evaluate as ev  # noqa: E402
from excolor.figures import latents3d as l3  # noqa: E402
from excolor.interventions import Repulsion, Suppression  # noqa: E402

RED = np.array([1.0, 0.0, 0.0, 0.0])


@pytest.fixture(scope="module")
def cube():
    """The 8,000-color RGB grid with random unit latents, except pure red, which sits exactly on c."""
    rgb = colors.rgb_grid().flat_rgb
    rng = np.random.default_rng(1)
    latents = rng.normal(size=(len(rgb), 4))
    latents /= np.linalg.norm(latents, axis=1, keepdims=True)
    red = int(np.argmin(np.abs(rgb - [1, 0, 0]).max(1)))
    latents[red] = RED
    recon = np.clip(rgb + rng.normal(scale=0.02, size=rgb.shape), 0, 1)
    return latents, rgb, recon, red


def _spec(deck) -> dict:
    return json.loads(deck.to_json())


def _layer(spec: dict, layer_id: str) -> dict:
    return next(layer for layer in spec["layers"] if layer["id"] == layer_id)


@pytest.mark.parametrize("dims", l3.VIEWS)
def test_points_are_the_requested_dims(cube, dims):
    latents, rgb, recon, red = cube
    deck, _ = l3.latent_deck(latents, rgb, recon, dims)
    points = _layer(_spec(deck), "latents")
    data = points["data"]
    assert len(data) == 8000
    pos = np.array([d["p"] for d in data])
    np.testing.assert_allclose(pos[:, 0], latents[:, dims[0]], atol=6e-5)  # screen x
    np.testing.assert_allclose(pos[:, 1], latents[:, dims[1]], atol=6e-5)  # screen y, up
    np.testing.assert_allclose(pos[:, 2], latents[:, dims[2]], atol=6e-5)  # toward the viewer
    assert data[red]["t"] == [255, 0, 0]  # true color fills the dot
    assert data[red]["r"] == np.rint(recon[red] * 255).astype(int).tolist()  # reconstruction is the stroke
    assert points["getFillColor"] == "@@=t" and points["getLineColor"] == "@@=r"
    assert points["billboard"] is True and points["stroked"] is True
    assert points["radiusUnits"] == "pixels" and points["lineWidthUnits"] == "pixels"  # literals, not accessors


def test_red_sits_at_the_top_of_the_102_wheel(cube):
    latents, rgb, recon, red = cube
    deck, text = l3.latent_deck(latents, rgb, recon, (1, 0, 2))
    spec = _spec(deck)
    assert _layer(spec, "latents")["data"][red]["p"] == [0.0, 1.0, 0.0]
    (view,) = spec["views"]
    assert view["@@type"] == "OrbitView" and view["orbitAxis"] == "Y" and view["controller"] is True
    state = spec["initialViewState"]
    assert state["target"] == [0, 0, 0] and state["rotationX"] == 0 and state["rotationOrbit"] == 0
    assert "mapStyle" not in spec  # no basemap: the canvas stays transparent on either theme
    assert "red at 12 o'clock" in text
    assert "The red direction (dimension 0) points up" in text
    assert "Pure red's latent is 0.0° from the red direction (length 1.00)" in text


def test_json_is_compact(cube):
    latents, rgb, recon, _ = cube
    deck, _ = l3.latent_deck(latents, rgb, recon, error=np.full(len(rgb), 1.234e-5))
    text = deck.to_json()
    assert "\n" not in text
    assert len(text) < 800_000
    assert _layer(json.loads(text), "latents")["data"][0]["e"] == 1.2e-5


@pytest.mark.parametrize("dims", l3.VIEWS)
@pytest.mark.parametrize("angle", [30.0, 60.0, 90.0])
def test_cone_ring_is_at_its_angle_from_red(dims, angle):
    ring = l3.cone_ring(angle, dims)
    z = np.zeros((len(ring), 4))
    z[:, list(dims)] = ring  # back into 4-D: the hidden dimension is 0 on the ring
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.degrees(np.arccos(z @ RED)), angle, atol=1e-9)
    assert np.allclose(ring[0], ring[-1])  # closed


def test_cones_in_the_deck(cube):
    latents, rgb, recon, _ = cube
    cones = Repulsion().cones()
    assert cones == {"cone": pytest.approx(90.0), "hole": pytest.approx(60.0)}
    deck, text = l3.latent_deck(latents, rgb, recon, (1, 0, 2), cones)
    paths = _layer(_spec(deck), "cones")["data"]
    assert {p["name"] for p in paths} == {"cone", "hole"}
    for name, half in cones.items():
        pts = np.array([pt for p in paths if p["name"] == name for pt in p["path"]])
        on_sphere = pts[np.isclose(np.linalg.norm(pts, axis=1), 1.0, atol=1e-3)]
        assert len(on_sphere) > 40  # the dashed ring
        angles = np.degrees(np.arccos(np.clip(on_sphere[:, 1], -1, 1)))  # red is screen y in (1, 0, 2)
        np.testing.assert_allclose(angles, half, atol=0.02)
        inner = pts[np.linalg.norm(pts, axis=1) > 0.05]  # spokes from the origin follow the cone too
        spoke_angles = np.degrees(np.arccos(np.clip(inner[:, 1] / np.linalg.norm(inner, axis=1), -1, 1)))
        np.testing.assert_allclose(spoke_angles, half, atol=0.05)
    assert "The hole (half-angle 60° around red, drawn dashed)" in text


def _tilted(angle_deg: float, hidden: int) -> np.ndarray:
    """A unit latent at angle_deg from red, turned away from it along dimension `hidden` only."""
    z = np.zeros(4)
    z[0], z[hidden] = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return z


def test_latents_that_only_look_inside_the_hole_are_counted_with_the_hidden_dimension():
    rgb = np.array([(1, 0, 0), (0, 1, 0), (0, 0, 1)], dtype=float)
    # three latents 61° from red, turned along dimension 3: (1, 0, 2) leaves it out and shows them on the red axis
    along_hidden = np.stack([_tilted(61, 3)] * 3)
    text = l3.latent_description(along_hidden, rgb, (1, 0, 2), {"hole": 60.0})
    assert "The hole (half-angle 60° around red, drawn dashed) contains 0 latents (0%); 3 latents outside it" in text
    assert "leaves out dimension 3" in text
    # the same angle, turned along a shown dimension: drawn where they are, nothing looks inside
    along_shown = np.stack([_tilted(61, 2)] * 3)
    text = l3.latent_description(along_shown, rgb, (1, 0, 2), {"hole": 60.0})
    assert text.endswith("contains 0 latents (0%).") and "look inside" not in text


def test_a_ninety_degree_cone_is_called_the_whole_hemisphere(cube):
    latents, rgb, _, _ = cube
    wide = l3.latent_description(latents, rgb, (1, 0, 2), {"cone": 90.0})
    assert "a 90° cone is the whole hemisphere facing red" in wide
    assert "hemisphere" not in l3.latent_description(latents, rgb, (1, 0, 2), {"cone": 60.0})


def test_no_cone_without_the_red_dimension(cube):
    latents, rgb, recon, _ = cube
    assert l3.cone_ring(60, (1, 2, 3)) is None
    deck, text = l3.latent_deck(latents, rgb, recon, (1, 2, 3), {"cone": 60.0})
    spec = _spec(deck)
    assert _layer(spec, "cones")["data"] == []
    assert "is not shown in this view" in text and "not drawn in this view" in text


def test_shortened_latents_are_plotted_as_they_are(cube):
    latents, rgb, recon, red = cube
    squashed = latents.copy()
    squashed[red] = [0.02, 0.0, 0.0, 0.0]
    squashed[:100] *= 0.5
    deck, text = l3.latent_deck(squashed, rgb, recon, (1, 0, 2))
    data = _layer(_spec(deck), "latents")["data"]
    assert data[red]["p"] == [0.0, 0.02, 0.0]
    assert "the other 101 sit inside it, the shortest with length 0.02" in text
    assert "red pulled deep inside the sphere (length 0.02)" in text


def test_bad_dims_are_refused(cube):
    latents, rgb, recon, _ = cube
    for dims in [(0, 0, 1), (1, 2, 4), (1, 2)]:
        with pytest.raises(ValueError):
            l3.latent_deck(latents, rgb, recon, dims)
    with pytest.raises(ValueError):
        l3.latent_deck(latents[:10], rgb, recon)


@pytest.fixture(scope="module")
def trained_run(request):
    try:
        return request.getfixturevalue("default_run")
    except pytest.FixtureLookupError:
        from excolor.train import Recipe, train

        return train(Recipe())[0]


def test_trained_model_puts_red_at_the_top(trained_run):
    base = ev.evaluate(trained_run)
    deck, text = l3.evaluation_deck(base, (1, 0, 2))
    red = int(np.argmin(np.abs(base.rgb_true - [1, 0, 0]).max(1)))
    x, y, _ = _layer(_spec(deck), "latents")["data"][red]["p"]
    assert y > 0.9 and abs(x) < 0.45
    assert "red at 12 o'clock" in text
    sup = Suppression()
    deck, text = l3.evaluation_deck(ev.evaluate(trained_run, sup), (1, 0, 2), sup)
    assert {p["name"] for p in _layer(_spec(deck), "cones")["data"]} == {"cone"}
    assert "sit inside it" in text  # suppression shortens latents near red
    assert "The cone (half-angle 90° around red, drawn dashed)" in text
    assert math.isfinite(base.max_error)


# ------------------------------------------------------------------------------ a diverged model (NaN)


def _strict_spec(deck) -> dict:
    """The deck's JSON as the browser parses it: NaN or Infinity would be a syntax error there."""

    def refuse(token):
        raise ValueError(f"{token} in the deck's JSON")

    return json.loads(deck.to_json(), parse_constant=refuse)


def test_nan_latents_are_left_out_and_counted(cube):
    latents, rgb, recon, red = cube
    latents, recon = latents.copy(), recon.copy()
    latents[[3, 4, 5]] = np.nan
    latents[6, 2] = np.nan  # one bad coordinate is enough to have no place on screen
    recon[7] = np.nan  # a finite latent whose reconstruction is NaN: drawn, ringed in neutral grey
    deck, text = l3.latent_deck(latents, rgb, recon, error=np.where(np.arange(8000) == 7, np.nan, 0.01))
    data = _layer(_strict_spec(deck), "latents")["data"]
    assert len(data) == 8000 - 4
    kept = np.delete(np.arange(8000), [3, 4, 5, 6])
    np.testing.assert_allclose([d["p"] for d in data], latents[kept][:, list(l3.DEFAULT_DIMS)], atol=6e-5)
    seventh = data[list(kept).index(7)]
    assert seventh["r"] == [128, 128, 128] and seventh["e"] is None
    assert "4 of 8,000 latents are not numbers (the model diverged) and are not drawn." in text
    assert "red at 12 o'clock" in text  # the rest is described as usual


def test_an_all_nan_evaluation_draws_the_empty_sphere(cube):
    latents, rgb, recon, _ = cube
    nan = np.full_like(latents, np.nan)
    deck, text = l3.latent_deck(nan, rgb, np.full_like(recon, np.nan), cones={"cone": 60.0})
    spec = _strict_spec(deck)
    assert _layer(spec, "latents")["data"] == []
    assert _layer(spec, "sphere")["data"] == [{"p": [0, 0, 0]}]
    assert text.endswith("8,000 of 8,000 latents are not numbers (the model diverged) and are not drawn.")
