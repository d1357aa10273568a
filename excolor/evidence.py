"""Evidence across seeds: does design B really beat design A, or was one seed lucky?

Each seed trains the same network once per design, from the same initial weights and the same batches. That
makes the runs *paired*: seed s's B run is compared with seed s's A run, and the question becomes "how big is
the difference B − A, and how sure are we of its sign?". We answer it with a win count (on how many seeds B came
out ahead) and its sign-test p-value, and a bootstrap interval for the median paired difference. The notebook's
own question, pre-norm (A) against post-norm (B), is the default. Everything here is plain numpy on small
JSON-ready records; the app and the CLI lay it out.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from .designs import parse_design

SIDES = ("a", "b")
DEFAULT_A, DEFAULT_B = "pre", "post"  # the notebook's comparison: Ex 2.3 against Ex 2.4
PRESET_NAMES = {"pre": "pre-norm", "post": "post-norm"}  # short names for sentences
INTERVENTION_NAMES = ("baseline", "suppression", "repulsion")
LEVEL = 0.95
RESAMPLES = 10_000
MIN_SEEDS_TO_CALL = 5  # with fewer pairs a bootstrap interval is little more than their range: never "clear"
SIGNIFICANCE = 0.05
STRENGTHS = ((0.01, "strong"), (0.05, "moderate"))  # sign-test p below the bound -> the word; else "weak"
PEAK_HUES_DEG = (0, 60, 120, 180, 240, 300)  # primaries and secondaries: the corners of the RGB cube


@dataclass(frozen=True)
class Measure:
    """One number per run that a comparison compares between designs."""

    key: str
    label: str  # reads inside a sentence: "post-norm had the lower {label} on 6 of 8 seeds"
    path: tuple[str, ...]  # where the value sits in a run record
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
        "peak_ratio",
        "hue-peak unevenness",
        ("hue_peaks", "ratio"),
        "lower",
        "reconstruction",
        "the highest error of the six pure primaries and secondaries (the spikes of the error-vs-hue panel) "
        "÷ their mean: 1 means all six spikes are equally high, 6 that one spike carries all the error",
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
# What the notebook claimed post-norm improves: the verdict weighs these, and corrects for comparing this many.
HYPOTHESIS_KEYS = ("baseline_max", "baseline_median", "recon", "peak_ratio", "anchor", "planar")
HEADLINE_KEY = "baseline_max"  # the notebook's headline number


# --------------------------------------------------------------------------------------------------
# Per-run measurements (the only part that touches a model)


def measure_run(run) -> dict:
    """Everything a comparison needs from one trained run (`run.model`), and nothing more: dense-grid max and
    median error for the baseline and both default interventions, their selectivity on the RGB grid, the six
    hue peaks, and the regularizers on a fixed validation set.

    The numbers are exactly evaluate.standard_metrics's (same colors, same per-color arithmetic), but only
    per-color errors are kept, the grid goes through in cache-sized chunks, and nothing survives the call:
    a 64-run comparison must not keep 64 encoded dense grids (~20 MB each) alive.
    """
    from . import colors
    from .evaluate import pearson, validation_losses

    model = run.model
    dense = _errors_under_interventions(model, "dense")
    rgb = _errors_under_interventions(model, "rgb")
    metrics = {name: {"max": float(e.max()), "median": float(np.median(e))} for name, e in dense.items()}
    selectivity = {name: pearson(rgb[name], _red_similarity_sq()) for name in INTERVENTION_NAMES[1:]}
    heights = peak_heights(dense["baseline"].reshape(colors.dense_grid().shape))
    validation = validation_losses(model)
    del dense, rgb
    release_memory()
    return {
        "metrics": metrics,
        "selectivity": selectivity,
        "hue_peaks": {"hues": list(PEAK_HUES_DEG), "heights": heights.tolist(), "ratio": peak_unevenness(heights)},
        "validation": validation,
    }


def _errors_under_interventions(model, grid: str) -> dict[str, np.ndarray]:
    """Per-color error of every color of a named grid, without and with each default intervention."""
    from .evaluate import errors_under
    from .interventions import default_interventions

    interventions = {"baseline": None, **default_interventions()}
    return errors_under(model, grid, {name: interventions[name] for name in INTERVENTION_NAMES})


@cache
def _red_similarity_sq() -> np.ndarray:
    from . import colors

    return colors.similarity_to_red(colors.rgb_grid().flat_hsv) ** 2


def peak_heights(error_cube: np.ndarray, hues_deg: Sequence[float] = PEAK_HUES_DEG) -> np.ndarray:
    """The error of the fully saturated, full-value color at each of `hues_deg`, from a dense-grid error cube
    shaped (hues, saturations, values) with hue 0 first and S, V ending at 1.

    These are the spikes of the notebook's error-vs-hue panel: the six pure primaries and secondaries sit on
    the corners of the RGB cube, where the hue circle turns a corner, and the error there is highest. The
    dense grid samples each of them exactly (hue step 1.5°), so a spike's height is one grid value.
    """
    n_hues = error_cube.shape[0]
    idx = [int(round(h / 360 * n_hues)) % n_hues for h in hues_deg]
    return np.asarray(error_cube[idx, -1, -1], dtype=np.float64)


def peak_unevenness(heights: Sequence[float]) -> float:
    """Tallest hue peak ÷ the mean of the six: 1 when all six spikes are equally high, up to 6 when one spike
    carries all the error. The notebook saw post-norm's spikes as the tidier; this puts a number on "tidier".

    Not max ÷ min: a peak can be exactly 0 (a pure color whose overshooting output clamps back to itself), and a
    ratio to zero says nothing. NaN when a height is missing or all are 0."""
    h = np.asarray(heights, dtype=np.float64)
    if h.size == 0 or not np.all(np.isfinite(h)) or h.mean() <= 0:
        return float("nan")
    return float(h.max() / h.mean())


def release_memory() -> None:
    """Hand freed memory back to the operating system (glibc only; elsewhere a no-op).

    Encoding the dense grid allocates and frees tens of MB of tensors per run. glibc keeps much of that in
    fragmented heaps, so without a trim a 16-run comparison grows the process per run although nothing is
    leaked; with it, the process returns to where it started. Takes about a millisecond.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def run_record(run, measured: dict | None = None) -> dict:
    """One run as a record: the keys `python -m excolor train --json` gives, the run's canonical `design` text,
    plus `selectivity` (suppression, repulsion), `hue_peaks` and `validation` (recon, unit, anchor, planar on
    the fixed validation set)."""
    measured = measure_run(run) if measured is None else measured
    return {**run.describe(), "design": canonical(run.recipe.design), **measured}


