"""What a page and a control move cost the browser: websocket bytes received and seconds until the page is quiet.

Bytes come from Chrome DevTools Protocol's `Network.webSocketFrameReceived` (Streamlit's frames are binary
protobuf, which CDP hands over base64-encoded: the decoded length is counted). Seconds come from the page's own
clock (e2e_harness.PAGE_CLOCK_JS): the later of its last document change and the end of its last long task, so the
waits' polling is not counted. Used by the byte-budget browser test and by bench_browser.py.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from e2e_harness import AppPage

# Controls a learner moves: sliders, toggles and checkboxes, segmented controls and pills, radios. A Vega-Lite
# chart's own slider (the replay) runs in the browser and sends nothing, so it is not listed here.
SLIDER = '[data-testid="stSlider"] :is(input[type="range"], [role="slider"])'
CONTROLS_JS = (
    """() => {
  const SLIDER = '"""
    + SLIDER
    + """';
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return [];
  const out = [];
  const label = el => {
    const box = el.closest('[data-testid="stSlider"], [data-testid="stCheckbox"], [data-testid="stButtonGroup"],'
      + ' [data-testid="stRadio"], [data-testid="stToggle"]');
    const l = box && box.querySelector('[data-testid="stWidgetLabel"]');
    return ((l && l.innerText) || el.getAttribute('aria-label') || '').trim().slice(0, 60);
  };
  const visible = el => el.getClientRects().length > 0;
  main.querySelectorAll(SLIDER).forEach((el, i) => {
    if (visible(el)) out.push({kind: 'slider', index: i, label: label(el)});
  });
  main.querySelectorAll('[data-testid="stCheckbox"] input, [data-testid="stToggle"] input').forEach((el, i) => {
    if (visible(el.closest('label') || el)) out.push({kind: 'toggle', index: i, label: label(el)});
  });
  main.querySelectorAll('[data-testid="stButtonGroup"]').forEach((el, i) => {
    if (visible(el)) out.push({kind: 'segmented', index: i, label: label(el)});
  });
  main.querySelectorAll('[data-testid="stRadio"]').forEach((el, i) => {
    if (visible(el)) out.push({kind: 'radio', index: i, label: label(el)});
  });
  return out;
}"""
)


class FrameCounter:
    """Sums the bytes of websocket frames a tab receives, from the moment it is attached."""

    def __init__(self, tab: AppPage):
        self.received = 0
        self.frames = 0
        session = tab.page.context.new_cdp_session(tab.page)
        session.send("Network.enable")
        session.on("Network.webSocketFrameReceived", self._on_frame)
        self._session = session

    def _on_frame(self, event: dict) -> None:
        response = event.get("response", {})
        data = response.get("payloadData", "")
        if response.get("opcode") == 2:  # binary: base64 in CDP
            self.received += len(base64.b64decode(data))
        else:
            self.received += len(data.encode())
        self.frames += 1

    def take(self) -> int:
        """Bytes received since the last take()."""
        n, self.received = self.received, 0
        return n


@dataclass
class Cost:
    what: str
    kb: float
    settled_s: float


def _quiet_since(tab: AppPage, start_epoch: float) -> float:
    clock = tab.page.evaluate("() => window.__excolorPageClock")
    return max(clock["lastChange"], clock["lastWorkEnd"]) / 1000 - start_epoch


def page_cost(tab: AppPage, counter: FrameCounter, path: str) -> Cost:
    """Open a page (the tab's first visit of a session) and wait until it is complete and quiet."""
    counter.take()
    start = time.time()
    tab.goto(path)
    tab.wait_trained(path)
    tab.wait_charts()
    tab.wait_idle(settle=1.0)
    return Cost(path, counter.take() / 1024, _quiet_since(tab, start))


def controls(tab: AppPage) -> list[dict]:
    return tab.page.evaluate(CONTROLS_JS)


def _move(tab: AppPage, control: dict) -> None:
    main = tab.page.locator('[data-testid="stMain"]')
    kind, i = control["kind"], control["index"]
    if kind == "slider":
        handle = main.locator(SLIDER).nth(i)
        start = handle.get_attribute("aria-valuetext") or handle.input_value()
        handle.focus()
        handle.press("ArrowRight")
        if (handle.get_attribute("aria-valuetext") or handle.input_value()) == start:  # at its maximum
            handle.press("ArrowLeft")
    elif kind == "toggle":
        box = main.locator('[data-testid="stCheckbox"] input, [data-testid="stToggle"] input').nth(i)
        box.locator("xpath=ancestor::label[1]").click()
    elif kind == "segmented":
        group = main.locator('[data-testid="stButtonGroup"]').nth(i)
        group.locator('button[role="radio"][aria-checked="false"]').first.click()  # the first option not chosen
    elif kind == "radio":
        options = main.locator('[data-testid="stRadio"]').nth(i).locator('[role="radiogroup"] label')
        for j in range(options.count()):
            if not options.nth(j).locator('input[type="radio"]').is_checked():
                options.nth(j).click()
                break


def control_cost(tab: AppPage, counter: FrameCounter, control: dict) -> Cost:
    """Move one control and wait until the page has run, redrawn and gone quiet."""
    tab.wait_idle(settle=0.5)
    counter.take()
    start = time.time()
    _move(tab, control)
    tab.page.wait_for_timeout(200)  # the rerun request leaves; an idle check before it would pass at once
    tab.wait_idle(settle=0.8)
    tab.wait_charts()
    name = f"{control['kind']} '{control['label']}'"
    return Cost(name, counter.take() / 1024, _quiet_since(tab, start))
