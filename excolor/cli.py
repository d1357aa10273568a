"""Command line: the headless way to train, inspect the schedule and measure speed.

    python -m excolor train [--placement pre|post|both] [--seeds 0 1 ...] [--schedule FILE] [--json]
    python -m excolor sweep --seeds N [--schedule FILE] [--json]
    python -m excolor schedule [--csv FILE]
    python -m excolor bench
    python -m excolor tally --class CODE [--json]

Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

from .schedule import EX24, MAX_BYTES, ScheduleError, parse_dopesheet, schedule_table
from .train import MAX_SEED, Recipe, train


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + message over two lines; we want one
        raise UsageError(message)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed {text!r} is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"seed {value} is outside 0..{MAX_SEED}")
    return value


MAX_SWEEP_SEEDS = 64
# Models trained together in one batch by `sweep`: batching saves time up to a point, but a batch's training data
# grows with it (64 models peak at ~730 MB, 32 at ~370 MB), so 64 seeds (128 models) train as four batches.
SWEEP_BATCH_MODELS = 32


def _n_seeds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of seeds from 1 to {MAX_SWEEP_SEEDS}, got {text!r}"
        ) from None
    if not 1 <= value <= MAX_SWEEP_SEEDS:
        raise argparse.ArgumentTypeError(f"expected a number of seeds from 1 to {MAX_SWEEP_SEEDS}, got {value}")
    return value


def read_schedule(path: str | None):
    """The schedule from a dopesheet file, or Ex 2.4's when no file is given."""
    if path is None:
        return EX24
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"schedule file {path!r} does not exist")
    if file.stat().st_size > MAX_BYTES:
        raise UsageError(f"schedule file {path!r} is larger than {MAX_BYTES // 1000} KB")
    try:
        return parse_dopesheet(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"schedule file {path!r} is not UTF-8 text") from None
    except ScheduleError as err:
        raise UsageError(f"{path}: {err}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m excolor", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_train = sub.add_parser("train", help="train and evaluate; all runs together as one batched model")
    p_train.add_argument("--placement", choices=("pre", "post", "both"), default="post")
    p_train.add_argument("--seeds", type=_seed, nargs="+", default=[0])
    p_train.add_argument("--schedule", metavar="FILE", help="a CSV dopesheet (default: Ex 2.4's)")
    p_train.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p_sweep = sub.add_parser(
        "sweep", help="train pre- and post-norm for seeds 0..N-1 (batched); compare them seed by seed"
    )
    p_sweep.add_argument("--seeds", type=_n_seeds, required=True, metavar="N", help="number of seeds (1 to 64)")
    p_sweep.add_argument("--schedule", metavar="FILE", help="a CSV dopesheet (default: Ex 2.4's)")
    p_sweep.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p_sched = sub.add_parser("schedule", help="print the per-step schedule as CSV")
    p_sched.add_argument("--csv", metavar="FILE", help="a CSV dopesheet (default: Ex 2.4's)")
    sub.add_parser("bench", help="time training and evaluation on this machine")
    p_tally = sub.add_parser("tally", help="a class's votes per question and answer (EXCOLOR_DATA_DIR)")
    p_tally.add_argument("--class", dest="code", type=_class_code, required=True, metavar="CODE")
    p_tally.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser


def run_record(run) -> dict:
    """One trained run as the JSON record shared by `train` and `sweep`."""
    from .evaluate import standard_metrics

    metrics = standard_metrics(run)
    return {
        **run.describe(),
        "metrics": {name: {"max": m["max"], "median": m["median"]} for name, m in metrics.items()},
    }


def print_table(records: list[dict]) -> None:
    print(
        f"{'placement':>9} {'seed':>5} {'train s':>8} {'recon':>9} "
        f"{'base max':>9} {'base med':>9} {'supp max':>9} {'supp med':>9} {'rep max':>9} {'rep med':>9}"
    )
    for r in records:
        m = r["metrics"]
        print(
            f"{r['placement']:>9} {r['seed']:>5} {r['train_seconds']:>8.2f} {r['final_recon']:>9.2e} "
            f"{m['baseline']['max']:>9.2e} {m['baseline']['median']:>9.2e} "
            f"{m['suppression']['max']:>9.3f} {m['suppression']['median']:>9.2e} "
            f"{m['repulsion']['max']:>9.3f} {m['repulsion']['median']:>9.2e}"
        )
        if r["diverged"]:
            print(f"  warning: {r['diverged']}")


def cmd_train(args) -> int:
    schedule = read_schedule(args.schedule)
    placements = ("pre", "post") if args.placement == "both" else (args.placement,)
    seeds = list(dict.fromkeys(args.seeds))
    recipes = [Recipe(p, s, schedule) for p in placements for s in seeds]
    if not args.json:
        print(f"training {len(recipes)} run(s) together, {schedule.steps} steps ...", file=sys.stderr)
    records = [run_record(run) for run in train(recipes)]
    if args.json:
        print(json.dumps({"runs": records}))
    else:
        print_table(records)
    return 0


def print_summary(summary: dict) -> None:
    """The per-measure comparison (post − pre, paired by seed) as a table."""
    from .evidence import summary_rows

    rows = summary_rows(summary)
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in columns))


