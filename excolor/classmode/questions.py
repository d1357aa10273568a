"""The three predict-before-reveal questions: what is asked, the answers one can give, and how a measurement
picks the right one.

A question's answers are short fixed ids (what the vote store keeps and the CLI prints); their wording lives here
too, so the app, the tally chart and the CLI say the same thing. The measured answer comes from numbers the pages
already show: nothing here trains or evaluates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from excolor.designs import PRESET_TITLES

# The answer depends on the placement (pre-norm and post-norm models can differ), so the page asks it of one model.
INTERVENTIONS_PROMPT = (
    "On {model}, at the notebook's settings, which intervention will leave the other colors more intact? Judged on "
    "collateral damage: the median error of the colors far from red, as a multiple of the baseline's, and the share "
    "of them visibly damaged (lower on both wins)."
)


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
            INTERVENTIONS_PROMPT.format(model="the model shown"),
            {
                "suppression": "Suppression",
                "repulsion": "Repulsion",
                "split": "Neither: each does better on one of the two measures, or they tie",
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


def lab_prompt(n_seeds: int) -> str:
    """The lab question for exactly `n_seeds` seeds: a new count is a new question."""
    return (
        f"On how many of the {n_seeds} seeds will post-norm (Ex 2.4) have the lower maximum error than pre-norm "
        "(Ex 2.3)?"
    )


def interventions_prompt(placement: str) -> str:
    """The interventions question about the `placement` model ('pre' or 'post'): its answer differs between them."""
    return INTERVENTIONS_PROMPT.format(model=f"the {PRESET_TITLES[placement]} model")


def interventions_outcome(collateral: dict[str, tuple[float, float]]) -> str | None:
    """From each intervention's collateral damage (ratio to the baseline, share visibly damaged): 'suppression' or
    'repulsion' when one is lower on one measure and not higher on the other; 'split' when each is lower on one, or
    they tie on both; None when a number is missing (a diverged run)."""
    (sup_ratio, sup_damaged), (rep_ratio, rep_damaged) = collateral["suppression"], collateral["repulsion"]
    if not all(math.isfinite(x) for x in (sup_ratio, sup_damaged, rep_ratio, rep_damaged)):
        return None
    if (sup_ratio, sup_damaged) == (rep_ratio, rep_damaged):
        return "split"
    if sup_ratio <= rep_ratio and sup_damaged <= rep_damaged:
        return "suppression"
    if rep_ratio <= sup_ratio and rep_damaged <= sup_damaged:
        return "repulsion"
    return "split"


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
