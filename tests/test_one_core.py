"""The server keeps its threads on one CPU core (excolor.app.warmup.keep_to_one_core): every thread that exists when
it is called and every thread started afterwards, unless EXCOLOR_ONE_CORE=0. Each case runs in a fresh interpreter,
so pytest's own process is never pinned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import json, os, threading
started = threading.Event()
earlier = threading.Thread(target=lambda: (started.set(), threading.Event().wait(30)), daemon=True)
earlier.start()
started.wait()
from excolor.app import warmup
cpu = warmup.keep_to_one_core()
later = {}
thread = threading.Thread(target=lambda: later.update(cpus=sorted(os.sched_getaffinity(0))))
thread.start()
thread.join()
tasks = [sorted(os.sched_getaffinity(int(tid))) for tid in os.listdir("/proc/self/task")]
print(json.dumps({"cpu": cpu, "tasks": tasks, "later": later["cpus"]}))
"""

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity: Linux only")


def run(one_core: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "EXCOLOR_ONE_CORE"}
    if one_core is not None:
        env["EXCOLOR_ONE_CORE"] = one_core
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_thread_before_and_after_runs_on_one_of_the_allowed_cores():
    allowed = sorted(os.sched_getaffinity(0))
    result = run(None)
    if len(allowed) < 2:  # nothing to choose between: left as it is
        assert result["cpu"] is None
        assert result["tasks"] == [allowed] * len(result["tasks"])
        return
    assert result["cpu"] in allowed
    assert len(result["tasks"]) >= 2  # the main thread and the one started before
    assert result["tasks"] == [[result["cpu"]]] * len(result["tasks"])
    assert result["later"] == [result["cpu"]]  # a thread started afterwards inherits it


def test_excolor_one_core_0_leaves_the_threads_to_the_os():
    allowed = sorted(os.sched_getaffinity(0))
    result = run("0")
    assert result["cpu"] is None
    assert result["tasks"] == [allowed] * len(result["tasks"])
    assert result["later"] == allowed
