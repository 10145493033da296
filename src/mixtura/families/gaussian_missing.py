"""Gaussian densities and EM statistics for rows with missing (NaN) coordinates.

- E-step: the marginal density of each row's observed coordinates,
  ``N(x_o | mu_o, Sigma_oo)``.
- M-step statistics: the conditional expectations of the missing coordinates and of
  their outer products given the observed ones (Ghahramani & Jordan 1994,
  "Supervised learning from incomplete data via an EM approach"; Little & Rubin
  2002, ch. 11), which enter each component's scatter as the completed rows'
  scatter plus the conditional covariance times the component's weight.

Both come from each component's full precision ``P = Sigma^-1`` and, per
missingness pattern, the Cholesky factor of its missing block ``P_mm`` (the
Schur-complement identities of the partitioned inverse):

- ``E[x_m | x_o] = mu_m - P_mm^-1 P_mo (x_o - mu_o)`` and
  ``Cov[x_m | x_o] = P_mm^-1``;
- with ``z`` the row completed by its conditional mean, minus ``mu``,
  ``(x_o - mu_o)' Sigma_oo^-1 (x_o - mu_o) = z' P z`` and
  ``log det Sigma_oo = log det Sigma + log det P_mm``.

So the per-row work is dense products with the K precisions, shared by every
pattern, and only an ``m x m`` matrix-vector product per row and component
(``m`` missing coordinates, usually few); ``z' P z`` is stationary in the
completion, so round-off in it enters the density only to second order. Rows
are grouped by their number of missing coordinates, and the patterns of a group
are factorised in one stacked call: no Python loop runs per pattern.
"""

from __future__ import annotations

import itertools
import math
import threading

import numpy as np

from mixtura.stats import MomentStats

__all__ = [
    "ComponentPrecisions",
    "IncompleteRows",
    "conditional_completions",
    "marginal_log_prob",
    "missing_statistics",
    "missingness_patterns",
]

_LOG_2PI = math.log(2.0 * math.pi)


def missingness_patterns(X):
    """Group the rows of ``X`` by which coordinates are observed.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data with NaN for missing entries.

    Returns
    -------
    patterns : list of (rows, observed)
        ``rows`` indexes the rows sharing the boolean mask ``observed`` of shape
        (n_features,).
    """
    observed = ~np.isnan(X)
    codes = _row_codes(observed)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    boundaries = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    groups = np.split(order, boundaries)
    return [(rows, observed[rows[0]]) for rows in groups if rows.size]


def _row_codes(mask):
    """One sortable key per row of a boolean matrix (sorting rows is slow)."""
    n_features = mask.shape[1]
    if n_features <= 16:  # 16-bit keys: NumPy's stable sort is then a radix sort
        return mask @ (np.uint16(1) << np.arange(n_features, dtype=np.uint16))
    if n_features <= 62:
        return mask @ (np.int64(1) << np.arange(n_features, dtype=np.int64))
    packed = np.ascontiguousarray(np.packbits(mask, axis=1))
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


#: bound on a block of rows' per-pattern factors, K m^2 entries per pattern
_BLOCK_ENTRIES = 2**20
#: bound on the factors a family keeps cached, in entries (float64)
_CACHE_ENTRIES = 2**22


_SCRATCH = threading.local()


def _scratch(name, shape):
    """A per-thread float64 scratch array, reused across chunks and iterations.

    Fresh multi-megabyte temporaries would cost page faults on every chunk; the
    buffer only grows, and the array is a contiguous view of its start.
    """
    buffers = getattr(_SCRATCH, "buffers", None)
    if buffers is None:
        buffers = _SCRATCH.buffers = {}
    size = math.prod(shape)
    buffer = buffers.get(name)
    if buffer is None or buffer.size < size:
        buffer = buffers[name] = np.empty(size)
    return buffer[:size].reshape(shape)


