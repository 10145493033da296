"""Shared benchmark helpers: the machine's matrix-multiply peak and timers."""

from __future__ import annotations

import os
import time

import numpy as np

#: a timed section is re-run while other processes took more than this share of
#: the machine's CPU time during it
BUSY_LIMIT = 0.05


def matmul_peak_gflops(dtype=np.float64, size=2048, repeats=5):
    """Best GFLOP/s of a square matrix product on this machine, measured now."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    a @ b  # warm up the BLAS threads
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2.0 * size**3 / best / 1e9


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def best_time(function, repeats=3):
    """Smallest wall time of ``repeats`` calls, in seconds."""
    return min(_timed(function) for _ in range(repeats))


def blas_info():
    """A one-line description of the BLAS in use (threadpoolctl), if available."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = [
        f"{info.get('internal_api')} {info.get('version')} "
        f"({info.get('architecture')}, {info.get('num_threads')} threads)"
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return "; ".join(parts) or "no BLAS found"


def _busy_jiffies():
    """Non-idle CPU time of the whole machine, in seconds (Linux /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu():
    times = os.times()
    return times.user + times.system


def quiet_time(function, attempts=4, limit=BUSY_LIMIT):
    """Wall time of ``function()`` and the CPU share other processes took meanwhile.

    Re-runs the call (up to ``attempts`` times) while other processes took more
    than ``limit`` of the machine's CPU time during it, and returns the quietest
    run. Without /proc/stat (not Linux) the share is reported as NaN.

    Returns
    -------
    seconds : float
    other_share : float
        Other processes' CPU time / (wall time x cores) during the kept run.
    result : object
        What the kept call returned.
    """
    cores = os.cpu_count() or 1
    best = None
    for _ in range(attempts):
        try:
            busy_before = _busy_jiffies()
        except OSError:
            busy_before = None
        own_before = _own_cpu()
        start = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - start
        if busy_before is None:
            return seconds, float("nan"), result
        other = (_busy_jiffies() - busy_before) - (_own_cpu() - own_before)
        share = max(0.0, other) / (seconds * cores)
        if best is None or share < best[1]:
            best = (seconds, share, result)
        if share <= limit:
            break
    return best
