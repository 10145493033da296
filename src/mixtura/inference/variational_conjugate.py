"""Variational Bayes for mixtures of conjugate discrete families.

Mean-field variational inference q(Z) q(pi) q(theta) for mixtures whose
components have a conjugate prior (Bishop 2006, "Pattern Recognition and Machine
Learning", section 10.4; Blei & Jordan 2006, "Variational inference for
Dirichlet process mixtures", Bayesian Analysis 1(1)):

- bernoulli: Beta(alpha_j, beta_j) per feature, :class:`BetaPrior`;
- poisson: Gamma(shape_j, rate_j) per feature, :class:`GammaPrior`;
- categorical: a Dirichlet per column over its levels,
  :class:`CategoricalDirichletPrior`;
- multinomial: a Dirichlet over the terms, :class:`MultinomialDirichletPrior`.

Each is an exponential family whose sufficient statistics are the family's own
:class:`~mixtura.stats.LinearStats`, so

- the M-step is posterior = prior + expected statistics (Bishop 2006, eq.
  10.58-10.63 for the Gaussian case; the same conjugate update here);
- the E-step needs ``E_q[log p(x | theta_k)]``, which is linear in the family's
  features: ``features(x) @ E[eta_k] + c_k + log h(x)`` with, e.g.,
  ``E[log theta] = psi(a) - psi(a + b)`` under a Beta. :class:`ExpectedLogLikelihood`
  exposes it as a family-like object with ``log_prob`` and ``statistics``, so the
  data seam (:func:`~mixtura.inference.data.accumulate`) and its chunking, sparse
  input included, serve variational inference unchanged;
- the evidence lower bound is exact, constants included. With the E-step's
  optimal q(Z),

  ``ELBO = sum_i w_i logsumexp_k (E[log pi_k] + E[log p(x_i | theta_k)])
  - KL(q(pi) || p(pi)) - sum_k KL(q(theta_k) || p(theta_k))``,

  and the KL terms are in closed form. For one component and a finite Dirichlet
  prior the converged bound is the exact log marginal likelihood.

Each prior class holds parameters of shape (n_params,) as a prior and
(n_components, n_params) as a posterior; ``update`` turns the first into the
second.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.sparse import issparse
from scipy.special import digamma, gammaln

from mixtura.backend import get_namespace, to_namespace
from mixtura.families.base import Family, split_missing
from mixtura.families.bernoulli import Bernoulli, observed_mass
from mixtura.families.categorical import Categorical, one_hot
from mixtura.families.multinomial import (
    Multinomial,
    log_multinomial_coefficient,
    mean_lengths,
    per_row,
    product_with_parameters,
)
from mixtura.families.poisson import Poisson, _log_factorial_sum
from mixtura.inference.data import accumulate
from mixtura.inference.weight_prior import (
    WeightPrior,
    expected_log_weights,
    kl_beta,
    kl_dirichlet,
    mean_weights,
    weight_kl,
    weight_posterior,
)
from mixtura.mixture import Mixture
from mixtura.stats import LinearStats

__all__ = [
    "CONJUGATE_PRIORS",
    "BetaPrior",
    "CategoricalDirichletPrior",
    "ConjugatePrior",
    "ExpectedLogLikelihood",
    "GammaPrior",
    "MultinomialDirichletPrior",
    "VariationalMixture",
    "conjugate_variational_step",
    "evidence_lower_bound",
    "kl_gamma",
    "sorted_by_mass",
]


def kl_gamma(shape, rate, shape0, rate0):
    """KL(Gamma(shape, rate) || Gamma(shape0, rate0)), elementwise (rate form).

    ``(a - a0) psi(a) - log Gamma(a) + log Gamma(a0) + a0 (log b - log b0)
    + a (b0 - b) / b``.

    Parameters
    ----------
    shape, rate : array-like
        Parameters of the first Gamma distribution(s), > 0.
    shape0, rate0 : array-like
        Those of the second, broadcastable against the first.

    Returns
    -------
    kl : ndarray
        Broadcast shape of the inputs, >= 0.
    """
    return (
        (shape - shape0) * digamma(shape)
        - gammaln(shape)
        + gammaln(shape0)
        + shape0 * (np.log(rate) - np.log(rate0))
        + shape * (rate0 - rate) / rate
    )


def _positive(array, name):
    array = np.asarray(array, dtype=np.float64)
    if not (np.isfinite(array).all() and (array > 0).all()):
        raise ValueError(f"{name} must be finite and > 0.")
    return array


class ConjugatePrior(ABC):
    """A conjugate prior (or, with a leading K axis, the posterior) of a family.

    Subclasses name the family they serve (``family_name``), the parameter
    arrays they hold (``parameter_names``) and how the family's statistics,
    features and expected natural parameters look.
    """

    #: the registered family this prior is conjugate to
    family_name: ClassVar[str]
    #: the names of the parameter arrays (fields), prior and posterior alike
    parameter_names: ClassVar[tuple]
    #: whether scipy.sparse input is handled
    accepts_sparse: ClassVar[bool] = False

    @property
    def n_components(self):
        """Number of components (posterior) or 1 (prior)."""
        first = getattr(self, self.parameter_names[0])
        return 1 if first.ndim == 1 else first.shape[0]

    def parameters(self):
        """The parameter arrays by name.

        Returns
        -------
        parameters : dict of str to ndarray
            Shapes (n_params,) for a prior, (n_components, n_params) for a
            posterior.
        """
        return {name: getattr(self, name) for name in self.parameter_names}

    @abstractmethod
    def template(self):
        """The family without parameters, whose ``statistics`` the update uses."""

    @abstractmethod
    def update(self, stats):
        """The posterior of every component: this prior plus the statistics.

        Parameters
        ----------
        stats : LinearStats
            Responsibility-weighted statistics of the family.

        Returns
        -------
        posterior : ConjugatePrior
            Of the same class, parameters of shape (n_components, n_params).
        """

    @abstractmethod
    def expected_natural_parameters(self):
        """The posterior expectations that make the E-step linear.

        Returns
        -------
        coefficients : ndarray of shape (n_features_expanded, n_components)
            ``E[eta_k]``, multiplied by the rows' features.
        constants : ndarray of shape (n_components,)
            The per-component terms, ``-E[A(eta_k)]``.
        """

    @abstractmethod
    def kl_divergence(self, prior):
        """KL(q(theta_k) || p(theta_k)) of every component, in closed form.

        Parameters
        ----------
        prior : ConjugatePrior
            The prior, of the same class.

        Returns
        -------
        kl : ndarray of shape (n_components,)
        """

    @abstractmethod
    def mean_family(self):
        """The family at the posterior means of its parameters.

        Returns
        -------
        family : Family
        """

    @abstractmethod
    def select(self, components):
        """The posterior of some components only.

        Parameters
        ----------
        components : array-like of int
            Indices of the components to keep.

        Returns
        -------
        posterior : ConjugatePrior
        """

    def features(self, X):
        """The rows' sufficient statistics T(x) (the data by default)."""
        return X

    def linear_term(self, X, coefficients):
        """``features(X) @ coefficients``, in X's namespace."""
        features = self.features(X)
        xp = get_namespace(features)
        return xp.matmul(features, to_namespace(coefficients, features))

    def log_base_measure(self, X, like):
        """``log h(x)`` of each row as a column like ``like``, or None when 0."""
        return None

    def feature_constants(self):
        """Per-feature terms of the constants, (K, n_features), or None.

        The constants of :meth:`expected_natural_parameters` are sums over the
        features (e.g. ``sum_j E[log(1 - theta_kj)]``); a row with a missing
        entry keeps only its observed features' terms. None when the constants
        are zero (the categorical's one-hot features already drop out).
        """
        return None

    def expected_log_likelihood(self):
        """``E_q[log p(x | theta_k)]`` as a family-like object.

        Returns
        -------
        ExpectedLogLikelihood
        """
        return ExpectedLogLikelihood(self)


