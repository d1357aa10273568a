"""The factorial screen's numbers (lab.summarize_screen's summary) put into words: a reading per headline
measure, the check that separate's tap does not matter, the verdict and the effects chart's caption."""

from __future__ import annotations

import math

import numpy as np

from .designs import PLACED_TERMS
from .evidence import MIN_SEEDS_TO_CALL, SIGNIFICANCE, sign_test_p
from .text import capitalized, fmt, fmt_signed, join, pct
from .verdicts import fmt_ci, fmt_p


def _moves(s: dict) -> str:
    """'lowers it' / 'raises it': what moving a term to post does to the measure (median over seeds)."""
    return "lowers it" if s["median_diff"] < 0 else "raises it"


def _effect_phrase(term: str, s: dict) -> str:
    """'anchor −1.1e-4 (−12% of pre-norm's median), 95% CI [−2e-4, −3e-5], post better on 7 of 8 seeds (p = 0.07)'."""
    rel = (
        f" ({'−' if s['median_diff'] < 0 else '+'}{pct(s['relative_median_diff'])} of pre-norm's median)"
        if (s["relative_median_diff"] is not None)
        else ""
    )
    return (
        f"{term} {fmt_signed(s['median_diff'])}{rel}, 95% CI {fmt_ci(s['ci'])}, "
        f"post better on {s['wins']['b']} of {s['n_pairs']} seeds ({fmt_p(s['sign_p'])})"
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
        f"{fmt(abs(total['median_diff']))} (95% CI {fmt_ci(total['ci'])}, post better on "
        f"{total['wins']['b']} of {n} seeds, {fmt_p(total['sign_p'])}). Main effects (moving one term to post, "
        "averaged over the others): " + "; ".join(_effect_phrase(t, s) for t, s in entry["effects"].items()) + ". "
    )
    found = entry["drivers"]
    if n < MIN_SEEDS_TO_CALL:
        return text + f"With fewer than {MIN_SEEDS_TO_CALL} seeds no term is singled out."
    if not found:
        text += "No term stands out: every interval includes zero."
    else:
        parts = []
        for term in found:
            s = entry["effects"][term]
            agrees = (s["median_diff"] < 0) == (total["median_diff"] < 0)
            role = "drives post-norm's difference" if agrees else "pulls against post-norm's difference"
            parts.append(f"{term} {role} ({_moves(s)}; {s['strength']} evidence)")
        text += capitalized(join(parts)) + "."
    big = max((abs(s["median_diff"]) for s in entry["effects"].values()), default=0.0)
    strong_pairs = [
        (name, s)
        for name, s in entry["interactions"].items()
        if s["clear"] and big > 0 and abs(s["median_diff"]) >= 0.5 * big
    ]
    for name, s in strong_pairs:
        first, second = name.split(" × ")
        text += (
            f" The terms interact: {first}'s effect is {fmt(2 * abs(s['median_diff']))} "
            f"{'larger' if s['median_diff'] > 0 else 'smaller'} with {second} post than with it pre "
            f"(interaction {fmt_signed(s['median_diff'])}, 95% CI {fmt_ci(s['ci'])})."
        )
    return text


def effects_examined(summary: dict) -> int:
    """How many main effects the verdict looks at: one per term per headline measure."""
    return len(PLACED_TERMS) * len(summary["measures"])


def corrected_bar(summary: dict) -> float:
    """The sign-test p an effect must beat once we allow for examining them all (Bonferroni)."""
    return SIGNIFICANCE / effects_examined(summary)


def separate_check(summary: dict) -> str:
    """SPEC §10's pipeline check: separate normalizes its inputs itself, so its tap cannot change its value or
    gradient, and its main effect should be about zero on every measure. Only an effect that clears the corrected
    bar is called a fault; why single seeds still differ is in docs/science.md."""
    ms = [m for m in summary["measures"].values() if m["n_seeds"]]
    if not ms:
        return ""
    bar = corrected_bar(summary)
    real = [m["label"] for m in ms if m["effects"]["separate"]["clear"] and m["effects"]["separate"]["sign_p"] < bar]
    if real:
        return (
            f"Unexpected: separate reads only the directions of the latents, so its tap should not matter, yet its "
            f"effect on {join(real)} is clear even allowing for the {effects_examined(summary)} effects examined. "
            "That points at a fault somewhere in the pipeline: worth checking before trusting the rest."
        )
    return _separate_about_zero(summary, ms, bar)


