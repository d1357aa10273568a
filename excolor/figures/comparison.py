"""Pre-norm against post-norm: the final numbers side by side, what they say about the hypothesis, the verdict
on the learner's prediction, and how this seed compares with the notebook's run and with other seeds."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..classmode.questions import QUESTIONS
from ..designs import PRESET_TITLES
from ..text import fmt, join, ordinal
from ..train import TrainedRun
from .diagrams import TAP_INDIFFERENT
from .notebook import NOTEBOOK, NOTEBOOK_SOURCE
from .style import TERM_NAMES
from .training_curves import HISTORY_CURVES, final_terms

SAME_TOLERANCE = 0.2  # relative gap in max error below which one seed cannot tell the placements apart
# Rows of the comparison table that test the hypothesis (lower reconstruction error, a better-shaped latent space),
# and what they test. Anchor and planarity count only on the fixed set: there both placements are measured on the
# unit latent, the space the decoder and the interventions see.
HYPOTHESIS_ROWS = {
    "reconstruction (fixed set)": "reconstruction",
    "max error": "reconstruction",
    "median error": "reconstruction",
    "anchor (fixed set)": "layout",
    "planarity (fixed set)": "layout",
}


def comparison_table(
    runs: Mapping[str, TrainedRun],
    validation: Mapping[str, Mapping[str, float]],
    errors: Mapping[str, Mapping[str, float]],
) -> pd.DataFrame:
    """One row per quantity, one column per placement, plus post ÷ pre. Lower is better on every row.

    `validation` is excolor.evaluate.validation_losses per placement (fixed set, same tap for both);
    `errors` holds {"max", "median"} dense-grid reconstruction errors per placement. The "tests the hypothesis"
    column names what a row tests (HYPOTHESIS_ROWS); training-batch rows are a record of training, not a test.
    """
    rows: list[tuple[str, str, dict[str, float]]] = []
    finals = {p: final_terms(r.history) for p, r in runs.items()}
    for term in HISTORY_CURVES:
        where = "training batches"
        if term in TAP_INDIFFERENT:
            where += " (same value on either tap)"
        elif term not in ("recon", "unit"):
            where += ", own tap (not comparable)"
        rows.append((f"{TERM_NAMES[term]} (last 100 steps)", where, {p: f[term] for p, f in finals.items()}))
    val_where = {
        "recon": "all training colors",
        "unit": "all training colors, raw latent",
        "anchor": "red-labelled colors, unit latent",
        "planar": "vibrant colors, unit latent",
    }
    for term, where in val_where.items():
        rows.append((f"{TERM_NAMES[term]} (fixed set)", where, {p: v[term] for p, v in validation.items()}))
    rows.append(("max error", "552,960 colors", {p: e["max"] for p, e in errors.items()}))
    rows.append(("median error", "552,960 colors", {p: e["median"] for p, e in errors.items()}))
    names = {p: PRESET_TITLES.get(p, p) for p in runs}
    frame = pd.DataFrame(
        [
            {"quantity": q, "measured on": w, "tests the hypothesis": HYPOTHESIS_ROWS.get(q, "—")}
            | {names[p]: float(v[p]) for p in runs}
            for q, w, v in rows
        ]
    )
    if set(runs) >= {"pre", "post"}:
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["post ÷ pre"] = frame[names["post"]] / frame[names["pre"]]
    return frame


def comparison_description(table: pd.DataFrame, histories: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> str:
    """What the rows that test the hypothesis say, and why the two reconstruction rows can disagree.

    No tally of "rows where post-norm is lower": reconstruction appears four times and unitarity twice, so a
    count would weigh them by how often they are listed, not by what they test.
    """
    if "post ÷ pre" not in table:
        return "Final losses and errors per placement; lower is better on every row."
    rows = table.set_index("quantity")
    tests = rows[rows["tests the hypothesis"] != "—"] if "tests the hypothesis" in rows else rows.iloc[:0]
    listed = join([f"{q} {r:.2f}" for q, r in tests["post ÷ pre"].items()]) if len(tests) else ""
    row = rows.loc["max error"]
    if not np.isfinite(row["post ÷ pre"]):  # a diverged run: its losses and errors are not numbers
        values = {p: row[PRESET_TITLES[p]] for p in ("pre", "post")}
        shown = {p: fmt(v) if np.isfinite(v) else "diverged" for p, v in values.items()}
        return (
            "Final losses and errors side by side (lower is better on every row). Max reconstruction error: pre-norm "
            f"{shown['pre']}, post-norm {shown['post']}: with a run diverged there is no ratio, and nothing here "
            "tests the hypothesis."
        )
    parts = [
        "Final losses and errors side by side (lower is better on every row). Max reconstruction error: pre-norm "
        f"{fmt(row[PRESET_TITLES['pre']])}, post-norm {fmt(row[PRESET_TITLES['post']])} (post ÷ pre = "
        f"{row['post ÷ pre']:.2f})."
    ]
    if listed:
        parts.append(
            "The rows that test the hypothesis (reconstruction error, and how well red and the vivid hues sit where "
            f"the regularizers ask, on the unit latent for both), as post ÷ pre: {listed}."
        )
    parts.append(reconstruction_rows_note(table, histories))
    parts.append(
        "Rows marked 'not comparable' are measured on the tap each model was trained on: raw latents pre-norm, "
        "unit latents post-norm."
    )
    return " ".join(p for p in parts if p)


def reconstruction_rows_note(table: pd.DataFrame, histories: Mapping[str, Mapping[str, np.ndarray]] | None) -> str:
    """Why reconstruction on training batches and on the fixed set can point different ways.

    The batch row is a mean over the last 100 training batches (64 colors each) while the weights still move;
    the fixed-set row scores the final weights once on every training color. With the two histories, the spread
    of post ÷ pre batch by batch (same batches for both: they are paired) shows how noisy the batch row is.
    """
    ratios = table.set_index("quantity")["post ÷ pre"]
    batch, fixed = ratios.get("reconstruction (last 100 steps)"), ratios.get("reconstruction (fixed set)")
    if batch is None or fixed is None or not (np.isfinite(batch) and np.isfinite(fixed)):
        return ""
    same_side = (batch < 1) == (fixed < 1) and abs(batch - fixed) < 0.1
    text = f"Reconstruction on training batches (post ÷ pre {batch:.2f}) and on the fixed set ({fixed:.2f}) "
    if same_side:
        return text + "agree."
    text += (
        "disagree: the batch row averages the loss of the last 100 training batches of 64 colors while the weights "
        "are still moving; the fixed set scores the final weights once on all the training colors, weighted as "
        "training samples them, so it is the steadier of the two."
    )
    if histories and {"pre", "post"} <= set(histories):
        pre = np.asarray(histories["pre"]["recon"], dtype=float)[-100:]
        post = np.asarray(histories["post"]["recon"], dtype=float)[-100:]
        with np.errstate(divide="ignore", invalid="ignore"):
            paired = post / pre
        paired = paired[np.isfinite(paired)]
        if paired.size >= 10:
            lo, hi = np.percentile(paired, [10, 90])
            text += (
                f" Batch by batch (the same batches for both models) post ÷ pre ranges from {lo:.2f} to {hi:.2f} "
                "over those 100 steps (10th to 90th percentile)."
            )
    return text


PREDICTIONS = QUESTIONS["placement"].answers  # the hypothesis page's question (excolor.classmode.questions)


def measured_outcome(pre_max: float, post_max: float, tolerance: float = SAME_TOLERANCE) -> str:
    """'post', 'pre' or 'same': which placement has the lower max error, 'same' if within `tolerance`;
    'unknown' when a run has no usable error (it diverged)."""
    if not (math.isfinite(pre_max) and math.isfinite(post_max)) or max(pre_max, post_max) <= 0:
        return "unknown"
    gap = abs(post_max - pre_max) / max(pre_max, post_max)
    if gap < tolerance:
        return "same"
    return "post" if post_max < pre_max else "pre"


def prediction_verdict(
    prediction: str | None, pre_max: float, post_max: float, tolerance: float = SAME_TOLERANCE
) -> tuple[bool | None, str]:
    """(was the prediction right, or None if there was none; a sentence saying what was measured)."""
    outcome = measured_outcome(pre_max, post_max, tolerance)
    if outcome == "unknown":
        return None, "No verdict for this seed: a model has no usable reconstruction error (it diverged)."
    gap = abs(post_max - pre_max) / max(pre_max, post_max)
    if outcome == "same":
        found = (
            f"the two max errors (pre-norm {fmt(pre_max)}, post-norm {fmt(post_max)}) differ by only {gap:.0%}, "
            f"less than the {tolerance:.0%} that changing the seed alone can do"
        )
    else:
        better, worse = (post_max, pre_max) if outcome == "post" else (pre_max, post_max)
        found = (  # one framing of the ratio on every page: post-norm's against pre-norm's (seed_context, deltas)
            f"{PRESET_TITLES[outcome]} reconstructs better on this seed: max error {fmt(better)} against "
            f"{fmt(worse)}; post-norm's max error is {_relative(post_max, pre_max)} than pre-norm's"
        )
    if prediction not in PREDICTIONS:
        return None, f"Measured: {found}."
    right = prediction == outcome
    return right, f"You predicted: {PREDICTIONS[prediction]}. Measured: {found}."


def _relative(post: float, pre: float) -> str:
    """'62% higher' / '35% lower': post-norm's max error against pre-norm's, as the page's metric delta has it."""
    change = post / pre - 1
    return f"{abs(change):.0%} {'higher' if change > 0 else 'lower'}"