class ComponentPrecisions:
    """Each component's full precision, its Cholesky factor and log-determinant.

    Built once per set of parameters and shared by every chunk, with a cache of
    the patterns' factors (:meth:`pattern_factors`).

    Parameters
    ----------
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Full covariance matrices (any structure expanded to matrices).

    Attributes
    ----------
    whitening : ndarray of shape (n_components, n_features, n_features)
        ``L^-1`` for the Cholesky factor ``L`` of ``Sigma``: ``||L^-1 z||^2 = z' P z``.
    precisions : ndarray of shape (n_components, n_features, n_features)
    log_det : ndarray of shape (n_components,)
        ``log det Sigma``.
    """

    def __init__(self, means, covariances):
        self.means = np.asarray(means, dtype=np.float64)
        self.covariances = np.asarray(covariances, dtype=np.float64)
        lower = np.linalg.cholesky(self.covariances)
        self.whitening = np.linalg.inv(lower)  # lower triangular
        self.precisions = np.swapaxes(self.whitening, 1, 2) @ self.whitening
        self.log_det = 2.0 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
        # missing count -> _PatternFactors of the patterns seen so far; chunk
        # threads may replace an entry concurrently: one's additions are then
        # lost and recomputed later, never wrong
        self._cache = {}

    @property
    def n_components(self):
        return self.means.shape[0]

    def pattern_factors(self, codes, columns):
        """The factors of some patterns, from the cache or computed (and cached).

        Parameters
        ----------
        codes : ndarray of shape (n_patterns,)
            Sorted distinct pattern keys (:func:`_row_codes` of the masks).
        columns : ndarray of shape (n_patterns, m)
            Each pattern's missing coordinates.

        Returns
        -------
        index : ndarray of shape (n_patterns,)
            Each pattern's position in ``factors``.
        factors : _PatternFactors
        """
        n_missing = columns.shape[1]
        cached = self._cache.get(n_missing)
        if cached is None:
            factors = _PatternFactors.compute(self, codes, columns)
        else:
            index, found = cached.find(codes)
            if found.all():
                return index, cached
            fresh = _PatternFactors.compute(self, codes[~found], columns[~found])
            factors = cached.merge(fresh)
            if factors.size > _CACHE_ENTRIES:  # keep only this block's patterns
                factors = cached.take(index[found]).merge(fresh)
        if factors.size <= _CACHE_ENTRIES:
            self._cache[n_missing] = factors
        return factors.find(codes)[0], factors


class _PatternFactors:
    """Factors of the missing blocks of patterns with ``m`` missing coordinates.

    Attributes
    ----------
    codes : ndarray of shape (n_patterns,)
        Sorted pattern keys.
    columns : ndarray of shape (n_patterns, m)
        Each pattern's missing coordinates, ascending.
    conditional : ndarray of shape (m, n_components, m, n_patterns)
        ``P_mm^-1``, the covariance of the missing coordinates given the others:
        ``conditional[j, k, i, p]`` is entry ``(i, j)`` for component ``k`` and
        pattern ``p`` (patterns last, so that repeating them per row is
        contiguous; column-first, so that one column serves all ``i``).
    log_det : ndarray of shape (n_components, n_patterns)
        ``log det P_mm``.
    """

    def __init__(self, codes, columns, conditional, log_det):
        self.codes = codes
        self.columns = columns
        self.conditional = conditional
        self.log_det = log_det

    @classmethod
    def compute(cls, precisions, codes, columns):
        """Factorise every pattern's block ``P_mm`` (one stacked Cholesky)."""
        if columns.shape[1] == precisions.means.shape[1]:
            # nothing observed: the conditional is the marginal (kept exact)
            conditional = precisions.covariances[:, None]
            log_det = -precisions.log_det[:, None]
        else:
            blocks = precisions.precisions[:, columns[:, :, None], columns[:, None, :]]
            lower = np.linalg.cholesky(blocks)  # (K, n_patterns, m, m)
            inverse = np.linalg.inv(lower)
            conditional = np.swapaxes(inverse, 2, 3) @ inverse
            log_det = 2.0 * np.log(np.diagonal(lower, axis1=2, axis2=3)).sum(axis=2)
        conditional = np.ascontiguousarray(conditional.transpose(3, 0, 2, 1))
        return cls(codes, columns, conditional, log_det)

    @property
    def size(self):
        return self.conditional.size

    def find(self, codes):
        """Positions of sorted ``codes`` and whether each is here."""
        index = np.searchsorted(self.codes, codes)
        found = index < self.codes.size
        found[found] = self.codes[index[found]] == codes[found]
        return index, found

    def take(self, index):
        """The factors of the patterns at ``index``."""
        return _PatternFactors(
            self.codes[index],
            self.columns[index],
            self.conditional[..., index],
            self.log_det[:, index],
        )

    def merge(self, other):
        """The patterns of both, sorted by key (``other`` holds new ones)."""
        codes = np.concatenate([self.codes, other.codes])
        order = np.argsort(codes, kind="stable")
        return _PatternFactors(
            codes[order],
            np.concatenate([self.columns, other.columns])[order],
            np.concatenate([self.conditional, other.conditional], axis=3)[..., order],
            np.concatenate([self.log_det, other.log_det], axis=1)[:, order],
        )