class ExpectedLogLikelihood(Family):
    """``E_q[log p(x_i | theta_k)]`` of every row under every component.

    A family for the E-step only: ``log_prob`` gives the (n, K) expectations, one
    matrix product of the rows' features with the posterior's expected natural
    parameters; ``statistics`` is the family's own, so :func:`accumulate` works
    unchanged. It has no parameters of its own to maximise, sample or save
    (those methods raise NotImplementedError): the M-step is the prior's
    ``update``.

    Parameters
    ----------
    posterior : ConjugatePrior
        A posterior (parameters with a leading K axis).
    """

    name = "expected_log_likelihood"

    def __init__(self, posterior):
        self.posterior = posterior
        self._template = posterior.template()
        # cached once per iteration, as the families cache their log-parameters
        self._coefficients, self._constants = posterior.expected_natural_parameters()

    @property
    def n_components(self):
        """Number of components K."""
        return self._constants.shape[0]

    @property
    def n_features(self):
        """Number of columns of the data."""
        return self.posterior.n_features

    def log_prob(self, X):
        """Expected log-likelihood of every row under every component.

        Parameters
        ----------
        X : array or scipy.sparse matrix of shape (n_samples, n_features)
            Data.

        Returns
        -------
        expected : array of shape (n_samples, n_components)
            ``E_q[log p(x_i | theta_k)]``.
        """
        per_feature = self.posterior.feature_constants()
        observed = None
        if per_feature is not None and not issparse(X):
            X, observed = split_missing(X)  # NaN -> 0, and the observed mask
        linear = self.posterior.linear_term(X, self._coefficients)
        if observed is None:
            # complete rows, or features that drop a missing entry themselves
            # (one-hot codes: a NaN code has no level)
            out = linear + to_namespace(self._constants, linear)[None, :]
        else:  # a missing entry's constant term drops out with it
            constants = np.ascontiguousarray(per_feature.T)
            out = linear + get_namespace(linear).matmul(
                observed, to_namespace(constants, linear)
            )
        base = self.posterior.log_base_measure(X, out)
        return out if base is None else out + base

    def statistics(self, X, resp, sample_weight=None):
        """The family's statistics (see :meth:`Family.statistics`).

        Parameters
        ----------
        X : array or scipy.sparse matrix of shape (n_samples, n_features)
            Data.
        resp : array of shape (n_samples, n_components)
            Responsibilities.
        sample_weight : array of shape (n_samples,) or None
            Weights of the rows.

        Returns
        -------
        stats : LinearStats
        """
        return self._template.statistics(X, resp, sample_weight)

    def _not_a_model(self, *args, **kwargs):
        raise NotImplementedError(
            "ExpectedLogLikelihood serves the variational E-step only; use the "
            "posterior's update (M-step) or mean_family (sampling, saving)."
        )

    maximize = sample = n_parameters = config = arrays = _not_a_model
    from_arrays = classmethod(_not_a_model)

    def __repr__(self):
        return (
            f"ExpectedLogLikelihood({self.posterior.family_name}, "
            f"n_components={self.n_components})"
        )


