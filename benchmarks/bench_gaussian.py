"""Per-iteration EM time of mixtura's and scikit-learn's GaussianMixture.

Both libraries run in this process on the same data from the same initial
parameters. The time of one EM iteration is the difference between a fit of
``1 + n_iter`` iterations and a fit of one, divided by ``n_iter``: that removes
initialisation (scikit-learn runs k-means even when every initial parameter is
given) and the final E-step from the figure. The machine's matrix-multiply peak is
measured in the same run, and mixtura's arithmetic rate is reported against it.

Run (unset the OpenBLAS overrides that this machine may set; they slow NumPy)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        python benchmarks/bench_gaussian.py --n 1000000 --d 16 --k 16

``--dtype-ratio`` instead times mixtura alone in float64 and float32, alternately,
and reports the float32 speed-up.
"""

from __future__ import annotations

import argparse
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from _common import blas_info, matmul_peak_gflops, quiet_time
from mixtura import GaussianMixture

#: other processes' CPU share during each timed fit (see _common.quiet_time)
OTHER_SHARES: list[float] = []
#: mixtura's ``chunk_size`` (``--chunk-size``; None: its default)
MIXTURA_OPTIONS: dict = {}


def simulate(n, d, k, seed=0):
    """``n`` rows from ``k`` well-separated Gaussian clusters in ``d`` dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    labels = rng.integers(k, size=n)
    scales = rng.uniform(0.5, 1.5, size=(k, d))
    return centres[labels] + rng.standard_normal((n, d)) * scales[labels]


def initial_parameters(X, k, covariance_type, seed=0):
    """Initial weights, means and precisions from a short fit on a subsample."""
    rng = np.random.default_rng(seed)
    subsample = X[rng.choice(X.shape[0], size=min(20_000, X.shape[0]), replace=False)]
    start = GaussianMixture(
        k, covariance_type=covariance_type, max_iter=5, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(subsample)
    return {
        "weights_init": start.weights_,
        "means_init": start.means_,
        "precisions_init": start.precisions_,
    }


def fit_seconds(cls, X, covariance_type, inits, max_iter):
    """Seconds of one fit of ``max_iter`` iterations, re-run on a busy machine."""
    seconds, share, model = quiet_time(
        lambda: _fit(cls, X, covariance_type, inits, max_iter)
    )
    OTHER_SHARES.append(share)
    return seconds, model


def _fit(cls, X, covariance_type, inits, max_iter):
    model = cls(
        inits["means_init"].shape[0],
        covariance_type=covariance_type,
        max_iter=max_iter,
        tol=0.0,
        **inits,
        **(MIXTURA_OPTIONS if cls is GaussianMixture else {}),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model


def seconds_per_iteration(cls, X, covariance_type, inits, n_iter):
    one, _ = fit_seconds(cls, X, covariance_type, inits, 1)
    many, model = fit_seconds(cls, X, covariance_type, inits, 1 + n_iter)
    return (many - one) / n_iter, model


def peak_memory_mb(cls, X, covariance_type, inits):
    """Peak of traced allocations (NumPy's included) during a 2-iteration fit."""
    tracemalloc.start()
    fit_seconds(cls, X, covariance_type, inits, 2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def em_flops(n, d, k, covariance_type):
    """Multiply-add work of one EM iteration's O(n) part (E-step and M-step)."""
    per_row = {"full": 2 * d * d * k, "tied": d * d + 2 * d * k, "diag": 3 * d * k}
    return 2.0 * n * per_row.get(covariance_type, 3 * d * k)


def dtype_ratio(X64, k, covariance_types, n_iter, rounds=3):
    """float32 against float64 speed, timed alternately in this process.

    Each round times one EM iteration of mixtura in float64 then in float32 on
    the same data (cast once) from the same initial parameters; the fastest
    round of each dtype counts, so a burst of other work on the machine does
    not decide the ratio.
    """
    X32 = X64.astype(np.float32)
    print(
        "| covariance | float64 s/iter | float32 s/iter | float32 speed-up | "
        "bound rel. diff | min float32 variance | other CPU share |"
    )
    print("|---" * 7 + "|")
    for covariance_type in covariance_types:
        OTHER_SHARES.clear()
        inits = initial_parameters(X64, k, covariance_type)
        times = {np.float64: [], np.float32: []}
        models = {}
        for _ in range(rounds):
            for dtype, X in ((np.float64, X64), (np.float32, X32)):
                seconds, models[dtype] = seconds_per_iteration(
                    GaussianMixture, X, covariance_type, inits, n_iter
                )
                times[dtype].append(seconds)
        t64, t32 = min(times[np.float64]), min(times[np.float32])
        bound64 = models[np.float64].lower_bound_
        diff = abs(models[np.float32].lower_bound_ - bound64) / abs(bound64)
        covariances = np.asarray(models[np.float32].covariances_)
        if covariance_type in ("full", "tied"):  # matrices: their eigenvalues
            smallest = np.linalg.eigvalsh(covariances).min()
        else:
            smallest = covariances.min()
        print(
            f"| {covariance_type} | {t64:.3f} | {t32:.3f} | {t64 / t32:.2f}x | "
            f"{diff:.1e} | {smallest:.3g} | {100 * max(OTHER_SHARES):.0f}% |",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--types", nargs="+", default=["full", "diag"])
    parser.add_argument("--float32", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument(
        "--dtype-ratio",
        action="store_true",
        help="time mixtura in float64 and float32 alternately; report the ratio",
    )
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="mixtura's rows per chunk"
    )
    args = parser.parse_args()
    if args.chunk_size is not None:
        MIXTURA_OPTIONS["chunk_size"] = args.chunk_size
        print(f"mixtura chunk_size: {args.chunk_size} rows")

    if args.dtype_ratio:
        X = simulate(args.n, args.d, args.k)
        print(f"BLAS: {blas_info()}")
        print(f"data: n={args.n} d={args.d} K={args.k}, float64 and float32")
        dtype_ratio(X, args.k, args.types, args.iterations)
        return
    dtype = np.float32 if args.float32 else np.float64
    X = simulate(args.n, args.d, args.k).astype(dtype)
    peak = matmul_peak_gflops(dtype)
    print(f"BLAS: {blas_info()}")
    print(f"matmul peak ({np.dtype(dtype).name}): {peak:.1f} GFLOP/s")
    print(
        f"data: n={args.n} d={args.d} K={args.k} {np.dtype(dtype).name}, "
        f"{X.nbytes / 2**20:.0f} MiB"
    )
    header = (
        "| covariance | mixtura s/iter | sklearn s/iter | speed-up | "
        "mixtura GFLOP/s (% peak) | lower bound diff | peak MiB mixtura / sklearn | "
        "other CPU share |"
    )
    print(header)
    print("|---" * 8 + "|")
    for covariance_type in args.types:
        OTHER_SHARES.clear()
        inits = initial_parameters(X, args.k, covariance_type)
        ours, ours_model = seconds_per_iteration(
            GaussianMixture, X, covariance_type, inits, args.iterations
        )
        theirs, their_model = seconds_per_iteration(
            SklearnGaussianMixture, X, covariance_type, inits, args.iterations
        )
        rate = em_flops(args.n, args.d, args.k, covariance_type) / ours / 1e9
        diff = abs(ours_model.lower_bound_ - their_model.lower_bound_)
        memory = "skipped"
        if not args.no_memory:
            ours_mb, theirs_mb = (
                peak_memory_mb(cls, X, covariance_type, inits)
                for cls in (GaussianMixture, SklearnGaussianMixture)
            )
            memory = f"{ours_mb:.0f} / {theirs_mb:.0f}"
        print(
            f"| {covariance_type} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.1f}x | "
            f"{rate:.1f} ({100 * rate / peak:.0f}%) | {diff:.1e} | {memory} | "
            f"{100 * max(OTHER_SHARES):.0f}% |",
            flush=True,
        )


if __name__ == "__main__":
    main()
