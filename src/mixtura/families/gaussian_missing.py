"""Gaussian densities and EM statistics for rows with missing (NaN) coordinates.

Rows are grouped by missingness pattern, so the linear algebra is batched over the
components and done once per pattern, never per row.

- E-step: the marginal density of each row's observed coordinates,
  ``N(x_o | mu_o, Sigma_oo)``.
- M-step statistics: the conditional expectations of the missing coordinates and of
  their outer products given the observed ones (Ghahramani & Jordan 1994,
  "Supervised learning from incomplete data via an EM approach"; Little & Rubin
  2002, ch. 11): ``E[x_m | x_o] = mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)`` and
  ``Cov[x_m | x_o] = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om``, which enter each
  component's scatter as the completed rows' scatter plus the conditional
  covariance times the component's weight.
"""

from __future__ import annotations

import math

import numpy as np

from mixtura.stats import MomentStats

__all__ = [
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
    if n_features <= 62:
        return mask @ (np.int64(1) << np.arange(n_features, dtype=np.int64))
    packed = np.ascontiguousarray(np.packbits(mask, axis=1))
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


def marginal_log_prob(X, means, covariances):
    """Log density of each row's observed coordinates under each component.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data with NaN for missing entries.
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Full covariance matrices (any structure expanded to matrices).

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
        0 for a row with nothing observed (its density is the empty product).
    """
    log_prob = np.zeros((X.shape[0], means.shape[0]), dtype=np.float64)
    for rows, observed in missingness_patterns(X):
        if observed.any():
            log_prob[rows] = _pattern_log_prob(
                X[np.ix_(rows, observed)],
                means[:, observed],
                covariances[:, observed][:, :, observed],
            )
    return log_prob


def _pattern_log_prob(X_observed, means, covariances):
    """(n_rows, K) log densities of fully observed sub-vectors."""
    factors = np.linalg.cholesky(covariances)  # (K, o, o), lower
    deviations = X_observed[None, :, :] - means[:, None, :]  # (K, n, o)
    whitened = np.linalg.solve(factors, np.swapaxes(deviations, 1, 2))  # (K, o, n)
    distances = np.einsum("kon,kon->kn", whitened, whitened)
    log_det = 2.0 * np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
    dimension = X_observed.shape[1]
    return (-0.5 * (dimension * _LOG_2PI + log_det[:, None] + distances)).T


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


def missing_statistics(X, weighted_resp, means, covariances, full_scatter):
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

    Returns
    -------
    stats : MomentStats
        Expected counts, means and centred scatter of the completed data.
    """
    total = None
    for rows, observed in missingness_patterns(X):
        completed, conditional = conditional_completions(
            X[rows], observed, means, covariances
        )
        stats = _completed_moments(
            completed, conditional, ~observed, weighted_resp[rows], full_scatter
        )
        total = stats if total is None else total + stats
    return total


def _completed_moments(completed, conditional, missing, weights, full_scatter):
    """Moments of one pattern's completed rows plus the conditional covariance."""
    resp_sum = weights.sum(axis=0)  # (K,)
    safe = np.where(resp_sum > 0, resp_sum, 1.0)
    means = np.einsum("nk,knd->kd", weights, completed) / safe[:, None]
    deviations = completed - means[:, None, :]
    weighted = deviations * weights.T[:, :, None]
    scatter = np.swapaxes(weighted, 1, 2) @ deviations  # (K, d, d)
    block = np.ix_(missing, missing)
    for k in range(scatter.shape[0]):  # K small additions of (m, m) blocks
        scatter[k][block] += resp_sum[k] * conditional[k]
    if not full_scatter:
        scatter = np.diagonal(scatter, axis1=1, axis2=2).copy()
    return MomentStats(resp_sum, means, scatter)
