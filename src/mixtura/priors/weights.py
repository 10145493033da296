"""Priors of the mixing weights: a finite Dirichlet or a Dirichlet process.

Shared by every variational mixture (Gaussian and the conjugate families). Two
priors on the weights pi of K components, each a class (the estimators' string
``weight_concentration_prior_type`` is a registry lookup, :func:`weight_prior`):

- :class:`DirichletWeights`: pi ~ Dirichlet(gamma_0, ..., gamma_0); the
  posterior is Dirichlet(gamma_0 + N_k) (Bishop 2006, "Pattern Recognition and
  Machine Learning", eq. 10.58).
- :class:`DirichletProcessWeights`: truncated stick-breaking, pi_k = v_k
  prod_{j<k} (1 - v_j) with v_k ~ Beta(1, gamma_0) (Blei & Jordan 2006,
  "Variational inference for Dirichlet process mixtures", Bayesian Analysis
  1(1)); the posterior of each stick is Beta(1 + N_k, gamma_0 + sum_{j>k} N_j).
  As in scikit-learn, the K-th stick keeps its Beta posterior and the
  assignments are truncated to the first K components, sticks beyond K keeping
  their prior (Kurihara, Welling & Vlassis 2007, "Accelerated variational
  Dirichlet process mixtures", NIPS 19): the bound is then a lower bound on the
  evidence of the untruncated model.

Here ``N_k`` is the (sample-weighted) responsibility mass of component k. A
posterior is the prior's ``posterior(nk)`` value: an array of shape (K,) for the
Dirichlet, a pair of such arrays (a, b) for the sticks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import betaln, digamma, gammaln

from mixtura.priors.divergences import kl_beta, kl_dirichlet

__all__ = [
    "WEIGHT_PRIORS",
    "DirichletProcessWeights",
    "DirichletWeights",
    "WeightPrior",
    "weight_prior",
]


@dataclass(frozen=True)
class WeightPrior(ABC):
    """The prior of the mixing weights, with concentration gamma_0 > 0.

    Attributes
    ----------
    weight_concentration : float
        The Dirichlet's (or the Dirichlet process's) concentration gamma_0.
    """

    weight_concentration: float

    #: the name scikit-learn's ``weight_concentration_prior_type`` gives it
    weight_prior_type: ClassVar[str]
    #: whether relabelling components by decreasing mass can raise the bound
    #: (the stick-breaking prior is not exchangeable; see ``sorted_by_mass``)
    orders_components: ClassVar[bool] = False

    @abstractmethod
    def posterior(self, nk):
        """Posterior concentration given responsibility masses.

        Parameters
        ----------
        nk : ndarray of shape (n_components,)
            Responsibility mass of each component.

        Returns
        -------
        concentration : ndarray of shape (n_components,) or tuple of two such
        """

    @abstractmethod
    def expected_log_weights(self, concentration):
        """``E[log pi_k]`` under a posterior, shape (n_components,)."""

    @abstractmethod
    def mean_weights(self, concentration):
        """Posterior mean of the weights, summing to one, shape (n_components,)."""

    @abstractmethod
    def kl_divergence(self, concentration):
        """KL(q(pi) || p(pi)) of a posterior, every constant included, a float."""

    @abstractmethod
    def log_norm(self, concentration):
        """Log normaliser of a posterior, with scikit-learn's sign convention.

        The constant-free bound that scikit-learn's ``BayesianGaussianMixture``
        reports adds this term; the exact bound uses :meth:`kl_divergence`.
        """


@dataclass(frozen=True)
class DirichletWeights(WeightPrior):
    """pi ~ Dirichlet(gamma_0, ..., gamma_0), a finite mixture's weights."""

    weight_prior_type: ClassVar[str] = "dirichlet_distribution"

    def posterior(self, nk):
        """``gamma_0 + N_k`` (Bishop 2006, eq. 10.58)."""
        return self.weight_concentration + nk

    def expected_log_weights(self, concentration):
        """``psi(a_k) - psi(sum a)``."""
        alpha = np.asarray(concentration)
        return digamma(alpha) - digamma(np.sum(alpha))

    def mean_weights(self, concentration):
        """``a_k / sum a``."""
        alpha = np.asarray(concentration)
        return alpha / np.sum(alpha)

    def kl_divergence(self, concentration):
        """KL(Dirichlet(a) || Dirichlet(gamma_0, ..., gamma_0))."""
        return float(kl_dirichlet(concentration, self.weight_concentration))

    def log_norm(self, concentration):
        """``log Gamma(sum a) - sum log Gamma(a)``."""
        return float(gammaln(np.sum(concentration)) - np.sum(gammaln(concentration)))


@dataclass(frozen=True)
class DirichletProcessWeights(WeightPrior):
    """Truncated stick-breaking weights, v_k ~ Beta(1, gamma_0)."""

    weight_prior_type: ClassVar[str] = "dirichlet_process"
    orders_components: ClassVar[bool] = True

    def posterior(self, nk):
        """The sticks' Beta parameters ``(1 + N_k, gamma_0 + sum_{j > k} N_j)``."""
        tail = np.concatenate((np.cumsum(nk[::-1])[-2::-1], [0.0]))
        return (1.0 + nk, self.weight_concentration + tail)

    def expected_log_weights(self, concentration):
        """``E[log v_k] + sum_{j<k} E[log(1 - v_j)]`` (Blei & Jordan 2006, eq. 21)."""
        a, b = concentration
        digamma_sum = digamma(a + b)
        remaining = np.cumsum(digamma(b) - digamma_sum)[:-1]
        return digamma(a) - digamma_sum + np.concatenate(([0.0], remaining))

    def mean_weights(self, concentration):
        """The sticks' means, renormalised over the K components.

        The mass beyond the truncation is spread proportionally, as
        scikit-learn does.
        """
        a, b = concentration
        total = a + b
        weights = a / total * np.concatenate(([1.0], np.cumprod(b / total)[:-1]))
        return weights / weights.sum()

    def kl_divergence(self, concentration):
        """Sum over the K sticks of KL(Beta(a_k, b_k) || Beta(1, gamma_0))."""
        a, b = concentration
        return float(np.sum(kl_beta(a, b, 1.0, self.weight_concentration)))

    def log_norm(self, concentration):
        """``-sum_k log B(a_k, b_k)``."""
        return -float(np.sum(betaln(concentration[0], concentration[1])))


#: ``weight_concentration_prior_type`` -> the weight prior class
WEIGHT_PRIORS = {
    cls.weight_prior_type: cls for cls in (DirichletProcessWeights, DirichletWeights)
}


def weight_prior(weight_prior_type, weight_concentration):
    """The weight prior that scikit-learn's names describe.

    Parameters
    ----------
    weight_prior_type : {'dirichlet_process', 'dirichlet_distribution'}
        A key of :data:`WEIGHT_PRIORS`.
    weight_concentration : float
        gamma_0 > 0.

    Returns
    -------
    WeightPrior
    """
    try:
        cls = WEIGHT_PRIORS[weight_prior_type]
    except KeyError:
        raise ValueError(
            f"unknown weight prior {weight_prior_type!r}; the weight priors are "
            f"{sorted(WEIGHT_PRIORS)}."
        ) from None
    return cls(float(weight_concentration))
