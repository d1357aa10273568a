"""Evidence across seeds: does post-norm placement really beat pre-norm, or was the notebook's one seed lucky?

Each seed trains the same network twice, once per placement, from the same initial weights and the same
batches. That makes the runs *paired*: seed s's post-norm run is compared with seed s's pre-norm run, and the
question becomes "how big is the difference post − pre, and how sure are we of its sign?". We answer it with
a win count (on how many seeds post-norm came out ahead) and a bootstrap interval for the median paired
difference. Everything here is plain numpy on small JSON-ready records; the app and the CLI lay it out.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

PLACEMENT_ORDER = ("pre", "post")
PLACEMENT_LABELS = {"pre": "pre-norm", "post": "post-norm"}
INTERVENTION_NAMES = ("baseline", "suppression", "repulsion")
LEVEL = 0.95
RESAMPLES = 10_000
MIN_SEEDS_TO_CALL = 5  # with fewer pairs a bootstrap interval is little more than their range: never "clear"


@dataclass(frozen=True)
class Measure:
    """One number per run that the sweep compares between placements."""

    key: str
    label: str  # reads inside a sentence: "post-norm had the lower {label} on 6 of 8 seeds"
    path: tuple[str, ...]  # where the value sits in a sweep record
    better: str | None  # "lower", "higher", or None when neither direction is "better"
    group: str
    meaning: str  # one line for a newcomer: what the number says


MEASURES = (
    Measure(
        "baseline_max",
        "baseline max error",
        ("metrics", "baseline", "max"),
        "lower",
        "reconstruction",
        "the worst-reconstructed color on the dense grid, no intervention",
    ),
    Measure(
        "baseline_median",
        "baseline median error",
        ("metrics", "baseline", "median"),
        "lower",
        "reconstruction",
        "a typical color's reconstruction error, no intervention",
    ),
    Measure(
        "recon",
        "validation reconstruction loss",
        ("validation", "recon"),
        "lower",
        "reconstruction",
        "reconstruction loss over the whole training grid, weighted as training samples it",
    ),
    Measure(
        "anchor",
        "anchor loss",
        ("validation", "anchor"),
        "lower",
        "structure",
        "how far red colors sit from the red direction (1,0,0,0) after normalization",
    ),
    Measure(
        "planar",
        "planarity loss",
        ("validation", "planar"),
        "lower",
        "structure",
        "how far vibrant colors stray out of the plane of latent dimensions 0 and 1",
    ),
    Measure(
        "suppression_max",
        "suppression max error",
        ("metrics", "suppression", "max"),
        None,
        "interventions",
        "how much suppression changes the most-affected color (red): larger means a stronger effect",
    ),
    Measure(
        "repulsion_max",
        "repulsion max error",
        ("metrics", "repulsion", "max"),
        None,
        "interventions",
        "how much repulsion changes the most-affected color: larger means a stronger effect",
    ),
    Measure(
        "suppression_r",
        "suppression selectivity r",
        ("selectivity", "suppression"),
        "higher",
        "interventions",
        "correlation of suppression's damage with similarity to red: near 1 means it hits red and spares the rest",
    ),
    Measure(
        "repulsion_r",
        "repulsion selectivity r",
        ("selectivity", "repulsion"),
        "higher",
        "interventions",
        "correlation of repulsion's damage with similarity to red: near 1 means it hits red and spares the rest",
    ),
)
MEASURE_BY_KEY = {m.key: m for m in MEASURES}
GROUPS = {
    "reconstruction": "Reconstruction",
    "structure": "Latent structure",
    "interventions": "Interventions",
}
HYPOTHESIS_KEYS = ("baseline_max", "baseline_median", "recon", "anchor", "planar")  # what the notebook predicted
HEADLINE_KEY = "baseline_max"  # the notebook's headline number


# --------------------------------------------------------------------------------------------------
# Per-run measurements (the only part that touches a model)


def measure_run(run) -> dict:
    """Dense-grid max/median error for the baseline and both default interventions, their selectivity, and
    the regularizers on a fixed validation set. The evaluation grids are encoded here and then let go:
    a sweep of 64 runs must not keep 64 encoded dense grids (~20 MB each) alive."""
    from .evaluate import prepare, standard_metrics, validation_losses

    probe = prepare(run.model)
    measured = standard_metrics(probe, INTERVENTION_NAMES)
    metrics = {name: {"max": m["max"], "median": m["median"]} for name, m in measured.items()}
    selectivity = {name: m["selectivity"] for name, m in measured.items() if name != "baseline"}
    validation = validation_losses(run.model)
    del probe
    release_memory()
    return {"metrics": metrics, "selectivity": selectivity, "validation": validation}


def release_memory() -> None:
    """Hand freed memory back to the operating system (glibc only; elsewhere a no-op).

    Encoding the dense grid allocates and frees ~150 MB of tensors per run. glibc keeps much of that in
    fragmented heaps, so without a trim a 16-run sweep grows the process by ~40 MB per run although
    nothing is leaked; with it, the process returns to where it started. Takes about a millisecond.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def sweep_record(run, measured: dict | None = None) -> dict:
    """One run as a record: the same keys as `python -m excolor train --json` gives, plus `selectivity`
    (suppression, repulsion) and `validation` (recon, unit, anchor, planar on the fixed validation set)."""
    measured = measure_run(run) if measured is None else measured
    return {
        **run.describe(),
        "metrics": measured["metrics"],
        "selectivity": measured["selectivity"],
        "validation": measured["validation"],
    }


