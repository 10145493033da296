"""Per-iteration EM time on a dask array against the in-memory fit, same process.

The single-machine baseline is mixtura's own in-memory fit of the same data from
the same initial parameters; the Dask fits run with Dask's default (threaded)
scheduler and on a ``dask.distributed`` ``LocalCluster`` whose workers hold the
blocks (persisted before timing, as a cluster user would). The time of one
iteration is (fit of 1 + n iterations - fit of 1) / n, as in bench_gaussian.py;
the lower bounds must agree to round-off.

Run (unset the OpenBLAS overrides that this machine may set; they slow NumPy)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_dask.py --n 1000000 --d 16 --k 16
"""

from __future__ import annotations

import argparse

import dask
import dask.array as da

from _common import BUSY_LIMIT, blas_info, quiet_time
from bench_gaussian import _fit as fit_model
from bench_gaussian import initial_parameters, simulate
from mixtura import GaussianMixture


def _fit(X, inits, max_iter, covariance_type):
    return fit_model(GaussianMixture, X, covariance_type, inits, max_iter)


def seconds_per_iteration(X, inits, n_iter, covariance_type, limit=BUSY_LIMIT):
    """Seconds of one EM iteration, the other processes' CPU share, the model.

    A first, untimed fit warms up what runs once (a cluster's workers import
    mixtura on their first task), which would otherwise inflate the one-iteration
    fit and bias the difference low.
    """
    _fit(X, inits, 1, covariance_type)
    one, share_one, _ = quiet_time(
        lambda: _fit(X, inits, 1, covariance_type), limit=limit
    )
    many, share_many, model = quiet_time(
        lambda: _fit(X, inits, 1 + n_iter, covariance_type), limit=limit
    )
    return (many - one) / n_iter, max(share_one, share_many), model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--block-rows", type=int, default=125_000)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--type", default="full")
    args = parser.parse_args()
    print(f"BLAS: {blas_info()}; dask {dask.__version__}")
    X = simulate(args.n, args.d, args.k)
    inits = initial_parameters(X, args.k, args.type)
    lazy = da.from_array(X, chunks=(args.block_rows, args.d))
    print(
        f"data: n={args.n} d={args.d} K={args.k} {args.type}, "
        f"{X.nbytes / 2**20:.0f} MiB in {lazy.numblocks[0]} blocks"
    )
    print("| run | s/iter | vs in memory | lower bound diff | other CPU share |")
    print("|---|---|---|---|---|")
    base, share, reference = seconds_per_iteration(X, inits, args.iterations, args.type)
    print(f"| in memory (baseline) | {base:.3f} | 1.00x | - | {100 * share:.0f}% |")

    def report(name, data, limit=BUSY_LIMIT):
        seconds, share, model = seconds_per_iteration(
            data, inits, args.iterations, args.type, limit
        )
        diff = abs(model.lower_bound_ - reference.lower_bound_)
        print(
            f"| {name} | {seconds:.3f} | {base / seconds:.2f}x | {diff:.1e} | "
            f"{100 * share:.0f}% |",
            flush=True,
        )

    report("dask array, threaded scheduler", lazy)
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster),
    ):
        persisted = lazy.persist()
        # the workers are other processes: their CPU time shows in the share
        report(
            f"dask.distributed LocalCluster, {args.workers} workers x 1 thread "
            "(share includes the workers)",
            persisted,
            limit=1.0,
        )


if __name__ == "__main__":
    main()
