"""Initial responsibilities: k-means, k-means++, random, random rows, given labels.

Each method returns responsibilities of shape (n_samples, n_components); a family
template turns them into initial parameters through its ordinary statistics and
M-step, so every family gets every method. Hard assignments (k-means, seed rows,
given labels) come as :class:`OneHotResponsibilities`, which hold one small
integer per row and build the one-hot rows chunk by chunk: a dense ``(n, K)``
array would be the largest allocation of a fit on millions of rows. The random
draws consume ``random_state`` exactly as scikit-learn's mixtures do, so equal
seeds give equal initialisations (for ``'kmeans'`` up to
:data:`KMEANS_SAMPLE_ROWS` rows; larger data are clustered on a random sample of
that size).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading

import numpy as np
import scipy.sparse
from sklearn.cluster import KMeans, kmeans_plusplus

from mixtura.exceptions import DataValidationError
from mixtura.inference import kmeans as lean_kmeans

__all__ = [
    "INIT_METHODS",
    "OneHotResponsibilities",
    "initial_responsibilities",
    "kmeans_labels",
    "responsibilities_from_labels",
    "shared_kmeans",
]


#: k-means for initialisation runs on a random sample of this many rows when the
#: data have more, then labels every row by its nearest centre: a start needs
#: the clusters' rough positions, which a sample this large gives, and Lloyd's
#: iterations over millions of rows would cost more than the EM that follows
KMEANS_SAMPLE_ROWS = 100_000


#: Dense float64 data up to this many rows are clustered by
#: :mod:`mixtura.inference.kmeans` (scikit-learn's k-means to the bit, without
#: its per-call validation, copies and OpenMP start-up, which cost more than
#: the arithmetic there); larger data by scikit-learn's ``KMeans``, whose
#: threaded Lloyd iterations are faster from a few thousand rows on. Measured
#: in ``benchmarks/RESULTS.md`` (issue 15).
LEAN_KMEANS_MAX_ROWS = 4096


_SHARED = threading.local()


@contextlib.contextmanager
def shared_kmeans():
    """Within the block, each distinct k-means start is computed once.

    A start is the same when the data, the sample weights, K and the random
    generator's state are: the labels and the generator's state after the
    first run are kept, and a repeat returns the labels and advances the
    generator exactly as the run did, so every fit still equals a direct fit
    with its seed. :func:`mixtura.select` fits each K under several covariance
    structures from the same seed, and would otherwise repeat each k-means once
    per structure. Per thread; blocks nest.
    """
    previous = getattr(_SHARED, "starts", None)
    _SHARED.starts = {} if previous is None else previous
    try:
        yield
    finally:
        _SHARED.starts = previous


def _start_key(X, n_components, random_state, sample_weight):
    """What decides a k-means start: data, weights, K and the generator state."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (X, sample_weight):
        if array is not None:
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
    name, keys, position, has_gauss, cached = random_state.get_state()
    digest.update(np.ascontiguousarray(keys).tobytes())
    digest.update(f"{name}{position}{has_gauss}{cached!r}{n_components}".encode())
    return digest.hexdigest()


def _kmeans(X, n_components, random_state, sample_weight):
    starts = getattr(_SHARED, "starts", None)
    if starts is None or scipy.sparse.issparse(X):
        return _kmeans_start(X, n_components, random_state, sample_weight)
    key = _start_key(X, n_components, random_state, sample_weight)
    if key not in starts:
        resp = _kmeans_start(X, n_components, random_state, sample_weight)
        starts[key] = (resp, random_state.get_state())
    resp, state_after = starts[key]
    random_state.set_state(state_after)
    return resp


def _kmeans_start(X, n_components, random_state, sample_weight):
    labels = kmeans_labels(X, n_components, random_state, sample_weight)
    return responsibilities_from_labels(labels, n_components, X.dtype)


def kmeans_labels(X, n_clusters, random_state, sample_weight=None):
    """scikit-learn's ``KMeans(n_clusters, n_init=1).fit(X).labels_``, quickly.

    Small dense float64 data (up to :data:`LEAN_KMEANS_MAX_ROWS` rows) go to
    :func:`mixtura.inference.kmeans.kmeans_labels`, which gives the same labels
    and draws; the rest to scikit-learn, on a random sample of
    :data:`KMEANS_SAMPLE_ROWS` rows beyond that many (every row then labelled
    by its nearest centre).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Dense or sparse rows.
    n_clusters : int
    random_state : numpy.random.RandomState
        Advanced in place, as scikit-learn advances it.
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    labels : ndarray of shape (n_samples,)
    """
    if X.shape[0] <= LEAN_KMEANS_MAX_ROWS and lean_kmeans.serves(X):
        return lean_kmeans.kmeans_labels(X, n_clusters, random_state, sample_weight)
    # k-means never centres (so never changes) sparse data: no need for its copy
    model = KMeans(
        n_clusters=n_clusters,
        n_init=1,
        random_state=random_state,
        copy_x=not scipy.sparse.issparse(X),
    )
    if X.shape[0] <= KMEANS_SAMPLE_ROWS:
        return model.fit(X, sample_weight=sample_weight).labels_
    rows = np.sort(
        random_state.choice(X.shape[0], size=KMEANS_SAMPLE_ROWS, replace=False)
    )
    weights = None if sample_weight is None else sample_weight[rows]
    return model.fit(X[rows], sample_weight=weights).predict(X)


