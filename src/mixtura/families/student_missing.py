"""Student-t densities and ECM statistics for rows with missing (NaN) coordinates.

A row with observed coordinates ``o`` (``p_o`` of them) and missing ones ``m``
is, under component k, a Gaussian ``N(mu, Sigma / u)`` given its weight
``u ~ Gamma(nu / 2, rate nu / 2)``, so (Liu & Rubin 1995, the multivariate t
with missing data; Peel & McLachlan 2000 for the mixture):

- its observed part is ``t_nu(mu_o, Sigma_oo)`` of dimension ``p_o``: the
  E-step's log density is that marginal's, with the Gaussian's squared
  Mahalanobis distance ``delta_o`` of the observed part and
  ``log det Sigma_oo``;
- given ``x_o``, ``u ~ Gamma((nu + p_o) / 2, rate (nu + delta_o) / 2)``: the
  outlier weight is ``u_ik = (nu_k + p_o) / (nu_k + delta_o)`` and
  ``E[log u] = log u_ik + psi((nu_k + p_o) / 2) - log((nu_k + p_o) / 2)``, so
  the degrees-of-freedom step takes ``p_o`` row by row;
- given ``x_o`` and ``u``, ``x_m ~ N(x_hat_m, C / u)`` with the Gaussian's
  conditional mean ``x_hat_m`` (free of ``u``) and conditional covariance
  ``C = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om``; hence
  ``E[u (x - mu)(x - mu)' | x_o] = u_ik (x_hat - mu)(x_hat - mu)' + C``: the
  completed rows enter the scatter weighted by ``tau_ik u_ik``, their
  conditional covariances by ``tau_ik`` alone.

All the Gaussian quantities (completions, distances, ``log det Sigma_oo``,
conditional covariances, grouped by missingness pattern) come from
:class:`~mixtura.families.gaussian_missing.IncompleteRows` at the scale
matrices; this module adds only the t's per-row terms, whose special functions
are tabulated per observed count ``p_o`` (at most ``d + 1`` values).

References
----------
Liu, C. & Rubin, D. B. (1995). ML estimation of the t distribution using EM
and its extensions, ECM and ECME. Statistica Sinica 5, 19-39.
Peel, D. & McLachlan, G. J. (2000). Robust mixture modelling using the t
distribution. Statistics and Computing 10, 339-348.
McLachlan, G. J. & Peel, D. (2000). Finite Mixture Models. Wiley, ch. 7.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from mixtura.families.gaussian_missing import IncompleteRows, conditional_completions

__all__ = ["IncompleteStudentRows", "conditional_t", "observed_count_tables"]


def observed_count_tables(degrees_of_freedom, n_features):
    """The t's per-row constants for every number of observed coordinates.

    Parameters
    ----------
    degrees_of_freedom : ndarray of shape (n_components,)
    n_features : int

    Returns
    -------
    half_shape : ndarray of shape (n_components, n_features + 1)
        ``h = (nu_k + p) / 2`` for ``p = 0 ... d`` observed coordinates.
    log_normaliser : ndarray of shape (n_components, n_features + 1)
        ``lgamma(h) - lgamma(nu_k / 2) - p / 2 log(nu_k pi)`` (0 at ``p = 0``).
    weight_scale : ndarray of shape (n_components, n_features + 1)
        ``1 + p / nu_k``: ``u = weight_scale / (1 + delta / nu)``.
    expected_log_shift : ndarray of shape (n_components, n_features + 1)
        ``psi(h) - log h``: ``E[log u | x_o] - log u``.
    """
    nu = np.asarray(degrees_of_freedom, dtype=np.float64)[:, None]
    counts = np.arange(n_features + 1, dtype=np.float64)[None, :]
    half_shape = 0.5 * (nu + counts)
    log_normaliser = (
        gammaln(half_shape) - gammaln(0.5 * nu) - 0.5 * counts * np.log(nu * np.pi)
    )
    log_normaliser[:, 0] = 0.0  # the empty product, exactly
    weight_scale = 1.0 + counts / nu
    expected_log_shift = digamma(half_shape) - np.log(half_shape)
    return half_shape, log_normaliser, weight_scale, expected_log_shift


class IncompleteStudentRows:
    """Rows with missing coordinates under t components, completed once.

    The Gaussian's completion of each row under each component at the scale
    matrices (:class:`~mixtura.families.gaussian_missing.IncompleteRows`)
    and the t's per-row terms, shared by the E-step (:meth:`sorted_log_prob`)
    and the statistics (:meth:`sorted_statistics`) of a chunk. Rows are held
    sorted by pattern; the unsorted forms give them back in the given order.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data with NaN for missing entries.
    precisions : ComponentPrecisions
        The locations and full scale matrices.
    degrees_of_freedom : ndarray of shape (n_components,)

    Attributes
    ----------
    rows : IncompleteRows
        The Gaussian completion (its ``deviations`` is a per-thread scratch
        buffer: use one ``IncompleteStudentRows`` before building another).
    order : ndarray of shape (n_samples,)
        The rows of ``X`` in their sorted order.
    """

    def __init__(self, X, precisions, degrees_of_freedom):
        self.rows = IncompleteRows(X, precisions)
        self.order = self.rows.order
        nu = np.asarray(degrees_of_freedom, dtype=np.float64)
        (
            self._half_shape,
            self._log_normaliser,
            self._weight_scale,
            self._expected_log_shift,
        ) = observed_count_tables(nu, X.shape[1])
        # delta_o (rounding can take it below 0), delta_o / nu and its log1p,
        # (K, n) in sorted order
        self._distances = np.maximum(self.rows.sorted_distances(), 0.0)
        self._ratio = self._distances / nu[:, None]
        self._log1p_ratio = np.log1p(self._ratio)

    def _per_row(self, table):
        """A (K, d + 1) table's entry at each sorted row's observed count, (K, n)."""
        return table[:, self.rows.n_observed]

    def _unsorted(self, sorted_values):
        """(K, n) values of the sorted rows as (n, K) in the given row order."""
        values = np.empty_like(sorted_values)
        values[:, self.order] = sorted_values
        return values.T

    def sorted_distances(self):
        """``delta_o``, the observed part's squared Mahalanobis distance, (K, n)."""
        return self._distances

    def sorted_log_prob(self):
        """Log density of each sorted row's observed coordinates, ``t_nu`` in ``p_o``.

        Returns
        -------
        log_prob : ndarray of shape (n_components, n_samples)
            Column ``i`` is row ``order[i]``; 0 for a row with nothing observed.
        """
        log_prob = self._per_row(self._half_shape) * self._log1p_ratio
        log_prob += 0.5 * self.rows.sorted_log_det()
        np.subtract(self._per_row(self._log_normaliser), log_prob, out=log_prob)
        return log_prob

    def sorted_outlier_weights(self):
        """``u_ik = (nu_k + p_o) / (nu_k + delta_o)`` of the sorted rows.

        Returns
        -------
        weights : ndarray of shape (n_components, n_samples)
            1 for a row with nothing observed (the prior mean).
        """
        return self._per_row(self._weight_scale) / (1.0 + self._ratio)

    def log_prob(self):
        """:meth:`sorted_log_prob` in the given row order, shape (n_samples, K)."""
        return self._unsorted(self.sorted_log_prob())

    def outlier_weights(self):
        """:meth:`sorted_outlier_weights` in the given order, shape (n_samples, K)."""
        return self._unsorted(self.sorted_outlier_weights())

    def squared_mahalanobis(self):
        """:meth:`sorted_distances` in the given order, shape (n_samples, K)."""
        return self._unsorted(self.sorted_distances())

    def sorted_statistics(self, weights, full_scatter):
        """The ECM statistics of the sorted rows (Liu & Rubin 1995).

        Parameters
        ----------
        weights : ndarray of shape (n_components, n_samples)
            Responsibilities times sample weights ``w_i tau_ik``, column ``i``
            for row ``order[i]`` (float64).
        full_scatter : bool
            (K, d, d) scatter matrices, else their diagonals (K, d).

        Returns
        -------
        resp_sum : ndarray of shape (n_components,)
            ``sum_i w_i tau_ik``.
        moments : MomentStats
            The completed rows weighted by ``w_i tau_ik u_ik``, plus the
            conditional covariances weighted by ``w_i tau_ik``.
        log_weight_gap : ndarray of shape (n_components,)
            ``sum_i w_i tau_ik (E[log u_ik | x_o] - u_ik)``, with ``p_o`` per row.
        """
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        u = self.sorted_outlier_weights()
        log_u = np.log(self._per_row(self._weight_scale)) - self._log1p_ratio
        moments = self.rows.sorted_statistics(
            weights * u, full_scatter, conditional_weights=weights
        )
        log_u += self._per_row(self._expected_log_shift)  # E[log u | x_o]
        log_u -= u
        gap = np.einsum("kn,kn->k", weights, log_u)
        return weights.sum(axis=1), moments, gap

    def statistics(self, weights, full_scatter):
        """:meth:`sorted_statistics` of weights in the given row order.

        Parameters
        ----------
        weights : ndarray of shape (n_samples, n_components)
            Responsibilities times sample weights.
        full_scatter : bool

        Returns
        -------
        resp_sum, moments, log_weight_gap
            As :meth:`sorted_statistics`.
        """
        weights = np.asarray(weights, dtype=np.float64)
        return self.sorted_statistics(weights[self.order].T, full_scatter)


