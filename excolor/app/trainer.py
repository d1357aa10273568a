"""The training queue and its single worker: what trains next, and how long everyone will wait (no Streamlit here).

Every recipe a visitor asks for becomes an Entry on the process-wide Board: queued, training, trained or failed.
One worker thread trains them one Unit (one batched train() call) at a time and, each time it is free, picks:

1. **interactive work first**: the oldest recipe a page needs before it can show anything (a visitor's new seed
   or schedule), batched with the other waiting interactive recipes of the same schedule, up to one chunk;
2. else **the next chunk of the big job whose turn it is**: big jobs (sweeps, comparisons, screens) take turns,
   one chunk each, so two comparisons progress together and neither waits for the other to finish.

A chunk is at most CHUNK_MODEL_STEPS model-steps (16 models of the 3,001-step schedule, ~2-3 s), so interactive
work waits for at most one chunk, and a chunk's training data stays small however long the schedule (a
20,000-step schedule trains two models per chunk). Models trained in a batch are bit-identical to models
trained alone (train.FlatAdam), so how the queue happens to cut the work never changes a number.

A recipe is trained once: a big job and an interactive request for the same recipe share one Entry, and the
interactive request moves it ahead. Bounds: one big job per visitor (a new one replaces the old), at most
MAX_WAITING_MODELS models waiting before a new big job is refused, queued work nobody waits for is dropped, and
finished runs are kept up to MAX_KEPT_MB (least recently used go first, never one that a request is using).

One worker, not one thread per request: on a shared CPU two trainings at once would each take twice as long,
and memory would grow with the number of visitors instead of staying flat.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch

from excolor.schedule import EX24
from excolor.train import Recipe, TrainedRun, train

log = logging.getLogger("excolor.app")
if not log.handlers:  # one line per training on the server's stderr: the load tests count them
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s excolor %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False

# A chunk: at most this many model-steps per train() call. The per-step overhead dominates, so bigger batches
# cost little more (CPU seconds for K models of the 3,001-step schedule, one core: K=1 0.70, 2 0.94, 4 1.08,
# 8 1.44, 16 2.29, 32 4.25). 16 models, ~2.3 s, is how long a new seed may wait behind a big job; longer schedules
# train fewer models per chunk (a 20,000-step one: 2), which also bounds a chunk's training data.
CHUNK_MODEL_STEPS = 16 * EX24.steps
# Big jobs are refused while this many models (of the default length; longer schedules count in proportion)
# would be waiting: 256 models are 16 chunks, ~40 s of one idle core and 2-3 minutes on a server busy drawing
# pages for a class, the longest a newly accepted comparison should wait. It holds four of the largest
# comparisons (64 models each).
MAX_WAITING_MODELS = 256
# Interactive requests are refused only beyond the cap plus this reserve (64 pairs: two whole classes each
# asking for a new seed at the same moment), so a queue full of big jobs never turns a student away.
INTERACTIVE_RESERVE = 128
INTERACTIVE_KEPT = 8  # recipes per visitor that stay wanted: their last few pairs (older ones, if queued, are dropped)
ADDRESS_SHARE = 0.5  # of the queue's cap: what the big jobs from one client address may hold (issue 27)
GRACE_S = 30.0  # a visitor not seen for this long (and whose session is gone) no longer holds queued work
MAX_KEPT_MB = 80.0  # finished runs kept per process: ~0.45 MB each at 3,001 steps (~180 runs), ~3 MB at 20,000

# Seconds per training step: OVERHEAD + PER_MODEL * models, fitted to the CPU times above. Only a starting point:
# the board rescales it by the wall-clock time its own trainings take (a busy server is slower).
STEP_OVERHEAD_S = 2.07e-4
STEP_PER_MODEL_S = 3.67e-5


def recipe_key(recipe: Recipe) -> str:
    """A recipe's full identity as text (Recipe.key): the key of every shared cache, and of its training's log line.

    Full length (the schedule's whole SHA-256), so that no visitor can craft a schedule whose key collides with
    another's and be shown their numbers; file names may shorten it, caches must not."""
    return recipe.key


def run_bytes(run: TrainedRun) -> int:
    """Memory a finished run holds: its per-step history, replay snapshots and weights."""
    arrays = [*run.history.values(), run.replay.latents, run.replay.steps, run.replay.rgb]
    return sum(a.nbytes for a in arrays) + sum(t.numel() * t.element_size() for t in run.weights.values())


def _models(n: int) -> str:
    return f"{n} model{'' if n == 1 else 's'}"


def _seconds(s: float) -> str:
    """An honest, round estimate: '3 s', 'about 40 s', 'about 2 min'."""
    if s < 10:
        return f"{max(1, math.ceil(s))} s"
    if s < 120:
        return f"about {10 * math.ceil(s / 10)} s"
    return f"about {math.ceil(s / 60)} min"


@dataclass(eq=False)  # identity equality: entries are shared, compared and hashed as objects
class Entry:
    """One recipe on the board, shared by everyone who asked for it."""

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

    `refused` is the message to show when the board did not accept it; `note` says what it replaced."""

    visitor: str | None
    label: str  # a noun phrase other visitors read: "comparison of 32 seeds"
    entries: tuple[Entry, ...]
    created: float
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


class _ShuttingDown(Exception):
    """Raised from the progress callback to abandon a training when the process exits."""


class Board:
    """Process-wide registry of every recipe asked for, with the queue and the one worker that trains them.

    `session_alive(visitor)` says whether a visitor's browser session is still connected (Streamlit's runtime
    knows); without it a visitor counts as present for GRACE_S after their last request or status query.
    `start=False` keeps the worker off, so a test can advance the queue one unit at a time with run_once().
    """

    def __init__(
        self,
        pinned: Sequence[Recipe] = (),
        *,
        train_fn: Callable = train,
        session_alive: Callable[[str], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        chunk_model_steps: int = CHUNK_MODEL_STEPS,
        max_waiting_models: int = MAX_WAITING_MODELS,
        max_kept_mb: float = MAX_KEPT_MB,
        start: bool = True,
    ):
        self.lock = threading.Lock()
        self.wakeup = threading.Condition(self.lock)
        self.entries: OrderedDict[Recipe, Entry] = OrderedDict()  # least recently used first
        self.big: OrderedDict[str | None, BigJob] = OrderedDict()  # one per visitor, in turn order (front: next)
        self.wants: dict[str, OrderedDict[Recipe, None]] = {}  # visitor -> interactive recipes, latest last
        self.seen: dict[str, float] = {}
        self.current: Unit | None = None
        self.trained = Counter()  # recipe -> times trained, for recipes on the board (pruned with it)
        self.models_trained = 0  # all time
        self.speed = 1.0  # measured / predicted seconds of the last trainings (moving average)
        self.pinned = set(pinned)
        self.train_fn, self.session_alive, self.clock = train_fn, session_alive, clock
        self.chunk_model_steps = chunk_model_steps
        self.max_waiting_steps = max_waiting_models * EX24.steps
        self.max_kept_bytes = max_kept_mb * 2**20
        self._order = itertools.count()
        self.stopping = threading.Event()
        self.worker = threading.Thread(target=self._work, name="excolor-trainer", daemon=True)
        if start:
            self.worker.start()
            atexit.register(self.stop)

    # ----------------------------------------------------------------------------------------------
    # Asking

    def request(self, recipes: Sequence[Recipe], visitor: str | None = None) -> list[Entry]:
        """Interactive request: the entries of these recipes (same order), queued ahead of big jobs if new.

        A recipe a big job has queued moves ahead and is trained once for both. Beyond the cap plus the
        interactive reserve the new recipes come back failed with the busy message (nothing is queued)."""
        with self.lock:
            self._touch(visitor)
            new_steps = sum(r.schedule.steps for r in dict.fromkeys(recipes) if r not in self.entries)
            limit = self.max_waiting_steps + INTERACTIVE_RESERVE * EX24.steps
            if new_steps and self._waiting_steps() + new_steps > limit:
                busy = self._busy_message(new_steps, limit)
                return [self.entries.get(r) or self._refused(r, busy) for r in recipes]
            entries = [self._entry(r, anonymous=visitor is None) for r in recipes]
            for e in entries:
                if e.queued and e.urgent is None:
                    e.urgent = next(self._order)
            if visitor is not None:
                wants = self.wants.setdefault(visitor, OrderedDict())
                for r in recipes:
                    wants[r] = None
                    wants.move_to_end(r)
                while len(wants) > INTERACTIVE_KEPT:
                    wants.popitem(last=False)
            self._evict(keep=entries)
            self._drop_unwanted()
            self.wakeup.notify_all()
            return entries

    def request_big(
        self, visitor: str | None, recipes: Sequence[Recipe], label: str, address: str | None = None
    ) -> BigJob:
        """This visitor's big job for these recipes: the one already queued if it is the same, else a new one
        that replaces it (`note` says so), or a refused one (`refused` holds the busy message) if the queue is
        full or the client `address` already holds its share. Recipes trained or queued already are reused; the
        rest train in chunks, in turns with others."""
        recipes = tuple(dict.fromkeys(recipes))
        with self.lock:
            self._touch(visitor)
            old = self.big.get(visitor)  # an unfinished job: finished ones leave the board's rotation
            if old is not None and old.recipes == recipes and old.error is None:
                return old
            new_steps = sum(r.schedule.steps for r in recipes if r not in self.entries)
            freed = sum(e.recipe.schedule.steps for e in old.pending()) if old is not None else 0
            waiting = self._waiting_steps() - freed
            if new_steps > self.max_waiting_steps:
                n = sum(r not in self.entries for r in recipes)
                cap = self.max_waiting_steps // max(r.schedule.steps for r in recipes)
                message = (
                    f"this asks for {_models(n)}, more than the server queues for anyone ({cap} of this schedule's "
                    "length): ask for fewer"
                )
                return BigJob(visitor, label, (), self.clock(), refused=message)
            if new_steps and waiting + new_steps > self.max_waiting_steps:
                busy = self._busy_message(new_steps, self.max_waiting_steps, freed)
                return BigJob(visitor, label, (), self.clock(), refused=busy)
            crowded = self._address_over_share(address, visitor, new_steps)
            if crowded:
                return BigJob(visitor, label, (), self.clock(), refused=crowded, address=address)
            note = None
            if old is not None and old.recipes != recipes:  # (the same recipes again: a retry after a failure)
                note = f"your earlier {old.label} was replaced by this one (what it had trained already is kept)"
            job = BigJob(
                visitor, label, tuple(self._entry(r) for r in recipes), self.clock(), note=note, address=address
            )
            self.big.pop(visitor, None)
            if not job.done:
                self.big[visitor] = job  # joins the rotation at the back; it leaves when its last chunk is done
            self._evict(keep=job.entries)
            self._drop_unwanted()
            self.wakeup.notify_all()
            return job

    def lookup(self, recipes: Sequence[Recipe], visitor: str | None = None) -> list[Entry | None]:
        """The entries of these recipes (from this visitor's big job first), None for any not on the board.
        Asks for nothing: a status query never queues work."""
        with self.lock:
            self._touch(visitor)
            job = self.big.get(visitor)
            held = {e.recipe: e for e in job.entries} if job is not None else {}
            return [held.get(r) or self.entries.get(r) for r in recipes]

    def _touch(self, visitor: str | None) -> None:
        if visitor is not None:
            self.seen[visitor] = self.clock()

    def _entry(self, recipe: Recipe, anonymous: bool = False) -> Entry:
        entry = self.entries.get(recipe)
        if entry is None:
            entry = self.entries[recipe] = Entry(recipe, asked=self.clock())
        self.entries.move_to_end(recipe)
        entry.anonymous |= anonymous
        return entry

    def _refused(self, recipe: Recipe, message: str) -> Entry:
        entry = Entry(recipe, asked=self.clock())
        entry.finish(error=message)
        return entry

    # ----------------------------------------------------------------------------------------------
    # Bookkeeping

    def _waiting_steps(self) -> int:
        return sum(e.recipe.schedule.steps for e in self.entries.values() if e.queued)

    def _address_over_share(self, address: str | None, visitor: str | None, new_steps: int) -> str | None:
        """The refusal when the other big jobs from `address` plus this one would hold more than ADDRESS_SHARE of
        the queue: many sessions (or browsers) of one client cannot keep everyone else's work out."""
        if address is None or not new_steps:
            return None
        held = sum(
            e.recipe.schedule.steps
            for v, job in self.big.items()
            if job.address == address and v != visitor
            for e in job.pending()
        )
        share = int(self.max_waiting_steps * ADDRESS_SHARE)
        if held + new_steps <= share:
            return None
        return (
            f"other visitors at your network address have {_models(held // EX24.steps)} waiting and one address may "
            f"queue at most {_models(share // EX24.steps)}: try again when theirs are trained"
        )

    def _busy_message(self, new_steps: int, limit: int, freed: int = 0) -> str:
        waiting = [e for e in self.entries.values() if e.queued]
        excess = sum(e.recipe.schedule.steps for e in waiting) - freed + new_steps - limit
        eta = self._predict(excess, self.chunk_model_steps // EX24.steps) + self._current_left()
        return f"the server is busy: {_models(len(waiting))} ahead, try again in {_seconds(eta)}"

    def _alive(self, visitor: str | None) -> bool:
        if visitor is None:
            return True
        if self.session_alive is not None and self.session_alive(visitor):
            return True
        return self.clock() - self.seen.get(visitor, -math.inf) < GRACE_S

    def _drop_unwanted(self) -> None:
        """Forget visitors who left, then drop queued recipes that nobody waits for any more (their entries fail
        with a note, so a later request queues them afresh)."""
        for visitor in [v for v in self.seen if not self._alive(v)]:
            self.seen.pop(visitor)
            self.wants.pop(visitor, None)
            self.big.pop(visitor, None)
        wanted = set(self.pinned)
        for wants in self.wants.values():
            wanted.update(wants)
        for job in self.big.values():
            wanted.update(e.recipe for e in job.pending())
        for recipe, entry in list(self.entries.items()):
            if entry.queued and not entry.anonymous and recipe not in wanted:
                del self.entries[recipe]
                entry.finish(error="dropped from the queue: no page was waiting for it any more")

    def _evict(self, keep: Iterable[Entry] = ()) -> None:
        """Forget the least recently used finished runs beyond the memory budget. Never a pinned recipe, never
        one `keep` holds (the request being answered), never one an unfinished big job still needs, never one a
        visitor still looks at (their last few pairs): their next rerun would only train it again."""
        protected = {id(e) for e in keep}
        for job in self.big.values():  # unfinished jobs only
            protected.update(id(e) for e in job.entries)
        for wants in self.wants.values():  # visitors still here (_drop_unwanted forgets the others)
            protected.update(id(self.entries[r]) for r in wants if r in self.entries)
        total = sum(e.bytes for e in self.entries.values())
        for recipe, entry in list(self.entries.items()):
            if total <= self.max_kept_bytes:
                break
            if entry.run is None or recipe in self.pinned or id(entry) in protected:
                continue
            del self.entries[recipe]
            self.trained.pop(recipe, None)
            total -= entry.bytes

    # ----------------------------------------------------------------------------------------------
    # The queue's order

    def plan(self, limit: int | None = None) -> list[Unit]:
        """The units the worker would train next, in order, if nothing new arrived (none is started)."""
        with self.lock:
            return self._plan(limit)

    def _plan(self, limit: int | None = None) -> list[Unit]:
        urgent = sorted((e for e in self.entries.values() if e.queued and e.urgent is not None), key=lambda e: e.urgent)
        taken = {id(e) for e in urgent}
        units = [Unit(group) for group in self._batches(urgent)]
        running = self.current.job if self.current is not None else None
        rotation = [job for job in self.big.values() if job.pending() and job is not running]
        if running is not None and running.pending():
            rotation.append(running)  # its turn is now: after this chunk it goes to the back
        while rotation and (limit is None or len(units) < limit):
            job = rotation.pop(0)
            pending = [e for e in job.pending() if id(e) not in taken]
            if not pending:
                continue
            group = self._batch(pending)
            units.append(Unit(group, job))
            taken.update(id(e) for e in group)
            if len(group) < len(pending):
                rotation.append(job)  # its next chunk waits for every other job's turn
        return units if limit is None else units[:limit]

    def _batches(self, entries: list[Entry]) -> list[tuple[Entry, ...]]:
        """Cut entries (oldest first) into chunks, each led by the oldest entry left."""
        groups = []
        while entries:
            group = self._batch(entries)
            groups.append(group)
            entries = [e for e in entries if e not in group]
        return groups

    def _batch(self, entries: list[Entry]) -> tuple[Entry, ...]:
        """The first entry and the next ones that can train with it (same schedule and batch size), one chunk."""
        first = entries[0].recipe
        size = max(1, self.chunk_model_steps // first.schedule.steps)
        same = [e for e in entries if e.recipe.batch_size == first.batch_size and e.recipe.schedule == first.schedule]
        return tuple(same[:size])

    # ----------------------------------------------------------------------------------------------
    # The worker

    def run_once(self) -> Unit | None:
        """Train the next unit now, on this thread (tests use it with start=False); None if nothing waits."""
        unit = self._take(wait=False)
        if unit is not None:
            self._train(unit)
        return unit

    def _work(self) -> None:
        torch.set_num_threads(1)
        while (unit := self._take(wait=True)) is not None:
            self._train(unit)

    def _take(self, wait: bool) -> Unit | None:
        with self.wakeup:
            while not self.stopping.is_set():
                self._drop_unwanted()
                plan = self._plan(limit=1)
                if plan:
                    unit = plan[0]
                    unit.started = time.perf_counter()
                    for e in unit.entries:
                        e.unit = unit
                    self.current = unit
                    return unit
                if not wait:
                    return None
                self.wakeup.wait(GRACE_S)  # woken by requests; the timeout lets departed visitors' work drop
            return None

    def _train(self, unit: Unit) -> None:
        def progress(step: int, steps: int, losses: dict) -> None:
            if self.stopping.is_set():
                raise _ShuttingDown
            unit.step, unit.losses = step, losses

        recipes = [e.recipe for e in unit.entries]
        runs, error = None, None
        try:
            runs = self.train_fn(recipes, progress=progress)
        except _ShuttingDown:
            error = "the server is shutting down"
        except Exception as err:  # a bad recipe must not take the worker down with it
            error = f"training failed: {type(err).__name__}: {err}"
        unit.seconds = time.perf_counter() - unit.started
        with self.lock:
            for i, entry in enumerate(unit.entries):
                entry.finish(runs[i] if runs else None, error)
                if error and self.entries.get(entry.recipe) is entry:
                    del self.entries[entry.recipe]  # a later request retries it
            if runs:
                self.trained.update(r for r in recipes if r in self.entries)
                self.models_trained += len(recipes)
                ratio = unit.seconds / self._predict(unit.steps * len(unit), len(unit), scaled=False)
                self.speed = ratio if self.models_trained == len(recipes) else 0.7 * self.speed + 0.3 * ratio
            if unit.job is not None and self.big.get(unit.job.visitor) is unit.job:
                self.big.move_to_end(unit.job.visitor)  # its turn is over: jobs that arrived meanwhile go first
            for visitor, job in list(self.big.items()):
                if job.done:
                    del self.big[visitor]
            self.current = None
            self._evict()
        keys = " ".join(recipe_key(r) for r in recipes)
        if error:
            log.warning("training %s stopped after %.1f s: %s", keys, unit.seconds, error)
        else:
            log.info("trained %s in %.1f s", keys, unit.seconds)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker (within ~100 training steps) and wait for it; queued work fails with a note.

        Called at exit: a daemon thread still inside a PyTorch kernel when the interpreter finalizes aborts the
        whole process (exit code 134), which would fail a test run that had passed."""
        with self.wakeup:
            self.stopping.set()
            for entry in self.entries.values():
                if entry.queued:
                    entry.finish(error="the server is shutting down")
            self.wakeup.notify_all()
        if self.worker.is_alive():
            self.worker.join(timeout)

    # ----------------------------------------------------------------------------------------------
    # Estimates and status

    def _predict(self, model_steps: float, models_per_unit: int, scaled: bool = True) -> float:
        """Seconds to train `model_steps` (models x steps) in units of `models_per_unit` models."""
        per_model_step = STEP_OVERHEAD_S / max(models_per_unit, 1) + STEP_PER_MODEL_S
        return model_steps * per_model_step * (self.speed if scaled else 1.0)

    def _unit_seconds(self, unit: Unit) -> float:
        return self._predict(unit.steps * len(unit), len(unit))

    def _current_left(self) -> float:
        unit = self.current
        if unit is None or unit.started is None:
            return 0.0
        elapsed = time.perf_counter() - unit.started
        # Extrapolate from the steps done once there are enough of them: the first ones run slower while the
        # server is busy (at its start, it is still loading modules), and extrapolating them promised 30 s for 1.
        if unit.step and unit.step >= unit.steps // 10:
            return elapsed * (unit.steps - unit.step) / unit.step
        return max(self._unit_seconds(unit) - elapsed, 0.0)

    def status(self, entries: Sequence[Entry | None], visitor: str | None = None, since: float | None = None) -> Status:
        """Where these entries stand (from lookup() or a request): done with a summary, failed with the reason,
        or how many models train before them, what runs now, and an estimate. `since`: when the asker started
        waiting (clock time), for the progress bar."""
        with self.lock:
            self._touch(visitor)
            if any(e is None for e in entries):
                return Status(0.0, "not queued yet")
            if error := next((e.error for e in entries if e.error), None):
                return Status(1.0, error, done=True, error=error)
            if all(e.done.is_set() for e in entries):
                units = {id(e.unit): e.unit for e in entries if e.unit is not None}.values()
                seconds = sum(u.seconds or 0.0 for u in units)
                return Status(1.0, f"{_models(len(entries))} trained in {seconds:.1f} s", done=True)
            return self._waiting_status(entries, visitor, since)

    def _waiting_status(self, entries: Sequence[Entry], visitor: str | None, since: float | None) -> Status:
        """Walk the plan: models ahead = every model that trains before the next of these; the estimate runs
        to the unit that trains the last of these (other jobs' chunks in between included)."""
        mine = {id(e) for e in entries if not e.done.is_set()}
        finished = len(entries) - len(mine)
        cur, eta, ahead = self.current, self._current_left(), 0
        cur_mine = cur is not None and any(id(e) in mine for e in cur.entries)
        if cur_mine:
            ours = sum(id(e) in mine for e in cur.entries)
            together = f"{_models(len(cur))} together, {ours} of yours" if ours < len(cur) else _models(len(cur))
            parts = [f"training {together}: step {cur.step:,} of {cur.steps:,}"]
            mine -= {id(e) for e in cur.entries}
        elif cur is not None:
            ahead = len(cur)
            parts = [f"waiting for {self._describe(cur, visitor)} (step {cur.step:,} of {cur.steps:,})"]
        else:
            parts = ["queued"]
        started = cur_mine
        for unit in self._plan():
            if not mine:
                break
            hits = {id(e) for e in unit.entries} & mine
            eta += self._unit_seconds(unit)
            if not started and not hits:
                ahead += len(unit)
            started |= bool(hits)
            mine -= hits
        if not cur_mine:
            parts.append(f"{_models(ahead)} ahead of yours" if ahead else "yours are next")
        if finished:
            parts.append(f"{finished} of {len(entries)} done")
        parts.append(f"{_seconds(eta)} to go")
        start = min(e.asked for e in entries) if since is None else since
        waited = max(self.clock() - start, 0.0)
        fraction = min(waited / (waited + eta), 0.99) if waited + eta > 0 else 0.0
        return Status(fraction, " · ".join(parts), ahead=ahead, eta=eta)

    def _describe(self, unit: Unit, visitor: str | None) -> str:
        if unit.job is None:
            if all(e.recipe in self.pinned for e in unit.entries):  # e.g. trained as the server starts
                return f"the default {_models(len(unit))} every page shows first"
            return f"another visitor's new {_models(len(unit))}"
        whose = "your" if unit.job.visitor == visitor else "another visitor's"
        return f"the current chunk of {whose} {unit.job.label}"