# -- Beta-Bernoulli --------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BetaPrior(ConjugatePrior):
    """Beta priors on the probabilities of independent Bernoulli features.

    ``theta_kj ~ Beta(alpha_j, beta_j)``; the posterior given statistics
    ``s_kj = sum_i r_ik x_ij`` and ``N_k = sum_i r_ik`` is ``Beta(alpha_j + s_kj,
    beta_j + N_k - s_kj)``.

    Attributes
    ----------
    alpha, beta : ndarray of shape (n_features,) or (n_components, n_features)
        Pseudo-counts of ones and zeros, > 0.
    """

    alpha: np.ndarray
    beta: np.ndarray

    family_name: ClassVar[str] = "bernoulli"
    parameter_names: ClassVar[tuple] = ("alpha", "beta")

    def __post_init__(self):
        object.__setattr__(self, "alpha", _positive(self.alpha, "alpha"))
        object.__setattr__(self, "beta", _positive(self.beta, "beta"))

    @property
    def n_features(self):
        """Number of features."""
        return self.alpha.shape[-1]

    def template(self):
        """A Bernoulli template."""
        return Bernoulli()

    def update(self, stats):
        """``Beta(alpha + s_k, beta + N_k - s_k)`` (see :class:`ConjugatePrior`)."""
        mass = observed_mass(stats)
        return BetaPrior(self.alpha + stats.sum_x, self.beta + (mass - stats.sum_x))

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

    def mean_family(self):
        """Bernoulli at ``alpha / (alpha + beta)``."""
        return Bernoulli(probabilities=self.alpha / (self.alpha + self.beta))

    def select(self, components):
        """The posterior of the given components."""
        return BetaPrior(self.alpha[components], self.beta[components])


