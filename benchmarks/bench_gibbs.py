"""Collapsed Gibbs sweeps per second for a Gaussian DP mixture, with and without
split-merge moves.

There is no Gibbs sampler for DP mixtures in scikit-learn to run beside it, so the
reference in the same run is the textbook implementation of the same update (Neal
2000, algorithm 3): for each point, every cluster's Student-t predictive is built
from its statistics with a fresh Cholesky factorisation. It is timed on the first
``--reference-points`` points of a sweep and scaled to a full sweep.

Usage::

    python bench_gibbs.py --n 10000 --d 2 5 --sweeps 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import blas_info
from mixtura.inference.gibbs import collapsed_gibbs
from mixtura.priors.normal_inverse_wishart import NormalInverseWishart


def make_data(n, d, n_clusters=3, seed=0):
    """Well-separated Gaussian clusters and their labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=10.0, size=(n_clusters, d))
    labels = rng.integers(0, n_clusters, n)
    return centers[labels] + rng.normal(size=(n, d)), labels


def default_prior(X):
    """The estimator's data-driven default prior."""
    d = X.shape[1]
    return NormalInverseWishart.checked(X.mean(axis=0), 0.01, d + 2.0, np.cov(X.T))


def time_sampler(X, labels, sweeps, n_split_merge):
    """Seconds per sweep (Gibbs sweep plus proposals) and the split-merge counts."""
    start = time.perf_counter()
    result = collapsed_gibbs(
        X,
        default_prior(X),
        n_iter=sweeps,
        n_split_merge=n_split_merge,
        n_launch_scans=3,
        initial_labels=labels,
        random_state=0,
    )
    return (time.perf_counter() - start) / sweeps, result.counters


def time_reference(X, labels, n_points):
    """Seconds per full sweep of the uncached textbook update, from n_points."""
    prior = default_prior(X)
    rng = np.random.default_rng(0)
    labels = labels.copy()
    n_clusters = labels.max() + 1
    start = time.perf_counter()
    for i in range(n_points):
        labels[i] = -1
        log_p = []
        for k in range(n_clusters):
            members = X[labels == k]
            post = prior.posterior(len(members), members.sum(0), members.T @ members)
            log_p.append(
                np.log(len(members)) + post.predictive().logpdf(X[i : i + 1])[0]
            )
        log_p.append(prior.predictive().logpdf(X[i : i + 1])[0])
        p = np.exp(np.array(log_p) - max(log_p))
        labels[i] = min(rng.choice(len(p), p=p / p.sum()), n_clusters - 1)
    return (time.perf_counter() - start) / n_points * len(X)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, nargs="+", default=[2, 5])
    parser.add_argument("--sweeps", type=int, default=3)
    parser.add_argument("--split-merge", type=int, default=1)
    parser.add_argument("--reference-points", type=int, default=300)
    args = parser.parse_args()
    print(f"BLAS: {blas_info()}")
    print(
        "| d | Gibbs s/sweep | sweeps/s | + split-merge s/sweep | sweeps/s | "
        "proposals (split acc/prop, merge acc/prop) | uncached reference s/sweep |"
    )
    print("|---|---|---|---|---|---|---|")
    for d in args.d:
        X, labels = make_data(args.n, d)
        plain, _ = time_sampler(X, labels, args.sweeps, 0)
        with_sm, counters = time_sampler(X, labels, args.sweeps, args.split_merge)
        reference = time_reference(X, labels, args.reference_points)
        print(
            f"| {d} | {plain:.3f} | {1 / plain:.2f} | {with_sm:.3f} | "
            f"{1 / with_sm:.2f} | {counters['split_accepted']}/"
            f"{counters['split_proposed']}, {counters['merge_accepted']}/"
            f"{counters['merge_proposed']} | {reference:.2f} |"
        )


if __name__ == "__main__":
    main()
