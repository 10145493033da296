"""Whole fits as a user runs them: mixtura against scikit-learn, same process.

Two comparisons on the same simulated data:

- ``GaussianMixture(n_components=K, n_init=3, random_state=0).fit(X)``, k-means
  initialisation included, in both libraries;
- model selection over K = 1..10 and the four covariance structures:
  ``mixtura.select`` against the equivalent scikit-learn loop (one
  ``GaussianMixture`` per cell, best BIC kept).

Each timed section is re-run when other processes took more than a few percent of
the CPU (``_common.quiet_time``). Run::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_whole_fit.py --n 200000 --select-n 20000
"""

from __future__ import annotations

import argparse
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from _common import blas_info, quiet_time
from bench_gaussian import simulate
from mixtura import GaussianMixture, select

STRUCTURES = ("spherical", "diag", "tied", "full")


def whole_fit(cls, X, k):
    """One user-level fit with three initialisations."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(n_components=k, n_init=3, random_state=0).fit(X)


def sklearn_selection(X, ks):
    """The scikit-learn loop equivalent to ``mixtura.select``: best BIC cell."""
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for covariance_type in STRUCTURES:
            for k in ks:
                model = SklearnGaussianMixture(
                    k, covariance_type=covariance_type, random_state=0
                ).fit(X)
                bic = model.bic(X)
                if best is None or bic < best[0]:
                    best = (bic, covariance_type, k)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--select-n", type=int, default=20_000)
    parser.add_argument("--select-d", type=int, default=4)
    args = parser.parse_args()
    print(f"BLAS: {blas_info()}")

    X = simulate(args.n, args.d, args.k)
    ours_s, share_a, ours = quiet_time(lambda: whole_fit(GaussianMixture, X, args.k))
    theirs_s, share_b, theirs = quiet_time(
        lambda: whole_fit(SklearnGaussianMixture, X, args.k)
    )
    print(
        f"fit n={args.n} d={args.d} K={args.k} n_init=3: mixtura {ours_s:.1f} s "
        f"(bound {ours.lower_bound_:.6f}), scikit-learn {theirs_s:.1f} s (bound "
        f"{theirs.lower_bound_:.6f}), speed-up {theirs_s / ours_s:.1f}x; other CPU "
        f"share {100 * max(share_a, share_b):.0f}%"
    )

    Z = simulate(args.select_n, args.select_d, 4, seed=1)
    ks = range(1, 11)
    ours_s, share_a, table = quiet_time(
        lambda: select(Z, n_components=ks, covariance_types=STRUCTURES, random_state=0)
    )
    theirs_s, share_b, best = quiet_time(lambda: sklearn_selection(Z, ks))
    print(
        f"select n={args.select_n} d={args.select_d}, K=1..10 x 4 structures: "
        f"mixtura {ours_s:.1f} s (best {table.best()}), scikit-learn loop "
        f"{theirs_s:.1f} s (best {best[1]}, K={best[2]}), speed-up "
        f"{theirs_s / ours_s:.1f}x; other CPU share "
        f"{100 * max(share_a, share_b):.0f}%"
    )


if __name__ == "__main__":
    main()
