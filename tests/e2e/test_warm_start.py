"""The server warms up as it starts (excolor.app.warmup): with no visitor at all, `streamlit run app.py` trains
the default pair, and a visitor who comes later finds it trained: the pair is trained once, not again."""

from __future__ import annotations

import re
import time

import pytest
from e2e_harness import AppPage, Server, record_metric

pytestmark = pytest.mark.e2e

TRAINED = re.compile(r"excolor trained pre-s0-b64-\w+ post-s0-b64-\w+ in ([0-9.]+) s")


def test_the_server_trains_the_default_pair_before_anyone_visits(browser) -> None:
    server = Server("light")
    server.start()
    try:
        deadline = time.perf_counter() + 60
        while not TRAINED.search(server.log_tail(200)):  # nobody has connected: only the health check
            assert time.perf_counter() < deadline, f"no warm-up training within 60 s:\n{server.log_tail()}"
            time.sleep(0.2)
        record_metric("warm_start.trained_after_s", round(time.perf_counter() - server.started_at, 2))
        context = browser.new_context()
        try:
            tab = AppPage(context.new_page(), server)
            tab.goto("/placement")
            tab.wait_trained("/placement")
            tab.assert_clean()
            assert tab.training_status_complete() or tab.training_done()
        finally:
            context.close()
        assert len(TRAINED.findall(server.log_tail(400))) == 1, "the default pair was trained again"
    finally:
        server.stop()
