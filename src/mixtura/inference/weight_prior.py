"""Variational posteriors of mixing weights: finite Dirichlet or Dirichlet process.

Shared by every variational mixture (Gaussian and the conjugate discrete
families). Two priors on the weights pi of K components:

- ``'dirichlet_distribution'``: pi ~ Dirichlet(gamma_0, ..., gamma_0); the
  posterior is Dirichlet(gamma_0 + N_k) (Bishop 2006, "Pattern Recognition and
  Machine Learning", eq. 10.58).
- ``'dirichlet_process'``: truncated stick-breaking, pi_k = v_k prod_{j<k}
  (1 - v_j) with v_k ~ Beta(1, gamma_0) (Blei & Jordan 2006, "Variational
  inference for Dirichlet process mixtures", Bayesian Analysis 1(1)); the
  posterior of each stick is Beta(1 + N_k, gamma_0 + sum_{j>k} N_j). As in
  scikit-learn, the K-th stick keeps its Beta posterior and the assignments are
  truncated to the first K components, sticks beyond K keeping their prior
  (Kurihara, Welling & Vlassis 2007, "Accelerated variational Dirichlet process
  mixtures", NIPS 19): the bound below is then a lower bound on the evidence of
  the untruncated model.

Here ``N_k`` is the (sample-weighted) responsibility mass of component k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln

__all__ = [
    "WEIGHT_PRIORS",
    "WeightPrior",
    "expected_log_weights",
    "kl_beta",
    "kl_dirichlet",
    "log_weight_norm",
    "mean_weights",
    "weight_kl",
    "weight_posterior",
]

WEIGHT_PRIORS = ("dirichlet_process", "dirichlet_distribution")


@dataclass(frozen=True)
class WeightPrior:
    """The prior of the mixing weights.

    Attributes
    ----------
    weight_prior_type : {'dirichlet_process', 'dirichlet_distribution'}
    weight_concentration : float
        Dirichlet concentration (or the DP's concentration) gamma_0, > 0.
    """

    weight_prior_type: str
    weight_concentration: float


def weight_posterior(prior, nk):
    """Posterior concentration of the weights given responsibility masses.

    Parameters
    ----------
    prior : WeightPrior or GaussianPrior
        Anything with ``weight_prior_type`` and ``weight_concentration``.
    nk : ndarray of shape (n_components,)
        Responsibility mass of each component.

    Returns
    -------
    concentration : ndarray of shape (n_components,) or tuple of two such
        Dirichlet parameters ``gamma_0 + N_k``, or the sticks' Beta parameters
        ``(1 + N_k, gamma_0 + sum_{j > k} N_j)`` for the Dirichlet process.
    """
    if prior.weight_prior_type == "dirichlet_process":
        tail = np.concatenate((np.cumsum(nk[::-1])[-2::-1], [0.0]))
        return (1.0 + nk, prior.weight_concentration + tail)
    return prior.weight_concentration + nk


def log_weight_norm(weight_prior_type, concentration):
    """Log normaliser of the weights' posterior (scikit-learn's sign convention).

    Parameters
    ----------
    weight_prior_type : {'dirichlet_process', 'dirichlet_distribution'}
    concentration : ndarray or tuple of ndarray
        As :func:`weight_posterior` returns.

    Returns
    -------
    value : float
        ``log Gamma(sum a) - sum log Gamma(a)`` for a Dirichlet, ``-sum log
        B(a_k, b_k)`` for the sticks.
    """
    if weight_prior_type == "dirichlet_process":
        return -float(np.sum(betaln(concentration[0], concentration[1])))
    return float(gammaln(np.sum(concentration)) - np.sum(gammaln(concentration)))


def expected_log_weights(weight_prior_type, concentration):
    """``E[log pi_k]`` under the weights' posterior.

    Parameters
    ----------
    weight_prior_type : {'dirichlet_process', 'dirichlet_distribution'}
    concentration : ndarray or tuple of ndarray
        As :func:`weight_posterior` returns.

    Returns
    -------
    expected : ndarray of shape (n_components,)
        ``psi(a_k) - psi(sum a)`` for a Dirichlet; for the sticks
        ``E[log v_k] + sum_{j<k} E[log(1 - v_j)]`` (Blei & Jordan 2006, eq. 21).
    """
    if weight_prior_type == "dirichlet_process":
        a, b = concentration
        digamma_sum = digamma(a + b)
        remaining = np.cumsum(digamma(b) - digamma_sum)[:-1]
        return digamma(a) - digamma_sum + np.concatenate(([0.0], remaining))
    alpha = np.asarray(concentration)
    return digamma(alpha) - digamma(np.sum(alpha))


def mean_weights(weight_prior_type, concentration):
    """Posterior mean of the weights, renormalised over the K components.

    Parameters
    ----------
    weight_prior_type : {'dirichlet_process', 'dirichlet_distribution'}
    concentration : ndarray or tuple of ndarray
        As :func:`weight_posterior` returns.

    Returns
    -------
    weights : ndarray of shape (n_components,)
        Summing to one (for the DP, the mass beyond the truncation is spread
        proportionally, as scikit-learn does).
    """
    if weight_prior_type == "dirichlet_process":
        a, b = concentration
        total = a + b
        weights = a / total * np.concatenate(([1.0], np.cumprod(b / total)[:-1]))
        return weights / weights.sum()
    alpha = np.asarray(concentration)
    return alpha / np.sum(alpha)


def kl_beta(a, b, a0, b0):
    """KL(Beta(a, b) || Beta(a0, b0)), elementwise, in closed form.

    ``log B(a0, b0) - log B(a, b) + (a - a0) psi(a) + (b - b0) psi(b)
    + (a0 - a + b0 - b) psi(a + b)``.

    Parameters
    ----------
    a, b : array-like
        Parameters of the first Beta distribution(s), > 0.
    a0, b0 : array-like
        Parameters of the second, broadcastable against ``a`` and ``b``.

    Returns
    -------
    kl : ndarray
        Broadcast shape of the inputs, >= 0.
    """
    return (
        betaln(a0, b0)
        - betaln(a, b)
        + (a - a0) * digamma(a)
        + (b - b0) * digamma(b)
        + (a0 - a + b0 - b) * digamma(a + b)
    )


def kl_dirichlet(alpha, alpha0):
    """KL(Dirichlet(alpha) || Dirichlet(alpha0)) over the last axis.

    ``log Gamma(A) - sum log Gamma(alpha) - log Gamma(A0) + sum log Gamma(alpha0)
    + sum (alpha - alpha0)(psi(alpha) - psi(A))``, with A and A0 the sums.

    Parameters
    ----------
    alpha : array-like of shape (..., n_levels)
        Concentrations of the first distribution(s), > 0.
    alpha0 : array-like of shape (..., n_levels)
        Those of the second, broadcastable against ``alpha``.

    Returns
    -------
    kl : ndarray of shape (...)
        >= 0.
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    alpha0 = np.broadcast_to(np.asarray(alpha0, dtype=np.float64), alpha.shape)
    total = alpha.sum(axis=-1)
    return (
        gammaln(total)
        - gammaln(alpha).sum(axis=-1)
        - gammaln(alpha0.sum(axis=-1))
        + gammaln(alpha0).sum(axis=-1)
        + ((alpha - alpha0) * (digamma(alpha) - digamma(total)[..., None])).sum(axis=-1)
    )


def weight_kl(prior, concentration):
    """KL(q(pi) || p(pi)) of the weights, including every constant.

    Parameters
    ----------
    prior : WeightPrior or GaussianPrior
        Anything with ``weight_prior_type`` and ``weight_concentration``.
    concentration : ndarray or tuple of ndarray
        The posterior, as :func:`weight_posterior` returns.

    Returns
    -------
    kl : float
        For the DP, the sum over the K sticks of KL(Beta(a_k, b_k) ||
        Beta(1, gamma_0)); for the finite Dirichlet, KL(Dirichlet(a) ||
        Dirichlet(gamma_0, ..., gamma_0)).
    """
    gamma0 = prior.weight_concentration
    if prior.weight_prior_type == "dirichlet_process":
        a, b = concentration
        return float(np.sum(kl_beta(a, b, 1.0, gamma0)))
    return float(kl_dirichlet(concentration, gamma0))
