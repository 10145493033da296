"""Conjugate priors of the discrete families, for collapsed Gibbs sampling.

The collapsed Gibbs sampler for Dirichlet-process mixtures (Neal 2000, "Markov
chain sampling methods for Dirichlet process mixture models", J. Comput. Graph.
Stat. 9(2), algorithm 3) integrates each cluster's parameters out. With features
independent given the cluster and a conjugate prior per feature, a cluster's data
have a closed-form marginal likelihood and a new point's posterior predictive is a
product over features (Bernardo & Smith 1994, *Bayesian Theory*, appendix A;
Gelman et al. 2013, *Bayesian Data Analysis*, chapter 2):

- :class:`BetaBernoulli`: binary features, ``p_j ~ Beta(a_j, b_j)``; the
  predictive of one feature is Bernoulli with ``(a_j + s_j) / (a_j + b_j + n)``
  (a beta-binomial with one trial).
- :class:`GammaPoisson`: count features, ``lambda_j ~ Gamma(shape_j, rate_j)``;
  the predictive is negative binomial with ``shape_j + s_j`` successes and
  success probability ``(rate_j + n) / (rate_j + n + 1)``.
- :class:`DirichletCategorical`: integer-coded categorical columns,
  ``pi_j ~ Dirichlet(alpha_j1 .. alpha_jL)``; the predictive of level l is
  ``(alpha_jl + c_jl) / (sum_l alpha_jl + n)``.

A cluster is summarised by its count ``n`` and the sums over its points of the
features :meth:`features` returns (the data for Bernoulli; the data and the sum of
``log x_j!`` for Poisson; the one-hot encoding for categorical columns). Sums of
these are exact in float64 for any realistic data size, so clusters can be
updated point by point without round-off.

Missing entries (NaN) drop out exactly: features are independent given the
cluster, so integrating a missing entry out of the likelihood removes its factor.
A missing entry's features are zero, each feature's posterior counts only the
rows that observe it (``counts`` of shape (n_clusters, n_features) instead of
(n_clusters,)), and a row's predictive is the product over its observed features.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import betaln, gammaln

from mixtura.exceptions import DataValidationError
from mixtura.families.base import split_missing
from mixtura.families.poisson import check_counts

__all__ = ["BetaBernoulli", "DirichletCategorical", "GammaPoisson", "check_codes"]

#: rows of (clusters x rows x features) temporaries are processed in chunks this big
_CHUNK_ELEMENTS = 2**20


def _positive_vector(value, n_features, name):
    """``value`` broadcast to a finite positive float64 vector of n_features."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be positive numbers; got {value!r}.") from exc
    if array.ndim > 1 or (array.ndim == 1 and array.shape[0] != n_features):
        raise ValueError(
            f"{name} must be a number or an array of shape ({n_features},) "
            f"(one per feature); got shape {array.shape}."
        )
    if not (np.isfinite(array).all() and (array > 0).all()):
        raise ValueError(f"{name} must be finite and > 0; got {value!r}.")
    return np.broadcast_to(array, (n_features,)).copy()


def _per_feature(counts):
    """Cluster sizes as a column (n_clusters, 1), or per-feature counts as given.

    With complete rows every feature of a cluster has seen its ``n`` points; with
    missing entries feature j has seen only the ``n_j`` points observing it.
    """
    n = np.asarray(counts, dtype=np.float64)
    return n[:, None] if n.ndim == 1 else n


