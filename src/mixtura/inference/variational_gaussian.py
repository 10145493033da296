"""Variational Bayes for Gaussian mixtures (to be folded into :mod:`.variational`).

Mean-field variational inference (Bishop 2006, section 10.2) with a Normal-Wishart
prior on each component and either a finite Dirichlet prior on the weights or a
truncated stick-breaking Dirichlet process (Blei & Jordan 2006, "Variational
inference for Dirichlet process mixtures"). The E-step is the family's ordinary
``log_prob`` at the posterior means plus per-component expectation terms, so the
data seam (``accumulate``) and every data type it supports serve VB unchanged; the
M-step is posterior = prior + expected statistics.

The lower bound follows scikit-learn's ``BayesianGaussianMixture`` (constant terms
dropped), so the two give the same numbers from the same start.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mixtura.families.covariance import get_covariance_structure
from mixtura.families.gaussian import Gaussian
from mixtura.families.gaussian_conjugate import (
    get_wishart_prior,
    log_lambda,
)
from mixtura.inference.data import accumulate
from mixtura.mixture import Mixture
from mixtura.priors.weights import WEIGHT_PRIORS, weight_prior

__all__ = ["WEIGHT_PRIORS", "GaussianPrior", "VariationalGaussian", "variational_step"]

_EMPTY_COMPONENT_GUARD = 10 * np.finfo(np.float64).eps


@dataclass(frozen=True)
class GaussianPrior:
    """Priors of a variational Gaussian mixture.

    Attributes
    ----------
    weight_prior_type : {'dirichlet_process', 'dirichlet_distribution'}
    weight_concentration : float
        Dirichlet concentration (or the DP's concentration) gamma_0.
    mean_precision : float
        beta_0, precision scale of the means' normal prior.
    mean : ndarray of shape (n_features,)
        m_0, the means' prior mean.
    degrees_of_freedom : float
        nu_0 of the Wishart prior.
    covariance : ndarray or float
        The Wishart prior's covariance (its scale's inverse), in the structure's
        prior shape: (d, d) for full and tied, (d,) for diag, a float for
        spherical.
    """

    weight_prior_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: object

    @property
    def weights(self):
        """The weights' prior (:mod:`mixtura.priors.weights`)."""
        return weight_prior(self.weight_prior_type, self.weight_concentration)


@dataclass(frozen=True)
class VariationalGaussian:
    """Variational posterior of a Gaussian mixture's weights and components."""

    prior: GaussianPrior
    covariance_type: str
    reg_covar: float
    weight_concentration: object  # (K,), or a pair of (K,) arrays for the DP
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: object  # (K,), or a float for tied
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    # -- M-step -----------------------------------------------------------------
    @classmethod
    def from_statistics(cls, prior, covariance_type, reg_covar, stats):
        """Posterior = prior + expected statistics.

        Parameters
        ----------
        prior : GaussianPrior
        covariance_type : str
        reg_covar : float
            Added to the diagonal of the statistics' covariances, as in EM.
        stats : MomentStats
            Responsibility-weighted statistics of the data.

        Returns
        -------
        VariationalGaussian
        """
        structure = get_covariance_structure(covariance_type)
        nk = stats.resp_sum + _EMPTY_COMPONENT_GUARD
        xk = stats.mean * (stats.resp_sum / nk)[:, None]
        sk = structure.covariances_from_scatter(stats.scatter, nk, reg_covar)
        mean_precision = prior.mean_precision + nk
        means = (prior.mean_precision * prior.mean + nk[:, None] * xk) / mean_precision[
            :, None
        ]
        dof, covariances = get_wishart_prior(covariance_type).update(nk, xk, sk, prior)
        return cls(
            prior=prior,
            covariance_type=covariance_type,
            reg_covar=reg_covar,
            weight_concentration=prior.weights.posterior(nk),
            mean_precision=mean_precision,
            means=means,
            degrees_of_freedom=dof,
            covariances=covariances,
            precisions_cholesky=structure.precision_cholesky(covariances),
        )

    def update(self, stats):
        """The M-step from new statistics, under the same prior."""
        return VariationalGaussian.from_statistics(
            self.prior, self.covariance_type, self.reg_covar, stats
        )

    # -- E-step -----------------------------------------------------------------
    @property
    def n_components(self):
        """Number of components (the truncation level for the DP)."""
        return self.means.shape[0]

    def expected_log_weights(self):
        """``E[log pi_k]`` under the weights' posterior, shape (n_components,)."""
        return self.prior.weights.expected_log_weights(self.weight_concentration)

    def family(self):
        """The Gaussian family at the posterior means (and normalised scales)."""
        return Gaussian(
            self.covariance_type,
            self.reg_covar,
            means=self.means,
            covariances=self.covariances,
            precisions_cholesky=self.precisions_cholesky,
        )

    def expected_mixture(self):
        """The E-step's mixture: ``E[log pi_k] + E[log N(x | mu_k, Lambda_k)]``.

        The expectation of the Gaussian log density under the Normal-Wishart
        posterior is the density at the posterior means with normalised
        precisions plus a per-component constant (Bishop 2006, eq. 10.64-10.66),
        which is folded into unnormalised log weights.
        """
        n_features = self.means.shape[1]
        dof = np.broadcast_to(self.degrees_of_freedom, (self.n_components,))
        constant = -0.5 * n_features * np.log(dof) + 0.5 * (
            log_lambda(dof, n_features) - n_features / self.mean_precision
        )
        return Mixture(
            self.expected_log_weights() + constant, self.family(), normalize=False
        )

    # -- lower bound ------------------------------------------------------------
    def parameter_bound(self):
        """The lower bound's terms that depend on the posterior parameters only.

        Returns
        -------
        value : float
            ``-log Wishart normalisers - log weight normaliser
            - d/2 sum log beta_k`` (scikit-learn's simplified bound).
        """
        structure = get_covariance_structure(self.covariance_type)
        n_features = self.means.shape[1]
        log_det = structure.log_det_cholesky(
            self.precisions_cholesky, n_features
        ) - 0.5 * n_features * np.log(self.degrees_of_freedom)
        log_wishart = get_wishart_prior(self.covariance_type).total_log_wishart_norm(
            self.degrees_of_freedom, log_det, n_features, self.n_components
        )
        return (
            -log_wishart
            - self.prior.weights.log_norm(self.weight_concentration)
            - 0.5 * n_features * float(np.sum(np.log(self.mean_precision)))
        )

    def weights(self):
        """Posterior mean of the mixing weights, shape (n_components,)."""
        return self.prior.weights.mean_weights(self.weight_concentration)

    def with_arrays(self, **changes):
        """A copy with some fields replaced (used when rebuilding fitted models)."""
        return replace(self, **changes)


