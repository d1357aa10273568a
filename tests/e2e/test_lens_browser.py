"""Issue 25 in a real browser: charts named by their descriptions, and the color-vision lens on the
reconstruction page (one screenshot per deficiency, saved for a person to look at)."""

from __future__ import annotations

import pytest
from e2e_harness import AppPage

pytestmark = pytest.mark.e2e

KINDS = ("protan", "deutan", "tritan")


def test_a_chart_is_named_by_its_description(tab: AppPage) -> None:
    """Vega renders the spec's description (the caption below the chart) as the aria-label of the chart's
    element (role graphics-document, Streamlit's stVegaLiteChart itself)."""
    tab.render("/reconstruction")
    named = tab.page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"][aria-label],'
               + ' [data-testid="stVegaLiteChart"] [aria-label]')]
             .map(e => ({role: e.getAttribute('role'), label: e.getAttribute('aria-label')}))"""
    )
    captions = tab.page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
    swatches = next(c for c in captions if c.startswith("Swatches of 768 colors"))
    documents = [n for n in named if n["role"] == "graphics-document"]
    assert documents, named[:5]
    assert any(n["label"] == swatches for n in documents), [n["label"][:60] for n in documents]
    tab.assert_clean()


@pytest.mark.parametrize("kind", KINDS)
def test_the_lens_draws_the_reconstruction_page_as_that_viewer_sees_it(tab: AppPage, kind: str) -> None:
    tab.render(f"/reconstruction?cvd={kind}&space=3d")
    tab.page.locator('[data-testid="stDeckGlJsonChart"]').first.wait_for(timeout=60_000)
    tab.wait_idle()
    tab.wait_charts()
    assert f"cvd={kind}" in tab.page.url
    assert tab.page.get_by_text("Machado, Oliveira & Fernandes (2009)").count() >= 1
    tab.screenshot(f"reconstruction-cvd-{kind}")
    tab.assert_clean()
