"""A class in real browsers (issue 12): votes from three devices, the split a fourth sees after the reveal, the same
counts from the CLI after a server restart, and the training replay scrubbing in the browser without a script run.

These tests start their own servers with EXCOLOR_DATA_DIR in a temporary folder (the shared fixtures' server would
write into the repository's data/ folder). Screenshots of the tallies and the replay, light, dark and at phone
width, go to artifacts/screenshots/class-*.png.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

import pytest
from e2e_harness import REPO, SCREENSHOTS, VIEWPORT, AppPage, Server, record_metric

pytestmark = pytest.mark.e2e

CODE = "e2e-class-7"
PHONE = {"width": 390, "height": 844}
ANSWER = {
    "post": "Post-norm (Ex 2.4) will reconstruct better",
    "pre": "Pre-norm (Ex 2.3) will reconstruct better",
    "same": "No real difference",
}
VOTES = [["pre"], ["post", "same", "pre"], ["post"]]  # the second visitor changes its answer twice: 2 pre, 1 post


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "class-data"
    monkeypatch.setenv("EXCOLOR_DATA_DIR", str(folder))  # the servers started below inherit it
    return folder


def open_tab(browser, server: Server, viewport: dict = VIEWPORT, scheme: str = "light") -> tuple[object, AppPage]:
    """A new device: its own browser context, preferring the light or dark `scheme` (which the "system" server
    follows)."""
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    context.set_default_timeout(30_000)
    return context, AppPage(context.new_page(), server)


def answer(tab: AppPage, choice: str) -> None:
    """Click an option of the landing page's prediction and wait until the vote's confirmation is shown."""
    radio = tab.page.locator('[data-testid="stRadio"]').first
    radio.get_by_text(ANSWER[choice], exact=True).click()
    tab.page.wait_for_timeout(300)
    tab.wait_idle(timeout=60)
    tab.page.get_by_text(f"Counted in class {CODE}'s tally").wait_for(timeout=30_000)


def tally_caption(tab: AppPage, timeout: float = 60.0) -> str:
    """The class's tally caption, once the page has drawn it (it comes after the page's evaluations)."""
    deadline = time.perf_counter() + timeout
    while True:
        captions = tab.page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
        found = [c for c in captions if c.startswith(f"Class {CODE}")]
        if found or time.perf_counter() > deadline:
            break
        tab.page.wait_for_timeout(500)
    assert len(found) == 1, [c for c in captions if "class" in c.lower()] or captions
    return found[0]


def cli_tally() -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "excolor", "tally", "--class", CODE, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_three_devices_vote_a_fourth_sees_the_split_and_it_survives_a_restart(browser, data_dir):
    server = Server("system")  # each device's own light or dark preference: the screenshots show both
    server.start()
    contexts = []
    try:
        for choices in VOTES:
            context, tab = open_tab(browser, server)
            contexts.append(context)
            tab.goto(f"/?class={CODE}")
            tab.wait_idle(timeout=120)
            sidebar = tab.page.locator('[data-testid="stSidebar"]').inner_text()
            assert f"Class {CODE}" in sidebar and f"?class={CODE}" in sidebar
            for choice in choices:
                answer(tab, choice)
            tab.assert_clean()
        context, viewer = open_tab(browser, server)
        contexts.append(context)
        viewer.goto(f"/placement?class={CODE}")  # the reveal: the fourth visitor did not vote
        viewer.wait_trained(f"/placement?class={CODE}")
        viewer.wait_charts()
        caption = tally_caption(viewer)
        assert f"Class {CODE}, 3 votes." in caption
        assert "Post-norm better: 1 (33%); Pre-norm better: 2 (67%); No real difference: 0 (0%)." in caption
        viewer.assert_clean()
        before = cli_tally()
        shoot_the_tally_and_the_replay(browser, server)
    finally:
        for context in contexts:
            context.close()
        server.stop()
    assert before["questions"]["placement"] == {"post": 1, "pre": 2, "same": 0}

    server = Server("light")  # a restart: a new process on the same data folder
    server.start()
    try:
        context, viewer = open_tab(browser, server)
        viewer.goto(f"/placement?class={CODE}")
        viewer.wait_trained(f"/placement?class={CODE}")
        assert "Pre-norm better: 2 (67%)" in tally_caption(viewer)
        context.close()
    finally:
        server.stop()
    after = cli_tally()
    assert (
        after
        == before
        == {
            "class": CODE,
            "questions": {
                "placement": {"post": 1, "pre": 2, "same": 0},
                "interventions": {"suppression": 0, "repulsion": 0, "split": 0},
                "lab": {"all": 0, "most": 0, "half": 0, "few": 0},
            },
        }
    )
    record_metric("class_vote_after_restart", after["questions"]["placement"])


# --------------------------------------------------------------------------------------------- the replay

_WS_COUNTER_JS = """() => {
  // count the messages the page sends to the server from now on: a script run is requested by one
  if (window.__sent === undefined) {
    window.__sent = 0;
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (...args) { window.__sent += 1; return send.apply(this, args); };
  }
  window.__sent = 0;
}"""

_SET_RANGE_JS = """(input, value) => {
  input.value = String(value);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new Event('change', {bubbles: true}));
}"""


def replay_chart(tab: AppPage):
    charts = tab.page.locator('[data-testid="stVegaLiteChart"]')
    for i in range(charts.count()):
        if charts.nth(i).locator('input[type="range"]').count():
            return charts.nth(i)
    raise AssertionError("no Vega-Lite chart with a range input on the placement page")


def chart_image(chart):
    from PIL import Image

    canvas = chart.locator("canvas, svg").first
    return Image.open(io.BytesIO(canvas.screenshot(animations="disabled"))).convert("RGB")


def changed_fraction(a, b) -> float:
    from PIL import ImageChops

    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 24 else 0)
    return sum(diff.histogram()[255:]) / (a.width * a.height)


def test_the_replay_slider_redraws_the_points_in_the_browser_without_a_script_run(browser, data_dir):
    server = Server("light")
    server.start()
    context, tab = open_tab(browser, server)
    try:
        tab.goto("/placement")
        tab.wait_trained("/placement")
        tab.wait_charts()
        chart = replay_chart(tab)
        chart.scroll_into_view_if_needed()
        tab.page.wait_for_timeout(500)
        slider = chart.locator('input[type="range"]')
        last = int(slider.get_attribute("max"))
        assert int(slider.input_value()) == last
        final = chart_image(chart)
        tab.page.evaluate(_WS_COUNTER_JS)
        timings = []
        for value in (0, last // 2, last):
            start = time.perf_counter()
            slider.evaluate(_SET_RANGE_JS, value)
            tab.page.wait_for_timeout(400)
            timings.append(time.perf_counter() - start)
            if value == 0:
                untrained = chart_image(chart)
        back = chart_image(chart)
        sent = tab.page.evaluate("() => window.__sent")
        state = tab.page.evaluate(
            """() => document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state')"""
        )
        assert sent == 0, f"moving the replay slider sent {sent} message(s) to the server"
        assert state == "notRunning"
        moved = changed_fraction(final, untrained)
        assert moved > 0.01, f"only {moved:.2%} of the chart's pixels changed between the last and the first snapshot"
        assert changed_fraction(final, back) < 0.001  # back at the last snapshot: the same picture
        record_metric("replay_scrub", {"changed_pixels": round(moved, 4), "messages_to_server": sent})
        toggle = tab.page.get_by_text("Multiply each regularizer by its schedule weight")
        toggle.click()  # the control case: a server-side widget does send a rerun request
        tab.page.wait_for_timeout(400)
        assert tab.page.evaluate("() => window.__sent") > 0
        tab.wait_idle(timeout=60)
        tab.assert_clean()
    finally:
        context.close()
        server.stop()


