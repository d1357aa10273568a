"""Process tuning (excolor.tuning). The server keeps its threads on one CPU core (keep_to_one_core): every thread
that exists when it is called and every thread started afterwards, unless EXCOLOR_ONE_CORE=0; and tune_process,
called before PyTorch loads, gives every thread one PyTorch thread. Each case runs in a fresh interpreter, so
pytest's own process is never pinned or tuned."""

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
from excolor import tuning
cpu = tuning.keep_to_one_core()
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


TUNED = """
import json, threading
from excolor import tuning
tuning.tune_process()  # before anything imports torch, as the server's lifespan calls it
seen = {}

def session():  # a thread that loads torch later, like the warm-up or a page script
    import torch
    seen["thread"] = torch.get_num_threads()

thread = threading.Thread(target=session)
thread.start()
thread.join()
import os, torch
later = threading.Thread(target=lambda: seen.update(later=torch.get_num_threads()))  # like the trainer's worker
later.start()
later.join()
print(json.dumps({**seen, "main": torch.get_num_threads(), "onednn": os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"]}))
"""


def test_tune_process_gives_pytorch_one_thread_in_every_thread_started_later():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "ONEDNN_PRIMITIVE_CACHE_CAPACITY")}
    out = subprocess.run(
        [sys.executable, "-c", TUNED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"thread": 1, "later": 1, "main": 1, "onednn": "64"}
