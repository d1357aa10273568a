"""The experiment lab: train two designs (or the eight of the factorial screen) over many seeds and measure them.

`compare(a, b, n)` answers "is B better than A?" with evidence.summarize's paired statistics. `screen(n)` answers
"which term matters?": the 2³ designs where each of anchor, separate and planar reads the encoder (pre) or the
bottleneck (post) tap, and for each term its *main effect*, the change from moving that term alone from pre to
post, averaged over the four settings of the other two (SPEC §10). All runs of a batch train together as one
batched model; each run is measured as soon as its batch is done and then let go. The screen's words are in
excolor.screen_verdicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import evidence as ev
from .designs import FACTORIAL, PLACED_TERMS, parse_design
from .measures import MEASURE_BY_KEY, Measure, run_record, value
from .schedule import EX24, Schedule
from .screen_verdicts import measure_reading
from .train import Recipe, train
from .tuning import release_memory

BATCH_MODELS = 32  # models per training batch: a batch's training data grows with it (32 models: ~370 MB)
SCREEN_KEYS = ("baseline_max", "recon", "planar")  # the headline measures of the screen
# "strong" evidence in the screen clears the Bonferroni bar its verdict states: 0.05 ÷ (3 terms × 3 measures)
SCREEN_STRONG = ev.strong_bar(len(PLACED_TERMS) * len(SCREEN_KEYS))
INTERACTIONS = tuple((PLACED_TERMS[i], PLACED_TERMS[j]) for i in range(3) for j in range(i + 1, 3))


# --------------------------------------------------------------------------------------------------
# Training and measuring


@dataclass
class Timing:
    """Wall and CPU seconds spent training and measuring (CPU time is the fair number on a shared machine)."""

    train_seconds: float = 0.0
    measure_seconds: float = 0.0
    train_cpu: float = 0.0
    measure_cpu: float = 0.0


def comparison_recipes(a, b, n_seeds: int, schedule: Schedule = EX24) -> list[Recipe]:
    """Seeds 0..n-1, A then B for each seed: the same order as the records and the JSON."""
    return [Recipe(design, s, schedule) for s in range(n_seeds) for design in (a, b)]


def screen_recipes(n_seeds: int, schedule: Schedule = EX24) -> list[Recipe]:
    """The eight factorial designs for each of seeds 0..n-1."""
    return [Recipe(design, s, schedule) for s in range(n_seeds) for design in FACTORIAL]


def train_and_measure(
    recipes: Sequence[Recipe],
    batch_models: int = BATCH_MODELS,
    on_step: Callable[[int, int, int, int], None] | None = None,
    on_measured: Callable[[int, int], None] | None = None,
    timing: Timing | None = None,
) -> list[dict]:
    """One record per recipe (measures.run_record), in the recipes' order.

    Recipes train in batches of at most `batch_models`; a batch's runs are measured, then dropped, before the
    next batch trains, so memory holds one batch at a time. A recipe listed twice trains once.
    `on_step(batch, n_batches, step, steps)` reports training, `on_measured(done, total)` measuring.
    """
    unique = list(dict.fromkeys(recipes))
    batches = [unique[i : i + batch_models] for i in range(0, len(unique), batch_models)]
    timing = Timing() if timing is None else timing
    records: dict[Recipe, dict] = {}
    for number, batch in enumerate(batches, start=1):
        start, cpu = time.perf_counter(), time.process_time()

        def step(t: int, steps: int, losses: dict, number: int = number) -> None:
            if on_step is not None:
                on_step(number, len(batches), t, steps)

        runs = train(batch, progress=step)
        timing.train_seconds += time.perf_counter() - start
        timing.train_cpu += time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        for run in runs:
            records[run.recipe] = run_record(run)
            release_memory()  # measuring frees tens of MB per run: hand it back before the next one
            if on_measured is not None:
                on_measured(len(records), len(unique))
        del runs
        timing.measure_seconds += time.perf_counter() - start
        timing.measure_cpu += time.process_time() - cpu
    return [records[r] for r in recipes]


def compare(a, b, n_seeds: int, schedule: Schedule = EX24, **options) -> tuple[list[dict], dict]:
    """Train and measure designs A and B on seeds 0..n-1; (records, evidence.summarize's summary).
    `options` go to train_and_measure (batch_models, on_step, on_measured, timing)."""
    a, b = ev.canonical(a), ev.canonical(b)
    records = train_and_measure(comparison_recipes(a, b, n_seeds, schedule), **options)
    return records, ev.summarize(records, a, b)


def screen(n_seeds: int, schedule: Schedule = EX24, **options) -> tuple[list[dict], dict]:
    """Train and measure the factorial screen on seeds 0..n-1; (records, summarize_screen's summary)."""
    records = train_and_measure(screen_recipes(n_seeds, schedule), **options)
    return records, summarize_screen(records)


# --------------------------------------------------------------------------------------------------
# Main effects and interactions


def _cell(design_text: str) -> int | None:
    """Index 0..7 of a design in the factorial cube, bits (anchor, separate, planar) with post = 1; None for a
    design outside the screen (a term off, unitarity off)."""
    design = parse_design(design_text)
    taps = [getattr(design, term) for term in PLACED_TERMS]
    if not design.unit or any(t not in ("pre", "post") for t in taps):
        return None
    return sum((t == "post") << (2 - i) for i, t in enumerate(taps))


def factorial_cube(records: Sequence[dict], measure: Measure | str) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, values (n_seeds, 2, 2, 2)) indexed [seed, anchor, separate, planar] with 0 = pre, 1 = post, for
    the seeds that have a finite value in all eight cells."""
    table: dict[int, np.ndarray] = {}
    for r in records:
        cell = _cell(ev.design_of(r))
        if cell is not None:
            table.setdefault(int(r["seed"]), np.full(8, np.nan))[cell] = value(r, measure)
    seeds = sorted(s for s, v in table.items() if np.isfinite(v).all())
    values = np.array([table[s] for s in seeds], dtype=float).reshape(len(seeds), 2, 2, 2)
    return np.array(seeds, dtype=int), values


def _signs() -> np.ndarray:
    """(8, 3): +1 where a term reads post, −1 where it reads pre, for cells 0..7 (anchor is the high bit)."""
    bits = (np.arange(8)[:, None] >> np.array([2, 1, 0])) & 1
    return 2.0 * bits - 1.0


def effects(values: np.ndarray) -> dict[str, np.ndarray]:
    """Per-seed effects from a (n, 2, 2, 2) cube, each as the classic 2³ contrast: (signs · values) / 4.

    - main effect of a term = mean of the four cells with it post − mean of the four with it pre
      = the mean, over the other two terms' settings, of (term post − term pre): SPEC §10's definition;
    - interaction of two terms = half the change in the first term's effect when the second moves pre → post
      (symmetric in the two terms; 0 when each term's effect is the same whatever the other does);
    - total = all post − all pre (post-norm − pre-norm), which equals the sum of the three main effects plus the
      three-way interaction: the main effects split post-norm's difference among the terms.
    """
    flat = values.reshape(len(values), 8)
    s = _signs()
    out = {term: flat @ s[:, i] / 4 for i, term in enumerate(PLACED_TERMS)}
    for t1, t2 in INTERACTIONS:
        i, j = PLACED_TERMS.index(t1), PLACED_TERMS.index(t2)
        out[interaction_name(t1, t2)] = flat @ (s[:, i] * s[:, j]) / 4
    out["three-way"] = flat @ s.prod(axis=1) / 4
    out["total"] = flat[:, 7] - flat[:, 0]
    return out


def interaction_name(t1: str, t2: str) -> str:
    return f"{t1} × {t2}"


def summarize_screen(records: Sequence[dict], n_resamples: int = ev.RESAMPLES, seed: int = 0) -> dict:
    """For each headline measure: the total difference post-norm − pre-norm and each term's main effect and
    pairwise interaction across seeds (median, bootstrap 95% CI, wins of term-post over term-pre with their
    sign-test p), the terms that drive the difference, and a sentence. JSON-ready."""
    measures = {}
    for key in SCREEN_KEYS:
        m = MEASURE_BY_KEY[key]
        seeds, cube = factorial_cube(records, m)
        per_seed = effects(cube) if len(seeds) else {}
        scale = float(np.median(cube[:, 0, 0, 0])) if len(seeds) else None

        def stats(name: str, m=m, seeds=seeds, per_seed=per_seed, scale=scale) -> dict:
            diffs = per_seed.get(name, np.array([]))
            return ev.paired_stats(seeds, diffs, m.better, scale, n_resamples, seed, strong_below=SCREEN_STRONG)

        entry = {
            "label": m.label,
            "better": m.better,
            "n_seeds": int(len(seeds)),
            "pre_median": scale,  # all three terms pre: the pre-norm design
            "total": stats("total"),
            "effects": {term: stats(term) for term in PLACED_TERMS},
            "interactions": {interaction_name(*p): stats(interaction_name(*p)) for p in INTERACTIONS},
        }
        entry["drivers"] = drivers(entry)
        entry["reading"] = measure_reading(entry)
        measures[key] = entry
    seeds_all = sorted({int(r["seed"]) for r in records})
    return {
        "designs": [d.text for d in FACTORIAL],
        "terms": list(PLACED_TERMS),
        "n_seeds": len(seeds_all),
        "seeds": seeds_all,
        "statistic": "median over seeds of each term's main effect (term post − term pre, averaged over the "
        "other two terms' settings)",
        "level": ev.LEVEL,
        "resamples": n_resamples,
        "bootstrap_seed": seed,
        "train_seconds": round(float(sum(r.get("train_seconds", 0.0) for r in records)), 3),
        "diverged": [{"design": ev.design_of(r), "seed": int(r["seed"])} for r in records if r.get("diverged")],
        "measures": measures,
    }


DOMINANT = 2.0  # a term "drives" a difference when its effect is at least this many times any other clear one's


def drivers(entry: dict) -> list[str]:
    """The terms whose main effect is clear (interval excludes zero, enough seeds), largest |median| first; when
    the largest is at least DOMINANT times the next, only it."""
    clear = [(abs(s["median_diff"]), t) for t, s in entry["effects"].items() if s["clear"]]
    clear.sort(reverse=True)
    if len(clear) >= 2 and clear[0][0] >= DOMINANT * clear[1][0]:
        return [clear[0][1]]
    return [t for _, t in clear]


def screen_rows(summary: dict) -> list[dict]:
    """One row per (measure, effect) for a table or a chart: median, interval, % of pre-norm, wins, p, strength."""
    rows = []
    for key, m in summary["measures"].items():
        named = {**m["effects"], **m["interactions"], "total (post − pre)": m["total"]}
        for name, s in named.items():
            rows.append(
                {
                    "measure": m["label"],
                    "key": key,
                    "effect": name,
                    "kind": "main"
                    if name in PLACED_TERMS
                    else ("total" if name.startswith("total") else "interaction"),
                    "median": s["median_diff"],
                    "lo": s["ci"][0],
                    "hi": s["ci"][1],
                    "median %": s["relative_median_diff"],
                    "lo %": s["relative_ci"][0],
                    "hi %": s["relative_ci"][1],
                    "post better": f"{s['wins']['b']} of {s['n_pairs']}",
                    "sign test p": s["sign_p"],
                    "evidence": s["strength"],
                }
            )
    return rows


def screen_json(records: Sequence[dict], summary: dict) -> str:
    """The screen as one JSON object, {"designs": [...], "runs": [...], "summary": {...}}."""
    import json

    out = {"designs": summary["designs"], "runs": list(records), "summary": summary}
    return json.dumps(ev.json_ready(out), allow_nan=False)
