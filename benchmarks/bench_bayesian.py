"""Variational Dirichlet-process Gaussian mixture: mixtura against scikit-learn.

Both run in this process on the same data (n=1e5, d=8, 6 true clusters, truncation
30) from the same k-means initialisation (same random_state), for a fixed number
of iterations; the table gives seconds per iteration and checks that the two
reach the same lower bound.

Run::

    cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        ../.venv/bin/python bench_bayesian.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBGM

from _common import blas_info
from bench_gaussian import simulate
from mixtura import BayesianGaussianMixture


def fit_seconds(cls, X, n_components, covariance_type, max_iter):
    model = cls(
        n_components=n_components,
        covariance_type=covariance_type,
        max_iter=max_iter,
        tol=0.0,
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return time.perf_counter() - start, model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--clusters", type=int, default=6)
    parser.add_argument("--truncation", type=int, default=30)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--types", nargs="+", default=["full", "diag"])
    args = parser.parse_args()
    X = simulate(args.n, args.d, args.clusters)
    print(f"BLAS: {blas_info()}")
    print(
        f"data: n={args.n} d={args.d}, {args.clusters} clusters, truncation "
        f"{args.truncation}"
    )
    print("| covariance | mixtura s/iter | sklearn s/iter | speed-up | bound diff |")
    print("|---|---|---|---|---|")
    for covariance_type in args.types:
        times = {}
        for cls in (BayesianGaussianMixture, SklearnBGM):
            one, _ = fit_seconds(cls, X, args.truncation, covariance_type, 1)
            many, model = fit_seconds(
                cls, X, args.truncation, covariance_type, 1 + args.iterations
            )
            times[cls] = ((many - one) / args.iterations, model)
        (ours, ours_model), (theirs, their_model) = times.values()
        diff = abs(
            ours_model.lower_bound_ - float(np.squeeze(their_model.lower_bound_))
        )
        print(
            f"| {covariance_type} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.1f}x "
            f"| {diff:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