def cmd_sweep(args) -> int:
    from .evidence import summarize, sweep_records, to_json, verdict

    schedule = read_schedule(args.schedule)
    recipes = [Recipe(p, s, schedule) for s in range(args.seeds) for p in ("pre", "post")]
    talk = not args.json
    live = talk and sys.stderr.isatty()

    batches = [recipes[i : i + SWEEP_BATCH_MODELS] for i in range(0, len(recipes), SWEEP_BATCH_MODELS)]
    at = {"batch": 0}  # which batch is training, for the progress line

    def trained(step: int, steps: int, losses: dict) -> None:
        if live:
            print(
                f"\r  batch {at['batch']} of {len(batches)}: step {step:,} of {steps:,}",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def measured(done: int, total: int) -> None:
        if live:
            print(f"\r  measured {done} of {total} runs", end="", file=sys.stderr, flush=True)

    if talk:
        print(
            f"training {len(recipes)} run(s) (seeds 0..{args.seeds - 1}, both placements) in {len(batches)} "
            f"batch(es) of up to {SWEEP_BATCH_MODELS}, {schedule.steps} steps ...",
            file=sys.stderr,
        )
    start = time.perf_counter()
    runs = []
    for i, batch in enumerate(batches, start=1):
        at["batch"] = i
        runs += train(batch, progress=trained)
    train_s = time.perf_counter() - start
    if talk:
        print(
            ("\n" if live else "") + f"trained in {train_s:.1f} s; measuring each run on the dense grid ...",
            file=sys.stderr,
        )
    start = time.perf_counter()
    records = sweep_records(runs, progress=measured)
    del runs
    eval_s = time.perf_counter() - start
    summary = summarize(records)
    if args.json:
        print(to_json(records, summary))
        return 0
    print(("\n" if live else "") + f"measured in {eval_s:.1f} s", file=sys.stderr)
    print_table(records)
    print()
    print_summary(summary)
    print()
    print(
        "\n\n".join(
            textwrap.fill(paragraph, width=100, break_on_hyphens=False) for paragraph in verdict(summary).split("\n\n")
        )
    )
    return 0


def cmd_schedule(args) -> int:
    sys.stdout.write(schedule_table(read_schedule(args.csv)))
    return 0


def _timed(fn, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def cmd_bench(args) -> int:
    from .evaluate import evaluate, prepare
    from .interventions import default_interventions

    print(f"threads: {torch.get_num_threads()}")
    train(Recipe(schedule=parse_dopesheet("STEP,lr\n0,0.01\n50,0.01\n")))  # warm up kernels and imports
    one = _timed(lambda: train(Recipe()))
    print(f"train 1 run (3,001 steps): {one:.2f} s")
    both = _timed(lambda: train([Recipe("pre"), Recipe("post")]))
    print(f"train both placements together: {both:.2f} s ({both / one:.2f}x one run)")
    sixteen = _timed(lambda: train([Recipe(p, s) for p in ("pre", "post") for s in range(8)]))
    print(f"train 16 models together: {sixteen:.2f} s ({sixteen / one:.2f}x one run)")
    run = train(Recipe())[0]
    start = time.perf_counter()
    probe = prepare(run.model)
    print(f"encode evaluation grids once per model: {time.perf_counter() - start:.3f} s")
    suppression = default_interventions()["suppression"]
    per_eval = _timed(lambda: evaluate(probe, suppression), repeat=7)
    print(f"evaluate one intervention over the 552,960-color dense grid, metrics included: {per_eval:.3f} s")
    return 0


def _class_code(text: str) -> str:
    from .votes import parse_class_code

    try:
        return parse_class_code(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"class code {text!r}: {err}") from None


def cmd_tally(args) -> int:
    """The class's counts from the same store the app writes; a store that cannot be read is one line, exit 1."""
    from .questions import QUESTIONS
    from .votes import VoteStoreError, database_path, tally

    try:
        counts = tally(args.code)
    except VoteStoreError as err:
        print(f"excolor: error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"class": args.code, "questions": counts}))
        return 0
    votes = sum(sum(answers.values()) for answers in counts.values())
    print(f"class {args.code}: {votes} votes ({database_path()})")
    for question, answers in counts.items():
        total = sum(answers.values())
        print(f"\n{question} ({total} votes): {QUESTIONS[question].prompt}")
        for answer, n in answers.items():
            share = f"{n / total:4.0%}" if total else "   -"
            print(f"  {answer:<12} {n:>6} {share}  {QUESTIONS[question].answers[answer]}")
    return 0


COMMANDS = {
    "train": cmd_train,
    "sweep": cmd_sweep,
    "schedule": cmd_schedule,
    "bench": cmd_bench,
    "tally": cmd_tally,
}


def main(argv: list[str] | None = None) -> int:
    torch.set_num_threads(1)
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as err:
        print(f"excolor: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `python -m excolor schedule | head`
        sys.stderr.close()
        return 0
