"""The color-vision lens: the simulation matrices against the published dataset, and what the lens may change."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from excolor import colors, cvd


@pytest.mark.parametrize(("kind", "name"), [("protan", "Protanomaly"), ("deutan", "Deuteranomaly"),
                                            ("tritan", "Tritanomaly")])  # fmt: skip
def test_matrices_are_the_published_severity_one_values(kind: str, name: str) -> None:
    """colour-science ships Machado et al.'s own table (CVD_MATRICES_MACHADO2010): an independent transcription."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        colour = pytest.importorskip("colour")
        published = colour.matrix_cvd_Machado2009(name, 1.0)
    np.testing.assert_allclose(cvd.MACHADO_2009[kind], published, atol=5e-7)


def test_white_black_and_greys_look_the_same_to_every_viewer() -> None:
    """Every row of a Machado matrix sums to ~1: achromatic light is unchanged (the model's normalization)."""
    greys = np.linspace(0, 1, 11)[:, None].repeat(3, axis=1)
    for kind in cvd.KINDS:
        np.testing.assert_allclose(cvd.simulate(greys, kind), greys, atol=2e-3)


def _hue_deg(rgb: np.ndarray) -> float:
    r, g, b = rgb
    return float(np.degrees(np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b)) % 360)


def test_a_protanope_sees_pure_red_as_a_dark_olive() -> None:
    seen_red = cvd.simulate(np.array([1.0, 0, 0]), "protan")
    assert colors.to_hex(seen_red) == "#6d5f00"  # linear (0.152, 0.115, 0): dark, yellowish, no red left


@pytest.mark.parametrize(("kind", "collapses"), [("protan", True), ("deutan", True), ("tritan", False)])
def test_red_and_green_take_one_hue_for_red_green_deficiencies_only(kind: str, collapses: bool) -> None:
    """Typical viewers see red and green 120 degrees of hue apart; protanopes and deuteranopes see both as
    yellowish (a few degrees apart), tritanopes still see them far apart."""
    red, green = cvd.simulate(np.array([1.0, 0, 0]), kind), cvd.simulate(np.array([0, 1.0, 0]), kind)
    gap = abs((_hue_deg(red) - _hue_deg(green) + 180) % 360 - 180)
    assert (gap < 15) == collapses, gap


def test_no_lens_changes_nothing_and_nan_stays_nan() -> None:
    rgb = np.array([[0.2, 0.5, 0.9], [np.nan, 0.1, 0.1]])
    assert cvd.simulate(rgb, None) is not None
    np.testing.assert_array_equal(cvd.simulate(rgb, None), rgb)
    seen = cvd.simulate(rgb, "deutan")
    assert np.isnan(seen[1, 0]) and np.all(np.isfinite(seen[0]))


PARSED = [("protan", "protan"), (" Deutan ", "deutan"), ("tritan", "tritan"), ("", None), (None, None), ("red", None)]


@pytest.mark.parametrize(("text", "kind"), [*PARSED, ("protan;drop", None)])
def test_parse_kind_accepts_only_the_three_names(text, kind) -> None:
    assert cvd.parse_kind(text) == kind


def test_srgb_round_trip() -> None:
    c = np.linspace(0, 1, 101)
    np.testing.assert_allclose(colors.linear_to_srgb(colors.srgb_to_linear(c)), c, atol=1e-12)