# --------------------------------------------------------------------------------------------- screenshots


def _shoot(tab: AppPage, top, bottom, name: str) -> None:
    """The part of the screen from `top`'s upper edge to `bottom`'s lower edge (locators), full width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    top.evaluate("e => e.scrollIntoView({block: 'center'})")  # not 'start': Streamlit's header would cover it
    tab.page.wait_for_timeout(800)
    a, b = top.bounding_box(), bottom.bounding_box()
    size = tab.page.viewport_size
    y = max(a["y"] - 8, 0)
    clip = {"x": 0, "y": y, "width": size["width"], "height": min(b["y"] + b["height"] + 8, size["height"]) - y}
    tab.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), clip=clip, animations="disabled")


def shoot_the_tally_and_the_replay(browser, server: Server) -> None:
    """The revealed tally and the replay as four devices see them: light and dark, wide and phone (one server, each
    device's own preference), saved as artifacts/screenshots/class-{tally,replay}-{theme}-{width}.png."""
    for theme in ("light", "dark"):
        for width, viewport in (("wide", VIEWPORT), ("phone", PHONE)):
            context, tab = open_tab(browser, server, viewport, theme)
            try:
                tab.goto(f"/placement?class={CODE}")
                tab.wait_trained(f"/placement?class={CODE}")
                tab.wait_charts()
                tab.assert_clean()
                luminance = tab.background_luminance()
                assert luminance < 0.35 if theme == "dark" else luminance > 0.65, (theme, luminance)
                assert "Class" in tally_caption(tab)
                captions = tab.page.locator('[data-testid="stCaptionContainer"]')
                heading = tab.page.get_by_text(f"How class {CODE} predicted")
                _shoot(tab, heading, captions.filter(has_text=f"Class {CODE},"), f"class-tally-{theme}-{width}")
                chart = replay_chart(tab)
                _shoot(tab, chart, chart, f"class-replay-{theme}-{width}")
                if width == "phone":
                    box = chart.bounding_box()
                    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
                    record_metric(f"replay_chart_box[{theme}-phone]", {k: round(v) for k, v in box.items()})
            finally:
                context.close()
