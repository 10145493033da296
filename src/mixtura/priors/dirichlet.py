"""Dirichlet priors: on categorical columns' levels and on multinomial terms.

Both are conjugate: given responsibility-weighted counts the posterior adds
them to the concentrations, and the same object serves EM (the posterior
mode), variational Bayes (``E[log p] = psi(a) - psi(sum a)`` and the
Dirichlets' KL; Bishop 2006, "Pattern Recognition and Machine Learning",
section 10.4) and collapsed Gibbs (the Dirichlet-multinomial marginal and
predictive; Gelman et al. 2013, *Bayesian Data Analysis*, section 23.2).

- :class:`CategoricalDirichlet`: column j's level probabilities
  ``p_kj ~ Dirichlet(concentration[block j])``, the blocks concatenated column
  after column as the Categorical family's parameters; the predictive of level
  l is ``(alpha_jl + c_jl) / (A_j + n)``.
- :class:`MultinomialDirichlet`: a component's term probabilities
  ``theta_k ~ Dirichlet(concentration)``; scipy.sparse input stays sparse in
  variational inference, and a document's predictive is a Dirichlet-multinomial
  (the model of Yin & Wang 2014, "A Dirichlet multinomial mixture model-based
  approach for short text clustering", KDD).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
from scipy.special import digamma, gammaln

from mixtura.families.base import split_missing
from mixtura.families.support import check_codes, check_counts
from mixtura.priors.base import (
    ConjugatePrior,
    PerFeaturePrior,
    check_width,
    non_negative,
    per_feature,
    positive_vector,
    row_chunks,
)
from mixtura.priors.divergences import kl_dirichlet

__all__ = ["CategoricalDirichlet", "MultinomialDirichlet", "mean_lengths"]


def block_offsets(n_levels):
    """Position of each column's first level in the concatenated blocks."""
    return np.concatenate([[0], np.cumsum(n_levels)[:-1]]).astype(np.intp)


def mean_lengths(term_sums, resp_sum):
    """Responsibility-weighted mean document length of each component, (K,)."""
    totals = term_sums.sum(axis=1)
    safe = np.where(resp_sum > 0, resp_sum, 1.0)
    return np.where(resp_sum > 0, totals / safe, 0.0)


def check_levels(n_levels):
    """``n_levels`` as an intp vector of integers >= 1, or a clear error."""
    n_levels = np.asarray(n_levels)
    if (
        n_levels.ndim != 1
        or not np.issubdtype(n_levels.dtype, np.number)
        or not np.all(np.floor(n_levels) == n_levels)
        or not np.all(n_levels >= 1)
    ):
        raise ValueError(
            "n_levels must hold one integer >= 1 per column; got "
            f"{n_levels.tolist()!r}."
        )
    return n_levels.astype(np.intp)


