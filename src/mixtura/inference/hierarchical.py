"""Model-based agglomerative hierarchical clustering, mclust's initialisation.

Banfield & Raftery (1993) and Fraley (1998) merge, at each step, the two clusters
whose union least lowers the classification likelihood of an unconstrained
Gaussian (VVV) model. A cluster with ``n`` members, scatter ``W`` and
``t = tr(W)`` costs

    n log( det(W / n) + beta (t + alpha) / n )     (the det term only when n > d)

where ``alpha = tr(total scatter) / (n_samples d)`` and ``beta = 1``; the trace
term keeps the criterion finite for small or flat clusters (Fraley 1998,
section 4). Merging clusters i and j costs ``term(i + j) - term(i) - term(j)``.
As in mclust (``hcUse = "SVD"``, its default since version 5.4), the data are
first centred, scaled to unit variance and rotated onto their singular vectors,
each axis divided by the square root of its singular value; identical rows start
in one cluster.

This is an independent implementation of the published criterion: ties and the
order of equal-cost merges may differ from mclust's Fortran, so partitions can
differ where merges tie. Its cost is O(m^2 d^2) time and O(m^2) memory for m
starting clusters, so at most ``max_samples`` rows (a random subset) are
clustered; the other rows join the cluster with the nearest mean (in the
transformed coordinates).

References
----------
Banfield, J. D. & Raftery, A. E. (1993). Model-based Gaussian and non-Gaussian
clustering. Biometrics 49, 803-821.
Fraley, C. (1998). Algorithms for model-based Gaussian hierarchical clustering.
SIAM Journal on Scientific Computing 20, 270-281.
Scrucca, L. & Raftery, A. E. (2015). Improved initialisation of model-based
clustering using Gaussian hierarchical partitions. Advances in Data Analysis and
Classification 9, 447-460.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_HC_SAMPLES", "hc_labels", "hierarchical_responsibilities", "svd_scale"]

#: Most rows clustered hierarchically; larger data use a random subset.
MAX_HC_SAMPLES = 2000


def svd_scale(X):
    """mclust's "SVD" transformation: standardise, rotate, scale by 1/sqrt(s).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    Z : ndarray of shape (n_samples, min(n_samples, n_features))
    """
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    scale = centred.std(axis=0, ddof=1)
    standardised = centred / np.where(scale > 0, scale, 1.0)
    _, singular, vt = np.linalg.svd(standardised, full_matrices=False)
    safe = np.where(singular > 0, singular, 1.0)
    return standardised @ vt.T / np.sqrt(safe)


class _Clusters:
    """Sizes, means and scatters of the active clusters, and their terms."""

    def __init__(self, Z, groups, alpha, beta=1.0):
        n_groups = groups.max() + 1
        d = Z.shape[1]
        self.alpha, self.beta, self.d = alpha, beta, d
        self.count = np.bincount(groups, minlength=n_groups).astype(np.float64)
        self.mean = np.zeros((n_groups, d))
        np.add.at(self.mean, groups, Z)
        self.mean /= self.count[:, None]
        deviations = Z - self.mean[groups]
        self.scatter = np.zeros((n_groups, d, d))
        np.add.at(self.scatter, groups, deviations[:, :, None] * deviations[:, None, :])
        self.term = self.terms(self.count, self.scatter)

    def terms(self, count, scatter):
        """Fraley's (1998) VVV criterion of clusters, shape (m,)."""
        trace_term = self.beta * (np.trace(scatter, axis1=-2, axis2=-1) + self.alpha)
        trace_term = trace_term / count
        det = np.linalg.det(scatter / count[:, None, None])
        det = np.where(count > self.d, np.clip(det, 0.0, None), 0.0)
        return count * np.log(det + trace_term)

    def merged(self, i, others):
        """Count, mean and scatter of cluster i merged with each of ``others``."""
        n_i, n_j = self.count[i], self.count[others]
        total = n_i + n_j
        delta = self.mean[others] - self.mean[i]
        weight = n_i * n_j / total
        scatter = (
            self.scatter[i]
            + self.scatter[others]
            + weight[:, None, None] * delta[:, :, None] * delta[:, None, :]
        )
        mean = (n_i * self.mean[i] + n_j[:, None] * self.mean[others]) / total[:, None]
        return total, mean, scatter

    def costs(self, i, others):
        """Change of the criterion when merging cluster i with each of ``others``."""
        count, _, scatter = self.merged(i, others)
        return self.terms(count, scatter) - self.term[i] - self.term[others]


