"""Evidence across seeds: does design B really beat design A, or was one seed lucky?

Each seed trains the same network once per design, from the same initial weights and the same batches, so the
runs are *paired*: seed s's B run is compared with seed s's A run. For each measure we report the paired
differences B − A, a win count with its sign-test p-value, and a bootstrap interval for the median difference.
The notebook's own question, pre-norm (A) against post-norm (B), is the default. Plain numpy on the JSON-ready
records of excolor.measures; excolor.verdicts puts the numbers into words.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence

import numpy as np

from .designs import PRESET_NAMES, parse_design
from .measures import HEADLINE_KEY, HYPOTHESIS_KEYS, MEASURES, Measure, value

SIDES = ("a", "b")
DEFAULT_A, DEFAULT_B = "pre", "post"  # the notebook's comparison: Ex 2.3 against Ex 2.4
LEVEL = 0.95
RESAMPLES = 10_000
MIN_SEEDS_TO_CALL = 5  # with fewer pairs a bootstrap interval is little more than their range: never "clear"
SIGNIFICANCE = 0.05
STRONG_P = 0.01  # "strong" at most this sign-test p, and below the Bonferroni bar of the verdict it appears in


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


def strong_bar(n_compared: int) -> float:
    """The p below which evidence is called 'strong' when `n_compared` results are weighed together: the Bonferroni
    bar SIGNIFICANCE ÷ n_compared the verdict states, never looser than STRONG_P. So a box never calls a p strong
    that its own corrected threshold rejects."""
    return min(STRONG_P, SIGNIFICANCE / max(1, n_compared))


def strength(p: float | None, clear: bool, strong_below: float = STRONG_P) -> str:
    """How strong the evidence for a direction is, in one word: 'strong' (sign test p < strong_below, see
    strong_bar), 'moderate' (p < 0.05), 'weak' (the interval excludes zero but the win count alone could be a
    coin's luck) or 'none' (the interval includes zero, or too few seeds to call anything)."""
    if not clear or p is None:
        return "none"
    if p < strong_below:
        return "strong"
    return "moderate" if p < SIGNIFICANCE else "weak"


def paired_stats(
    seeds: np.ndarray,
    diffs: np.ndarray,
    better: str | None,
    scale: float | None = None,
    n_resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
    strong_below: float = STRONG_P,
) -> dict:
    """The statistics of one set of paired differences (B − A), as the comparison and the screen report them:
    median and mean, a bootstrap interval of the median, which side of zero it lies on, the win count with its
    sign-test p, the strength of the evidence (strong below `strong_below`), and (given `scale`) the median and
    interval as % of |scale|."""
    lo, hi = bootstrap_ci(diffs, np.median, n_resamples, seed, level)
    direction = _direction(lo, hi) if diffs.size else "unknown"
    clear = direction in ("b lower", "b higher") and diffs.size >= MIN_SEEDS_TO_CALL
    favours = None if better is None or not clear else ("b" if (direction == "b lower") == (better == "lower") else "a")
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
        "strength": strength(p, clear, strong_below),
    }


def _direction(lo: float, hi: float) -> str:
    """Which side of zero an interval lies on: 'b lower', 'b higher', 'unclear' (it includes zero) or 'unknown'."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "unknown"
    if hi < 0:
        return "b lower"
    return "b higher" if lo > 0 else "unclear"


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


COMPARISON_STRONG = strong_bar(len(HYPOTHESIS_KEYS))  # the bar the comparison's verdict states (verdicts.py)


def _measure_summary(
    records: Sequence[dict], m: Measure, a: str, b: str, n_resamples: int, seed: int, level: float
) -> dict:
    """One measure of `summarize`: each design's distribution, then the paired statistics of B − A."""
    seeds, diffs = paired_differences(records, m, a, b)
    per_side = {
        side: _describe(np.array([value(r, m) for r in records if design_of(r) == text], dtype=float))
        for side, text in (("a", a), ("b", b))
    }
    return {
        "label": m.label,
        "group": m.group,
        "better": m.better,
        "a": per_side["a"],
        "b": per_side["b"],
        **paired_stats(seeds, diffs, m.better, per_side["a"]["median"], n_resamples, seed, level, COMPARISON_STRONG),
    }


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
    measures = {m.key: _measure_summary(records, m, da.text, db.text, n_resamples, seed, level) for m in MEASURES}
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
