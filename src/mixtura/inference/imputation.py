"""Single and multiple imputation of missing entries (NaN) from a fitted mixture.

Shared by the estimators whose components have closed-form conditionals of the
missing block given the observed one (Gaussian, Student-t). An estimator gives
the responsibilities ``P(k | x_o)`` (from the observed block's marginal density)
and a ``conditional(X_pattern, observed)`` callable returning a
:class:`Conditional`; this module groups the rows by missingness pattern, averages
the conditional means, or draws completions. A component whose conditional is a
multivariate t (``degrees_of_freedom`` set) is drawn as a Gaussian draw divided
by ``sqrt(w)``, ``w ~ chi2(df) / df``, so one code path serves both.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mixtura.families.gaussian_missing import missingness_patterns

__all__ = ["Conditional", "impute_rows"]


class Conditional(NamedTuple):
    """The conditional distribution of a pattern's missing block, per component.

    Attributes
    ----------
    completed : ndarray of shape (n_components, n_rows, n_features)
        The rows with each missing entry replaced by its conditional mean
        (location) under each component.
    covariances : ndarray of shape (n_components, n_missing, n_missing)
        Conditional covariances (Gaussian), or the conditional scale matrices
        before the per-row factor (t).
    row_scales : ndarray of shape (n_components, n_rows) or None
        Per-row factor of the scale matrices (the t's
        ``(nu + delta_o) / (nu + p_o)``); None for 1.
    degrees_of_freedom : ndarray of shape (n_components,) or None
        Degrees of freedom of a t conditional; None for a Gaussian one.
    """

    completed: np.ndarray
    covariances: np.ndarray
    row_scales: np.ndarray | None = None
    degrees_of_freedom: np.ndarray | None = None


def impute_rows(X, resp, conditional, n_imputations, rng):
    """Fill the NaN of ``X`` by conditional means, or draw completions.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated data with NaN for missing entries.
    resp : ndarray of shape (n_samples, n_components)
        ``P(k | x_o)`` of each row.
    conditional : callable
        ``conditional(X_pattern, observed) -> Conditional``.
    n_imputations : int or None
        None for the conditional mean ``sum_k P(k | x_o) E[x_m | x_o, k]``.
    rng : numpy.random.RandomState
        For the draws (unused for the conditional mean).

    Returns
    -------
    X_filled : ndarray of shape (n_samples, n_features) or \
            (n_imputations, n_samples, n_features)
    """
    patterns = [(rows, obs) for rows, obs in missingness_patterns(X) if not obs.all()]
    if n_imputations is None:
        filled = X.copy()
        for rows, observed in patterns:
            completed = conditional(X[rows], observed).completed
            missing = ~observed
            filled[np.ix_(rows, missing)] = np.einsum(
                "nk,knd->nd", resp[rows], completed[:, :, missing]
            )
        return filled
    n_draws = int(n_imputations)
    draws = np.broadcast_to(X, (n_draws, *X.shape)).copy()
    for rows, observed in patterns:
        draws[:, rows] = _draw_completions(
            X[rows], observed, conditional(X[rows], observed), resp[rows], rng, n_draws
        )
    return draws


def _draw_completions(X, observed, conditional, resp, rng, n_draws):
    """Random completions of rows sharing one missingness pattern.

    Returns an array of shape (n_draws, n_rows, n_features).
    """
    missing = ~observed
    columns = np.flatnonzero(missing)
    out = np.broadcast_to(X, (n_draws, *X.shape)).copy()
    # a component per draw and row, from the posterior memberships
    cumulative = np.cumsum(resp, axis=1)
    uniforms = rng.uniform(size=(n_draws, X.shape[0], 1)) * cumulative[:, -1:]
    components = np.minimum(
        (uniforms > cumulative[None]).sum(axis=2), resp.shape[1] - 1
    )
    for k in np.unique(components):
        draw, row = np.nonzero(components == k)
        # conditional covariances are SPD; eigh tolerates round-off at the edge
        values, vectors = np.linalg.eigh(conditional.covariances[k])
        factor = vectors * np.sqrt(np.clip(values, 0.0, None))
        noise = rng.standard_normal((draw.size, columns.size)) @ factor.T
        if conditional.row_scales is not None:
            noise *= np.sqrt(conditional.row_scales[k][row])[:, None]
        if conditional.degrees_of_freedom is not None:
            nu = conditional.degrees_of_freedom[k]
            noise /= np.sqrt(rng.chisquare(nu, size=draw.size) / nu)[:, None]
        out[draw[:, None], row[:, None], columns[None, :]] = (
            conditional.completed[k][row][:, missing] + noise
        )
    return out
