"""Phone width: students follow a class demo on their phones. At 390 x 844 CSS px (touch, mobile browser) every
chart, 3-D view, table and formula of every page must fit the screen: nothing in the main area wider than the
viewport or sticking out past its right edge. Tables and formulas may scroll sideways inside their own box; the
box itself must fit.

Per page: the widest figure (metric phone_widest[<page>]) and a full screenshot
artifacts/screenshots/<page>-phone.png, to be looked at: fitting is necessary, legible is the goal.
"""

from __future__ import annotations

import pytest
from a11y import audit_page
from e2e_harness import PAGES, PHONE, AppPage, record_metric

pytestmark = pytest.mark.e2e

PAGE_IDS = [name for name, _ in PAGES]
SETTLE_MS = 800  # charts sized by their container redraw once the column's width is known
SWEEP = "?seeds=4"  # the evidence page's results are measured too: a small sweep has the same charts and tables
OPEN_3D = "?space=3d"  # these pages' 3-D views are a tab opened on demand: open it, so they are measured too
WITH_3D = {"reconstruction", "interventions"}


def show_sweep_results(tab: AppPage) -> None:
    """Start the evidence page's sweep if it waits for the button, and wait until its verdict is shown."""
    tab.start_and_wait_for("Train and compare", "Verdict")


@pytest.mark.parametrize(("name", "path"), PAGES, ids=PAGE_IDS)
def test_page_fits_a_phone(phone_tab: AppPage, name: str, path: str) -> None:
    tab = phone_tab
    path += SWEEP if name == "evidence" else OPEN_3D if name in WITH_3D else ""
    tab.goto(path)
    tab.wait_trained(path)
    if name == "evidence":
        show_sweep_results(tab)
    tab.wait_charts()
    tab.page.wait_for_timeout(SETTLE_MS)
    tab.assert_clean()
    found = tab.overflow()
    tab.screenshot(f"{name}-phone")
    record_metric(f"phone_widest[{name}]", found["widest"])
    assert found["viewport"] == PHONE["width"], f"the page is laid out {found['viewport']} px wide, not as a phone"
    offenders = "\n".join(
        f"  {o['what']}: <{o['tag']}> {o['width']} px wide, right edge at {o['right']} px" for o in found["offenders"]
    )
    assert not found["offenders"], f"{name}: wider than the {found['viewport']} px screen:\n{offenders}"
    assert found["pageScrollWidth"] <= found["viewport"] + 1, f"{name}: the page scrolls sideways {found}"
    violations = audit_page(tab, path)  # WCAG 2.1 A/AA at phone width, every expander and tab opened
    record_metric(f"axe[{name}-phone]", sum(v["nodes"] for v in violations))
    assert not violations, f"{name} at {PHONE['width']} px: axe-core violations {violations}"


@pytest.mark.parametrize(("name", "path"), PAGES, ids=PAGE_IDS)
def test_page_dark_phone_is_accessible(dark_phone_tab: AppPage, name: str, path: str) -> None:
    violations = audit_page(dark_phone_tab, path)
    record_metric(f"axe[{name}-dark-phone]", sum(v["nodes"] for v in violations))
    assert not violations, f"{name} at {PHONE['width']} px, dark: axe-core violations {violations}"