# -- Gamma-Poisson ---------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GammaPrior(ConjugatePrior):
    """Gamma priors on the rates of independent Poisson features.

    ``lambda_kj ~ Gamma(gamma_shape_j, gamma_rate_j)`` (rate parametrisation, mean
    gamma_shape / gamma_rate); the posterior adds ``s_kj`` to the shape and ``N_k``
    to the rate.

    Attributes
    ----------
    gamma_shape, gamma_rate : ndarray of shape (n_features,) or \
            (n_components, n_features)
        > 0.
    """

    gamma_shape: np.ndarray
    gamma_rate: np.ndarray

    family_name: ClassVar[str] = "poisson"
    parameter_names: ClassVar[tuple] = ("gamma_shape", "gamma_rate")

    def __post_init__(self):
        shape = _positive(self.gamma_shape, "gamma_shape")
        object.__setattr__(self, "gamma_shape", shape)
        object.__setattr__(self, "gamma_rate", _positive(self.gamma_rate, "gamma_rate"))

    @property
    def n_features(self):
        """Number of features."""
        return self.gamma_shape.shape[-1]

    def template(self):
        """A Poisson template."""
        return Poisson()

    def update(self, stats):
        """``Gamma(gamma_shape + s_k, gamma_rate + N_k)``, the posterior."""
        mass = observed_mass(stats)
        return GammaPrior(self.gamma_shape + stats.sum_x, self.gamma_rate + mass)

    def expected_natural_parameters(self):
        """Coefficients ``E[log lambda]``, constants ``-sum_j E[lambda]``."""
        log_rate = digamma(self.gamma_shape) - np.log(self.gamma_rate)
        rate = self.gamma_shape / self.gamma_rate
        return np.ascontiguousarray(log_rate.T), -rate.sum(axis=1)

    def feature_constants(self):
        """``-E[lambda_kj]`` (see :meth:`ConjugatePrior.feature_constants`)."""
        return -self.gamma_shape / self.gamma_rate

    def log_base_measure(self, X, like):
        """``-sum_j log x_j!`` of each row."""
        return -_log_factorial_sum(X, get_namespace(X))[:, None]

    def kl_divergence(self, prior):
        """Sum over the features of the Gammas' KL (see :class:`ConjugatePrior`)."""
        return kl_gamma(
            self.gamma_shape, self.gamma_rate, prior.gamma_shape, prior.gamma_rate
        ).sum(axis=1)

    def mean_family(self):
        """Poisson at the rates ``gamma_shape / gamma_rate``."""
        return Poisson(rates=self.gamma_shape / self.gamma_rate)

    def select(self, components):
        """The posterior of the given components."""
        return GammaPrior(self.gamma_shape[components], self.gamma_rate[components])


# -- Dirichlet-categorical -------------------------------------------------------
def _block_offsets(n_levels):
    return np.concatenate([[0], np.cumsum(n_levels)[:-1]]).astype(np.intp)


