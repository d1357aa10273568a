"""Command line: the headless way to train, inspect the schedule and measure speed.

    python -m excolor train [--placement pre|post|both] [--seeds 0 1 ...] [--schedule FILE] [--json]
    python -m excolor compare --a DESIGN --b DESIGN --seeds N [--schedule FILE] [--json]
    python -m excolor screen --seeds N [--schedule FILE] [--json]
    python -m excolor sweep --seeds N [--schedule FILE] [--json]      (compare --a pre --b post)
    python -m excolor schedule [--csv FILE]
    python -m excolor bench [--lab]
    python -m excolor tally --class CODE [--json]

A DESIGN is 'pre' or 'post' then overrides, e.g. 'post,anchor=pre' or 'pre,planar=off,unit=off' (SPEC section 10).

Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from .designs import DesignError, parse_design
from .schedule import EX24, MAX_BYTES, ScheduleError, parse_dopesheet, schedule_table
from .train import MAX_SEED, Recipe, train
from .tuning import tune_process


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
# Models trained together in one batch by `compare`, `sweep` and `screen`: batching saves time up to a point, but a
# batch's training data grows with it (64 models peak at ~730 MB, 32 at ~370 MB), so 64 seeds of a comparison
# (128 models) train as four batches.
SWEEP_BATCH_MODELS = 32


def _design(text: str) -> str:
    """A design's canonical text; a bad design is a one-line usage error saying what is allowed."""
    try:
        return parse_design(text).text
    except DesignError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


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
    p_compare = sub.add_parser(
        "compare", help="train designs A and B for seeds 0..N-1 (batched); compare them seed by seed"
    )
    p_compare.add_argument("--a", type=_design, required=True, metavar="DESIGN", help="design A, e.g. pre")
    p_compare.add_argument("--b", type=_design, required=True, metavar="DESIGN", help="design B, e.g. post,anchor=pre")
    p_sweep = sub.add_parser(
        "sweep", help="train pre- and post-norm for seeds 0..N-1 (batched); compare them seed by seed"
    )
    p_screen = sub.add_parser(
        "screen", help="train the 8 factorial designs for seeds 0..N-1; which of anchor, separate, planar matters"
    )
    for p in (p_compare, p_sweep, p_screen):
        p.add_argument("--seeds", type=_n_seeds, required=True, metavar="N", help="number of seeds (1 to 64)")
        p.add_argument("--schedule", metavar="FILE", help="a CSV dopesheet (default: Ex 2.4's)")
        p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p_sched = sub.add_parser("schedule", help="print the per-step schedule as CSV")
    p_sched.add_argument("--csv", metavar="FILE", help="a CSV dopesheet (default: Ex 2.4's)")
    p_bench = sub.add_parser("bench", help="time training and evaluation on this machine")
    p_bench.add_argument("--lab", action="store_true", help="time the lab instead: compare 2 x 8 and screen 8 x 4")
    p_tally = sub.add_parser(
        "tally", help="a class's votes per question and answer (EXCOLOR_DATABASE_URL, else EXCOLOR_DATA_DIR)"
    )
    p_tally.add_argument("--class", dest="code", type=_class_code, required=True, metavar="CODE")
    p_tally.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser


def run_record(run) -> dict:
    """One trained run as the JSON record shared by `train` and `sweep`."""
    from .evaluate import far_from_red, standard_metrics

    metrics = standard_metrics(run)
    changed = [name for name in metrics if name != "baseline"]
    return {
        **run.describe(),
        "metrics": {name: {"max": m["max"], "median": m["median"]} for name, m in metrics.items()},
        "selectivity": {name: metrics[name]["selectivity"] for name in changed},  # is the damage shaped like red
        "collateral": {  # how much the colors far from red suffer (SPEC §7)
            name: {"ratio": metrics[name]["collateral"], "damaged": metrics[name]["damaged share"]} for name in changed
        },
        "far_from_red_share": float(far_from_red().mean()),
    }


def print_table(records: list[dict], column: str = "placement") -> None:
    """One line per run; `column` names the run ('placement' for train, 'design' for the lab commands)."""
    w = max(9, *(len(r[column]) for r in records))
    print(
        f"{column:>{w}} {'seed':>5} {'train s':>8} {'recon':>9} "
        f"{'base max':>9} {'base med':>9} {'supp max':>9} {'supp med':>9} {'rep max':>9} {'rep med':>9}"
    )
    for r in records:
        m = r["metrics"]
        print(
            f"{r[column]:>{w}} {r['seed']:>5} {r['train_seconds']:>8.2f} {r['final_recon']:>9.2e} "
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


def print_rows(rows: list[dict]) -> None:
    """A list of same-keyed dicts as a plain text table, columns padded to their widest cell."""
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in columns))


def print_paragraphs(text: str) -> None:
    print("\n\n".join(textwrap.fill(p, width=100, break_on_hyphens=False) for p in text.split("\n\n")))


