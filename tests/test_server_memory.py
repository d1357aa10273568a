"""The server's allocator settings (excolor.app.shell, issue 11): freed big blocks go back to the system.

Each case runs in a fresh interpreter, so glibc's thresholds start from its defaults: a freed 20 MB block first
raises them (what a running server's big temporaries do), then a 12 MB block is allocated, written and freed.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import sys
from pathlib import Path
import numpy as np

def rss_mb():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
    return int(line.split()[1]) / 1024

big = np.ones(20 << 20, np.uint8)
del big
if sys.argv[1] == "shell":
    import excolor.app.shell
before = rss_mb()
block = np.ones(12 << 20, np.uint8)
del block
print(rss_mb() - before)
"""

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's allocator on Linux only"
)


def kept_mb(mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def test_the_shell_makes_glibc_return_a_freed_12_mb_block():
    assert kept_mb("plain") > 10  # glibc's default after a 20 MB block: the 12 MB stay in the process
    assert kept_mb("shell") < 2  # with the shell's settings they go back at once
