"""Evidence across seeds: per-run measures, paired statistics (B − A), verdict text and the `sweep` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from excolor import cli, measures, verdicts
from excolor import evidence as ev
from excolor.text import fmt

ROOT = Path(__file__).resolve().parents[1]

# Typical values of every measure (pre-norm), roughly where real runs land.
BASE = {
    "baseline_max": 1.2e-3,
    "baseline_median": 2.0e-5,
    "recon": 4.0e-5,
    "anchor": 0.18,
    "planar": 0.08,
    "suppression_max": 0.22,
    "repulsion_max": 0.12,
    "suppression_r": 0.9,
    "repulsion_r": 0.9,
    "peak_ratio": 3.0,
}


def record(placement: str, seed: int, v: dict[str, float]) -> dict:
    """A run record shaped like measures.run_record's, from one value per measure."""
    return {
        "placement": placement,
        "design": placement,
        "seed": seed,
        "train_seconds": 1.0,
        "final_recon": v["recon"],
        "diverged": None,
        "metrics": {
            "baseline": {"max": v["baseline_max"], "median": v["baseline_median"]},
            "suppression": {"max": v["suppression_max"], "median": 2e-5},
            "repulsion": {"max": v["repulsion_max"], "median": 2e-5},
        },
        "selectivity": {"suppression": v["suppression_r"], "repulsion": v["repulsion_r"]},
        "validation": {"recon": v["recon"], "unit": 0.01, "anchor": v["anchor"], "planar": v["planar"]},
        "hue_peaks": {"hues": [0, 60, 120, 180, 240, 300], "heights": [1e-4] * 6, "ratio": v["peak_ratio"]},
    }


def make_records(shift: float, n: int = 8, alternate: bool = False) -> list[dict]:
    """Paired records: post = pre × (1 + shift) on every 'lower is better' measure, plus a little noise.
    shift < 0: post-norm clearly better; > 0: pre-norm clearly better; alternate=True: the sign flips from
    seed to seed, so the differences are symmetric around zero."""
    rng = np.random.default_rng(7)
    records = []
    for seed in range(n):
        pre = {k: b * (1 + 0.1 * rng.standard_normal()) for k, b in BASE.items()}
        sign = (-1) ** seed if alternate else 1
        post = {k: pre[k] * (1 + sign * shift + 0.02 * rng.standard_normal()) for k in BASE}
        post["suppression_r"] = pre["suppression_r"]  # selectivity unchanged
        post["repulsion_r"] = pre["repulsion_r"]
        records += [record("pre", seed, pre), record("post", seed, post)]
    return records


# --------------------------------------------------------------------------------------------------
# Bootstrap intervals and win counts


def test_bootstrap_ci_of_constant_differences_is_that_constant():
    lo, hi = ev.bootstrap_ci([-3.1e-4] * 8)
    assert lo == hi == -3.1e-4
    assert ev.bootstrap_ci([2.5] * 3, stat=np.mean) == (2.5, 2.5)


