"""The Normal-Wishart prior of the Gaussian family, one rule per covariance structure.

The conjugate prior of a Gaussian component's mean and precision (Bishop 2006,
*Pattern Recognition and Machine Learning*, section 10.2; Murphy 2007,
"Conjugate Bayesian analysis of the Gaussian distribution"):
``mu_k | Lambda_k ~ N(m, (beta Lambda_k)^-1)`` and a Wishart (full and tied
structures) or Gamma (diag: one per feature; spherical: one per component)
distribution on the precision. It serves variational Bayes: the M-step is
posterior = prior + expected statistics (:meth:`NormalWishart.update`), the
E-step the Gaussian at the posterior means plus a per-component constant
(:meth:`NormalWishart.expected_log_likelihood`), the bound's parameter part a
closed-form KL divergence (:meth:`NormalWishart.kl_divergence`).

Parameters are scikit-learn's (``BayesianGaussianMixture``): ``mean_precision``
beta, ``mean`` m, ``degrees_of_freedom`` nu and ``covariance``. For the prior,
``covariance`` is C_0, the inverse of the Wishart scale, in the structure's
prior shape ((d, d) for full and tied, (d,) for diag, a float for spherical);
for a posterior it is C_k = ``W_k^-1 / nu_k = E[Lambda_k]^-1``, the
covariances of the Gaussian at the posterior means. The distributions:

==========  ====================================================================
structure   the precision's posterior (its prior: nu_0 and C_0 in their place)
==========  ====================================================================
full        Lambda_k ~ Wishart(nu_k, (nu_k C_k)^-1); prior Wishart(nu_0, C_0^-1)
tied        one Lambda ~ Wishart(K nu, (K nu C)^-1); prior Wishart(K nu_0,
            (K C_0)^-1): the prior of the shared precision counts once per
            component, as scikit-learn's update counts it (the stored nu is
            the Wishart's over K)
diag        lambda_kj ~ Gamma(nu_k / 2, rate nu_k C_kj / 2); prior
            Gamma(nu_0 / 2, rate C_0j / 2)
spherical   lambda_k ~ Gamma(nu_k d / 2, rate nu_k d C_k / 2); prior
            Gamma(nu_0 d / 2, rate d C_0 / 2)
==========  ====================================================================

The M-step of each is scikit-learn's update. scikit-learn's E-step and bound
then use, for every structure, the d-dimensional Wishart's ``E[log det
Lambda]`` and normaliser with the stored nu, which are those of the
distributions above for full covariances only; ``scikit_learn_terms=True``
reproduces them (parity with ``sklearn.mixture.BayesianGaussianMixture``), the
default uses the distributions above, so that the variational bound is exact:
for one component it equals the log marginal likelihood.

A structure's rule is looked up by its class (:func:`scale_rule`), so the
covariance structures import nothing of the priors; mclust's constrained models
have no Normal-Wishart prior here.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import digamma, gammaln

from mixtura.families.covariance import (
    CovarianceStructure,
    Diagonal,
    Full,
    Spherical,
    Tied,
    get_covariance_structure,
)
from mixtura.priors.base import check_parameter_names, check_width
from mixtura.priors.divergences import kl_gamma
from mixtura.priors.normal_inverse_wishart import NormalInverseWishart
from mixtura.stats import EMPTY_COMPONENT_GUARD

__all__ = [
    "COVARIANCE_TYPES",
    "NormalWishart",
    "ScaleRule",
    "checked_array",
    "data_covariance",
    "expected_log_det_wishart",
    "scale_rule",
]


def expected_log_det_wishart(degrees_of_freedom, n_features):
    """``E[log det Lambda] - log det W`` under Wishart(nu, W).

    Parameters
    ----------
    degrees_of_freedom : ndarray of shape (n_components,) or float
    n_features : int

    Returns
    -------
    value : ndarray of shape (n_components,) or float
        ``d log 2 + sum_{i<d} psi((nu - i) / 2)``.
    """
    offsets = np.arange(n_features)[:, None]
    return n_features * math.log(2.0) + np.sum(
        digamma(0.5 * (np.atleast_1d(degrees_of_freedom) - offsets)), axis=0
    ).reshape(np.shape(degrees_of_freedom))


def log_multivariate_gamma(a, n_features):
    """``log Gamma_d(a)``, elementwise over an array ``a``.

    Parameters
    ----------
    a : array-like
        Arguments, each > (d - 1) / 2.
    n_features : int
        d.

    Returns
    -------
    ndarray
        The shape of ``a``.
    """
    a = np.asarray(a, dtype=np.float64)
    offsets = 0.5 * np.arange(n_features)
    return 0.25 * n_features * (n_features - 1) * math.log(math.pi) + np.sum(
        gammaln(a[..., None] - offsets), axis=-1
    )


def _log_wishart_normalizer(dof, log_det_scale, n_features):
    """``log B(W, nu) = -nu/2 log det W - nu d/2 log 2 - log Gamma_d(nu/2)``."""
    dof = np.asarray(dof, dtype=np.float64)
    return (
        -0.5 * dof * log_det_scale
        - 0.5 * dof * n_features * math.log(2.0)
        - log_multivariate_gamma(0.5 * dof, n_features)
    )


def kl_wishart(dof, log_det_precision, trace, dof0, log_det_covariance0, n_features):
    """KL(Wishart(nu, P / nu) || Wishart(nu_0, C_0^-1)), from the mean precision P.

    ``log B(W, nu) - log B(W_0, nu_0) + (nu - nu_0)/2 E[log det Lambda]
    - nu d / 2 + tr(C_0 P) / 2`` with ``W = P / nu`` (Bishop 2006, B.79-B.82).

    Parameters
    ----------
    dof : ndarray
        nu of the first distribution(s).
    log_det_precision : ndarray
        ``log det P`` (P = nu W = E[Lambda]), broadcastable against ``dof``.
    trace : ndarray
        ``tr(C_0 P)``, broadcastable against ``dof``.
    dof0 : float
        nu_0.
    log_det_covariance0 : float
        ``log det C_0``.
    n_features : int

    Returns
    -------
    ndarray
        Broadcast shape of the inputs, >= 0.
    """
    log_det_scale = log_det_precision - n_features * np.log(dof)
    expected_log_det = expected_log_det_wishart(dof, n_features) + log_det_scale
    return (
        _log_wishart_normalizer(dof, log_det_scale, n_features)
        - _log_wishart_normalizer(dof0, -log_det_covariance0, n_features)
        + 0.5 * (dof - dof0) * expected_log_det
        - 0.5 * dof * n_features
        + 0.5 * trace
    )


def _scikit_learn_log_wishart_norm(dof, log_det_cholesky, n_features):
    """scikit-learn's Wishart log normaliser (no ``log pi`` term), elementwise.

    ``log_det_cholesky`` is ``log det U`` of the scale's Cholesky factor.
    """
    offsets = np.arange(n_features)[:, None]
    return -(
        dof * log_det_cholesky
        + dof * n_features * 0.5 * math.log(2.0)
        + np.sum(gammaln(0.5 * (np.atleast_1d(dof) - offsets)), axis=0).reshape(
            np.shape(dof)
        )
    )


class ScaleRule(ABC):
    """How one covariance structure takes the Normal-Wishart prior.

    The rule owns what differs between the structures: the precision's
    posterior, its expected log-determinant and its KL divergence. The mean's
    part (a Normal given the precision) is the same for all and lives in
    :class:`NormalWishart`.
    """

    #: whether all components share one precision (its prior is counted once
    #: per component, see the module docstring)
    shared = False

    @abstractmethod
    def scikit_learn_covariance(self, X):
        """scikit-learn's default C_0: the data's covariance in the prior shape.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Complete data.

        Returns
        -------
        ndarray or float
        """

    @abstractmethod
    def project(self, covariance):
        """A (d, d) covariance matrix in this structure's prior shape.

        Parameters
        ----------
        covariance : ndarray of shape (n_features, n_features)

        Returns
        -------
        ndarray or float
            The matrix (full, tied), its diagonal (diag) or the diagonal's
            mean (spherical).
        """

    @abstractmethod
    def covariance_shape(self, n_features):
        """The shape of C_0."""

    @abstractmethod
    def posterior(self, prior, nk, xk, sk):
        """The precision's posterior (nu, C) from the expected statistics.

        Parameters
        ----------
        prior : NormalWishart
        nk : ndarray of shape (n_components,)
            Component masses.
        xk : ndarray of shape (n_components, n_features)
            Their means.
        sk : ndarray
            Their covariances in the structure's shape.

        Returns
        -------
        degrees_of_freedom : ndarray of shape (n_components,) or float
        covariances : ndarray
            ``E[Lambda_k]^-1`` in the structure's shape.
        """

    @abstractmethod
    def expected_log_det(self, dof, n_features, n_components):
        """``E[log det Lambda_k] - log det E[Lambda_k]``, shape (n_components,)."""

    @abstractmethod
    def kl_precision(self, posterior, prior, log_det_precisions):
        """Sum over the components of the precisions' KL divergences, a float.

        Parameters
        ----------
        posterior, prior : NormalWishart
        log_det_precisions : ndarray of shape (n_components,) or float
            ``log det E[Lambda_k]``.
        """


def _shrinkage(prior, nk):
    """``beta_0 n_k / (beta_0 + n_k)``: the weight of the means' offset."""
    return nk * prior.mean_precision / (prior.mean_precision + nk)


