"""The color-vision lens (app.lens, issue 25): it changes what is drawn, never a number, and lives in the URL."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest
import torch

from excolor import cvd

torch.set_num_threads(1)

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _open(**params: str):
    """The reconstruction page with its 3-D tab open, the lens as the URL's `cvd` set it on the first page.

    (AppTest's switch_page starts the sidebar's widgets afresh, the seed's too: the lens is chosen again there.)"""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params.update({"seed": "0", **params})
    at.run()
    lens = at.selectbox(key="cvd_lens").value
    at.switch_page("pages/reconstruction.py")
    at.run()
    at.selectbox(key="cvd_lens").set_value(lens)
    at.session_state["reconstruction_space"] = "Rotate it in 3-D"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _drawn(at) -> list[bytes]:
    """What the charts and decks send: their specs, data and deck JSON."""
    charts = [chart.proto.SerializeToString() for chart in at.get("vega_lite_chart")]
    return charts + [deck.proto.json.encode() for deck in at.get("deck_gl_json_chart")]


def _numbers(at) -> tuple:
    return ({m.label: m.value for m in at.metric}, [c.value for c in at.caption if not c.value.startswith("🔗")])


@pytest.fixture(scope="module")
def without_lens():
    return _open()


@pytest.mark.parametrize("kind", cvd.KINDS)
def test_the_lens_changes_what_is_drawn_and_no_number(without_lens, kind):
    at = _open(cvd=kind)
    assert at.selectbox(key="cvd_lens").value == kind and at.query_params["cvd"] == kind  # the URL round-trips
    assert len(at.get("deck_gl_json_chart")) == 3
    assert _numbers(at) == _numbers(without_lens)  # metrics and captions: the true colors'
    swatches_on, swatches_off = _drawn(at), _drawn(without_lens)
    assert len(swatches_on) == len(swatches_off)
    assert all(a != b for a, b in zip(swatches_on[:4] + swatches_on[-3:], swatches_off[:4] + swatches_off[-3:]))
    notes = " ".join(m.value for m in at.markdown)
    assert "Machado, Oliveira & Fernandes (2009)" in notes and "anchored" in notes


def test_without_the_lens_the_page_points_to_it(without_lens):
    assert without_lens.selectbox(key="cvd_lens").value == "off"
    assert without_lens.query_params.get("cvd", "off") == "off"  # published like every control
    assert any("color-vision lens" in m.value for m in without_lens.markdown)


def test_a_bad_lens_in_the_url_is_refused_with_a_notice():
    at = _open(cvd="red")
    notices = [w.value for w in (*at.warning, *at.sidebar.warning) if "`cvd=red`" in w.value]
    assert notices and "using cvd = off instead" in notices[0]
    assert at.selectbox(key="cvd_lens").value == "off"


def test_swatch_and_deck_builders_keep_their_text_and_read_out_true_and_seen_colors():
    from excolor.figures import swatches
    from excolor.figures.latents3d import latent_deck

    rng = np.random.default_rng(0)
    true = rng.random((4, 2, 3, 3))
    ev = type("Ev", (), {"swatch_true": true, "swatch_out": true * 0.9, "swatch_error": rng.random((4, 2, 3))})()
    chart, text = swatches.swatch_chart(ev)
    lensed, lensed_text = swatches.swatch_chart(ev, lens="protan")
    assert text == lensed_text
    assert "seen_true" in lensed.to_json() and "seen_true" not in chart.to_json()
    latents = rng.normal(size=(20, 4))
    latents /= np.linalg.norm(latents, axis=1, keepdims=True)
    rgb = rng.random((20, 3))
    (deck, text), (lensed, lensed_text) = latent_deck(latents, rgb, rgb), latent_deck(latents, rgb, rgb, lens="deutan")
    assert text == lensed_text and deck.to_json() != lensed.to_json()
    assert "{x}" in lensed._tooltip["text"] and "{sh}" in lensed._tooltip["text"]


def test_pure_red_through_the_protan_lens_is_a_dark_olive_with_green_s_hue():
    red, green = cvd.simulate_hex(["#ff0000", "#00ff00"], "protan")
    assert red == "#6d5f00" and abs(int(cvd.hue_deg(cvd.simulate(np.eye(3)[0], "protan"))) - 52) <= 1
    assert green.startswith("#ff")


def test_a_frozen_chart_carries_its_caption_as_its_accessible_name():
    from excolor.app.caches import FrozenChart

    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    assert FrozenChart(chart, "Two points.").spec["description"] == "Two points."
    described = chart.properties(description="Its own.")
    assert FrozenChart(described, "Two points.").spec["description"] == "Its own."
