"""The factorial screen: main effects and interactions on numbers with a known answer, the readings written from
them, and the train-and-measure loop shared by compare, sweep and screen."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from excolor import lab, measures, screen_verdicts
from excolor.designs import FACTORIAL, PLACED_TERMS
from excolor.text import fmt_signed

TERMS = PLACED_TERMS


def screen_records(y, n_seeds: int = 8, noise: float = 0.0) -> list[dict]:
    """Records for the 8 factorial designs x n seeds; y(seed, anchor, separate, planar) -> (max, recon, planar),
    each tap 0 = pre, 1 = post. `noise` adds a seeded relative jitter."""
    rng = np.random.default_rng(11)
    records = []
    for seed in range(n_seeds):
        for design in FACTORIAL:
            taps = [int(getattr(design, t) == "post") for t in TERMS]
            base_max, recon, planar = (v * (1 + noise * rng.standard_normal()) for v in y(seed, *taps))
            records.append(
                {
                    "placement": design.text,
                    "design": design.text,
                    "seed": seed,
                    "train_seconds": 1.0,
                    "diverged": None,
                    "metrics": {"baseline": {"max": base_max, "median": 1e-5}},
                    "validation": {"recon": recon, "planar": planar},
                }
            )
    return records


def base(seed: int) -> float:
    return 1e-3 * (1 + 0.1 * seed)


# --------------------------------------------------------------------------------------------------
# Effects


def test_cells_follow_the_factorial_order_and_skip_designs_outside_the_screen():
    assert [lab._cell(d.text) for d in FACTORIAL] == list(range(8))
    assert lab._cell("pre") == 0 and lab._cell("post") == 7
    assert lab._cell("post,anchor=pre") == 3  # anchor pre, separate post, planar post: 0b011
    assert lab._cell("post,planar=off") is None
    assert lab._cell("post,unit=off") is None


def test_main_effect_is_the_mean_of_post_minus_pre_over_the_other_terms():
    values = np.random.default_rng(0).normal(size=(5, 2, 2, 2))
    got = lab.effects(values)
    for i, term in enumerate(TERMS):
        by_hand = np.zeros(5)
        for others in itertools.product((0, 1), repeat=2):  # the 4 settings of the other two terms
            post, pre = list(others), list(others)
            post.insert(i, 1)
            pre.insert(i, 0)
            by_hand += values[(slice(None), *post)] - values[(slice(None), *pre)]
        np.testing.assert_allclose(got[term], by_hand / 4, rtol=1e-12)
    np.testing.assert_allclose(got["total"], values[:, 1, 1, 1] - values[:, 0, 0, 0])
    # post-norm's difference splits into the three main effects plus the three-way interaction
    np.testing.assert_allclose(got["total"], got["anchor"] + got["separate"] + got["planar"] + got["three-way"])


def test_only_anchor_matters():
    values = np.array([[[[b * (1 - 0.2 * a)] * 2] * 2 for a in (0, 1)] for b in (1.0, 2.0)])  # (2, 2, 2, 2)
    got = lab.effects(values)
    np.testing.assert_allclose(got["anchor"], [-0.2, -0.4])
    for name in ("separate", "planar", "anchor × separate", "anchor × planar", "separate × planar", "three-way"):
        np.testing.assert_allclose(got[name], 0.0, atol=1e-15)


def test_an_interaction_when_anchor_helps_only_with_planar_post():
    d = -0.4
    values = np.zeros((1, 2, 2, 2))
    values[0, 1, :, 1] = d  # y = d when anchor and planar are both post, whatever separate does
    got = lab.effects(values)
    assert got["anchor"][0] == pytest.approx(d / 2)  # its effect is d with planar post, 0 with planar pre
    assert got["planar"][0] == pytest.approx(d / 2)
    assert got["anchor × planar"][0] == pytest.approx(d / 2)  # half the change of anchor's effect: (d − 0) / 2
    assert got["separate"][0] == 0 and got["anchor × separate"][0] == 0 and got["separate × planar"][0] == 0
    assert got["total"][0] == pytest.approx(d)


def test_factorial_cube_keeps_only_seeds_with_all_eight_designs():
    records = screen_records(lambda s, a, sep, p: (base(s), 1e-4, 0.1), n_seeds=3)
    records = [r for r in records if not (r["seed"] == 1 and r["design"] == "post,anchor=pre")]
    records[0]["metrics"]["baseline"]["max"] = float("nan")  # seed 0, pre-norm: e.g. diverged
    seeds, cube = lab.factorial_cube(records, "baseline_max")
    assert seeds.tolist() == [2] and cube.shape == (1, 2, 2, 2)
    assert cube[0, 0, 0, 0] == base(2)


# --------------------------------------------------------------------------------------------------
# Summary and readings


def anchor_drives(s, a, sep, p):
    """Anchor post lowers max error 20% and recon 10%; planar post raises the planarity loss 30%."""
    return base(s) * (1 - 0.2 * a), 4e-5 * (1 - 0.1 * a), 0.1 * (1 + 0.3 * p)


def planar_drives(s, a, sep, p):
    """The opposite story: planar post lowers max error and recon; anchor post raises the planarity loss."""
    return base(s) * (1 - 0.2 * p), 4e-5 * (1 - 0.1 * p), 0.1 * (1 + 0.3 * a)


def test_summary_names_the_term_that_drives_each_measure():
    summary = lab.summarize_screen(screen_records(anchor_drives, noise=0.01))
    assert summary["n_seeds"] == 8 and summary["designs"] == [d.text for d in FACTORIAL]
    m = summary["measures"]["baseline_max"]
    assert m["drivers"] == ["anchor"]
    effect = m["effects"]["anchor"]
    assert effect["wins"] == {"b": 8, "a": 0, "ties": 0} and effect["sign_p"] == pytest.approx(2 / 256)
    assert effect["relative_median_diff"] == pytest.approx(-20, abs=2)  # % of pre-norm's median
    assert summary["measures"]["recon"]["drivers"] == ["anchor"]
    assert summary["measures"]["planar"]["drivers"] == ["planar"]
    assert summary["measures"]["planar"]["effects"]["planar"]["favours"] == "a"  # term pre is better here


def test_readings_change_with_the_numbers():
    one = lab.summarize_screen(screen_records(anchor_drives, noise=0.01))
    other = lab.summarize_screen(screen_records(planar_drives, noise=0.01))
    a_text, p_text = one["measures"]["baseline_max"]["reading"], other["measures"]["baseline_max"]["reading"]
    assert "Anchor drives post-norm's difference (lowers it" in a_text and "Planar drives" not in a_text
    assert "Planar drives post-norm's difference (lowers it" in p_text and "Anchor drives" not in p_text
    assert a_text.startswith("Baseline max error: post-norm is lower than pre-norm by a median")
    assert "Planar drives post-norm's difference (raises it" in screen_verdicts.screen_verdict(one)
    assert "Anchor drives post-norm's difference (raises it" in screen_verdicts.screen_verdict(other)


def test_no_term_stands_out_when_nothing_moves_the_measure():
    summary = lab.summarize_screen(screen_records(lambda s, a, sep, p: (base(s), 4e-5, 0.1), noise=0.05))
    for m in summary["measures"].values():
        assert m["drivers"] == []
        assert "No term stands out: every interval includes zero." in m["reading"]


def test_two_comparable_terms_are_both_named():
    summary = lab.summarize_screen(
        screen_records(lambda s, a, sep, p: (base(s) * (1 - 0.2 * a - 0.15 * p), 4e-5, 0.1), noise=0.01)
    )
    m = summary["measures"]["baseline_max"]
    assert m["drivers"] == ["anchor", "planar"]
    assert "Anchor drives post-norm's difference" in m["reading"] and "and planar drives" in m["reading"]


def test_an_interaction_is_reported_when_it_reads_clearly():
    def y(s, a, sep, p):
        return base(s) * (1 - 0.3 * a * p), 4e-5, 0.1

    text = lab.summarize_screen(screen_records(y, noise=0.01))["measures"]["baseline_max"]["reading"]
    assert "The terms interact: anchor's effect is" in text and "smaller with planar post" in text
    plain = lab.summarize_screen(screen_records(anchor_drives, noise=0.01))["measures"]["baseline_max"]["reading"]
    assert "interact" not in plain


def test_separate_check_both_ways():
    quiet = lab.summarize_screen(screen_records(anchor_drives, noise=0.01))
    assert "Separate's effect is about zero on every measure" in screen_verdicts.separate_check(quiet)
    assert "check on the whole pipeline" in screen_verdicts.screen_verdict(quiet)
    assert "Single seeds still differ" not in screen_verdicts.separate_check(quiet)  # 1% noise: no seed moves by 1%
    noisy = lab.summarize_screen(screen_records(anchor_drives, noise=0.05))
    d = np.asarray(noisy["measures"]["baseline_max"]["effects"]["separate"]["differences"])
    d = d / noisy["measures"]["baseline_max"]["pre_median"] * 100
    assert not any(m["effects"]["separate"]["clear"] for m in noisy["measures"].values())
    assert f"by {fmt_signed(d.min())}% to {fmt_signed(d.max())}% of pre-norm's median" in (
        screen_verdicts.separate_check(noisy)
    )

    def separate_matters(s, a, sep, p):
        return base(s) * (1 - 0.2 * sep), 4e-5, 0.1

    loud = lab.summarize_screen(screen_records(separate_matters, n_seeds=12, noise=0.01))  # 12 of 12: p = 0.00049
    assert screen_verdicts.separate_check(loud).startswith("Unexpected: separate reads only the directions")
    assert "baseline max error is clear even allowing for the 9 effects examined" in screen_verdicts.separate_check(
        loud
    )
    # the same effect on 8 seeds: 8 of 8 (p = 0.0078) cannot clear 0.05 / 9, so it is not called a fault
    lucky = screen_verdicts.separate_check(lab.summarize_screen(screen_records(separate_matters, noise=0.01)))
    assert "Unexpected" not in lucky
    assert "on baseline max error its interval excludes 0 (p = 0.0078, not below the corrected bar of 0.0056)" in lucky


def test_how_sure_depends_on_the_number_of_seeds():
    eight = screen_verdicts.screen_verdict(lab.summarize_screen(screen_records(anchor_drives, noise=0.01)))
    assert "9 main effects were examined" in eight and "0.05 ÷ 9 = 0.0056" in eight
    assert (
        "with 8 seeds even 8 of 8 (p = 0.0078) does not" in eight
        and "from 9 seeds on, a term that wins on every seed clears it" in eight
    )
    twelve = screen_verdicts.screen_verdict(lab.summarize_screen(screen_records(anchor_drives, n_seeds=12, noise=0.01)))
    assert "with 12 seeds a term that wins on at least 12 of them clears it" in twelve


def test_screen_rows_and_json_shape():
    records = screen_records(anchor_drives, n_seeds=5, noise=0.01)
    summary = lab.summarize_screen(records)
    rows = lab.screen_rows(summary)
    assert len(rows) == 3 * (3 + 3 + 1)  # measures x (main effects, interactions, total)
    assert {r["kind"] for r in rows} == {"main", "interaction", "total"}
    import json

    out = json.loads(lab.screen_json(records, summary))
    assert list(out) == ["designs", "runs", "summary"] and len(out["runs"]) == 40
    assert set(out["summary"]["measures"]["recon"]["effects"]) == set(TERMS)


# --------------------------------------------------------------------------------------------------
# Training and measuring

SHORT = "STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n120,0.05,0,0,0,0\n"


def test_train_and_measure_in_batches_gives_the_numbers_of_one_batch(monkeypatch):
    from excolor.schedule import parse_dopesheet
    from excolor.train import Recipe

    schedule = parse_dopesheet(SHORT)
    recipes = [Recipe(d, s, schedule) for s in (0, 1) for d in ("pre", "post,anchor=pre")]
    recipes.append(recipes[0])  # listed twice: trained once, reported twice
    measured = []
    monkeypatch.setattr(
        measures, "measure_run", lambda run, f=measures.measure_run: measured.append(run.recipe) or f(run)
    )
    timing = lab.Timing()
    batched = lab.train_and_measure(recipes, batch_models=3, timing=timing)
    assert len(measured) == 4 and timing.train_seconds > 0 and timing.measure_seconds > 0
    whole = lab.train_and_measure(recipes[:4], batch_models=32)
    assert [(r["design"], r["seed"]) for r in batched] == [(r.design.text, r.seed) for r in recipes]
    for x, y in zip(batched, whole):
        assert x["metrics"] == y["metrics"] and x["validation"] == y["validation"]
    assert batched[4] == batched[0]


def test_effects_caption_follows_the_numbers():
    one = lab.summarize_screen(screen_records(anchor_drives))  # no noise: the other terms' effects are exactly 0
    other = lab.summarize_screen(screen_records(planar_drives))
    a_text, p_text = (
        screen_verdicts.effects_caption(one, "baseline_max"),
        screen_verdicts.effects_caption(other, "baseline_max"),
    )
    anchor = one["measures"]["baseline_max"]["effects"]["anchor"]
    assert f"anchor {fmt_signed(anchor['relative_median_diff'])}%" in a_text
    assert "anchor −" in a_text and "anchor −" not in p_text

    def segment(text: str, name: str) -> str:
        return re.search(rf"\b{name} [−+]?[\d.]+% \(interval [^)]*\)", text).group(0)

    assert segment(a_text, "anchor").endswith("excludes 0)") and segment(p_text, "anchor").endswith("includes 0)")
    assert segment(p_text, "planar").endswith("excludes 0)") and segment(a_text, "planar").endswith("includes 0)")


def test_the_effects_chart_draws_one_row_per_term_and_the_total():
    from excolor.figures.evidence_charts import effects_chart

    spec = effects_chart(lab.summarize_screen(screen_records(anchor_drives, noise=0.01)), "planar").to_dict()
    rows = next(d for d in spec["datasets"].values() if "effect" in d[0])
    assert [r["effect"] for r in rows] == ["anchor", "separate", "planar", "post-norm − pre-norm"]
    assert {r["effect"]: r["outcome"] for r in rows}["planar"] == "pre better"  # planar post raises the loss
    assert {r["effect"]: r["outcome"] for r in rows}["separate"] == "no clear effect"


def test_strong_evidence_means_clearing_the_bar_the_same_box_sets():
    """Issue 24 item 4: the screen never calls a p "strong" that its own corrected bar (0.05 / 9) rejects."""
    eight = lab.summarize_screen(screen_records(anchor_drives, noise=0.01))  # 8 of 8: p = 0.0078, above 0.0056
    s = eight["measures"]["baseline_max"]["effects"]["anchor"]
    assert s["sign_p"] == pytest.approx(2 / 256) and s["clear"]
    assert s["strength"] == "moderate"
    text = screen_verdicts.screen_verdict(eight)
    assert (
        "strong evidence" not in text and "Anchor drives post-norm's difference (lowers it; moderate evidence)" in text
    )
    assert "0.05 ÷ 9 = 0.0056" in text
    twelve = lab.summarize_screen(screen_records(anchor_drives, n_seeds=12, noise=0.01))  # p = 0.00049
    assert twelve["measures"]["baseline_max"]["effects"]["anchor"]["strength"] == "strong"
    assert "strong evidence" in screen_verdicts.screen_verdict(twelve)