class FullScale(ScaleRule):
    """Each component its own Wishart over a full precision matrix."""

    def scikit_learn_covariance(self, X):
        return np.atleast_2d(np.cov(X.T))

    def project(self, covariance):
        return covariance

    def covariance_shape(self, n_features):
        return (n_features, n_features)

    def posterior(self, prior, nk, xk, sk):
        dof = prior.degrees_of_freedom + nk
        diff = xk - prior.mean
        scale = (
            prior.covariance
            + nk[:, None, None] * sk
            + _shrinkage(prior, nk)[:, None, None]
            * (diff[:, :, None] * diff[:, None, :])
        )
        return dof, scale / dof[:, None, None]

    def expected_log_det(self, dof, n_features, n_components):
        value = expected_log_det_wishart(dof, n_features) - n_features * np.log(dof)
        return np.broadcast_to(value, (n_components,))

    def kl_precision(self, posterior, prior, log_det_precisions):
        precisions = posterior.structure.precisions(posterior.precisions_cholesky)
        trace = np.einsum("ij,kji->k", prior.covariance, precisions)
        return float(
            np.sum(
                kl_wishart(
                    posterior.degrees_of_freedom,
                    log_det_precisions,
                    trace,
                    prior.degrees_of_freedom,
                    np.linalg.slogdet(prior.covariance)[1],
                    posterior.n_features,
                )
            )
        )


