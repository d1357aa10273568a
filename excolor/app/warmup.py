"""Warming the server up as it starts, so the first visitor after a (re)start waits less.

Streamlit runs nothing of an app until a browser connects: the first visitor's page would load PyTorch, pandas and
Altair, then train the default pair and measure it, while the visitor waits. An st.App's lifespan is the one place
that runs when the server starts: `streamlit run app.py` finds the st.App that app.py creates when it is imported
as a module (never when it runs as the landing page), serves it, and enters `lifespan` before answering any
request. The lifespan tunes the process (excolor.tuning), starts one background thread and returns at once, so
the server answers while the thread works, in the second or so the browser spends loading Streamlit's frontend:

1. PyTorch and the app's modules;
2. training the default pair (seed 0, Ex 2.4's schedule) on the training queue: the pair every page shows first,
   and the pair the queue keeps anyway (it is pinned);
3. measuring both on the dense grid and the validation set, as the placement page does first.

Nothing is stored on disk and nothing is done twice: a visitor's page that needs any of it meanwhile waits on the
same work (Python's import lock, the queue's entries, the caches' per-key locks). Cold-start timings:
docs/performance.md.
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from excolor import tuning

log = logging.getLogger("excolor.app")


def warm_up(cpu: int | None = None) -> None:
    """Import, train and measure the default pair (see the module docstring); a failure is logged, not raised:
    the first visitor then does the same work, as without a warm-up. `cpu`: the core keep_to_one_core chose."""
    try:
        from . import training  # (its trainer sets up the log's handler)

        if cpu is not None:
            log.info("the server's threads run on CPU %d (%s=0 leaves them to the OS)", cpu, tuning.ONE_CORE_ENV)

        entries = training.queue().request(training.default_recipes())  # creating the queue starts the training
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
    """st.App's lifespan: tune the process before anything loads PyTorch, keep the server on one core, start
    warming up in the background and let the server answer at once."""
    tuning.tune_process()
    cpu = tuning.keep_to_one_core()
    threading.Thread(target=warm_up, args=(cpu,), name="excolor-warm-up", daemon=True).start()
    yield