def seed_context(
    seed: int,
    pre_max: float,
    post_max: float,
    across: Mapping[int, tuple[float, float]] | None = None,
    tolerance: float = SAME_TOLERANCE,
) -> str:
    """How this seed's max-error outcome compares with the notebook's run and, when a sweep has run on this server
    (`across`: seed -> (pre max, post max)), with the other seeds. A 62% gap is never called small."""
    if not (math.isfinite(pre_max) and math.isfinite(post_max)) or min(pre_max, post_max) <= 0:
        return ""
    nb_pre, nb_post = NOTEBOOK[("pre", "baseline")]["max"], NOTEBOOK[("post", "baseline")]["max"]
    outcome = measured_outcome(pre_max, post_max, tolerance)
    here = (
        f"On seed {seed} post-norm's max error is {_relative(post_max, pre_max)} than pre-norm's "
        f"({fmt(post_max)} vs {fmt(pre_max)})"
    )
    notebook = (
        f"the notebook's run (post-norm {_relative(nb_post, nb_pre)}: {fmt(nb_post)} vs {fmt(nb_pre)}, "
        f"{NOTEBOOK_SOURCE})"
    )
    if outcome == "post":
        text = f"{here}: the same direction as {notebook}."
    elif outcome == "pre":
        text = f"{here}: the opposite of {notebook}."
    else:
        text = f"{here}: within the {tolerance:.0%} the seed alone can move it, too close to call, unlike {notebook}."
    return text + _across_seeds(seed, across or {})


