"""The server's memory settings (issue 11): freed big blocks go back to the system, and the caches' budgets.

For the allocator, each case runs in a fresh interpreter, so glibc's thresholds start from its defaults: a freed
20 MB block first raises them (what a running server's big temporaries do), then a 12 MB block is allocated,
written and freed.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import sys
from pathlib import Path
import numpy as np

def rss_mb():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
    return int(line.split()[1]) / 1024

big = np.ones(20 << 20, np.uint8)
del big
if sys.argv[1] == "tuned":
    import excolor.tuning
    excolor.tuning.tune_process()
before = rss_mb()
block = np.ones(12 << 20, np.uint8)
del block
print(rss_mb() - before)
"""

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def kept_mb(mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator on Linux only")
def test_tune_process_makes_glibc_return_a_freed_12_mb_block():
    assert kept_mb("plain") > 10  # glibc's default after a 20 MB block: the 12 MB stay in the process
    assert kept_mb("tuned") < 2  # with tune_process's settings they go back at once


def test_the_cache_budgets_rest_on_the_entries_real_sizes(default_probe):
    """caches keeps as many probes, evaluations and latent views as fit a budget in MB, by each entry's size: the
    sizes it assumes must be what an entry really holds (within 10% above, so the budget is not a fiction)."""
    from excolor.app import caches
    from excolor.evaluate import evaluate
    from excolor.figures.latents3d import VIEWS, evaluation_deck
    from excolor.interventions import default_interventions

    mb = 2**20
    encoded = (default_probe.dense, default_probe.swatch, default_probe.rgb, default_probe.named)
    tensors = [t for enc in encoded for t in (enc.unit, enc.output, enc.error) if t is not None]
    probe_mb = sum(t.numel() * t.element_size() for t in tensors) / mb
    assert probe_mb <= caches.PROBE_MB < 1.1 * probe_mb

    ev = evaluate(default_probe, default_interventions()["suppression"])
    shared = ("swatch_true", "rgb_true")  # the grids' own arrays, the same object in every evaluation
    arrays = [v for k, v in vars(ev).items() if isinstance(v, np.ndarray) and k not in shared]
    arrays += [v for v in vars(ev.curves).values() if isinstance(v, np.ndarray)]
    evaluation_mb = sum(a.nbytes for a in arrays) / mb
    assert evaluation_mb <= caches.EVALUATION_MB < 1.1 * evaluation_mb

    deck, _ = evaluation_deck(ev, VIEWS[0], default_interventions()["suppression"], size=420)
    deck_mb = len(caches.FrozenDeck(deck).to_json()) / mb
    assert deck_mb <= caches.DECK_MB < 1.1 * deck_mb