@dataclass(frozen=True, eq=False)
class CategoricalDirichletPrior(ConjugatePrior):
    """Dirichlet priors on each categorical column's level probabilities.

    Column j's probabilities ``p_kj ~ Dirichlet(concentration[block j])``; the
    posterior adds the responsibility-weighted level counts. Parameters are
    concatenated column block after column block, as the Categorical family's.

    Attributes
    ----------
    concentration : ndarray of shape (sum(n_levels),) or \
            (n_components, sum(n_levels))
        > 0.
    n_levels : ndarray of shape (n_features,)
        Number of levels of each column.
    """

    concentration: np.ndarray
    n_levels: np.ndarray

    family_name: ClassVar[str] = "categorical"
    parameter_names: ClassVar[tuple] = ("concentration",)

    def __post_init__(self):
        concentration = _positive(self.concentration, "concentration")
        n_levels = np.asarray(self.n_levels, dtype=np.int64)
        if concentration.shape[-1] != n_levels.sum():
            raise ValueError(
                f"concentration needs {int(n_levels.sum())} values (the levels of "
                f"all columns); got {concentration.shape[-1]}."
            )
        object.__setattr__(self, "concentration", concentration)
        object.__setattr__(self, "n_levels", n_levels)

    @property
    def n_features(self):
        """Number of categorical columns."""
        return self.n_levels.shape[0]

    def template(self):
        """A Categorical template with these levels."""
        return Categorical(self.n_levels)

    def _block_totals(self, values):
        totals = np.add.reduceat(values, _block_offsets(self.n_levels), axis=-1)
        return totals, np.repeat(totals, self.n_levels, axis=-1)

    def update(self, stats):
        """``concentration + counts`` (see :class:`ConjugatePrior`)."""
        return CategoricalDirichletPrior(
            self.concentration + stats.counts, self.n_levels
        )

    def features(self, X):
        """The concatenated one-hot encoding of the codes."""
        return one_hot(X, self.n_levels)

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
        offsets = _block_offsets(self.n_levels)
        per_level = (
            gammaln(alpha0)
            - gammaln(alpha)
            + (alpha - alpha0) * (digamma(alpha) - digamma(total_repeated))
        )
        per_column = (
            gammaln(total) - gammaln(total0) + np.add.reduceat(per_level, offsets, -1)
        )
        return per_column.sum(axis=-1)

    def mean_family(self):
        """Categorical at the posterior mean probabilities."""
        _, totals = self._block_totals(self.concentration)
        return Categorical(self.n_levels, probabilities=self.concentration / totals)

    def select(self, components):
        """The posterior of the given components."""
        return CategoricalDirichletPrior(self.concentration[components], self.n_levels)


# -- Dirichlet-multinomial -------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MultinomialDirichletPrior(ConjugatePrior):
    """A Dirichlet prior on each multinomial component's term probabilities.

    ``theta_k ~ Dirichlet(concentration)``; the posterior adds the
    responsibility-weighted term counts. scipy.sparse input stays sparse.

    Attributes
    ----------
    concentration : ndarray of shape (n_features,) or (n_components, n_features)
        > 0.
    lengths : ndarray of shape (n_components,) or None
        Mean document length of each component (not a parameter of the
        likelihood; the mean family samples lengths from it).
    """

    concentration: np.ndarray
    lengths: np.ndarray | None = None

    family_name: ClassVar[str] = "multinomial"
    parameter_names: ClassVar[tuple] = ("concentration",)
    accepts_sparse: ClassVar[bool] = True

    def __post_init__(self):
        concentration = _positive(self.concentration, "concentration")
        object.__setattr__(self, "concentration", concentration)

    @property
    def n_features(self):
        """Number of terms."""
        return self.concentration.shape[-1]

    def template(self):
        """A Multinomial template."""
        return Multinomial()

    def update(self, stats):
        """``concentration + term counts`` (see :class:`ConjugatePrior`)."""
        return MultinomialDirichletPrior(
            self.concentration + stats.term_sums,
            mean_lengths(stats.term_sums, stats.resp_sum),
        )

    def linear_term(self, X, coefficients):
        """``X @ coefficients``; sparse X stays sparse."""
        return product_with_parameters(X, coefficients)

    def log_base_measure(self, X, like):
        """The multinomial coefficient ``log(n! / prod_v x_v!)`` of each row."""
        return per_row(log_multinomial_coefficient(X), like)

    def expected_natural_parameters(self):
        """Coefficients ``E[log theta] = psi(a) - psi(sum a)``; no constants."""
        alpha = self.concentration
        log_theta = digamma(alpha) - digamma(alpha.sum(axis=1, keepdims=True))
        return np.ascontiguousarray(log_theta.T), np.zeros(alpha.shape[0])

    def kl_divergence(self, prior):
        """The Dirichlets' KL (see :class:`ConjugatePrior`)."""
        return kl_dirichlet(self.concentration, prior.concentration)

    def mean_family(self):
        """Multinomial at the posterior mean term probabilities."""
        alpha = self.concentration
        return Multinomial(
            probabilities=alpha / alpha.sum(axis=1, keepdims=True),
            lengths=self.lengths,
        )

    def select(self, components):
        """The posterior of the given components."""
        lengths = None if self.lengths is None else self.lengths[components]
        return MultinomialDirichletPrior(self.concentration[components], lengths)


