"""Shared fixtures for the core tests.

Training is the expensive part, so trained runs are session-scoped: the default recipe (post-norm, seed 0,
the full Ex 2.4 schedule) is trained exactly once, and training-behaviour tests use a 201-step schedule.
"""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)

from stores import clock, db, postgres_server, postgres_url, s, sq  # noqa: E402, F401  (the class store's fixtures)

from excolor import evaluate as ev  # noqa: E402  (import after fixing the thread count)
from excolor.schedule import Schedule, parse_dopesheet  # noqa: E402
from excolor.train import Recipe, TrainedRun, train  # noqa: E402

SHORT_DOPESHEET = "STEP,lr,separate,anchor,unit,planar\n0,0.01,0.01,0.01,0.01,0.01\n200,0.05,0,0,0,0\n"


@pytest.fixture(scope="session")
def short_schedule() -> Schedule:
    """201 steps with every term switched on at the start: cheap, but exercises the whole objective."""
    return parse_dopesheet(SHORT_DOPESHEET)


@pytest.fixture(scope="session")
def default_run() -> TrainedRun:
    """The app's default recipe (post-norm, seed 0, EX24 schedule, 3,001 steps), trained once per session."""
    return train(Recipe())[0]


@pytest.fixture(scope="session")
def default_probe(default_run: TrainedRun) -> ev.Probe:
    return ev.probe_of(default_run)