def sweep_records(runs: Sequence, progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """A record per run, measuring one run at a time; `progress(done, total)` after each."""
    records = []
    for i, run in enumerate(runs):
        records.append(sweep_record(run))
        if progress is not None:
            progress(i + 1, len(runs))
    return records


# --------------------------------------------------------------------------------------------------
# Statistics


def value(record: dict, measure: Measure | str) -> float:
    """A measure's value in a record; NaN when it is missing or not a finite number (e.g. a diverged run)."""
    measure = MEASURE_BY_KEY[measure] if isinstance(measure, str) else measure
    node = record
    for part in measure.path:
        if not isinstance(node, dict) or part not in node:
            return float("nan")
        node = node[part]
    try:
        x = float(node)
    except (TypeError, ValueError):
        return float("nan")
    return x if math.isfinite(x) else float("nan")


def paired_differences(records: Sequence[dict], measure: Measure | str) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, post − pre) for every seed with a finite value for both placements, in seed order."""
    by_seed: dict[int, dict[str, float]] = {}
    for r in records:
        by_seed.setdefault(int(r["seed"]), {})[r["placement"]] = value(r, measure)
    seeds = sorted(s for s, v in by_seed.items() if all(np.isfinite(v.get(p, np.nan)) for p in PLACEMENT_ORDER))
    diffs = np.array([by_seed[s]["post"] - by_seed[s]["pre"] for s in seeds], dtype=float)
    return np.array(seeds, dtype=int), diffs


def bootstrap_ci(
    diffs: Sequence[float],
    stat: Callable = np.median,
    n: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `stat` (called as stat(samples, axis=1)): resample the values with
    replacement `n` times, compute the statistic of each resample, and keep the middle `level` of them.
    Seeded, so the same numbers always give the same interval. (NaN, NaN) for no data."""
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    samples = d[rng.integers(0, d.size, size=(n, d.size))]
    stats = stat(samples, axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [tail, 1.0 - tail])
    # Quantile interpolation can land a hair outside the data's range (or off a constant); clip to it.
    return float(np.clip(lo, d.min(), d.max())), float(np.clip(hi, d.min(), d.max()))


def win_counts(diffs: Sequence[float], better: str | None) -> dict[str, int]:
    """How many differences (post − pre) favour each placement. With no preferred direction, 'post'
    counts seeds where post-norm is higher."""
    d = np.asarray(diffs, dtype=float)
    post_higher, post_lower = int((d > 0).sum()), int((d < 0).sum())
    post = post_lower if better == "lower" else post_higher
    pre = post_higher if better == "lower" else post_lower
    return {"post": post, "pre": pre, "ties": int(d.size - post_higher - post_lower)}


