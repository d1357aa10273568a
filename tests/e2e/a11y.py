"""Accessibility checks in the browser: axe-core's WCAG 2.1 A/AA rules on a fully opened page.

axe-core comes bundled in the `axe-playwright-python` package (requirements-dev.txt); nothing is downloaded at
test time. Run alone for a table: `python tests/e2e/a11y.py` (every page, light and dark, 1,400 and 390 px).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_harness import AppPage  # noqa: E402

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

OPEN_EVERYTHING_JS = """() => {
  for (const d of document.querySelectorAll('[data-testid="stExpander"] details:not([open])')) d.open = true;
}"""


def open_everything(tab: AppPage) -> None:
    """Open every expander (tabs are checked one by one by the caller: only one tab panel shows at a time)."""
    for summary in tab.page.locator('[data-testid="stExpander"] details:not([open]) > summary').all():
        with contextlib.suppress(Exception):  # a rerun replaced it: the script below opens the new one
            summary.click(timeout=2_000)
    tab.page.evaluate(OPEN_EVERYTHING_JS)
    tab.page.wait_for_timeout(300)


def violations(tab: AppPage) -> list[dict]:
    """axe-core's violations of the WCAG 2.1 A/AA rules on the page as it is now: [{id, impact, nodes, sample}]."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    found = Axe().run(tab.page, options=options).response["violations"]
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": len(v["nodes"]),
            "sample": [(n["target"], n.get("failureSummary", "")[:160]) for n in v["nodes"][:3]],
        }
        for v in found
    ]


def tab_names(tab: AppPage) -> list[str]:
    return tab.page.locator('[data-testid="stMain"] [role="tab"]').all_inner_texts()


def audit_page(tab: AppPage, path: str) -> list[dict]:
    """Violations on a page with every expander open, in each of its tabs (a tab's panel is checked while shown)."""
    tab.goto(path)
    tab.wait_trained(path)
    tab.wait_charts()
    open_everything(tab)
    found = violations(tab)
    tabs = tab.page.locator('[data-testid="stMain"] [role="tab"]')
    for i in range(tabs.count()):
        if tabs.nth(i).get_attribute("aria-selected") == "true" or not tabs.nth(i).is_visible():
            continue  # open already, or inside a closed tab (checked when its parent tab is open)
        tabs.nth(i).click()
        tab.wait_idle(settle=0.3)
        tab.wait_charts()
        open_everything(tab)
        found += [v for v in violations(tab) if v["id"] not in {f["id"] for f in found}]
    return found


def main() -> int:
    from e2e_harness import CHROMIUM, CHROMIUM_ARGS, PAGES, PHONE, VIEWPORT, Server
    from playwright.sync_api import sync_playwright

    server = Server("system")
    server.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for scheme in ("light", "dark"):
                for viewport in (VIEWPORT, PHONE):
                    for _name, path in PAGES:
                        context = browser.new_context(viewport=viewport, color_scheme=scheme)
                        context.set_default_timeout(60_000)
                        tab = AppPage(context.new_page(), server)
                        found = audit_page(tab, path)
                        total = sum(v["nodes"] for v in found)
                        rules = ", ".join(f"{v['id']}×{v['nodes']}" for v in found)
                        print(f"{scheme:5s} {viewport['width']:4d}px {path:16s} {total:3d}  {rules}", flush=True)
                        context.close()
            browser.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
