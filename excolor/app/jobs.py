"""What the training queue holds, in which order it trains it, and how long that takes (no Streamlit, no PyTorch).

- Entry: one recipe, shared by everyone who asked for it: queued, training, trained or failed.
- Unit: one batched train() call: a batch of interactive recipes, or one chunk of a big job.
- BigJob: a visitor's sweep, comparison or screen, trained chunk by chunk in turns with other big jobs.
- Status: where a set of recipes stands, in words a visitor can act on.
- plan_units: the order: interactive work first, then big jobs' chunks in turns.

The time estimates start from a fit to measured CPU times (docs/training-queue.md); the queue rescales them by how
long its own trainings take.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from excolor.train import Recipe, TrainedRun

# Seconds per training step: OVERHEAD + PER_MODEL * models (one core, fitted to measured CPU times).
STEP_OVERHEAD_S = 2.07e-4
STEP_PER_MODEL_S = 3.67e-5


def predicted_seconds(model_steps: float, models_per_unit: int) -> float:
    """Seconds to train `model_steps` (models x steps) in units of `models_per_unit` models, on an idle core."""
    return model_steps * (STEP_OVERHEAD_S / max(models_per_unit, 1) + STEP_PER_MODEL_S)


def models(n: int) -> str:
    """'1 model', '3 models'."""
    return f"{n} model{'' if n == 1 else 's'}"


def wait_text(s: float) -> str:
    """An honest, round estimate: '3 s', 'about 40 s', 'about 2 min'."""
    if s < 10:
        return f"{max(1, math.ceil(s))} s"
    if s < 120:
        return f"about {10 * math.ceil(s / 10)} s"
    return f"about {math.ceil(s / 60)} min"


def run_bytes(run: TrainedRun) -> int:
    """Memory a finished run holds: its per-step history, replay snapshots and weights."""
    arrays = [*run.history.values(), run.replay.latents, run.replay.steps, run.replay.rgb]
    return sum(a.nbytes for a in arrays) + sum(t.numel() * t.element_size() for t in run.weights.values())


@dataclass(eq=False)  # identity equality: entries are shared, compared and hashed as objects
class Entry:
    """One recipe in the queue, shared by everyone who asked for it."""

    recipe: Recipe
    asked: float  # clock time of the first request
    urgent: int | None = None  # order in which it was first asked for interactively; None: only big jobs want it
    anonymous: bool = False  # asked for by the server itself or a script: wanted until trained
    unit: Unit | None = None  # the batched training that trains (or trained) it
    run: TrainedRun | None = None
    error: str | None = None
    bytes: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def queued(self) -> bool:
        return self.unit is None and not self.done.is_set()

    def finish(self, run: TrainedRun | None = None, error: str | None = None) -> None:
        self.run, self.error = run, error
        self.bytes = run_bytes(run) if run is not None else 0
        self.done.set()


@dataclass(eq=False)
class Unit:
    """One batched train() call: a batch of interactive recipes, or one chunk of a big job."""

    entries: tuple[Entry, ...]
    job: BigJob | None = None  # None: interactive work
    step: int = 0
    losses: dict = field(default_factory=dict)
    started: float | None = None
    seconds: float | None = None

    @property
    def steps(self) -> int:
        return self.entries[0].recipe.schedule.steps

    @property
    def schedule(self):
        return self.entries[0].recipe.schedule

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(eq=False)
class BigJob:
    """A visitor's big request (a sweep, a comparison, a screen), trained chunk by chunk in turns with others.

    `refused` is the message to show when the queue did not accept it; `note` says what it replaced."""

    visitor: str | None
    label: str  # a noun phrase other visitors read: "comparison of 32 seeds"
    entries: tuple[Entry, ...]
    refused: str | None = None
    note: str | None = None
    address: str | None = None  # the client's, when known: one address holds at most ADDRESS_SHARE of the queue

    @property
    def recipes(self) -> tuple[Recipe, ...]:
        return tuple(e.recipe for e in self.entries)

    @property
    def done(self) -> bool:
        return all(e.done.is_set() for e in self.entries)

    @property
    def error(self) -> str | None:
        return self.refused or next((e.error for e in self.entries if e.error), None)

    def pending(self) -> list[Entry]:
        return [e for e in self.entries if e.queued]

    @property
    def runs(self) -> list[TrainedRun] | None:
        return [e.run for e in self.entries] if self.done and self.error is None else None


@dataclass
class Status:
    """Where a set of recipes stands, in words a visitor can act on."""

    fraction: float  # for a progress bar: of the expected total time, how much has passed (1.0 when done)
    text: str
    done: bool = False
    error: str | None = None
    ahead: int = 0  # models that train before the next of these
    eta: float = 0.0  # estimated seconds until all of these are trained


def plan_units(
    entries: Iterable[Entry],
    jobs: Iterable[BigJob],
    running: BigJob | None,
    chunk_model_steps: int,
    limit: int | None = None,
) -> list[Unit]:
    """The units to train next, in order: waiting interactive entries first (oldest first, batched), then one chunk
    per big job in turn. `running`: the job whose chunk trains now; its next chunk goes after every other job's."""
    urgent = sorted((e for e in entries if e.queued and e.urgent is not None), key=lambda e: e.urgent)
    taken = {id(e) for e in urgent}
    units = [Unit(group) for group in batches(urgent, chunk_model_steps)]
    rotation = [job for job in jobs if job.pending() and job is not running]
    if running is not None and running.pending():
        rotation.append(running)  # its turn is now: after this chunk it goes to the back
    while rotation and (limit is None or len(units) < limit):
        job = rotation.pop(0)
        pending = [e for e in job.pending() if id(e) not in taken]
        if not pending:
            continue
        group = batch(pending, chunk_model_steps)
        units.append(Unit(group, job))
        taken.update(id(e) for e in group)
        if len(group) < len(pending):
            rotation.append(job)  # its next chunk waits for every other job's turn
    return units if limit is None else units[:limit]


def batches(entries: list[Entry], chunk_model_steps: int) -> list[tuple[Entry, ...]]:
    """Cut entries (oldest first) into chunks, each led by the oldest entry left."""
    groups = []
    while entries:
        group = batch(entries, chunk_model_steps)
        groups.append(group)
        entries = [e for e in entries if e not in group]
    return groups


def batch(entries: list[Entry], chunk_model_steps: int) -> tuple[Entry, ...]:
    """The first entry and the next ones that can train with it (same schedule and batch size), one chunk."""
    first = entries[0].recipe
    size = max(1, chunk_model_steps // first.schedule.steps)
    same = [e for e in entries if e.recipe.batch_size == first.batch_size and e.recipe.schedule == first.schedule]
    return tuple(same[:size])
