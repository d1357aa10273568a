"""Colors: conversions against known values and the stdlib, grids, sampling weights, labels, similarity."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from excolor import colors

# (hue as a fraction of a turn, s, v) -> rgb
KNOWN = [
    ((0.0, 1.0, 1.0), (1.0, 0.0, 0.0)),  # red
    ((1 / 6, 1.0, 1.0), (1.0, 1.0, 0.0)),  # yellow
    ((1 / 3, 1.0, 1.0), (0.0, 1.0, 0.0)),  # green
    ((0.5, 1.0, 1.0), (0.0, 1.0, 1.0)),  # cyan
    ((2 / 3, 1.0, 1.0), (0.0, 0.0, 1.0)),  # blue
    ((5 / 6, 1.0, 1.0), (1.0, 0.0, 1.0)),  # magenta
    ((1 / 12, 1.0, 1.0), (1.0, 0.5, 0.0)),  # orange
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),  # black
    ((0.0, 0.0, 1.0), (1.0, 1.0, 1.0)),  # white
    ((0.0, 0.0, 0.5), (0.5, 0.5, 0.5)),  # grey
    ((0.0, 1.0, 0.5), (0.5, 0.0, 0.0)),  # dark red
    ((2 / 3, 0.5, 1.0), (0.5, 0.5, 1.0)),  # light blue
]


@pytest.mark.parametrize(("hsv", "rgb"), KNOWN)
def test_known_conversions(hsv, rgb):
    np.testing.assert_allclose(colors.hsv_to_rgb(np.array(hsv)), rgb, atol=1e-12)
    np.testing.assert_allclose(colors.rgb_to_hsv(np.array(rgb)), hsv, atol=1e-12)


def test_grey_and_black_conventions():
    # Any hue with S = 0 is grey; black has saturation 0 whatever the hue it came from.
    for h in (0.0, 0.3, 0.77):
        np.testing.assert_allclose(colors.hsv_to_rgb(np.array([h, 0.0, 0.25])), [0.25] * 3, atol=1e-12)
        np.testing.assert_allclose(colors.hsv_to_rgb(np.array([h, 0.7, 0.0])), [0.0] * 3, atol=1e-12)
    np.testing.assert_array_equal(colors.rgb_to_hsv(np.zeros(3)), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(colors.rgb_to_hsv(np.full(3, 0.4)), [0.0, 0.0, 0.4])


def test_conversions_match_colorsys():
    rng = np.random.default_rng(1)
    rgb = rng.random((500, 3))
    hsv = rng.random((500, 3))
    np.testing.assert_allclose(colors.rgb_to_hsv(rgb), [colorsys.rgb_to_hsv(*c) for c in rgb], atol=1e-12)
    np.testing.assert_allclose(colors.hsv_to_rgb(hsv), [colorsys.hsv_to_rgb(*c) for c in hsv], atol=1e-12)


def test_random_round_trips():
    rng = np.random.default_rng(0)
    rgb = rng.random((10_000, 3))
    np.testing.assert_allclose(colors.hsv_to_rgb(colors.rgb_to_hsv(rgb)), rgb, atol=1e-12)
    # hsv -> rgb -> hsv is exact only where hue and saturation mean something (s > 0, v > 0)
    hsv = np.column_stack([rng.random(10_000), rng.uniform(0.01, 1, 10_000), rng.uniform(0.01, 1, 10_000)])
    back = colors.rgb_to_hsv(colors.hsv_to_rgb(hsv))
    hue_gap = np.abs(back[:, 0] - hsv[:, 0])
    assert np.minimum(hue_gap, 1 - hue_gap).max() < 1e-9
    np.testing.assert_allclose(back[:, 1:], hsv[:, 1:], atol=1e-12)
    # batched shapes are kept
    assert colors.rgb_to_hsv(rgb.reshape(100, 100, 3)).shape == (100, 100, 3)


@pytest.mark.parametrize("make", [colors.training_grid, colors.swatch_grid, colors.rgb_grid, colors.dense_grid])
def test_grid_round_trips(make):
    grid = make()
    np.testing.assert_allclose(colors.hsv_to_rgb(colors.rgb_to_hsv(grid.rgb)), grid.rgb, atol=1e-12)
    np.testing.assert_allclose(colors.hsv_to_rgb(grid.hsv), grid.rgb, atol=1e-12)
    assert grid.rgb.min() >= 0 and grid.rgb.max() <= 1


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (colors.training_grid, (36, 10, 10)),
        (colors.swatch_grid, (24, 4, 8)),
        (colors.dense_grid, (240, 48, 48)),
        (colors.rgb_grid, (20, 20, 20)),
    ],
)
def test_grid_shapes(make, shape):
    grid = make()
    assert grid.shape == shape
    assert grid.flat_rgb.shape == (int(np.prod(shape)), 3)
    assert grid.flat_hsv.shape == (int(np.prod(shape)), 3)


def test_grid_sizes_and_coordinates():
    assert colors.training_grid().flat_rgb.shape[0] == 3_600
    assert colors.swatch_grid().flat_rgb.shape[0] == 768
    assert colors.dense_grid().flat_rgb.shape[0] == 552_960
    assert colors.rgb_grid().flat_rgb.shape[0] == 8_000

    train = colors.training_grid()
    h, s, v = train.coords
    np.testing.assert_allclose(h * 360, np.arange(0, 360, 10))
    np.testing.assert_allclose(s, np.linspace(0, 1, 10))
    np.testing.assert_allclose(v, np.linspace(0, 1, 10))
    # axis order is (hue, saturation, value)
    np.testing.assert_allclose(train.hsv[3, 9, 9], [30 / 360, 1.0, 1.0])
    np.testing.assert_allclose(train.rgb[3, 9, 9], [1.0, 0.5, 0.0], atol=1e-12)

    swatch = colors.swatch_grid()
    np.testing.assert_allclose(swatch.coords[0] * 360, np.arange(0, 360, 15))
    np.testing.assert_allclose(swatch.coords[1], [0, 1 / 3, 2 / 3, 1])

    dense = colors.dense_grid()
    np.testing.assert_allclose(dense.coords[0] * 360, np.arange(240) * 1.5)

    cube = colors.rgb_grid()
    np.testing.assert_allclose(cube.coords[0], np.linspace(0, 1, 20))
    np.testing.assert_allclose(cube.rgb[19, 0, 0], [1, 0, 0])
    np.testing.assert_allclose(cube.rgb[0, 19, 5], [0, 1, 5 / 19])


def test_sampling_weights_hand_values():
    hsv = np.array([[0.3, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5], [0.1, 0.2, 0.9]])
    expected = [
        1 / 360,
        1.0,
        1 / 36,
        0.5 / 360 + 0.25 / 36 + 0.25,
        0.1 / 360 + 0.8 * 0.9 / 36 + 0.18,
    ]
    np.testing.assert_allclose(colors.sampling_weights(hsv), expected, rtol=1e-12)


def test_sampling_weights_balance_black_against_one_vivid_color():
    # The grid holds 36 x 10 copies of black; together they weigh exactly as much as pure red does.
    grid = colors.training_grid()
    w = colors.sampling_weights(grid.hsv)
    assert w.shape == (36, 10, 10)
    np.testing.assert_allclose(w[:, :, 0].sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(w[0, -1, -1], 1.0)
    # and the 36 copies of a grey (s = 0) weigh as much as one vivid color of the same value
    np.testing.assert_allclose(w[:, 0, -1].sum(), 1.0, rtol=1e-12)


def test_vibrancy():
    hsv = np.array([[0.2, 0.5, 0.4], [0.0, 1.0, 1.0], [0.9, 0.0, 1.0], [0.9, 1.0, 0.0]])
    np.testing.assert_allclose(colors.vibrancy(hsv), [0.2, 1.0, 0.0, 0.0])


def test_label_probabilities():
    rgb = np.array([[1, 0, 0], [1, 0.5, 0.5], [0, 1, 0], [1, 1, 1], [0.5, 0, 0], [1, 0.2, 0]], dtype=float)
    expected = [0.5, 0.5**11, 0.0, 0.0, 0.5 * 0.5**10, 0.5 * 0.9**10]
    np.testing.assert_allclose(colors.red_probability(rgb), expected, rtol=1e-12)

    hsv = np.array([[0, 1, 1], [0.4, 1, 1], [0, 0.9, 1], [0, 0, 1], [0, 0.5, 0.5]], dtype=float)
    expected = [0.5, 0.5, 0.5 * 0.9**100, 0.0, 0.5 * 0.25**100]
    np.testing.assert_allclose(colors.vibrant_probability(hsv), expected, rtol=1e-12)


def test_similarity_to_red():
    hsv = np.array(
        [
            [0.0, 1.0, 1.0],  # pure red
            [30 / 360, 0.5, 0.8],  # hand value below
            [350 / 360, 1.0, 1.0],  # the hue distance wraps round 360 degrees
            [0.5, 1.0, 1.0],  # cyan: hue too far, fully vivid
            [0.0, 0.0, 1.0],  # white: no saturation in common
            [100 / 360, 1.0, 1.0],  # beyond 90 degrees
        ]
    )
    # (30 deg, .5, .8): closeness = 60/90, rho = (0.4 + 1)/2 = 0.7 -> (0.7 * 2/3 + 0.3) * 0.5 * 0.8
    expected = [1.0, (0.7 * 2 / 3 + 0.3) * 0.5 * 0.8, 80 / 90, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(colors.similarity_to_red(hsv), expected, atol=1e-12)


def test_similarity_weights_hue_by_vibrancy():
    # a dark grey-ish red and a dark grey-ish cyan: rho = (0.1*0.5 + 1)/2, hue closeness 1 and 0
    red_ish = np.array([0.0, 0.1, 0.5])
    cyan_ish = np.array([0.5, 0.1, 0.5])
    rho = (0.05 + 1) / 2
    base = (1 - 0.9) * (1 - 0.5)
    np.testing.assert_allclose(colors.similarity_to_red(red_ish), base, atol=1e-12)
    np.testing.assert_allclose(colors.similarity_to_red(cyan_ish), (1 - rho) * base, atol=1e-12)


def test_named_colors():
    names, hsv, rgb = colors.named_colors()
    assert names == (
        "red", "orange", "yellow", "lime", "green", "teal",
        "cyan", "azure", "blue", "purple", "magenta", "pink",
    )  # fmt: skip
    np.testing.assert_allclose(hsv[:, 0] * 360, np.arange(0, 360, 30))
    np.testing.assert_array_equal(hsv[:, 1:], np.ones((12, 2)))
    expected = [
        [1, 0, 0], [1, 0.5, 0], [1, 1, 0], [0.5, 1, 0], [0, 1, 0], [0, 1, 0.5],
        [0, 1, 1], [0, 0.5, 1], [0, 0, 1], [0.5, 0, 1], [1, 0, 1], [1, 0, 0.5],
    ]  # fmt: skip
    np.testing.assert_allclose(rgb, expected, atol=1e-12)


def test_to_hex():
    rgb = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5], [-0.1, 1.2, 0.2], [0, 0.5, 1]])
    # 127.5 rounds to even (128); values outside [0, 1] are clipped; 0.2 * 255 = 51 = 0x33
    assert colors.to_hex(rgb).tolist() == ["#ff0000", "#000000", "#ffffff", "#808080", "#00ff33", "#0080ff"]
    assert colors.to_hex(np.zeros((2, 5, 3))).shape == (2, 5)
    assert str(colors.to_hex(np.array([1.0, 0.0, 1.0]))) == "#ff00ff"


def test_to_hex_of_non_finite_colors():
    # a diverged model outputs NaN: any NaN channel makes the whole color neutral grey (0.5 -> 128 = 0x80);
    # infinities are ordinary out-of-range values and clip like them
    rgb = np.array([[np.nan, 0, 1], [1, np.nan, np.nan], [np.inf, -np.inf, 0.2], [0, 0.5, 1]])
    assert colors.to_hex(rgb).tolist() == ["#808080", "#808080", "#ff0033", "#0080ff"]
    assert colors.NOT_A_COLOR == 0.5
    assert colors.to_hex(np.full((2, 3, 3), np.nan)).tolist() == [["#808080"] * 3] * 2
