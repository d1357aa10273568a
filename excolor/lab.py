"""The experiment lab: train two designs (or the eight of the factorial screen) over many seeds and measure them.

`compare(a, b, n)` answers "is B better than A?" with evidence.summarize's paired statistics. `screen(n)` answers
"which term matters?": the 2³ designs where each of anchor, separate and planar reads the encoder (pre) or the
bottleneck (post) tap, and for each term its *main effect*, the change from moving that term alone from pre to
post, averaged over the four settings of the other two (SPEC §10). All runs of a batch train together as one
batched model; each run is measured as soon as its batch is done and then let go.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import evidence as ev
from .designs import FACTORIAL, parse_design
from .schedule import EX24, Schedule
from .train import Recipe, train

BATCH_MODELS = 32  # models per training batch: a batch's training data grows with it (32 models: ~370 MB)
SCREEN_TERMS = ("anchor", "separate", "planar")
SCREEN_KEYS = ("baseline_max", "recon", "planar")  # the headline measures of the screen
INTERACTIONS = tuple((SCREEN_TERMS[i], SCREEN_TERMS[j]) for i in range(3) for j in range(i + 1, 3))


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
    """One record per recipe (evidence.run_record), in the recipes' order.

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
            records[run.recipe] = ev.run_record(run)
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
    taps = [getattr(design, term) for term in SCREEN_TERMS]
    if not design.unit or any(t not in ("pre", "post") for t in taps):
        return None
    return sum((t == "post") << (2 - i) for i, t in enumerate(taps))


def factorial_cube(records: Sequence[dict], measure: ev.Measure | str) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, values (n_seeds, 2, 2, 2)) indexed [seed, anchor, separate, planar] with 0 = pre, 1 = post, for
    the seeds that have a finite value in all eight cells."""
    table: dict[int, np.ndarray] = {}
    for r in records:
        cell = _cell(ev.design_of(r))
        if cell is not None:
            table.setdefault(int(r["seed"]), np.full(8, np.nan))[cell] = ev.value(r, measure)
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
    out = {term: flat @ s[:, i] / 4 for i, term in enumerate(SCREEN_TERMS)}
    for t1, t2 in INTERACTIONS:
        i, j = SCREEN_TERMS.index(t1), SCREEN_TERMS.index(t2)
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
        m = ev.MEASURE_BY_KEY[key]
        seeds, cube = factorial_cube(records, m)
        per_seed = effects(cube) if len(seeds) else {}
        scale = float(np.median(cube[:, 0, 0, 0])) if len(seeds) else None

        def stats(name: str, m=m, seeds=seeds, per_seed=per_seed, scale=scale) -> dict:
            diffs = per_seed.get(name, np.array([]))
            return ev.paired_stats(seeds, diffs, m.better, scale, n_resamples, seed)

        entry = {
            "label": m.label,
            "better": m.better,
            "n_seeds": int(len(seeds)),
            "pre_median": scale,  # all three terms pre: the pre-norm design
            "total": stats("total"),
            "effects": {term: stats(term) for term in SCREEN_TERMS},
            "interactions": {interaction_name(*p): stats(interaction_name(*p)) for p in INTERACTIONS},
        }
        entry["drivers"] = drivers(entry)
        entry["reading"] = measure_reading(entry)
        measures[key] = entry
    seeds_all = sorted({int(r["seed"]) for r in records})
    return {
        "designs": [d.text for d in FACTORIAL],
        "terms": list(SCREEN_TERMS),
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


def _moves(s: dict) -> str:
    """'lowers it' / 'raises it': what moving a term to post does to the measure (median over seeds)."""
    return "lowers it" if s["median_diff"] < 0 else "raises it"


def _effect_phrase(term: str, s: dict) -> str:
    """'anchor −1.1e-4 (−12% of pre-norm's median), 95% CI [−2e-4, −3e-5], post better on 7 of 8 seeds (p = 0.07)'."""
    rel = (
        f" ({'−' if s['median_diff'] < 0 else '+'}{ev._pct(s['relative_median_diff'])} of pre-norm's median)"
        if (s["relative_median_diff"] is not None)
        else ""
    )
    return (
        f"{term} {ev.fmt_signed(s['median_diff'])}{rel}, 95% CI {ev.fmt_ci(s['ci'])}, "
        f"post better on {s['wins']['b']} of {s['n_pairs']} seeds ({ev.fmt_p(s['sign_p'])})"
    )


