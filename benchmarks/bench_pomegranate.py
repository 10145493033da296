"""Per-iteration EM time of mixtura against pomegranate (CPU torch), same process.

pomegranate is not a dependency of mixtura: install it in a separate virtual
environment with the CPU torch wheel this machine holds::

    python -m venv /tmp/pv
    /tmp/pv/bin/pip install torch==2.13.0 numpy scipy scikit-learn \\
        array-api-compat threadpoolctl
    /tmp/pv/bin/pip install --no-deps pomegranate==1.1.2 apricot-select tqdm nose numba
    /tmp/pv/bin/pip install --no-deps -e .
    cd benchmarks && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        /tmp/pv/bin/python bench_pomegranate.py --n 1000000 --d 16 --k 16

Both libraries start from the same parameters (a short mixtura fit on a
subsample) and run a fixed number of EM iterations; the time of one iteration is
(fit of 1 + n iterations - fit of 1) / n, as in bench_gaussian.py. Families:
Gaussian (full and diag covariances), Bernoulli and Poisson.
"""

from __future__ import annotations

import argparse
import copy
import warnings

import numpy as np
import torch
from pomegranate.distributions import Bernoulli, Normal, Poisson
from pomegranate.gmm import GeneralMixtureModel

from _common import blas_info, quiet_time
from bench_gaussian import simulate
from mixtura import BernoulliMixture, GaussianMixture, PoissonMixture


def _mixtura_fit(make, X, max_iter):
    model = make(max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    return model


def _pomegranate_fit(make, X, max_iter):
    model = make(max_iter)
    model.fit(X)
    return model


def per_iteration(fit, n_iter):
    """Seconds per EM iteration, and the CPU share others took meanwhile."""
    one, share_one, _ = quiet_time(lambda: fit(1))
    many, share_many, model = quiet_time(lambda: fit(1 + n_iter))
    return (many - one) / n_iter, max(share_one, share_many), model


def gaussian_case(X, k, covariance_type):
    start = GaussianMixture(k, covariance_type=covariance_type, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.fit(X[:20_000])
    covariances = start._structure.matrices(start.covariances_, k, X.shape[1])
    if covariance_type == "diag":
        covariances = np.diagonal(covariances, axis1=1, axis2=2)

    def ours(max_iter):
        return GaussianMixture(
            k,
            covariance_type=covariance_type,
            weights_init=start.weights_,
            means_init=start.means_,
            precisions_init=start.precisions_,
            max_iter=max_iter,
            tol=0.0,
        )

    def theirs(max_iter):
        components = [
            Normal(
                means=start.means_[j],
                covs=covariances[j],
                covariance_type=covariance_type,
            )
            for j in range(k)
        ]
        return GeneralMixtureModel(
            components, priors=start.weights_, max_iter=max_iter, tol=0.0
        )

    return ours, theirs


def discrete_case(X, k, family):
    estimator = {"bernoulli": BernoulliMixture, "poisson": PoissonMixture}[family]
    start = estimator(k, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.fit(X[:20_000])
    # pomegranate refuses parameters at the boundary (a probability of 0): both
    # start from the same clipped parameters
    if family == "bernoulli":
        start.probabilities_ = np.clip(start.probabilities_, 1e-6, 1 - 1e-6)
        parameter = start.probabilities_
    else:
        start.rates_ = np.maximum(start.rates_, 1e-6)
        parameter = start.rates_

    def ours(max_iter):
        # a warm start continues from the start's parameters
        model = copy.deepcopy(start)
        return model.set_params(max_iter=max_iter, tol=0.0, warm_start=True)

    def theirs(max_iter):
        components = [
            Bernoulli(probs=parameter[j])
            if family == "bernoulli"
            else Poisson(lambdas=parameter[j])
            for j in range(k)
        ]
        return GeneralMixtureModel(
            components, priors=start.weights_, max_iter=max_iter, tol=0.0
        )

    return ours, theirs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument(
        "--cases", nargs="+", default=["full", "diag", "bernoulli", "poisson"]
    )
    args = parser.parse_args()
    threads = torch.get_num_threads()
    print(f"BLAS: {blas_info()}; torch {torch.__version__}, {threads} threads")
    rng = np.random.default_rng(0)
    print(
        "| case | mixtura s/iter | pomegranate s/iter | speed-up | "
        "mean log-lik mixtura / pomegranate | other CPU share |"
    )
    print("|---|---|---|---|---|---|")
    for case in args.cases:
        if case in ("full", "diag"):
            X = simulate(args.n, args.d, args.k)
            ours, theirs = gaussian_case(X, args.k, case)
        elif case == "bernoulli":
            centres = rng.uniform(0.05, 0.95, size=(args.k, args.d))
            labels = rng.integers(args.k, size=args.n)
            X = (rng.random((args.n, args.d)) < centres[labels]).astype(np.float64)
            ours, theirs = discrete_case(X, args.k, case)
        else:
            rates = rng.uniform(0.5, 20.0, size=(args.k, args.d))
            labels = rng.integers(args.k, size=args.n)
            X = rng.poisson(rates[labels]).astype(np.float64)
            ours, theirs = discrete_case(X, args.k, case)
        our_time, share_a, our_model = per_iteration(
            lambda m, make=ours, data=X: _mixtura_fit(make, data, m),
            args.iterations,
        )
        tensor = torch.from_numpy(X)
        their_time, share_b, their_model = per_iteration(
            lambda m, make=theirs, data=tensor: _pomegranate_fit(make, data, m),
            args.iterations,
        )
        ours_ll = our_model.score(X)
        theirs_ll = float(their_model.log_probability(tensor).mean())
        print(
            f"| {case} | {our_time:.3f} | {their_time:.3f} | "
            f"{their_time / our_time:.1f}x | {ours_ll:.6f} / {theirs_ll:.6f} | "
            f"{100 * max(share_a, share_b):.0f}% |",
            flush=True,
        )


if __name__ == "__main__":
    main()