def _separate_about_zero(summary: dict, ms: list[dict], bar: float) -> str:
    """The expected outcome: separate's effect near 0 everywhere, any interval that excludes 0 explained as luck."""
    medians = [abs(m["effects"]["separate"]["relative_median_diff"] or 0.0) for m in ms]
    lucky = [m for m in ms if m["effects"]["separate"]["clear"]]
    text = (
        f"Separate's effect is about zero on every measure: its median is within {pct(max(medians))} of "
        "pre-norm's median"
    )
    if lucky:
        text += "; " + join(
            f"on {m['label']} its interval excludes 0 ({fmt_p(m['effects']['separate']['sign_p'])}, not below the "
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
    return text + _single_seeds_differ(ms[0])


def _single_seeds_differ(head: dict) -> str:
    """A note when single seeds' separate effects reach 1% of pre-norm's median: float rounding, grown by training."""
    per_seed = np.asarray(head["effects"]["separate"]["differences"]) / abs(head["pre_median"] or np.nan) * 100
    if not (per_seed.size and np.isfinite(per_seed).all() and np.abs(per_seed).max() >= 1):
        return ""
    return (
        f" Single seeds still differ ({head['label']} by {fmt_signed(per_seed.min())}% to "
        f"{fmt_signed(per_seed.max())}% of pre-norm's median): the two taps agree only up to float rounding, "
        "and 3,000 training steps grow those last digits into visible differences, in both directions, that "
        "average out across seeds."
    )


def screen_verdict(summary: dict) -> str:
    """The screen's answer in plain language: one paragraph per headline measure, the separate check, and how
    sure we can be given how many effects were looked at."""
    if summary["n_seeds"] == 0:
        return "Nothing was measured, so there is nothing to say."
    parts = [m["reading"] for m in summary["measures"].values()]
    check = separate_check(summary)
    if check and summary["n_seeds"] >= MIN_SEEDS_TO_CALL:
        parts.append(check)
    k = effects_examined(summary)
    bar = corrected_bar(summary)
    n = summary["n_seeds"]
    needed = math.floor(math.log2(2 / bar)) + 1  # smallest n with 2 × (1/2)^n < bar
    if sign_test_p(n, 0) < bar:
        reach = f"with {n} seeds a term that wins on at least {_min_wins(n, bar)} of them clears it"
    else:
        reach = (
            f"with {n} seeds even {n} of {n} ({fmt_p(sign_test_p(n, 0))}) does not, so read the calls above "
            f"as leads: from {needed} seeds on, a term that wins on every seed clears it"
        )
    parts.append(
        f"How sure: {k} main effects were examined ({len(PLACED_TERMS)} terms × {len(summary['measures'])} "
        f"measures), so one can look real by luck alone. A sign-test p below {fmt(SIGNIFICANCE)} ÷ {k} = "
        f"{bar:.2g} allows for that (Bonferroni); {reach}."
    )
    return "\n\n".join(parts)


def _min_wins(n: int, bar: float) -> int:
    return next(k for k in range(n // 2, n + 1) if sign_test_p(k, n - k) < bar)


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
            bits.append(f"{name} {fmt_signed(s['relative_median_diff'])}% (interval {fmt(lo)}% to {fmt(hi)}%, {zero})")
    return (
        f"Main effect of each term on {m['label']} across {m['n_seeds']} seeds: the change from moving that term "
        "alone from the raw latent (pre) to the unit latent (post), averaged over the other two terms' settings, as "
        "a percentage of pre-norm's median, with its 95% bootstrap interval; left of zero means post lowers it. "
        + "; ".join(bits)
        + "."
    )
