"""Closed-form KL divergences of the distributions the conjugate priors use.

Shared by the component priors (:mod:`mixtura.priors.beta`,
:mod:`mixtura.priors.gamma`, :mod:`mixtura.priors.dirichlet`) and the weight
priors (:mod:`mixtura.priors.weights`); each is elementwise (or over the last
axis) so that all K components come out of one call.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln

__all__ = ["kl_beta", "kl_dirichlet", "kl_gamma"]


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


def kl_gamma(shape, rate, shape0, rate0):
    """KL(Gamma(shape, rate) || Gamma(shape0, rate0)), elementwise (rate form).

    ``(a - a0) psi(a) - log Gamma(a) + log Gamma(a0) + a0 (log b - log b0)
    + a (b0 - b) / b``.

    Parameters
    ----------
    shape, rate : array-like
        Parameters of the first Gamma distribution(s), > 0.
    shape0, rate0 : array-like
        Those of the second, broadcastable against the first.

    Returns
    -------
    kl : ndarray
        Broadcast shape of the inputs, >= 0.
    """
    return (
        (shape - shape0) * digamma(shape)
        - gammaln(shape)
        + gammaln(shape0)
        + shape0 * (np.log(rate) - np.log(rate0))
        + shape * (rate0 - rate) / rate
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
