"""A diverged run on a page: its training message where the page gets its runs, a short note in place of each of
its figures, and every other run drawn as usual.

A run diverges when its loss stops being a finite number (excolor.train.Divergence says at which step and which
term); its weights are NaN from then on. The science and figure builders survive that (they count the missing
numbers), but a swatch of grey squares or an empty 3-D view teaches nothing: the page says why there is no
picture instead.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

import streamlit as st

from excolor.evaluate import Evaluation
from excolor.train import Recipe, TrainedRun

from . import caches, training


def message(run: TrainedRun) -> str:
    """The training message pages show for a diverged run: whose, at which step, which term."""
    return f"{run.recipe.design.label}: {run.diverged}."


def note(run: TrainedRun) -> str:
    """What stands in place of a figure of a diverged run."""
    d = run.diverged
    return (
        f"{run.recipe.design.label} diverged at step {d.step:,} (its {d.term} term became NaN or infinite): "
        "nothing to draw."
    )


def evaluation(run: TrainedRun) -> Evaluation:
    """The run's (cached) evaluation as pages report it: a diverged run's max and median error, selectivity and
    collateral damage are NaN (shown n/a, never put to a verdict or a vote), even when training stopped before its
    first update and left the weights untrained (every model of the batch diverged at once), which would score as
    a model."""
    ev = caches.evaluation(run)
    if run.diverged is None:
        return ev
    nan = math.nan
    return dataclasses.replace(ev, max_error=nan, median_error=nan, selectivity=nan, collateral=nan, damaged_share=nan)


def warn(runs: Iterable[TrainedRun]) -> None:
    """The training message of every diverged run among `runs`, once, where the page first has them."""
    for run in runs:
        if run.diverged is not None:
            st.error(f"{message(run)} Try a gentler schedule or another seed.", icon="💥")


def skip(run: TrainedRun) -> bool:
    """In place of a figure: a short note and True when `run` diverged (draw nothing), else False (draw it)."""
    if run.diverged is None:
        return False
    st.info(note(run), icon="🚫")
    return True


def diverged(recipes: Sequence[Recipe]) -> list[TrainedRun]:
    """The runs of these recipes that diverged, once all of them are trained; [] before that (it never waits, so
    status lines can call it on every rerun)."""
    runs = training.trained_runs(recipes)  # reads only: never queues, never marks them as this visitor's
    return [run for run in runs or () if run.diverged is not None]


def status_line(recipes: Sequence[Recipe]) -> str | None:
    """The sidebar's line for a trained pair with a diverged run ('⚠️ seed 0: pre-norm (Ex 2.3) diverged at step 1'),
    or None when none diverged."""
    broken = diverged(recipes)
    if not broken:
        return None
    said = "; ".join(f"{r.recipe.design.label} diverged at step {r.diverged.step:,}" for r in broken)
    return f"⚠️ seed {recipes[0].seed}: {said}"


def warn_records(records: Sequence[dict], left_out_of: str) -> None:
    """A sweep's diverged runs ({design, seed[, diverged]} from a comparison's or a screen's summary): which ones,
    in one warning, and what they are left out of."""
    if records:
        st.warning(
            f"Some runs diverged and are left out of {left_out_of}: "
            + "; ".join(
                f"{d['design']} seed {d['seed']}" + (f": {d['diverged']}" if d.get("diverged") else "") for d in records
            ),
            icon="💥",
        )
