"""Issue 11's server budget, in a real browser on a server of its own: the cold start, then the peak RSS with every
page opened and one 32-seed comparison run on the lab page (64 models trained and measured).

A fresh server, not the shared one of test_browser.py, so the peak belongs to exactly this scenario whatever ran
before it. Run alone with `pytest tests/e2e/test_memory.py -s`; the numbers go to artifacts/e2e-metrics.json and
the end of pytest's output. A loaded machine changes the seconds, hardly the megabytes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from e2e_harness import PAGES, RENDER_TIMEOUT, AppPage, Server, record_metric

pytestmark = pytest.mark.e2e

COMPARISON_SEEDS = 32
PEAK_RSS_LIMIT_MB = 750  # issue 11: every page plus a 32-seed comparison
COLD_START_LIMIT_S = 120  # generous for a loaded machine; the number itself is what issue 11 judges (<= 5 s)


@pytest.fixture(scope="module")
def fresh_server(browser) -> Iterator[Server]:
    srv = Server("light")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def fresh_tab(browser, fresh_server) -> Iterator[AppPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="light")
    context.set_default_timeout(30_000)
    yield AppPage(context.new_page(), fresh_server)
    context.close()


def test_cold_start_fresh_server(fresh_tab: AppPage, fresh_server: Server) -> None:
    """Server start -> the placement page drawn with both default models trained (test_browser.py's measure)."""
    fresh_tab.goto("/placement")
    fresh_tab.wait_trained("/placement")
    fresh_tab.wait_charts()
    confirmed = round(time.perf_counter() - fresh_server.started_at, 2)
    seconds = round(fresh_tab.finished_s(), 2)
    record_metric("memory_scenario.cold_start_s", seconds)
    record_metric("memory_scenario.cold_start_confirmed_s", confirmed)
    record_metric("memory_scenario.after_cold_start", fresh_server.memory_mb())
    fresh_tab.assert_clean()
    assert seconds < COLD_START_LIMIT_S


def test_peak_rss_every_page_and_32_seed_comparison(fresh_tab: AppPage, fresh_server: Server) -> None:
    """Every page with the default recipes, then the lab's comparison of pre vs post on 32 seeds."""
    for name, path in PAGES:
        fresh_tab.goto(path)
        fresh_tab.wait_trained(path)
        fresh_tab.wait_charts()
        fresh_tab.assert_clean()
        memory = fresh_server.memory_mb()
        record_metric(f"memory_scenario.after_page[{name}]", memory)
    assert memory["peak_rss_mb"] <= PEAK_RSS_LIMIT_MB, memory  # after the last page: every page has been drawn

    start = time.perf_counter()
    fresh_tab.goto(f"/evidence?seeds={COMPARISON_SEEDS}")
    fresh_tab.wait_idle()
    button = fresh_tab.page.get_by_role("button", name=re.compile(rf"^Train and compare {COMPARISON_SEEDS} seeds"))
    assert button.count() == 1, f"no 'Train and compare {COMPARISON_SEEDS} seeds' button on the lab page"
    button.click()
    verdict = fresh_tab.page.get_by_role("heading", name="Verdict")
    verdict.wait_for(state="visible", timeout=RENDER_TIMEOUT * 1000)
    fresh_tab.wait_idle()  # (charts in the page's other tabs are not drawn until opened: no wait_charts here)
    fresh_tab.assert_clean()
    record_metric("memory_scenario.comparison_s", round(time.perf_counter() - start, 1))

    memory = fresh_server.memory_mb()
    record_metric("memory_scenario.after_comparison", memory)
    assert memory["peak_rss_mb"] <= PEAK_RSS_LIMIT_MB, memory
