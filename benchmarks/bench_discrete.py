"""Per-iteration EM time of mixtura's Bernoulli and Poisson mixtures vs plain NumPy EM.

The nearest peer, pomegranate (Bernoulli / Poisson mixtures), is not installed here
and pulls in PyTorch, and scikit-learn has no Bernoulli or Poisson mixture; the
reference is therefore a straightforward NumPy EM written the textbook way (an
E-step of dense products and a max-shifted logsumexp, an M-step of one product),
run in the same process on the same data from the same initial labels. Both must
reach the same log-likelihood. (scipy.special.logsumexp is avoided in the
reference: it alone took ~0.2-0.5 s of a 200k x 16 E-step here, which would flatter
mixtura.)

The time of one EM iteration is the difference between a run of ``1 + n_iter``
iterations and a run of one, divided by ``n_iter``, as in ``bench_gaussian.py``.

Run::

    cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        ../.venv/bin/python bench_discrete.py --n 200000 --d 64 --k 16
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.special import gammaln
from sklearn.exceptions import ConvergenceWarning

from _common import blas_info, matmul_peak_gflops
from mixtura import BernoulliMixture, PoissonMixture

EPSILON = 1e-10


def simulate(kind, n, d, k, seed=0):
    """``n`` rows from ``k`` components of ``kind`` ('bernoulli' or 'poisson')."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(k, size=n)
    if kind == "bernoulli":
        probabilities = rng.uniform(0.05, 0.95, size=(k, d))
        X = (rng.uniform(size=(n, d)) < probabilities[labels]).astype(np.float64)
    else:
        rates = rng.gamma(2.0, 2.0, size=(k, d))
        X = rng.poisson(rates[labels]).astype(np.float64)
    return X, labels


def numpy_em(kind, X, labels, k, n_iter):
    """Textbook EM from one-hot initial labels; returns the last log-likelihood."""
    resp = np.eye(k)[labels]
    log_factorial = gammaln(X + 1).sum(axis=1) if kind == "poisson" else 0.0
    loglik = None
    for _ in range(n_iter + 1):
        nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
        weights = nk / nk.sum()
        theta = resp.T @ X / nk[:, None]  # M-step
        if kind == "bernoulli":
            p = np.clip(theta, EPSILON, 1 - EPSILON)
            joint = X @ np.log(p).T + (1 - X) @ np.log1p(-p).T
        else:
            lam = np.maximum(theta, EPSILON)
            joint = X @ np.log(lam).T - lam.sum(axis=1) - log_factorial[:, None]
        joint += np.log(weights)
        peak = joint.max(axis=1, keepdims=True)
        density = (peak + np.log(np.exp(joint - peak).sum(axis=1, keepdims=True)))[:, 0]
        resp = np.exp(joint - density[:, None])  # E-step
        loglik = density.mean()
    return loglik


def mixtura_fit(kind, X, labels, k, n_iter):
    cls = BernoulliMixture if kind == "bernoulli" else PoissonMixture
    model = cls(k, init_params=labels, max_iter=n_iter + 1, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model.lower_bound_


def per_iteration(function, n_iter, repeats):
    """Seconds per iteration, and the result of the longer run."""

    def timed(iterations):
        best, result = np.inf, None
        for _ in range(repeats):
            start = time.perf_counter()
            result = function(iterations)
            best = min(best, time.perf_counter() - start)
        return best, result

    one, _ = timed(0)
    many, result = timed(n_iter)
    return (many - one) / n_iter, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"BLAS: {blas_info()}")
    print(f"matmul peak: {matmul_peak_gflops():.1f} GFLOP/s (float64)")
    print(f"n={args.n} d={args.d} K={args.k} iterations={args.iterations}")
    print("| family | mixtura s/iter | NumPy EM s/iter | speed-up | loglik diff |")
    print("|---|---|---|---|---|")
    # initial labels: random, the same for both implementations
    labels = np.random.default_rng(1).integers(args.k, size=args.n)
    for kind in ("bernoulli", "poisson"):
        X, _ = simulate(kind, args.n, args.d, args.k)
        mine, mine_ll = per_iteration(
            lambda it, kind=kind, X=X: mixtura_fit(kind, X, labels, args.k, it),
            args.iterations,
            args.repeats,
        )
        theirs, theirs_ll = per_iteration(
            lambda it, kind=kind, X=X: numpy_em(kind, X, labels, args.k, it),
            args.iterations,
            args.repeats,
        )
        print(
            f"| {kind} | {mine:.3f} | {theirs:.3f} | {theirs / mine:.2f}x | "
            f"{abs(mine_ll - theirs_ll):.1e} |"
        )


if __name__ == "__main__":
    main()
