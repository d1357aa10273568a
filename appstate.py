"""The app's one link to Streamlit's caches and session state; pages call these, never excolor's trainer.

Training runs on one background worker thread per server process, and every trained recipe is kept
in a process-wide board: a classroom of visitors asking for the same recipe shares one run, and a
page can be read while its models train. Runs are bit-identical whether trained alone or batched
(see excolor.train.FlatAdam), so it never matters which request trained a recipe first.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import math
import queue
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np
import streamlit as st
import torch

from excolor import evidence, export
from excolor.evaluate import Evaluation, Probe, evaluate, prepare, validation_losses
from excolor.interventions import Intervention
from excolor.latents3d import VIEWS, evaluation_deck
from excolor.losses import PLACEMENT_NAMES
from excolor.schedule import EX24, Schedule, parse_dopesheet, to_dopesheet
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


@st.cache_data(max_entries=MAX_KEPT_RUNS, show_spinner=False)
def _validation(key: str, _run: TrainedRun) -> dict[str, float]:
    return validation_losses(_run.model)


def validation(run: TrainedRun) -> dict[str, float]:
    """evaluate.validation_losses of a run, computed once per recipe."""
    return _validation(recipe_key(run.recipe), run)


def seed_from_sidebar() -> int:
    """The shared sidebar's seed control, drawn where the caller puts it (app.py: in the sidebar, on every page,
    so its value persists)."""
    bind(SEED)
    seed = int(
        st.number_input(
            "Seed",
            min_value=0,
            max_value=MAX_SEED,
            step=1,
            key="seed",
            help="Changes the initial weights, the batches and the labels. Each seed is trained once per "
            "server and shared by every visitor.",
        )
    )
    publish(SEED, seed)
    return seed


def current_seed() -> int:
    return int(st.session_state.get("seed", DEFAULT_SEED))


def current_recipes() -> tuple[Recipe, Recipe]:
    """(pre, post) for the seed (and schedule) this visitor has chosen."""
    return default_recipes(current_seed(), current_schedule())


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


class FrozenChart:
    """An Altair chart converted once to the Vega-Lite spec Streamlit sends (data as Arrow bytes).

    st.altair_chart re-validates and re-serializes a chart on every rerun (~15 ms to 0.1 s each); with a
    classroom of sessions that, not the science, was the server's bottleneck. A frozen chart is converted
    the first time any session builds it and handed over as-is afterwards.
    """

    def __init__(self, chart):
        try:  # Streamlit's own conversion, so the spec is exactly what st.altair_chart would send
            from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

            self.spec = _convert_altair_to_vega_lite_spec(chart)
        except ImportError:  # a future Streamlit without it: plain Vega-Lite JSON still works
            self.spec = chart.to_dict()


def show_chart(chart, **kwargs):
    """Draw a FrozenChart (or a plain Altair chart) with Streamlit's theme, so both light and dark read well."""
    if isinstance(chart, FrozenChart):
        return st.vega_lite_chart(chart.spec, theme="streamlit", **kwargs)
    return st.altair_chart(chart, theme="streamlit", **kwargs)


@st.cache_resource(max_entries=256, show_spinner=False)
def _frozen(key: str, _build):
    chart, caption = _build()
    return FrozenChart(chart), caption


def frozen_chart(key: str, build) -> tuple[FrozenChart, str]:
    """build() -> (chart, caption), run once per key for the whole server; `key` must name every input."""
    return _frozen(key, build)


def _figure(name: str, run_key: str, intervention_key: str, options: str, _build):
    return _frozen(f"{name}|{run_key}|{intervention_key}|{options}", _build)


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


# --------------------------------------------------------------------------------------------------
# Shareable state: every control that changes a result is mirrored in the URL's query string, so a link
# opens the same view in a new browser session. A page binds a control before drawing its widget and
# publishes the widget's value after it; anything missing, invalid or tampered falls back to the default
# with a visible notice.

MAX_PARAM_CHARS = 40  # longer than any valid value: a 5,000-character value is refused before parsing
_UNSET = object()


