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
first centred, scaled to unit variance (``ddof=1``, R's ``scale``) and rotated
onto their right singular vectors, each axis divided by the square root of its
singular value (of the standardised data, not of its covariance).

What mclust does (``hc(X, "VVV", use = "SVD")``, R function ``hcVVV`` and
Fortran ``hcvvv``, mclust 6.0; Fraley 1998, sections 3-4)
-------------------------------------------------------------------------
* It starts from singletons: ``hc`` never passes its ``partition`` default
  (``dupPartition``) on to ``hcVVV``, so identical rows are separate clusters
  that merge early (two identical singletons cost ``-2 log 2``) but not
  necessarily first, and not necessarily with each other.
* The criterion is exact, not approximated: each cluster keeps its size, mean,
  trace and a Cholesky factor of its scatter (updated by Givens rotations), the
  costs of all current pairs are stored, and after a merge only the pairs with
  the new cluster are recomputed (the others do not change). Small clusters
  (``n <= d``) use the trace term alone; a zero trace, or a factor with an exact
  zero on its diagonal, drops the determinant.
* Clusters live in slots ``1..g``. Merging slots ``i < j`` puts the union in
  slot ``i`` and moves the cluster of the last slot ``g`` into slot ``j``.
* The next merge is the pair of least cost, scanning pairs ``(i < j)`` in
  packed lower-triangular order (``j`` ascending, then ``i`` ascending) and
  keeping the last minimum (``<=``): ties go to the largest ``j``, then the
  largest ``i``, in the current slot numbering.

What this implementation does
-----------------------------
The same transformation, criterion, start, slot moves and tie rule, so it
reproduces mclust's merge sequence wherever mclust's own choice is not decided
by rounding (``tests/reference/hc_reference.R``: the whole sequence on faithful
and iris). It keeps sizes, means and scatter matrices (determinants by LU, not
by a Cholesky factor), the full matrix of pair costs (each
``term_ij - (term_i + term_j)``, mclust's order of operations, so a pair's cost
does not depend on which of the two is named first) and, for every slot ``j``,
the least cost of a pair ``(i < j)`` with the largest such ``i``. After a merge
it recomputes the new cluster's costs in one vectorised pass and rescans only
the rows whose minimum may have moved, so a merge costs O(m d^2) plus a few
O(m) rescans rather than mclust's O(m^2) scan of all pairs.

Limits: costs that are equal in exact arithmetic but computed from different
numbers (two pairs with the same difference vector on gridded data, a point
midway between two others) tie or not at the last bit in each program
independently, so such near-ties may be broken otherwise, and on heavily gridded
data one such step changes the rest of the hierarchy. Exact ties (identical
rows) are broken as in mclust. mclust clusters every row; here at most
``max_samples`` rows (a random subset) are clustered and the other rows join the
cluster with the nearest mean (in the transformed coordinates).

References
----------
Banfield, J. D. & Raftery, A. E. (1993). Model-based Gaussian and non-Gaussian
clustering. Biometrics 49, 803-821.
Fraley, C. (1998). Algorithms for model-based Gaussian hierarchical clustering.
SIAM Journal on Scientific Computing 20, 270-281.
Scrucca, L. & Raftery, A. E. (2015). Improved initialisation of model-based
clustering using Gaussian hierarchical partitions. Advances in Data Analysis and
Classification 9, 447-460.
Scrucca, L., Fop, M., Murphy, T. B. & Raftery, A. E. (2016). mclust 5:
clustering, classification and density estimation using Gaussian finite mixture
models. The R Journal 8, 289-317.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_HC_SAMPLES", "hc_labels", "hierarchical_responsibilities", "svd_scale"]

#: Most rows clustered hierarchically; larger data use a random subset.
MAX_HC_SAMPLES = 2000


def svd_scale(X):
    """mclust's "SVD" transformation: standardise, rotate, scale by 1/sqrt(s).

    R's ``hc(use = "SVD")`` computes ``scale(X)`` (centred, divided by the
    ``ddof=1`` standard deviations), drops the columns that are not finite
    there (constant ones, 0 / 0), takes the SVD ``U S V'`` of the rest and
    returns ``scale(X) V diag(1 / sqrt(s))``, with ``s`` the singular values of
    the standardised data (not of its covariance). Constant columns are dropped
    here too, unless every column is constant.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    Z : ndarray of shape (n_samples, min(n_samples, n_varying))
        ``n_varying`` the number of non-constant columns (``n_features`` if
        none varies).
    """
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    scale = centred.std(axis=0, ddof=1)
    varying = scale > 0
    if varying.any() and not varying.all():
        centred, scale = centred[:, varying], scale[varying]
    standardised = centred / np.where(scale > 0, scale, 1.0)
    _, singular, vt = np.linalg.svd(standardised, full_matrices=False)
    safe = np.where(singular > 0, singular, 1.0)
    return standardised @ vt.T / np.sqrt(safe)


class _Clusters:
    """Sizes, means and scatters of the clusters in each slot, and their terms.

    Parameters
    ----------
    Z : ndarray of shape (n_rows, d)
        Transformed data.
    groups : ndarray of shape (n_rows,)
        Starting cluster of each row, in ``[0, m)``; slot ``g`` holds group ``g``.
    alpha, beta : float
        Fraley's (1998) trace-term constants.
    """

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
        """Fraley's (1998) VVV criterion of clusters.

        Parameters
        ----------
        count : ndarray of shape (m,)
        scatter : ndarray of shape (m, d, d)

        Returns
        -------
        term : ndarray of shape (m,)
            ``n log(det(W / n) + beta (tr W + alpha) / n)``, the determinant
            left out for ``n <= d`` (it is zero there, and mclust does not form
            it) and clipped at zero where rounding makes it negative.
        """
        trace_term = self.beta * (scatter.trace(axis1=-2, axis2=-1) + self.alpha)
        trace_term = trace_term / count
        large = count > self.d
        # every merge asks this of all the other clusters: no masking where
        # all of them are large (or none is), the usual cases
        if large.all():
            det = np.linalg.det(scatter / count[:, None, None])
        else:
            det = np.zeros_like(count)
            if large.any():
                det[large] = np.linalg.det(scatter[large] / count[large, None, None])
        np.maximum(det, 0.0, out=det)
        det += trace_term
        return count * np.log(det)

    def merged(self, i, others):
        """Count, mean and scatter of cluster i merged with each of ``others``.

        Parameters
        ----------
        i : int
        others : ndarray of int, shape (k,)

        Returns
        -------
        count : ndarray of shape (k,)
        mean : ndarray of shape (k, d)
        scatter : ndarray of shape (k, d, d)
            ``W_i + W_j + n_i n_j / (n_i + n_j) (m_i - m_j)(m_i - m_j)'``.
        """
        total, scatter = self._merged_scatter(i, others)
        n_i, n_j = self.count[i], self.count[others]
        mean = (n_i * self.mean[i] + n_j[:, None] * self.mean[others]) / total[:, None]
        return total, mean, scatter

    def _merged_scatter(self, i, others):
        """Count and scatter of cluster i merged with each of ``others``."""
        n_i, n_j = self.count[i], self.count[others]
        total = n_i + n_j
        delta = self.mean[others] - self.mean[i]
        weight = n_i * n_j / total
        scatter = (
            self.scatter[i]
            + self.scatter[others]
            + weight[:, None, None] * delta[:, :, None] * delta[:, None, :]
        )
        return total, scatter

    def costs(self, i, others):
        """Change of the criterion when merging cluster i with each of ``others``.

        Returns
        -------
        cost : ndarray of shape (len(others),)
        """
        count, scatter = self._merged_scatter(i, others)
        # (term_i + term_j) first, as mclust does: the cost of (i, j) is then
        # the same number whichever of the two is "i"
        return self.terms(count, scatter) - (self.term[i] + self.term[others])

    def absorb(self, i, j):
        """Put the union of slots i and j in slot i.

        The same operations as :meth:`merged` for one pair, on that pair's
        rows (every merge calls this once: the fancy indexing of the general
        form cost more than the arithmetic).
        """
        n_i, n_j = self.count[i], self.count[j]
        total = n_i + n_j
        delta = self.mean[j] - self.mean[i]
        weight = n_i * n_j / total
        scatter = self.scatter[i] + self.scatter[j] + weight * delta[:, None] * delta
        mean = (n_i * self.mean[i] + n_j * self.mean[j]) / total
        self.count[i], self.mean[i], self.scatter[i] = total, mean, scatter
        self.term[i] = self.terms(np.array([total]), scatter[None])[0]

    def move(self, source, target):
        """Copy the cluster of slot ``source`` into slot ``target``."""
        for values in (self.count, self.mean, self.scatter, self.term):
            values[target] = values[source]


def _last_argmin(values):
    """Index of the last minimum of a 1-d array (mclust's ``<=`` scan)."""
    return values.size - 1 - int(np.argmin(values[::-1]))


class _PairCosts:
    """Costs of all pairs of active slots, with each row's least cost.

    mclust stores the costs of pairs ``(i < j)`` in packed lower-triangular
    order and takes the last minimum of that array; that pair is the one of
    least cost, then largest ``j``, then largest ``i``. Keeping, for each row
    ``j``, the least cost over ``i < j`` and the largest ``i`` that reaches it
    finds the same pair from ``m`` row minima instead of ``m^2 / 2`` costs.

    Parameters
    ----------
    clusters : _Clusters
        Its slots ``0..m-1`` are the active clusters.
    """

    def __init__(self, clusters):
        m = clusters.count.size
        self.clusters = clusters
        self.cost = np.full((m, m), np.inf)
        if clusters.d > 1 and np.all(clusters.count == 1):
            self._singleton_costs()
        else:
            for j in range(1, m):
                self.cost[j, :j] = self.cost[:j, j] = clusters.costs(j, np.arange(j))
        self.row_min = np.full(m, np.inf)
        self.row_arg = np.full(m, -1)
        for j in range(1, m):
            self._rescan(j)
        self.n_active = m

    def _singleton_costs(self, block=256):
        """Costs of all pairs of singletons, by blocks of rows.

        Two singletons ``z_i, z_j`` merge into a cluster of scatter
        ``delta delta' / 2`` (``delta = z_i - z_j``) of trace ``|delta|^2 / 2``;
        as ``n = 2 <= d`` its term is the trace term alone, and each
        singleton's is ``log(beta alpha)``. The differences are formed directly
        (not as ``|a|^2 + |b|^2 - 2 a.b``), so identical rows cost exactly the
        same, as in mclust, and in the order ``_Clusters.costs`` uses.
        """
        clusters = self.clusters
        Z, m = clusters.mean, clusters.count.size
        for start in range(0, m, block):
            rows = np.arange(start, min(start + block, m))
            delta = Z[rows, None, :] - Z[None, :, :]
            half = (0.5 * delta * delta).sum(axis=-1)
            term = 2 * np.log(clusters.beta * (half + clusters.alpha) / 2)
            cost = term - (clusters.term[rows, None] + clusters.term[None, :])
            cost[rows - start, rows] = np.inf
            self.cost[rows] = cost

    def _rescan(self, j):
        """Least cost of row j over the columns ``i < j`` (largest i on ties)."""
        if j == 0:
            self.row_min[j], self.row_arg[j] = np.inf, -1
            return
        i = _last_argmin(self.cost[j, :j])
        self.row_min[j], self.row_arg[j] = self.cost[j, i], i

    def _rescan_rows(self, rows):
        """:meth:`_rescan` of several rows at once (a merge leaves about a dozen).

        One masked pass over the rows' costs: columns ``i >= j`` of row ``j``
        are set to infinity and the last minimum of each row taken on the
        reversed columns, which picks the same ``i`` as the row-by-row scan.
        """
        rows = np.asarray(rows)
        rows = rows[rows > 0]
        if rows.size == 0:
            return
        width = int(rows.max())
        block = self.cost[rows, :width]
        block[np.arange(width)[None, :] >= rows[:, None]] = np.inf
        last = width - 1 - block[:, ::-1].argmin(axis=1)
        self.row_min[rows] = block[np.arange(rows.size), last]
        self.row_arg[rows] = last

    def _offer(self, rows, column):
        """Let ``column`` become the minimum of ``rows`` (all > column) if it is."""
        values = self.cost[rows, column]
        better = (values < self.row_min[rows]) | (
            (values == self.row_min[rows]) & (column > self.row_arg[rows])
        )
        self.row_min[rows[better]] = values[better]
        self.row_arg[rows[better]] = column

    def best(self):
        """The pair ``(i, j)``, ``i < j``, mclust merges next."""
        j = _last_argmin(self.row_min[: self.n_active])
        return int(self.row_arg[j]), j

    def merge(self, i, j):
        """Merge slots ``i < j`` as mclust does: union in i, last slot into j."""
        clusters, cost = self.clusters, self.cost
        last = self.n_active - 1
        row_arg = self.row_arg[:last]
        # rows whose minimum was a pair with i or j: their costs there change
        stale = set(np.flatnonzero((row_arg == i) | (row_arg == j)).tolist())
        clusters.absorb(i, j)
        if j != last:
            clusters.move(last, j)
            cost[j, :] = cost[last, :]
            cost[:, j] = cost[:, last]
            cost[j, j] = np.inf
            stale.add(j)
        cost[last, :] = cost[:, last] = np.inf
        self.row_min[last], self.row_arg[last] = np.inf, -1
        self.n_active = last
        active = np.arange(last)
        others = active[active != i]
        if others.size:
            cost[i, others] = cost[others, i] = clusters.costs(i, others)
        stale.add(i)
        stale.discard(last)
        # other rows keep their minimum unless column i (new cluster) or
        # column j (moved cluster) now beats it
        is_fresh = np.ones(last, dtype=bool)
        is_fresh[list(stale)] = False
        fresh = np.flatnonzero(is_fresh)
        self._offer(fresh[fresh > i], i)
        if j < last:
            self._offer(fresh[fresh > j], j)
        if 0 in stale:  # row 0 has no pair (i < 0)
            self.row_min[0], self.row_arg[0] = np.inf, -1
        self._rescan_rows(sorted(stale))


def _merge_sequence(clusters, min_clusters):
    """mclust's greedy merges down to ``min_clusters`` clusters.

    Parameters
    ----------
    clusters : _Clusters
        The starting clusters, one per slot; changed in place.
    min_clusters : int

    Returns
    -------
    merges : list of (int, int)
        ``(kept, absorbed)`` for each merge, naming each cluster by the smallest
        starting group in it (as mclust's merge pairs do).
    """
    pairs = _PairCosts(clusters)
    name = np.arange(clusters.count.size)
    merges = []
    while pairs.n_active > min_clusters:
        i, j = pairs.best()
        kept, absorbed = sorted((int(name[i]), int(name[j])))
        merges.append((kept, absorbed))
        last = pairs.n_active - 1
        pairs.merge(i, j)
        name[i] = kept
        name[j] = name[last]
    return merges


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
        Labels in ``[0, K)`` for each requested K, numbered by first appearance
        in the rows (as mclust's ``hclass``, less one).
    """
    Z = svd_scale(X)
    n_samples = Z.shape[0]
    subset = np.arange(n_samples)
    if n_samples > max_samples:
        rng = np.random.RandomState(0) if random_state is None else random_state
        subset = np.sort(rng.choice(n_samples, size=max_samples, replace=False))
    n_distinct = np.unique(Z[subset], axis=0).shape[0]
    wanted = sorted({int(k) for k in n_components_list})
    if wanted[-1] > n_distinct:
        # the hierarchy could cut there, but only by splitting identical rows
        raise ValueError(
            f"hierarchical initialisation needs at least {wanted[-1]} distinct rows; "
            f"the data have {n_distinct}. Use fewer components or init_params='kmeans'."
        )
    alpha = max(np.sum((Z - Z.mean(axis=0)) ** 2) / Z.size, np.finfo(float).eps)
    clusters = _Clusters(Z[subset], np.arange(subset.size), alpha)
    merges = _merge_sequence(clusters, wanted[0])
    cuts = _cuts(merges, subset.size, wanted)
    return {k: _labels_at(Z, subset, cuts[k]) for k in wanted}


def _cuts(merges, n_rows, wanted):
    """Labels of the clustered rows at each wanted number of clusters.

    Parameters
    ----------
    merges : list of (int, int)
        ``(kept, absorbed)`` names (smallest member row) from ``_merge_sequence``.
    n_rows : int
    wanted : list of int

    Returns
    -------
    cuts : dict of int -> ndarray of shape (n_rows,)
        Labels in ``[0, K)``, numbered by each cluster's first row.
    """
    owner = np.arange(n_rows)
    members = {row: [row] for row in range(n_rows)}
    cuts = {}
    n_clusters = n_rows
    for step in range(len(merges) + 1):
        if n_clusters in wanted:
            # clusters are named by their smallest row: sorting the names
            # numbers them by first appearance
            _, compact = np.unique(owner, return_inverse=True)
            cuts[n_clusters] = compact.reshape(-1)
        if step == len(merges):
            break
        kept, absorbed = merges[step]
        moved = members.pop(absorbed)
        owner[moved] = kept
        members[kept].extend(moved)
        n_clusters -= 1
    return cuts


def _labels_at(Z, subset, sub_labels):
    """Labels of every row, the rows outside ``subset`` joining the nearest mean."""
    if subset.size == Z.shape[0]:
        return sub_labels
    n_clusters = sub_labels.max() + 1
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
