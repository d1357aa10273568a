"""A keyboard walk: press Tab through a page and note every stop and whether it shows where the focus is.

A stop shows its focus when the focused element, or one of its two nearest ancestors (Streamlit draws some rings on a
wrapper), has a visible outline or a box shadow while focused. Run alone: `python tests/e2e/keyboard.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_harness import AppPage  # noqa: E402

FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const shows = e => {
    const s = getComputedStyle(e);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1;
    return outline || (s.boxShadow && s.boxShadow !== 'none');
  };
  let visible = false;
  for (let e = el, i = 0; e && i < 3 && !visible; e = e.parentElement, i++) visible = shows(e);
  const box = el.getBoundingClientRect();
  const label = (el.getAttribute('aria-label') || el.innerText || el.getAttribute('data-testid') || el.tagName)
    .trim().slice(0, 50);
  return {key: el.tagName + '|' + label + '|' + Math.round(box.left) + ',' + Math.round(box.top + scrollY),
          tag: el.tagName.toLowerCase(), role: el.getAttribute('role'), label, visible,
          inMain: !!el.closest('[data-testid="stMain"]'), skip: el.matches('a.excolor-skip')};
}"""


def walk(tab: AppPage, presses: int = 80) -> list[dict]:
    """Tab `presses` times from the top of the page; the distinct stops in the order reached."""
    tab.page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen, stops = set(), []
    for _ in range(presses):
        tab.page.keyboard.press("Tab")
        stop = tab.page.evaluate(FOCUS_JS)
        if stop and stop["key"] not in seen:
            seen.add(stop["key"])
            stops.append(stop)
    return stops


def main() -> int:
    from e2e_harness import CHROMIUM, CHROMIUM_ARGS, PAGES, VIEWPORT, Server
    from playwright.sync_api import sync_playwright

    server = Server("system")
    server.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _name, path in PAGES:
                context = browser.new_context(viewport=VIEWPORT)
                tab = AppPage(context.new_page(), server)
                tab.goto(path)
                tab.wait_trained(path)
                stops = walk(tab)
                hidden = [s["label"] or s["tag"] for s in stops if not s["visible"]]
                first = stops[0]["label"] if stops else None
                print(f"{path:16s} {len(stops):3d} stops, {len(hidden):3d} without a visible focus; first: {first!r}")
                print("   hidden:", hidden[:12])
                context.close()
            browser.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
