"""What a careful learner trips on, checked in a real browser (issue 24): the replay slider reads in the steps its
titles show, the sidebar's link follows a control that reruns only its fragment, and the factorial screen's charts
keep their legends and axis titles inside the chart at 1,400 px and at 390 px."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_harness import PHONE, VIEWPORT, AppPage

pytestmark = pytest.mark.e2e


def test_the_replay_slider_shows_the_step_its_titles_show(tab: AppPage) -> None:
    """Item 11: the chart's own slider is in training steps; wherever it is put, both titles say that step."""
    tab.render("/placement")
    slider = tab.page.locator('[data-testid="stVegaLiteChart"] input[type="range"]')
    assert slider.count() == 1, "no range input under the replay chart"
    assert slider.first.input_value() == "3000"
    for step in ("1000", "0", "2950"):
        slider.first.evaluate(
            "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }", step
        )
        tab.page.wait_for_timeout(500)
        assert slider.first.input_value() == step
        titles = tab.page.locator('[data-testid="stVegaLiteChart"] svg text').evaluate_all(
            "els => els.map(e => e.textContent || '')"
        )
        shown = [t for t in titles if " · step " in t]
        assert len(shown) == 2 and all(t.endswith(f"step {int(step):,}") for t in shown), shown
        assert sum("pure red" in t and "° from the red direction" in t for t in titles) == 2, titles


def test_the_sidebar_link_follows_a_control_inside_a_fragment(tab: AppPage) -> None:
    """Item 12: the weighted toggle reruns only its fragment; the sidebar's relative link still says weighted=1."""
    tab.render("/placement")
    toggle = tab.page.get_by_text("Multiply each regularizer by its schedule weight", exact=False)
    assert toggle.count() >= 1, "no 'weighted' toggle on the placement page"
    for expected in ("1", "0"):
        toggle.first.click()
        deadline = time.perf_counter() + 30
        while parse_qs(urlsplit(tab.page.url).query).get("weighted") != [expected]:
            assert time.perf_counter() < deadline, f"the address bar never said weighted={expected}: {tab.page.url}"
            tab.page.wait_for_timeout(200)
        tab.wait_idle()
        link = tab.page.locator('[data-testid="stSidebar"] code').filter(has_text="?").all_inner_texts()
        assert link, "no relative link in the sidebar"
        assert parse_qs(link[-1].lstrip("?")) == parse_qs(urlsplit(tab.page.url).query), (link, tab.page.url)


def _train_the_smallest_screen(tab: AppPage) -> None:
    """The lab's screen tab with 2 seeds (16 models), trained (or reused) and shown."""
    tab.render("/evidence")
    tab.page.get_by_role("tab", name=re.compile("factorial screen")).click()
    tab.wait_idle()
    slider = tab.page.locator('[data-testid="stMain"] [data-testid="stSlider"]').filter(has_text="Seeds for the screen")
    thumb = slider.get_by_role("slider")
    thumb.focus()
    for _ in range(4):
        tab.page.keyboard.press("ArrowLeft")
    tab.wait_idle()
    shown = slider.locator('[data-testid="stSliderThumbValue"]').inner_text().strip()
    assert shown == "2", f"the screen's seed slider shows {shown}"
    tab.start_and_wait_for("Train the screen", "Which term matters?")
    tab.wait_charts()
    tab.page.wait_for_timeout(800)  # charts sized by their container redraw once the column's width is known


@pytest.mark.parametrize("width", [VIEWPORT["width"], PHONE["width"]])
def test_the_screen_charts_keep_their_words_inside(request, browser, server, width: int) -> None:
    """Item 10: no legend entry or axis title of the factorial screen's charts is cut off, on a projector or a
    phone (the overflow check measures every SVG chart's content against its own width)."""
    context = browser.new_context(viewport={"width": width, "height": 1000}, color_scheme=server.theme)
    context.set_default_timeout(30_000)
    tab = AppPage(context.new_page(), server)
    try:
        _train_the_smallest_screen(tab)
        tab.assert_clean()
        found = tab.overflow()
        tab.screenshot(f"evidence-screen-{width}")
        cut = [o for o in found["offenders"] if "cut off" in o["what"] or o["right"] > found["viewport"] + 1]
        assert not cut, f"at {width} px: " + "; ".join(f"{o['what']} ({o['width']} px)" for o in cut)
    finally:
        context.close()
