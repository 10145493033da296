"""Conjugate (Normal-Wishart) priors of the Gaussian family, one per structure.

Variational Bayes for a Gaussian mixture (Bishop 2006, *Pattern Recognition and
Machine Learning*, section 10.2) keeps, for each component, a Normal-Wishart
posterior: ``mean_precision`` (beta_k), ``means`` (m_k), ``degrees_of_freedom``
(nu_k) and a scale whose inverse, divided by nu_k, is stored as ``covariances``
(scikit-learn's normalisation). Posterior = prior + expected statistics: each
structure below owns the scale update and the Wishart normaliser for its shape,
so the variational algorithm never switches on the structure's name.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma, gammaln

__all__ = ["WISHART_PRIORS", "get_wishart_prior", "log_lambda"]


def log_lambda(degrees_of_freedom, n_features):
    """``E[log det Lambda] - log det(nu W)`` terms: ``d log 2 + sum digamma``.

    Parameters
    ----------
    degrees_of_freedom : ndarray of shape (n_components,) or float
    n_features : int

    Returns
    -------
    value : ndarray of shape (n_components,) or float
    """
    offsets = np.arange(n_features)[:, None]
    return n_features * math.log(2.0) + np.sum(
        digamma(0.5 * (np.atleast_1d(degrees_of_freedom) - offsets)), axis=0
    ).reshape(np.shape(degrees_of_freedom))


def log_wishart_norm(degrees_of_freedom, log_det_precisions_chol, n_features):
    """Log normaliser of Wishart distributions (without the constant log pi term).

    Parameters
    ----------
    degrees_of_freedom : ndarray of shape (n_components,) or float
    log_det_precisions_chol : ndarray of shape (n_components,) or float
        ``log det U`` of the scale's Cholesky factor.
    n_features : int

    Returns
    -------
    value : ndarray of shape (n_components,) or float
    """
    offsets = np.arange(n_features)[:, None]
    return -(
        degrees_of_freedom * log_det_precisions_chol
        + degrees_of_freedom * n_features * 0.5 * math.log(2.0)
        + np.sum(
            gammaln(0.5 * (np.atleast_1d(degrees_of_freedom) - offsets)), axis=0
        ).reshape(np.shape(degrees_of_freedom))
    )


class _FullWishart:
    """Each component its own Wishart over a full precision matrix."""

    def default_covariance_prior(self, X):
        return np.atleast_2d(np.cov(X.T))

    def prior_shape(self, n_features):
        return (n_features, n_features)

    def update(self, nk, xk, sk, prior):
        """Posterior degrees of freedom and normalised covariances."""
        dof = prior.degrees_of_freedom + nk
        diff = xk - prior.mean
        shrink = nk * prior.mean_precision / (prior.mean_precision + nk)
        scale = (
            prior.covariance
            + nk[:, None, None] * sk
            + shrink[:, None, None] * (diff[:, :, None] * diff[:, None, :])
        )
        return dof, scale / dof[:, None, None]

    def total_log_wishart_norm(self, dof, log_det, n_features, n_components):
        return float(np.sum(log_wishart_norm(dof, log_det, n_features)))


class _TiedWishart(_FullWishart):
    """One Wishart shared by all components."""

    def update(self, nk, xk, sk, prior):
        n_components = nk.shape[0]
        dof = prior.degrees_of_freedom + nk.sum() / n_components
        diff = xk - prior.mean
        mean_precision = prior.mean_precision + nk
        scale = (
            prior.covariance
            + sk * nk.sum() / n_components
            + prior.mean_precision
            / n_components
            * np.dot((nk / mean_precision) * diff.T, diff)
        )
        return dof, scale / dof

    def total_log_wishart_norm(self, dof, log_det, n_features, n_components):
        return n_components * float(log_wishart_norm(dof, log_det, n_features))


class _DiagWishart(_FullWishart):
    """Independent Gamma priors on each feature's precision, per component."""

    def default_covariance_prior(self, X):
        return np.var(X, axis=0, ddof=1)

    def prior_shape(self, n_features):
        return (n_features,)

    def update(self, nk, xk, sk, prior):
        dof = prior.degrees_of_freedom + nk
        diff = xk - prior.mean
        ratio = prior.mean_precision / (prior.mean_precision + nk)
        scale = prior.covariance + nk[:, None] * (sk + ratio[:, None] * diff**2)
        return dof, scale / dof[:, None]


class _SphericalWishart(_FullWishart):
    """One Gamma prior on each component's single precision."""

    def default_covariance_prior(self, X):
        return float(np.var(X, axis=0, ddof=1).mean())

    def prior_shape(self, n_features):
        return ()

    def update(self, nk, xk, sk, prior):
        dof = prior.degrees_of_freedom + nk
        diff = xk - prior.mean
        ratio = prior.mean_precision / (prior.mean_precision + nk)
        scale = prior.covariance + nk * (sk + ratio * np.mean(diff**2, axis=1))
        return dof, scale / dof


#: covariance structure name -> its conjugate prior
WISHART_PRIORS = {
    "full": _FullWishart(),
    "tied": _TiedWishart(),
    "diag": _DiagWishart(),
    "spherical": _SphericalWishart(),
}


def get_wishart_prior(structure_name):
    """The conjugate prior of a covariance structure, or a clear error."""
    try:
        return WISHART_PRIORS[structure_name]
    except KeyError:
        raise ValueError(
            f"variational inference has no conjugate prior for covariance_type "
            f"{structure_name!r} yet; use one of {sorted(WISHART_PRIORS)}"
        ) from None
