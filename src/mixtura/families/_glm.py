"""The Newton system of weighted generalised linear models, batched over experts.

Iteratively reweighted least squares (IRLS; McCullagh & Nelder 1989, sec. 2.5)
for a canonical link is Newton's method: from coefficients ``beta`` with
linear predictor ``eta = X beta`` and mean ``mu``, the next coefficients solve

    (X^T R W X + Lambda) beta_new = X^T R (W eta + y - mu)

where ``R`` holds the row weights (responsibilities times sample weights),
``W`` the variance function (``mu`` for a Poisson, ``mu (1 - mu)`` for a
logistic, ``diag(pi) - pi pi^T`` per row for a multinomial logit) and
``Lambda`` the L2 penalty. Both sides are sums over rows, so they are additive
statistics: chunks, Dask blocks and restarts reduce them like any other, and
the M-step is one batched solve for all experts. Each EM iteration takes one
such step (a generalised EM step; the fit's line search makes it monotone,
:mod:`mixtura.inference.line_search`).

The left side's K weighted Gram matrices come from one product of the row
weights with the rows' pairwise products (``(n, K)^T @ (n, P^2)``), the form
whose FLOP count the regression benchmark reports.
"""

from __future__ import annotations

import numpy as np

from mixtura.exceptions import SingularCovarianceError
from mixtura.families.covariance import _lower_cholesky
from mixtura.stats import LinearStats

__all__ = [
    "multinomial_newton_statistics",
    "newton_solve",
    "poisson_newton_statistics",
    "weighted_grams",
]


def pair_products(design):
    """Each row's outer product with itself, flattened: shape (n, P * P)."""
    n, width = design.shape
    return (design[:, :, None] * design[:, None, :]).reshape(n, width * width)


def weighted_grams(weights, design):
    """``sum_i weights[i, e] x_i x_i^T`` for every column e, in one product.

    Parameters
    ----------
    weights : ndarray of shape (n_samples, n_columns)
    design : ndarray of shape (n_samples, P)

    Returns
    -------
    grams : ndarray of shape (n_columns, P, P)
    """
    width = design.shape[1]
    grams = weights.T @ pair_products(design)
    return grams.reshape(weights.shape[1], width, width)


def poisson_newton_statistics(design, counts, eta, offset, weights):
    """The IRLS system of K weighted Poisson regressions (log link) at ``eta``.

    Parameters
    ----------
    design : ndarray of shape (n_samples, P)
    counts : ndarray of shape (n_samples,)
    eta : ndarray of shape (n_samples, K)
        Each expert's linear predictor without the offset.
    offset : ndarray of shape (n_samples,) or None
    weights : ndarray of shape (n_samples, K)
        Responsibilities times sample weights.

    Returns
    -------
    stats : LinearStats
        ``resp_sum`` (K,), ``hessian`` (K, P, P) and ``rhs`` (K, P).
    """
    log_mean = eta if offset is None else eta + offset[:, None]
    mean = np.exp(np.minimum(log_mean, _LOG_MAX))
    working = weights * (mean * eta + counts[:, None] - mean)
    return LinearStats(
        weights.sum(axis=0),
        hessian=weighted_grams(weights * mean, design),
        rhs=working.T @ design,
    )


def multinomial_newton_statistics(design, targets, log_probs, eta, weights):
    """The IRLS system of K weighted multinomial logits at their current fit.

    The first class is the reference (its coefficients are 0), as in R's
    ``nnet::multinom`` and flexmix's concomitant models; a binary response is
    the case of two classes, whose one free column models ``P(y = 1)``.

    Parameters
    ----------
    design : ndarray of shape (n_samples, P)
    targets : ndarray of shape (n_samples, M)
        One-hot classes, or any rows of class probabilities (a gate's targets
        are the responsibilities).
    log_probs : ndarray of shape (n_samples, K, M)
        Each model's current class log probabilities.
    eta : ndarray of shape (n_samples, K, M - 1)
        Each model's current logits of the classes after the first.
    weights : ndarray of shape (n_samples, K)
        Row weights of each model.

    Returns
    -------
    stats : LinearStats
        ``resp_sum`` (K,), ``hessian`` (K, (M-1) P, (M-1) P) and ``rhs``
        (K, (M-1) P), coefficients ordered class-major (class c's P
        coefficients are entries ``c P .. (c + 1) P - 1``).
    """
    n, width = design.shape
    n_models, n_free = eta.shape[1], eta.shape[2]
    probs = np.exp(log_probs[:, :, 1:])
    # W = diag(pi) - pi pi^T over the free classes, per row and model
    variance = -probs[:, :, :, None] * probs[:, :, None, :]
    free = np.arange(n_free)
    variance[:, :, free, free] += probs
    working = np.einsum("nkab,nkb->nka", variance, eta) + targets[:, None, 1:] - probs
    working *= weights[:, :, None]
    blocks = weighted_grams(
        (weights[:, :, None, None] * variance).reshape(n, -1), design
    ).reshape(n_models, n_free, n_free, width, width)
    hessian = blocks.transpose(0, 1, 3, 2, 4).reshape(
        n_models, n_free * width, n_free * width
    )
    rhs = (working.reshape(n, -1).T @ design).reshape(n_models, n_free * width)
    return LinearStats(weights.sum(axis=0), hessian=hessian, rhs=rhs)


#: exp() of a linear predictor is capped here (about 1e300): a diverging
#: Newton step gives a huge but finite mean, which the line search rejects
_LOG_MAX = 690.0


def newton_solve(hessian, rhs, penalty, what="expert"):
    """Solve ``(hessian + diag(penalty)) beta = rhs`` for every model at once.

    Parameters
    ----------
    hessian : ndarray of shape (K, m, m)
    rhs : ndarray of shape (K, m)
    penalty : ndarray of shape (m,)
        The L2 penalty of each coefficient.
    what : str
        What a model is, for the error message.

    Returns
    -------
    beta : ndarray of shape (K, m)

    Raises
    ------
    SingularCovarianceError
        When a model's system is not positive definite even after a jitter
        of 1e-10 of its mean diagonal (an expert with no rows, or inputs
        that are collinear within it and no penalty): it names the models.
    """
    system = hessian + np.diag(penalty)[None]
    try:
        factor = np.linalg.cholesky(system)
    except np.linalg.LinAlgError:
        scale = np.abs(np.diagonal(system, axis1=1, axis2=2)).mean(axis=1)
        jitter = 1e-10 * np.where(scale > 0, scale, 1.0)
        system = system + jitter[:, None, None] * np.eye(system.shape[1])
        factor = _checked_cholesky(system, what)
    solved = np.linalg.solve(factor, rhs[:, :, None])
    return np.linalg.solve(np.swapaxes(factor, 1, 2), solved)[:, :, 0]


def _checked_cholesky(system, what):
    try:
        return _lower_cholesky(system)
    except SingularCovarianceError as error:
        bad = list(error.components or ())
        raise SingularCovarianceError(
            f"the weighted least-squares system of {what} {bad} is singular: "
            "too few rows, or collinear inputs within it. Set alpha > 0 (an L2 "
            "penalty), or use fewer components.",
            components=bad,
        ) from None
