"""Keyframed schedules for the learning rate and the regularizer weights, and their CSV "dopesheet".

Each parameter moves between its keyframes along a minimum-jerk curve (it starts and ends at rest, so
no weight ever jumps), holds its first value before its first keyframe and its last value after its last.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

PARAMS = ("lr", "separate", "anchor", "unit", "planar")
MAX_STEPS = 20_000
MAX_BYTES = 100_000
MAX_LR = 1.0
MAX_ROWS = 500  # keyframe rows: far more than a person writes, few enough that every use of a sheet stays cheap


class ScheduleError(ValueError):
    """A schedule that cannot be used; the message names the line when there is one."""


def minimum_jerk(tau: np.ndarray | float) -> np.ndarray | float:
    """10 tau^3 - 15 tau^4 + 6 tau^5: from 0 to 1 with zero velocity and acceleration at both ends."""
    return tau**3 * (10 - 15 * tau + 6 * tau**2)


@dataclass(frozen=True)
class Schedule:
    """Keyframes per parameter: ((name, ((step, value), ...)), ...), steps strictly increasing.

    Frozen and made of tuples so that it hashes: a schedule is part of a training recipe's identity.
    A parameter without keyframes is 0 throughout (its term is switched off).
    """

    keyframes: tuple[tuple[str, tuple[tuple[int, float], ...]], ...]

    def __post_init__(self) -> None:
        names = [name for name, _ in self.keyframes]
        if "lr" not in names:
            raise ScheduleError("the schedule has no lr column")
        for name, keys in self.keyframes:
            if name not in PARAMS:
                raise ScheduleError(f"unknown parameter {name!r}; expected one of {', '.join(PARAMS)}")
            if not keys:
                raise ScheduleError(f"column {name!r} has no keyframes")
            steps = [step for step, _ in keys]
            if any(b <= a for a, b in zip(steps, steps[1:])) or steps[0] < 0:
                raise ScheduleError(f"keyframes of {name!r} must have increasing, non-negative steps")
            for step, value in keys:
                _check_value(name, value, f"step {step}")
        if self.steps > MAX_STEPS:
            raise ScheduleError(f"the schedule has {self.steps:,} steps; at most {MAX_STEPS:,} are allowed")
        rows = len({step for _, keys in self.keyframes for step, _ in keys})
        if rows > MAX_ROWS:
            raise ScheduleError(f"the schedule has {rows:,} keyframe rows; at most {MAX_ROWS:,} are allowed")

    @cached_property
    def digest(self) -> str:
        """Full SHA-256 of the canonical dopesheet: the schedule's identity for shared caches and file names.

        Computed once per object (the sheet can be hundreds of rows), and full length so that no visitor can
        craft a schedule whose key collides with another's. Equal schedules write the same sheet (steps as
        ints, -0.0 as 0.0), and the sheet reads back to the same schedule, so equal digest <=> equal schedule.
        """
        return hashlib.sha256(to_dopesheet(self).encode()).hexdigest()

    @property
    def steps(self) -> int:
        """Number of training steps: one past the last keyframe."""
        return max(keys[-1][0] for _, keys in self.keyframes) + 1

    def keys(self, name: str) -> tuple[tuple[int, float], ...]:
        return dict(self.keyframes).get(name, ())

    def values(self) -> dict[str, np.ndarray]:
        """Every parameter's value at every step 0..steps-1, as float64 arrays."""
        t = np.arange(self.steps, dtype=np.float64)
        return {name: _interpolate(self.keys(name), t) for name in PARAMS}

    def value(self, name: str, step: int) -> float:
        return float(_interpolate(self.keys(name), np.array([float(step)]))[0])


def _interpolate(keys: tuple[tuple[int, float], ...], t: np.ndarray) -> np.ndarray:
    """Minimum-jerk between neighbouring keys, held flat outside them; one searchsorted, no loop over keys."""
    if not keys:
        return np.zeros_like(t)
    steps = np.array([k[0] for k in keys], dtype=np.float64)
    vals = np.array([k[1] for k in keys], dtype=np.float64)
    i = np.clip(np.searchsorted(steps, t, side="right") - 1, 0, len(steps) - 1)  # key at or before t
    j = np.minimum(i + 1, len(steps) - 1)  # the next key (i itself past the last one)
    span = np.where(j > i, steps[j] - steps[i], 1.0)
    tau = np.clip((t - steps[i]) / span, 0.0, 1.0) * (j > i)  # 0 before the first key and after the last
    return vals[i] + (vals[j] - vals[i]) * minimum_jerk(tau)


def _check_value(name: str, value: float, where: str) -> None:
    if not math.isfinite(value):
        raise ScheduleError(f"{where}: {name} is not a finite number")
    if value < 0:
        raise ScheduleError(f"{where}: {name} is negative ({value:g}); weights and lr must be >= 0")
    if name == "lr" and value > MAX_LR:
        raise ScheduleError(f"{where}: lr {value:g} is above {MAX_LR:g}; training would diverge")


def _parse_step_cell(cell: str, line: int) -> tuple[str, float]:
    """('abs', step) for '1000', ('rel', 10) for '+10', ('frac', 0.5) for '+0.5'."""
    text = cell.strip()
    try:
        if text.startswith("+"):
            number = float(text[1:])
            if not math.isfinite(number) or number <= 0:
                raise ValueError
            if number < 1:
                return "frac", number
            if number != int(number):
                raise ValueError
            return "rel", number
        number = float(text)
        if not math.isfinite(number) or number < 0 or number != int(number):
            raise ValueError
        return "abs", number
    except ValueError:
        raise ScheduleError(
            f"line {line}: cannot read step {cell!r}; use a whole number (1000), an offset (+10) "
            "or a fraction of the gap to the next absolute step (+0.5)"
        ) from None