class TiedScale(FullScale):
    """One Wishart over the precision all components share."""

    shared = True

    def posterior(self, prior, nk, xk, sk):
        n_components = nk.shape[0]
        dof = prior.degrees_of_freedom + nk.sum() / n_components
        diff = xk - prior.mean
        mean_precision = prior.mean_precision + nk
        scale = (
            prior.covariance
            + sk * nk.sum() / n_components
            + prior.mean_precision
            / n_components
            * np.dot((nk / mean_precision) * diff.T, diff)
        )
        return dof, scale / dof

    def expected_log_det(self, dof, n_features, n_components):
        # the Wishart's own degrees of freedom are K times the stored ones
        return super().expected_log_det(n_components * dof, n_features, n_components)

    def kl_precision(self, posterior, prior, log_det_precisions):
        n_components = posterior.n_components
        precision = posterior.structure.precisions(posterior.precisions_cholesky)
        covariance0 = n_components * prior.covariance
        return float(
            kl_wishart(
                n_components * posterior.degrees_of_freedom,
                log_det_precisions,
                np.sum(covariance0 * precision),
                n_components * prior.degrees_of_freedom,
                np.linalg.slogdet(covariance0)[1],
                posterior.n_features,
            )
        )


class DiagonalScale(ScaleRule):
    """Independent Gamma priors on each feature's precision, per component."""

    def scikit_learn_covariance(self, X):
        return np.var(X, axis=0, ddof=1)

    def project(self, covariance):
        return np.diag(covariance).copy()

    def covariance_shape(self, n_features):
        return (n_features,)

    def posterior(self, prior, nk, xk, sk):
        dof = prior.degrees_of_freedom + nk
        diff = xk - prior.mean
        ratio = prior.mean_precision / (prior.mean_precision + nk)
        scale = prior.covariance + nk[:, None] * (sk + ratio[:, None] * diff**2)
        return dof, scale / dof[:, None]

    def expected_log_det(self, dof, n_features, n_components):
        # E[log lambda] - log E[lambda] of Gamma(nu/2, .) is psi(nu/2) - log(nu/2)
        return n_features * (digamma(0.5 * dof) - np.log(0.5 * dof))

    def kl_precision(self, posterior, prior, log_det_precisions):
        dof = posterior.degrees_of_freedom[:, None]
        return float(
            np.sum(
                kl_gamma(
                    0.5 * dof,
                    0.5 * dof * posterior.covariance,
                    0.5 * prior.degrees_of_freedom,
                    0.5 * prior.covariance,
                )
            )
        )


