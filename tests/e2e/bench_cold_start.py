"""Where a cold start's seconds go: `python tests/e2e/bench_cold_start.py [--repeat N] [--path /placement]`.

Starts a fresh `streamlit run app.py` (the e2e harness's server) N times and opens the page in headless Chromium,
printing for each start the seconds from the server's start to: /_stcore/health answering, the page's HTML
loaded, the shell's menu drawn (first paint), the page idle with training done (after 0.6 s of quiet), every chart
drawn as the waits confirmed it, and when the page was finished by its own clock (the browser tests' cold start,
see e2e_harness.PAGE_CLOCK_JS). `training_s` is what the page's status reports; RSS is the server's after the visit.
A loaded machine stretches every number: run it several times and say how loaded the machine was.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_harness import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, AppPage, Server  # noqa: E402

MENU_DRAWN_JS = '() => !!document.querySelector(\'[data-testid="stSidebar"] [data-testid="stPageLink"]\')'


def one_cold_start(browser, path: str) -> dict[str, float | None]:
    server = Server("light")
    server.start()
    marks = {"health_s": time.perf_counter() - server.started_at}
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
    try:
        tab = AppPage(context.new_page(), server)
        tab.goto(path)
        marks["html_s"] = time.perf_counter() - server.started_at
        tab.page.wait_for_function(MENU_DRAWN_JS, timeout=120_000, polling=50)
        marks["menu_s"] = time.perf_counter() - server.started_at
        tab.wait_trained(path)
        marks["idle_trained_s"] = time.perf_counter() - server.started_at
        tab.wait_charts()
        marks["confirmed_s"] = time.perf_counter() - server.started_at  # the waits confirmed the page complete
        marks["finished_s"] = tab.finished_s()  # = the browser tests' cold_start_s: the page's own clock
        marks["training_s"] = tab.training_seconds()
        marks["rss_mb"] = server.memory_mb()["rss_mb"]
        marks["peak_rss_mb"] = server.memory_mb()["peak_rss_mb"]
    finally:
        context.close()
        server.stop()
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--path", default="/placement")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(args.repeat):
            marks = one_cold_start(browser, args.path)
            results.append(marks)
            print(f"start {i + 1}: " + "  ".join(f"{k} {v:.2f}" for k, v in marks.items() if v is not None), flush=True)
        browser.close()
    median = {k: statistics.median(r[k] for r in results if r[k] is not None) for k in results[0]}
    print("median:  " + "  ".join(f"{k} {v:.2f}" for k, v in median.items()))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
