"""Variational Bayes and collapsed Gibbs of the conjugate discrete families.

Times ``BayesianMixture`` (Poisson and Bernoulli, fixed iterations) and
``DirichletProcessMixture`` (Bernoulli, fixed sweeps) on simulated data, for
comparing two versions of mixtura on one machine: run it once per version in the
same session, e.g. with ``PYTHONPATH`` pointing at an older checkout's ``src``.

Run::

    cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        ../.venv/bin/python bench_conjugate.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import mixtura
from mixtura import BayesianMixture, DirichletProcessMixture


def _best_of(repeats, run):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--gibbs-n", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=args.n)
    counts = rng.poisson(rng.uniform(0.5, 8.0, size=(4, 8))[labels]).astype(float)
    binary = (rng.random((args.n, 16)) < rng.random((4, 16))[labels]).astype(float)

    def vb(X, family):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            BayesianMixture(
                10, family=family, max_iter=20, tol=0.0, random_state=0
            ).fit(X)

    gibbs_X = binary[: args.gibbs_n]
    print(f"mixtura from {mixtura.__file__}")
    print(
        f"VB poisson   n={args.n} d=8  K=10, 20 iterations: "
        f"{_best_of(args.repeats, lambda: vb(counts, 'poisson')):.3f} s"
    )
    print(
        f"VB bernoulli n={args.n} d=16 K=10, 20 iterations: "
        f"{_best_of(args.repeats, lambda: vb(binary, 'bernoulli')):.3f} s"
    )
    gibbs = _best_of(
        args.repeats,
        lambda: DirichletProcessMixture(
            family="bernoulli", n_iter=10, random_state=0
        ).fit(gibbs_X),
    )
    print(f"Gibbs bernoulli n={args.gibbs_n} d=16, 10 sweeps: {gibbs:.3f} s")


if __name__ == "__main__":
    main()
