"""Mixtures of regressions: one EM iteration at scale, and whole fits against flexmix.

Two measurements, each in one run:

1. ``MixtureRegression`` with K Gaussian experts on n rows of p features: the
   seconds of one EM iteration as a fit runs it (the batched weighted least
   squares of the K experts from the last E-step's statistics, then one pass
   over every row: the E-step of the new parameters, which the line search
   accepts and the next iteration's M-step uses), and its arithmetic rate against the
   float64 matrix-multiply peak measured in the same run. The FLOPs counted
   are those of the K weighted Gram matrices of the rows ``[x, 1, y]``,
   ``2 n K (p + 2)^2`` (issue 16's count; the pair features compute each
   matrix's triangle only, half of that).
2. Whole fits of two-expert Gaussian mixtures of regressions against R's
   flexmix (``Rscript``; skipped when R or flexmix is absent) on the same
   simulated rows from the same initial partition: NPreg's size (200 rows)
   and n = 1e5. flexmix's time is measured inside R (``system.time`` around
   ``flexmix``), without R's start-up. Each side stops by its own rule
   (flexmix: relative change of the log-likelihood below 1e-6; mixtura: mean
   per-row change below ``1e-6 * |mean|``, the same criterion); iterations and
   log-likelihoods are printed beside the times.

Run (unset the OpenBLAS overrides this machine may set; they slow NumPy)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_regression.py --n 1000000 --p 20 --k 8
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
import warnings

import numpy as np

from _common import blas_info, matmul_peak_gflops, quiet_time
from mixtura import MixtureRegression
from mixtura.exceptions import ConvergenceWarning
from mixtura.inference.data import ArrayData, accumulate
from mixtura.inference.line_search import Evaluated, monotone_step


def simulate(n, p, k, seed=0):
    """Rows of ``k`` linear regressions of y on ``p`` standard normal features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    labels = rng.integers(k, size=n)
    slopes = rng.normal(scale=2.0, size=(k, p))
    intercepts = rng.normal(scale=3.0, size=k)
    y = (X * slopes[labels]).sum(axis=1) + intercepts[labels] + rng.normal(size=n)
    return X, y, labels


def iteration_rate(n, p, k, repeats):
    """Seconds of one EM iteration and its fraction of the matmul peak."""
    X, y, labels = simulate(n, p, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MixtureRegression(k, init_params=labels, max_iter=1, tol=0.0).fit(X, y)
    rows = model._rows(X, y)
    data = ArrayData(rows)
    # a fit's iteration starts from parameters whose E-step the previous one
    # made: the M-step, then one pass over the rows (the accepted E-step)
    start = Evaluated(model.mixture_, *accumulate(data, model.mixture_))

    def one_iteration():
        monotone_step(start, data)

    seconds, other_share, _ = quiet_time(one_iteration, attempts=repeats)
    peak = matmul_peak_gflops()
    gflops = 2 * n * k * (p + 2) ** 2 / seconds / 1e9
    return seconds, gflops, peak, other_share


_R_SCRIPT = r"""
suppressMessages(library(flexmix))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
cluster <- d$start + 1
d$start <- NULL
f <- as.formula(paste("y ~", paste(setdiff(names(d), "y"), collapse = " + ")))
elapsed <- system.time(
    fit <- flexmix(f, data = d, k = 2, cluster = cluster,
                   control = list(tolerance = 1e-6, iter.max = 1000))
)[["elapsed"]]
cat(jsonlite::toJSON(list(seconds = elapsed, iterations = fit@iter,
                          loglik = as.numeric(logLik(fit))), digits = NA,
                     auto_unbox = TRUE))
"""


def flexmix_fit(X, y, start):
    """flexmix's fit of the same rows from the same partition, or None."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        data_path = os.path.join(folder, "rows.csv")
        script_path = os.path.join(folder, "fit.R")
        columns = [f"x{j}" for j in range(X.shape[1])]
        table = np.column_stack([X, y, start])
        header = ",".join([*columns, "y", "start"])
        np.savetxt(
            data_path, table, delimiter=",", header=header, comments="", fmt="%.17g"
        )
        with open(script_path, "w") as handle:
            handle.write(_R_SCRIPT)
        run = subprocess.run(
            ["Rscript", script_path, data_path], capture_output=True, text=True
        )
        if run.returncode != 0:
            print("flexmix failed:", run.stderr.strip().splitlines()[-1:])
            return None
        return json.loads(run.stdout)


def mixtura_fit(X, y, start):
    """mixtura's fit from the same partition, stopping by flexmix's rule."""
    labels = start.astype(int)
    # flexmix stops at |L - L_old| / (|L| + 0.1) < 1e-6; on the mean per row,
    # that is a change below 1e-6 |mean| (take the start's mean, the rule's scale)
    probe = MixtureRegression(2, init_params=labels, max_iter=0).fit(X, y)
    tol = 1e-6 * abs(probe.lower_bound_)
    model = MixtureRegression(2, init_params=labels, tol=tol, max_iter=1000)
    began = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "iterations": model.n_iter_,
        "loglik": float(model.score_samples(X, y).sum()),
    }


def against_flexmix(n, seed=1):
    """Whole fits of two crossing lines with n rows, mixtura and flexmix."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 10, size=(n, 1))
    first = rng.random(n) < 0.5
    y = np.where(first, 5 * X[:, 0], 15 + 10 * X[:, 0] - X[:, 0] ** 2)
    y = y + rng.normal(scale=3.0, size=n)
    X = np.column_stack([X[:, 0], X[:, 0] ** 2])  # NPreg's yn ~ x + I(x^2)
    start = rng.integers(2, size=n)
    ours = min((mixtura_fit(X, y, start) for _ in range(3)), key=lambda r: r["seconds"])
    theirs = flexmix_fit(X, y, start)
    return ours, theirs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--p", type=int, default=20)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--flexmix-sizes", default="200,100000")
    args = parser.parse_args()
    print(blas_info())
    seconds, gflops, peak, other = iteration_rate(args.n, args.p, args.k, args.repeats)
    print(
        f"\nEM iteration, n={args.n} p={args.p} K={args.k} Gaussian experts: "
        f"{seconds:.3f} s, {gflops:.1f} GFLOP/s of the K Gram matrices, "
        f"matmul peak {peak:.1f} GFLOP/s: {gflops / peak:.0%} of peak "
        f"(other processes took {other:.0%} of the CPU meanwhile)"
    )
    print(
        "\nwhole fit, two experts, same start    mixtura            flexmix     ratio"
    )
    for size in (int(s) for s in args.flexmix_sizes.split(",") if s):
        ours, theirs = against_flexmix(size)
        line = (
            f"n={size:<8d} {ours['seconds']:8.3f} s ({ours['iterations']:3d} it, "
            f"logL {ours['loglik']:.4f})"
        )
        if theirs is None:
            print(line, "   flexmix not available")
            continue
        ratio = theirs["seconds"] / ours["seconds"]
        print(
            line,
            f"  {theirs['seconds']:8.3f} s ({theirs['iterations']:3d} it, "
            f"logL {theirs['loglik']:.4f})  {ratio:6.1f}x",
        )


if __name__ == "__main__":
    main()
