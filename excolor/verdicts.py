"""Verdicts: a comparison's numbers (evidence.summarize's summary) put into words.

The verdict, the sentence for each measure, the captions of the comparison's figures and the rows of its table
are all written from the same summary, so the words can never disagree with the numbers beside them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .evidence import DEFAULT_A, DEFAULT_B, MIN_SEEDS_TO_CALL, RESAMPLES, SIGNIFICANCE, sign_test_p
from .measures import HEADLINE_KEY, MEASURE_BY_KEY
from .text import capitalized, fmt, fmt_signed, join, pct


def fmt_ci(ci: Sequence[float | None]) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def fmt_p(p: float | None) -> str:
    """'p = 0.0078', 'p = 0.29', 'p = 1', 'p < 0.001'."""
    if p is None or not math.isfinite(p):
        return "p n/a"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}".rstrip("0").rstrip(".")


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
    weighed = join([ms[x]["label"] for x in keys])
    text = (
        f"How sure: the verdict weighs {k} of the {len(ms)} measures in the table ({weighed}), so one of them can "
        f"look like a difference by luck alone. A sign test p below {fmt(SIGNIFICANCE)} ÷ {k} = {bar:.2g} allows for "
        "that (Bonferroni); "
        f"{_strongest_possible(summary['n_pairs'])}."
    )
    if not called:
        return text
    passing = [m["label"] for m in called if m["sign_p"] < bar]
    failing = [m["label"] for m in called if m["sign_p"] >= bar]
    if passing:
        text += f" It is cleared on {join(passing)}."
    if failing:
        text += f" It is not cleared on {join(failing)}: read {'that' if len(failing) == 1 else 'those'} as a lead "
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
    head = ms[HEADLINE_KEY]
    parts = [
        _opening(summary) + " On the notebook's headline number, " + measure_sentence(head, summary),
        interval_meaning(head, summary["resamples"]),
    ]
    if n >= MIN_SEEDS_TO_CALL:
        parts.append(multiplicity_note(summary))
    others = [m for k, m in ms.items() if k not in summary["hypothesis_measures"] and m["clear"]]
    if others:
        clauses = [_clear_clause(m, summary) for m in others]
        parts.append("Other clear differences: " + " ".join([clauses[0], *map(capitalized, clauses[1:])]))
    if summary["diverged"]:
        parts.append(f"{len(summary['diverged'])} run(s) diverged and were left out of the comparison.")
    return "\n\n".join(parts)


def _opening(summary: dict) -> str:
    """The verdict's first sentence: which design did better on which of the hypothesis's measures, if any."""
    ms, n, names = summary["measures"], summary["n_pairs"], summary["names"]
    hyp = [ms[k] for k in summary["hypothesis_measures"]]
    for_b = [_evidence_for(m) for m in hyp if m["favours"] == "b"]
    for_a = [_evidence_for(m) for m in hyp if m["favours"] == "a"]
    seeds = f"{n} seed" + ("s" if n != 1 else "")
    published = (summary["a"], summary["b"]) == (DEFAULT_A, DEFAULT_B)
    if for_b and not for_a:
        lead = "the evidence supports the hypothesis: " if published else ""
        opening = (
            f"Across {seeds}, {lead}{names['b']} did better on {join(for_b)}, and {names['a']} did not do "
            f"better on any of the {len(hyp)} measures the verdict weighs."
        )
    elif for_a and not for_b:
        lead = "the evidence goes against the hypothesis: " if published else ""
        opening = (
            f"Across {seeds}, {lead}{names['a']} did better on {join(for_a)}, and {names['b']} did not do "
            f"better on any of the {len(hyp)} measures the verdict weighs."
        )
    elif for_a and for_b:
        opening = (
            f"Across {seeds}, the evidence is mixed: {names['b']} did better on {join(for_b)}, "
            f"but {names['a']} on {join(for_a)}."
        )
    elif n < MIN_SEEDS_TO_CALL:
        opening = (
            f"{seeds.capitalize()} cannot settle the question: a difference is only called here with at "
            f"least {MIN_SEEDS_TO_CALL} seeds."
        )
    else:
        what = "the hypothesis" if published else f"which of {names['a']} and {names['b']} is better"
        opening = (
            f"Across {seeds}, the evidence does not settle {what}: on each of the {len(hyp)} measures it weighs "
            "(reconstruction error, hue-peak evenness, anchor and planarity losses) the interval includes zero."
        )
    if not published:
        return f"A is {summary['labels']['a']}; B is {summary['labels']['b']}. " + opening
    return opening


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
        f"seeds ({fmt_p(m['sign_p'])}), by {pct(m['relative_median_diff'])} of {names['a']}'s median "
        f"(median difference {fmt(m['median_diff'])}, 95% CI {fmt_ci(m['ci'])})."
    )


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
        text += " Grey lines join the two runs of the same seed. " + capitalized(measure_sentence(m, summary))
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
        bits.append(f"{m['label']} {pct(rel)} {side} (interval {fmt(lo)}% to {fmt(hi)}%, {zero})")
    names = summary["names"]
    return (
        f"Median paired difference ({difference_label(summary)}) for each measure across {summary['n_pairs']} "
        f"seeds, as a percentage of {names['a']}'s median, with its 95% bootstrap interval; left of the zero line "
        f"means {names['b']} was lower. " + "; ".join(bits) + "."
    )


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
            {  # the outcome second: on a narrow screen the table scrolls, and the words must not be off its edge
                "measure": m["label"],
                "outcome": outcome(m, names),
                "better": m["better"] or "neither",
                f"{names['a']} median": fmt(m["a"]["median"]),
                f"{names['b']} median": fmt(m["b"]["median"]),
                difference_label(summary): fmt_signed(m["median_diff"]),
                "95% CI": fmt_ci(m["ci"]),
                f"{names['b']} was": f"{lower_higher(m, 'b')} on {m['wins']['b']} of {m['n_pairs']}",
                "sign test p": fmt_p(m["sign_p"]).removeprefix("p = ").removeprefix("p "),
            }
        )
    return rows
