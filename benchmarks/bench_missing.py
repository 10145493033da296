"""EM with missing values: time per iteration against the complete-data fit.

Same data (n=1e5, d=10, K=5, full covariances), once complete and once with 20% of
the entries missing completely at random, from the same initial parameters, in the
same process. Seconds per iteration = (fit with 1 + n_iter iterations - fit with 1)
/ n_iter, after a warm-up fit; each fit is timed by ``quiet_time`` (re-run while
other processes are busy; their CPU share is printed), the fastest of three kept.
The missing-data E-step groups rows by missingness pattern (with 20% MCAR in 10
columns nearly every row is incomplete and there are up to 1024 patterns).

Run::

    cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        ../.venv/bin/python bench_missing.py
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from _common import blas_info, quiet_time
from bench_gaussian import initial_parameters, simulate
from mixtura import ConvergenceWarning, GaussianMixture


def fit(X, inits, max_iter, missing):
    model = GaussianMixture(
        inits["means_init"].shape[0],
        max_iter=max_iter,
        tol=0.0,
        missing=missing,
        **inits,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model


def fastest(function, repeats=3):
    """Seconds and other processes' CPU share of the fastest quiet run."""
    seconds, share, _ = min(quiet_time(function) for _ in range(repeats))
    return seconds, share


def seconds_per_iteration(X, inits, n_iter, missing):
    """Seconds per iteration and the largest CPU share other processes took."""
    one, share_one = fastest(lambda: fit(X, inits, 1, missing))
    many, share_many = fastest(lambda: fit(X, inits, 1 + n_iter, missing))
    return (many - one) / n_iter, max(share_one, share_many)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=10)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args()

    X = simulate(args.n, args.d, args.k)
    rng = np.random.default_rng(1)
    holes = X.copy()
    holes[rng.uniform(size=X.shape) < args.fraction] = np.nan
    incomplete = np.isnan(holes).any(axis=1)
    n_patterns = len(np.unique(np.isnan(holes[incomplete]), axis=0))
    inits = initial_parameters(X, args.k, "full")
    print(f"BLAS: {blas_info()}")
    print(
        f"data: n={args.n} d={args.d} K={args.k}, {100 * args.fraction:.0f}% MCAR: "
        f"{100 * incomplete.mean():.1f}% of rows incomplete, {n_patterns} patterns"
    )
    fit(X, inits, 1, "error")  # warm-up: thread pool, BLAS, first-call costs
    fit(holes, inits, 1, "em")
    complete_time, complete_share = seconds_per_iteration(
        X, inits, args.iterations, "error"
    )
    missing_time, missing_share = seconds_per_iteration(
        holes, inits, args.iterations, "em"
    )
    print("| data | s/iter | ratio to complete | other processes' CPU |")
    print("|---|---|---|---|")
    print(f"| complete | {complete_time:.3f} | 1.0x | {100 * complete_share:.0f}% |")
    print(
        f"| {100 * args.fraction:.0f}% MCAR, missing='em' | {missing_time:.3f} | "
        f"{missing_time / complete_time:.1f}x | {100 * missing_share:.0f}% |"
    )


if __name__ == "__main__":
    main()
