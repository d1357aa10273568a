"""Issue 23's byte budgets, asserted: a page's first visit of a session receives at most PAGE_KB over the websocket,
and every control move on it at most MOVE_KB, on a warm server, at 1,400 px and on a 390 px phone.

Bytes are deterministic (the same code sends the same frames), so unlike the seconds they can be asserted; the
seconds are printed by bench_browser.py. The 3-D views are not counted: they are a tab a visitor opens on purpose
(a tab is not a control here, as in the benchmark). The lab's controls start training, so only its page is.
"""

from __future__ import annotations

import pytest
from browser_cost import FrameCounter, control_cost, controls, page_cost
from e2e_harness import PAGES, PHONE, VIEWPORT, AppPage

pytestmark = pytest.mark.e2e

PAGE_KB = 600
MOVE_KB = 100
TRAINS_ON_DEMAND = {"/evidence"}
# Still over budget (issue 23, open): the interventions page's placement control redraws every figure of both
# interventions for the other model (~151 KB). Its sliders are just under (~97-100 KB).
OVER = {"/interventions"}
DEVICES = {"desktop": (VIEWPORT, {}), "phone": (PHONE, dict(is_mobile=True, has_touch=True, device_scale_factor=2))}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="placement control over budget"))
        if p in OVER
        else p
        for _, p in PAGES
    ],
    ids=[name for name, _ in PAGES],
)
def test_a_first_visit_and_every_control_move_stay_within_budget(browser, server, device, path):
    viewport, options = DEVICES[device]
    context = browser.new_context(viewport=viewport, color_scheme=server.theme, **options)
    context.set_default_timeout(60_000)
    try:
        tab = AppPage(context.new_page(), server)
        counter = FrameCounter(tab)
        costs = [page_cost(tab, counter, path)]
        over = [f"page {path}: {costs[0].kb:.0f} KB > {PAGE_KB} KB"] if costs[0].kb > PAGE_KB else []
        if path not in TRAINS_ON_DEMAND:
            for control in controls(tab):
                cost = control_cost(tab, counter, control)
                costs.append(cost)
                if cost.kb > MOVE_KB:
                    over.append(f"{cost.what} on {path}: {cost.kb:.0f} KB > {MOVE_KB} KB")
        print("\n".join(f"{c.what}: {c.kb:.1f} KB, {c.settled_s:.2f} s" for c in costs))
        assert len(costs) > 1 or path in TRAINS_ON_DEMAND, "no control found: the page did not draw"
        assert not over, over
    finally:
        context.close()