def _resolve_steps(cells: list[tuple[str, float]], lines: list[int]) -> list[int]:
    """Turn absolute / +offset / +fraction step cells into absolute steps.

    An offset counts from the previous absolute step; a fraction sits that far across the gap between
    the absolute steps before and after it (so '+0.5' between 0 and 1000 is 500, whatever lies between).
    One pass down the sheet finds each row's absolute step above, one pass up its absolute step below.
    """
    above = _nearest_absolute(cells)
    below = _nearest_absolute(cells[::-1])[::-1]
    steps: list[int] = []
    for i, (kind, number) in enumerate(cells):
        if kind == "abs":
            steps.append(int(number))
            continue
        if above[i] is None:
            raise ScheduleError(f"line {lines[i]}: a relative step needs an absolute step above it")
        if kind == "rel":
            steps.append(int(above[i] + number))
            continue
        if below[i] is None:
            raise ScheduleError(f"line {lines[i]}: a fractional step needs an absolute step below it")
        steps.append(int(round(above[i] + number * (below[i] - above[i]))))
    for i in range(1, len(steps)):
        if steps[i] <= steps[i - 1]:
            raise ScheduleError(
                f"line {lines[i]}: step {steps[i]} does not come after step {steps[i - 1]}; "
                "steps must increase down the sheet"
            )
    return steps


def _nearest_absolute(cells: list[tuple[str, float]]) -> list[float | None]:
    """For each row, the last absolute step strictly before it in this order (None when there is none)."""
    nearest: list[float | None] = []
    last = None
    for kind, number in cells:
        nearest.append(last)
        if kind == "abs":
            last = number
    return nearest


def parse_dopesheet(text: str) -> Schedule:
    """Read a CSV dopesheet (SPEC section 5); every problem is reported with its line number."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise ScheduleError(f"the schedule file is larger than {MAX_BYTES // 1000} KB")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    numbered = [(n, row) for n, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    if not numbered:
        raise ScheduleError("the schedule is empty")
    header_line, header = numbered[0]
    columns = [cell.strip() for cell in header]
    if not columns or columns[0].upper() != "STEP":
        raise ScheduleError(f"line {header_line}: the first column must be STEP")
    for name in columns[1:]:
        if name not in PARAMS:
            raise ScheduleError(f"line {header_line}: unknown column {name!r}; expected {', '.join(PARAMS)}")
    if len(set(columns)) != len(columns):
        raise ScheduleError(f"line {header_line}: a column appears twice")
    body = numbered[1:]
    if not body:
        raise ScheduleError("the schedule has a header but no keyframes")
    if len(body) > MAX_ROWS:
        raise ScheduleError(
            f"line {body[MAX_ROWS][0]}: more than {MAX_ROWS} keyframe rows; a schedule needs only a few keyframes"
        )
    lines = [n for n, _ in body]
    for n, row in body:
        if len(row) > len(columns) and any(cell.strip() for cell in row[len(columns) :]):
            raise ScheduleError(f"line {n}: more cells than columns")
    cells = [_parse_step_cell(row[0], n) for n, row in body]
    steps = _resolve_steps(cells, lines)
    if steps[-1] + 1 > MAX_STEPS:
        raise ScheduleError(f"line {lines[-1]}: step {steps[-1]:,} is beyond the limit of {MAX_STEPS:,} steps")
    keyframes = []
    for col, name in enumerate(columns[1:], start=1):
        keys = []
        for (n, row), step in zip(body, steps):
            cell = row[col].strip() if col < len(row) else ""
            if not cell:
                continue
            try:
                value = float(cell)
            except ValueError:
                raise ScheduleError(f"line {n}: {name} value {cell!r} is not a number") from None
            _check_value(name, value, f"line {n}")
            keys.append((step, value))
        if not keys:
            raise ScheduleError(f"column {name!r} has no keyframes")
        keyframes.append((name, tuple(keys)))
    return Schedule(tuple(keyframes))


def to_dopesheet(schedule: Schedule) -> str:
    """Write a schedule back as CSV with absolute steps (parse_dopesheet reads it back unchanged)."""
    names = [name for name, _ in schedule.keyframes]
    columns = [{int(step): value for step, value in keys} for _, keys in schedule.keyframes]  # one pass each
    steps = sorted(set().union(*columns))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["STEP", *names])
    writer.writerows([step, *(_format(column.get(step)) for column in columns)] for step in steps)
    return out.getvalue()


def _format(value: float | None) -> str:
    """Shortest round-tripping text; -0.0 written as 0.0 since the two are equal (the sheet is canonical)."""
    return "" if value is None else repr(float(value) + 0.0)


def schedule_table(schedule: Schedule) -> str:
    """Per-step values as CSV: header step,lr,separate,anchor,unit,planar and one row per step."""
    values = schedule.values()
    table = np.column_stack([np.arange(schedule.steps), *(values[n] for n in PARAMS)])
    out = io.StringIO()
    out.write("step," + ",".join(PARAMS) + "\n")
    for row in table:
        out.write(f"{int(row[0])}," + ",".join(f"{v:.10g}" for v in row[1:]) + "\n")
    return out.getvalue()


EX24_DOPESHEET = """STEP,lr,separate,anchor,unit,planar
0,1e-8,0.01,0.01,0.01,0.01
+10,0.01,,,,
+0.5,,0.01,,,
1000,0.1,0.01,0.04,0.1,0.1
+0.9,,0,0,0,0
3000,0.05,0,0,0,0
"""

EX24 = parse_dopesheet(EX24_DOPESHEET)