sweep_record = run_record  # the name the app's caches know it by


def run_records(runs: Sequence, progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """A record per run, measuring one run at a time; `progress(done, total)` after each."""
    records = []
    for i, run in enumerate(runs):
        records.append(run_record(run))
        if progress is not None:
            progress(i + 1, len(runs))
    return records


sweep_records = run_records


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


def canonical(design) -> str:
    """The canonical text of a design given as a Design or as text (raises DesignError for bad text)."""
    return parse_design(design).text


def design_of(record: dict) -> str:
    """A record's canonical design text (records from before designs existed carry only a placement)."""
    return canonical(record.get("design") or record["placement"])


def values_by_seed(records: Sequence[dict], measure: Measure | str) -> dict[int, dict[str, float]]:
    """{seed: {canonical design text: value}} for one measure."""
    table: dict[int, dict[str, float]] = {}
    for r in records:
        table.setdefault(int(r["seed"]), {})[design_of(r)] = value(r, measure)
    return table


def paired_differences(
    records: Sequence[dict], measure: Measure | str, a: str = DEFAULT_A, b: str = DEFAULT_B
) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, B − A) for every seed with a finite value for both designs, in seed order."""
    a, b = canonical(a), canonical(b)
    by_seed = values_by_seed(records, measure)
    seeds = sorted(s for s, v in by_seed.items() if np.isfinite(v.get(a, np.nan)) and np.isfinite(v.get(b, np.nan)))
    diffs = np.array([by_seed[s][b] - by_seed[s][a] for s in seeds], dtype=float)
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
    """How many differences (B − A) favour each side. With no preferred direction, 'b' counts the seeds
    where B is higher."""
    d = np.asarray(diffs, dtype=float)
    b_higher, b_lower = int((d > 0).sum()), int((d < 0).sum())
    b = b_lower if better == "lower" else b_higher
    a = b_higher if better == "lower" else b_lower
    return {"b": b, "a": a, "ties": int(d.size - b_higher - b_lower)}


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact sign test: the chance of a split at least this lopsided if each (untied) seed were a fair
    coin toss, P(X ≥ max) + P(X ≤ min) for X ~ Binomial(wins + losses, 1/2). Ties carry no sign and are left out.

    Hand check: 8 of 8 gives 2 × (1/2)^8 = 0.0078, the smallest p that 8 seeds can reach; 6 of 8 gives
    2 × (28 + 8 + 1)/256 = 0.29; 4 of 8 gives 1.
    """
    n = wins + losses
    if n == 0:
        return 1.0
    k = max(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k, n + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def strength(p: float | None, clear: bool) -> str:
    """How strong the evidence for a direction is, in one word: 'strong' (sign test p < 0.01), 'moderate'
    (p < 0.05), 'weak' (the interval excludes zero but the win count alone could be a coin's luck) or 'none'
    (the interval includes zero, or too few seeds to call anything)."""
    if not clear or p is None:
        return "none"
    return next((word for bound, word in STRENGTHS if p < bound), "weak")


def paired_stats(
    seeds: np.ndarray,
    diffs: np.ndarray,
    better: str | None,
    scale: float | None = None,
    n_resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> dict:
    """The statistics of one set of paired differences (B − A), as the comparison and the screen report them:
    median and mean, a bootstrap interval of the median, which side of zero it lies on, the win count with its
    sign-test p, the strength of the evidence, and (given `scale`) the median and interval as % of |scale|."""
    lo, hi = bootstrap_ci(diffs, np.median, n_resamples, seed, level)
    if diffs.size == 0 or not (math.isfinite(lo) and math.isfinite(hi)):
        direction = "unknown"
    elif hi < 0:
        direction = "b lower"
    elif lo > 0:
        direction = "b higher"
    else:
        direction = "unclear"
    clear = direction in ("b lower", "b higher") and diffs.size >= MIN_SEEDS_TO_CALL
    if better is None or not clear:
        favours = None
    else:
        favours = "b" if (direction == "b lower") == (better == "lower") else "a"
    wins = win_counts(diffs, better)
    p = sign_test_p(wins["a"], wins["b"]) if diffs.size else None
    median_diff = float(np.median(diffs)) if diffs.size else float("nan")
    return {
        "n_pairs": int(diffs.size),
        "seeds": np.asarray(seeds).tolist(),
        "differences": diffs.tolist(),
        "median_diff": _finite_or_none(median_diff),
        "mean_diff": _finite_or_none(float(diffs.mean()) if diffs.size else float("nan")),
        "ci": [_finite_or_none(lo), _finite_or_none(hi)],
        "relative_median_diff": _percent_of(median_diff, scale),  # % of A's median
        "relative_ci": [_percent_of(lo, scale), _percent_of(hi, scale)],
        "wins": wins,
        "sign_p": p,  # two-sided sign test on the win count
        "direction": direction,  # which side of zero the interval lies on ("unclear": it includes zero)
        "clear": clear,  # the interval excludes zero and there are enough seeds to take that seriously
        "favours": favours,
        "strength": strength(p, clear),
    }


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


def design_names(a: str, b: str) -> dict[str, str]:
    """Short names for sentences: 'pre-norm' / 'post-norm' for the published designs, else 'A' / 'B'."""
    names = {}
    for side, text in (("a", a), ("b", b)):
        preset = parse_design(text).preset
        names[side] = PRESET_NAMES[preset] if preset else side.upper()
    if names["a"] == names["b"]:  # the same preset on both sides: letters keep the sentences readable
        names = {"a": "A", "b": "B"}
    return names


def summarize(
    records: Sequence[dict],
    a: str = DEFAULT_A,
    b: str = DEFAULT_B,
    n_resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> dict:
    """Per measure: each design's distribution, the paired differences (B − A) with their median, mean and a
    bootstrap interval of the median, the win count and its sign-test p, and which way the interval points.
    JSON-ready: undefined numbers are None."""
    da, db = parse_design(a), parse_design(b)
    texts = {"a": da.text, "b": db.text}
    measures = {}
    for m in MEASURES:
        seeds, diffs = paired_differences(records, m, da.text, db.text)
        per_side = {
            side: _describe(np.array([value(r, m) for r in records if design_of(r) == text], dtype=float))
            for side, text in texts.items()
        }
        measures[m.key] = {
            "label": m.label,
            "group": m.group,
            "better": m.better,
            "a": per_side["a"],
            "b": per_side["b"],
            **paired_stats(seeds, diffs, m.better, per_side["a"]["median"], n_resamples, seed, level),
        }
    seeds_all = sorted({int(r["seed"]) for r in records})
    diverged = [
        {"design": design_of(r), "seed": int(r["seed"]), "diverged": r["diverged"]}
        for r in records
        if r.get("diverged")
    ]
    n_pairs = max((m["n_pairs"] for m in measures.values()), default=0)
    names = design_names(da.text, db.text)
    return {
        "a": da.text,
        "b": db.text,
        "labels": {"a": da.label, "b": db.label},
        "names": names,
        "n_seeds": len(seeds_all),
        "n_pairs": n_pairs,
        "seeds": seeds_all,
        "statistic": f"median of paired differences ({names['b']} − {names['a']})",
        "level": level,
        "resamples": n_resamples,
        "bootstrap_seed": seed,
        "hypothesis_measures": list(HYPOTHESIS_KEYS),
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


def fmt_p(p: float | None) -> str:
    """'p = 0.0078', 'p = 0.29', 'p = 1', 'p < 0.001'."""
    if p is None or not math.isfinite(p):
        return "p n/a"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}".rstrip("0").rstrip(".")


def _pct(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{abs(x):.0f}%" if abs(x) >= 10 else f"{abs(x):.1f}%"


def lower_higher(m: dict, side: str) -> str:
    """'lower' or 'higher': the word for the side a design wins on for this measure."""
    if m["better"] is None:
        return "higher" if side == "b" else "lower"
    return m["better"]


def difference_label(summary: dict) -> str:
    """'post − pre' for the published pair, else 'B − A' with the sentence names."""
    names = summary["names"]
    if (summary["a"], summary["b"]) == (DEFAULT_A, DEFAULT_B):
        return "post − pre"
    return f"{names['b']} − {names['a']}"


def measure_sentence(m: dict, summary: dict) -> str:
    """'post-norm had the lower baseline max error on 6 of 8 seeds (sign test p = 0.29); median difference
    (post − pre) −3.1e-4, 95% CI [−5.2e-4, −4e-5].'"""
    n = m["n_pairs"]
    if n == 0:
        return f"No seed has a finite {m['label']} for both designs, so there is nothing to compare."
    wins = m["wins"]
    leader = "b" if wins["b"] >= wins["a"] else "a"
    word = lower_higher(m, leader)
    ties = f", {wins['ties']} tied" if wins["ties"] else ""
    return (
        f"{summary['names'][leader]} had the {word} {m['label']} on {wins[leader]} of {n} seeds "
        f"(sign test {fmt_p(m['sign_p'])}{ties}); median difference ({difference_label(summary)}) "
        f"{fmt(m['median_diff'])}, 95% CI {fmt_ci(m['ci'])}."
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
    side = "below" if m["direction"] == "b lower" else "above"
    return (
        f"{how} It lies entirely {side} zero: nearly every re-drawing of the seeds gives a difference of the "
        "same sign, so it is unlikely to be just the luck of which seeds we picked (it can still be small)."
    )


def _evidence_for(m: dict) -> str:
    """'baseline max error (strong evidence: 8 of 8 seeds, p = 0.0078)'."""
    side = m["favours"]
    return f"{m['label']} ({m['strength']} evidence: {m['wins'][side]} of {m['n_pairs']} seeds, {fmt_p(m['sign_p'])})"


def _strongest_possible(n: int) -> str:
    return f"with {n} seeds the most lopsided result, {n} of {n}, has {fmt_p(sign_test_p(n, 0))}"


def multiplicity_note(summary: dict) -> str:
    """How strong the called differences are once we allow for having compared several measures."""
    ms = summary["measures"]
    keys = summary["hypothesis_measures"]
    called = [ms[k] for k in keys if ms[k]["favours"]]
    k = len(keys)
    bar = SIGNIFICANCE / k
    text = (
        f"How sure: {k} measures were compared, so one of them can look like a difference by luck alone. A sign "
        f"test p below {fmt(SIGNIFICANCE)} ÷ {k} = {bar:.2g} allows for that (Bonferroni); "
        f"{_strongest_possible(summary['n_pairs'])}."
    )
    if not called:
        return text
    passing = [m["label"] for m in called if m["sign_p"] < bar]
    failing = [m["label"] for m in called if m["sign_p"] >= bar]
    if passing:
        text += f" It is cleared on {_join(passing)}."
    if failing:
        text += f" It is not cleared on {_join(failing)}: read {'that' if len(failing) == 1 else 'those'} as a lead "
        text += "to test with more seeds, not as settled."
    return text


def verdict(summary: dict) -> str:
    """A plain-language verdict, written from the numbers in `summarize`'s output: a few short paragraphs,
    separated by blank lines. For the published pair (A = pre-norm, B = post-norm) it reads as a verdict on the
    notebook's hypothesis; for any other pair it says which design did better on what."""
    ms = summary["measures"]
    n = summary["n_pairs"]
    if n == 0:
        return "No seed produced a usable pair of runs, so there is no evidence either way."
    names = summary["names"]
    hyp = [ms[k] for k in summary["hypothesis_measures"]]
    for_b = [_evidence_for(m) for m in hyp if m["favours"] == "b"]
    for_a = [_evidence_for(m) for m in hyp if m["favours"] == "a"]
    seeds = f"{n} seed" + ("s" if n != 1 else "")
    published = (summary["a"], summary["b"]) == (DEFAULT_A, DEFAULT_B)
    if for_b and not for_a:
        lead = "the evidence supports the hypothesis: " if published else ""
        opening = (
            f"Across {seeds}, {lead}{names['b']} did better on {_join(for_b)}, and {names['a']} did not do "
            f"better on any of the {len(hyp)} measures compared."
        )
    elif for_a and not for_b:
        lead = "the evidence goes against the hypothesis: " if published else ""
        opening = (
            f"Across {seeds}, {lead}{names['a']} did better on {_join(for_a)}, and {names['b']} did not do "
            f"better on any of the {len(hyp)} measures compared."
        )
    elif for_a and for_b:
        opening = (
            f"Across {seeds}, the evidence is mixed: {names['b']} did better on {_join(for_b)}, "
            f"but {names['a']} on {_join(for_a)}."
        )
    elif n < MIN_SEEDS_TO_CALL:
        opening = (
            f"{seeds.capitalize()} cannot settle the question: a difference is only called here with at "
            f"least {MIN_SEEDS_TO_CALL} seeds."
        )
    else:
        what = "the hypothesis" if published else f"which of {names['a']} and {names['b']} is better"
        opening = (
            f"Across {seeds}, the evidence does not settle {what}: on each of the {len(hyp)} measures compared "
            "(reconstruction error, hue-peak evenness, anchor and planarity losses) the interval includes zero."
        )
    if not published:
        opening = f"A is {summary['labels']['a']}; B is {summary['labels']['b']}. " + opening
    head = ms[HEADLINE_KEY]
    parts = [
        opening + " On the notebook's headline number, " + measure_sentence(head, summary),
        interval_meaning(head, summary["resamples"]),
    ]
    if n >= MIN_SEEDS_TO_CALL:
        parts.append(multiplicity_note(summary))
    others = [m for k, m in ms.items() if k not in summary["hypothesis_measures"] and m["clear"]]
    if others:
        clauses = [_clear_clause(m, summary) for m in others]
        parts.append("Other clear differences: " + " ".join([clauses[0], *map(_capitalized, clauses[1:])]))
    if summary["diverged"]:
        parts.append(f"{len(summary['diverged'])} run(s) diverged and were left out of the comparison.")
    return "\n\n".join(parts)


def _clear_clause(m: dict, summary: dict) -> str:
    lower = m["direction"] == "b lower"
    d = np.asarray(m["differences"], dtype=float)
    count = int((d < 0).sum() if lower else (d > 0).sum())
    judged = ""
    if m["favours"]:
        judged = " (better)" if m["favours"] == "b" else " (worse)"
    names = summary["names"]
    return (
        f"{names['b']}'s {m['label']} was {'lower' if lower else 'higher'}{judged} on {count} of {m['n_pairs']} "
        f"seeds ({fmt_p(m['sign_p'])}), by {_pct(m['relative_median_diff'])} of {names['a']}'s median "
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
# Captions (every figure of a comparison gets one, written from the same numbers)


def distribution_caption(summary: dict, key: str) -> str:
    m = summary["measures"][key]
    meaning = MEASURE_BY_KEY[key].meaning
    names = summary["names"]
    a, b = m["a"], m["b"]
    text = (
        f"{m['label'].capitalize()} ({meaning}), one dot per run: {names['a']} median {fmt(a['median'])} "
        f"(range {fmt(a['min'])} to {fmt(a['max'])}, {a['n']} runs), {names['b']} median {fmt(b['median'])} "
        f"(range {fmt(b['min'])} to {fmt(b['max'])}, {b['n']} runs)."
    )
    if m["n_pairs"]:
        text += " Grey lines join the two runs of the same seed. " + _capitalized(measure_sentence(m, summary))
    return text


def differences_caption(summary: dict, key: str) -> str:
    m = summary["measures"][key]
    if not m["n_pairs"]:
        return f"No paired differences for {m['label']}."
    names = summary["names"]
    d = np.array(m["differences"])
    text = (
        f"Each dot is one seed's {m['label']} difference, {names['b']} minus {names['a']} ({m['n_pairs']} seeds, "
        f"from {fmt(d.min())} to {fmt(d.max())}); left of zero means {names['b']} was lower. The tick is the median "
        f"difference, {fmt(m['median_diff'])}, and the bar its 95% bootstrap interval {fmt_ci(m['ci'])}, which "
    )
    if m["direction"] == "unclear":
        text += "includes zero."
    else:
        text += f"lies entirely {'below' if m['direction'] == 'b lower' else 'above'} zero."
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
    names = summary["names"]
    return (
        f"Median paired difference ({difference_label(summary)}) for each measure across {summary['n_pairs']} "
        f"seeds, as a percentage of {names['a']}'s median, with its 95% bootstrap interval; left of the zero line "
        f"means {names['b']} was lower. " + "; ".join(bits) + "."
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
    """A comparison as one JSON object, {"a": ..., "b": ..., "runs": [...], "summary": {...}}: what
    `excolor compare --json` (and `sweep --json`) prints."""
    out = {"a": summary["a"], "b": summary["b"], "runs": list(records), "summary": summary}
    return json.dumps(json_ready(out), allow_nan=False)


def side_of(record: dict, summary: dict) -> str | None:
    """'a', 'b' or None: which side of the comparison a record belongs to."""
    design = design_of(record)
    return next((side for side in SIDES if summary[side] == design), None)


def long_rows(records: Sequence[dict], summary: dict) -> list[dict]:
    """One row per (run, measure): side (A/B), design name, seed, measure key/label, value. For plotting."""
    rows = []
    for r in records:
        side = side_of(r, summary)
        if side is None:
            continue
        for m in MEASURES:
            rows.append(
                {
                    "side": side.upper(),
                    "design": summary["names"][side],
                    "seed": int(r["seed"]),
                    "measure": m.key,
                    "label": m.label,
                    "value": value(r, m),
                }
            )
    return rows


def prediction_answer(summary: dict, key: str = HEADLINE_KEY) -> str | None:
    """The measured answer to "which design will do better on this measure across the seeds?": 'a' or 'b' when
    the comparison calls a better side, 'same' when it does not (or cannot yet), None when nothing was paired."""
    m = summary["measures"][key]
    if not m["n_pairs"]:
        return None
    return m["favours"] or "same"


def outcome(m: dict, names: dict[str, str]) -> str:
    """A measure's outcome in a few words: 'post-norm better (strong)', 'too close to call', ..."""
    if m["favours"]:
        return f"{names[m['favours']]} better ({m['strength']})"
    if m["clear"]:
        return f"{names['b']} {m['direction'].split()[1]} ({m['strength']})"
    if m["direction"] in ("b lower", "b higher"):
        return f"too few seeds (< {MIN_SEEDS_TO_CALL})"
    return {"unclear": "too close to call", "unknown": "no data"}[m["direction"]]


def summary_rows(summary: dict) -> list[dict]:
    """One row per measure for a table: medians, median difference, interval, wins with sign-test p, outcome."""
    names = summary["names"]
    rows = []
    for m in summary["measures"].values():
        rows.append(
            {
                "measure": m["label"],
                "better": m["better"] or "neither",
                f"{names['a']} median": fmt(m["a"]["median"]),
                f"{names['b']} median": fmt(m["b"]["median"]),
                difference_label(summary): fmt_signed(m["median_diff"]),
                "95% CI": fmt_ci(m["ci"]),
                f"{names['b']} was": f"{lower_higher(m, 'b')} on {m['wins']['b']} of {m['n_pairs']}",
                "sign test p": fmt_p(m["sign_p"]).removeprefix("p = ").removeprefix("p "),
                "outcome": outcome(m, names),
            }
        )
    return rows