@dataclass(frozen=True, eq=False)
class CategoricalDirichlet(ConjugatePrior):
    """Dirichlet priors on each categorical column's level probabilities.

    Attributes
    ----------
    concentration : ndarray of shape (), (sum(n_levels),) or \
            (n_components, sum(n_levels))
        > 0 (>= 1 for the mode EM returns); a number applies to every level.
    n_levels : ndarray of shape (n_features,)
        Number of levels L_j of each column; its codes are ``0 .. L_j - 1``.
    """

    concentration: np.ndarray
    n_levels: np.ndarray

    parameter_names: ClassVar[tuple] = ("concentration",)

    def __post_init__(self):
        concentration = non_negative(self.concentration, "concentration")
        n_levels = np.asarray(self.n_levels, dtype=np.intp)
        if concentration.ndim and concentration.shape[-1] != n_levels.sum():
            raise ValueError(
                f"concentration needs {int(n_levels.sum())} values (the levels of "
                f"all columns); got {concentration.shape[-1]}."
            )
        object.__setattr__(self, "concentration", concentration)
        object.__setattr__(self, "n_levels", n_levels)

    @classmethod
    def checked(cls, concentration, n_levels):
        """Build the prior, refusing non-positive or misshapen parameters.

        Parameters
        ----------
        concentration : float, array-like of shape (sum(n_levels),) or \
                sequence of array-like
            One number for every level of every column (a symmetric
            Dirichlet), the concatenated levels, or one array of length
            ``n_levels[j]`` per column.
        n_levels : array-like of int of shape (n_features,)
            Number of levels of each column, >= 1.

        Returns
        -------
        CategoricalDirichlet
        """
        n_levels = check_levels(n_levels)
        total = int(n_levels.sum())
        per_column = isinstance(concentration, (list, tuple)) and any(
            np.ndim(column) > 0 for column in concentration
        )
        if not per_column:  # a number, or the concatenated levels
            return cls(positive_vector(concentration, total, "concentration"), n_levels)
        columns = list(concentration)
        if len(columns) != len(n_levels):
            raise ValueError(
                f"concentration must be a number or one array per column "
                f"({len(n_levels)} columns); got {len(columns)} arrays."
            )
        flat = [
            positive_vector(c, int(n), f"concentration[{j}]")
            for j, (c, n) in enumerate(zip(columns, n_levels, strict=True))
        ]
        return cls(np.concatenate(flat), n_levels)

    @classmethod
    def uniform(cls, X, n_levels=None):
        """The flat prior over the levels the codes show (the default).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Integer codes, NaN where missing.
        n_levels : array-like of int of shape (n_features,), default=None
            Number of levels of each column (None: its largest code + 1).

        Returns
        -------
        CategoricalDirichlet
        """
        if n_levels is None:
            check_codes(X)
            n_levels = np.nan_to_num(np.nanmax(X, axis=0)).astype(np.intp) + 1
        n_levels = (
            np.broadcast_to(n_levels, (X.shape[1],))
            if np.ndim(n_levels) == 0
            else np.asarray(n_levels)
        )
        if n_levels.shape != (X.shape[1],):
            raise ValueError(
                f"n_levels must be an integer or have shape ({X.shape[1]},) (one "
                f"per column); got shape {n_levels.shape}."
            )
        return cls.checked(1.0, n_levels)

    @property
    def n_features(self):
        """Number of categorical columns."""
        return self.n_levels.shape[0]

    def settings(self):
        """``n_levels`` may be replaced too (see :meth:`ConjugatePrior.replaced`)."""
        return {"n_levels"}

    def replaced(self, values):
        """This prior with some parameters replaced (see :class:`ConjugatePrior`)."""
        values = dict(values)
        n_levels = values.pop("n_levels", self.n_levels)
        if np.ndim(n_levels) == 0:  # one number for every column
            n_levels = np.full(self.n_features, n_levels)
        if np.shape(n_levels) != (self.n_features,):
            raise ValueError(
                f"n_levels must be an integer or have shape ({self.n_features},) "
                f"(one per column); got shape {np.shape(n_levels)}."
            )
        concentration = values.pop("concentration", None)
        super().replaced(values)  # refuses unknown names
        if concentration is None:
            same_levels = np.array_equal(np.asarray(n_levels), self.n_levels)
            # new levels: the flat default, for the concentrations no longer fit
            concentration = self.concentration if same_levels else 1.0
        return CategoricalDirichlet.checked(concentration, n_levels)

    def checked_against(self, default):
        """This prior, checked against the data's levels (see ConjugatePrior)."""
        if not np.array_equal(self.n_levels, default.n_levels):
            raise ValueError(
                f"the prior's n_levels {self.n_levels.tolist()} do not match the "
                f"data's {default.n_levels.tolist()}."
            )
        return CategoricalDirichlet.checked(self.concentration, self.n_levels)

    @cached_property
    def offsets(self):
        """Position of each column's first level in :attr:`concentration`."""
        return block_offsets(self.n_levels)

    @cached_property
    def column_totals(self):
        """``A_j = sum_l alpha_jl`` of each column, shape (n_features,)."""
        return np.add.reduceat(self.concentration, self.offsets)

    def _block_totals(self, values):
        totals = np.add.reduceat(values, self.offsets, axis=-1)
        return totals, np.repeat(totals, self.n_levels, axis=-1)

    def select(self, components):
        """The posterior of the given components."""
        return CategoricalDirichlet(self.concentration[components], self.n_levels)

    # -- every scheme ---------------------------------------------------------
    def update(self, stats):
        """``concentration + counts`` (see :class:`ConjugatePrior`)."""
        return CategoricalDirichlet(self.concentration + stats.counts, self.n_levels)

    # -- EM -------------------------------------------------------------------
    def mode(self, stats):
        """``probabilities`` at the posterior mode (uniform for an empty column)."""
        pseudo = stats.counts + (self.concentration - 1)
        totals = np.add.reduceat(pseudo, self.offsets, axis=1)  # (K, n_features)
        totals = np.repeat(totals, self.n_levels, axis=1)
        uniform = np.repeat(1.0 / self.n_levels, self.n_levels)[None, :]
        safe = np.where(totals > 0, totals, 1.0)
        probabilities = np.where(totals > 0, pseudo / safe, uniform)
        return {"probabilities": probabilities, "n_levels": self.n_levels}

    # -- variational Bayes ----------------------------------------------------
    def expected_natural_parameters(self):
        """Coefficients ``E[log p] = psi(a) - psi(block sum)``; no constants."""
        _, totals = self._block_totals(self.concentration)
        log_p = digamma(self.concentration) - digamma(totals)
        return np.ascontiguousarray(log_p.T), np.zeros(self.concentration.shape[0])

    def kl_divergence(self, prior):
        """Sum over the columns of the Dirichlets' KL (see :class:`ConjugatePrior`)."""
        alpha = self.concentration
        alpha0 = np.broadcast_to(prior.concentration, alpha.shape)
        total, total_repeated = self._block_totals(alpha)
        total0, _ = self._block_totals(alpha0)
        per_level = (
            gammaln(alpha0)
            - gammaln(alpha)
            + (alpha - alpha0) * (digamma(alpha) - digamma(total_repeated))
        )
        per_column = (
            gammaln(total)
            - gammaln(total0)
            + np.add.reduceat(per_level, self.offsets, -1)
        )
        return per_column.sum(axis=-1)

    def mean_parameters(self):
        """The posterior mean probabilities, and the levels."""
        _, totals = self._block_totals(self.concentration)
        return {
            "probabilities": self.concentration / totals,
            "n_levels": self.n_levels,
        }

    # -- collapsed Gibbs ------------------------------------------------------
    def check_data(self, X):
        """Refuse codes that are not integers in ``0 .. n_levels[j] - 1`` (or NaN)."""
        check_width(X, self.n_features)
        return check_codes(X, self.n_levels)

    def _index(self, X):
        """Flat position of each entry's level, shape (n_samples, n_features)."""
        return np.asarray(X, dtype=np.intp) + self.offsets

    def cluster_features(self, X):
        """The one-hot encoding of every column (all zero for a missing code)."""
        X, observed = split_missing(np.asarray(X, dtype=np.float64))
        index = self._index(X)
        one_hot = np.zeros((len(index), len(self.concentration)))
        np.put_along_axis(one_hot, index, 1.0 if observed is None else observed, axis=1)
        return one_hot

    def _log_totals(self, counts):
        """``log(A_j + n)`` summed over columns, per cluster."""
        n = per_feature(counts)
        return np.log(self.column_totals + n).sum(axis=1)

    def log_marginal(self, counts, sums):
        """The Dirichlet-multinomial marginal of each cluster's codes.

        ``sum_j [log Gamma(A_j) - log Gamma(A_j + n) + sum_l (log Gamma(alpha_jl
        + c_jl) - log Gamma(alpha_jl))]`` with ``A_j = sum_l alpha_jl``; see
        :meth:`ConjugatePrior.log_marginal`.
        """
        totals = self.column_totals
        n = per_feature(counts)
        alpha = self.concentration
        return (gammaln(totals) - gammaln(totals + n)).sum(axis=1) + (
            gammaln(alpha + sums) - gammaln(alpha)
        ).sum(axis=1)

    def log_predictive(self, X, counts, sums):
        """``sum_j log (alpha_jx + c_jx) / (A_j + n)`` over the observed codes.

        See :meth:`ConjugatePrior.log_predictive`.
        """
        X, observed = split_missing(np.asarray(X, dtype=np.float64))
        index = self._index(X)
        log_levels = np.log(self.concentration + sums)  # (K, sum L)
        out = np.empty((len(sums), len(index)))
        if observed is None:
            log_totals = self._log_totals(counts)
            for rows in row_chunks(len(index), len(sums), self.n_features):
                out[:, rows] = log_levels[:, index[rows]].sum(axis=2)
            return out - log_totals[:, None]
        for rows in row_chunks(len(index), len(sums), self.n_features):
            out[:, rows] = (log_levels[:, index[rows]] * observed[rows]).sum(axis=2)
        log_totals = np.log(self.column_totals + per_feature(counts))  # (K, d)
        return out - log_totals @ observed.T

    def log_predictive_one(self, x, counts, sums, observed=None):
        """One row's predictive (see :meth:`ConjugatePrior.log_predictive_one`)."""
        index = x.astype(np.intp) + self.offsets
        levels = self.concentration[index] + sums[:, index]
        if observed is None:
            return np.log(levels).sum(axis=1) - self._log_totals(counts)
        n = per_feature(counts)[:, observed]
        log_totals = np.log(self.column_totals[observed] + n).sum(axis=1)
        return np.log(levels[:, observed]).sum(axis=1) - log_totals


