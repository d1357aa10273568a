"""The command line: schedule output, train --json, and one-line errors with exit code 2 for bad input."""

import json

import pytest

from excolor import cli

SHORT = "STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n80,0.05,0,0,0,0\n"


def test_schedule_prints_every_step_of_ex24(capsys):
    assert cli.main(["schedule"]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert lines[0] == "step,lr,separate,anchor,unit,planar"
    assert len(lines) == 1 + 3001
    rows = {int(line.split(",")[0]): [float(v) for v in line.split(",")[1:]] for line in lines[1:]}
    assert rows[5][0] == pytest.approx(0.005, abs=1e-8)
    assert rows[2000][0] == pytest.approx(0.075, rel=1e-9)
    assert rows[500][2] == pytest.approx(0.025, rel=1e-9)  # anchor
    assert rows[3000] == [0.05, 0.0, 0.0, 0.0, 0.0]


def test_schedule_reads_a_dopesheet_file(tmp_path, capsys):
    sheet = tmp_path / "s.csv"
    sheet.write_text(SHORT)
    assert cli.main(["schedule", "--csv", str(sheet)]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == 1 + 81
    assert lines[-1] == "80,0.05,0,0,0,0"


def test_train_json_is_exactly_one_object_of_the_documented_shape(tmp_path, capsys):
    sheet = tmp_path / "s.csv"
    sheet.write_text(SHORT)
    assert cli.main(["train", "--placement", "both", "--seeds", "3", "--schedule", str(sheet), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)  # raises if anything but one JSON document was printed
    assert list(out) == ["runs"]
    assert [(r["placement"], r["seed"]) for r in out["runs"]] == [("pre", 3), ("post", 3)]
    for run in out["runs"]:
        assert set(run["metrics"]) == {"baseline", "suppression", "repulsion"}
        assert all(set(m) == {"max", "median"} for m in run["metrics"].values())
        assert run["train_seconds"] > 0 and run["final_recon"] > 0
        assert run["metrics"]["suppression"]["max"] > run["metrics"]["baseline"]["max"]
        # selectivity's shape beside collateral damage's size (SPEC §7), and how much of the grid "far" is
        assert set(run["selectivity"]) == set(run["collateral"]) == {"suppression", "repulsion"}
        assert all(set(c) == {"ratio", "damaged"} for c in run["collateral"].values())
        assert run["collateral"]["suppression"]["ratio"] > 0 and 0.3 < run["far_from_red_share"] < 0.95


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--seeds", "x"], "seed 'x' is not a whole number"),
        (["train", "--seeds", "-1"], "outside 0..2147483647"),
        (["train", "--placement", "middle"], "invalid choice: 'middle'"),
        (["bogus"], "invalid choice: 'bogus'"),
        ([], "the following arguments are required"),
        (["schedule", "--csv", "/no/such/file.csv"], "does not exist"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_code_2(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("excolor: error: ") and message in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("STEP,lr,momentum\n0,0.1,0.9\n", "line 1: unknown column 'momentum'"),
        ("STEP,lr\n0,0.1\n+0.5,0.2\n", "line 3: a fractional step needs an absolute step below it"),
        ("STEP,lr\n0,0.1\n10,5\n", "line 3: lr 5 is above 1"),
    ],
)
def test_a_bad_schedule_file_names_its_line(tmp_path, capsys, text, message):
    sheet = tmp_path / "bad.csv"
    sheet.write_text(text)
    assert cli.main(["schedule", "--csv", str(sheet)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_binary_schedule_file_is_refused(tmp_path, capsys):
    sheet = tmp_path / "bad.csv"
    sheet.write_bytes(b"\xff\xfe\x00garbage")
    assert cli.main(["train", "--schedule", str(sheet)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# The lab: compare, sweep (= compare pre post) and screen


def _without_timing(runs: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "train_seconds"} for r in runs]


def test_compare_pre_post_gives_exactly_the_sweeps_numbers(tmp_path, capsys):
    sheet = tmp_path / "s.csv"
    sheet.write_text(SHORT)
    assert cli.main(["compare", "--a", "pre", "--b", "post", "--seeds", "2", "--schedule", str(sheet), "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert cli.main(["sweep", "--seeds", "2", "--schedule", str(sheet), "--json"]) == 0
    swept = json.loads(capsys.readouterr().out)
    assert _without_timing(compared["runs"]) == _without_timing(swept["runs"])
    for key in ("a", "b"):
        assert compared[key] == swept[key]
    strip = {"train_seconds"}
    assert {k: v for k, v in compared["summary"].items() if k not in strip} == {
        k: v for k, v in swept["summary"].items() if k not in strip
    }


def test_compare_json_shape_for_a_custom_pair(tmp_path, capsys):
    sheet = tmp_path / "s.csv"
    sheet.write_text(SHORT)
    argv = ["compare", "--a", "post,separate=pre,anchor=pre", "--b", "POST", "--seeds", "2", "--schedule", str(sheet)]
    assert cli.main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["a", "b", "runs", "summary"]
    assert (out["a"], out["b"]) == ("pre,planar=post", "post")  # canonical texts
    assert [(r["design"], r["seed"]) for r in out["runs"]] == [
        ("pre,planar=post", 0),
        ("post", 0),
        ("pre,planar=post", 1),
        ("post", 1),
    ]
    run = out["runs"][0]
    assert {"placement", "seed", "train_seconds", "final_recon", "diverged", "metrics"} <= set(run)
    assert {"design", "selectivity", "validation", "hue_peaks"} <= set(run)
    m = out["summary"]["measures"]["baseline_max"]
    assert {"a", "b", "differences", "ci", "wins", "sign_p", "strength"} <= set(m)
    assert set(m["wins"]) == {"a", "b", "ties"}
    assert out["summary"]["labels"]["a"] == "pre-norm, but planarity on the unit latent"
    assert cli.main(argv) == 0  # the table form names the designs and ends with the verdict
    text = capsys.readouterr().out
    assert "pre,planar=post" in text and "A is pre-norm, but planarity on the unit latent" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "--a", "mid", "--b", "post", "--seeds", "2"], "does not start with a base"),
        (["compare", "--a", "pre", "--b", "post,color=pre", "--seeds", "2"], "unknown override 'color=pre'"),
        (["compare", "--a", "pre", "--b", "post,anchor=side", "--seeds", "2"], "anchor cannot be 'side'"),
        (["compare", "--a", "pre", "--b", "post,unit=off,unit=on", "--seeds", "2"], "unit is set twice"),
        (["compare", "--a", "", "--b", "post", "--seeds", "2"], "empty design"),
        (["compare", "--a", "post", "--b", "post,anchor=post", "--seeds", "2"], "A and B are the same design"),
        (["compare", "--a", "pre", "--seeds", "2"], "the following arguments are required: --b"),
        (["compare", "--a", "pre", "--b", "post", "--seeds", "0"], "1 to 64"),
        (["screen", "--seeds", "x"], "1 to 64"),
    ],
)
def test_a_bad_design_or_count_exits_2_with_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("excolor: error: ") and message in err, err
    assert "Traceback" not in err


def test_screen_json_lists_the_eight_designs_per_seed(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "SWEEP_BATCH_MODELS", 5)  # 8 models in batches of 5 and 3
    sheet = tmp_path / "s.csv"
    sheet.write_text(SHORT)
    assert cli.main(["screen", "--seeds", "1", "--schedule", str(sheet), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["designs", "runs", "summary"]
    assert out["designs"][0] == "pre" and out["designs"][-1] == "post" and len(set(out["designs"])) == 8
    assert [r["design"] for r in out["runs"]] == out["designs"]
    for key in ("baseline_max", "recon", "planar"):
        m = out["summary"]["measures"][key]
        assert set(m["effects"]) == {"anchor", "separate", "planar"}
        assert set(m["interactions"]) == {"anchor × separate", "anchor × planar", "separate × planar"}
        assert m["n_seeds"] == 1 and m["effects"]["anchor"]["n_pairs"] == 1
