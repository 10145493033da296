"""Shared benchmark helpers: the machine's matrix-multiply peak and timers."""

from __future__ import annotations

import time

import numpy as np


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
