"""Process settings for a small-memory, one-CPU server: called once, explicitly, at the start of the server
(`excolor.app.warmup.lifespan`) and of the CLI, never as a side effect of an import.

Why each setting exists, with its measurements, is in docs/performance.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

# PyTorch builds and keeps a oneDNN kernel per input shape (~0.4 MB each, up to 1,024 by default); the app uses
# a few dozen shapes. Read when the first kernel is built, so it must be set before any evaluation runs.
ONEDNN_CACHE = "64"
# One intra-op thread for a 263-parameter model: extra threads cost more than they give. Set as an environment
# variable before PyTorch loads, it holds for every thread (the server's sessions, the trainer) with no further call.
THREADS = "1"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
KEEP_AT_MOST = 8 << 20  # bytes glibc may keep freed: more than an evaluation chunk's temporaries (~5 MB)
ONE_CORE_ENV = "EXCOLOR_ONE_CORE"  # "0": leave the server's threads wherever the OS puts them


def tune_process() -> None:
    """Set the thread count, the oneDNN cache and glibc's trimming; safe to call more than once."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", ONEDNN_CACHE)
    os.environ.setdefault("OMP_NUM_THREADS", THREADS)
    if "torch" in sys.modules:  # already loaded (the CLI, tests): the env var came too late for this thread
        sys.modules["torch"].set_num_threads(int(THREADS))
    with contextlib.suppress(OSError, AttributeError):  # a no-op where libc is not glibc
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, KEEP_AT_MOST)
        libc.mallopt(M_TRIM_THRESHOLD, KEEP_AT_MOST)


def release_memory() -> None:
    """Hand freed memory back to the operating system (glibc only; elsewhere a no-op). Encoding the dense grid
    allocates and frees tens of MB per run; a caller that measures many runs in a row trims after each."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def keep_to_one_core() -> int | None:
    """Keep every thread of this process on the CPU core it runs on now; returns that core, or None if nothing was
    changed (one core only, not Linux, EXCOLOR_ONE_CORE=0, or the OS said no). Threads started later inherit it.

    Why: the server's threads share one GIL, and the trainer gives it up around each of its PyTorch calls; on a
    second core a page script takes it and holds it for up to 5 ms while the trainer waits. On one core the trainer
    keeps it from one call to the next, so training during a cold start or a class is about twice as fast."""
    if os.environ.get(ONE_CORE_ENV, "1") == "0" or not hasattr(os, "sched_setaffinity"):
        return None
    try:
        allowed = os.sched_getaffinity(0)
        if len(allowed) < 2:
            return None
        cpu = _current_cpu()
        cpu = cpu if cpu in allowed else min(allowed)
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except (OSError, ValueError, IndexError):
        return None
    for tid in threads:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(tid, {cpu})
    return cpu


def _current_cpu() -> int:
    """The CPU this thread last ran on: field 39 of its stat file (the fields after the name start at 3).
    /proc/thread-self, not /proc/self, which reads the main thread's."""
    with open("/proc/thread-self/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[36])
