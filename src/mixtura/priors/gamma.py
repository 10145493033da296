"""Gamma priors on the rates of independent Poisson features.

``lambda_kj ~ Gamma(shape_j, rate_j)`` (rate parametrisation, mean shape /
rate). Given a component's statistics ``s_kj = sum_i r_ik x_ij`` and the mass
``N_kj`` that observed feature j, the posterior is ``Gamma(shape_j + s_kj,
rate_j + N_kj)``. The same object serves

- EM: the posterior mode ``(s + shape - 1) / (N + rate)`` (``shape = 1,
  rate = 0``, a flat improper prior, is maximum likelihood);
- variational Bayes: ``E[log lambda] = psi(shape) - log(rate)``,
  ``E[lambda] = shape / rate`` and the Gammas' KL;
- collapsed Gibbs: the Gamma-Poisson marginal likelihood and the negative
  binomial predictive, ``shape + s`` successes with success probability
  ``(rate + n) / (rate + n + 1)`` (Gelman et al. 2013, *Bayesian Data Analysis*,
  section 2.6).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import digamma, gammaln

from mixtura.families.base import split_missing
from mixtura.families.support import check_counts
from mixtura.priors.base import (
    PerFeaturePrior,
    check_width,
    observed_mass,
    per_feature,
    positive_vector,
    row_chunks,
)
from mixtura.priors.divergences import kl_gamma

__all__ = ["Gamma"]


@dataclass(frozen=True, eq=False)
class Gamma(PerFeaturePrior):
    """Gamma(shape, rate) on each feature's Poisson rate.

    Attributes
    ----------
    shape, rate : ndarray of shape (), (n_features,) or (n_components, n_features)
        > 0 for variational Bayes and Gibbs; for EM's mode shape >= 1 and
        rate >= 0 (a number applies to every feature).
    """

    shape: np.ndarray
    rate: np.ndarray

    parameter_names: ClassVar[tuple] = ("shape", "rate")

    @classmethod
    def matching_mean(cls, X, shape=1.0):
        """The prior whose mean rate is each feature's mean count (the default).

        ``rate_j = shape / mean_j`` with ``mean_j`` the mean of column j's
        observed entries, floored at ``1 / n_samples`` (so that an all-zero
        column keeps a proper prior with a small mean).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Counts, NaN where missing.
        shape : float or array-like of shape (n_features,), default=1.0
            Shape of each feature's prior.

        Returns
        -------
        Gamma
            Parameters of shape (n_features,).
        """
        values = np.asarray(X, dtype=np.float64)
        n_samples, n_features = values.shape
        shape = positive_vector(shape, n_features, "shape")
        if np.isnan(values).any():
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column
                means = np.nan_to_num(np.nanmean(values, axis=0))
        else:
            means = values.mean(axis=0)
        means = np.maximum(means, 1.0 / max(n_samples, 1))
        return cls.checked(shape, shape / means, n_features)

    # -- every scheme ---------------------------------------------------------
    def update(self, stats):
        """``Gamma(shape + s_k, rate + N_k)``, the posterior."""
        mass = observed_mass(stats)
        return Gamma(self.shape + stats.sum_x, self.rate + mass)

    # -- EM -------------------------------------------------------------------
    def mode(self, stats):
        """``rates`` at the posterior mode; an empty flat component gets 1."""
        numerator = stats.sum_x + (self.shape - 1)
        denominator = observed_mass(stats) + self.rate
        # an empty component under maximum likelihood gets the prior's mode, or 1
        safe = np.where(denominator > 0, denominator, 1.0)
        return {"rates": np.where(denominator > 0, numerator / safe, 1.0)}

    # -- variational Bayes ----------------------------------------------------
    def expected_natural_parameters(self):
        """Coefficients ``E[log lambda]``, constants ``-sum_j E[lambda]``."""
        log_rate = digamma(self.shape) - np.log(self.rate)
        rate = self.shape / self.rate
        return np.ascontiguousarray(log_rate.T), -rate.sum(axis=1)

    def feature_constants(self):
        """``-E[lambda_kj]`` (see :meth:`ConjugatePrior.feature_constants`)."""
        return -self.shape / self.rate

    def kl_divergence(self, prior):
        """Sum over the features of the Gammas' KL (see :class:`ConjugatePrior`)."""
        return kl_gamma(self.shape, self.rate, prior.shape, prior.rate).sum(axis=1)

    def mean_parameters(self):
        """``rates = shape / rate``."""
        return {"rates": self.shape / self.rate}

    # -- collapsed Gibbs ------------------------------------------------------
    def check_data(self, X):
        """Refuse negative and non-integer counts (NaN passes); return X."""
        check_width(X, self.n_features)
        return check_counts(X, "Dirichlet-process Poisson")

    def cluster_features(self, X):
        """The counts, then ``sum_j log x_j!``: shape (n_samples, n_features + 1).

        A missing entry counts as 0 (and ``log 0! = 0``).
        """
        X = split_missing(np.asarray(X, dtype=np.float64))[0]
        return np.hstack([X, gammaln(X + 1.0).sum(axis=1, keepdims=True)])

    def log_marginal(self, counts, sums):
        """The Gamma-Poisson marginal likelihood, in closed form.

        ``sum_j [log Gamma(shape + s_j) - log Gamma(shape) + shape log rate -
        (shape + s_j) log(rate + n)] - sum_i sum_j log x_ij!``; see
        :meth:`ConjugatePrior.log_marginal`.
        """
        n = per_feature(counts)
        s = sums[:, :-1]
        shape, rate = self.shape, self.rate
        per_feature_terms = (
            gammaln(shape + s)
            - gammaln(shape)
            + shape * np.log(rate)
            - (shape + s) * np.log(rate + n)
        )
        return per_feature_terms.sum(axis=1) - sums[:, -1]

    def log_predictive(self, X, counts, sums):
        """Negative-binomial predictives (see :meth:`ConjugatePrior.log_predictive`)."""
        X, observed = split_missing(np.asarray(X, dtype=np.float64))
        n = per_feature(counts)
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
        for rows in row_chunks(len(X), *post_shape.shape):
            x = X[rows]
            out[:, rows] = (
                gammaln(post_shape[:, None, :] + x[None]).sum(axis=2)
                - log_rate_next @ x.T
                - log_factorials[rows]
            )
        return out + constant

    def log_predictive_one(self, x, counts, sums, observed=None):
        """One row's predictive (see :meth:`ConjugatePrior.log_predictive_one`)."""
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
