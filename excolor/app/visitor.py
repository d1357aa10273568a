"""What this visitor is looking at: their seed and schedule, hence the recipes every page shows.

The seed comes from the sidebar's URL-bound control (urlstate.seed_from_sidebar); a custom schedule is kept in
session state only after it parsed, so an invalid upload never replaces the last valid one.
"""

from __future__ import annotations

import streamlit as st

from excolor.schedule import EX24, Schedule, parse_dopesheet, to_dopesheet
from excolor.train import Recipe

from .training import DEFAULT_SEED, default_recipes

MAX_SWEEP_SEEDS = 32  # in the app; the CLI allows 64
SCHEDULE_FILE = "excolor-schedule.csv"  # the name a schedule downloads under, and the file CLI captions name


def current_seed() -> int:
    return int(st.session_state.get("seed", DEFAULT_SEED))


def current_recipes() -> tuple[Recipe, Recipe]:
    """(pre, post) for the seed (and schedule) this visitor has chosen."""
    return default_recipes(current_seed(), current_schedule())


def sweep_recipes(n_seeds: int, schedule: Schedule | None = None) -> list[Recipe]:
    """pre and post for seeds 0..n-1 on the visitor's schedule. These are the very recipes the other pages
    ask for (equal and equally hashed), so any seed already trained on this server is reused, not retrained."""
    schedule = current_recipes()[0].schedule if schedule is None else schedule
    return [r for seed in range(n_seeds) for r in default_recipes(seed, schedule)]


def current_schedule() -> Schedule:
    return st.session_state.get("schedule", EX24)


def apply_schedule(text: str) -> Schedule:
    """Parse a dopesheet and make it this visitor's schedule; a ScheduleError leaves the last valid one."""
    schedule = parse_dopesheet(text)
    st.session_state["schedule"] = schedule
    return schedule


def reset_schedule() -> None:
    st.session_state.pop("schedule", None)


def cli_equivalent(args: str) -> None:
    """The caption under a result: the CLI command that prints the same. With a custom schedule it names
    `--schedule FILE` and offers that file (without it the command would train Ex 2.4's schedule instead)."""
    schedule = current_schedule()
    if schedule == EX24:
        st.caption(f"The same as `python -m excolor {args} --json` prints.")
        return
    st.caption(
        f"The same as `python -m excolor {args} --schedule {SCHEDULE_FILE} --json` prints, with your custom schedule "
        f"({schedule.steps:,} steps) saved as {SCHEDULE_FILE}:"
    )
    st.download_button(
        f"⬇ {SCHEDULE_FILE}",
        data=lambda: to_dopesheet(schedule),
        file_name=SCHEDULE_FILE,
        mime="text/csv",
        on_click="ignore",
        key=f"cli_schedule_{args.split()[0]}",
    )
