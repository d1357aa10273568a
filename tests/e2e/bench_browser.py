"""The browser's cost of every page and every control move on a warm server (issue 23's measure).

    python tests/e2e/bench_browser.py                        # this checkout
    python tests/e2e/bench_browser.py --root /tmp/baseline   # another checkout, e.g. a baseline commit
    python tests/e2e/bench_browser.py --phone --json out.json

Starts `streamlit run app.py` from the checkout, trains the default pair (the warm server), then for each page
opens a fresh browser tab (a first visit of a session) and prints the websocket KB it received and the seconds
until it was quiet; then moves every slider, toggle, segmented control and radio on the page, one at a time, and
prints the same per move. Timings vary with the machine: compare checkouts side by side in one run, quietly.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e_harness  # noqa: E402
from browser_cost import FrameCounter, control_cost, controls, page_cost  # noqa: E402
from e2e_harness import CHROMIUM, CHROMIUM_ARGS, PAGES, PHONE, VIEWPORT, AppPage, Server  # noqa: E402

HEAVY = {"/evidence"}  # the lab trains on demand: its controls start training, not a redraw


def measure(root: Path, phone: bool, pages: list[tuple[str, str]]) -> dict:
    from playwright.sync_api import sync_playwright

    e2e_harness.REPO = root  # the server runs from this checkout
    server = Server("light")
    server.start()
    out = {"pages": [], "controls": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            device = dict(is_mobile=True, has_touch=True, device_scale_factor=2) if phone else {}
            warm = browser.new_context(viewport=VIEWPORT)
            tab = AppPage(warm.new_page(), server)
            tab.goto("/placement")
            tab.wait_trained("/placement")  # the warm server: the default pair trained and evaluated
            warm.close()
            for _name, path in pages:
                context = browser.new_context(viewport=PHONE if phone else VIEWPORT, **device)
                context.set_default_timeout(60_000)
                tab = AppPage(context.new_page(), server)
                counter = FrameCounter(tab)
                cost = page_cost(tab, counter, path)
                out["pages"].append({"page": path, "kb": round(cost.kb, 1), "settled_s": round(cost.settled_s, 2)})
                print(f"page {path:18s} {cost.kb:8.1f} KB  {cost.settled_s:5.2f} s", flush=True)
                if path not in HEAVY:
                    for control in controls(tab):
                        cost = control_cost(tab, counter, control)
                        row = {"page": path, "control": cost.what, "kb": round(cost.kb, 1)}
                        row["settled_s"] = round(cost.settled_s, 2)
                        out["controls"].append(row)
                        print(f"  {cost.what[:50]:50s} {cost.kb:8.1f} KB  {cost.settled_s:5.2f} s", flush=True)
                context.close()
            browser.close()
    finally:
        server.stop()
    moves = out["controls"]
    if moves:
        out["controls_median_s"] = statistics.median(m["settled_s"] for m in moves)
        out["controls_max_kb"] = max(m["kb"] for m in moves)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=e2e_harness.REPO, help="the checkout to serve")
    parser.add_argument("--phone", action="store_true", help="390 px phone viewport")
    parser.add_argument("--page", action="append", help="only these url paths (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    pages = [(n, p) for n, p in PAGES if not args.page or p in args.page]
    out = measure(args.root.resolve(), args.phone, pages)
    print(f"controls: median settle {out.get('controls_median_s')} s, largest {out.get('controls_max_kb')} KB")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
