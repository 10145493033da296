"""Variational Bayes for mixtures of conjugate families: the one engine.

Mean-field variational inference q(Z) q(pi) q(theta) for mixtures whose
components have a conjugate prior (Bishop 2006, "Pattern Recognition and Machine
Learning", section 10.4; Blei & Jordan 2006, "Variational inference for
Dirichlet process mixtures", Bayesian Analysis 1(1)). The engine knows no family
by name: it reads a family template (the data side: statistics, features T(x),
base measure h(x)), a conjugate prior of :mod:`mixtura.priors` (the parameter
side) and a weight prior of :mod:`mixtura.priors.weights`.

- The M-step is posterior = prior + expected statistics (``prior.update``).
- The E-step needs ``E_q[log p(x | theta_k)]``, which is linear in the family's
  features: ``T(x) @ E[eta_k] + c_k + log h(x)`` with, e.g.,
  ``E[log theta] = psi(a) - psi(a + b)`` under a Beta.
  :class:`ExpectedLogLikelihood` exposes it as a family-like object with
  ``log_prob`` and ``statistics``, so the data seam
  (:func:`~mixtura.inference.data.accumulate`) and its chunking, sparse input
  included, serve variational inference unchanged.
- The evidence lower bound is exact, constants included. With the E-step's
  optimal q(Z),

  ``ELBO = sum_i w_i logsumexp_k (E[log pi_k] + E[log p(x_i | theta_k)])
  - KL(q(pi) || p(pi)) - sum_k KL(q(theta_k) || p(theta_k))``,

  and the KL terms are in closed form. For one component and a finite Dirichlet
  prior the converged bound is the exact log marginal likelihood. The fit loop's
  tolerance acts on this bound divided by the total sample weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixtura.families.base import Family
from mixtura.inference.data import accumulate
from mixtura.mixture import Mixture
from mixtura.priors.base import ConjugatePrior
from mixtura.priors.expectation import ExpectedLogLikelihood
from mixtura.priors.weights import WeightPrior

__all__ = [
    "ExpectedLogLikelihood",
    "VariationalMixture",
    "evidence_lower_bound",
    "scikit_learn_variational_step",
    "sorted_by_mass",
    "variational_step",
]


def sorted_by_mass(stats):
    """The statistics with the components in decreasing order of mass N_k.

    The truncated stick-breaking prior is not exchangeable: for given
    responsibilities, the weights' part of the bound after its update,
    ``sum_k log B(1 + N_k, gamma_0 + sum_{j>k} N_j) - K log B(1, gamma_0)``, is
    largest when N_1 >= N_2 >= ... (checked against every ordering in the tests).
    Relabelling the components so (size-ordering of the sticks is discussed in
    the variational DP literature, e.g. Kurihara, Welling & Vlassis 2007,
    "Accelerated variational Dirichlet process mixtures", NIPS 19; the claim
    here rests on the check above, not on the citation) therefore never lowers
    the bound, and lets empty components sink to the end of the stick, where
    they take almost no weight.

    Parameters
    ----------
    stats : Stats
        Statistics that can relabel their components (``Stats.permuted``).

    Returns
    -------
    stats : Stats
        The same statistics, components reordered (a stable sort).
    """
    order = np.argsort(-stats.resp_sum, kind="stable")
    if np.array_equal(order, np.arange(order.size)):
        return stats
    return stats.permuted(order)


@dataclass(frozen=True, eq=False)
class VariationalMixture:
    """Variational posterior of a conjugate mixture: q(pi) and every q(theta_k).

    Attributes
    ----------
    weight_prior : WeightPrior
        The weights' prior.
    prior : ConjugatePrior
        The components' prior (parameters of shape (n_params,)).
    template : Family
        The family the prior is conjugate to, without parameters.
    weight_concentration : ndarray or tuple of ndarray
        The weights' posterior (see :meth:`WeightPrior.posterior`).
    posterior : ConjugatePrior
        The components' posterior (parameters of shape (n_components, n_params)).
    """

    weight_prior: WeightPrior
    prior: ConjugatePrior
    template: Family
    weight_concentration: object
    posterior: ConjugatePrior

    @classmethod
    def from_statistics(cls, weight_prior, prior, template, stats, reorder=True):
        """The M-step: posterior = prior + expected statistics.

        Parameters
        ----------
        weight_prior : WeightPrior
        prior : ConjugatePrior or NormalWishart
        template : Family
        stats : Stats
            Responsibility-weighted statistics of the family.
        reorder : bool, default=True
            Under a weight prior that orders components (the Dirichlet
            process), put the components in decreasing order of their mass
            N_k (see :func:`sorted_by_mass`); scikit-learn's convention does
            not.

        Returns
        -------
        VariationalMixture
        """
        if reorder and weight_prior.orders_components:
            stats = sorted_by_mass(stats)
        return cls(
            weight_prior=weight_prior,
            prior=prior,
            template=template,
            weight_concentration=weight_prior.posterior(stats.resp_sum),
            posterior=prior.update(stats),
        )

    def update(self, stats, reorder=True):
        """The M-step from new statistics, under the same priors."""
        return VariationalMixture.from_statistics(
            self.weight_prior, self.prior, self.template, stats, reorder
        )

    @property
    def n_components(self):
        """Number of components (the truncation level for the DP)."""
        return self.posterior.n_components

    def expected_log_weights(self):
        """``E[log pi_k]``, shape (n_components,)."""
        return self.weight_prior.expected_log_weights(self.weight_concentration)

    def expected_mixture(self):
        """The E-step's mixture: ``E[log pi_k] + E[log p(x | theta_k)]``.

        Returns
        -------
        Mixture
            Unnormalised log weights (``E[log pi_k]`` plus the posterior's
            per-component constants) over the E-step's family (see
            ``posterior.expected_log_likelihood``); its log densities are the
            bound's per-row terms.
        """
        family, constants = self.posterior.expected_log_likelihood(self.template)
        return Mixture(self.expected_log_weights() + constants, family, normalize=False)

    def kl_divergence(self):
        """KL(q(pi) || p(pi)) + sum_k KL(q(theta_k) || p(theta_k)), a float."""
        components = self.posterior.kl_divergence(self.prior)
        return self.weight_prior.kl_divergence(self.weight_concentration) + float(
            np.sum(components)
        )

    def weights(self):
        """Posterior mean of the mixing weights, shape (n_components,)."""
        return self.weight_prior.mean_weights(self.weight_concentration)

    def mean_family(self, components=None):
        """The family at the posterior means of (some of) the components.

        Parameters
        ----------
        components : array-like of int, default=None
            Indices of the components to keep (None: all).

        Returns
        -------
        Family
        """
        posterior = (
            self.posterior if components is None else self.posterior.select(components)
        )
        return self.template.with_parameters(**posterior.mean_parameters())

    def mean_mixture(self):
        """The mixture at the posterior means of the weights and parameters."""
        return Mixture.from_weights(self.weights(), self.mean_family())


def evidence_lower_bound(state, data):
    """The exact evidence lower bound of ``state`` with its optimal q(Z).

    Parameters
    ----------
    state : VariationalMixture
    data : ArrayData or another type ``accumulate`` supports

    Returns
    -------
    elbo : float
        ``sum_i w_i logsumexp_k(E[log pi_k] + E[log p(x_i | theta_k)]) - KL``.
    """
    _, mean_log_norm = accumulate(data, state.expected_mixture())
    return mean_log_norm * data.total_weight - state.kl_divergence()


def variational_step(state, data):
    """One variational E-step and M-step, for the shared fit loop.

    Parameters
    ----------
    state : VariationalMixture
        The current posterior.
    data : ArrayData or another type ``accumulate`` supports

    Returns
    -------
    new_state : VariationalMixture
        The posterior after the M-step.
    lower_bound : float
        The exact evidence lower bound of ``state`` (with the E-step's optimal
        q(Z)) divided by the total sample weight: the mean per-sample bound on
        which the loop's tolerance acts. It never decreases from one step to the
        next: the M-step maximises the bound for fixed q(Z), the E-step for
        fixed q(pi) q(theta).
    """
    stats, mean_log_norm = accumulate(data, state.expected_mixture())
    bound = mean_log_norm - state.kl_divergence() / data.total_weight
    return state.update(stats), bound


def scikit_learn_variational_step(state, data):
    """One variational step under scikit-learn's bound convention.

    The same E-step and M-step as :func:`variational_step`, without reordering
    the components, and the bound ``BayesianGaussianMixture`` reports: the
    entropy of the E-step's q(Z) plus the new posterior's parameter terms, with
    constants dropped (a total, not per sample). It serves the parity of
    :class:`~mixtura.BayesianGaussianMixture` with scikit-learn and needs a
    posterior with ``log_likelihood_from_statistics`` and
    ``scikit_learn_bound_terms`` (the Gaussian's
    :class:`~mixtura.priors.normal_wishart.NormalWishart`).

    Parameters
    ----------
    state : VariationalMixture
        The current posterior.
    data : ArrayData or another type ``accumulate`` supports

    Returns
    -------
    new_state : VariationalMixture
        The posterior after the M-step.
    lower_bound : float
        scikit-learn's lower bound of the new posterior with the E-step's
        responsibilities; it never decreases.
    """
    mixture = state.expected_mixture()
    stats, mean_log_norm = accumulate(data, mixture)
    # entropy of the responsibilities, -sum_i r_ik log r_ik, from the statistics:
    # sum_i log-normaliser_i - sum_ik r_ik (log weight_k + log p(x_i | k))
    joint = float(
        np.sum(stats.resp_sum * mixture.log_weights)
    ) + state.posterior.log_likelihood_from_statistics(stats)
    entropy = mean_log_norm * data.total_weight - joint
    new_state = state.update(stats, reorder=False)
    bound = (
        entropy
        + new_state.posterior.scikit_learn_bound_terms()
        - new_state.weight_prior.log_norm(new_state.weight_concentration)
    )
    return new_state, bound