def _log_coefficients(X):
    """``log(n! / prod_v x_v!)`` of each dense row of counts, shape (n_samples,)."""
    return gammaln(X.sum(axis=1) + 1.0) - gammaln(X + 1.0).sum(axis=1)


@dataclass(frozen=True, eq=False)
class MultinomialDirichlet(PerFeaturePrior):
    """A Dirichlet prior on each multinomial component's term probabilities.

    Attributes
    ----------
    concentration : ndarray of shape (), (n_features,) or (n_components, n_features)
        > 0 (EM's mode needs >= 1; the Multinomial family's smoothing ``alpha``
        is ``concentration - 1``).
    lengths : ndarray of shape (n_components,) or None
        Mean document length of each component (not a parameter of the
        likelihood; the mean family samples lengths from it).
    """

    concentration: np.ndarray
    lengths: np.ndarray | None = None

    parameter_names: ClassVar[tuple] = ("concentration",)

    def select(self, components):
        """The posterior of the given components."""
        lengths = None if self.lengths is None else self.lengths[components]
        return dataclasses.replace(super().select(components), lengths=lengths)

    # -- every scheme ---------------------------------------------------------
    def update(self, stats):
        """``concentration + term counts`` (see :class:`ConjugatePrior`)."""
        return MultinomialDirichlet(
            self.concentration + stats.term_sums,
            mean_lengths(stats.term_sums, stats.resp_sum),
        )

    # -- EM -------------------------------------------------------------------
    def mode(self, stats):
        """``probabilities`` at the mode (uniform for a component with no counts)."""
        counts = stats.term_sums + (self.concentration - 1)
        totals = counts.sum(axis=1, keepdims=True)
        # a component with no counts at all under maximum likelihood: uniform
        uniform = np.full_like(counts, 1.0 / counts.shape[1])
        probabilities = np.where(
            totals > 0, counts / np.where(totals > 0, totals, 1.0), uniform
        )
        return {
            "probabilities": probabilities,
            "lengths": mean_lengths(stats.term_sums, stats.resp_sum),
        }

    # -- variational Bayes ----------------------------------------------------
    def expected_natural_parameters(self):
        """Coefficients ``E[log theta] = psi(a) - psi(sum a)``; no constants."""
        alpha = self.concentration
        log_theta = digamma(alpha) - digamma(alpha.sum(axis=1, keepdims=True))
        return np.ascontiguousarray(log_theta.T), np.zeros(alpha.shape[0])

    def kl_divergence(self, prior):
        """The Dirichlets' KL (see :class:`ConjugatePrior`)."""
        return kl_dirichlet(self.concentration, prior.concentration)

    def mean_parameters(self):
        """The posterior mean term probabilities, and the mean lengths."""
        alpha = self.concentration
        return {
            "probabilities": alpha / alpha.sum(axis=1, keepdims=True),
            "lengths": self.lengths,
        }

    # -- collapsed Gibbs ------------------------------------------------------
    def check_data(self, X):
        """Refuse negative and non-integer counts; return X."""
        check_width(X, self.n_features)
        return check_counts(X, "Dirichlet-process multinomial")

    def cluster_features(self, X):
        """The term counts, then the row's log multinomial coefficient."""
        X = np.asarray(X, dtype=np.float64)
        return np.hstack([X, _log_coefficients(X)[:, None]])

    def log_marginal(self, counts, sums):
        """The Dirichlet-multinomial marginal of each cluster's documents.

        ``sum_i log C(x_i) + log Gamma(A) - log Gamma(A + T) + sum_v (log
        Gamma(alpha_v + c_v) - log Gamma(alpha_v))`` with ``T`` the cluster's
        total count; see :meth:`ConjugatePrior.log_marginal`.
        """
        del counts  # a document's length, not the number of documents, counts
        alpha = self.concentration
        terms = sums[:, :-1]
        total = alpha.sum()
        return (
            sums[:, -1]
            + gammaln(total)
            - gammaln(total + terms.sum(axis=1))
            + (gammaln(alpha + terms) - gammaln(alpha)).sum(axis=1)
        )

    def log_predictive(self, X, counts, sums):
        """Dirichlet-multinomial predictives of documents given each cluster.

        See :meth:`ConjugatePrior.log_predictive`.
        """
        del counts
        X = np.asarray(X, dtype=np.float64)
        post = self.concentration + sums[:, :-1]  # (K, V)
        post_total = post.sum(axis=1)
        out = np.empty((len(post), len(X)))
        for rows in row_chunks(len(X), *post.shape):
            x = X[rows]
            out[:, rows] = (
                gammaln(post[:, None, :] + x[None]) - gammaln(post)[:, None, :]
            ).sum(axis=2) - gammaln(post_total[:, None] + x.sum(axis=1))
        return out + gammaln(post_total)[:, None] + _log_coefficients(X)