class Progress:
    """Training and measuring progress on stderr: one overwritten line on a terminal, nothing otherwise."""

    def __init__(self, live: bool):
        self.live = live

    def step(self, batch: int, batches: int, step: int, steps: int) -> None:
        if self.live:
            print(f"\r  batch {batch} of {batches}: step {step:,} of {steps:,}", end="", file=sys.stderr, flush=True)

    def measured(self, done: int, total: int) -> None:
        if self.live:
            print(f"\r  measured {done} of {total} runs{' ' * 20}", end="", file=sys.stderr, flush=True)


def run_lab(args, what: str, run) -> tuple[list[dict], dict]:
    """Train and measure (run(schedule, **train_and_measure's options)), telling stderr how it goes."""
    from .lab import Timing

    schedule = read_schedule(args.schedule)
    talk = not args.json
    progress = Progress(talk and sys.stderr.isatty())
    if talk:
        print(
            f"training {what} in batches of up to {SWEEP_BATCH_MODELS} models, {schedule.steps} steps, "
            "measuring each batch on the dense grid ...",
            file=sys.stderr,
        )
    timing = Timing()
    options = {"batch_models": SWEEP_BATCH_MODELS, "on_step": progress.step, "on_measured": progress.measured}
    records, summary = run(schedule, timing=timing, **options)
    if talk:
        print(
            ("\n" if progress.live else "")
            + f"trained in {timing.train_seconds:.1f} s, measured in {timing.measure_seconds:.1f} s",
            file=sys.stderr,
        )
    return records, summary


def compare_and_print(args, a: str, b: str) -> int:
    from .evidence import to_json
    from .lab import compare
    from .verdicts import summary_rows, verdict

    if a == b:
        raise UsageError(f"A and B are the same design ({a}): compare two different designs")
    what = f"{2 * args.seeds} run(s) (A = {a}, B = {b}, seeds 0..{args.seeds - 1})"
    records, summary = run_lab(args, what, lambda schedule, **options: compare(a, b, args.seeds, schedule, **options))
    if args.json:
        print(to_json(records, summary))
        return 0
    print_table(records, "design")
    print()
    print_rows(summary_rows(summary))
    print()
    print_paragraphs(verdict(summary))
    return 0


def cmd_compare(args) -> int:
    return compare_and_print(args, args.a, args.b)


def cmd_sweep(args) -> int:
    """The notebook's comparison: exactly `compare --a pre --b post`."""
    return compare_and_print(args, "pre", "post")


def cmd_screen(args) -> int:
    from .lab import screen, screen_json, screen_rows
    from .screen_verdicts import screen_verdict
    from .text import fmt_signed
    from .verdicts import fmt_ci, fmt_p

    what = f"the 8 factorial designs x {args.seeds} seed(s) = {8 * args.seeds} run(s)"
    records, summary = run_lab(args, what, lambda schedule, **options: screen(args.seeds, schedule, **options))
    if args.json:
        print(screen_json(records, summary))
        return 0
    print_table(records, "design")
    print()
    rows = [
        {
            "measure": r["measure"],
            "effect": r["effect"],
            "median": fmt_signed(r["median"]),
            "95% CI": fmt_ci([r["lo"], r["hi"]]),
            "% of pre-norm": fmt_signed(r["median %"]),
            "post better": r["post better"],
            "sign test p": fmt_p(r["sign test p"]),
            "evidence": r["evidence"],
        }
        for r in screen_rows(summary)
    ]
    print_rows(rows)
    print()
    print_paragraphs(screen_verdict(summary))
    return 0


def cmd_schedule(args) -> int:
    sys.stdout.write(schedule_table(read_schedule(args.csv)))
    return 0


def cmd_bench(args) -> int:
    from . import bench

    return bench.lab() if args.lab else bench.training(SWEEP_BATCH_MODELS)


def _class_code(text: str) -> str:
    from .classmode.codes import parse_class_code

    try:
        return parse_class_code(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"class code {text!r}: {err}") from None


def cmd_tally(args) -> int:
    """The class's counts from the same store the app writes; a store that cannot be read is one line, exit 1."""
    from .classmode.questions import QUESTIONS
    from .classmode.store import StoreError, open_store

    try:
        store = open_store()
        counts = store.tally(args.code)
    except StoreError as err:
        print(f"excolor: error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"class": args.code, "questions": counts}))
        return 0
    votes = sum(sum(answers.values()) for answers in counts.values())
    print(f"class {args.code}: {votes} votes ({store.where})")
    for question, answers in counts.items():
        total = sum(answers.values())
        print(f"\n{question} ({total} votes): {QUESTIONS[question].prompt}")
        for answer, n in answers.items():
            share = f"{n / total:4.0%}" if total else "   -"
            print(f"  {answer:<12} {n:>6} {share}  {QUESTIONS[question].answers[answer]}")
    return 0


COMMANDS = {
    "train": cmd_train,
    "compare": cmd_compare,
    "sweep": cmd_sweep,
    "screen": cmd_screen,
    "schedule": cmd_schedule,
    "bench": cmd_bench,
    "tally": cmd_tally,
}


def main(argv: list[str] | None = None) -> int:
    tune_process()
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, DesignError) as err:
        print(f"excolor: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `python -m excolor schedule | head`
        sys.stderr.close()
        return 0
