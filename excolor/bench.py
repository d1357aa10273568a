"""`python -m excolor bench`: the training, evaluation and lab speed targets, each measured beside its target.

CPU time is the number each target is judged on: on a quiet machine with one thread it equals wall time, on a
shared one wall time also counts other processes' turns.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .evaluate import evaluate, prepare
from .interventions import default_interventions
from .lab import Timing, compare, screen
from .measures import measure_run
from .schedule import parse_dopesheet
from .train import Recipe, train
from .tuning import release_memory


def _timed(fn, repeat: int = 1) -> tuple[float, float]:
    """Median wall and CPU seconds of `fn` over `repeat` calls. On a quiet machine with one thread they agree; on
    a shared one wall time also counts other processes' turns, and CPU time is what a quiet machine would take."""
    times = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return float(np.median([t[0] for t in times])), float(np.median([t[1] for t in times]))


def _bench_line(label: str, wall: float, cpu: float, target: str, met: bool) -> None:
    print(f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU   target {target}: {'met' if met else 'MISSED'} (CPU)")


def training(batch_models: int) -> int:
    """Issue 11's training targets, each measured number beside its target; `batch_models` as the sweep uses."""
    print(f"threads: {torch.get_num_threads()}")
    train(Recipe(schedule=parse_dopesheet("STEP,lr\n0,0.01\n50,0.01\n")))  # warm up kernels and imports
    one, one_cpu = _timed(lambda: train(Recipe()), repeat=3)
    _bench_line("train 1 run (3,001 steps)", one, one_cpu, "<= 1.0 s", one_cpu <= 1.0)
    both, both_cpu = _timed(lambda: train([Recipe("pre"), Recipe("post")]), repeat=3)
    ratio = both_cpu / one_cpu
    _bench_line(f"train both placements together ({ratio:.2f}x one run)", both, both_cpu, "<= 1.2x", ratio <= 1.2)
    sixteen, sixteen_cpu = _timed(lambda: train([Recipe(p, s) for p in ("pre", "post") for s in range(8)]))
    per_model = sixteen_cpu / 16
    _bench_line(
        f"train 16 models together ({per_model:.3f} s CPU per model)",
        sixteen,
        sixteen_cpu,
        "<= 0.15 s per model",
        per_model <= 0.15,
    )
    timing = Timing()
    sweep, sweep_cpu = _timed(lambda: compare("pre", "post", 32, batch_models=batch_models, timing=timing))
    _bench_line(
        f"sweep --seeds 32, 64 models (train {timing.train_cpu:.1f} s CPU, measure {timing.measure_cpu:.1f} s CPU)",
        sweep,
        sweep_cpu,
        "<= 20 s train + measure",
        sweep_cpu <= 20,
    )
    run = train(Recipe())[0]
    start = time.perf_counter()
    probe = prepare(run.model)
    print(f"encode evaluation grids once per model: {time.perf_counter() - start:.3f} s")
    suppression = default_interventions()["suppression"]
    per_eval, _ = _timed(lambda: evaluate(probe, suppression), repeat=7)
    print(f"evaluate one intervention over the 552,960-color dense grid, metrics included: {per_eval:.3f} s")
    return 0


def lab() -> int:
    """The lab's speed bars (issue 10), train + measure on one thread: wall time, and CPU time, which is what the
    wall time would be on a quiet machine (on a shared one, wall time also counts the other processes' turns)."""
    print(f"threads: {torch.get_num_threads()}")
    train(Recipe(schedule=parse_dopesheet("STEP,lr\n0,0.01\n50,0.01\n")))  # warm up kernels and imports
    for label, bar, job in (
        ("compare pre vs post, 2 designs x 8 seeds (16 models)", 10.0, lambda t: compare("pre", "post", 8, timing=t)),
        ("screen, 8 designs x 4 seeds (32 models)", 25.0, lambda t: screen(4, timing=t)),
    ):
        timing = Timing()
        wall, cpu = time.perf_counter(), time.process_time()
        records, _ = job(timing)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU ({'within' if cpu <= bar else 'OVER'} the {bar:.0f} s bar "
            f"on CPU, {'within' if wall <= bar else 'over'} it on wall); train {timing.train_cpu:.2f} s CPU "
            f"({timing.train_seconds:.2f} s wall), measure {timing.measure_cpu:.2f} s CPU "
            f"({timing.measure_cpu / len(records):.3f} s per run)"
        )
    run = train(Recipe())[0]
    start = time.process_time()
    for _ in range(5):
        measure_run(run)
        release_memory()
    per_run = (time.process_time() - start) / 5
    print(f"measure one run (dense grid, 2 interventions, selectivity, hue peaks, validation): {per_run:.3f} s CPU")
    return 0