#: family name -> its conjugate prior class
CONJUGATE_PRIORS = {
    cls.family_name: cls
    for cls in (
        BetaPrior,
        GammaPrior,
        CategoricalDirichletPrior,
        MultinomialDirichletPrior,
    )
}


# -- the variational state and step ----------------------------------------------
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
    stats : LinearStats
        Statistics whose sums all have n_components on the leading axis.

    Returns
    -------
    stats : LinearStats
        The same statistics, components reordered (a stable sort).
    """
    order = np.argsort(-stats.resp_sum, kind="stable")
    if np.array_equal(order, np.arange(order.size)):
        return stats
    return LinearStats(
        stats.resp_sum[order],
        **{name: value[order] for name, value in stats.sums.items()},
    )


@dataclass(frozen=True, eq=False)
class VariationalMixture:
    """Variational posterior of a conjugate mixture: q(pi) and every q(theta_k).

    Attributes
    ----------
    weight_prior : WeightPrior
        The weights' prior.
    prior : ConjugatePrior
        The components' prior (parameters of shape (n_params,)).
    weight_concentration : ndarray or tuple of ndarray
        The weights' posterior (see
        :func:`~mixtura.inference.weight_prior.weight_posterior`).
    posterior : ConjugatePrior
        The components' posterior (parameters of shape (n_components, n_params)).
    """

    weight_prior: WeightPrior
    prior: ConjugatePrior
    weight_concentration: object
    posterior: ConjugatePrior

    @classmethod
    def from_statistics(cls, weight_prior, prior, stats):
        """The M-step: posterior = prior + expected statistics.

        Parameters
        ----------
        weight_prior : WeightPrior
        prior : ConjugatePrior
        stats : LinearStats
            Responsibility-weighted statistics of the family.

        Returns
        -------
        VariationalMixture
            Under the Dirichlet process, with the components in decreasing order
            of their mass N_k (see :func:`sorted_by_mass`).
        """
        if weight_prior.weight_prior_type == "dirichlet_process":
            stats = sorted_by_mass(stats)
        return cls(
            weight_prior=weight_prior,
            prior=prior,
            weight_concentration=weight_posterior(weight_prior, stats.resp_sum),
            posterior=prior.update(stats),
        )

    def update(self, stats):
        """The M-step from new statistics, under the same priors."""
        return VariationalMixture.from_statistics(self.weight_prior, self.prior, stats)

    @property
    def n_components(self):
        """Number of components (the truncation level for the DP)."""
        return self.posterior.n_components

    def expected_log_weights(self):
        """``E[log pi_k]``, shape (n_components,)."""
        return expected_log_weights(
            self.weight_prior.weight_prior_type, self.weight_concentration
        )

    def expected_mixture(self):
        """The E-step's mixture: ``E[log pi_k] + E[log p(x | theta_k)]``.

        Returns
        -------
        Mixture
            Unnormalised log weights over an :class:`ExpectedLogLikelihood`; its
            log densities are the bound's per-row terms.
        """
        return Mixture(
            self.expected_log_weights(),
            self.posterior.expected_log_likelihood(),
            normalize=False,
        )

    def kl_divergence(self):
        """KL(q(pi) || p(pi)) + sum_k KL(q(theta_k) || p(theta_k)), a float."""
        components = self.posterior.kl_divergence(self.prior)
        return weight_kl(self.weight_prior, self.weight_concentration) + float(
            np.sum(components)
        )

    def weights(self):
        """Posterior mean of the mixing weights, shape (n_components,)."""
        return mean_weights(
            self.weight_prior.weight_prior_type, self.weight_concentration
        )

    def mean_mixture(self):
        """The mixture at the posterior means of the weights and parameters."""
        return Mixture.from_weights(self.weights(), self.posterior.mean_family())


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


def conjugate_variational_step(state, data):
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