class SphericalScale(DiagonalScale):
    """One Gamma prior on each component's single precision."""

    def scikit_learn_covariance(self, X):
        return float(np.var(X, axis=0, ddof=1).mean())

    def project(self, covariance):
        return float(np.mean(np.diag(covariance)))

    def covariance_shape(self, n_features):
        return ()

    def posterior(self, prior, nk, xk, sk):
        dof = prior.degrees_of_freedom + nk
        diff = xk - prior.mean
        ratio = prior.mean_precision / (prior.mean_precision + nk)
        scale = prior.covariance + nk * (sk + ratio * np.mean(diff**2, axis=1))
        return dof, scale / dof

    def expected_log_det(self, dof, n_features, n_components):
        shape = 0.5 * n_features * dof
        return n_features * (digamma(shape) - np.log(shape))

    def kl_precision(self, posterior, prior, log_det_precisions):
        n_features = posterior.n_features
        half = 0.5 * n_features
        dof = posterior.degrees_of_freedom
        return float(
            np.sum(
                kl_gamma(
                    half * dof,
                    half * dof * posterior.covariance,
                    half * prior.degrees_of_freedom,
                    half * prior.covariance,
                )
            )
        )


#: covariance structure class -> its Normal-Wishart rule (exact classes: mclust's
#: models subclass these but constrain the matrices differently)
_SCALE_RULES = {
    Full: FullScale(),
    Tied: TiedScale(),
    Diagonal: DiagonalScale(),
    Spherical: SphericalScale(),
}


#: the covariance types that have a Normal-Wishart prior
COVARIANCE_TYPES = tuple(cls.name for cls in _SCALE_RULES)


def scale_rule(structure):
    """The Normal-Wishart rule of a covariance structure, or a clear ValueError.

    Parameters
    ----------
    structure : CovarianceStructure

    Returns
    -------
    ScaleRule
    """
    rule = _SCALE_RULES.get(type(structure))
    if rule is None:
        raise ValueError(
            f"variational inference has no conjugate prior for covariance_type "
            f"{structure.name!r} yet; use one of {sorted(COVARIANCE_TYPES)}"
        )
    return rule


