"""A shared link is often the first thing a freshly (re)started server sees: Community Cloud wakes sleeping apps
on a visit, and teachers share deep links such as /interventions?seed=3. For every page, a brand-new server whose
very first session opens that page's URL must give the whole app: the shell's menu (the same as the root's),
the sidebar's seed taken from the link, background training, and no exception.
"""

from __future__ import annotations

import pytest
from e2e_harness import MENU, PAGES, VIEWPORT, AppPage, Server, record_metric

pytestmark = pytest.mark.e2e

PAGE_IDS = [name for name, _ in PAGES]
LINK_SEED = 3


@pytest.mark.parametrize(("name", "path"), PAGES, ids=PAGE_IDS)
def test_first_visitor_on_a_fresh_server_gets_the_full_app_from_a_deep_link(browser, name: str, path: str) -> None:
    server = Server("light")
    server.start()
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
    context.set_default_timeout(30_000)
    try:
        tab = AppPage(context.new_page(), server)
        tab.goto(f"{path}?seed={LINK_SEED}")
        tab.wait_idle(timeout=120)
        tab.assert_clean()  # no exception, no console error, the shell's title and menu
        assert tab.menu() == MENU
        seed = tab.page.locator('[data-testid="stSidebar"] [data-testid="stNumberInput"] input')
        assert seed.count() == 1 and seed.input_value() == str(LINK_SEED), "the link's seed is not in the sidebar"
        status = tab.page.locator('[data-testid="stSidebar"]').inner_text()
        shown = (f"seed {LINK_SEED}", "training", "starting", "waiting for the default")  # done, or on its way
        assert any(text in status.lower() for text in shown), status
        record_metric(f"deep_link_first_visit[{name}]", {"menu": len(tab.menu()), "seed": seed.input_value()})
    finally:
        context.close()
        server.stop()