class _PatternGroup:
    """Consecutive sorted rows: patterns with the same number ``m`` of holes.

    Attributes
    ----------
    start, stop : int
        The rows' range in the chunk sorted by pattern.
    counts : ndarray of shape (n_patterns,)
        Rows of each pattern, in order.
    columns : ndarray of shape (n_patterns, m)
        Each pattern's missing coordinates, ascending.
    conditional : ndarray of shape (m, n_components, m, n_patterns)
        ``P_mm^-1``, laid out as in :class:`_PatternFactors`.
    log_det : ndarray of shape (n_components, n_patterns)
        ``log det P_mm``.
    """

    def __init__(self, start, codes, columns, counts, precisions):
        self.start = start
        self.stop = start + int(counts.sum())
        self.counts = counts
        self.columns = columns
        index, factors = precisions.pattern_factors(codes, columns)
        self.conditional = factors.conditional[..., index]
        self.log_det = factors.log_det[:, index]

    def per_row(self, array, axis=-1):
        """A per-pattern array repeated for each row of its pattern."""
        return np.repeat(array, self.counts, axis=axis)

    def complete(self, deviations, regressed):
        """Fill the missing deviations with their conditional means, in place.

        Parameters
        ----------
        deviations : ndarray of shape (K, d, n)
            ``x - mu`` with 0 at the holes; the holes of these rows are filled
            with ``-P_mm^-1 (P_mo z_o)``.
        regressed : ndarray of shape (K, d, n)
            ``P @ deviations`` (before filling), whose missing entries are
            ``P_mo z_o``.
        """
        n_components, _, n_samples = deviations.shape
        # flat positions of the holes in a (d, n) plane, (m, n_rows)
        rows = np.arange(self.start, self.stop)
        holes = self.per_row(self.columns, axis=0).T * n_samples + rows
        given = np.take(regressed.reshape(n_components, -1), holes, axis=1)
        fill = np.zeros((n_components, *holes.shape))
        for j in range(holes.shape[0]):  # m multiply-adds over all rows at once
            column = self.per_row(self.conditional[j])  # (K, m, n_rows)
            column *= given[:, None, j]
            fill -= column
        holes = holes.ravel()
        flat = deviations.reshape(n_components, -1)
        for k in range(n_components):  # (a fancy assignment beats np.put 3x)
            flat[k][holes] = fill[k].ravel()

    def add_conditional(self, scatter, weights):
        """Add ``sum_i w_ik Cov_k[x_m | x_o]`` of these rows to ``scatter``.

        Parameters
        ----------
        scatter : ndarray of shape (K, d, d) or (K, d)
            Full scatter matrices or their diagonals, updated in place.
        weights : ndarray of shape (K, n_samples)
            Weighted responsibilities of the sorted rows, component-major.
        """
        n_components = weights.shape[0]
        offsets = np.arange(n_components)[:, None]
        # each pattern's total weight under each component, (K, n_patterns)
        first = np.cumsum(self.counts) - self.counts
        totals = np.add.reduceat(weights[:, self.start : self.stop], first, axis=1)
        n_features = scatter.shape[-1]
        if scatter.ndim == 3:
            # terms[j, k, i, p] lands in scatter[k, columns[p, i], columns[p, j]]
            terms = self.conditional * totals[:, None, :]
            columns = self.columns.T  # (m, n_patterns)
            cells = columns[None, None] * n_features + columns[:, None, None]
            cells = cells + n_features**2 * offsets[:, :, None]
        else:
            diagonal = np.diagonal(self.conditional, axis1=0, axis2=2)  # (K, P, m)
            terms = diagonal * totals[:, :, None]
            cells = self.columns + n_features * offsets[:, :, None]
        scatter += np.bincount(
            np.broadcast_to(cells, terms.shape).ravel(),
            terms.ravel(),
            minlength=scatter.size,
        ).reshape(scatter.shape)


