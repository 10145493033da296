"""Time mclust's 14 x 9 model grid: mixtura's ``select`` against R's ``mclustBIC``.

Both run in this process's session on the same data: mixtura in Python, mclust
through ``Rscript`` on a CSV of the same rows (R's start-up and the CSV read are
timed separately and left out of mclust's figure). mixtura runs ``select``
with its defaults for a grid of mclust's models (``--config defaults``): every
cell from its hierarchical initialisation, which reproduces mclust's (one
hierarchy for the whole grid; both cluster a random subset of 2000 rows when
n > 2000, each its own subset), EM to mclust's rule (a relative change of 1e-5
of the total log-likelihood, ``tol_mode='relative'``), the cells on every core
(``n_jobs=None``; mclust runs on one). ``--config serial`` is the same in one
process (``n_jobs=1``); ``--config search`` adds k-means starts and refits from
split partitions.

Run (unset the OpenBLAS overrides that this machine may set; they slow NumPy)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_mclust.py --data faithful
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_mclust.py --data simulated --n 100000 --d 5
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from mixtura.datasets import load_faithful
from mixtura.families.mclust import MULTIVARIATE_MODELS
from mixtura.selection import select

_R_SCRIPT = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1]))
G <- seq_len(as.integer(args[2]))
start <- proc.time()[["elapsed"]]
bic <- mclustBIC(X, G = G, verbose = FALSE)
elapsed <- proc.time()[["elapsed"]] - start
table <- as.data.frame(unclass(bic)[, , drop = FALSE])
write.csv(table, args[3], row.names = FALSE, na = "NA")
cat(elapsed, "\n")
"""


def simulate(n, d, k=4, seed=0):
    """``n`` rows from ``k`` Gaussian clusters with random full covariances."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, d))
    factors = rng.normal(scale=0.6, size=(k, d, d))
    labels = rng.integers(k, size=n)
    noise = rng.standard_normal((n, d))
    return centres[labels] + np.einsum("nij,nj->ni", factors[labels], noise)


def run_mclust(X, max_k, folder):
    """mclustBIC on ``X`` via Rscript: (seconds inside R, BIC table as dict)."""
    data = Path(folder) / "data.csv"
    out = Path(folder) / "bic.csv"
    script = Path(folder) / "bench.R"
    script.write_text(_R_SCRIPT)
    header = ",".join(f"x{j}" for j in range(X.shape[1]))
    np.savetxt(data, X, delimiter=",", header=header, comments="")
    result = subprocess.run(
        ["Rscript", str(script), str(data), str(max_k), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = float(result.stdout.split()[-1])
    rows = np.genfromtxt(out, delimiter=",", names=True)
    table = {
        (model, k + 1): float(rows[model][k])
        for model in rows.dtype.names
        for k in range(max_k)
    }
    return seconds, table


#: select's settings per ``--config``: its defaults for a grid of mclust's
#: models (one start per cell from mclust's hierarchy, tol 1e-6), and the wider
#: search (k-means starts and refits from split partitions as well)
CONFIGS = {
    "defaults": {},
    "serial": {"n_jobs": 1},
    "search": {"init_params": ["hc", "kmeans"], "refit_from_splits": True},
}


def run_mixtura(X, max_k, config="defaults"):
    """select over the 14 models and K = 1..max_k: (seconds, table)."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = select(
            X, range(1, max_k + 1), "mclust", "mclust_bic", **CONFIGS[config]
        )
    return time.perf_counter() - start, table


def compare(table, reference):
    """Max |difference|, and how many cells are higher / lower by > 0.5."""
    differences = [
        table.value("mclust_bic", model, k) - value
        for (model, k), value in reference.items()
        if not (math.isnan(value) or math.isnan(table.value("mclust_bic", model, k)))
    ]
    differences = np.array(differences)
    return (
        float(np.max(np.abs(differences))),
        int(np.sum(differences > 0.5)),
        int(np.sum(differences < -0.5)),
        len(differences),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["faithful", "simulated"], default="faithful")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=5)
    parser.add_argument("--max-k", type=int, default=9)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="defaults")
    args = parser.parse_args()
    X = (
        np.asarray(load_faithful(), dtype=np.float64)
        if args.data == "faithful"
        else simulate(args.n, args.d)
    )
    print(
        f"data: {args.data}, n={X.shape[0]}, d={X.shape[1]}, "
        f"{len(MULTIVARIATE_MODELS)} models x K = 1..{args.max_k}, "
        f"select settings: {args.config} {CONFIGS[args.config]}"
    )
    seconds, table = run_mixtura(X, args.max_k, args.config)
    print(
        f"mixtura select: {seconds:.2f} s; best {table.best()}; "
        f"missing cells {len(table.missing())}"
    )
    if shutil.which("Rscript") is None:
        print("Rscript not found: mixtura timed alone")
        return
    with tempfile.TemporaryDirectory() as folder:
        r_seconds, reference = run_mclust(X, args.max_k, folder)
    print(f"mclust mclustBIC: {r_seconds:.2f} s (inside R)")
    print(f"ratio mixtura / mclust: {seconds / r_seconds:.2f}")
    worst, higher, lower, compared = compare(table, reference)
    print(
        f"cells compared {compared}: max |BIC diff| {worst:.3f}, "
        f"{higher} higher and {lower} lower than mclust by more than 0.5"
    )


if __name__ == "__main__":
    main()