def _kmeans_plusplus(X, n_components, random_state, sample_weight):
    _, indices = kmeans_plusplus(
        X, n_components, random_state=random_state, sample_weight=sample_weight
    )
    return _one_hot_rows(X, indices, n_components)


def _random(X, n_components, random_state, sample_weight):
    resp = random_state.uniform(size=(X.shape[0], n_components)).astype(X.dtype)
    return resp / resp.sum(axis=1, keepdims=True)


def _random_from_data(X, n_components, random_state, sample_weight):
    indices = random_state.choice(X.shape[0], size=n_components, replace=False)
    return _one_hot_rows(X, indices, n_components)


def _one_hot_rows(X, indices, n_components):
    """Responsibilities that give row ``indices[k]`` wholly to component k."""
    labels = np.full(X.shape[0], -1, dtype=_label_dtype(n_components))
    labels[indices] = np.arange(n_components)
    return OneHotResponsibilities(labels, n_components, X.dtype)


def _label_dtype(n_components):
    return np.int16 if n_components < np.iinfo(np.int16).max else np.int64


class OneHotResponsibilities:
    """Hard responsibilities held as labels, made dense one slice of rows at a time.

    Behaves as the ``(n_samples, n_components)`` array whose row i is the
    indicator of ``labels[i]`` (all zeros where the label is -1): slicing rows
    gives that dense block, and ``np.asarray`` the whole array.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Integers in ``[-1, n_components)``; -1 gives a row to no component.
    n_components : int
    dtype : dtype
        The dtype of the dense blocks.
    """

    ndim = 2

    def __init__(self, labels, n_components, dtype=np.float64):
        self.labels = labels
        self.dtype = np.dtype(dtype)
        self.shape = (labels.shape[0], n_components)

    def __len__(self):
        return self.shape[0]

    def _dense(self, labels):
        resp = np.zeros((labels.shape[0], self.shape[1]), dtype=self.dtype)
        assigned = np.flatnonzero(labels >= 0)
        resp[assigned, labels[assigned]] = 1
        return resp

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._dense(self.labels[key])
        return self._dense(self.labels)[key]

    def __array__(self, dtype=None, copy=None):
        dense = self._dense(self.labels)
        return dense if dtype is None else dense.astype(dtype, copy=False)


#: name -> function(X, n_components, random_state, sample_weight) -> resp
INIT_METHODS = {
    "kmeans": _kmeans,
    "k-means++": _kmeans_plusplus,
    "random": _random,
    "random_from_data": _random_from_data,
}


def responsibilities_from_labels(labels, n_components, dtype=np.float64):
    """One-hot responsibilities from integer labels in ``[0, n_components)``.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
    n_components : int
    dtype : dtype

    Returns
    -------
    resp : OneHotResponsibilities of shape (n_samples, n_components)
        Array-like (``np.asarray`` gives the dense array).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataValidationError(
            "initial labels must be a 1-D array of integers in "
            f"[0, {n_components}); got dtype {labels.dtype} and shape {labels.shape}."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_components):
        raise DataValidationError(
            f"initial labels must lie in [0, {n_components}); got values from "
            f"{labels.min()} to {labels.max()}."
        )
    return OneHotResponsibilities(
        labels.astype(_label_dtype(n_components), copy=False), n_components, dtype
    )


def initial_responsibilities(
    X, n_components, method, random_state, sample_weight=None, *, dense=True
):
    """Responsibilities to start EM from.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    method : str or array-like of shape (n_samples,)
        A name in :data:`INIT_METHODS`, or integer labels of the rows.
    random_state : RandomState
    sample_weight : ndarray of shape (n_samples,) or None
    dense : bool, default=True
        False lets hard assignments come as :class:`OneHotResponsibilities`
        (for consumers that slice rows chunk by chunk, as the estimators do).

    Returns
    -------
    resp : ndarray or OneHotResponsibilities of shape (n_samples, n_components)
        Row slices (``resp[start:stop]``) are dense arrays either way.
    """
    if not isinstance(method, str):
        labels = np.asarray(method)
        if labels.shape != (X.shape[0],):
            raise DataValidationError(
                f"init_params given as labels must have one label per row: "
                f"shape ({X.shape[0]},); got {labels.shape}."
            )
        resp = responsibilities_from_labels(labels, n_components, X.dtype)
    else:
        resp = INIT_METHODS[method](X, n_components, random_state, sample_weight)
    return np.asarray(resp) if dense else resp
