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
# One intra-op thread for a 263-parameter model: extra threads cost more than they give. As an environment
# variable it holds for every thread OpenMP starts later (torch.set_num_threads only sets the calling thread's).
THREADS = "1"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
KEEP_AT_MOST = 8 << 20  # bytes glibc may keep freed: more than an evaluation chunk's temporaries (~5 MB)


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
