"""Lean k-means for small dense data: k-means++ seeding, then Lloyd's iterations.

The EM initialisation clusters small data sets many times (every K, every seed,
every covariance structure), and at a few hundred rows scikit-learn's
``KMeans(n_init=1).fit`` spends most of its time in validation, copies and
per-call set-up rather than in the arithmetic. This module redoes only the
arithmetic, for dense float64 arrays, and reproduces scikit-learn 1.9.1 to the
bit: the same labels, and the same draws from the ``numpy.random.RandomState``
(its state after a call equals the state after ``KMeans.fit``), so swapping one
for the other changes no fit.

Bitwise agreement needs every floating-point operation in scikit-learn's order:

* the seeding (Arthur and Vassilvitskii, 2007) forms squared distances as
  ``-2 a.x + ||a||^2 + ||x||^2`` with NumPy's matrix product, as
  ``sklearn.metrics.pairwise._euclidean_distances`` does;
* the assignment step (Lloyd, 1982) scores ``||c||^2 - 2 x.c`` with one BLAS
  ``dgemm`` (``alpha=-2, beta=1``) per block of 256 rows, called through SciPy's
  BLAS, the library scikit-learn's Cython code calls (NumPy may ship another
  OpenBLAS build);
* the centre sums are accumulated row by row within each OpenMP thread's
  contiguous run of blocks and the threads' partial sums are then added, as
  ``sklearn/cluster/_k_means_lloyd.pyx`` does; the number of threads is
  scikit-learn's own choice (``_openmp_effective_n_threads``);
* empty clusters are relocated, centres averaged and shifts measured as in
  ``sklearn/cluster/_k_means_common.pyx``.

Limits of the agreement: with three or more OpenMP threads scikit-learn adds the
threads' partial sums in whatever order they take a lock, so scikit-learn itself
is not reproducible to the last bit there; this module adds them in thread order.
Where scikit-learn's compiled code fuses multiplies and adds (targets with FMA in
the baseline, such as aarch64) centre sums with non-unit weights may differ in
the last bit. Either changes labels only for points equidistant from two centres
to rounding.

References
----------
Arthur, D. and Vassilvitskii, S. (2007). k-means++: the advantages of careful
seeding. Proceedings of the 18th ACM-SIAM Symposium on Discrete Algorithms,
1027-1035.

Lloyd, S. P. (1982). Least squares quantization in PCM. IEEE Transactions on
Information Theory 28(2), 129-137.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
from scipy.linalg.blas import dgemm

try:  # scikit-learn's choice of OpenMP threads decides how its sums are split
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
except ImportError:  # pragma: no cover - a future scikit-learn moved it

    def _openmp_effective_n_threads():
        return 1


__all__ = ["KMeansResult", "kmeans", "kmeans_labels", "serves"]

#: rows per block of the assignment step (scikit-learn's ``CHUNK_SIZE``): the
#: blocks fix both the BLAS calls and how the centre sums split over threads
CHUNK_ROWS = 256


class KMeansResult(NamedTuple):
    """Outcome of :func:`kmeans` (a named tuple of these fields).

    Parameters
    ----------
    labels : ndarray of shape (n_samples,), dtype int32
        Index of each row's cluster.
    centres : ndarray of shape (n_clusters, n_features)
        Cluster centres in the coordinates of the data.
    n_iter : int
        Lloyd iterations run.
    """

    labels: np.ndarray
    centres: np.ndarray
    n_iter: int


def serves(X):
    """Whether :func:`kmeans` handles ``X`` (else the caller uses scikit-learn).

    Parameters
    ----------
    X : object
        Candidate data.

    Returns
    -------
    bool
        True for a dense two-dimensional float64 ``numpy.ndarray``.
    """
    # exact type: np.matrix and other subclasses change what indexing returns
    return type(X) is np.ndarray and X.ndim == 2 and X.dtype == np.float64


def kmeans_labels(
    X, n_clusters, random_state, sample_weight=None, max_iter=300, tol=1e-4
):
    """Labels of k-means on ``X``, as scikit-learn's ``KMeans(n_init=1)`` gives.

    Equal to ``KMeans(n_clusters, n_init=1, random_state=random_state,
    max_iter=max_iter, tol=tol).fit(X, sample_weight=sample_weight).labels_``,
    and consumes ``random_state`` exactly as that call does.

    Parameters
    ----------
    X, n_clusters, random_state, sample_weight, max_iter, tol
        As for :func:`kmeans`.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int32
        Index of each row's cluster.
    """
    return kmeans(X, n_clusters, random_state, sample_weight, max_iter, tol).labels


def kmeans(X, n_clusters, random_state, sample_weight=None, max_iter=300, tol=1e-4):
    """k-means++ seeding, then Lloyd's iterations, as scikit-learn's ``KMeans``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), dtype float64
        Data; not modified.
    n_clusters : int
        Number of clusters, at most ``n_samples``.
    random_state : numpy.random.RandomState
        Generator for the k-means++ seeding; advanced in place.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Non-negative weights, not all zero; None means ones.
    max_iter : int, default=300
        Largest number of Lloyd iterations.
    tol : float, default=1e-4
        Convergence tolerance relative to the mean per-feature variance.

    Returns
    -------
    KMeansResult
        ``labels`` (int32, shape (n_samples,)), ``centres`` (shape
        (n_clusters, n_features), in the data's coordinates) and ``n_iter``.

    Raises
    ------
    ValueError
        For data or weights this function does not handle, ``n_samples <
        n_clusters``, a non-positive ``max_iter`` or a negative ``tol``.
    TypeError
        If ``random_state`` is not a ``numpy.random.RandomState``.
    """
    X, weights = _checked(X, n_clusters, random_state, sample_weight, max_iter)
    absolute_tol = _absolute_tolerance(X, tol)
    # scikit-learn clusters the centred data (on its copy) for accuracy
    mean = X.mean(axis=0)
    centred = X - mean
    x_sq = np.einsum("ij,ij->i", centred, centred)  # sklearn's row_norms
    seeds = _kmeans_plusplus_centres(centred, n_clusters, x_sq, weights, random_state)
    labels, centres, n_iter = _lloyd(
        centred, weights, seeds, max_iter, absolute_tol, _openmp_effective_n_threads()
    )
    centres += mean
    return KMeansResult(labels, centres, n_iter)


def _checked(X, n_clusters, random_state, sample_weight, max_iter):
    """Validate the arguments; return C-ordered X and float64 weights.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    n_clusters : int
        Number of clusters.
    random_state : numpy.random.RandomState
        Generator.
    sample_weight : array-like of shape (n_samples,) or None
        Weights.
    max_iter : int
        Largest number of iterations.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous view or copy of the data (scikit-learn's variance and means
        are taken on C-ordered data, whose reductions run in that order).
    weights : ndarray of shape (n_samples,)
        C-contiguous float64 weights.
    """
    if not serves(X):
        raise ValueError("kmeans handles dense two-dimensional float64 ndarrays only")
    if not isinstance(random_state, np.random.RandomState):
        raise TypeError("random_state must be a numpy.random.RandomState")
    if not isinstance(n_clusters, numbers.Integral) or n_clusters < 1:
        raise ValueError(f"n_clusters must be a positive integer, got {n_clusters!r}")
    if not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    n_samples = X.shape[0]
    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}.")
    X = np.ascontiguousarray(X)
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity")
    if sample_weight is None:
        return X, np.ones(n_samples)
    weights = np.ascontiguousarray(sample_weight, dtype=np.float64)
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {weights.shape}, expected ({n_samples},)"
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return X, weights


def _absolute_tolerance(X, tol):
    """Tolerance on the summed squared centre shifts (sklearn's ``_tolerance``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data before centring (scikit-learn takes the variances there).
    tol : float
        Relative tolerance.

    Returns
    -------
    float
        ``tol`` times the mean per-feature variance, or 0 when ``tol`` is 0.
    """
    if not (isinstance(tol, numbers.Real) and 0 <= tol < np.inf):
        raise ValueError(f"tol must be a finite non-negative number, got {tol!r}")
    if tol == 0:
        return 0
    return np.mean(np.var(X, axis=0)) * tol


def _squared_distances(rows, X, x_sq):
    """Squared distances from some rows to every row of ``X``, clipped at 0.

    The order of operations is ``sklearn.metrics.pairwise._euclidean_distances``'s:
    the k-means++ draws compare cumulative sums of these values with uniforms,
    so a different rounding could pick another seed.

    Parameters
    ----------
    rows : ndarray of shape (n_rows, n_features)
        Points to measure from.
    X : ndarray of shape (n_samples, n_features)
        Data.
    x_sq : ndarray of shape (n_samples,)
        Squared norms of the rows of ``X``.

    Returns
    -------
    ndarray of shape (n_rows, n_samples)
        Squared Euclidean distances.
    """
    distances = -2 * (rows @ X.T)
    distances += np.einsum("ij,ij->i", rows, rows)[:, None]
    distances += x_sq.reshape(1, -1)
    np.maximum(distances, 0.0, out=distances)
    return distances


def _kmeans_plusplus_centres(X, n_clusters, x_sq, weights, random_state):
    """Greedy k-means++ seeds (Arthur and Vassilvitskii, 2007).

    The first seed is a row drawn with probability proportional to its weight;
    each later one is the best, by the weighted sum of squared distances to the
    nearest seed, of ``2 + int(log(n_clusters))`` rows drawn with probability
    proportional to weight times squared distance to the nearest seed so far
    (scikit-learn's greedy variant, with its draws and its order of operations).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Centred data.
    n_clusters : int
        Number of seeds.
    x_sq : ndarray of shape (n_samples,)
        Squared norms of the rows of ``X``.
    weights : ndarray of shape (n_samples,)
        Sample weights.
    random_state : numpy.random.RandomState
        Generator, advanced in place.

    Returns
    -------
    ndarray of shape (n_clusters, n_features)
        The seeds, C-ordered.
    """
    n_samples = X.shape[0]
    centres = np.empty((n_clusters, X.shape[1]))
    n_trials = 2 + int(np.log(n_clusters))
    first = random_state.choice(n_samples, p=weights / weights.sum())
    centres[0] = X[first]
    closest = _squared_distances(centres[0, np.newaxis], X, x_sq)  # shape (1, n)
    potential = closest @ weights  # shape (1,), as scikit-learn keeps it
    for c in range(1, n_clusters):
        targets = random_state.uniform(size=n_trials) * potential
        candidates = np.searchsorted(np.cumsum(weights * closest), targets)
        # rounding can put a target past the last cumulative sum (np.clip with
        # no lower bound, without its overhead)
        np.minimum(candidates, closest.size - 1, out=candidates)
        trial = _squared_distances(X[candidates], X, x_sq)
        np.minimum(closest, trial, out=trial)
        potentials = trial @ weights.reshape(-1, 1)
        best = np.argmin(potentials)
        potential = potentials[best]
        closest = trial[best]
        centres[c] = X[candidates[best]]
    return centres


class _Workspace(NamedTuple):
    """Buffers and views that every Lloyd iteration reuses.

    Attributes
    ----------
    scores : ndarray of shape (n_clusters, n_samples), Fortran-ordered
        Assignment scores; its column blocks are, in memory, the row-major
        ``(rows, n_clusters)`` buffers scikit-learn hands to BLAS.
    template : ndarray of shape (n_clusters, min(256, n_samples)), Fortran-ordered
        A block of centre norms, copied into each block of ``scores``.
    blocks : list of (ndarray, ndarray)
        Per block of up to 256 rows: the block of ``scores`` and the block of
        the data as a Fortran-ordered ``(n_features, rows)`` view.
    offsets : ndarray of shape (n_samples,), dtype intp
        Per row, ``n_clusters`` times its thread's index: adding the label
        gives the row's cluster among all threads' separate sets of bins.
    terms : ndarray of shape (n_samples * (n_features + 1),)
        Flattened rows of ``[x * w, w]``: the terms of the weighted coordinate
        sums and of the weight totals.
    n_threads : int
        Number of threads scikit-learn splits the sums over.
    """

    scores: np.ndarray
    template: np.ndarray
    blocks: list
    offsets: np.ndarray
    terms: np.ndarray
    n_threads: int


def _workspace(X, weights, n_clusters, n_threads):
    """Lay out the buffers of Lloyd's iterations as scikit-learn's threads work.

    scikit-learn scores blocks of 256 rows and gives each of ``min(n_threads,
    n_blocks)`` OpenMP threads a contiguous run of blocks (static schedule: the
    first ``n_blocks % n_threads`` threads get one block more); each thread sums
    its rows in order into its own buffer.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Centred data, C-ordered.
    weights : ndarray of shape (n_samples,)
        Sample weights.
    n_clusters : int
        Number of clusters.
    n_threads : int
        scikit-learn's number of OpenMP threads.

    Returns
    -------
    _Workspace
        The buffers.
    """
    n_samples, n_features = X.shape
    scores = np.empty((n_clusters, n_samples), order="F")
    starts = range(0, n_samples, CHUNK_ROWS)
    blocks = [(scores[:, s : s + CHUNK_ROWS], X[s : s + CHUNK_ROWS].T) for s in starts]
    n_threads = max(1, min(n_threads, len(blocks)))
    share, extra = divmod(len(blocks), n_threads)
    # thread of each row: its block's position in the static schedule
    blocks_per_thread = np.full(n_threads, share)
    blocks_per_thread[:extra] += 1
    thread_of_block = np.repeat(np.arange(n_threads), blocks_per_thread)
    offsets = np.repeat(thread_of_block * n_clusters, CHUNK_ROWS)[:n_samples]
    terms = np.empty((n_samples, n_features + 1))
    np.multiply(X, weights[:, None], out=terms[:, :n_features])  # x * w, as sklearn
    terms[:, n_features] = weights
    template = np.empty((n_clusters, min(CHUNK_ROWS, n_samples)), order="F")
    return _Workspace(scores, template, blocks, offsets, terms.ravel(), n_threads)


def _assign(centres, work):
    """Index of each row's nearest centre (the E-step of Lloyd's algorithm).

    Scores ``||c||^2 - 2 x.c`` (the row's own norm does not change the argmin)
    with one ``dgemm`` (``alpha=-2, beta=1``) per block, as scikit-learn does.

    Parameters
    ----------
    centres : ndarray of shape (n_clusters, n_features)
        Centres, C-ordered.
    work : _Workspace
        Buffers.

    Returns
    -------
    ndarray of shape (n_samples,), dtype intp
        Labels; ties go to the lowest index, as in scikit-learn.
    """
    # beta=1 adds the product to ||c||^2 already in the block: the template is
    # filled by broadcasting once, then copied (contiguously) into each block
    template = work.template
    template[...] = np.einsum("ij,ij->i", centres, centres)[:, None]
    centres_f = centres.T  # Fortran view: BLAS sees the (K, d) array it expects
    for block, rows in work.blocks:
        block[...] = template[:, : block.shape[1]]
        out = dgemm(-2.0, centres_f, rows, 1.0, block, 1, 0, 1)
        if out is not block:  # pragma: no cover - f2py copied instead of writing
            block[...] = out
    return work.scores.argmin(axis=0)


def _cluster_sums(labels, n_clusters, work):
    """Weighted coordinate sums and weight totals per cluster.

    One ``np.bincount`` (which adds in input order) sums each thread's rows in
    row order from zero into that thread's own bins; the threads' partial sums
    are then added in thread order, as scikit-learn's thread-local buffers are.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Cluster of each row.
    n_clusters : int
        Number of clusters.
    work : _Workspace
        Buffers.

    Returns
    -------
    sums : ndarray of shape (n_clusters, n_features)
        Weighted coordinate sums.
    totals : ndarray of shape (n_clusters,)
        Weight in each cluster.
    """
    width = work.terms.size // labels.size
    size = n_clusters * width
    # bin of (row, column): thread's block of bins, the cluster, the column
    bins = ((labels + work.offsets) * width)[:, None] + np.arange(width)
    parts = np.bincount(
        bins.ravel(), weights=work.terms, minlength=work.n_threads * size
    )
    combined = parts[:size]
    for t in range(1, work.n_threads):
        combined = combined + parts[t * size : (t + 1) * size]
    combined = combined.reshape(n_clusters, width)
    return combined[:, :-1], combined[:, -1]


def _relocate_empty_clusters(X, weights, centres, sums, totals, labels):
    """Give each weightless cluster the row farthest from its centre, in place.

    As scikit-learn's ``_relocate_empty_clusters_dense``: the ``n_empty`` rows
    farthest from their assigned (old) centres move, farthest first, to the empty
    clusters in index order; nothing moves when every row sits on its centre
    (more clusters than distinct rows).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Centred data.
    weights : ndarray of shape (n_samples,)
        Sample weights.
    centres : ndarray of shape (n_clusters, n_features)
        Centres the labels were assigned from.
    sums : ndarray of shape (n_clusters, n_features)
        Weighted coordinate sums; updated.
    totals : ndarray of shape (n_clusters,)
        Weight per cluster; updated.
    labels : ndarray of shape (n_samples,)
        Cluster of each row.
    """
    empty = np.flatnonzero(totals == 0)
    n_empty = empty.size
    if n_empty == 0:
        return
    distances = ((X - centres[labels]) ** 2).sum(axis=1)
    if np.max(distances) == 0:
        return
    farthest = np.argpartition(distances, -n_empty)[: -n_empty - 1 : -1]
    for new, row in zip(empty, farthest, strict=True):
        weight = weights[row]
        old = labels[row]
        moved = X[row] * weight
        sums[old] -= moved
        sums[new] = moved
        totals[new] = weight
        totals[old] -= weight


def _average_centres(sums, totals):
    """Centres from weighted sums (scikit-learn's ``_average_centers``).

    A cluster with weight is scaled by the reciprocal of its weight (a product,
    not a division, as scikit-learn rounds it). A weightless one takes the
    heaviest cluster's row as it stands when scikit-learn's loop reaches it:
    already averaged if the heaviest cluster comes earlier, still the raw
    weighted sum if it comes later.

    Parameters
    ----------
    sums : ndarray of shape (n_clusters, n_features)
        Weighted coordinate sums.
    totals : ndarray of shape (n_clusters,)
        Weight per cluster.

    Returns
    -------
    ndarray of shape (n_clusters, n_features)
        New centres, C-ordered.
    """
    positive = totals > 0
    if positive.all():
        return sums * (1.0 / totals)[:, None]
    centres = sums.copy()
    centres[positive] *= (1.0 / totals[positive])[:, None]
    heaviest = int(np.argmax(totals))
    for j in np.flatnonzero(~positive):
        centres[j] = centres[heaviest] if heaviest < j else sums[heaviest]
    return centres


def _total_shift(old, new):
    """Sum over centres of the squared shift, rounded as scikit-learn does.

    scikit-learn takes each centre's distance as the square root of a sum of
    squares accumulated four features at a time (its unrolled
    ``_euclidean_dense_dense``), then squares it again and sums over centres;
    the result is compared with the tolerance, so every rounding counts.

    Parameters
    ----------
    old, new : ndarray of shape (n_clusters, n_features)
        Centres before and after an iteration.

    Returns
    -------
    float
        Summed squared centre shifts.
    """
    squares = (new - old) * (new - old)
    d = squares.shape[1]
    total = np.zeros(squares.shape[0])
    quads = d // 4
    for q in range(quads):
        a = squares[:, 4 * q : 4 * q + 4]
        total += a[:, 0] + a[:, 1] + a[:, 2] + a[:, 3]
    for k in range(4 * quads, d):
        total += squares[:, k]
    return (np.sqrt(total) ** 2).sum()


def _lloyd(X, weights, centres, max_iter, tol, n_threads):
    """Lloyd's iterations (Lloyd, 1982) as scikit-learn's ``_kmeans_single_lloyd``.

    Stops when the labels repeat (strict convergence) or when the summed squared
    centre shifts are at most ``tol``; after the latter, or after ``max_iter``
    iterations, the rows are labelled once more from the final centres.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Centred data, C-ordered.
    weights : ndarray of shape (n_samples,)
        Sample weights.
    centres : ndarray of shape (n_clusters, n_features)
        Initial centres, C-ordered.
    max_iter : int
        Largest number of iterations, at least 1.
    tol : float
        Absolute tolerance on the summed squared centre shifts.
    n_threads : int
        scikit-learn's number of OpenMP threads.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int32
        Final labels.
    centres : ndarray of shape (n_clusters, n_features)
        Final centres (centred coordinates).
    n_iter : int
        Iterations run.
    """
    n_clusters = centres.shape[0]
    work = _workspace(X, weights, n_clusters, n_threads)
    previous = None
    strict = False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is returned
        labels = _assign(centres, work)
        sums, totals = _cluster_sums(labels, n_clusters, work)
        if not totals.all():
            sums, totals = sums.copy(), totals.copy()  # views of one buffer
            _relocate_empty_clusters(X, weights, centres, sums, totals, labels)
        updated = _average_centres(sums, totals)
        if previous is not None and (labels == previous).all():
            strict = True
            centres = updated
            break
        shift = _total_shift(centres, updated)
        centres = updated
        if shift <= tol:
            break
        previous = labels
    if not strict:  # the labels must match the centres returned
        labels = _assign(centres, work)
    return labels.astype(np.int32), centres, n_iter
