"""The app's side of training: one Board per server process (the queue and its worker, excolor.app.trainer), and
what pages call to get trained models while showing honest progress.

How a page asks for models (`from excolor.app import board`):

- **The pair a page needs to show anything** (this visitor's seed or schedule): `board.trained(recipes, label)`.
  Interactive: it trains ahead of every big job, blocks with a live status box and returns the runs in the
  recipes' order, or None after showing why not.
- **Big work** (sweeps, comparisons, screens): `board.trained(recipes, label, big=True)`, where `label` is a noun
  phrase other visitors read in their status line ("comparison of 32 seeds", "screen of 8 designs x 4 seeds").
  It is this visitor's one big job: asking for a different one replaces it (the page says so); when the queue
  is full the page says "the server is busy: N models ahead, try again in about T s" and gets None.
- **Without blocking**: `job = board.request_big(board.visitor_id(), recipes, label)` (check `job.refused`, show
  `job.note`), then on each rerun `board.status_for(board.visitor_id(), recipes)` -> Status with `.fraction`,
  `.text`, `.done`, `.error` (e.g. in a `st.fragment(run_every=1)`); once done, `board.trained(..., big=True)`
  returns the runs at once. status_for never queues anything.
- `board.is_trained(recipes)` / `board.trained_runs(recipes)`: whether all are trained already / their runs (or
  None); both ask for nothing. `board.start_training(recipes)` queues this visitor's pair without waiting.

Runs are bit-identical whether trained alone, batched or chunked, so it never matters which request trained a
recipe first or how the queue cut the work.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import streamlit as st

from excolor.schedule import EX24, Schedule
from excolor.train import Recipe, TrainedRun

from .trainer import MAX_WAITING_MODELS, BigJob, Board, Entry, Status, Unit, recipe_key

__all__ = ["Board", "BigJob", "Status", "recipe_key", "default_recipes", "board", "visitor_id", "trained"]

MAX_KEPT_RUNS = 192  # per-recipe cache entries kept (small records; the runs themselves: trainer.MAX_KEPT_MB)
DEFAULT_SEED = 0


def default_recipes(seed: int = DEFAULT_SEED, schedule: Schedule = EX24) -> tuple[Recipe, Recipe]:
    """(pre-norm, post-norm) for one seed: the pair every comparison page shows."""
    return Recipe("pre", seed, schedule), Recipe("post", seed, schedule)


def _session_alive(visitor: str) -> bool:
    """Whether this visitor's browser session is still connected (False outside `streamlit run`)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and Runtime.instance().is_active_session(visitor)


@st.cache_resource(show_spinner=False)
def board() -> Board:
    """The single Board of this server process. Creating it starts training the default pair.

    EXCOLOR_MAX_WAITING_MODELS overrides the queue's cap (the load test uses a small one to reach it quickly)."""
    recipes = default_recipes()
    cap = int(os.environ.get("EXCOLOR_MAX_WAITING_MODELS", MAX_WAITING_MODELS))
    b = Board(pinned=recipes, session_alive=_session_alive, max_waiting_models=cap)
    b.request(recipes)
    return b


def visitor_id() -> str:
    """This browser's identity (app.identity), not its session: whose big job is whose (one per browser, however
    many sessions it opens), and who still waits for queued work."""
    from . import identity

    return identity.token()


def start_training(recipes: Sequence[Recipe]) -> None:
    """Queue this visitor's recipes without waiting (e.g. from the shell, so models are ready when needed)."""
    board().request(recipes, visitor_id())


def request_big(visitor: str, recipes: Sequence[Recipe], label: str) -> BigJob:
    """Queue `recipes` as this visitor's big job without waiting (see the module docstring)."""
    from . import identity

    return board().request_big(visitor, recipes, label, identity.address())


def status_for(visitor: str, recipes: Sequence[Recipe]) -> Status:
    """Where these recipes stand for this visitor: done (with a summary), failed, or what is ahead and how long.
    Asks for nothing."""
    b = board()
    return b.status(b.lookup(recipes, visitor), visitor)


def is_trained(recipes: Sequence[Recipe]) -> bool:
    """Whether every recipe is already trained on this server. Unlike trained(), it asks for nothing."""
    return trained_runs(recipes) is not None


def trained_runs(recipes: Sequence[Recipe]) -> list[TrainedRun] | None:
    """The runs if every recipe is already trained on this server, else None. Asks for nothing and marks nothing
    as this visitor's (for reading, e.g., another page's comparison; trained() would count them as wanted)."""
    entries = board().lookup(recipes)
    if all(e is not None and e.run is not None for e in entries):
        return [e.run for e in entries]
    return None


def trained(recipes: Sequence[Recipe], label: str = "Training", big: bool = False) -> list[TrainedRun] | None:
    """Block until the recipes are trained, showing where they stand; None (with a message) if they cannot be.

    big=False: interactive, ahead of big jobs. big=True: this visitor's big job, `label` naming it for others."""
    b, visitor = board(), visitor_id()
    if big:
        job = request_big(visitor, recipes, label)
        if job.refused:
            st.warning(f"Not started: {job.refused}.", icon="⏳")
            return None
        if job.note:
            st.info(f"{job.note[:1].upper()}{job.note[1:]}.", icon="🔁")
        held = {e.recipe: e for e in job.entries}
        entries = [held[r] for r in recipes]
    else:
        entries = b.request(recipes, visitor)
    if not all(e.done.is_set() for e in entries):
        _wait_with_progress(b, entries, visitor, label)
    errors = sorted({e.error for e in entries if e.error})
    if errors:
        st.error("; ".join(e[:1].upper() + e[1:] for e in errors) + ".")
        return None
    return [e.run for e in entries]


def _wait_with_progress(b: Board, entries: list[Entry], visitor: str, label: str) -> None:
    """A status box that says where the work is (what trains now, how many models are ahead, how long) while
    it waits, and the final summary once done: never a frozen bar or the last step's losses."""
    title = f"{label[:1].upper()}{label[1:]}"
    since = b.clock()
    with st.status(f"{title}: {_count(len(entries))} …", expanded=True) as box:
        bar = st.progress(0.0, text="queued …")
        losses = st.empty()
        while not all(e.done.wait(0.25) for e in entries):
            status = b.status(entries, visitor, since)
            bar.progress(status.fraction, text=status.text)
            unit = b.current
            if unit is not None and unit.losses and any(e.unit is unit for e in entries):
                losses.caption(loss_line(unit))
            else:
                losses.empty()
        status = b.status(entries, visitor, since)
        bar.progress(1.0, text=status.text)
        losses.empty()
        ended = "stopped after" if status.error else "done in"
        label = f"{title}: {ended} {b.clock() - since:.1f} s ({status.text})"
        box.update(label=label, state="error" if status.error else "complete", expanded=False)


def _count(n: int) -> str:
    return f"{n} model{'' if n == 1 else 's'}"


def loss_line(unit: Unit) -> str:
    """The latest losses of the models training together; a term whose schedule weight is 0 at this step reads
    'off (weight 0)': its value then shapes nothing."""
    parts = []
    for name in ("recon", "separate", "anchor", "unit", "planar"):
        values = np.atleast_1d(unit.losses.get(name, []))
        if not values.size:
            continue
        if name != "recon" and unit.schedule.value(name, max(unit.step - 1, 0)) == 0:
            parts.append(f"{name} off (weight 0)")
        else:
            parts.append(f"{name} {float(np.mean(values)):.2e}")
    return f"losses at step {unit.step:,} (mean over the {_count(len(unit))} training together): " + " · ".join(parts)
