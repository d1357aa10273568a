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