@dataclass(frozen=True, eq=False)
class NormalWishart:
    """Normal-Wishart prior (or posterior) of Gaussian components.

    Attributes
    ----------
    structure : CovarianceStructure
        The components' covariance structure (full, tied, diag or spherical).
    mean_precision : float or ndarray of shape (n_components,)
        beta.
    mean : ndarray of shape (n_features,) or (n_components, n_features)
        m.
    degrees_of_freedom : float or ndarray of shape (n_components,)
        nu (a float for a prior and for the tied structure's posterior).
    covariance : float or ndarray
        C_0 for a prior (shape ``covariance_shape``), the posterior covariances
        ``E[Lambda_k]^-1`` (the structure's shape) for a posterior.
    reg_covar : float, default=0.0
        Added to the diagonal of the statistics' covariances in the M-step, as
        in EM.
    scikit_learn_terms : bool, default=False
        Use scikit-learn's ``E[log det Lambda]`` (see the module docstring).
    precisions_cholesky : ndarray or None, default=None
        The posterior's Cholesky factors of ``E[Lambda_k]`` (None for a prior).
    """

    structure: CovarianceStructure
    mean_precision: object
    mean: np.ndarray
    degrees_of_freedom: object
    covariance: object
    reg_covar: float = 0.0
    scikit_learn_terms: bool = False
    precisions_cholesky: object = None

    parameter_names = ("mean_precision", "mean", "degrees_of_freedom", "covariance")

    #: the E-step's constants assume complete rows
    supports_missing = False

    @classmethod
    def default(cls, covariance_type, X, reg_covar=0.0):
        """The data-dependent default prior of the Bayesian estimators.

        ``m`` the columns' (observed) means; ``beta = 0.01``, a vague prior
        that lets a component's mean lie anywhere within about ten component
        widths of m; ``nu = d + 2``, the smallest integer with a finite prior
        mean of the covariance; C_0 the data's covariance (:func:`data_covariance`)
        in the structure's shape, so that the prior mean of each component's
        covariance, ``C_0 / (nu - d - 1)``, is the data's. (scikit-learn's
        defaults, which ``BayesianGaussianMixture`` keeps, are ``beta = 1`` and
        ``nu = d``.)

        Parameters
        ----------
        covariance_type : str or CovarianceStructure
        X : ndarray of shape (n_samples, n_features)
            Training data, NaN where missing.
        reg_covar : float, default=0.0
            Of the M-step (see the class).

        Returns
        -------
        NormalWishart
        """
        structure = _structure(covariance_type)
        X = np.asarray(X, dtype=np.float64)
        n_features = X.shape[1]
        mean = np.nanmean(X, axis=0) if np.isnan(X).any() else X.mean(axis=0)
        return cls(
            structure=structure,
            mean_precision=0.01,
            mean=mean,
            degrees_of_freedom=n_features + 2.0,
            covariance=scale_rule(structure).project(data_covariance(X)),
            reg_covar=float(reg_covar),
        )

    def check_data(self, X):
        """Refuse data of another width; return X (any real values, NaN too).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        X : ndarray
        """
        check_width(X, self.n_features)
        return X

    def collapsed_prior(self):
        """The prior the collapsed Gibbs sampler integrates out.

        Returns
        -------
        NormalInverseWishart
            The same distribution for full covariances (``Sigma = Lambda^-1``,
            ``Psi = C_0``).

        Raises
        ------
        ValueError
            For the other structures, which the sampler does not have.
        """
        if type(self.structure) is not Full:
            raise ValueError(
                "collapsed Gibbs samples Gaussian clusters with full covariances "
                f"only; got covariance_type={self.structure.name!r}."
            )
        return NormalInverseWishart.checked(
            self.mean, self.mean_precision, self.degrees_of_freedom, self.covariance
        )

    def replaced(self, values):
        """This prior with some parameters replaced, each checked.

        Parameters
        ----------
        values : dict of str to float or array-like
            New values of some of ``parameter_names``.

        Returns
        -------
        NormalWishart
        """
        check_parameter_names(type(self).__name__, values, self.parameter_names)
        return replace(self, **values).checked_against(self)

    def checked_against(self, default):
        """This prior with every parameter checked against ``default``'s shapes.

        Parameters
        ----------
        default : NormalWishart
            A prior whose structure and shapes are right for the data.

        Returns
        -------
        NormalWishart
            With float64 arrays and ``default``'s structure, ``reg_covar`` and
            convention.

        Raises
        ------
        ValueError
            Naming the parameter that has the wrong shape or value.
        """
        n_features = default.n_features
        mean = checked_array(self.mean, (n_features,), "mean")
        mean_precision = _checked_positive(self.mean_precision, "mean_precision")
        dof = _checked_positive(self.degrees_of_freedom, "degrees_of_freedom")
        if dof <= n_features - 1:
            raise ValueError(
                f"degrees_of_freedom must exceed n_features - 1 = {n_features - 1}; "
                f"got {dof}."
            )
        shape = default.rule.covariance_shape(n_features)
        covariance = checked_array(self.covariance, shape, "covariance")
        _check_positive_definite(covariance)
        return replace(
            default,
            mean_precision=mean_precision,
            mean=mean,
            degrees_of_freedom=dof,
            covariance=float(covariance) if covariance.ndim == 0 else covariance,
        )

    @property
    def rule(self):
        """The structure's :class:`ScaleRule`."""
        return scale_rule(self.structure)

    @property
    def n_features(self):
        """Number of features d."""
        return np.shape(self.mean)[-1]

    @property
    def n_components(self):
        """Number of components K of a posterior."""
        return np.shape(self.mean)[0]

    def parameters(self):
        """``{name: value}`` of the prior's parameters."""
        return {name: getattr(self, name) for name in self.parameter_names}

    # -- M-step ---------------------------------------------------------------------
    def update(self, stats):
        """The posterior given responsibility-weighted statistics.

        Parameters
        ----------
        stats : MomentStats
            Statistics of the Gaussian family (K on the leading axis).

        Returns
        -------
        NormalWishart
            The posterior, parameters with n_components on the leading axis.
        """
        structure = self.structure
        nk = stats.resp_sum + EMPTY_COMPONENT_GUARD
        xk = stats.mean * (stats.resp_sum / nk)[:, None]
        sk = structure.covariances_from_scatter(stats.scatter, nk, self.reg_covar)
        mean_precision = self.mean_precision + nk
        means = (self.mean_precision * self.mean + nk[:, None] * xk) / mean_precision[
            :, None
        ]
        dof, covariances = self.rule.posterior(self, nk, xk, sk)
        return replace(
            self,
            mean_precision=mean_precision,
            mean=means,
            degrees_of_freedom=dof,
            covariance=covariances,
            precisions_cholesky=structure.precision_cholesky(covariances),
        )

    # -- E-step ---------------------------------------------------------------------
    def mean_parameters(self):
        """The Gaussian's parameters at the posterior means of mu_k and Lambda_k."""
        return {
            "means": self.mean,
            "covariances": self.covariance,
            "precisions_cholesky": self.precisions_cholesky,
        }

    def expected_log_det(self):
        """``E[log det Lambda_k] - log det E[Lambda_k]``, shape (n_components,)."""
        dof = self.degrees_of_freedom
        if self.scikit_learn_terms:
            value = expected_log_det_wishart(dof, self.n_features) - (
                self.n_features * np.log(dof)
            )
            return np.broadcast_to(value, (self.n_components,))
        return self.rule.expected_log_det(dof, self.n_features, self.n_components)

    def expected_log_likelihood(self, template):
        """The E-step's family and per-component constants.

        ``E[log N(x | mu_k, Lambda_k^-1)]`` is the log density at the posterior
        means with ``E[Lambda_k]`` plus ``(E[log det Lambda_k] - log det
        E[Lambda_k] - d / beta_k) / 2`` (Bishop 2006, eq. 10.64-10.65).

        Parameters
        ----------
        template : Gaussian
            The family without parameters.

        Returns
        -------
        family : Gaussian
            At the posterior means.
        constants : ndarray of shape (n_components,)
        """
        family = template.with_parameters(**self.mean_parameters())
        constants = 0.5 * (
            self.expected_log_det() - self.n_features / self.mean_precision
        )
        return family, constants

    def select(self, components):
        """The posterior of some components only (a shared precision is kept)."""
        per_component = {
            "mean_precision": self.mean_precision[components],
            "mean": self.mean[components],
        }
        if not self.rule.shared:
            per_component.update(
                degrees_of_freedom=self.degrees_of_freedom[components],
                covariance=self.covariance[components],
                precisions_cholesky=self.precisions_cholesky[components],
            )
        return replace(self, **per_component)

    # -- the bound ------------------------------------------------------------------
    def log_det_precisions(self):
        """``log det E[Lambda_k]``, shape (n_components,) (a float for tied)."""
        return 2.0 * self.structure.log_det_cholesky(
            self.precisions_cholesky, self.n_features
        )

    def kl_divergence(self, prior):
        """Sum over the components of KL(q(mu_k, Lambda_k) || p(mu_k, Lambda_k)).

        The precision's part comes from the structure's rule; the mean's,
        ``E_q(Lambda)[KL(N(m_k, (beta_k Lambda)^-1) || N(m_0, (beta_0
        Lambda)^-1))]``, is ``(d beta_0 / beta_k + beta_0 (m_k - m_0)^T
        E[Lambda_k] (m_k - m_0) - d + d log(beta_k / beta_0)) / 2``.

        Parameters
        ----------
        prior : NormalWishart
            The prior this posterior came from.

        Returns
        -------
        float
        """
        n_features = self.n_features
        offsets = self.structure.squared_mahalanobis(
            np.asarray(prior.mean, dtype=np.float64)[None, :],
            self.mean,
            self.precisions_cholesky,
            np,
        )[0]
        ratio = prior.mean_precision / self.mean_precision
        means_part = 0.5 * np.sum(
            n_features * ratio
            + prior.mean_precision * offsets
            - n_features
            - n_features * np.log(ratio)
        )
        precision_part = self.rule.kl_precision(self, prior, self.log_det_precisions())
        return float(means_part) + precision_part

    def log_likelihood_from_statistics(self, stats):
        """``sum_ik r_ik log N(x_i | m_k, E[Lambda_k]^-1)`` from the statistics.

        The sum over k of ``n_k (log det U_k - d/2 log 2 pi) - (tr(P_k S_k) +
        n_k q_k) / 2``, with S_k the scatter about the statistics' mean and q_k
        the squared Mahalanobis distance of that mean from m_k; pooled
        statistics (a shared precision) give ``sum_k tr(P S_k) = tr(P sum_k
        S_k)``. scikit-learn's bound needs it for the entropy of q(Z).

        Parameters
        ----------
        stats : MomentStats

        Returns
        -------
        float
        """
        structure = self.structure
        n_components, n_features = self.n_components, self.n_features
        precisions = structure.matrices(
            structure.precisions(self.precisions_cholesky), n_components, n_features
        )
        scatter = stats.scatter
        if scatter.ndim == 2:  # diagonal scatter: embed as matrices
            scatter = scatter[:, :, None] * np.eye(n_features)
        if getattr(stats, "pooled", False):
            trace = np.einsum("ij,ji->", precisions[0], scatter[0])
        else:
            trace = np.einsum("kij,kji->", precisions, scatter)
        offset = stats.mean - self.mean
        quadratic = np.einsum("ki,kij,kj->k", offset, precisions, offset)
        log_norm = 0.5 * np.broadcast_to(
            self.log_det_precisions(), (n_components,)
        ) - 0.5 * n_features * np.log(2.0 * np.pi)
        return float(
            np.sum(stats.resp_sum * log_norm - 0.5 * stats.resp_sum * quadratic)
            - 0.5 * trace
        )

    def scikit_learn_bound_terms(self):
        """The posterior's part of scikit-learn's bound (constants dropped).

        Returns
        -------
        float
            ``-sum log Wishart normalisers - d/2 sum_k log beta_k``, the
            normalisers with scikit-learn's d-dimensional form for every
            structure (K times the shared one for tied).
        """
        n_features = self.n_features
        log_det = 0.5 * self.log_det_precisions() - 0.5 * n_features * np.log(
            self.degrees_of_freedom
        )
        norms = _scikit_learn_log_wishart_norm(
            self.degrees_of_freedom, log_det, n_features
        )
        if self.rule.shared:
            log_wishart = self.n_components * float(norms)
        else:
            log_wishart = float(np.sum(norms))
        return -log_wishart - 0.5 * n_features * float(
            np.sum(np.log(self.mean_precision))
        )