def test_bootstrap_ci_of_symmetric_differences_contains_zero():
    lo, hi = ev.bootstrap_ci([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
    assert lo < 0 < hi
    lo, hi = ev.bootstrap_ci([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0], stat=np.mean)
    assert lo < 0 < hi


def test_bootstrap_ci_excludes_zero_for_a_consistent_shift_and_brackets_the_statistic():
    d = np.array([-5.0, -4.0, -4.5, -3.0, -6.0, -5.5, -4.2, -3.8])
    lo, hi = ev.bootstrap_ci(d)
    assert hi < 0
    assert lo <= np.median(d) <= hi
    assert d.min() <= lo and hi <= d.max()


def test_bootstrap_ci_is_seeded_and_deterministic():
    d = np.random.default_rng(3).normal(size=12)
    assert ev.bootstrap_ci(d) == ev.bootstrap_ci(d)
    assert ev.bootstrap_ci(d, seed=1) == ev.bootstrap_ci(d, seed=1)
    assert ev.bootstrap_ci(d, level=0.5)[1] - ev.bootstrap_ci(d, level=0.5)[0] < np.ptp(ev.bootstrap_ci(d))


def test_bootstrap_ci_of_nothing_is_nan():
    lo, hi = ev.bootstrap_ci([])
    assert np.isnan(lo) and np.isnan(hi)


def test_win_counts_follow_the_better_direction():
    d = [-2.0, -1.0, 0.0, 1.0, -0.5]
    assert ev.win_counts(d, "lower") == {"b": 3, "a": 1, "ties": 1}
    assert ev.win_counts(d, "higher") == {"b": 1, "a": 3, "ties": 1}
    assert ev.win_counts(d, None) == {"b": 1, "a": 3, "ties": 1}  # 'b' = B higher


@pytest.mark.parametrize(
    ("wins", "losses", "p"),
    [
        (8, 0, 2 / 256),  # 2 x (1/2)^8: the strongest 8 seeds can give
        (0, 8, 2 / 256),
        (7, 1, 2 * 9 / 256),  # 2 x (C(8,7) + C(8,8)) / 2^8 = 0.0703
        (6, 2, 2 * 37 / 256),  # 2 x (28 + 8 + 1) / 256 = 0.289
        (4, 4, 1.0),
        (24, 8, 2 * sum(__import__("math").comb(32, i) for i in range(24, 33)) / 2**32),  # 0.0070
        (0, 0, 1.0),  # only ties: no evidence
    ],
)
def test_sign_test_p_by_hand(wins, losses, p):
    assert ev.sign_test_p(wins, losses) == pytest.approx(p, rel=1e-12)


def test_sign_test_on_the_32_seed_sweep_counts():
    assert ev.sign_test_p(24, 8) == pytest.approx(0.00701, abs=1e-5)  # post-norm's 24 of 32 on max error
    assert ev.sign_test_p(9, 23) == pytest.approx(0.02006, abs=1e-5)  # its 9 of 32 on planarity
    assert ev.sign_test_p(9, 23) == ev.sign_test_p(23, 9)  # two-sided


def test_strength_words_follow_the_p_value_and_the_interval():
    assert ev.strength(0.0078, clear=True) == "strong"
    assert ev.strength(0.035, clear=True) == "moderate"
    assert ev.strength(0.29, clear=True) == "weak"
    assert ev.strength(0.0078, clear=False) == "none"


def test_fmt_p():
    assert verdicts.fmt_p(2 / 256) == "p = 0.0078"
    assert verdicts.fmt_p(0.2890625) == "p = 0.29"
    assert verdicts.fmt_p(1.0) == "p = 1"
    assert verdicts.fmt_p(1e-9) == "p < 0.001"


def test_paired_differences_pair_by_seed_and_skip_unusable_pairs():
    records = make_records(-0.3, n=4)
    records[2]["metrics"]["baseline"]["max"] = float("nan")  # seed 1, pre: e.g. a diverged run
    del records[7]  # seed 3 has no post-norm run
    seeds, diffs = ev.paired_differences(list(reversed(records)), "baseline_max")
    assert seeds.tolist() == [0, 2]
    by_key = {(r["placement"], r["seed"]): r["metrics"]["baseline"]["max"] for r in records}
    assert diffs.tolist() == [by_key["post", s] - by_key["pre", s] for s in (0, 2)]
    seeds, swapped = ev.paired_differences(records, "baseline_max", a="post", b="pre")  # B − A, whichever B is
    assert swapped.tolist() == (-diffs).tolist()


def test_pairs_match_designs_by_canonical_text():
    records = make_records(-0.3, n=3)
    for r in records:
        if r["placement"] == "post":
            r["design"] = "post,anchor=post,unit=on"  # a redundant spelling of post-norm
    seeds, diffs = ev.paired_differences(records, "recon", "pre", "post")
    assert seeds.tolist() == [0, 1, 2] and (diffs < 0).all()


# --------------------------------------------------------------------------------------------------
# Summary and verdict


def test_summary_counts_wins_and_reads_the_interval():
    summary = ev.summarize(make_records(-0.3))
    m = summary["measures"]["baseline_max"]
    assert summary["n_pairs"] == 8 and m["n_pairs"] == 8
    assert (summary["a"], summary["b"]) == ("pre", "post")
    assert summary["names"] == {"a": "pre-norm", "b": "post-norm"}
    assert m["wins"] == {"b": 8, "a": 0, "ties": 0}
    assert m["sign_p"] == pytest.approx(2 / 256) and m["strength"] == "strong"
    assert m["direction"] == "b lower" and m["clear"] and m["favours"] == "b"
    assert m["ci"][1] < 0
    assert m["median_diff"] == pytest.approx(np.median(m["differences"]))
    assert m["relative_median_diff"] == pytest.approx(m["median_diff"] / m["a"]["median"] * 100)
    r = summary["measures"]["suppression_max"]  # no better side: a clear shift favours nobody
    assert r["clear"] and r["favours"] is None


def test_verdict_when_post_norm_is_clearly_better():
    summary = ev.summarize(make_records(-0.3))
    text = verdicts.verdict(summary)
    m = summary["measures"]["baseline_max"]
    assert "supports the hypothesis" in text
    assert "post-norm had the lower baseline max error on 8 of 8 seeds (sign test p = 0.0078)" in text
    assert "baseline max error (strong evidence: 8 of 8 seeds, p = 0.0078)" in text
    assert "clearly" not in text  # the strength is said in words tied to the sign test, not asserted
    assert f"median difference (post − pre) {fmt(m['median_diff'])}" in text
    assert f"95% CI {verdicts.fmt_ci(m['ci'])}" in text
    assert "entirely below zero" in text


def test_verdict_when_pre_norm_is_clearly_better():
    summary = ev.summarize(make_records(+0.3))
    text = verdicts.verdict(summary)
    assert "goes against the hypothesis" in text
    assert "pre-norm had the lower baseline max error on 8 of 8 seeds (sign test p = 0.0078)" in text
    assert "entirely above zero" in text
    assert verdicts.fmt_ci(summary["measures"]["baseline_max"]["ci"]) in text


def test_verdict_when_the_seeds_disagree():
    summary = ev.summarize(make_records(0.3, alternate=True))
    text = verdicts.verdict(summary)
    assert "does not settle the hypothesis" in text
    assert "includes zero" in text
    assert "on 4 of 8 seeds (sign test p = 1)" in text
    assert all(not m["clear"] for m in summary["measures"].values())


def test_verdict_is_written_from_the_numbers():
    texts = {verdicts.verdict(ev.summarize(make_records(s, alternate=a))) for s, a in ((-0.3, 0), (0.3, 0), (0.3, 1))}
    assert len(texts) == 3
    records = make_records(-0.3)
    before = verdicts.verdict(ev.summarize(records))
    for r in records:  # a smaller effect: the same story, different numbers
        if r["placement"] == "post":
            r["metrics"]["baseline"]["max"] *= 1.1
    after = verdicts.verdict(ev.summarize(records))
    assert after != before
    assert "supports the hypothesis" in after


def test_prediction_answer_follows_the_called_side():
    assert ev.prediction_answer(ev.summarize(make_records(-0.3))) == "b"
    assert ev.prediction_answer(ev.summarize(make_records(+0.3))) == "a"
    assert ev.prediction_answer(ev.summarize(make_records(0.3, alternate=True))) == "same"
    assert ev.prediction_answer(ev.summarize(make_records(-0.3, n=2))) == "same"  # too few seeds to call
    assert ev.prediction_answer(ev.summarize([record("pre", 0, BASE)])) is None


def test_verdict_with_few_seeds_calls_nothing_clear():
    summary = ev.summarize(make_records(-0.3, n=2))
    text = verdicts.verdict(summary)
    assert "cannot settle" in text and "at least 5 seeds" in text
    assert all(not m["clear"] and m["favours"] is None for m in summary["measures"].values())
    assert all(m["strength"] == "none" for m in summary["measures"].values())
    assert summary["measures"]["baseline_max"]["direction"] == "b lower"  # the interval alone would say so


def test_verdict_with_no_usable_pairs():
    assert "no evidence" in verdicts.verdict(ev.summarize([record("pre", 0, BASE)]))


def test_summary_is_strict_json_even_with_a_diverged_run():
    records = make_records(-0.3, n=6)
    records[0]["diverged"] = "training diverged at step 12: the recon term became NaN or infinite"
    records[0]["metrics"]["baseline"]["max"] = float("nan")
    records[0]["final_recon"] = float("nan")
    summary = ev.summarize(records)
    assert summary["measures"]["baseline_max"]["n_pairs"] == 5
    parsed = json.loads(ev.to_json(records, summary))
    assert parsed["runs"][0]["final_recon"] is None
    assert "1 run(s) diverged" in verdicts.verdict(summary)


def test_captions_are_written_from_the_numbers():
    summary = ev.summarize(make_records(-0.3))
    m = summary["measures"]["planar"]
    dist = verdicts.distribution_caption(summary, "planar")
    assert fmt(m["a"]["median"]) in dist and fmt(m["b"]["median"]) in dist
    diff = verdicts.differences_caption(summary, "planar")
    assert verdicts.fmt_ci(m["ci"]) in diff and "below zero" in diff
    overview = verdicts.overview_caption(summary)
    assert all(m["label"] in overview for m in summary["measures"].values())
    rows = verdicts.summary_rows(summary)
    assert len(rows) == len(measures.MEASURES)
    assert rows[0]["sign test p"] == "0.0078" and rows[0]["outcome"] == "post-norm better (strong)"
    assert list(rows[0])[:2] == ["measure", "outcome"]  # issue 24 item 10: not off the edge of a scrolled table


def test_fmt_is_compact():
    assert fmt(-3.1e-4) == "−3.1e-4"
    assert fmt(0.16) == "0.16"
    assert fmt(8e-5) == "8.0e-5"
    assert fmt(None) == "n/a" and fmt(float("nan")) == "n/a"


def test_multiplicity_note_says_which_calls_clear_the_corrected_bar():
    strong = ev.summarize(make_records(-0.3))  # 8 of 8 on every measure: p = 0.0078 < 0.05 / 6
    note = verdicts.multiplicity_note(strong)
    # issue 24 item 3: the count is the verdict's, told apart from the table's (which lists every measure)
    assert f"weighs 6 of the {len(measures.MEASURES)} measures in the table" in note and "0.05 ÷ 6 = 0.0083" in note
    assert "baseline max error, baseline median error," in note  # which six, by name
    fewer = {**strong, "hypothesis_measures": ["baseline_max", "recon", "planar"]}  # the opposite fixture
    assert f"weighs 3 of the {len(measures.MEASURES)} measures" in verdicts.multiplicity_note(fewer)
    assert "0.05 ÷ 3 = 0.017" in verdicts.multiplicity_note(fewer)
    assert "It is cleared on baseline max error" in note and "not cleared" not in note
    records = make_records(-0.3)
    for r in records:  # seed 0 now goes the other way on max error: 7 of 8, p = 2 x 9/256 = 0.07
        if r["placement"] == "post" and r["seed"] == 0:
            r["metrics"]["baseline"]["max"] *= 3
    mixed = ev.summarize(records)
    m = mixed["measures"]["baseline_max"]
    assert m["wins"]["b"] == 7 and m["sign_p"] == pytest.approx(18 / 256)
    assert m["favours"] == "b" and m["strength"] == "weak"  # the interval still excludes zero
    note = verdicts.multiplicity_note(mixed)
    assert "It is not cleared on baseline max error: read that as a lead" in note
    assert "It is cleared on baseline median error" in note
    assert "baseline max error (weak evidence: 7 of 8 seeds, p = 0.07)" in verdicts.verdict(mixed)


def test_verdict_of_a_custom_pair_names_the_designs_and_reads_b_minus_a():
    records = make_records(-0.3)
    for r in records:
        r["design"] = {"pre": "post,anchor=pre", "post": "post"}[r["placement"]]
    summary = ev.summarize(records, a="post,anchor=pre", b="post")
    assert summary["names"] == {"a": "A", "b": "post-norm"}
    text = verdicts.verdict(summary)
    assert text.startswith("A is post-norm, but anchor on the raw latent; B is post-norm (Ex 2.4). Across 8 seeds,")
    assert "hypothesis" not in text.split("\n\n")[0]  # only the published pair is the notebook's hypothesis
    assert "post-norm did better on baseline max error" in text
    assert "median difference (post-norm − A)" in text
    flipped = verdicts.verdict(ev.summarize(records, a="post", b="post,anchor=pre"))  # the same runs, sides swapped
    assert "Across 8 seeds, post-norm did better on baseline max error" in flipped
    assert "B did not do better on any of the 6 measures the verdict weighs" in flipped
    assert "post-norm had the lower baseline max error on 8 of 8 seeds" in flipped


def test_peak_heights_read_the_six_pure_hues_of_the_dense_grid():
    cube = np.zeros((240, 48, 48))
    heights = [4e-4, 1e-4, 2e-4, 8e-4, 3e-4, 5e-4]
    for i, h in enumerate(heights):
        cube[i * 40, -1, -1] = h  # hue 60° x i sits at index 40 i of 240 (1.5° steps), S = V = 1 last
    cube[20, -1, -1] = 1.0  # orange (30°) is not one of the six
    cube[0, -2, -1] = 1.0  # nor is a less saturated red
    assert measures.peak_heights(cube).tolist() == heights
    assert measures.peak_unevenness(heights) == pytest.approx(8 / (23 / 6))  # 8e-4 ÷ mean 3.83e-4 = 2.09
    assert measures.peak_unevenness([2e-4] * 6) == 1.0
    assert measures.peak_unevenness([6e-4, 0, 0, 0, 0, 0]) == pytest.approx(6.0)  # a zero peak is fine, one spike is 6
    assert np.isnan(measures.peak_unevenness([0.0] * 6)) and np.isnan(
        measures.peak_unevenness([1e-4] * 5 + [float("nan")])
    )


def test_measure_run_gives_exactly_the_evaluation_modules_numbers():
    from test_evaluate import validation_losses_by_hand  # written out from the loss definitions

    from excolor.evaluate import prepare, standard_metrics
    from excolor.schedule import parse_dopesheet
    from excolor.train import Recipe, train

    run = train(Recipe("post", 3, parse_dopesheet(SHORT)))[0]
    measured = measures.measure_run(run)
    probe = prepare(run.model)
    expected = standard_metrics(probe)
    for name, m in expected.items():
        assert measured["metrics"][name] == {"max": m["max"], "median": m["median"]}
        if name != "baseline":
            assert measured["selectivity"][name] == m["selectivity"]
            assert measured["collateral"][name] == {"ratio": m["collateral"], "damaged": m["damaged share"]}
    assert measures.value(measured, "suppression_collateral") == expected["suppression"]["collateral"]
    assert measures.value(measured, "repulsion_collateral") == expected["repulsion"]["collateral"]
    assert measured["validation"] == pytest.approx(validation_losses_by_hand(run.model), rel=1e-5)
    cube = probe.dense.error.numpy().reshape(240, 48, 48)
    assert measured["hue_peaks"]["heights"] == [float(cube[i, -1, -1]) for i in (0, 40, 80, 120, 160, 200)]
    record = measures.run_record(run, measured)
    assert record["design"] == "post" and record["seed"] == 3


# --------------------------------------------------------------------------------------------------
# The sweep command

SHORT = "STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n200,0.05,0,0,0,0\n"


def test_cli_sweep_json_has_the_train_records_plus_a_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "SWEEP_BATCH_MODELS", 3)  # 4 models in batches of 3 and 1: batching changes nothing
    sheet = tmp_path / "short.csv"
    sheet.write_text(SHORT)
    assert cli.main(["sweep", "--seeds", "2", "--schedule", str(sheet), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)  # exactly one JSON object
    assert list(out) == ["a", "b", "runs", "summary"] and (out["a"], out["b"]) == ("pre", "post")
    assert [(r["design"], r["seed"]) for r in out["runs"]] == [("pre", 0), ("post", 0), ("pre", 1), ("post", 1)]
    assert [r["placement"] for r in out["runs"]] == ["pre", "post"] * 2  # today's field, kept
    assert set(out["summary"]["measures"]) == {m.key for m in measures.MEASURES}
    assert out["summary"]["n_pairs"] == 2

    assert cli.main(["train", "--placement", "both", "--seeds", "0", "1", "--schedule", str(sheet), "--json"]) == 0
    trained = {(r["placement"], r["seed"]): r for r in json.loads(capsys.readouterr().out)["runs"]}
    for r in out["runs"]:
        t = trained[r["placement"], r["seed"]]
        assert set(t) <= set(r)  # the train record's keys, plus selectivity and validation
        assert r["metrics"] == t["metrics"]  # batched runs are bit-identical, so the numbers match too
        assert r["final_recon"] == t["final_recon"]
        assert set(r["selectivity"]) == {"suppression", "repulsion"}
        assert set(r["validation"]) == {"recon", "unit", "anchor", "planar"}
        assert len(r["hue_peaks"]["heights"]) == 6
        heights = r["hue_peaks"]["heights"]
        assert r["hue_peaks"]["ratio"] == pytest.approx(max(heights) / (sum(heights) / 6), rel=1e-12)


def test_cli_sweep_end_to_end_with_the_real_schedule():
    proc = subprocess.run(
        [sys.executable, "-m", "excolor", "sweep", "--seeds", "1", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert len(out["runs"]) == 2 and out["summary"]["n_seeds"] == 1
    assert 1e-4 < out["runs"][1]["metrics"]["baseline"]["max"] < 1e-2  # a trained post-norm run, not noise


@pytest.mark.parametrize("n", ["0", "65", "-3", "x", "2.5"])
def test_cli_sweep_rejects_a_bad_number_of_seeds(n, capsys):
    assert cli.main(["sweep", "--seeds", n]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("excolor: error:") and "Traceback" not in err
    assert "1 to 64" in err


def test_cli_sweep_needs_a_number_of_seeds(capsys):
    assert cli.main(["sweep"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_strong_means_below_the_corrected_bar_the_verdict_states():
    """Issue 24 item 4: 'strong' is the p that clears the Bonferroni bar the verdict sets (0.05 ÷ 6 here)."""
    bar = ev.SIGNIFICANCE / len(measures.HYPOTHESIS_KEYS)
    assert ev.strength(0.009, clear=True, strong_below=bar) == "moderate"
    assert ev.strength(0.008, clear=True, strong_below=bar) == "strong"
    assert ev.strong_bar(len(measures.HYPOTHESIS_KEYS)) == pytest.approx(bar)
    assert ev.strong_bar(9) == pytest.approx(0.05 / 9) and ev.strong_bar(2) == 0.01  # never looser than 0.01
