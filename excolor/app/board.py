"""The training worker and its board: one background thread per server process trains every recipe.

Every trained recipe is kept in a process-wide board: a classroom of visitors asking for the same recipe shares
one run, and a page can be read while its models train. Runs are bit-identical whether trained alone or batched
(see excolor.train.FlatAdam), so it never matters which request trained a recipe first.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import queue
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch

from excolor.schedule import EX24, Schedule, to_dopesheet
from excolor.train import Recipe, TrainedRun, train

log = logging.getLogger("excolor.app")
if not log.handlers:  # one line per training on the server's stderr: the load test counts them
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s excolor %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False

MAX_KEPT_RUNS = 96  # trained runs kept per process (~0.6 MB each); the defaults are never evicted
DEFAULT_SEED = 0


def recipe_key(recipe: Recipe) -> str:
    """A short stable text key for a recipe (cache keys, URLs, file names)."""
    digest = hashlib.sha1(to_dopesheet(recipe.schedule).encode()).hexdigest()[:10]
    return f"{recipe.placement}-s{recipe.seed}-b{recipe.batch_size}-{digest}"


@dataclass(eq=False)  # identity equality keeps jobs hashable: request() de-duplicates them with a dict
class Job:
    """One batched training run of several recipes, shared by every session that asked for them."""

    recipes: tuple[Recipe, ...]
    step: int = 0
    steps: int = 1
    losses: dict = field(default_factory=dict)
    started: float | None = None
    seconds: float | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    runs: dict[Recipe, TrainedRun] = field(default_factory=dict)


class _ShuttingDown(Exception):
    """Raised from the progress callback to abandon a training when the process exits."""


class Board:
    """Process-wide registry: which job trains (or trained) each recipe, with one worker thread.

    One worker, not one thread per request: on a single shared CPU two trainings at once would each
    take twice as long, and memory would grow with the number of visitors instead of staying flat.
    """

    def __init__(self, pinned: Sequence[Recipe] = (), max_runs: int = MAX_KEPT_RUNS):
        self.lock = threading.Lock()
        self.jobs: OrderedDict[Recipe, Job] = OrderedDict()
        self.trained = Counter()  # recipe -> how many times it was trained (must stay at 1)
        self.pinned = set(pinned)
        self.max_runs = max_runs
        self.queue: queue.Queue[Job | None] = queue.Queue()
        self.stopping = threading.Event()
        self.worker = threading.Thread(target=self._work, name="excolor-trainer", daemon=True)
        self.worker.start()
        atexit.register(self.stop)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker (within ~100 training steps) and wait for it.

        Registered at exit: a daemon thread still inside a PyTorch kernel when the interpreter finalizes
        aborts the whole process (exit code 134), which would fail a test run that had passed.
        """
        self.stopping.set()
        self.queue.put(None)
        self.worker.join(timeout)

    def request(self, recipes: Sequence[Recipe]) -> list[Job]:
        """The jobs that hold these recipes, starting one batched job for any not yet asked for."""
        with self.lock:
            missing = tuple(dict.fromkeys(r for r in recipes if r not in self.jobs))
            if missing:
                job = Job(missing, steps=missing[0].schedule.steps)
                for r in missing:
                    self.jobs[r] = job
                self.queue.put(job)
            for r in recipes:
                self.jobs.move_to_end(r)
            self._evict()
            return list(dict.fromkeys(self.jobs[r] for r in recipes))

    def _evict(self) -> None:
        done = [r for r, job in self.jobs.items() if job.done.is_set() and r not in self.pinned]
        while len(self.jobs) > self.max_runs and done:
            del self.jobs[done.pop(0)]

    def _work(self) -> None:
        torch.set_num_threads(1)
        while True:
            job = self.queue.get()
            if job is None or self.stopping.is_set():
                return
            job.started = time.perf_counter()

            def progress(step: int, steps: int, losses: dict, job: Job = job) -> None:
                if self.stopping.is_set():
                    raise _ShuttingDown
                job.step, job.steps, job.losses = step, steps, losses

            try:
                runs = train(list(job.recipes), progress=progress)
                job.runs = dict(zip(job.recipes, runs, strict=True))
                with self.lock:
                    self.trained.update(job.recipes)
                log.info(
                    "trained %s in %.1f s",
                    " ".join(recipe_key(r) for r in job.recipes),
                    time.perf_counter() - job.started,
                )
            except _ShuttingDown:
                job.error = "the server is shutting down"
            except Exception as err:  # a bad recipe must not take the worker down with it
                job.error = f"{type(err).__name__}: {err}"
            job.seconds = time.perf_counter() - job.started
            job.done.set()


