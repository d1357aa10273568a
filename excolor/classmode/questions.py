"""The three predict-before-reveal questions: what is asked, the answers one can give, and how a measurement
picks the right one.

A question's answers are short fixed ids (what the vote store keeps and the CLI prints); their wording lives here
too, so the app, the tally chart and the CLI say the same thing. The measured answer comes from numbers the pages
already show: nothing here trains or evaluates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str
    answers: dict[str, str]  # answer id -> its wording, in the order the app offers them
    short: dict[str, str]  # answer id -> a few words, for a chart's axis on a phone


QUESTIONS = {
    q.id: q
    for q in (
        Question(
            "placement",
            "Which placement will reconstruct colors better (lower maximum error over half a million colors)?",
            {
                "post": "Post-norm (Ex 2.4) will reconstruct better",
                "pre": "Pre-norm (Ex 2.3) will reconstruct better",
                "same": "No real difference",
            },
            {"post": "Post-norm better", "pre": "Pre-norm better", "same": "No real difference"},
        ),
        Question(
            "interventions",
            "At the notebook's settings, which intervention will leave the other colors more intact: the lower "
            "median error over half a million colors and the higher selectivity r?",
            {
                "suppression": "Suppression",
                "repulsion": "Repulsion",
                "split": "Neither: each wins on one of the two measures",
            },
            {"suppression": "Suppression", "repulsion": "Repulsion", "split": "One measure each"},
        ),
        Question(
            "lab",
            "On how many of the seeds will post-norm (Ex 2.4) have the lower maximum error than pre-norm (Ex 2.3)?",
            {
                "all": "All of them",
                "most": "Most (two thirds or more, not all)",
                "half": "About half (between a third and two thirds)",
                "few": "Few (a third or fewer)",
            },
            {"all": "All", "most": "Most", "half": "About half", "few": "Few"},
        ),
    )
}


def is_answer(question: str, answer: str) -> bool:
    return question in QUESTIONS and answer in QUESTIONS[question].answers


def interventions_outcome(medians: dict[str, float], selectivity: dict[str, float]) -> str | None:
    """'suppression' or 'repulsion' when one has both the lower median error and the higher selectivity r;
    'split' when each wins one measure (or they tie on one); None when a number is missing (a diverged run)."""
    names = ("suppression", "repulsion")
    numbers = [medians.get(n, math.nan) for n in names] + [selectivity.get(n, math.nan) for n in names]
    if not all(math.isfinite(x) for x in numbers):
        return None
    by_median = "suppression" if medians["suppression"] < medians["repulsion"] else "repulsion"
    by_selectivity = "suppression" if selectivity["suppression"] > selectivity["repulsion"] else "repulsion"
    ties = medians["suppression"] == medians["repulsion"] or selectivity["suppression"] == selectivity["repulsion"]
    return by_median if by_median == by_selectivity and not ties else "split"


def share_answer(wins: int, n: int) -> str | None:
    """The lab answer for `wins` of `n` seeds, in whole numbers: few (3w <= n), half (n < 3w < 2n), most
    (3w >= 2n, w < n), all (w = n). Integer arithmetic, so 8 seeds split exactly as 0-2, 3-5, 6-7, 8."""
    if n <= 0 or not 0 <= wins <= n:
        return None
    if wins == n:
        return "all"
    if 3 * wins >= 2 * n:
        return "most"
    if 3 * wins > n:
        return "half"
    return "few"


def share_ranges(n: int) -> dict[str, tuple[int, int] | None]:
    """For each lab answer, the win counts (lowest, highest) out of `n` seeds it covers; None if none fits."""
    ranges: dict[str, list[int]] = {}
    for wins in range(n + 1):
        ranges.setdefault(share_answer(wins, n), []).append(wins)
    return {a: (ranges[a][0], ranges[a][-1]) if a in ranges else None for a in QUESTIONS["lab"].answers}


def lab_answer_labels(n: int) -> dict[str, str]:
    """The lab answers worded for `n` seeds, e.g. 'Most: 6–7 of 8'. All four are always offered (a class may
    mix seed counts); one that no count of `n` seeds can reach says so."""
    words = {"all": "All", "most": "Most", "half": "About half", "few": "Few"}
    labels = {}
    for answer, span in share_ranges(n).items():
        if span is None:
            labels[answer] = f"{words[answer]}: no count of {n} seeds"
        elif answer == "all":
            labels[answer] = f"All {n} of {n}"
        else:
            low, high = span
            labels[answer] = f"{words[answer]}: {low if low == high else f'{low}–{high}'} of {n}"
    return labels