def _across_seeds(seed: int, across: Mapping[int, tuple[float, float]]) -> str:
    """How often post-norm won across the seeds a sweep trained, and where this seed ranks among them."""
    pairs = {s: (a, b) for s, (a, b) in across.items() if math.isfinite(a) and math.isfinite(b) and min(a, b) > 0}
    if len(pairs) < 2:
        return (
            " One seed is one roll of the dice: the Experiment lab page trains many seeds of both placements "
            "and counts how often each comes out ahead."
        )
    ratios = {s: b / a for s, (a, b) in pairs.items()}
    wins = sum(r < 1 for r in ratios.values())
    text = (
        f" Across the {len(pairs)} seeds trained on this server for the Experiment lab, post-norm had the lower max "
        f"error on {wins}; the median post ÷ pre is {np.median(list(ratios.values())):.2f}."
    )
    if seed in ratios:
        order = sorted(ratios, key=ratios.get)
        rank = order.index(seed)
        if rank == len(order) - 1:
            text += f" Seed {seed} is pre-norm's widest margin of them all."
        elif rank == 0:
            text += f" Seed {seed} is post-norm's widest margin of them all."
        else:
            place = f"the {ordinal(rank + 1)} lowest of {len(order)}"
            text += f" Seed {seed}'s post ÷ pre ({ratios[seed]:.2f}) is {place}."
    return text