def data_covariance(X):
    """The data's covariance, with a floor so that it is positive definite.

    With missing entries (NaN): the covariance of the data with each missing
    entry at its column's mean, its diagonal raised to the observed entries'
    variances (filling shrinks them; raising a diagonal keeps the matrix
    positive definite). One row gives the identity.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_features, n_features)
    """
    n_features = X.shape[1]
    if np.isnan(X).any():
        observed = ~np.isnan(X)
        means = np.nanmean(X, axis=0)
        filled = np.where(observed, X, means)
        cov = np.atleast_2d(np.cov(filled.T))
        squares = ((filled - filled.mean(axis=0)) ** 2).sum(axis=0)
        observed_variance = squares / np.maximum(observed.sum(axis=0) - 1, 1)
        cov[np.diag_indices(n_features)] = np.maximum(observed_variance, np.diag(cov))
    else:
        cov = np.atleast_2d(np.cov(X.T)) if len(X) > 1 else np.eye(n_features)
    level = float(np.trace(cov)) / n_features
    floor = 1e-6 * level if level > 0 else 1e-6
    return cov + floor * np.eye(n_features)


def checked_array(value, shape, name):
    """``value`` as a finite float64 array of ``shape``, or a ValueError naming it.

    Parameters
    ----------
    value : array-like
    shape : tuple of int
    name : str
        What the message calls the value.

    Returns
    -------
    ndarray
    """
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return array


def _checked_positive(value, name):
    number = float(checked_array(value, (), name))
    if number <= 0:
        raise ValueError(f"{name} must be positive; got {number}.")
    return number


def _check_positive_definite(covariance):
    if covariance.ndim == 2:
        symmetric = np.allclose(covariance, covariance.T)
        if not symmetric or np.linalg.eigvalsh(covariance)[0] <= 0:
            raise ValueError(
                "covariance must be a symmetric, positive definite matrix."
            )
    elif np.any(covariance <= 0):
        raise ValueError("covariance must be positive.")


def _structure(covariance_type):
    if isinstance(covariance_type, CovarianceStructure):
        return covariance_type
    return get_covariance_structure(covariance_type)
