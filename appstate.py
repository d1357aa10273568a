"""The app's one link to Streamlit's caches and session state; pages call these, never excolor's trainer.

Training runs on one background worker thread per server process, and every trained recipe is kept
in a process-wide board: a classroom of visitors asking for the same recipe shares one run, and a
page can be read while its models train. Runs are bit-identical whether trained alone or batched
(see excolor.train.FlatAdam), so it never matters which request trained a recipe first.
"""

from __future__ import annotations

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

from excolor import evidence
from excolor.evaluate import Evaluation, Probe, evaluate, prepare
from excolor.interventions import Intervention
from excolor.latents3d import evaluation_deck
from excolor.schedule import EX24, Schedule, to_dopesheet
from excolor.train import MAX_SEED, Recipe, TrainedRun, train

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
        self.queue: queue.Queue[Job] = queue.Queue()
        self.worker = threading.Thread(target=self._work, name="excolor-trainer", daemon=True)
        self.worker.start()

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
            job.started = time.perf_counter()

            def progress(step: int, steps: int, losses: dict, job: Job = job) -> None:
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


@st.cache_resource(max_entries=6, show_spinner=False)
def _probe(key: str, _run: TrainedRun) -> Probe:
    return prepare(_run.model)


def probe(run: TrainedRun) -> Probe:
    """The run's evaluation grids, encoded once and shared (a handful kept: ~20 MB each)."""
    return _probe(recipe_key(run.recipe), run)


@st.cache_resource(max_entries=256, show_spinner=False)
def _evaluation(key: str, intervention_key: str, _run: TrainedRun, _intervention: Intervention | None) -> Evaluation:
    return evaluate(probe(_run), _intervention)


def evaluation(run: TrainedRun, intervention: Intervention | None = None) -> Evaluation:
    """evaluate(run, intervention), shared across sessions and slider positions already visited."""
    return _evaluation(recipe_key(run.recipe), repr(intervention), run, intervention)


def seed_from_sidebar() -> int:
    """The shared sidebar's seed control. It is drawn by app.py on every page, so its value persists."""
    st.session_state.setdefault("seed", DEFAULT_SEED)
    return int(
        st.sidebar.number_input(
            "Seed",
            min_value=0,
            max_value=MAX_SEED,
            step=1,
            key="seed",
            help="Changes the initial weights, the batches and the labels. Each seed is trained once per "
            "server and shared by every visitor.",
        )
    )


def current_seed() -> int:
    return int(st.session_state.get("seed", DEFAULT_SEED))


def current_recipes() -> tuple[Recipe, Recipe]:
    """(pre, post) for the seed (and schedule) this visitor has chosen."""
    schedule = st.session_state.get("schedule", EX24)
    return default_recipes(current_seed(), schedule)


# --------------------------------------------------------------------------------------------------
# Evidence across seeds: many (pre, post) pairs, trained through the same Board, measured once each

MAX_SWEEP_SEEDS = 32  # in the app; the CLI allows 64
# Models per training job in a sweep. Batching is cheaper per model (16 models: ~8.5 s of CPU, 64: ~23 s), but a
# batch's training data grows with it: 64 at once peak at ~730 MB above the process's baseline, 16 at ~200 MB,
# which is what a 1 GB server can afford next to everything else it keeps.
SWEEP_JOB_MODELS = 16


def sweep_recipes(n_seeds: int, schedule: Schedule | None = None) -> list[Recipe]:
    """pre and post for seeds 0..n-1 on the visitor's schedule. These are the very recipes the other pages
    ask for (equal and equally hashed), so any seed already trained on this server is reused, not retrained."""
    schedule = current_recipes()[0].schedule if schedule is None else schedule
    return [r for seed in range(n_seeds) for r in default_recipes(seed, schedule)]


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


@st.cache_data(max_entries=MAX_KEPT_RUNS, show_spinner=False)
def _sweep_record(key: str, _run: TrainedRun) -> dict:
    return evidence.sweep_record(_run)


def sweep_record(run: TrainedRun) -> dict:
    """evidence.sweep_record(run), computed once per recipe and shared by every session. Only the small
    record is kept: the ~20 MB of encoded evaluation grids behind it are dropped as soon as it is measured."""
    return _sweep_record(recipe_key(run.recipe), run)


# --------------------------------------------------------------------------------------------------
# Latent views: an 8,000-point deck is the most expensive thing a page draws, so each one is built once


class FrozenDeck:
    """A built deck, serialized once. st.pydeck_chart only reads to_json(), _tooltip and layers, and calls
    to_json() on every rerun: ~0.03 s for 8,000 points, paid again for every view on every slider move."""

    def __init__(self, deck):
        self._json = deck.to_json()
        self._tooltip = deck._tooltip
        self.layers = []  # nothing left for Streamlit to convert: the JSON is final

    def to_json(self) -> str:
        return self._json


@st.cache_resource(max_entries=36, show_spinner=False)
def _latent_view(key: str, intervention_key: str, dims: tuple, size: int, tilt: float, _run, _intervention):
    deck, caption = evaluation_deck(evaluation(_run, _intervention), dims, _intervention, size=size, tilt=tilt)
    return FrozenDeck(deck), caption


def latent_view(
    run: TrainedRun, intervention: Intervention | None, dims: Sequence[int], size: int = 500, tilt: float = 0.0
) -> tuple[FrozenDeck, str]:
    """latents3d.evaluation_deck for a run and intervention (with its cones): built once per view and shared
    by every session; 36 kept (~1 MB each), enough for two placements × four interventions × three views."""
    return _latent_view(recipe_key(run.recipe), repr(intervention), tuple(dims), size, tilt, run, intervention)


@st.cache_resource(max_entries=96, show_spinner=False)
def _figure(name: str, run_key: str, intervention_key: str, options: str, _build):
    return _build()


def figure(builder, run: TrainedRun, intervention=None, of: str = "evaluation", **options):
    """builder(x, **options) -> (chart, caption), built once per recipe, intervention(s) and options and shared by
    every session. x is the run's evaluation under the intervention (of="evaluation"; a dict of interventions
    gives a dict of evaluations, e.g. for charts.named_colors_chart), its error curves (of="curves") or the
    intervention itself (of="intervention", e.g. charts.mapping_chart). A slider move then rebuilds only the
    figures of the intervention it changed."""

    def build():
        if of == "intervention":
            return builder(intervention, **options)
        if isinstance(intervention, dict):
            return builder({name: evaluation(run, iv) for name, iv in intervention.items()}, **options)
        ev = evaluation(run, intervention)
        return builder(ev.curves if of == "curves" else ev, **options)

    name = f"{builder.__module__}.{builder.__qualname__}({of})"
    return _figure(name, recipe_key(run.recipe), repr(intervention), repr(sorted(options.items())), build)