def default_recipes(seed: int = DEFAULT_SEED, schedule: Schedule = EX24) -> tuple[Recipe, Recipe]:
    """(pre-norm, post-norm) for one seed: the pair every comparison page shows."""
    return Recipe("pre", seed, schedule), Recipe("post", seed, schedule)


@st.cache_resource(show_spinner=False)
def board() -> Board:
    """The single Board of this server process. Creating it starts training the default pair."""
    recipes = default_recipes()
    b = Board(pinned=recipes)
    b.request(recipes)
    return b


def start_training(recipes: Sequence[Recipe]) -> None:
    """Queue recipes without waiting (e.g. from the landing page, so models are ready when needed)."""
    board().request(recipes)


def training_status(recipes: Sequence[Recipe]) -> tuple[float, str]:
    """(fraction done, one-line status) for the jobs holding these recipes."""
    jobs = board().request(recipes)
    if all(j.done.is_set() for j in jobs):
        return 1.0, "trained"
    fraction = sum(j.step / max(j.steps, 1) for j in jobs) / len(jobs)
    running = [j for j in jobs if j.started is not None and not j.done.is_set()]
    if not running:
        return 0.0, "waiting for the trainer (another training run is ahead in the queue)"
    j = running[0]
    return fraction, f"training {len(j.recipes)} model(s) together: step {j.step:,} of {j.steps:,}"


def trained(recipes: Sequence[Recipe], label: str = "Training") -> list[TrainedRun] | None:
    """Block until the recipes are trained, showing live progress; None (with a message) on failure."""
    jobs = board().request(recipes)
    if not all(j.done.is_set() for j in jobs):
        with st.status(f"{label}: {len(recipes)} model(s), trained together …", expanded=True) as status:
            bar = st.progress(0.0, text="starting …")
            losses_line = st.empty()
            while not all(j.done.wait(0.25) for j in jobs):
                fraction, text = training_status(recipes)
                bar.progress(min(fraction, 1.0), text=text)
                latest = next((j.losses for j in jobs if j.losses), None)
                if latest:
                    losses_line.caption(_loss_line(latest))
            seconds = max(j.seconds or 0.0 for j in jobs)
            status.update(label=f"{label}: done in {seconds:.1f} s", state="complete", expanded=False)
    errors = {j.error for j in jobs if j.error}
    if errors:
        st.error("Training failed: " + "; ".join(sorted(errors)))
        return None
    return [next(j.runs[r] for j in jobs if r in j.runs) for r in recipes]


def _loss_line(losses: dict) -> str:
    parts = []
    for name in ("recon", "separate", "anchor", "unit", "planar"):
        values = np.atleast_1d(losses.get(name, []))
        if values.size:
            parts.append(f"{name} {float(np.mean(values)):.2e}")
    return "current losses (mean over models): " + " · ".join(parts)


# --------------------------------------------------------------------------------------------------
# Sweeps: many recipes, queued in jobs of SWEEP_JOB_MODELS

# Models per training job in a sweep. Batching is cheaper per model (16 models: ~8.5 s of CPU, 64: ~23 s), but a
# batch's training data grows with it: 64 at once peak at ~730 MB above the process's baseline, 16 at ~200 MB,
# which is what a 1 GB server can afford next to everything else it keeps.
SWEEP_JOB_MODELS = 16


def queue_sweep(recipes: Sequence[Recipe], target: Board | None = None) -> None:
    """Queue the recipes nobody has asked for yet, SWEEP_JOB_MODELS per job; recipes already trained or
    training (the default pair, another visitor's sweep) are left alone and reused."""
    target = board() if target is None else target
    with target.lock:
        missing = [r for r in dict.fromkeys(recipes) if r not in target.jobs]
    for i in range(0, len(missing), SWEEP_JOB_MODELS):
        target.request(missing[i : i + SWEEP_JOB_MODELS])


def is_trained(recipes: Sequence[Recipe]) -> bool:
    """Whether every recipe is already trained on this server. Unlike training_status, it asks for nothing."""
    b = board()
    with b.lock:
        jobs = [b.jobs.get(r) for r in recipes]
    return all(j is not None and j.done.is_set() and j.error is None for j in jobs)