def measure_reading(entry: dict) -> str:
    """One paragraph per headline measure, written from its numbers: post-norm's total difference, each term's
    main effect, which term drives it (or that none stands out), and any interaction that reads clearly."""
    n = entry["n_seeds"]
    if n == 0:
        return f"{entry['label'].capitalize()}: no seed has all eight designs measured, so there is nothing to split."
    total = entry["total"]
    side = "lower" if total["median_diff"] < 0 else "higher"
    text = (
        f"{entry['label'].capitalize()}: post-norm is {side} than pre-norm by a median "
        f"{ev.fmt(abs(total['median_diff']))} (95% CI {ev.fmt_ci(total['ci'])}, post better on "
        f"{total['wins']['b']} of {n} seeds, {ev.fmt_p(total['sign_p'])}). Main effects (moving one term to post, "
        "averaged over the others): " + "; ".join(_effect_phrase(t, s) for t, s in entry["effects"].items()) + ". "
    )
    found = entry["drivers"]
    if n < ev.MIN_SEEDS_TO_CALL:
        return text + f"With fewer than {ev.MIN_SEEDS_TO_CALL} seeds no term is singled out."
    if not found:
        text += "No term stands out: every interval includes zero."
    else:
        parts = []
        for term in found:
            s = entry["effects"][term]
            agrees = (s["median_diff"] < 0) == (total["median_diff"] < 0)
            role = "drives post-norm's difference" if agrees else "pulls against post-norm's difference"
            parts.append(f"{term} {role} ({_moves(s)}; {s['strength']} evidence)")
        text += _capital(ev._join(parts)) + "."
    big = max((abs(s["median_diff"]) for s in entry["effects"].values()), default=0.0)
    strong_pairs = [
        (name, s)
        for name, s in entry["interactions"].items()
        if s["clear"] and big > 0 and abs(s["median_diff"]) >= 0.5 * big
    ]
    for name, s in strong_pairs:
        first, second = name.split(" × ")
        text += (
            f" The terms interact: {first}'s effect is {ev.fmt(2 * abs(s['median_diff']))} "
            f"{'larger' if s['median_diff'] > 0 else 'smaller'} with {second} post than with it pre "
            f"(interaction {ev.fmt_signed(s['median_diff'])}, 95% CI {ev.fmt_ci(s['ci'])})."
        )
    return text


def effects_examined(summary: dict) -> int:
    """How many main effects the verdict looks at: one per term per headline measure."""
    return len(SCREEN_TERMS) * len(summary["measures"])


def corrected_bar(summary: dict) -> float:
    """The sign-test p an effect must beat once we allow for examining them all (Bonferroni)."""
    return ev.SIGNIFICANCE / effects_examined(summary)