def _sort_by_pattern(observed):
    """Order rows by number of missing coordinates, then by pattern.

    Returns
    -------
    order : ndarray of shape (n_samples,)
        The rows, sorted.
    codes : ndarray of shape (n_patterns,)
        Each pattern's key, in order (sorted within each missing count).
    counts : ndarray of shape (n_patterns,)
        Rows of each pattern.
    n_missing : ndarray of shape (n_patterns,)
        Missing coordinates of each pattern, ascending.
    first : ndarray of shape (n_patterns,)
        A row of each pattern.
    """
    codes = _row_codes(observed)
    by_code = np.argsort(codes, kind="stable")
    ordered = codes[by_code]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts = np.diff(np.r_[starts, codes.size])
    first = by_code[starts]
    n_missing = observed.shape[1] - np.count_nonzero(observed[first], axis=1)
    patterns = np.argsort(n_missing, kind="stable")
    starts, counts = starts[patterns], counts[patterns]
    # move each pattern's run of sorted rows to its new place
    shift = starts - (np.cumsum(counts) - counts)
    order = by_code[np.repeat(shift, counts) + np.arange(codes.size)]
    return order, ordered[starts], counts, n_missing[patterns], first[patterns]


def _pattern_groups(observed, precisions):
    """Groups of sorted rows with equal missing counts, and the sort order.

    A group's patterns are split in blocks so that their factors stay below
    ``_BLOCK_ENTRIES`` entries.
    """
    order, codes, counts, n_missing, first = _sort_by_pattern(observed)
    bounds = np.flatnonzero(np.r_[True, n_missing[1:] != n_missing[:-1], True])
    row_starts = np.r_[0, np.cumsum(counts)]
    groups = []
    for begin, end in itertools.pairwise(bounds):
        count = int(n_missing[begin])
        if count == 0:
            continue
        size = max(1, _BLOCK_ENTRIES // (precisions.n_components * count * count))
        for low in range(begin, end, size):
            high = min(low + size, end)
            columns = np.nonzero(~observed[first[low:high]])[1].reshape(-1, count)
            groups.append(
                _PatternGroup(
                    int(row_starts[low]),
                    codes[low:high],
                    columns,
                    counts[low:high],
                    precisions,
                )
            )
    return order, groups


def _masked_deviations(X, observed, means):
    """``x - mu_k`` for every component, 0 at the holes: (K, d, n) float64."""
    values = np.ascontiguousarray(np.where(observed, X, 0.0).T)
    mask = np.array(observed.T, dtype=np.float64, order="C")
    deviations = _scratch("deviations", (means.shape[0], *values.shape))
    for k, mean in enumerate(means):
        np.multiply(mask, mean[:, None], out=deviations[k])
        np.subtract(values, deviations[k], out=deviations[k])
    return deviations


class IncompleteRows:
    """Rows with missing coordinates, completed under each component.

    The grouping, the factorisations and the completions are computed once, so
    the E-step (:meth:`log_prob`) and the M-step statistics (:meth:`statistics`)
    of a chunk share them. Rows are held sorted by pattern (so that each
    pattern's rows are consecutive); results come back in the given order.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data with NaN for missing entries.
    precisions : ComponentPrecisions
        The current parameters.

    Attributes
    ----------
    order : ndarray of shape (n_samples,)
        The rows of ``X`` in their sorted order.
    deviations : ndarray of shape (n_components, n_features, n_samples)
        Each sorted row completed by its conditional mean under each component,
        minus the component's mean (float64; feature-major, so that per-row
        weights and per-feature shifts broadcast along the long contiguous
        axis). A per-thread scratch buffer: valid until this thread builds the
        next ``IncompleteRows``, so use one before building another.
    """

    def __init__(self, X, precisions):
        self.precisions = precisions
        self.order, self.groups = _pattern_groups(~np.isnan(X), precisions)
        X = np.take(X, self.order, axis=0)  # (take: 4x faster than X[order])
        observed = ~np.isnan(X)
        self.n_observed = np.count_nonzero(observed, axis=1)
        self.deviations = _masked_deviations(X, observed, precisions.means)
        if self.groups:
            regressed = np.matmul(
                precisions.precisions,
                self.deviations,
                out=_scratch("product", self.deviations.shape),
            )
            for group in self.groups:
                group.complete(self.deviations, regressed)

    def log_prob(self):
        """Log density of each row's observed coordinates under each component.

        Returns
        -------
        log_prob : ndarray of shape (n_samples, n_components)
            0 for a row with nothing observed (its density is the empty product).
        """
        sorted_log_prob = self.sorted_log_prob()
        log_prob = np.empty_like(sorted_log_prob)
        log_prob[:, self.order] = sorted_log_prob
        return log_prob.T

    def sorted_log_prob(self):
        """The log densities, component-major, of the rows in sorted order.

        Returns
        -------
        log_prob : ndarray of shape (n_components, n_samples)
            Column ``i`` is row ``order[i]``.
        """
        constant = self.n_observed * _LOG_2PI + self.sorted_log_det()
        constant += self.sorted_distances()
        constant *= -0.5
        return constant

    def sorted_distances(self):
        """Squared Mahalanobis distances of the observed coordinates, sorted rows.

        Returns
        -------
        distances : ndarray of shape (n_components, n_samples)
            ``(x_o - mu_o)' Sigma_oo^-1 (x_o - mu_o) = z' P z``; column ``i``
            is row ``order[i]`` (0 for a row with nothing observed).
        """
        whitened = np.matmul(
            self.precisions.whitening,
            self.deviations,
            out=_scratch("product", self.deviations.shape),
        )
        whitened *= whitened
        return whitened.sum(axis=1)

    def sorted_log_det(self):
        """``log det Sigma_oo`` of each sorted row's observed block.

        Returns
        -------
        log_det : ndarray of shape (n_components, n_samples)
            ``log det Sigma + log det P_mm``, exactly 0 for a row with nothing
            observed; column ``i`` is row ``order[i]``.
        """
        log_det = np.repeat(
            self.precisions.log_det[:, None], self.n_observed.size, axis=1
        )
        for group in self.groups:
            log_det[:, group.start : group.stop] += group.per_row(group.log_det)
        return log_det

    def statistics(self, weights, full_scatter):
        """Centred moments of the completed rows plus the conditional covariances.

        Parameters
        ----------
        weights : ndarray of shape (n_samples, n_components)
            Responsibilities times sample weights, in the given row order.
        full_scatter : bool
            Return (K, d, d) scatter matrices, else their diagonals (K, d).

        Returns
        -------
        stats : MomentStats
        """
        weights = np.asarray(weights, dtype=np.float64)
        return self.sorted_statistics(
            np.ascontiguousarray(weights[self.order].T), full_scatter
        )

    def sorted_statistics(self, weights, full_scatter, conditional_weights=None):
        """The statistics, given component-major weights of the sorted rows.

        Parameters
        ----------
        weights : ndarray of shape (n_components, n_samples)
            Column ``i`` weighs row ``order[i]`` (C-contiguous, float64).
        full_scatter : bool
        conditional_weights : ndarray of shape (n_components, n_samples), optional
            Weights of the conditional covariances, where they differ from
            ``weights`` (a Student-t's: its rows' moments are weighted by
            ``tau u``, their conditional covariances by ``tau``,
            :mod:`mixtura.families.student_missing`); None: ``weights``.

        Returns
        -------
        stats : MomentStats
        """
        resp_sum = weights.sum(axis=1)
        safe = np.where(resp_sum > 0, resp_sum, 1.0)
        # mean of the completed rows minus mu, then the scatter about it
        shift = (self.deviations @ weights[:, :, None])[..., 0] / safe[:, None]
        centred = _scratch("product", self.deviations.shape)
        np.subtract(self.deviations, shift[:, :, None], out=centred)
        if full_scatter:
            # (c sqrt(w)) (c sqrt(w))': NumPy's A @ A.T is a symmetric rank-k
            # update, half the work of a general product
            centred *= np.sqrt(weights)[:, None, :]
            scatter = centred @ np.swapaxes(centred, 1, 2)
        else:
            centred *= centred
            scatter = (centred @ weights[:, :, None])[..., 0]
        if conditional_weights is None:
            conditional_weights = weights
        for group in self.groups:
            group.add_conditional(scatter, conditional_weights)
        means = np.where(resp_sum[:, None] > 0, self.precisions.means + shift, 0.0)
        return MomentStats(resp_sum, means, scatter)


def marginal_log_prob(X, means, covariances, precisions=None):
    """Log density of each row's observed coordinates under each component.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data with NaN for missing entries.
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Full covariance matrices (any structure expanded to matrices).
    precisions : ComponentPrecisions, optional
        Of ``means`` and ``covariances``, when already computed.

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
        0 for a row with nothing observed (its density is the empty product).
    """
    if precisions is None:
        precisions = ComponentPrecisions(means, covariances)
    return IncompleteRows(X, precisions).log_prob()


def conditional_completions(X_pattern, observed, means, covariances):
    """Conditional means and covariances of the missing coordinates, per component.

    Parameters
    ----------
    X_pattern : ndarray of shape (n_rows, n_features)
        Rows sharing the mask ``observed``.
    observed : ndarray of shape (n_features,), bool
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)

    Returns
    -------
    completed : ndarray of shape (n_components, n_rows, n_features)
        The rows with each missing entry replaced by its conditional mean under
        each component.
    conditional_covariance : ndarray of shape (n_components, n_missing, n_missing)
    """
    missing = ~observed
    n_components = means.shape[0]
    completed = np.broadcast_to(X_pattern, (n_components, *X_pattern.shape)).copy()
    sigma_mm = covariances[:, missing][:, :, missing]
    if not observed.any():
        completed[:, :, missing] = means[:, None, missing]
        return completed, sigma_mm
    sigma_oo = covariances[:, observed][:, :, observed]
    sigma_om = covariances[:, observed][:, :, missing]
    # regression coefficients Sigma_oo^-1 Sigma_om, (K, o, m)
    coefficients = np.linalg.solve(sigma_oo, sigma_om)
    deviations = X_pattern[None, :, observed] - means[:, None, observed]  # (K, n, o)
    completed[:, :, missing] = means[:, None, missing] + deviations @ coefficients
    conditional = sigma_mm - np.swapaxes(sigma_om, 1, 2) @ coefficients
    return completed, conditional


def missing_statistics(
    X, weighted_resp, means, covariances, full_scatter, precisions=None
):
    """EM statistics of rows with missing entries, as centred moments.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows with NaN for missing entries.
    weighted_resp : ndarray of shape (n_samples, n_components)
        Responsibilities times sample weights.
    means : ndarray of shape (n_components, n_features)
        Current means.
    covariances : ndarray of shape (n_components, n_features, n_features)
        Current covariances as matrices.
    full_scatter : bool
        Return (K, d, d) scatter matrices, else their diagonals (K, d).
    precisions : ComponentPrecisions, optional
        Of ``means`` and ``covariances``, when already computed.

    Returns
    -------
    stats : MomentStats
        Expected counts, means and centred scatter of the completed data.
    """
    if precisions is None:
        precisions = ComponentPrecisions(means, covariances)
    return IncompleteRows(X, precisions).statistics(weighted_resp, full_scatter)
