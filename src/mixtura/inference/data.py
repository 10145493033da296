"""The data seam: how the fit loop sees data, and ``accumulate`` over it.

The loop never touches arrays directly. It calls ``accumulate(mixture, data)``, which
returns the E-step's sufficient statistics and the mean per-sample log-likelihood.
In-memory arrays are processed in row chunks, so temporaries stay bounded by the
chunk size and the cache stays warm; Dask arrays (``dask_data.py``) and chunk
streams (``stream_data.py``) add their own data types and ``accumulate``
implementations (``functools.singledispatch``). The user's data becomes one of
these objects in one place, ``sources.py``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse

from mixtura.backend import get_namespace, to_numpy

__all__ = ["ArrayData", "accumulate", "default_chunk_size", "predict_labels"]

# Working-set budget of one chunk's temporaries, in bytes: each thread keeps its
# chunk's temporaries (and reuses them, see families/gaussian_fused.py), so this
# bounds the memory a fit needs beyond the data. Each chunk also costs a fixed
# ~0.5 ms of Python (more while threads contend for the interpreter), so chunks
# should be as large as the budget allows: measured with benchmarks/
# bench_gaussian.py at n=1e6, d=16, K=16, 2 threads, full: 0.60 s/iter with
# 5.5k-row chunks, 0.47 s with 16k; diag: 0.22 s with 5.5k, 0.16 s with 22k.
# 8 MiB keeps the two threads' temporaries under 15% of that data's size.
CHUNK_BYTES = 8 * 2**20
# ... but at least MIN_ROWS rows when that fits MAX_CHUNK_BYTES: the products of
# thin chunks run far below the BLAS's peak.
MIN_ROWS = 1024
MAX_CHUNK_BYTES = 32 * 2**20
# Chunks are handed to threads in runs of this many, and a family may add up a
# cheap form of their statistics over the run before assembling them once
# (Family.fused_group_statistics): per-chunk Python work held the interpreter
# lock long enough to cost a tenth of two threads' speed at d=64.
CHUNKS_PER_GROUP = 8
MIN_GROUPS = 8


def default_chunk_size(
    n_components, n_features, itemsize, budget=CHUNK_BYTES, row_values=None
):
    """Rows per chunk for temporaries of about ``budget`` bytes.

    Parameters
    ----------
    n_components : int
    n_features : int
        Values per row of the data.
    itemsize : int
        Bytes per value.
    budget : int, default=CHUNK_BYTES
    row_values : int, default=None
        Temporary values per row (:meth:`Family.chunk_row_values
        <mixtura.families.base.Family.chunk_row_values>`); None: a row's K log
        densities and responsibilities and its (K, d) whitened coordinates.

    Returns
    -------
    rows : int
    """
    if row_values is None:
        row_values = n_components * (n_features + 2)
    per_row = max(1, row_values * itemsize)
    floor = min(MIN_ROWS, MAX_CHUNK_BYTES // per_row)
    return int(max(256, budget // per_row, floor))


def _row_width(X):
    """Values a row holds: its features, or its mean stored entries when sparse.

    A sparse family's per-chunk work scales with the stored entries, not with
    the number of features, so sparse chunks hold correspondingly more rows.
    """
    if scipy.sparse.issparse(X):
        return max(1, -(-X.nnz // max(1, X.shape[0])))
    return X.shape[1]


@dataclass(frozen=True)
class ArrayData:
    """An in-memory data set: rows of ``X``, optional sample weights, chunking.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    sample_weight : array of shape (n_samples,) or None
    chunk_size : int or None
        Rows per chunk; None picks one from the number of components and features.
    """

    X: object
    sample_weight: object = None
    chunk_size: int | None = None
    # summed base measures by family (Family.base_measure_key): data-only terms
    # that every EM iteration would otherwise recompute
    _base_measures: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def total_weight(self):
        """Sum of the sample weights (the number of rows when unweighted)."""
        if self.sample_weight is None:
            return float(self.n_samples)
        return float(
            to_numpy(get_namespace(self.sample_weight).sum(self.sample_weight))
        )

    def total_log_base_measure(self, family):
        """``sum_i w_i log h(x_i)`` of the family's base measure, computed once.

        Parameters
        ----------
        family : Family

        Returns
        -------
        total : float or None
            None when the family has no base measure to set apart
            (:meth:`~mixtura.families.base.Family.log_base_measure`).
        """
        key = family.base_measure_key()
        if key not in self._base_measures:
            total = None
            for X, weights in self.chunks(family.n_components):
                base = family.log_base_measure(X)
                if base is None:
                    break
                base = to_numpy(base).astype(np.float64, copy=False)
                if weights is not None:
                    base = base * to_numpy(weights).astype(np.float64, copy=False)
                total = float(base.sum()) + (total or 0.0)
            self._base_measures[key] = total
        return self._base_measures[key]

    def chunks(self, n_components, family=None):
        """Yield ``(X_chunk, weight_chunk)`` pairs covering the rows in order.

        Parameters
        ----------
        n_components : int
        family : Family, default=None
            Sizes the chunks by its per-row temporaries
            (:meth:`~mixtura.families.base.Family.chunk_row_values`).
        """
        width = _row_width(self.X)
        row_values = (
            None if family is None else family.chunk_row_values(width, n_components)
        )
        size = self.chunk_size or default_chunk_size(
            n_components, width, self.X.dtype.itemsize, row_values=row_values
        )
        for start in range(0, self.n_samples, size):
            stop = start + size
            weights = (
                None if self.sample_weight is None else self.sample_weight[start:stop]
            )
            yield self.X[start:stop], weights


@functools.singledispatch
def accumulate(data, mixture):
    """E-step over ``data``: statistics and mean per-sample log-likelihood.

    Parameters
    ----------
    data : ArrayData
        The data (other data types register their own implementation).
    mixture : Mixture
        The current model.

    Returns
    -------
    stats : Stats
        Sum of the chunks' statistics.
    mean_log_likelihood : float
        ``sum_i w_i log p(x_i) / sum_i w_i``.
    """
    raise TypeError(f"no accumulate implementation for {type(data).__name__}")


@functools.cache
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS (made once: it scans libraries)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_SINGLE_THREAD_LOCK = threading.Lock()
_single_thread_users = 0
_single_thread_limiter = None


@contextlib.contextmanager
def single_threaded_blas():
    """The BLAS limited to one thread while any caller is inside this block.

    threadpoolctl's limit is process-wide and restores what it found on exit,
    so overlapping limits from several threads (Dask's threaded scheduler runs
    blocks side by side) could restore each other's 1 and leave the process
    with a one-thread BLAS. Here the first caller in sets the limit and the
    last one out restores the original.
    """
    global _single_thread_users, _single_thread_limiter
    with _SINGLE_THREAD_LOCK:
        if _single_thread_users == 0:
            _single_thread_limiter = _blas_controller().limit(limits=1, user_api="blas")
        _single_thread_users += 1
    try:
        yield
    finally:
        with _SINGLE_THREAD_LOCK:
            _single_thread_users -= 1
            if _single_thread_users == 0:
                _single_thread_limiter.restore_original_limits()
                _single_thread_limiter = None


def _worker_count(n_groups):
    """Threads for processing groups of chunks side by side: the BLAS's threads.

    Each chunk's products are small, so BLAS threads inside one product gain
    little; running whole chunks on separate threads (each with one BLAS thread)
    keeps every core busy. Limiting the BLAS (threadpoolctl, OMP_NUM_THREADS)
    limits this too.
    """
    if n_groups < 2:
        return 1
    blas = _blas_controller().select(user_api="blas").info()
    threads = min((info["num_threads"] for info in blas), default=1)
    return max(1, min(threads, n_groups, 8))


def _chunk_groups(data, mixture):
    """The chunks in runs of up to :data:`CHUNKS_PER_GROUP`, in row order.

    Shorter runs when there are few chunks, so that threads still share the
    work: at least ``MIN_GROUPS`` groups (or one per chunk). The grouping
    depends on the data's shape only.
    """
    chunks = list(data.chunks(mixture.n_components, mixture.family))
    size = max(1, min(CHUNKS_PER_GROUP, len(chunks) // MIN_GROUPS))
    return [chunks[start : start + size] for start in range(0, len(chunks), size)]


def _group_results(data, mixture, threads=True, base_measure=True):
    """Each group of chunks' (statistics, log-likelihood), yielded in row order.

    A generator, so that the caller sums the results as they come and at most
    a few groups' statistics are alive at once. The groups do not depend on the
    number of threads, so neither does the sum.
    """
    groups = _chunk_groups(data, mixture)
    dense = isinstance(data.X, np.ndarray)
    workers = _worker_count(len(groups)) if dense and threads else 1
    if workers == 1:
        for group in groups:
            yield mixture.group_statistics(group, base_measure)
        return
    with single_threaded_blas(), ThreadPoolExecutor(workers) as pool:
        yield from pool.map(
            lambda group: mixture.group_statistics(group, base_measure), groups
        )


def e_step_totals(data: ArrayData, mixture, threads=True):
    """Summed statistics and log-likelihood of in-memory data, chunk by chunk.

    Parameters
    ----------
    data : ArrayData
    mixture : Mixture
    threads : bool, default=True
        Run groups of chunks on the BLAS's threads (False where the caller
        already runs in parallel, e.g. inside a Dask task).

    Returns
    -------
    stats : Stats
    log_likelihood : float
        ``sum_i w_i log p(x_i)``.
    """
    # the data-only part of the log-likelihood is the same in every iteration
    base = data.total_log_base_measure(mixture.family)
    # summed in row order whatever the threads did, so results are reproducible
    total_stats = None
    total_log_likelihood = 0.0
    for stats, log_likelihood in _group_results(
        data, mixture, threads, base_measure=base is None
    ):
        total_log_likelihood += log_likelihood
        total_stats = stats if total_stats is None else total_stats + stats
    return total_stats, total_log_likelihood + (base or 0.0)


@accumulate.register
def _accumulate_array(data: ArrayData, mixture):
    stats, log_likelihood = e_step_totals(data, mixture)
    return stats, log_likelihood / data.total_weight


def predict_log_resp(data: ArrayData, mixture):
    """Log responsibilities and log densities of every row, chunk by chunk.

    Returns
    -------
    log_resp : ndarray of shape (n_samples, n_components)
    log_density : ndarray of shape (n_samples,)
    """
    log_resps, log_densities = [], []
    for X, _ in data.chunks(mixture.n_components):
        log_resp, log_density = mixture.log_responsibilities(X)
        log_resps.append(to_numpy(log_resp))
        log_densities.append(to_numpy(log_density))
    return np.concatenate(log_resps), np.concatenate(log_densities)


def predict_labels(data: ArrayData, mixture):
    """Most probable component of every row, chunk by chunk.

    Only the labels are kept, never the (n_samples, n_components) posterior.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
    """
    labels = np.empty(data.n_samples, dtype=np.intp)
    start = 0
    for X, _ in data.chunks(mixture.n_components):
        joint = to_numpy(mixture.joint_log_prob(X))
        labels[start : start + joint.shape[0]] = joint.argmax(axis=1)
        start += joint.shape[0]
    return labels


def chunked_statistics(data: ArrayData, family, resp):
    """A family's statistics for given responsibilities, chunk by chunk.

    Parameters
    ----------
    data : ArrayData
    family : Family
        May be a template (no parameters).
    resp : ndarray of shape (n_samples, n_components)

    Returns
    -------
    stats : Stats
    """
    total, start = None, 0
    for X, weights in data.chunks(resp.shape[1]):
        stop = start + X.shape[0]
        stats = family.statistics(X, resp[start:stop], weights)
        total = stats if total is None else total + stats
        start = stop
    return total