def _row_chunks(n_rows, n_clusters, n_features):
    step = max(1, _CHUNK_ELEMENTS // max(1, n_clusters * n_features))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


@dataclass(frozen=True)
class BetaBernoulli:
    """Independent Beta priors on the success probabilities of binary features.

    Attributes
    ----------
    a : ndarray of shape (n_features,)
        First Beta parameter of each feature (pseudo-count of ones), > 0.
    b : ndarray of shape (n_features,)
        Second Beta parameter (pseudo-count of zeros), > 0.
    """

    a: np.ndarray
    b: np.ndarray

    #: what the estimator's messages call this family
    family = "bernoulli"

    @property
    def n_features(self):
        """Number of features d."""
        return self.a.shape[0]

    @classmethod
    def checked(cls, a, b, n_features):
        """Build the prior, refusing non-positive or misshapen parameters.

        Parameters
        ----------
        a, b : float or array-like of shape (n_features,)
            Beta parameters, > 0; a number applies to every feature.
        n_features : int
            Number of features d.

        Returns
        -------
        BetaBernoulli
        """
        return cls(
            _positive_vector(a, n_features, "beta_prior's a"),
            _positive_vector(b, n_features, "beta_prior's b"),
        )

    def check_data(self, X):
        """Refuse values other than 0, 1 and NaN (a missing entry).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Unchanged.
        """
        _check_width(X, self.n_features)
        # a missing entry, let through only with missing='em'
        binary = (X == 0) | (X == 1) | np.isnan(X)
        if not binary.all():
            column = int(np.flatnonzero(~binary.all(axis=0))[0])
            value = X[:, column][~binary[:, column]][0]
            raise DataValidationError(
                f"family='bernoulli' needs binary data (0 or 1), but column {column} "
                f"holds {float(value):g}. Recode the column to 0/1, or use "
                "family='categorical' for columns with more than two levels."
            )
        return X

    def features(self, X):
        """Per-point sufficient statistics: the data themselves, 0 where missing.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        return split_missing(np.asarray(X, dtype=np.float64))[0]

    def log_marginal(self, counts, sums):
        """Log marginal likelihood of clusters' data, a product of Beta integrals.

        ``sum_j [log B(a_j + s_j, b_j + n - s_j) - log B(a_j, b_j)]``.

        Parameters
        ----------
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster, or points observing each feature.
        sums : ndarray of shape (n_clusters, n_features)
            Sums of :meth:`features` over each cluster's points.

        Returns
        -------
        ndarray of shape (n_clusters,)
        """
        n = _per_feature(counts)
        return (betaln(self.a + sums, self.b + n - sums) - betaln(self.a, self.b)).sum(
            axis=1
        )

    def log_predictive(self, X, counts, sums):
        """Log posterior predictive of each row given each cluster's data.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Binary rows; a missing entry (NaN) drops out of its row's product.
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster (0: the prior predictive), or points
            observing each feature.
        sums : ndarray of shape (n_clusters, n_features)
            Sums of :meth:`features` over each cluster's points.

        Returns
        -------
        ndarray of shape (n_clusters, n_samples)
        """
        n = _per_feature(counts)
        log_total = np.log(self.a + self.b + n)
        log_one = np.log(self.a + sums) - log_total
        log_zero = np.log(self.b + n - sums) - log_total
        X, observed = split_missing(np.asarray(X, dtype=np.float64))
        zeros = 1.0 - X if observed is None else observed - X
        return log_one @ X.T + log_zero @ zeros.T

    def log_predictive_one(self, x, counts, sums, observed=None):
        """Log posterior predictive of one row given each cluster (the hot path).

        The same value as ``log_predictive(x[None], counts, sums)[:, 0]`` with
        fewer array operations, for the sampler's one-point updates.

        Parameters
        ----------
        x : ndarray of shape (n_features,)
            One row, with no NaN (any value where ``observed`` is False).
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster, or points observing each feature.
        sums : ndarray of shape (n_clusters, n_statistics)
            Sums of :meth:`features` over each cluster's points.
        observed : ndarray of bool of shape (n_features,), default=None
            The row's observed features, the only ones in the product (None:
            all).

        Returns
        -------
        ndarray of shape (n_clusters,)
        """
        n = counts[:, None] if counts.ndim == 1 else counts
        matches = np.where(x > 0, self.a + sums, (self.b + n) - sums)
        terms = np.log(matches / (self.a + self.b + n))
        return (terms if observed is None else terms[:, observed]).sum(axis=1)


@dataclass(frozen=True)
class GammaPoisson:
    """Independent Gamma priors on the rates of count features.

    Attributes
    ----------
    shape : ndarray of shape (n_features,)
        Gamma shape of each feature's rate, > 0.
    rate : ndarray of shape (n_features,)
        Gamma rate (inverse scale), > 0; the prior mean of a rate is
        ``shape / rate``.
    """

    shape: np.ndarray
    rate: np.ndarray

    family = "poisson"

    @property
    def n_features(self):
        """Number of features d."""
        return self.shape.shape[0]

    @classmethod
    def checked(cls, shape, rate, n_features):
        """Build the prior, refusing non-positive or misshapen parameters.

        Parameters
        ----------
        shape, rate : float or array-like of shape (n_features,)
            Gamma shape and rate, > 0; a number applies to every feature.
        n_features : int
            Number of features d.

        Returns
        -------
        GammaPoisson
        """
        return cls(
            _positive_vector(shape, n_features, "gamma_prior's shape"),
            _positive_vector(rate, n_features, "gamma_prior's rate"),
        )

    def check_data(self, X):
        """Refuse negative and non-integer counts.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Unchanged.
        """
        _check_width(X, self.n_features)
        return check_counts(X, "Dirichlet-process Poisson")

    def features(self, X):
        """Per-point sufficient statistics: the counts, then ``sum_j log x_j!``.

        A missing entry counts as 0 (and ``log 0! = 0``).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features + 1)
        """
        X = split_missing(np.asarray(X, dtype=np.float64))[0]
        return np.hstack([X, gammaln(X + 1.0).sum(axis=1, keepdims=True)])

    def log_marginal(self, counts, sums):
        """Log marginal likelihood of clusters' data (Gamma-Poisson, closed form).

        ``sum_j [log Gamma(shape + s_j) - log Gamma(shape) + shape log rate -
        (shape + s_j) log(rate + n)] - sum_i sum_j log x_ij!``.

        Parameters
        ----------
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster, or points observing each feature.
        sums : ndarray of shape (n_clusters, n_features + 1)
            Sums of :meth:`features` over each cluster's points.

        Returns
        -------
        ndarray of shape (n_clusters,)
        """
        n = _per_feature(counts)
        s = sums[:, :-1]
        shape, rate = self.shape, self.rate
        per_feature = (
            gammaln(shape + s)
            - gammaln(shape)
            + shape * np.log(rate)
            - (shape + s) * np.log(rate + n)
        )
        return per_feature.sum(axis=1) - sums[:, -1]

    def log_predictive(self, X, counts, sums):
        """Log negative-binomial posterior predictive of each row given each cluster.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Counts; a missing entry (NaN) drops out of its row's product.
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster (0: the prior predictive), or points
            observing each feature.
        sums : ndarray of shape (n_clusters, n_features + 1)
            Sums of :meth:`features` over each cluster's points.

        Returns
        -------
        ndarray of shape (n_clusters, n_samples)
        """
        X, observed = split_missing(np.asarray(X, dtype=np.float64))
        n = _per_feature(counts)
        post_shape = self.shape + sums[:, :-1]  # (K, d)
        log_rate = np.log(self.rate + n)
        log_rate_next = np.log(self.rate + n + 1.0)
        shape_terms = post_shape * (log_rate - log_rate_next)  # (K, d)
        if observed is None:
            constant = (shape_terms - gammaln(post_shape)).sum(axis=1)[:, None]
        else:
            # a missing entry is 0 below, so its lgamma terms cancel; this one must go
            constant = (
                shape_terms @ observed.T - gammaln(post_shape).sum(axis=1)[:, None]
            )
        out = np.empty((len(post_shape), len(X)))
        log_factorials = gammaln(X + 1.0).sum(axis=1)
        for rows in _row_chunks(len(X), *post_shape.shape):
            x = X[rows]
            out[:, rows] = (
                gammaln(post_shape[:, None, :] + x[None]).sum(axis=2)
                - log_rate_next @ x.T
                - log_factorials[rows]
            )
        return out + constant

    def log_predictive_one(self, x, counts, sums, observed=None):
        """Log posterior predictive of one row given each cluster (the hot path).

        The same value as ``log_predictive(x[None], counts, sums)[:, 0]`` with
        fewer array operations, for the sampler's one-point updates.

        Parameters
        ----------
        x : ndarray of shape (n_features,)
            One row, with no NaN (any value where ``observed`` is False).
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster, or points observing each feature.
        sums : ndarray of shape (n_clusters, n_statistics)
            Sums of :meth:`features` over each cluster's points.
        observed : ndarray of bool of shape (n_features,), default=None
            The row's observed features, the only ones in the product (None:
            all).

        Returns
        -------
        ndarray of shape (n_clusters,)
        """
        n = counts[:, None] if counts.ndim == 1 else counts
        post_shape = self.shape + sums[:, :-1]
        log_ratio = np.log((self.rate + n) / (self.rate + n + 1.0))
        terms = (
            gammaln(post_shape + x)
            - gammaln(post_shape)
            + post_shape * log_ratio
            - x * np.log(self.rate + n + 1.0)
        )
        if observed is None:
            return terms.sum(axis=1) - gammaln(x + 1.0).sum()
        return terms[:, observed].sum(axis=1) - gammaln(x[observed] + 1.0).sum()


@dataclass(frozen=True)
class DirichletCategorical:
    """Independent Dirichlet priors on the level probabilities of categorical columns.

    Attributes
    ----------
    n_levels : ndarray of shape (n_features,)
        Number of levels L_j of each column; its codes are ``0 .. L_j - 1``.
    concentration : ndarray of shape (sum(n_levels),)
        Dirichlet parameters of all columns' levels, column after column, > 0.
    """

    n_levels: np.ndarray
    concentration: np.ndarray

    family = "categorical"

    @property
    def n_features(self):
        """Number of columns d."""
        return self.n_levels.shape[0]

    @cached_property
    def offsets(self):
        """Position of each column's first level in :attr:`concentration`."""
        return np.concatenate([[0], np.cumsum(self.n_levels)[:-1]]).astype(np.intp)

    @cached_property
    def column_totals(self):
        """``A_j = sum_l alpha_jl`` of each column, shape (n_features,)."""
        return np.add.reduceat(self.concentration, self.offsets)

    @classmethod
    def checked(cls, concentration, n_levels):
        """Build the prior, refusing non-positive or misshapen parameters.

        Parameters
        ----------
        concentration : float or sequence of array-like
            One number for every level of every column (a symmetric Dirichlet),
            or one array of length ``n_levels[j]`` per column.
        n_levels : array-like of int of shape (n_features,)
            Number of levels of each column, >= 1.

        Returns
        -------
        DirichletCategorical
        """
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
        n_levels = n_levels.astype(np.intp)
        if np.isscalar(concentration) or getattr(concentration, "ndim", 1) == 0:
            flat = _positive_vector(
                concentration, int(n_levels.sum()), "dirichlet_prior"
            )
            return cls(n_levels, flat)
        columns = list(concentration)
        if len(columns) != len(n_levels):
            raise ValueError(
                f"dirichlet_prior must be a number or one array per column "
                f"({len(n_levels)} columns); got {len(columns)} arrays."
            )
        flat = [
            _positive_vector(c, int(n), f"dirichlet_prior[{j}]")
            for j, (c, n) in enumerate(zip(columns, n_levels, strict=True))
        ]
        return cls(n_levels, np.concatenate(flat))

    def check_data(self, X):
        """Refuse codes that are not integers in ``0 .. n_levels[j] - 1`` (or NaN).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Unchanged.
        """
        _check_width(X, self.n_features)
        return check_codes(X, self.n_levels)

    def _index(self, X):
        """Flat position of each entry's level, shape (n_samples, n_features)."""
        return np.asarray(X, dtype=np.intp) + self.offsets

    def features(self, X):
        """Per-point sufficient statistics: the one-hot encoding of every column.

        A missing code (NaN) has an all-zero block.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, sum(n_levels))
        """
        X, observed = split_missing(np.asarray(X, dtype=np.float64))
        index = self._index(X)
        one_hot = np.zeros((len(index), len(self.concentration)))
        np.put_along_axis(one_hot, index, 1.0 if observed is None else observed, axis=1)
        return one_hot

    def _log_totals(self, counts):
        """``log(A_j + n)`` summed over columns, per cluster."""
        n = _per_feature(counts)
        return np.log(self.column_totals + n).sum(axis=1)

    def log_marginal(self, counts, sums):
        """Log marginal likelihood of clusters' data (Dirichlet-multinomial).

        ``sum_j [log Gamma(A_j) - log Gamma(A_j + n) + sum_l (log Gamma(alpha_jl
        + c_jl) - log Gamma(alpha_jl))]`` with ``A_j = sum_l alpha_jl``.

        Parameters
        ----------
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster, or points observing each feature.
        sums : ndarray of shape (n_clusters, sum(n_levels))
            Level counts of each cluster (sums of :meth:`features`).

        Returns
        -------
        ndarray of shape (n_clusters,)
        """
        totals = self.column_totals
        n = _per_feature(counts)
        alpha = self.concentration
        return (gammaln(totals) - gammaln(totals + n)).sum(axis=1) + (
            gammaln(alpha + sums) - gammaln(alpha)
        ).sum(axis=1)

    def log_predictive(self, X, counts, sums):
        """Log posterior predictive ``sum_j log (alpha_jx + c_jx) / (A_j + n)``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Integer codes; a missing entry (NaN) drops out of its row's product.
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster (0: the prior predictive), or points
            observing each feature.
        sums : ndarray of shape (n_clusters, sum(n_levels))
            Level counts of each cluster.

        Returns
        -------
        ndarray of shape (n_clusters, n_samples)
        """
        X, observed = split_missing(np.asarray(X, dtype=np.float64))
        index = self._index(X)
        log_levels = np.log(self.concentration + sums)  # (K, sum L)
        out = np.empty((len(sums), len(index)))
        if observed is None:
            log_totals = self._log_totals(counts)
            for rows in _row_chunks(len(index), len(sums), self.n_features):
                out[:, rows] = log_levels[:, index[rows]].sum(axis=2)
            return out - log_totals[:, None]
        for rows in _row_chunks(len(index), len(sums), self.n_features):
            out[:, rows] = (log_levels[:, index[rows]] * observed[rows]).sum(axis=2)
        log_totals = np.log(self.column_totals + _per_feature(counts))  # (K, d)
        return out - log_totals @ observed.T

    def log_predictive_one(self, x, counts, sums, observed=None):
        """Log posterior predictive of one row given each cluster (the hot path).

        The same value as ``log_predictive(x[None], counts, sums)[:, 0]`` with
        fewer array operations, for the sampler's one-point updates.

        Parameters
        ----------
        x : ndarray of shape (n_features,)
            One row, with no NaN (any value where ``observed`` is False).
        counts : ndarray of shape (n_clusters,) or (n_clusters, n_features)
            Points in each cluster, or points observing each feature.
        sums : ndarray of shape (n_clusters, n_statistics)
            Sums of :meth:`features` over each cluster's points.
        observed : ndarray of bool of shape (n_features,), default=None
            The row's observed features, the only ones in the product (None:
            all).

        Returns
        -------
        ndarray of shape (n_clusters,)
        """
        index = x.astype(np.intp) + self.offsets
        levels = self.concentration[index] + sums[:, index]
        if observed is None:
            return np.log(levels).sum(axis=1) - self._log_totals(counts)
        n = _per_feature(counts)[:, observed]
        log_totals = np.log(self.column_totals[observed] + n).sum(axis=1)
        return np.log(levels[:, observed]).sum(axis=1) - log_totals


