"""Dask arrays behind the data seam: statistics per block, tree-summed.

Each EM iteration builds one task per row block (its E-step and statistics), sums
the blocks' statistics pairwise in a tree, and computes the total with a single
``dask.compute``; the parameters stay small in-memory arrays on the client (as
dask-ml's k-means does, Lloyd's steps with per-block partial sums). Works the same
with the local schedulers and with a ``dask.distributed`` cluster (the active
client is used). Dask is imported only when a Dask array is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixtura.inference.data import (
    ArrayData,
    accumulate,
    e_step_totals,
    single_threaded_blas,
)

__all__ = ["DaskData", "is_dask_array", "tree_sum"]


def is_dask_array(X):
    """Whether ``X`` is a dask array (without importing dask when it is not)."""
    return type(X).__module__.startswith("dask.") and hasattr(X, "to_delayed")


@dataclass(frozen=True)
class DaskData:
    """A data set held as a dask array, chunked along rows.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Rechunked here so that each block holds whole rows.
    sample_weight : dask.array.Array of shape (n_samples,) or None
    total_weight : float
        Sum of the weights (the number of rows when unweighted), computed once.
    """

    X: object
    sample_weight: object
    total_weight: float

    @classmethod
    def from_array(cls, X, sample_weight=None):
        """Wrap a dask array (and weights), one block per group of rows."""
        X = X.rechunk({1: -1})
        if sample_weight is not None:
            sample_weight = sample_weight.rechunk((X.chunks[0],))
            total = float(sample_weight.sum().compute())
        else:
            total = float(X.shape[0])
        return cls(X, sample_weight, total)

    @property
    def n_samples(self):
        """Number of rows."""
        return self.X.shape[0]

    def blocks(self):
        """Delayed (X_block, weight_block or None) pairs, in row order."""
        x_blocks = self.X.to_delayed().ravel()
        if self.sample_weight is None:
            return [(block, None) for block in x_blocks]
        return list(zip(x_blocks, self.sample_weight.to_delayed().ravel(), strict=True))


def _block_statistics(mixture, X, weights):
    """E-step and statistics of one in-memory block (runs on a worker).

    The block is processed in chunks, as in memory, so a worker's temporaries
    stay bounded by the chunk budget however large the block; no extra threads,
    since Dask already runs blocks side by side.
    """
    # no BLAS limit here: the client holds one around the threaded scheduler's
    # compute (OpenBLAS may ignore counts set from its worker threads), and
    # dask.distributed starts its worker processes with one BLAS thread
    return e_step_totals(ArrayData(np.asarray(X), weights), mixture, threads=False)


def _add_pairs(a, b):
    # an empty block (as filtering can leave) has no statistics: None
    if a[0] is None or b[0] is None:
        return (b[0] if a[0] is None else a[0]), a[1] + b[1]
    return a[0] + b[0], a[1] + b[1]


def tree_sum(parts, add):
    """Pairwise (tree) reduction of delayed values: depth log2(number of blocks)."""
    import dask

    add = dask.delayed(add, pure=True)
    while len(parts) > 1:
        pairs = [add(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        parts = pairs + ([parts[-1]] if len(parts) % 2 else [])
    return parts[0]


@accumulate.register
def _accumulate_dask(data: DaskData, mixture):
    import dask

    block = dask.delayed(_block_statistics, pure=True)
    mixture_node = dask.delayed(mixture)  # sent to the workers once per iteration
    parts = [block(mixture_node, X, w) for X, w in data.blocks()]
    # held for the whole compute: Dask's threaded scheduler runs the blocks in
    # this process, and toggling the BLAS's threads between blocks slowed them
    # 2-3x (measured with benchmarks/bench_dask.py)
    with single_threaded_blas():
        (stats, log_likelihood) = dask.compute(tree_sum(parts, _add_pairs))[0]
    return stats, log_likelihood / data.total_weight