def _expected_complete_log_prob(family, stats):
    """``sum_ik r_ik log p(x_i | theta_k)`` of a Gaussian family, from statistics.

    The sum over k of ``n_k (log det U_k - d/2 log 2 pi) - (tr(P_k S_k) + n_k
    q_k) / 2``, with S_k the scatter about the statistics' mean m_k and q_k the
    squared Mahalanobis distance of m_k from the component's mean. Pooled
    statistics (a shared precision) give ``sum_k tr(P S_k) = tr(P sum_k S_k)``.
    """
    structure = family.structure
    n_components, n_features = family.n_components, family.n_features
    precisions = structure.matrices(family.precisions, n_components, n_features)
    scatter = stats.scatter
    if scatter.ndim == 2:  # diagonal scatter: embed as matrices
        scatter = scatter[:, :, None] * np.eye(n_features)
    if getattr(stats, "pooled", False):
        trace = np.einsum("ij,ji->", precisions[0], scatter[0])
    else:
        trace = np.einsum("kij,kji->", precisions, scatter)
    offset = stats.mean - family.means
    quadratic = np.einsum("ki,kij,kj->k", offset, precisions, offset)
    log_det = np.broadcast_to(
        structure.log_det_cholesky(family.precisions_cholesky, n_features),
        (n_components,),
    )
    log_norm = log_det - 0.5 * n_features * np.log(2.0 * np.pi)
    return float(
        np.sum(stats.resp_sum * log_norm - 0.5 * stats.resp_sum * quadratic)
        - 0.5 * trace
    )


def variational_step(state, data):
    """One variational E-step and M-step.

    Parameters
    ----------
    state : VariationalGaussian
        The current posterior.
    data : ArrayData or another type ``accumulate`` supports

    Returns
    -------
    new_state : VariationalGaussian
        The posterior after the M-step.
    lower_bound : float
        The evidence lower bound (without constants, scikit-learn's definition)
        of the new posterior with the E-step's responsibilities; it never
        decreases.
    """
    mixture = state.expected_mixture()
    stats, mean_log_norm = accumulate(data, mixture)
    # entropy of the responsibilities, -sum_i r_ik log r_ik, from the statistics:
    # sum_i log-normaliser_i - sum_ik r_ik (log weight_k + log p(x_i | k))
    joint = float(
        np.sum(stats.resp_sum * mixture.log_weights)
        + _expected_complete_log_prob(mixture.family, stats)
    )
    entropy = mean_log_norm * data.total_weight - joint
    new_state = state.update(stats)
    return new_state, entropy + new_state.parameter_bound()
