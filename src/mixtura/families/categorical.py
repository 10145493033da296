"""Independent categorical components: polytomous items (latent class analysis)."""

from __future__ import annotations

import numpy as np
from array_api_compat import device

from mixtura._validation import column_label
from mixtura.backend import get_namespace, posterior_in_place, to_namespace, to_numpy
from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families.base import Family, product_row_values
from mixtura.families.bernoulli import weighted_sums
from mixtura.priors.dirichlet import CategoricalDirichlet
from mixtura.stats import LinearStats

__all__ = ["Categorical", "one_hot"]

#: Probabilities are kept at or above EPSILON in the log-densities, so that a level a
#: component never shows (a boundary estimate of 0) keeps a finite log-probability.
EPSILON = 1e-10


def one_hot(X, n_levels, xp=None):
    """Concatenated one-hot encoding of integer codes, column block by column block.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Codes; column j holds integers in ``[0, n_levels[j])``.
    n_levels : sequence of int of length n_features
        Number of levels L_j of each column.
    xp : namespace, optional
        X's array namespace.

    Returns
    -------
    indicators : array of shape (n_samples, sum(n_levels))
        ``indicators[i, offset_j + l] = 1`` where ``X[i, j] == l``; X's dtype.
    """
    if isinstance(X, np.ndarray):
        return _one_hot_numpy(X, np.asarray(n_levels, dtype=np.intp))
    xp = xp or get_namespace(X)
    blocks = []
    for j, n in enumerate(n_levels):
        levels = xp.arange(int(n), dtype=X.dtype, device=device(X))
        blocks.append(xp.astype(X[:, j : j + 1] == levels[None, :], X.dtype))
    return xp.concat(blocks, axis=1)


def _one_hot_numpy(X, n_levels):
    """:func:`one_hot` of a NumPy array: one scatter of ones into zeros.

    A code that is not an integer in ``[0, n_levels[j])`` (a missing code, NaN,
    included) leaves its block all zero, as the comparison with each level does.
    """
    n_samples = X.shape[0]
    total = int(n_levels.sum())
    indicators = np.zeros((n_samples, total), dtype=X.dtype)
    values = X  # (ruff reads an upper-case name as a constant)
    with np.errstate(invalid="ignore"):
        valid = (values >= 0) & (values < n_levels) & (values == np.floor(values))
    every = bool(valid.all())
    codes = (values if every else np.where(valid, values, 0)).astype(np.intp)
    codes += _offsets(n_levels)[None, :]
    codes += (np.arange(n_samples, dtype=np.intp) * total)[:, None]
    indicators.reshape(-1)[codes.ravel() if every else codes[valid]] = 1
    return indicators


def _offsets(n_levels):
    """Start of each column's block in the concatenated levels, shape (n_features,)."""
    return np.concatenate([[0], np.cumsum(n_levels)[:-1]]).astype(np.intp)


def _check_parameters(probabilities, n_levels):
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n_levels = np.asarray(n_levels)
    if n_levels.ndim != 1 or not np.issubdtype(n_levels.dtype, np.integer):
        raise ValueError("n_levels must be a 1-D array of integers")
    if np.any(n_levels < 1):
        raise ValueError("every column needs at least one level")
    if probabilities.ndim != 2 or probabilities.shape[1] != n_levels.sum():
        raise ValueError(
            f"probabilities must have shape (n_components, {int(n_levels.sum())}) "
            f"for n_levels {n_levels.tolist()}; got {probabilities.shape}"
        )
    if not np.all(probabilities >= 0):
        raise ValueError("probabilities must be non-negative")
    totals = np.add.reduceat(probabilities, _offsets(n_levels), axis=1)
    if not np.allclose(totals, 1.0, rtol=0, atol=1e-6):
        raise ValueError("each column's probabilities must sum to one per component")
    return probabilities, n_levels.astype(np.int64)


