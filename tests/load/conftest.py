"""Load-test plumbing: the measured numbers are printed in pytest's terminal summary (with or without -s)."""

from __future__ import annotations

import pytest

LOAD_REPORT = pytest.StashKey[list[list[str]]]()


@pytest.fixture
def load_report(request: pytest.FixtureRequest) -> list[str]:
    """Lines a load test wants shown at the end of the run, even when its assertions fail."""
    lines: list[str] = []
    request.config.stash.setdefault(LOAD_REPORT, []).append(lines)
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    reports = [lines for lines in config.stash.get(LOAD_REPORT, []) if lines]
    if not reports:
        return
    terminalreporter.section("excolor load test")
    for lines in reports:
        for line in lines:
            terminalreporter.write_line(line)
