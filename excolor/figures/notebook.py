"""The notebook's own numbers (SPEC §8), which pages show beside ours as a reference, not a target."""

from __future__ import annotations

import numpy as np

from ..interventions import Repulsion, Suppression
from ..text import fmt

# SPEC §8: what the notebook reported for its one training run, (placement, run) -> max and median dense-grid error.
# Seeds differ (its RNG streams cannot be replayed), so a page shows these beside ours as a reference, not a target.
NOTEBOOK = {
    ("post", "baseline"): {"max": 0.0011, "median": 1.5e-5},
    ("post", "suppression"): {"max": 0.16, "median": 2.0e-5},
    ("post", "repulsion"): {"max": 0.094, "median": 2.5e-5},
    ("pre", "baseline"): {"max": 0.0017, "median": 1.6e-5},
    ("pre", "suppression"): {"max": 0.19, "median": 1.9e-5},
    ("pre", "repulsion"): {"max": 0.12, "median": 1.9e-5},
}
NOTEBOOK_SOURCE = "one seed of the original pipeline"


def is_notebook_setting(intervention) -> bool:
    """Whether an intervention has the notebook's settings (SPEC §6), so its numbers compare with NOTEBOOK:
    suppression (a, b, p) = (0, 1, 2), repulsion (a, b) = (0, cos 60°). The baseline (None) always does."""
    if intervention is None:
        return True
    if isinstance(intervention, Suppression):
        f = intervention.falloff
        return bool(np.allclose([f.a, f.b, f.p], [0.0, 1.0, 2.0]))
    if isinstance(intervention, Repulsion):
        m = intervention.mapper
        return bool(np.allclose([m.a, m.b], [0.0, 0.5]))
    return False


def notebook_reference(placement: str, run: str, stat: str, intervention=None) -> str:
    """'Notebook: 0.0011 (one seed of the original pipeline)' for a headline metric, or '' when the notebook
    reported no such number (another design, ablation, or an intervention with other settings than its own)."""
    numbers = NOTEBOOK.get((placement, run))
    if numbers is None or stat not in numbers or not is_notebook_setting(intervention):
        return ""
    return f"Notebook: {fmt(numbers[stat])} ({NOTEBOOK_SOURCE})"
