"""Per-iteration EM time of VonMisesFisherMixture, against the matmul peak.

One EM iteration of a von Mises-Fisher mixture is two matrix products of the
rows with K columns (the E-step's ``X @ (kappa mu)^T`` and the statistics'
``resp^T @ X``), ``4 n d K`` floating-point operations, plus the posterior's
exponentials over the (n, K) log densities. The machine's square
matrix-multiply peak is measured in the same run, float64 and float32, and
mixtura's arithmetic rate is reported against it; float64 and float32 fits
run alternately on the same rows (cast once) from the same initial labels,
and the float32 speed-up is the ratio of the fastest of each. A textbook NumPy
EM (the same two products, a max-shifted log-sum-exp and Banerjee's
approximation for kappa) runs alongside as a reference.

The time of one iteration is the shortest gap between consecutive
iterations' progress callbacks (each iteration is a whole E-step and M-step),
over every iteration of every round: the initialisation and the final E-step
drop out, and so does a burst of other work on a shared machine, which the
difference of two whole fits (``bench_gaussian.py``) does not survive when
the machine is busy.

Run (unset the OpenBLAS overrides that this machine may set; they slow NumPy)::

    cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        ../.venv/bin/python bench_vmf.py --n 1000000 --d 256 --k 32
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.special import ive
from sklearn.exceptions import ConvergenceWarning

from _common import blas_info, matmul_peak_gflops, quiet_time
from mixtura import VonMisesFisherMixture
from mixtura.families import VonMisesFisher

#: other processes' CPU share during each timed fit (see _common.quiet_time)
OTHER_SHARES: list[float] = []


def simulate(n, d, k, seed=0):
    """``n`` unit rows from ``k`` components, kappa from 0.5 d to 2 d, and labels."""
    rng = np.random.RandomState(seed)
    directions = rng.normal(size=(k, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    family = VonMisesFisher(
        mean_directions=directions, concentrations=rng.uniform(0.5 * d, 2 * d, k)
    )
    labels = rng.randint(k, size=n)
    X = np.empty((n, d))
    block = 100_000  # the sampler's (n, d) temporaries, a block at a time
    for start in range(0, n, block):
        X[start : start + block] = family.sample(labels[start : start + block], rng)
    return X, labels


def mixtura_fit(X, labels, k, iterations):
    """Fit from ``labels``; the gaps between iterations and the last bound."""
    stamps = []
    model = VonMisesFisherMixture(
        k,
        init_params=labels,
        max_iter=iterations + 1,
        tol=0.0,
        callback=lambda info: stamps.append(time.perf_counter()),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return np.diff(stamps), model.lower_bound_


def _log_normalizer(d, kappa):
    """Textbook ``log C_d(kappa)`` from ``ive`` (fine for these d and kappa)."""
    nu = d / 2 - 1
    return (
        nu * np.log(kappa) - d / 2 * np.log(2 * np.pi) - np.log(ive(nu, kappa)) - kappa
    )


def numpy_em(X, labels, k, iterations):
    """Textbook vMF EM from one-hot labels; the last mean log-likelihood."""
    n, d = X.shape
    resp = np.eye(k, dtype=X.dtype)[labels]
    loglik, stamps = None, []
    for _ in range(iterations + 1):
        stamps.append(time.perf_counter())
        nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
        sums = resp.T @ X  # M-step
        lengths = np.linalg.norm(sums, axis=1)
        mu = sums / lengths[:, None]
        r = np.minimum(lengths / nk, 1 - 1e-12)
        kappa = r * (d - r**2) / (1 - r**2)
        joint = X @ (kappa[:, None] * mu).T.astype(X.dtype)  # E-step
        joint += (np.log(nk / n) + _log_normalizer(d, kappa)).astype(X.dtype)
        peak = joint.max(axis=1, keepdims=True)
        density = peak[:, 0] + np.log(np.exp(joint - peak).sum(axis=1))
        resp = np.exp(joint - density[:, None])
        loglik = float(density.mean())
    return np.diff(stamps), loglik


def seconds_per_iteration(function, X, labels, k, iterations):
    """Shortest seconds of one iteration, and the last bound."""
    _, share, (gaps, bound) = quiet_time(
        lambda: function(X, labels, k, iterations), attempts=1
    )
    OTHER_SHARES.append(share)
    return gaps.min(), bound


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=256)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the textbook NumPy EM"
    )
    args = parser.parse_args()
    X64, labels = simulate(args.n, args.d, args.k)
    X32 = X64.astype(np.float32)
    peaks = {dtype: matmul_peak_gflops(dtype) for dtype in (np.float64, np.float32)}
    print(f"BLAS: {blas_info()}")
    print(
        f"matmul peak: {peaks[np.float64]:.1f} GFLOP/s float64, "
        f"{peaks[np.float32]:.1f} GFLOP/s float32"
    )
    print(
        f"data: n={args.n} d={args.d} K={args.k}, {X64.nbytes / 2**20:.0f} MiB "
        f"float64; {args.iterations} iterations a fit, {args.rounds} rounds"
    )
    flops = 4.0 * args.n * args.d * args.k
    times = {np.float64: [], np.float32: []}
    bounds = {}
    for _ in range(args.rounds):
        for dtype, X in ((np.float64, X64), (np.float32, X32)):
            seconds, bounds[dtype] = seconds_per_iteration(
                mixtura_fit, X, labels, args.k, args.iterations
            )
            times[dtype].append(seconds)
    print(
        "| dtype | mixtura s/iter | GFLOP/s | % of float64 peak | % of own peak | "
        "lower bound |"
    )
    print("|---" * 6 + "|")
    for dtype in (np.float64, np.float32):
        best = min(times[dtype])
        rate = flops / best / 1e9
        print(
            f"| {np.dtype(dtype).name} | {best:.3f} | {rate:.1f} | "
            f"{100 * rate / peaks[np.float64]:.0f}% | "
            f"{100 * rate / peaks[dtype]:.0f}% | {bounds[dtype]:.6f} |"
        )
    t64, t32 = min(times[np.float64]), min(times[np.float32])
    print(f"float32 / float64 speed: {t64 / t32:.2f}x")
    if not args.no_reference:
        theirs, their_bound = seconds_per_iteration(
            numpy_em, X64, labels, args.k, args.iterations
        )
        print(
            f"textbook NumPy EM (float64): {theirs:.3f} s/iter; mixtura is "
            f"{theirs / t64:.2f}x faster (its kappa is Banerjee's approximation "
            f"alone: bound {their_bound:.6f})"
        )
    print(
        "other processes' CPU share during the fits: "
        f"{100 * min(OTHER_SHARES):.0f}% to {100 * max(OTHER_SHARES):.0f}%"
    )


if __name__ == "__main__":
    main()