class Categorical(Family):
    """Components of independent categorical features, x_j ~ Categorical(p_kj).

    The latent class model for polytomous items (Goodman 1974; poLCA's model,
    Linzer & Lewis 2011). Data are integer codes, column j in ``[0, L_j)``; on the
    concatenated one-hot encoding Z (n, sum L_j), ``log p(x | k) = Z @ log(p_k)``,
    so the E-step for all components is one matrix product.

    Parameters
    ----------
    n_levels : sequence of int of length n_features, optional
        Number of levels L_j of each column. A template without it takes
        ``max(code) + 1`` from the data it is given (estimators always pass it, so
        that every chunk's statistics have the same shape). Not part of
        :meth:`config`: it is the shape of the parameters, stored with them.
    alpha : float, default=1.0
        Symmetric Dirichlet(alpha) prior on each column's probabilities; the M-step
        returns its posterior mode (MAP), ``(s_l + alpha - 1) / (n + L (alpha -
        1))``. ``alpha = 1`` (flat) is maximum likelihood; it must be at least 1.
    probabilities : array-like of shape (n_components, sum(n_levels)), optional
        Concatenated per-column probabilities, each column's block summing to one
        per component; omitted for a template.
    """

    name = "categorical"
    #: a missing code (NaN) has an all-zero one-hot block, so it drops out of the
    #: row's likelihood and of the level counts that the M-step normalises
    supports_missing = True
    conjugate_prior = CategoricalDirichlet

    def __init__(self, n_levels=None, alpha=1.0, *, probabilities=None):
        self.alpha = float(alpha)
        if self.alpha < 1:
            raise ValueError(
                f"alpha must be >= 1 (got {alpha}): the Dirichlet prior's mode, "
                "which the M-step returns, needs it."
            )
        self.n_levels = None if n_levels is None else np.asarray(n_levels, np.int64)
        self.probabilities = None
        if probabilities is None:
            return
        self.probabilities, self.n_levels = _check_parameters(
            probabilities, self.n_levels
        )
        self._log_probabilities = np.log(np.maximum(self.probabilities, EPSILON))

    @property
    def n_components(self):
        return self.probabilities.shape[0]

    @property
    def n_features(self):
        return self.n_levels.shape[0]

    def item_probabilities(self):
        """Class-conditional response probabilities of each column.

        Returns
        -------
        probabilities : list of ndarray of shape (n_components, n_levels[j])
            ``probabilities[j][k, l] = P(x_j = l | component k)``.
        """
        self._require_parameters()
        return np.split(self.probabilities, np.cumsum(self.n_levels)[:-1], axis=1)

    def _require_parameters(self):
        if self.probabilities is None:
            raise ValueError(
                "this categorical family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def _levels_for(self, X):
        if self.n_levels is not None:
            return self.n_levels
        codes = to_numpy(X)
        if not np.isnan(codes).any():
            return (codes.max(axis=0) + 1).astype(np.int64)
        observed = np.where(np.isnan(codes), -1.0, codes)
        return (np.maximum(observed.max(axis=0), 0) + 1).astype(np.int64)

    def check_data(self, X):
        """Refuse codes that are not integers in ``[0, n_levels[j])``."""
        upper = np.inf if self.n_levels is None else self.n_levels[None, :]
        if self.n_levels is not None and X.shape[1] != self.n_features:
            raise DataValidationError(
                f"X has {X.shape[1]} columns; the model has {self.n_features}."
            )
        with np.errstate(invalid="ignore"):
            bad = (X < 0) | (np.floor(X) != X) | (upper <= X)
        bad &= ~np.isnan(X)  # a missing code, let through only with missing='em'
        if np.any(bad):
            column = int(np.flatnonzero(bad.any(axis=0))[0])
            value = X[:, column][bad[:, column]][0]
            raise DataValidationError(
                f"categorical data must be integer codes 0 .. L_j - 1 of each "
                f"column's levels, but {column_label(column)} holds "
                f"{float(value):g}. Pass "
                "codes, or use CategoricalMixture, which encodes strings and "
                "categoricals."
            )
        return X

    def init_features(self, X):
        """The one-hot encoding, on which k-means compares response patterns."""
        return one_hot(X, self._levels_for(X), np)

    def chunk_row_values(self, n_features, n_components):
        """Per-row temporaries: one-hot indicators, their integer positions and
        the product's K-vectors."""
        if self.n_levels is not None:
            n_indicators = int(np.sum(self.n_levels))
        else:  # a template: its levels are not known yet
            n_indicators = 8 * n_features
        return product_row_values(2 * n_indicators, n_components)

    def log_prob(self, X):
        self._require_parameters()
        xp = get_namespace(X)
        log_p = to_namespace(self._log_probabilities, X)
        return xp.matmul(one_hot(X, self.n_levels, xp), xp.permute_dims(log_p, (1, 0)))

    def fused_statistics(self, X, log_weights, sample_weight=None):
        """E-step and statistics of a NumPy chunk with one one-hot encoding.

        The composed path encodes the chunk twice (log densities, then
        statistics); the encoding is most of the time of either.
        """
        if self.probabilities is None or not isinstance(X, np.ndarray):
            return None
        indicators = one_hot(X, self.n_levels)
        log_p = self._log_probabilities.astype(X.dtype, copy=False)
        joint_t = log_p @ indicators.T  # (K, n): the posterior works in place
        joint_t += np.asarray(log_weights, dtype=X.dtype)[:, None]
        log_density = posterior_in_place(joint_t)
        resp_sum, counts = weighted_sums(indicators, joint_t.T, sample_weight)
        if sample_weight is not None:
            log_density = log_density * sample_weight
        stats = LinearStats(resp_sum, counts=counts)
        return stats, float(np.sum(log_density, dtype=np.float64))

    def statistics(self, X, resp, sample_weight=None):
        indicators = one_hot(X, self._levels_for(X))
        resp_sum, counts = weighted_sums(indicators, resp, sample_weight)
        return LinearStats(resp_sum, counts=counts)

    def expected_linear_term(self, X, coefficients):
        """The one-hot codes times the coefficients (a NaN code has no level)."""
        xp = get_namespace(X)
        indicators = one_hot(X, self._levels_for(X), xp)
        return xp.matmul(indicators, to_namespace(coefficients, X))

    def prior_for(self, n_levels):
        """The symmetric Dirichlet(alpha) prior whose mode the M-step returns."""
        return CategoricalDirichlet(self.alpha, n_levels)

    def default_prior(self, X):
        """A uniform Dirichlet over each column's levels (the codes' or n_levels)."""
        return CategoricalDirichlet.uniform(X, self.n_levels)

    def maximize(self, stats):
        n_levels = (
            self.n_levels
            if self.n_levels is not None
            # a template that has seen no data: one block per column is unknown
            else np.array([stats.counts.shape[1]], dtype=np.int64)
        )
        return self.with_parameters(**self.prior_for(n_levels).mode(stats))

    def sample(self, labels, random_state):
        self._require_parameters()
        labels = np.asarray(labels)
        uniform = random_state.uniform(size=(labels.shape[0], self.n_features))
        samples = np.empty_like(uniform)
        for j, block in enumerate(self.item_probabilities()):  # a loop over columns
            cumulative = np.cumsum(block, axis=1)[labels]
            samples[:, j] = (uniform[:, j : j + 1] >= cumulative[:, :-1]).sum(axis=1)
        return samples

    def n_parameters(self):
        self._require_parameters()
        return self.n_components * int((self.n_levels - 1).sum())

    def config(self):
        return {"alpha": self.alpha}

    def arrays(self):
        self._require_parameters()
        return {"probabilities": self.probabilities, "n_levels": self.n_levels}

    @classmethod
    def from_arrays(cls, config, arrays):
        try:
            probabilities, n_levels = _check_parameters(
                arrays["probabilities"], arrays["n_levels"]
            )
        except ValueError as exc:
            raise ModelFileError(str(exc)) from exc
        return cls(n_levels, config["alpha"], probabilities=probabilities)

    def __repr__(self):
        if self.probabilities is None:
            return f"Categorical(alpha={self.alpha}, template)"
        return (
            f"Categorical(n_components={self.n_components}, "
            f"n_levels={self.n_levels.tolist()})"
        )
