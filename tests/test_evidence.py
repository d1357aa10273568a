"""Evidence across seeds: paired statistics, verdict text and the `sweep` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from excolor import cli
from excolor import evidence as ev

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
}


def record(placement: str, seed: int, v: dict[str, float]) -> dict:
    """A sweep record shaped like evidence.sweep_record's, from one value per measure."""
    return {
        "placement": placement,
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
    assert ev.win_counts(d, "lower") == {"post": 3, "pre": 1, "ties": 1}
    assert ev.win_counts(d, "higher") == {"post": 1, "pre": 3, "ties": 1}
    assert ev.win_counts(d, None) == {"post": 1, "pre": 3, "ties": 1}  # 'post' = post-norm higher


def test_paired_differences_pair_by_seed_and_skip_unusable_pairs():
    records = make_records(-0.3, n=4)
    records[2]["metrics"]["baseline"]["max"] = float("nan")  # seed 1, pre: e.g. a diverged run
    del records[7]  # seed 3 has no post-norm run
    seeds, diffs = ev.paired_differences(list(reversed(records)), "baseline_max")
    assert seeds.tolist() == [0, 2]
    by_key = {(r["placement"], r["seed"]): r["metrics"]["baseline"]["max"] for r in records}
    assert diffs.tolist() == [by_key["post", s] - by_key["pre", s] for s in (0, 2)]


# --------------------------------------------------------------------------------------------------
# Summary and verdict


def test_summary_counts_wins_and_reads_the_interval():
    summary = ev.summarize(make_records(-0.3))
    m = summary["measures"]["baseline_max"]
    assert summary["n_pairs"] == 8 and m["n_pairs"] == 8
    assert m["wins"] == {"post": 8, "pre": 0, "ties": 0}
    assert m["direction"] == "post lower" and m["clear"] and m["favours"] == "post"
    assert m["ci"][1] < 0
    assert m["median_diff"] == pytest.approx(np.median(m["differences"]))
    assert m["relative_median_diff"] == pytest.approx(m["median_diff"] / m["pre"]["median"] * 100)
    r = summary["measures"]["suppression_max"]  # no better side: a clear shift favours nobody
    assert r["clear"] and r["favours"] is None


def test_verdict_when_post_norm_is_clearly_better():
    summary = ev.summarize(make_records(-0.3))
    text = ev.verdict(summary)
    m = summary["measures"]["baseline_max"]
    assert "supports the hypothesis" in text
    assert "post-norm had the lower baseline max error on 8 of 8 seeds" in text
    assert f"median difference (post − pre) {ev.fmt(m['median_diff'])}" in text
    assert f"95% CI {ev.fmt_ci(m['ci'])}" in text
    assert "entirely below zero" in text


def test_verdict_when_pre_norm_is_clearly_better():
    summary = ev.summarize(make_records(+0.3))
    text = ev.verdict(summary)
    assert "goes against the hypothesis" in text
    assert "pre-norm had the lower baseline max error on 8 of 8 seeds" in text
    assert "entirely above zero" in text
    assert ev.fmt_ci(summary["measures"]["baseline_max"]["ci"]) in text


def test_verdict_when_the_seeds_disagree():
    summary = ev.summarize(make_records(0.3, alternate=True))
    text = ev.verdict(summary)
    assert "does not settle the hypothesis" in text
    assert "includes zero" in text
    assert "on 4 of 8 seeds" in text
    assert all(not m["clear"] for m in summary["measures"].values())


def test_verdict_is_written_from_the_numbers():
    verdicts = {ev.verdict(ev.summarize(make_records(s, alternate=a))) for s, a in ((-0.3, 0), (0.3, 0), (0.3, 1))}
    assert len(verdicts) == 3
    records = make_records(-0.3)
    before = ev.verdict(ev.summarize(records))
    for r in records:  # a smaller effect: the same story, different numbers
        if r["placement"] == "post":
            r["metrics"]["baseline"]["max"] *= 1.1
    after = ev.verdict(ev.summarize(records))
    assert after != before
    assert "supports the hypothesis" in after


def test_verdict_with_few_seeds_calls_nothing_clear():
    summary = ev.summarize(make_records(-0.3, n=2))
    text = ev.verdict(summary)
    assert "cannot settle" in text and "at least 5 seeds" in text
    assert all(not m["clear"] and m["favours"] is None for m in summary["measures"].values())
    assert summary["measures"]["baseline_max"]["direction"] == "post lower"  # the interval alone would say so


def test_verdict_with_no_usable_pairs():
    assert "no evidence" in ev.verdict(ev.summarize([record("pre", 0, BASE)]))


def test_summary_is_strict_json_even_with_a_diverged_run():
    records = make_records(-0.3, n=6)
    records[0]["diverged"] = "training diverged at step 12: the recon term became NaN or infinite"
    records[0]["metrics"]["baseline"]["max"] = float("nan")
    records[0]["final_recon"] = float("nan")
    summary = ev.summarize(records)
    assert summary["measures"]["baseline_max"]["n_pairs"] == 5
    parsed = json.loads(ev.to_json(records, summary))
    assert parsed["runs"][0]["final_recon"] is None
    assert "1 run(s) diverged" in ev.verdict(summary)


def test_captions_are_written_from_the_numbers():
    summary = ev.summarize(make_records(-0.3))
    m = summary["measures"]["planar"]
    dist = ev.distribution_caption(summary, "planar")
    assert ev.fmt(m["pre"]["median"]) in dist and ev.fmt(m["post"]["median"]) in dist
    diff = ev.differences_caption(summary, "planar")
    assert ev.fmt_ci(m["ci"]) in diff and "below zero" in diff
    overview = ev.overview_caption(summary)
    assert all(m["label"] in overview for m in summary["measures"].values())
    assert len(ev.summary_rows(summary)) == len(ev.MEASURES)


def test_fmt_is_compact():
    assert ev.fmt(-3.1e-4) == "−3.1e-4"
    assert ev.fmt(0.16) == "0.16"
    assert ev.fmt(8e-5) == "8.0e-5"
    assert ev.fmt(None) == "n/a" and ev.fmt(float("nan")) == "n/a"


# --------------------------------------------------------------------------------------------------
# The sweep command

SHORT = "STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n200,0.05,0,0,0,0\n"


def test_cli_sweep_json_has_the_train_records_plus_a_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "SWEEP_BATCH_MODELS", 3)  # 4 models in batches of 3 and 1: batching changes nothing
    sheet = tmp_path / "short.csv"
    sheet.write_text(SHORT)
    assert cli.main(["sweep", "--seeds", "2", "--schedule", str(sheet), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)  # exactly one JSON object
    assert set(out) == {"runs", "summary"}
    assert [(r["placement"], r["seed"]) for r in out["runs"]] == [("pre", 0), ("post", 0), ("pre", 1), ("post", 1)]
    assert set(out["summary"]["measures"]) == {m.key for m in ev.MEASURES}
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
