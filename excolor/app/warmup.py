"""Warming the server up as it starts, so the first visitor after a (re)start waits less.

Streamlit runs nothing of an app until a browser connects: the first visitor's page would load PyTorch (~0.9 s),
pandas and Altair (~0.5 s), then train the default pair and measure it, while the visitor waits. An st.App's
lifespan is the one place that runs when the server starts: `streamlit run app.py` finds the st.App that app.py
creates when it is imported as a module (never when it runs as the landing page), serves it, and enters
`lifespan` before answering any request. The lifespan starts one background thread and returns at once, so the
server answers while the thread works, in the second or so the browser spends loading Streamlit's frontend:

1. the process settings of excolor.app.shell, then PyTorch and the app's modules;
2. training the default pair (seed 0, Ex 2.4's schedule) on the board: the pair every page shows first, and the
   pair the board keeps anyway (it is pinned);
3. measuring both on the dense grid and the validation set, as the placement page does first.

Nothing is stored on disk and nothing is done twice: a visitor's page that needs any of it meanwhile waits on the
same work (Python's import lock, the board's entries, the caches' per-key locks). Measured with
`python tests/e2e/bench_cold_start.py` (server start to the placement page finished): the closing note of issue 11.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import asynccontextmanager, suppress

from . import shell  # noqa: F401  (its process settings must come before PyTorch loads)

log = logging.getLogger("excolor.app")

ONE_CORE_ENV = "EXCOLOR_ONE_CORE"  # "0": leave the server's threads wherever the OS puts them


def _current_cpu() -> int:
    """The CPU this thread last ran on: field 39 of its stat file (the fields after the name start at 3).
    /proc/thread-self, not /proc/self, which reads the main thread's."""
    with open("/proc/thread-self/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[36])


def keep_to_one_core() -> int | None:
    """Keep every thread of this server on one CPU core (the one it runs on now); returns it, or None if nothing
    was changed (one core only, not Linux, EXCOLOR_ONE_CORE=0, or the OS said no).

    Why: the server's threads share one GIL, and the trainer gives it up around each of its ~190 PyTorch calls per
    training step. On two or more cores, each time it does, a thread waiting on another core (a page script, the
    warm-up's imports) takes the GIL and holds it for up to the switch interval (5 ms) while the trainer, its call
    done after a few microseconds, waits: the trainer crawls while anything else runs Python. On one core the OS
    switches threads only at its own time slices, so the trainer keeps the GIL from one call to the next. Measured
    on a 2-core machine that also runs the browser: the default pair trained in 1.9-2.3 s during a cold start
    instead of 0.95 s alone, and in 0.8-1.3 s with the server on one core; the cold start (server start to the
    placement page drawn) went from a median of 8.72 s to 7.78 s over six alternating starts each. What it gives up:
    a big evaluation's kernels (which run without the GIL) no longer overlap other threads' Python on a second
    core. In the load tests, two runs each: the class's cached pages p50 1.70 and 1.95 s -> 1.06 and 1.79 s, p95
    3.41 and 3.52 s -> 2.24 and 3.07 s; the queue's comparisons under load took about as long (32 seeds: 37.0 and
    39.6 s -> 39.4 and 34.0 s). PyTorch runs on one thread here anyway (torch.set_num_threads(1)), and Community
    Cloud gives an app one CPU. Threads started later inherit the setting from the thread that starts them."""
    if os.environ.get(ONE_CORE_ENV, "1") == "0" or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        allowed = os.sched_getaffinity(0)
        if len(allowed) < 2:
            return None
        cpu = _current_cpu()
        cpu = cpu if cpu in allowed else min(allowed)
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except (OSError, ValueError, IndexError):
        return None
    for tid in threads:
        with suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(tid, {cpu})
    return cpu


def warm_up(cpu: int | None = None) -> None:
    """Import, train and measure the default pair (see the module docstring); a failure is logged, not raised:
    the first visitor then does the same work, as without a warm-up. `cpu`: the core keep_to_one_core chose."""
    try:
        import torch

        torch.set_num_threads(1)
        from . import board  # (its trainer sets up the log's handler)

        if cpu is not None:
            log.info("the server's threads run on CPU %d (%s=0 leaves them to the OS)", cpu, ONE_CORE_ENV)

        entries = board.board().request(board.default_recipes())  # creating the board starts the training
        from excolor.figures import (  # noqa: F401  (what the pages import)
            comparison,
            diagrams,
            error_curves,
            intervention_notes,
            latents3d,
            mappings,
            named_colors,
            notebook,
            regularizers,
            replay,
            schedule_curves,
            swatches,
            training_curves,
        )

        from . import caches, classroom, divergence, downloads, urlstate, visitor  # noqa: F401

        for entry in entries:
            entry.done.wait()
            if entry.run is not None:  # what the placement page reads first, from the same caches
                divergence.evaluation(entry.run)
                caches.validation(entry.run)
    except Exception:  # a warm-up must never take the server down
        log.exception("warming up failed; the first visitor's page does the work instead")


@asynccontextmanager
async def lifespan(app):
    """st.App's lifespan: keep the server on one core, start warming up in the background and let the server answer
    at once."""
    cpu = keep_to_one_core()
    threading.Thread(target=warm_up, args=(cpu,), name="excolor-warm-up", daemon=True).start()
    yield
