"""Browser end-to-end fixtures (the harness is in e2e_harness.py): one real server per theme, one browser.

Skips, with the reason, when /usr/bin/chromium or the playwright package is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    METRICS,
    METRICS_FILE,
    PHONE,
    REPO,
    SCREENSHOTS,
    VIEWPORT,
    AppPage,
    Server,
    record_metric,
)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not METRICS:
        return
    terminalreporter.section("excolor e2e metrics")
    for name, value in sorted(METRICS.items()):
        terminalreporter.write_line(f"{name}: {value}")
    terminalreporter.write_line(f"(also in {METRICS_FILE.relative_to(REPO)})")


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium not installed: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed: pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _new_tab(browser, server: Server, viewport: dict = VIEWPORT, **device) -> tuple[object, AppPage]:
    context = browser.new_context(viewport=viewport, color_scheme=server.theme, **device)  # the server's theme
    context.set_default_timeout(30_000)
    return context, AppPage(context.new_page(), server)


def _start(theme: str) -> Server:
    server = Server(theme)
    server.start()
    record_metric(f"server_up_s[{theme}]", round(time.perf_counter() - server.started_at, 2))
    return server


@pytest.fixture(scope="session")
def server(browser) -> Iterator[Server]:
    """The light-theme server, with its cold start measured on the first visit."""
    srv = _start("light")
    context, tab = _new_tab(browser, srv)
    try:
        tab.goto("/placement")
        tab.wait_trained("/placement")
        tab.wait_charts()
        observed = time.perf_counter() - srv.started_at  # when the waits confirmed it (polling, 0.6 s settle)
        record_metric("cold_start_s", round(tab.finished_s(), 2))  # when the page was finished (its own clock)
        record_metric("cold_start_confirmed_s", round(observed, 2))
        record_metric("cold_start_training_s", tab.training_seconds())  # the part spent training, per the page
        problems = tab.errors + tab.shell_problems() + ([tab.exception_text()] if tab.exception_text() else [])
        record_metric("cold_start_page_errors", problems)
    except Exception as err:  # reported by test_cold_start; the other tests still run on this server
        record_metric("cold_start_s", None)
        record_metric("cold_start_error", f"{type(err).__name__}: {err}"[:2000])
    finally:
        context.close()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def dark_server(browser) -> Iterator[Server]:
    srv = _start("dark")
    yield srv
    srv.stop()


PHONE_DEVICE = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}  # a touch phone, twice the density


def _tab_on(request, browser, server: Server, viewport: dict = VIEWPORT, **device) -> Iterator[AppPage]:
    """A fresh browser tab on `server`; on failure its screenshot is kept (see _keep_failure)."""
    context, app_page = _new_tab(browser, server, viewport, **device)
    yield app_page
    _keep_failure(request, app_page)
    context.close()


@pytest.fixture
def tab(request, browser, server) -> Iterator[AppPage]:
    yield from _tab_on(request, browser, server)


@pytest.fixture
def phone_tab(request, browser, server) -> Iterator[AppPage]:
    """A touch phone on the light server: 390 x 844 CSS px at twice the pixel density, a mobile browser."""
    yield from _tab_on(request, browser, server, PHONE, **PHONE_DEVICE)


@pytest.fixture
def dark_phone_tab(request, browser, dark_server) -> Iterator[AppPage]:
    yield from _tab_on(request, browser, dark_server, PHONE, **PHONE_DEVICE)


@pytest.fixture
def dark_tab(request, browser, dark_server) -> Iterator[AppPage]:
    yield from _tab_on(request, browser, dark_server)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


def _keep_failure(request, app_page: AppPage) -> None:
    """What the browser showed when a test failed: artifacts/screenshots/FAILED-<test>.png."""
    if not getattr(request.node, "e2e_failed", False):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = "FAILED-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
    try:
        app_page.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    except Exception as err:  # a failure screenshot must not hide the failure itself
        print(f"no failure screenshot: {err}")
