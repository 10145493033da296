"""Initial responsibilities: k-means, k-means++, random, random rows, given labels.

Each method returns responsibilities of shape (n_samples, n_components); a family
template turns them into initial parameters through its ordinary statistics and
M-step, so every family gets every method. The random draws consume
``random_state`` exactly as scikit-learn's mixtures do, so equal seeds give equal
initialisations (for ``'kmeans'`` up to :data:`KMEANS_SAMPLE_ROWS` rows; larger
data are clustered on a random sample of that size).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from sklearn.cluster import KMeans, kmeans_plusplus

from mixtura.exceptions import DataValidationError

__all__ = ["INIT_METHODS", "initial_responsibilities", "responsibilities_from_labels"]


#: k-means for initialisation runs on a random sample of this many rows when the
#: data have more, then labels every row by its nearest centre: a start needs
#: the clusters' rough positions, which a sample this large gives, and Lloyd's
#: iterations over millions of rows would cost more than the EM that follows
KMEANS_SAMPLE_ROWS = 100_000


def _kmeans(X, n_components, random_state, sample_weight):
    # k-means never centres (so never changes) sparse data: no need for its copy
    model = KMeans(
        n_clusters=n_components,
        n_init=1,
        random_state=random_state,
        copy_x=not scipy.sparse.issparse(X),
    )
    if X.shape[0] <= KMEANS_SAMPLE_ROWS:
        labels = model.fit(X, sample_weight=sample_weight).labels_
    else:
        rows = np.sort(
            random_state.choice(X.shape[0], size=KMEANS_SAMPLE_ROWS, replace=False)
        )
        weights = None if sample_weight is None else sample_weight[rows]
        labels = model.fit(X[rows], sample_weight=weights).predict(X)
    return responsibilities_from_labels(labels, n_components, X.dtype)


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
    resp = np.zeros((X.shape[0], n_components), dtype=X.dtype)
    resp[indices, np.arange(n_components)] = 1
    return resp


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
    resp : ndarray of shape (n_samples, n_components)
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
    resp = np.zeros((labels.shape[0], n_components), dtype=dtype)
    resp[np.arange(labels.shape[0]), labels] = 1
    return resp


def initial_responsibilities(X, n_components, method, random_state, sample_weight=None):
    """Responsibilities to start EM from.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    method : str or array-like of shape (n_samples,)
        A name in :data:`INIT_METHODS`, or integer labels of the rows.
    random_state : RandomState
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
    """
    if not isinstance(method, str):
        labels = np.asarray(method)
        if labels.shape != (X.shape[0],):
            raise DataValidationError(
                f"init_params given as labels must have one label per row: "
                f"shape ({X.shape[0]},); got {labels.shape}."
            )
        return responsibilities_from_labels(labels, n_components, X.dtype)
    return INIT_METHODS[method](X, n_components, random_state, sample_weight)