def separate_check(summary: dict) -> str:
    """SPEC §10's pipeline check: separate normalizes its inputs itself, so its tap cannot change its value or
    gradient, and its main effect should be about zero with an interval around 0 on every measure.

    Single seeds still differ: the two taps agree only to float rounding (~1e-6 relative at the first step), and
    training grows those last digits into visible differences in either direction (measured: weights ~1% apart
    after 3,001 steps), which the sentence reports so that nobody mistakes one seed's gap for an effect. With
    several effects examined one interval can exclude 0 by luck; only an effect that clears the corrected bar is
    called a fault."""
    ms = [m for m in summary["measures"].values() if m["n_seeds"]]
    if not ms:
        return ""
    bar = corrected_bar(summary)
    real = [m["label"] for m in ms if m["effects"]["separate"]["clear"] and m["effects"]["separate"]["sign_p"] < bar]
    if real:
        return (
            f"Unexpected: separate reads only the directions of the latents, so its tap should not matter, yet its "
            f"effect on {ev._join(real)} is clear even allowing for the {effects_examined(summary)} effects examined. "
            "That points at a fault somewhere in the pipeline: worth checking before trusting the rest."
        )
    medians = [abs(m["effects"]["separate"]["relative_median_diff"] or 0.0) for m in ms]
    lucky = [m for m in ms if m["effects"]["separate"]["clear"]]
    text = (
        f"Separate's effect is about zero on every measure: its median is within {ev._pct(max(medians))} of "
        "pre-norm's median"
    )
    if lucky:
        text += "; " + ev._join(
            f"on {m['label']} its interval excludes 0 ({ev.fmt_p(m['effects']['separate']['sign_p'])}, not below the "
            f"corrected bar of {bar:.2g})"
            for m in lucky
        )
        text += f": with {effects_examined(summary)} effects examined that can be luck, and more seeds would tell."
    else:
        text += " and each interval includes 0."
    text += (
        " That is what should happen: separate compares only the directions of the latents (cosines of unit "
        "vectors), so it has the same value and gradient on either tap, and seeing it come out so is a check on "
        "the whole pipeline."
    )
    head = ms[0]
    per_seed = np.asarray(head["effects"]["separate"]["differences"]) / abs(head["pre_median"] or np.nan) * 100
    if per_seed.size and np.isfinite(per_seed).all() and np.abs(per_seed).max() >= 1:
        text += (
            f" Single seeds still differ ({head['label']} by {ev.fmt_signed(per_seed.min())}% to "
            f"{ev.fmt_signed(per_seed.max())}% of pre-norm's median): the two taps agree only up to float rounding, "
            "and 3,000 training steps grow those last digits into visible differences, in both directions, that "
            "average out across seeds."
        )
    return text


def screen_verdict(summary: dict) -> str:
    """The screen's answer in plain language: one paragraph per headline measure, the separate check, and how
    sure we can be given how many effects were looked at."""
    if summary["n_seeds"] == 0:
        return "Nothing was measured, so there is nothing to say."
    parts = [m["reading"] for m in summary["measures"].values()]
    check = separate_check(summary)
    if check and summary["n_seeds"] >= ev.MIN_SEEDS_TO_CALL:
        parts.append(check)
    k = effects_examined(summary)
    bar = corrected_bar(summary)
    n = summary["n_seeds"]
    needed = math.floor(math.log2(2 / bar)) + 1  # smallest n with 2 × (1/2)^n < bar
    if ev.sign_test_p(n, 0) < bar:
        reach = f"with {n} seeds a term that wins on at least {_min_wins(n, bar)} of them clears it"
    else:
        reach = (
            f"with {n} seeds even {n} of {n} ({ev.fmt_p(ev.sign_test_p(n, 0))}) does not, so read the calls above "
            f"as leads: from {needed} seeds on, a term that wins on every seed clears it"
        )
    parts.append(
        f"How sure: {k} main effects were examined ({len(SCREEN_TERMS)} terms × {len(summary['measures'])} "
        f"measures), so one can look real by luck alone. A sign-test p below {ev.fmt(ev.SIGNIFICANCE)} ÷ {k} = "
        f"{bar:.2g} allows for that (Bonferroni); {reach}."
    )
    return "\n\n".join(parts)


def _min_wins(n: int, bar: float) -> int:
    return next(k for k in range(n // 2, n + 1) if ev.sign_test_p(k, n - k) < bar)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


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
                    if name in SCREEN_TERMS
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


def effects_caption(summary: dict, key: str) -> str:
    """The text of evidence_charts.effects_chart, from the same numbers: each row's median and interval."""
    m = summary["measures"][key]
    bits = []
    for name, s in {**m["effects"], "post-norm − pre-norm": m["total"]}.items():
        lo, hi = s["relative_ci"]
        zero = "includes 0" if s["direction"] == "unclear" else "excludes 0"
        if s["relative_median_diff"] is None:
            bits.append(f"{name}: n/a")
        else:
            bits.append(
                f"{name} {ev.fmt_signed(s['relative_median_diff'])}% (interval {ev.fmt(lo)}% to {ev.fmt(hi)}%, {zero})"
            )
    return (
        f"Main effect of each term on {m['label']} across {m['n_seeds']} seeds: the change from moving that term "
        "alone from the raw latent (pre) to the unit latent (post), averaged over the other two terms' settings, as "
        "a percentage of pre-norm's median, with its 95% bootstrap interval; left of zero means post lowers it. "
        + "; ".join(bits)
        + "."
    )