def _describe(values: np.ndarray) -> dict:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {"n": 0, "median": None, "mean": None, "min": None, "max": None}
    return {
        "n": int(v.size),
        "median": float(np.median(v)),
        "mean": float(v.mean()),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def _percent_of(x: float, scale: float | None) -> float | None:
    """x as a percentage of |scale|: a positive rescaling, so its sign and its interval's sign match x's."""
    return _finite_or_none(x / abs(scale) * 100.0) if scale else None


def _finite_or_none(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def summarize(
    records: Sequence[dict],
    n_resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> dict:
    """Per measure: each placement's distribution, the paired differences (post − pre) with their median,
    mean and a bootstrap interval of the median, the win count, and which way the interval points.
    JSON-ready: undefined numbers are None."""
    measures = {}
    for m in MEASURES:
        seeds, diffs = paired_differences(records, m)
        lo, hi = bootstrap_ci(diffs, np.median, n_resamples, seed, level)
        per_placement = {
            p: _describe(np.array([value(r, m) for r in records if r["placement"] == p], dtype=float))
            for p in PLACEMENT_ORDER
        }
        if diffs.size == 0 or not (math.isfinite(lo) and math.isfinite(hi)):
            direction = "unknown"
        elif hi < 0:
            direction = "post lower"
        elif lo > 0:
            direction = "post higher"
        else:
            direction = "unclear"
        clear = direction in ("post lower", "post higher") and diffs.size >= MIN_SEEDS_TO_CALL
        if m.better is None or not clear:
            favours = None
        else:
            favours = "post" if (direction == "post lower") == (m.better == "lower") else "pre"
        scale = per_placement["pre"]["median"]
        median_diff = float(np.median(diffs)) if diffs.size else float("nan")
        measures[m.key] = {
            "label": m.label,
            "group": m.group,
            "better": m.better,
            "pre": per_placement["pre"],
            "post": per_placement["post"],
            "n_pairs": int(diffs.size),
            "seeds": seeds.tolist(),
            "differences": diffs.tolist(),
            "median_diff": _finite_or_none(median_diff),
            "mean_diff": _finite_or_none(float(diffs.mean()) if diffs.size else float("nan")),
            "ci": [_finite_or_none(lo), _finite_or_none(hi)],
            "relative_median_diff": _percent_of(median_diff, scale),  # % of pre-norm's median
            "relative_ci": [_percent_of(lo, scale), _percent_of(hi, scale)],
            "wins": win_counts(diffs, m.better),
            "direction": direction,  # which side of zero the interval lies on ("unclear": it includes zero)
            "clear": clear,  # the interval excludes zero and there are enough seeds to take that seriously
            "favours": favours,
        }
    seeds_all = sorted({int(r["seed"]) for r in records})
    diverged = [
        {"placement": r["placement"], "seed": int(r["seed"]), "diverged": r["diverged"]}
        for r in records
        if r.get("diverged")
    ]
    n_pairs = max((m["n_pairs"] for m in measures.values()), default=0)
    return {
        "n_seeds": len(seeds_all),
        "n_pairs": n_pairs,
        "seeds": seeds_all,
        "statistic": "median of paired differences (post − pre)",
        "level": level,
        "resamples": n_resamples,
        "bootstrap_seed": seed,
        "train_seconds": round(float(sum(r.get("train_seconds", 0.0) for r in records)), 3),
        "diverged": diverged,
        "measures": measures,
    }


# --------------------------------------------------------------------------------------------------
# Words


def fmt(x: float | None) -> str:
    """Two significant digits and a true minus sign; small and large numbers in compact scientific form:
    −3.1e-4, 0.16, 0.012, 8.0e-5."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    a = abs(x)
    if 0.01 <= a < 1000:
        text = f"{a:.2g}"
    else:
        mantissa, exponent = f"{a:.1e}".split("e")
        text = f"{mantissa}e{int(exponent)}"
    return ("−" if x < 0 else "") + text


def fmt_signed(x: float | None) -> str:
    if x is not None and math.isfinite(x) and x > 0:
        return "+" + fmt(x)
    return fmt(x)


def fmt_ci(ci: Sequence[float | None]) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def _pct(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{abs(x):.0f}%" if abs(x) >= 10 else f"{abs(x):.1f}%"


def lower_higher(m: dict, placement: str) -> str:
    """'lower' or 'higher': the word for the side a placement wins on for this measure."""
    if m["better"] is None:
        return "higher" if placement == "post" else "lower"
    return m["better"]


def measure_sentence(m: dict) -> str:
    """'post-norm had the lower baseline max error on 6 of 8 seeds; median difference (post − pre) −3.1e-4,
    95% CI [−5.2e-4, −4e-5].'"""
    n = m["n_pairs"]
    if n == 0:
        return f"No seed has a finite {m['label']} for both placements, so there is nothing to compare."
    wins = m["wins"]
    leader = "post" if wins["post"] >= wins["pre"] else "pre"
    word = lower_higher(m, leader)
    count = wins[leader]
    ties = f" ({wins['ties']} tied)" if wins["ties"] else ""
    return (
        f"{PLACEMENT_LABELS[leader]} had the {word} {m['label']} on {count} of {n} seeds{ties}; "
        f"median difference (post − pre) {fmt(m['median_diff'])}, "
        f"95% CI {fmt_ci(m['ci'])}."
    )


def interval_meaning(m: dict, n_resamples: int = RESAMPLES) -> str:
    """What the interval says, for someone who has never met a bootstrap."""
    lo, hi = m["ci"]
    if lo is None or hi is None:
        return "There is no interval: no seed produced a usable pair of runs."
    how = (
        f"The 95% interval comes from re-drawing the {m['n_pairs']} seeds with replacement {n_resamples:,} "
        "times and taking the median difference each time; it is the range the middle 95% of those medians fell in."
    )
    if m["n_pairs"] < MIN_SEEDS_TO_CALL:
        return (
            f"{how} With fewer than {MIN_SEEDS_TO_CALL} seeds that range is little more than the spread of the "
            "differences themselves, so it cannot tell a real effect from luck yet: add seeds."
        )
    if m["direction"] == "unclear":
        return (
            f"{how} It includes zero, so with these seeds 'no real difference' is still a reasonable "
            "reading; more seeds would narrow it."
        )
    side = "below" if m["direction"] == "post lower" else "above"
    return (
        f"{how} It lies entirely {side} zero: nearly every re-drawing of the seeds gives a difference of the "
        "same sign, so it is unlikely to be just the luck of which seeds we picked (it can still be small)."
    )


def verdict(summary: dict) -> str:
    """A plain-language verdict on the hypothesis, written from the numbers in `summarize`'s output:
    a few short paragraphs, separated by blank lines."""
    ms = summary["measures"]
    n = summary["n_pairs"]
    if n == 0:
        return "No seed produced a usable pair of runs, so there is no evidence either way."
    hyp = [ms[k] for k in HYPOTHESIS_KEYS]
    for_post = [m["label"] for m in hyp if m["favours"] == "post"]
    for_pre = [m["label"] for m in hyp if m["favours"] == "pre"]
    seeds = f"{n} seed" + ("s" if n != 1 else "")
    if for_post and not for_pre:
        opening = (
            f"Across {seeds}, the evidence supports the hypothesis: post-norm placement was clearly better on "
            f"{_join(for_post)}, and pre-norm was not clearly better on anything the hypothesis predicted."
        )
    elif for_pre and not for_post:
        opening = (
            f"Across {seeds}, the evidence goes against the hypothesis: pre-norm placement was clearly better on "
            f"{_join(for_pre)}, and post-norm was not clearly better on anything the hypothesis predicted."
        )
    elif for_pre and for_post:
        opening = (
            f"Across {seeds}, the evidence is mixed: post-norm was clearly better on {_join(for_post)}, "
            f"but pre-norm on {_join(for_pre)}."
        )
    elif n < MIN_SEEDS_TO_CALL:
        opening = (
            f"{seeds.capitalize()} cannot settle the hypothesis: a difference is only called clear here with at "
            f"least {MIN_SEEDS_TO_CALL} seeds."
        )
    else:
        opening = (
            f"Across {seeds}, the evidence does not settle the hypothesis: on every measure it predicted "
            "(reconstruction error, anchor and planarity losses) the interval includes zero."
        )
    head = ms[HEADLINE_KEY]
    parts = [
        opening + " On the notebook's headline number, " + measure_sentence(head),
        interval_meaning(head, summary["resamples"]),
    ]
    others = [m for k, m in ms.items() if k != HEADLINE_KEY and m["clear"]]
    if others:
        clauses = [_clear_clause(m) for m in others]
        parts.append("Other clear differences: " + " ".join([clauses[0], *map(_capitalized, clauses[1:])]))
    if summary["diverged"]:
        parts.append(f"{len(summary['diverged'])} run(s) diverged and were left out of the comparison.")
    return "\n\n".join(parts)


def _clear_clause(m: dict) -> str:
    lower = m["direction"] == "post lower"
    d = np.asarray(m["differences"], dtype=float)
    count = int((d < 0).sum() if lower else (d > 0).sum())
    judged = ""
    if m["favours"]:
        judged = " (better)" if m["favours"] == "post" else " (worse)"
    return (
        f"post-norm's {m['label']} was {'lower' if lower else 'higher'}{judged} on {count} of {m['n_pairs']} seeds, "
        f"by {_pct(m['relative_median_diff'])} of pre-norm's median "
        f"(median difference {fmt(m['median_diff'])}, 95% CI {fmt_ci(m['ci'])})."
    )


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------------------------------
# Captions (every figure on the evidence page gets one, written from the same numbers)


def distribution_caption(summary: dict, key: str) -> str:
    m = summary["measures"][key]
    meaning = MEASURE_BY_KEY[key].meaning
    pre, post = m["pre"], m["post"]
    text = (
        f"{m['label'].capitalize()} ({meaning}), one dot per run: pre-norm median {fmt(pre['median'])} "
        f"(range {fmt(pre['min'])} to {fmt(pre['max'])}, {pre['n']} runs), post-norm median {fmt(post['median'])} "
        f"(range {fmt(post['min'])} to {fmt(post['max'])}, {post['n']} runs)."
    )
    if m["n_pairs"]:
        text += " Grey lines join the two runs of the same seed. " + _capitalized(measure_sentence(m))
    return text


def differences_caption(summary: dict, key: str) -> str:
    m = summary["measures"][key]
    if not m["n_pairs"]:
        return f"No paired differences for {m['label']}."
    d = np.array(m["differences"])
    text = (
        f"Each dot is one seed's {m['label']} difference, post-norm minus pre-norm ({m['n_pairs']} seeds, from "
        f"{fmt(d.min())} to {fmt(d.max())}); left of zero means post-norm was lower. The tick is the median "
        f"difference, {fmt(m['median_diff'])}, and the bar its 95% bootstrap interval {fmt_ci(m['ci'])}, which "
    )
    if m["direction"] == "unclear":
        text += "includes zero."
    else:
        text += f"lies entirely {'below' if m['direction'] == 'post lower' else 'above'} zero."
        if not m["clear"]:
            text += f" With fewer than {MIN_SEEDS_TO_CALL} seeds that is not yet enough to call it."
    return text


def overview_caption(summary: dict) -> str:
    ms = summary["measures"]
    bits = []
    for m in ms.values():
        rel = m["relative_median_diff"]
        if rel is None:
            bits.append(f"{m['label']}: n/a")
            continue
        side = "lower" if rel < 0 else "higher"
        lo, hi = m["relative_ci"]
        zero = "includes 0" if m["direction"] == "unclear" else "excludes 0"
        bits.append(f"{m['label']} {_pct(rel)} {side} (interval {fmt(lo)}% to {fmt(hi)}%, {zero})")
    return (
        f"Median paired difference (post − pre) for each measure across {summary['n_pairs']} seeds, as a "
        "percentage of pre-norm's median, with its 95% bootstrap interval; left of the zero line means post-norm "
        "was lower. " + "; ".join(bits) + "."
    )


def json_ready(obj):
    """A copy with NaN and infinities as None, so json.dumps writes strict JSON (null, not NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    return obj


def to_json(records: Sequence[dict], summary: dict) -> str:
    """The sweep as one JSON object, {"runs": [...], "summary": {...}}: what `excolor sweep --json` prints."""
    return json.dumps(json_ready({"runs": list(records), "summary": summary}), allow_nan=False)


def long_rows(records: Sequence[dict]) -> list[dict]:
    """One row per (run, measure): placement, seed, measure key/label, value. For plotting."""
    rows = []
    for r in records:
        for m in MEASURES:
            rows.append(
                {
                    "placement": PLACEMENT_LABELS[r["placement"]],
                    "seed": int(r["seed"]),
                    "measure": m.key,
                    "label": m.label,
                    "value": value(r, m),
                }
            )
    return rows


def summary_rows(summary: dict) -> list[dict]:
    """One row per measure for a table: medians, median difference, interval, wins, outcome."""
    rows = []
    for key, m in summary["measures"].items():
        if m["favours"]:
            outcome = f"{m['favours']}-norm better"
        elif m["clear"]:
            outcome = m["direction"].replace("post", "post-norm")
        elif m["direction"] in ("post lower", "post higher"):
            outcome = f"too few seeds (< {MIN_SEEDS_TO_CALL})"
        else:
            outcome = {"unclear": "too close to call", "unknown": "no data"}[m["direction"]]
        rows.append(
            {
                "measure": m["label"],
                "better": m["better"] or "neither",
                "pre median": fmt(m["pre"]["median"]),
                "post median": fmt(m["post"]["median"]),
                "post − pre": fmt_signed(m["median_diff"]),
                "95% CI": fmt_ci(m["ci"]),
                "post-norm was": _ahead(m, key),
                "outcome": outcome,
            }
        )
    return rows


def _ahead(m: dict, key: str) -> str:
    word = lower_higher(m, "post")
    return f"{word} on {m['wins']['post']} of {m['n_pairs']}"
