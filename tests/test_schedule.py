"""Keyframed schedules: minimum-jerk interpolation, the Ex 2.4 sheet of SPEC section 5, the dopesheet parser."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from excolor.schedule import (
    EX24,
    EX24_DOPESHEET,
    MAX_ROWS,
    PARAMS,
    Schedule,
    ScheduleError,
    minimum_jerk,
    parse_dopesheet,
    schedule_table,
    to_dopesheet,
)

# SPEC section 5, written out by hand (independently of the dopesheet parser)
SPEC_KEYFRAMES = {
    "lr": [(0, 1e-8), (10, 0.01), (1000, 0.1), (3000, 0.05)],
    "separate": [(0, 0.01), (500, 0.01), (1000, 0.01), (2800, 0.0), (3000, 0.0)],
    "anchor": [(0, 0.01), (1000, 0.04), (2800, 0.0), (3000, 0.0)],
    "unit": [(0, 0.01), (1000, 0.1), (2800, 0.0), (3000, 0.0)],
    "planar": [(0, 0.01), (1000, 0.1), (2800, 0.0), (3000, 0.0)],
}


def reference_values(keys, n_steps):
    """Vectorized minimum-jerk interpolation, written independently: locate each step's segment with
    searchsorted, hold the first value before the first key and the last value after the last key."""
    t = np.arange(n_steps, dtype=np.float64)
    steps = np.array([k for k, _ in keys], dtype=np.float64)
    vals = np.array([v for _, v in keys], dtype=np.float64)
    i = np.clip(np.searchsorted(steps, t, side="right") - 1, 0, len(steps) - 1)
    j = np.minimum(i + 1, len(steps) - 1)
    span = steps[j] - steps[i]
    tau = np.clip((t - steps[i]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    tau = np.where(span > 0, tau, 0.0)
    return vals[i] + (vals[j] - vals[i]) * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)


def sheet(*rows: str, header: str = "STEP,lr") -> str:
    return "\n".join([header, *rows]) + "\n"


# ---------------------------------------------------------------------------------------------- curve


def test_minimum_jerk_at_its_defining_points():
    assert minimum_jerk(0.0) == 0.0
    assert minimum_jerk(1.0) == 1.0
    assert minimum_jerk(0.5) == pytest.approx(0.5, abs=1e-15)
    assert minimum_jerk(0.25) == pytest.approx(10 / 64 - 15 / 256 + 6 / 1024, abs=1e-15)
    tau = np.linspace(0, 1, 101)
    np.testing.assert_allclose(minimum_jerk(tau) + minimum_jerk(1 - tau), 1.0, atol=1e-12)  # point symmetry
    assert np.all(np.diff(minimum_jerk(tau)) > 0)


def test_minimum_jerk_starts_and_ends_at_rest():
    h = 1e-4
    for end in (0.0, 1.0):
        slope = (minimum_jerk(end + h) - minimum_jerk(end - h)) / (2 * h)
        accel = (minimum_jerk(end + h) - 2 * minimum_jerk(end) + minimum_jerk(end - h)) / h**2
        assert abs(slope) < 1e-6
        assert abs(accel) < 1e-3
    # velocity 30 tau^2 (1 - tau)^2 peaks at 15/8 in the middle
    mid = (minimum_jerk(0.5 + h) - minimum_jerk(0.5 - h)) / (2 * h)
    assert mid == pytest.approx(1.875, rel=1e-6)


# ------------------------------------------------------------------------------------------- the sheet


def test_ex24_spot_values_from_spec():
    assert round(EX24.value("lr", 5), 6) == 0.005
    assert EX24.value("lr", 500) == pytest.approx(0.05415, abs=5e-6)
    assert EX24.value("lr", 2000) == pytest.approx(0.075, abs=1e-15)
    assert EX24.value("anchor", 500) == pytest.approx(0.025, abs=1e-15)
    # exactly 0.1 (1 - mj(500/1800)) = 0.0865049; SPEC prints it as 0.08651, within one unit of the last digit
    assert EX24.value("unit", 1500) == pytest.approx(0.08651, abs=1e-5)
    assert EX24.value("unit", 1500) == pytest.approx(0.1 * (1 - float(minimum_jerk(500 / 1800))), rel=1e-12)
    assert EX24.value("lr", 0) == 1e-8
    assert EX24.value("lr", 10) == 0.01


def test_ex24_keyframe_steps_resolved_from_the_dopesheet():
    assert [s for s, _ in EX24.keys("separate")] == [0, 500, 1000, 2800, 3000]
    assert [s for s, _ in EX24.keys("lr")] == [0, 10, 1000, 3000]
    for name, keys in SPEC_KEYFRAMES.items():
        assert list(EX24.keys(name)) == keys, name
    assert EX24.steps == 3001
    values = EX24.values()
    assert set(values) == set(PARAMS)
    assert all(v.shape == (3001,) and v.dtype == np.float64 for v in values.values())


def test_ex24_every_step_of_every_parameter_follows_the_formula():
    values = EX24.values()
    for name, keys in SPEC_KEYFRAMES.items():
        np.testing.assert_allclose(values[name], reference_values(keys, 3001), rtol=1e-12, atol=1e-15, err_msg=name)
        # value() agrees with values()
        for step in (0, 7, 10, 11, 499, 1000, 2799, 2800, 2999, 3000):
            assert EX24.value(name, step) == values[name][step]


def test_reference_matches_hand_values():
    # guard the test's own re-implementation against a shared mistake
    ref = reference_values(SPEC_KEYFRAMES["anchor"], 3001)
    assert ref[1000] == 0.04 and ref[2800] == 0.0 and ref[500] == pytest.approx(0.025)
    tau = 200 / 1800
    assert ref[1200] == pytest.approx(0.04 - 0.04 * (10 * tau**3 - 15 * tau**4 + 6 * tau**5), rel=1e-12)


def test_values_hold_after_the_last_keyframe_and_before_the_first():
    s = parse_dopesheet(sheet("0,0.1,", "20,,0.3", "40,,0.5", "100,0.2,", header="STEP,lr,anchor"))
    values = s.values()
    assert s.steps == 101
    np.testing.assert_array_equal(values["anchor"][40:], 0.5)  # held after the last key
    np.testing.assert_array_equal(values["anchor"][:21], 0.3)  # first value held before the first key
    np.testing.assert_array_equal(values["unit"], 0.0)  # an absent column is off
    assert values["lr"][50] == pytest.approx(0.1 + 0.1 * float(minimum_jerk(0.5)))
    assert s.value("anchor", 10_000) == 0.5


def test_a_single_keyframe_is_constant():
    s = parse_dopesheet(sheet("0,0.02"))
    assert s.steps == 1
    assert s.values()["lr"].tolist() == [0.02]


def test_to_dopesheet_round_trip():
    assert parse_dopesheet(to_dopesheet(EX24)) == EX24
    text = to_dopesheet(EX24)
    assert text.splitlines()[0] == "STEP,lr,separate,anchor,unit,planar"
    assert text.splitlines()[2] == "10,0.01,,,,"  # empty cell = not keyed here
    partial = parse_dopesheet(sheet("0,1e-3,0.5", "+7,0.2,", "+0.25,,0.1", "100,0.3,0", header="STEP,lr,unit"))
    assert [s for s, _ in partial.keys("unit")] == [0, 25, 100]
    assert parse_dopesheet(to_dopesheet(partial)) == partial


def test_schedule_is_hashable_and_compares_by_value():
    again = parse_dopesheet(EX24_DOPESHEET)
    assert again == EX24 and hash(again) == hash(EX24)
    assert parse_dopesheet(sheet("0,0.1", "10,0.2")) != parse_dopesheet(sheet("0,0.1", "11,0.2"))


def test_digest_is_the_full_sha256_of_the_canonical_sheet():
    again = parse_dopesheet(EX24_DOPESHEET)
    assert again is not EX24 and again.digest == EX24.digest
    assert len(EX24.digest) == 64 and int(EX24.digest, 16) >= 0
    assert EX24.digest == hashlib.sha256(to_dopesheet(EX24).encode()).hexdigest()
    # one step or one value apart: different schedules, different digests
    digests = {
        parse_dopesheet(text).digest
        for text in (sheet("0,0.1", "10,0.2"), sheet("0,0.1", "11,0.2"), sheet("0,0.1", "10,0.20000000000000004"))
    }
    assert len(digests) == 3
    # equal schedules written differently (int vs float step, -0.0 vs 0.0) share the digest
    plain = Schedule((("lr", ((0, 0.1),)), ("anchor", ((0, 0.0), (5, 1.0)))))
    odd = Schedule((("lr", ((0.0, 0.1),)), ("anchor", ((0, -0.0), (5.0, 1.0)))))
    assert plain == odd and plain.digest == odd.digest
    assert EX24.__dict__["digest"] == EX24.digest  # cached on the object, computed once


def test_schedule_table():
    text = schedule_table(EX24)
    lines = text.splitlines()
    assert lines[0] == "step,lr,separate,anchor,unit,planar"
    assert len(lines) == 3002
    assert lines[1].split(",")[0] == "0" and lines[-1].split(",")[0] == "3000"
    table = np.loadtxt(text.splitlines(), delimiter=",", skiprows=1)
    assert table.shape == (3001, 6)
    np.testing.assert_array_equal(table[:, 0], np.arange(3001))
    values = EX24.values()
    for col, name in enumerate(PARAMS, start=1):
        np.testing.assert_allclose(table[:, col], values[name], rtol=1e-9, atol=1e-18)


def test_schedule_constructor_checks():
    with pytest.raises(ScheduleError, match="no lr"):
        Schedule((("unit", ((0, 0.1),)),))
    with pytest.raises(ScheduleError, match="unknown parameter"):
        Schedule((("lr", ((0, 0.1),)), ("speed", ((0, 1.0),))))
    with pytest.raises(ScheduleError, match="increasing"):
        Schedule((("lr", ((0, 0.1), (0, 0.2))),))
    with pytest.raises(ScheduleError, match="negative"):
        Schedule((("lr", ((0, -0.1),)),))
    with pytest.raises(ScheduleError, match="20,000"):
        Schedule((("lr", ((0, 0.1), (20_000, 0.1))),))


# -------------------------------------------------------------------------------------- parser errors


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (sheet("0,0.1,1", header="STEP,lr,speed"), 1, "unknown column 'speed'"),
        (sheet("0,0.1", "abc,0.2"), 3, "cannot read step 'abc'"),
        (sheet("0,0.1", "12.5,0.2"), 3, "cannot read step"),
        (sheet("0,0.1", "-5,0.2"), 3, "cannot read step"),
        (sheet("0,0.1", "100,0.2", "100,0.3"), 4, "does not come after"),
        (sheet("0,0.1", "100,0.2", "50,0.3"), 4, "does not come after"),
        (sheet("0,0.1,-0.5", header="STEP,lr,unit"), 2, "negative"),
        (sheet("0,0.1", "10,nan"), 3, "not a finite number"),
        (sheet("0,0.1", "10,inf"), 3, "not a finite number"),
        (sheet("0,0.1,-inf", header="STEP,lr,anchor"), 2, "not a finite number"),
        (sheet("0,0.1", "10,1.5"), 3, "above 1"),
        (sheet("0,0.1", "10,fast"), 3, "not a number"),
        (sheet("0,0.1", "20000,0.1"), 3, "20,000"),
        (sheet("+10,0.1", "100,0.2"), 2, "needs an absolute step above"),
        (sheet("0,0.1", "+0.5,0.2"), 3, "needs an absolute step below"),
        (sheet("0,0.1,5"), 2, "more cells than columns"),
        (sheet("0,0.1", header="TIME,lr"), 1, "first column must be STEP"),
        (sheet("0,0.1,0.1", header="STEP,lr,lr"), 1, "twice"),
    ],
)
def test_parser_errors_name_the_line(text, line, words):
    with pytest.raises(ScheduleError) as info:
        parse_dopesheet(text)
    message = str(info.value)
    assert f"line {line}:" in message
    assert words in message


def test_line_numbers_count_blank_lines():
    with pytest.raises(ScheduleError, match="line 5:"):
        parse_dopesheet("STEP,lr\n\n0,0.1\n\n-3,0.2\n")


def test_limits_that_are_allowed():
    assert parse_dopesheet(sheet("0,0.1", "19999,1.0")).steps == 20_000  # exactly the limit, lr exactly 1
    assert parse_dopesheet(sheet("0,0")).values()["lr"][0] == 0.0


@pytest.mark.parametrize(("text", "words"), [("", "empty"), ("\n \n,,\n", "empty"), ("STEP,lr\n", "no keyframes")])
def test_empty_files(text, words):
    with pytest.raises(ScheduleError, match=words):
        parse_dopesheet(text)


def test_file_over_100_kb():
    text = sheet("0,0.1") + "\n" * 100_001
    with pytest.raises(ScheduleError, match="larger than 100 KB"):
        parse_dopesheet(text)
    # just under the limit, the same (blank-padded) sheet is fine
    assert parse_dopesheet(sheet("0,0.1") + "\n" * 90_000).steps == 1


def test_column_without_keyframes_and_missing_lr():
    with pytest.raises(ScheduleError, match="'unit' has no keyframes"):
        parse_dopesheet(sheet("0,0.1,", header="STEP,lr,unit"))
    with pytest.raises(ScheduleError, match="no lr"):
        parse_dopesheet(sheet("0,0.1", header="STEP,unit"))


def test_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)


def test_relative_and_fractional_steps():
    s = parse_dopesheet(sheet("100,0.1", "+10,0.2", "+0.5,0.3", "+0.9,0.35", "300,0.4"))
    # +10 counts from 100; fractions sit across the gap 100..300 whatever lies between
    assert [step for step, _ in s.keys("lr")] == [100, 110, 200, 280, 300]
    assert s.value("lr", 0) == 0.1  # first value held before the first keyframe
    # a BOM and a lowercase STEP header are accepted
    assert parse_dopesheet("\ufeffstep,lr\n0,0.1\n").steps == 1


def test_fractions_use_the_absolute_steps_around_each_one():
    # two gaps: fractions in the first resolve across 0..100, in the second across 100..1000
    s = parse_dopesheet(sheet("0,0.1", "+0.25,0.2", "+30,", "100,0.3", "+0.5,0.4", "+0.9,0.5", "1000,0.6"))
    assert [step for step, _ in s.keys("lr")] == [0, 25, 100, 550, 910, 1000]


# -------------------------------------------------------------------------------------------- row cap


def test_keyframe_rows_are_capped_at_500_with_the_line_of_the_first_extra_row():
    rows = [f"{i},0.01" for i in range(MAX_ROWS)]
    assert MAX_ROWS == 500
    assert len(parse_dopesheet(sheet(*rows)).keys("lr")) == 500  # exactly the limit
    with pytest.raises(ScheduleError) as info:
        parse_dopesheet(sheet(*rows, "600,0.02"))
    assert str(info.value).startswith("line 502: more than 500 keyframe rows")
    # blank lines do not count as rows but do count in the line number
    with pytest.raises(ScheduleError, match="^line 503: more than 500"):
        parse_dopesheet(sheet("", *rows, "600,0.02"))


def test_a_99_kb_sheet_of_10_000_valid_rows_is_refused_at_row_501():
    text = sheet(*(f"{i},{0.01 + (i % 2) / 100}" for i in range(10_000)))
    assert 90_000 < len(text) < 100_000
    with pytest.raises(ScheduleError, match="^line 502: more than 500 keyframe rows"):
        parse_dopesheet(text)


def test_constructor_caps_distinct_keyframe_steps_across_columns():
    lr = tuple((2 * i, 0.01) for i in range(250))
    unit = tuple((2 * i + 1, 0.1) for i in range(250))  # 250 + 250 distinct steps: exactly 500 rows
    assert len(to_dopesheet(Schedule((("lr", lr), ("unit", unit)))).splitlines()) == 501
    with pytest.raises(ScheduleError, match="501 keyframe rows; at most 500"):
        Schedule((("lr", lr), ("unit", (*unit, (600, 0.1)))))