def _fmt_value(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class UrlParam:
    """A control mirrored in the URL: `name` in the query string, `key` in session state (the widget's key).

    parse(text) returns the value or raises ValueError (its message says what is allowed)."""

    name: str
    default: object
    parse: Callable[[str], object]
    key: str | None = None

    @property
    def state_key(self) -> str:
        return self.key or self.name


def parse_int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        text = text.strip()
        if not text.isdigit() or not lo <= int(text) <= hi:
            raise ValueError(f"a whole number from {lo} to {hi:,}")
        return int(text)

    return parse


SEED = UrlParam("seed", DEFAULT_SEED, parse_int(0, MAX_SEED))


def parse_choice(options: Sequence, fmt: Callable = _fmt_value) -> Callable[[str], object]:
    """One of `options`; numbers match within 1e-9 (so sa=0.3 and sa=0.30 both mean 0.3)."""

    def parse(text: str):
        text = text.strip()
        for option in options:
            if text == fmt(option):
                return option
        if options and all(isinstance(o, int | float) and not isinstance(o, bool) for o in options):
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            for option in options:
                if abs(number - option) < 1e-9:
                    return option
        shown = ", ".join(fmt(o) for o in options[:3]) + (f", … {fmt(options[-1])}" if len(options) > 3 else "")
        raise ValueError(f"one of {shown}")

    return parse


def parse_bool(text: str) -> bool:
    value = {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}.get(text.strip().lower())
    if value is None:
        raise ValueError("1 or 0")
    return value


def _quoted(text: str) -> str:
    shown = text if len(text) <= 24 else text[:20] + "…"
    return "`" + shown.replace("`", "'").replace("\n", " ") + "`"


def bind(param: UrlParam, default=_UNSET, valid: Callable[[object], bool] | None = None):
    """Put the control's value in session state before its widget is drawn, and return it.

    The first time this session sees the control, the value comes from the URL (or the default, with a notice
    if the URL's value is not allowed). Later it is the widget's own state, or, when Streamlit dropped that
    because another page was shown, the shadow copy publish() keeps. `default` overrides param.default (for
    defaults known only at run time, e.g. the last replay step); `valid` rejects values that parse but do not
    fit the run being shown (then the default is used)."""
    ss = st.session_state
    key = param.state_key
    default = param.default if default is _UNSET else default
    seen = ss.setdefault("_url_seen", set())
    shadow = ss.setdefault("_url_shadow", {})
    notices = ss.setdefault("_url_notices", {})
    if key not in seen:
        seen.add(key)
        value, raw = default, st.query_params.get(param.name)
        if raw is not None:
            try:
                if len(raw) > MAX_PARAM_CHARS:
                    raise ValueError(f"at most {MAX_PARAM_CHARS} characters")
                value = param.parse(raw)
                if valid is not None and not valid(value):
                    raise ValueError("a value this view offers")
            except ValueError as err:
                value = default
                notices[key] = (
                    f"The link's `{param.name}={_quoted(raw)[1:-1]}` is not valid (expected {err}); "
                    f"using {param.name} = {_fmt_value(default)} instead.",
                    default,
                )
        ss[key] = value
    elif key not in ss:
        ss[key] = shadow.get(key, default)
    if valid is not None and not valid(ss[key]):
        ss[key] = default
    if key in notices:
        message, fallback = notices[key]
        if ss[key] == fallback:
            st.warning(message, icon="🔗")
        else:  # the visitor has moved the control since: the notice is out of date
            del notices[key]
    return ss[key]


def publish(param: UrlParam, value) -> None:
    """Write the widget's value to the URL (and to the shadow copy that survives page switches)."""
    st.session_state.setdefault("_url_shadow", {})[param.state_key] = value
    text = _fmt_value(value)
    if st.query_params.get(param.name) != text:
        st.query_params[param.name] = text


def placement_param(key: str) -> UrlParam:
    """The URL's `placement` (pre / post, default post), kept under a page's own widget key."""
    return UrlParam("placement", "post", parse_choice(("pre", "post")), key=key)


def view_param(key: str) -> UrlParam:
    """The URL's `view`: which of latents3d.VIEWS a page's 3-D views show (default the color wheel)."""
    return UrlParam("view", 0, parse_choice(tuple(range(len(VIEWS)))), key=key)


def placement_control(param: UrlParam, help: str) -> str:
    """The pre / post toggle shared by the pages, published to the URL; bind(param) must come first."""
    placement = st.segmented_control(
        "Regularizer placement",
        options=("pre", "post"),
        format_func=PLACEMENT_NAMES.get,
        required=True,
        key=param.state_key,
        help=help,
    )
    publish(param, placement)
    return placement


def view_control(param: UrlParam, help: str) -> int:
    """The latent-view selector (screen x, screen y, toward you), published to the URL; bind(param) first."""
    view = st.segmented_control(
        "View (screen x, screen y, toward you)",
        options=range(len(VIEWS)),
        format_func=lambda i: "dims {}, {}, {}".format(*VIEWS[i]),
        required=True,
        key=param.state_key,
        help=help,
    )
    publish(param, view)
    return view


def link_to_view() -> str:
    """The query string of this view, e.g. '?seed=3&placement=pre', for a "link to this view" caption."""
    params = st.query_params.to_dict()
    return "?" + urlencode(params) if params else ""


def show_link(slot) -> None:
    query = link_to_view()
    if query:
        slot.caption(f"🔗 Link to this view: the address bar holds every setting above. Relative link: `{query}`")


# --------------------------------------------------------------------------------------------------
# Custom schedules: session_state["schedule"] is what current_recipes() trains; only a valid one gets there


def current_schedule() -> Schedule:
    return st.session_state.get("schedule", EX24)


def apply_schedule(text: str) -> Schedule:
    """Parse a dopesheet and make it this visitor's schedule; a ScheduleError leaves the last valid one."""
    schedule = parse_dopesheet(text)
    st.session_state["schedule"] = schedule
    return schedule


def reset_schedule() -> None:
    st.session_state.pop("schedule", None)


# --------------------------------------------------------------------------------------------------
# Exports. st.download_button takes a callable and calls it only when the file is asked for, so a rerun
# pays nothing for them; these return such callables (they may run outside a script run: no st.* inside
# except the process-wide caches).


def weights_file(run: TrainedRun) -> Callable[[], bytes]:
    return lambda: export.weights_bytes(run)


def recipe_json(run: TrainedRun) -> Callable[[], str]:
    return lambda: json.dumps(export.recipe_to_dict(run.recipe), indent=2) + "\n"


def latents_file(ev: Evaluation) -> Callable[[], str]:
    return lambda: export.latents_csv(ev.latents, ev.rgb_true, ev.rgb_out)


def metrics_file(runs: Sequence[TrainedRun], interventions: dict) -> Callable[[], str]:
    """max / median error and selectivity of every run under every intervention ({name: Intervention | None})."""

    def build() -> str:
        rows = []
        for run in runs:
            for name, iv in interventions.items():
                ev = evaluation(run, iv)
                rows.append(
                    {
                        "placement": run.recipe.placement,
                        "seed": run.recipe.seed,
                        "intervention": name,
                        "parameters": repr(iv) if iv is not None else "",
                        **ev.metrics(),
                    }
                )
        return export.metrics_csv(rows)

    return build


def file_stem(run: TrainedRun) -> str:
    return f"excolor-{recipe_key(run.recipe)}"
