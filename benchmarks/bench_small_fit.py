"""Small and medium whole fits: mixtura against scikit-learn, same process.

``GaussianMixture(n_components=K, covariance_type=..., random_state=0).fit(X)``
with default options in both libraries (k-means initialisation included), over
n in {300, 3e3, 3e4}, d in {2, 8}, K in {3, 9} and the four covariance types,
on the same simulated data. For every shape it reports both wall times (best of
``--repeats`` calls, each the quietest of a few tries, ``_common.quiet_time``),
the ratio, both iteration counts, and the difference of the two libraries'
lower bounds after 20 EM iterations from the same initial parameters (the
same fit, not only the same speed). It also states the fixed cost of one EM
iteration at n=100, d=2, K=3, full (the slope of time over ``max_iter`` with
``tol=0``), and the machine's matrix-multiply peak measured in the same run.

Run (one BLAS thread or all, as the machine gives)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_small_fit.py
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from _common import blas_info, matmul_peak_gflops, quiet_time
from mixtura import GaussianMixture
from mixtura.exceptions import ConvergenceWarning

STRUCTURES = ("full", "tied", "diag", "spherical")


def simulate(n_samples, n_features, n_components, seed=0):
    """Separated Gaussian blobs of unequal spread."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    scales = rng.uniform(0.5, 1.5, size=(n_components, 1))
    noise = rng.normal(size=(n_samples, n_features))
    return centres[labels] + scales[labels] * noise


def _quiet_fit(cls, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**params).fit(X)


def timed_fit(cls, X, repeats, **params):
    """Best wall time of ``repeats`` fits and the last fitted model."""
    best, model = np.inf, None
    for _ in range(repeats):
        seconds, _, model = quiet_time(lambda: _quiet_fit(cls, X, **params))
        best = min(best, seconds)
    return best, model


def same_start_bound_difference(X, k, covariance_type, reference):
    """|lower bound difference| after 20 iterations from the same parameters."""
    start = {
        "weights_init": reference.weights_,
        "means_init": reference.means_,
        "precisions_init": reference.precisions_,
        "max_iter": 20,
        "tol": 0.0,
        "n_components": k,
        "covariance_type": covariance_type,
    }
    theirs = _quiet_fit(SklearnGaussianMixture, X, **start)
    ours = _quiet_fit(GaussianMixture, X, **start)
    return abs(theirs.lower_bound_ - ours.lower_bound_)


def iteration_cost(cls, X, k, iterations=200, repeats=5):
    """Seconds per EM iteration and the fixed cost of a fit, from two lengths."""
    reference = _quiet_fit(SklearnGaussianMixture, X, n_components=k, random_state=0)
    start = {
        "weights_init": reference.weights_,
        "means_init": reference.means_,
        "precisions_init": reference.precisions_,
        "tol": 0.0,
        "n_components": k,
    }

    def best(max_iter):
        times = []
        for _ in range(repeats):
            begin = time.perf_counter()
            _quiet_fit(cls, X, max_iter=max_iter, **start)
            times.append(time.perf_counter() - begin)
        return min(times)

    short, long = best(1), best(1 + iterations)
    return (long - short) / iterations, short


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 3000, 30000])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--ks", type=int, nargs="+", default=[3, 9])
    parser.add_argument("--types", nargs="+", default=list(STRUCTURES))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"BLAS: {blas_info()}")
    print(f"matrix-multiply peak: {matmul_peak_gflops():.1f} GFLOP/s (float64)")
    X = simulate(100, 2, 3)
    for cls, name in (
        (SklearnGaussianMixture, "scikit-learn"),
        (GaussianMixture, "mixtura"),
    ):
        per_iteration, fixed = iteration_cost(cls, X, 3)
        print(
            f"n=100, d=2, K=3, full: {name} {per_iteration * 1e6:.0f} us per EM "
            f"iteration, {fixed * 1e3:.2f} ms for a fit of one iteration"
        )
    print()
    print(
        "| n | d | K | type | scikit-learn ms | mixtura ms | speed-up | "
        "iterations (sk / mx) | bound difference |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for n, d, k, covariance_type in itertools.product(
        args.sizes, args.dims, args.ks, args.types
    ):
        X = simulate(n, d, k)
        params = {
            "n_components": k,
            "covariance_type": covariance_type,
            "random_state": 0,
        }
        repeats = args.repeats if n < 30000 else max(2, args.repeats // 2)
        theirs_s, theirs = timed_fit(SklearnGaussianMixture, X, repeats, **params)
        ours_s, ours = timed_fit(GaussianMixture, X, repeats, **params)
        difference = same_start_bound_difference(X, k, covariance_type, theirs)
        ratios.append(theirs_s / ours_s)
        print(
            f"| {n} | {d} | {k} | {covariance_type} | {theirs_s * 1e3:.2f} | "
            f"{ours_s * 1e3:.2f} | {theirs_s / ours_s:.2f}x | "
            f"{theirs.n_iter_} / {ours.n_iter_} | {difference:.1e} |",
            flush=True,
        )
    print()
    print(
        f"speed-up over {len(ratios)} shapes: min {min(ratios):.2f}x, median "
        f"{np.median(ratios):.2f}x, max {max(ratios):.2f}x"
    )


if __name__ == "__main__":
    main()