def conditional_t(X_pattern, observed, means, scales, degrees_of_freedom):
    """The t conditional of a pattern's missing block given its observed one.

    Under ``t_nu(mu, Sigma)``, ``x_m | x_o`` is a t with ``nu + p_o`` degrees of
    freedom, location the Gaussian's conditional mean
    ``mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)`` and scale
    ``(nu + delta_o) / (nu + p_o) (Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om)``,
    ``delta_o`` the observed block's squared Mahalanobis distance (Kotz &
    Nadarajah 2004, sec. 1.11; Ding 2016, The American Statistician 70, 293).

    Parameters
    ----------
    X_pattern : ndarray of shape (n_rows, n_features)
        Rows sharing the mask ``observed``.
    observed : ndarray of shape (n_features,), bool
    means : ndarray of shape (n_components, n_features)
    scales : ndarray of shape (n_components, n_features, n_features)
        Full scale matrices (any structure expanded to matrices).
    degrees_of_freedom : ndarray of shape (n_components,)

    Returns
    -------
    completed : ndarray of shape (n_components, n_rows, n_features)
        The rows with the missing entries at their conditional locations.
    conditional_scales : ndarray of shape (n_components, n_missing, n_missing)
        The Gaussian's conditional covariance at the scale matrices.
    row_scales : ndarray of shape (n_components, n_rows)
        ``(nu_k + delta_o) / (nu_k + p_o)``, the per-row factor of the scale.
    degrees_of_freedom : ndarray of shape (n_components,)
        ``nu_k + p_o``.
    """
    nu = np.asarray(degrees_of_freedom, dtype=np.float64)
    completed, conditional_scales = conditional_completions(
        X_pattern, observed, means, scales
    )
    n_observed = int(observed.sum())
    if n_observed:
        sigma_oo = scales[:, observed][:, :, observed]
        deviations = X_pattern[None, :, observed] - means[:, None, observed]
        solved = np.linalg.solve(sigma_oo, np.swapaxes(deviations, 1, 2))  # (K, o, n)
        # rounding can take a tiny distance below 0
        delta = np.maximum(np.einsum("kno,kon->kn", deviations, solved), 0.0)
    else:
        delta = np.zeros((means.shape[0], X_pattern.shape[0]))
    row_scales = (nu[:, None] + delta) / (nu[:, None] + n_observed)
    return completed, conditional_scales, row_scales, nu + n_observed