def _merge_sequence(clusters, n_groups, min_clusters):
    """Greedy merges down to ``min_clusters``; returns the (kept, absorbed) pairs."""
    cost = np.full((n_groups, n_groups), np.inf)
    for i in range(1, n_groups):
        cost[i, :i] = clusters.costs(i, np.arange(i))
        cost[:i, i] = cost[i, :i]
    active = np.ones(n_groups, dtype=bool)
    merges = []
    for _ in range(n_groups - min_clusters):
        flat = int(np.argmin(cost))
        i, j = divmod(flat, n_groups)
        i, j = min(i, j), max(i, j)
        count, mean, scatter = clusters.merged(i, np.array([j]))
        clusters.count[i], clusters.mean[i], clusters.scatter[i] = (
            count[0],
            mean[0],
            scatter[0],
        )
        clusters.term[i] = clusters.terms(count, scatter)[0]
        active[j] = False
        cost[j, :] = cost[:, j] = np.inf
        others = np.flatnonzero(active)
        others = others[others != i]
        if others.size:
            cost[i, others] = cost[others, i] = clusters.costs(i, others)
        merges.append((i, j))
    return merges


def _groups_of_duplicates(Z):
    """Identical rows share a starting cluster (mclust's ``dupPartition``)."""
    _, groups = np.unique(Z, axis=0, return_inverse=True)
    return groups.reshape(-1)


def hc_labels(X, n_components_list, max_samples=MAX_HC_SAMPLES, random_state=None):
    """Partitions of the rows at several numbers of clusters from one hierarchy.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components_list : iterable of int
        Numbers of clusters wanted (each at most the number of distinct rows).
    max_samples : int, default=MAX_HC_SAMPLES
        Most rows clustered hierarchically; the rest join the nearest cluster.
    random_state : RandomState or None
        Chooses the subset when ``n_samples > max_samples``.

    Returns
    -------
    labels : dict of int -> ndarray of shape (n_samples,)
        Labels in ``[0, K)`` for each requested K.
    """
    Z = svd_scale(X)
    n_samples = Z.shape[0]
    subset = np.arange(n_samples)
    if n_samples > max_samples:
        rng = np.random.RandomState(0) if random_state is None else random_state
        subset = np.sort(rng.choice(n_samples, size=max_samples, replace=False))
    groups = _groups_of_duplicates(Z[subset])
    n_groups = groups.max() + 1
    wanted = sorted({int(k) for k in n_components_list})
    if wanted[-1] > n_groups:
        raise ValueError(
            f"hierarchical initialisation needs at least {wanted[-1]} distinct rows; "
            f"the data have {n_groups}. Use fewer components or init_params='kmeans'."
        )
    alpha = max(np.sum((Z - Z.mean(axis=0)) ** 2) / Z.size, np.finfo(float).eps)
    clusters = _Clusters(Z[subset], groups, alpha)
    merges = _merge_sequence(clusters, n_groups, wanted[0])
    return {k: _labels_at(Z, subset, groups, merges, n_groups, k) for k in wanted}


def _labels_at(Z, subset, groups, merges, n_groups, n_clusters):
    """Labels of every row once the hierarchy is cut at ``n_clusters``."""
    owner = np.arange(n_groups)
    for kept, absorbed in merges[: n_groups - n_clusters]:
        owner[owner == absorbed] = kept
    _, compact = np.unique(owner, return_inverse=True)
    sub_labels = compact.reshape(-1)[groups]
    if subset.size == Z.shape[0]:
        return sub_labels
    means = np.stack(
        [Z[subset][sub_labels == k].mean(axis=0) for k in range(n_clusters)]
    )
    distances = ((Z[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    labels = distances.argmin(axis=1)
    labels[subset] = sub_labels
    return labels


def hierarchical_responsibilities(X, n_components, random_state, sample_weight=None):
    """One-hot responsibilities from the hierarchy cut at ``n_components``.

    The ``init_params='hc'`` method of :data:`~mixtura.inference.INIT_METHODS`.
    Deterministic for data of at most :data:`MAX_HC_SAMPLES` rows; sample
    weights are not used.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    random_state : RandomState
        Chooses the subset of rows clustered, for larger data.
    sample_weight : ndarray of shape (n_samples,) or None
        Ignored.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
    """
    labels = hc_labels(X, [n_components], random_state=random_state)[n_components]
    resp = np.zeros((X.shape[0], n_components), dtype=X.dtype)
    resp[np.arange(X.shape[0]), labels] = 1
    return resp