def check_codes(X, n_levels=None):
    """Refuse categorical codes that are not integers in ``0 .. n_levels[j] - 1``.

    NaN (a missing entry) passes: estimators refuse it unless ``missing='em'``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Integer codes.
    n_levels : ndarray of shape (n_features,), default=None
        Number of levels of each column; None checks only that the codes are
        non-negative integers.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Unchanged.
    """
    with np.errstate(invalid="ignore"):
        bad = (X < 0) | (np.floor(X) != X)
        if n_levels is not None:
            bad |= np.asarray(n_levels) <= X
    bad &= ~np.isnan(X)
    if bad.any():
        column = int(np.flatnonzero(bad.any(axis=0))[0])
        value = X[:, column][bad[:, column]][0]
        allowed = (
            "non-negative integer codes 0, 1, ..."
            if n_levels is None
            else f"integer codes 0 .. {int(n_levels[column]) - 1} "
            f"(n_levels = {int(n_levels[column])})"
        )
        raise DataValidationError(
            f"family='categorical' needs {allowed} in column {column}, which holds "
            f"{float(value):g}. Encode each column's levels as 0, 1, ... (e.g. with "
            "sklearn's OrdinalEncoder), or pass n_levels to allow more levels."
        )
    return X


def _check_width(X, n_features):
    if X.ndim != 2 or X.shape[1] != n_features:
        raise DataValidationError(
            f"X must have shape (n_samples, {n_features}); got {X.shape}."
        )
