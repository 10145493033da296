"""Beta priors on the probabilities of independent Bernoulli features.

``theta_kj ~ Beta(alpha_j, beta_j)``. Given a component's statistics
``s_kj = sum_i r_ik x_ij`` and the mass ``N_kj`` that observed feature j, the
posterior is ``Beta(alpha_j + s_kj, beta_j + N_kj - s_kj)`` (Bishop 2006,
"Pattern Recognition and Machine Learning", section 2.1.1). The same object
serves

- EM: the posterior mode ``(s + alpha - 1) / (N + alpha + beta - 2)``;
- variational Bayes: ``E[log theta] = psi(alpha) - psi(alpha + beta)`` and the
  Betas' KL (Bishop 2006, section 10.4);
- collapsed Gibbs: the marginal likelihood, a product of Beta integrals, and
  the predictive of one feature, Bernoulli with ``(alpha_j + s_j) / (alpha_j +
  beta_j + n)`` (Bernardo & Smith 1994, *Bayesian Theory*, appendix A).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import betaln, digamma

from mixtura._validation import column_label
from mixtura.exceptions import DataValidationError
from mixtura.families.base import split_missing
from mixtura.priors.base import (
    PerFeaturePrior,
    check_width,
    observed_mass,
    per_feature,
)
from mixtura.priors.divergences import kl_beta

__all__ = ["Beta"]


@dataclass(frozen=True, eq=False)
class Beta(PerFeaturePrior):
    """Beta(alpha, beta) on each feature's probability of a one.

    Attributes
    ----------
    alpha, beta : ndarray of shape (), (n_features,) or (n_components, n_features)
        Pseudo-counts of ones and zeros: > 0 for variational Bayes and Gibbs,
        >= 1 for the mode that EM's M-step returns (a number applies to every
        feature).
    """

    alpha: np.ndarray
    beta: np.ndarray

    parameter_names: ClassVar[tuple] = ("alpha", "beta")

    # -- every scheme ---------------------------------------------------------
    def update(self, stats):
        """``Beta(alpha + s_k, beta + N_k - s_k)`` (see :class:`ConjugatePrior`)."""
        mass = observed_mass(stats)
        return Beta(self.alpha + stats.sum_x, self.beta + (mass - stats.sum_x))

    # -- EM -------------------------------------------------------------------
    def mode(self, stats):
        """``probabilities`` at the posterior mode; 1/2 for an empty component."""
        numerator = stats.sum_x + (self.alpha - 1)
        denominator = observed_mass(stats) + (self.alpha + self.beta - 2)
        # an empty component under maximum likelihood gets probability 1/2
        safe = np.where(denominator > 0, denominator, 1.0)
        probabilities = np.where(denominator > 0, numerator / safe, 0.5)
        return {"probabilities": np.clip(probabilities, 0.0, 1.0)}

    # -- variational Bayes ----------------------------------------------------
    def expected_natural_parameters(self):
        """Coefficients ``E[log theta] - E[log(1 - theta)]`` and their constants."""
        digamma_total = digamma(self.alpha + self.beta)
        log_theta = digamma(self.alpha) - digamma_total
        log_one_minus = digamma(self.beta) - digamma_total
        coefficients = np.ascontiguousarray((log_theta - log_one_minus).T)
        return coefficients, log_one_minus.sum(axis=1)

    def feature_constants(self):
        """``E[log(1 - theta_kj)]`` (see :meth:`ConjugatePrior.feature_constants`)."""
        return digamma(self.beta) - digamma(self.alpha + self.beta)

    def kl_divergence(self, prior):
        """Sum over the features of the Betas' KL (see :class:`ConjugatePrior`)."""
        return kl_beta(self.alpha, self.beta, prior.alpha, prior.beta).sum(axis=1)

    def mean_parameters(self):
        """``probabilities = alpha / (alpha + beta)``."""
        return {"probabilities": self.alpha / (self.alpha + self.beta)}

    # -- collapsed Gibbs ------------------------------------------------------
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
        check_width(X, self.n_features)
        # a missing entry, let through only with missing='em'
        binary = (X == 0) | (X == 1) | np.isnan(X)
        if not binary.all():
            column = int(np.flatnonzero(~binary.all(axis=0))[0])
            value = X[:, column][~binary[:, column]][0]
            raise DataValidationError(
                "family='bernoulli' needs binary data (0 or 1), but "
                f"{column_label(column)} "
                f"holds {float(value):g}. Recode the column to 0/1, or use "
                "family='categorical' for columns with more than two levels."
            )
        return X

    def cluster_features(self, X):
        """The data themselves, 0 where missing, shape (n_samples, n_features)."""
        return split_missing(np.asarray(X, dtype=np.float64))[0]

    def log_marginal(self, counts, sums):
        """``sum_j [log B(alpha_j + s_j, beta_j + n - s_j) - log B(alpha_j, beta_j)]``.

        See :meth:`ConjugatePrior.log_marginal`.
        """
        n = per_feature(counts)
        a, b = self.alpha, self.beta
        return (betaln(a + sums, b + n - sums) - betaln(a, b)).sum(axis=1)

    def log_predictive(self, X, counts, sums):
        """Bernoulli predictives, one factor per observed feature.

        See :meth:`ConjugatePrior.log_predictive`.
        """
        n = per_feature(counts)
        log_total = np.log(self.alpha + self.beta + n)
        log_one = np.log(self.alpha + sums) - log_total
        log_zero = np.log(self.beta + n - sums) - log_total
        X, observed = split_missing(np.asarray(X, dtype=np.float64))
        zeros = 1.0 - X if observed is None else observed - X
        return log_one @ X.T + log_zero @ zeros.T

    def log_predictive_one(self, x, counts, sums, observed=None):
        """One row's predictive (see :meth:`ConjugatePrior.log_predictive_one`)."""
        n = counts[:, None] if counts.ndim == 1 else counts
        matches = np.where(x > 0, self.alpha + sums, (self.beta + n) - sums)
        terms = np.log(matches / (self.alpha + self.beta + n))
        return (terms if observed is None else terms[:, observed]).sum(axis=1)
