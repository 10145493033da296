"""Spherical k-means++ seeds and spherical k-means, for directional data.

Directions are compared by their cosine: the dissimilarity of rows ``x`` and
``c`` (scaled to unit length) is ``1 - x . c``, which is half their squared
Euclidean distance. Spherical k-means++ (Endo & Miyamoto 2015) draws the first
seed at random and each next one with probability proportional to a row's
dissimilarity from its nearest seed; spherical k-means (Dhillon & Modha 2001)
then alternates giving each row to its most similar centre and making each
centre the normalised sum of its rows. Both are initialisation methods of
:data:`mixtura.inference.INIT_METHODS` (``'spherical-k-means++'``, the seeds
alone as for ``'k-means++'``; ``'spherical-kmeans'``, every row labelled).
Data larger than :data:`~mixtura.inference.init.KMEANS_SAMPLE_ROWS` rows are
clustered on a random sample of that size, then every row is labelled by its
most similar centre.

References
----------
Dhillon, I. S. & Modha, D. S. (2001). Concept decompositions for large sparse
text data using clustering. Machine Learning 42, 143-175.
Endo, Y. & Miyamoto, S. (2015). Spherical k-means++ clustering. Modeling
Decisions for Artificial Intelligence (MDAI 2015), LNCS 9321, 103-114.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from mixtura.inference.init import (
    KMEANS_SAMPLE_ROWS,
    OneHotResponsibilities,
    responsibilities_from_labels,
)

__all__ = [
    "spherical_kmeans_labels",
    "spherical_kmeans_plusplus",
    "spherical_kmeans_plusplus_responsibilities",
    "spherical_kmeans_responsibilities",
]

#: Lloyd iterations of spherical k-means at most (it stops when no label moves)
SPHERICAL_KMEANS_MAX_ITER = 50
#: rows whose similarities to the centres are formed at a time when labelling
_LABEL_BLOCK_ROWS = 65_536


def _unit_rows(X):
    """Rows of ``X`` scaled to unit length, float64; rows of zero norm stay 0."""
    X = np.asarray(X, dtype=np.float64)
    norms = np.linalg.norm(X, axis=1)
    return X / np.where(norms > 0, norms, 1.0)[:, None]


def _row_weights(n_samples, sample_weight):
    if sample_weight is None:
        return np.ones(n_samples)
    return np.asarray(sample_weight, dtype=np.float64)


def _draw(potential, random_state):
    """A row drawn with probability proportional to ``potential`` (>= 0)."""
    cumulative = np.cumsum(potential)
    target = random_state.uniform() * cumulative[-1]
    return min(
        int(np.searchsorted(cumulative, target, side="right")), len(potential) - 1
    )


def _unchosen(weights, indices):
    """Weights with the chosen rows' set to 0 (all other rows 1 if none is left)."""
    potential = weights.copy()
    potential[indices] = 0.0
    if not potential.sum() > 0:
        potential = np.ones_like(weights)
        potential[indices] = 0.0
    return potential


def spherical_kmeans_plusplus(X, n_clusters, random_state, sample_weight=None):
    """Indices of ``n_clusters`` distinct seed rows by spherical k-means++.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Rows (scaled to unit length here; a row of zero norm is dissimilar by
        1 from every seed).
    n_clusters : int
        At most ``n_samples``.
    random_state : numpy.random.RandomState
        Advanced in place.
    sample_weight : ndarray of shape (n_samples,) or None
        A row's weight multiplies its chance of being drawn.

    Returns
    -------
    indices : ndarray of shape (n_clusters,)
    """
    unit = _unit_rows(X)
    weights = _row_weights(unit.shape[0], sample_weight)
    indices = [_draw(weights, random_state)]
    dissimilarity = np.maximum(1.0 - unit @ unit[indices[0]], 0.0)
    dissimilarity[indices[0]] = 0.0
    for _ in range(1, n_clusters):
        potential = weights * dissimilarity
        if not potential.sum() > 0:  # every row lies on a seed: any other row
            potential = _unchosen(weights, indices)
        index = _draw(potential, random_state)
        indices.append(index)
        dissimilarity = np.minimum(
            dissimilarity, np.maximum(1.0 - unit @ unit[index], 0.0)
        )
        dissimilarity[index] = 0.0
    return np.asarray(indices)


def _most_similar(unit, centres):
    """Label of each unit row: the centre of largest cosine, in row blocks."""
    labels = np.empty(unit.shape[0], dtype=np.intp)
    for start in range(0, unit.shape[0], _LABEL_BLOCK_ROWS):
        block = unit[start : start + _LABEL_BLOCK_ROWS]
        labels[start : start + block.shape[0]] = np.argmax(block @ centres.T, axis=1)
    return labels


def _lloyd(unit, weights, centres):
    """Spherical k-means iterations from ``centres``; the final centres."""
    labels = None
    for _ in range(SPHERICAL_KMEANS_MAX_ITER):
        updated = _most_similar(unit, centres)
        if labels is not None and np.array_equal(updated, labels):
            break
        labels = updated
        membership = scipy.sparse.csr_matrix(
            (weights, (labels, np.arange(unit.shape[0]))),
            shape=(centres.shape[0], unit.shape[0]),
        )
        sums = membership @ unit
        lengths = np.linalg.norm(sums, axis=1)
        kept = lengths > 0  # a centre that lost its rows stays where it was
        centres = centres.copy()
        centres[kept] = sums[kept] / lengths[kept, None]
    return centres


def spherical_kmeans_labels(X, n_clusters, random_state, sample_weight=None):
    """Labels of spherical k-means from spherical k-means++ seeds.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Rows (scaled to unit length here).
    n_clusters : int
    random_state : numpy.random.RandomState
        Advanced in place.
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    labels : ndarray of shape (n_samples,)
    """
    unit = _unit_rows(X)
    weights = _row_weights(unit.shape[0], sample_weight)
    rows = np.arange(unit.shape[0])
    if unit.shape[0] > KMEANS_SAMPLE_ROWS:
        rows = np.sort(
            random_state.choice(unit.shape[0], size=KMEANS_SAMPLE_ROWS, replace=False)
        )
    seeds = spherical_kmeans_plusplus(
        unit[rows], n_clusters, random_state, weights[rows]
    )
    centres = _lloyd(unit[rows], weights[rows], unit[rows[seeds]])
    return _most_similar(unit, centres)


def _label_dtype(n_components):
    return np.int16 if n_components < np.iinfo(np.int16).max else np.int64


def spherical_kmeans_plusplus_responsibilities(
    X, n_components, random_state, sample_weight=None
):
    """``init_params='spherical-k-means++'``: each seed row wholly to its component.

    The other rows get no responsibility, as with ``'k-means++'``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int
    random_state : numpy.random.RandomState
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    resp : OneHotResponsibilities of shape (n_samples, n_components)
    """
    indices = spherical_kmeans_plusplus(X, n_components, random_state, sample_weight)
    labels = np.full(X.shape[0], -1, dtype=_label_dtype(n_components))
    labels[indices] = np.arange(n_components)
    return OneHotResponsibilities(labels, n_components, X.dtype)


def spherical_kmeans_responsibilities(
    X, n_components, random_state, sample_weight=None
):
    """``init_params='spherical-kmeans'``: one-hot spherical k-means labels.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int
    random_state : numpy.random.RandomState
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    resp : OneHotResponsibilities of shape (n_samples, n_components)
    """
    labels = spherical_kmeans_labels(X, n_components, random_state, sample_weight)
    return responsibilities_from_labels(labels, n_components, X.dtype)
