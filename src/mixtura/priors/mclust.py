"""The conjugate prior of Fraley & Raftery (2007) for MAP estimation, as mclust has it.

Fraley & Raftery (2007) regularise Gaussian mixtures with a conjugate prior on each
component's mean and covariance: ``mu_k | Sigma_k ~ N(mean, Sigma_k / shrinkage)``
and an inverse Wishart (or, for the spherical and diagonal models, inverse gamma
on each variance) with ``dof`` degrees of freedom and scale ``scale``. EM then
maximises the posterior (MAP) instead of the likelihood: the means shrink towards
``mean``,

    mu_k = (n_k xbar_k + shrinkage mean) / (n_k + shrinkage),

and each covariance M-step sees its scatter ``W_k`` enlarged by the prior scale
and by ``c_k (xbar_k - mean)(xbar_k - mean)^T`` with
``c_k = shrinkage n_k / (shrinkage + n_k)``, and its weight ``n_k`` enlarged by a
model-specific count of pseudo-observations. The mixing weights keep their
maximum-likelihood update and the information criteria use the log-likelihood at
the MAP parameters with the usual number of parameters, as mclust's
``mclustBIC(..., prior = priorControl())`` does.

How each model takes the prior is a :class:`PriorRule` owned by its covariance
structure (``structure.prior_rule``): the M-step is the model's own constrained
M-step applied to the augmented scatter and counts, so no code switches on the
model's name. The rules reproduce mclust 6.0's ``meXXX`` functions with a prior
(the EM that ``Mclust`` and ``mclustBIC`` run), including where they depart from
the textbook MAP:

- EII adds no prior scale (``meEII``'s variance is ``(sum_k tr W_k + c_k |xbar_k -
  mean|^2) / (dof + (n + K) d + 2)``);
- EEI keeps the unshrunk means ``xbar_k`` (its covariance has the shrinkage term);
- VEV counts no extra pseudo-observations (its denominators are ML's ``n_k d``);
- EVI and EEV add the prior scale to every component's scatter but count the
  means' prior once.
- with one component mclust fits ``mvnXII``, ``mvnXXI`` or ``mvnXXX``: every
  spherical model then takes VII's rule, every diagonal one VVI's and every
  ellipsoidal one VVV's (:attr:`PriorRule.single`).

mclust's one-step ``mstepEVI``, ``mstepEEI`` and ``mstepEEV`` with a prior use
other denominators (or no shrinkage) than the EM; mixtura follows the EM.
mclust has no prior for VEE, EVE, VVE and EVV (``meVEE`` says "VEE model is not
available with prior"); mixtura raises a ValueError for them. scikit-learn's
names take the rule of their mclust twin: ``'full'`` as VVV, ``'tied'`` as EEE,
``'diag'`` as VVI, ``'spherical'`` as VII.

References
----------
Fraley, C. & Raftery, A. E. (2007). Bayesian regularization for normal mixture
estimation and model-based clustering. Journal of Classification 24, 155-181.
Scrucca, L., Fop, M., Murphy, T. B. & Raftery, A. E. (2016). mclust 5: clustering,
classification and density estimation using Gaussian finite mixture models. The R
Journal 8, 289-317.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mixtura.families.covariance import get_covariance_structure
from mixtura.priors.mclust_rules import PriorRule

__all__ = [
    "PRIOR_KEYS",
    "MclustPrior",
    "PriorRule",
    "get_prior_rule",
    "log_prior",
    "resolve_prior",
]

#: the entries of a prior given as a dict (mclust's ``priorControl`` arguments)
PRIOR_KEYS = ("shrinkage", "mean", "dof", "scale")

#: mclust's default shrinkage (``defaultPrior``)
DEFAULT_SHRINKAGE = 0.01


@dataclass(frozen=True)
class MclustPrior:
    """Conjugate prior hyperparameters, mclust's ``defaultPrior`` list.

    Attributes
    ----------
    shrinkage : float
        ``kappa_P >= 0``, the prior mean's weight in pseudo-observations (0: no
        prior on the means).
    mean : ndarray of shape (n_features,)
        ``mu_P``, where the means shrink to.
    dof : float
        ``nu_P > n_features - 1``, degrees of freedom.
    scale : ndarray of shape (n_features, n_features) or float
        ``Lambda_P``: a symmetric positive definite matrix for the models with
        full covariance matrices, a positive number (``varsigma_P^2``) for the
        spherical and diagonal models (and E, V).
    """

    shrinkage: float
    mean: np.ndarray
    dof: float
    scale: np.ndarray | float

    @classmethod
    def default(cls, X, n_components, model):
        """mclust's ``defaultPrior(data, G, modelName)``.

        Shrinkage 0.01, the column means, ``dof = d + 2`` and the scale
        ``var(X) / K^(2/d)`` (the diagonal of ``var(X)`` when ``n <= d``); for
        the spherical and diagonal models the scalar
        ``sum_j var(X_j) / d / K^(2/d)``. Variances use ``n - 1`` as R's ``var``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        n_components : int
            Number of components K.
        model : str or CovarianceStructure
            The covariance model (e.g. ``'VVV'``, ``'EII'``, ``'full'``).

        Returns
        -------
        prior : MclustPrior
        """
        structure = get_covariance_structure(model)
        get_prior_rule(structure)
        X = np.asarray(X, dtype=np.float64)
        X = X.reshape(len(X), -1)
        n_samples, n_features = X.shape
        factor = (1.0 / n_components) ** (2.0 / n_features)
        variances = np.var(X, axis=0, ddof=1)
        if not structure.full_scatter:
            scale = float(factor * variances.sum() / n_features)
        elif n_samples > n_features:
            scale = factor * np.atleast_2d(np.cov(X, rowvar=False))
        else:
            scale = factor * np.diag(variances)
        return cls(DEFAULT_SHRINKAGE, X.mean(axis=0), float(n_features + 2), scale)

    def checked(self, structure, n_features):
        """This prior with numbers and shapes checked for ``structure``.

        Parameters
        ----------
        structure : CovarianceStructure
        n_features : int

        Returns
        -------
        prior : MclustPrior
            With float64 arrays.

        Raises
        ------
        ValueError
            Naming the entry that is wrong and what it must be.
        """
        shrinkage = _finite_number(self.shrinkage, "shrinkage")
        if shrinkage < 0:
            raise ValueError(
                f"prior shrinkage must be >= 0 (0: no prior on the means); got "
                f"{shrinkage}."
            )
        mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        if mean.shape != (n_features,) or not np.isfinite(mean).all():
            raise ValueError(
                f"prior mean must be {n_features} finite numbers (one per feature); "
                f"got shape {np.shape(self.mean)}."
            )
        dof = _finite_number(self.dof, "dof")
        if dof <= n_features - 1:
            raise ValueError(
                f"prior dof must exceed n_features - 1 = {n_features - 1}; got {dof} "
                f"(mclust's default is n_features + 2 = {n_features + 2})."
            )
        scale = _checked_scale(self.scale, structure, n_features)
        return MclustPrior(shrinkage, mean, dof, scale)


def _finite_number(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"prior {name} must be a number; got {value!r}.") from None
    if not np.isfinite(number):
        raise ValueError(f"prior {name} must be finite; got {number}.")
    return number


def _checked_scale(scale, structure, n_features):
    array = np.asarray(scale, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError("prior scale contains NaN or infinity.")
    if not structure.full_scatter:
        if array.size != 1 or array.reshape(-1)[0] <= 0:
            raise ValueError(
                f"prior scale for covariance_type={structure.name!r} (spherical or "
                f"diagonal) must be one positive number; got shape {array.shape}"
                + (f" and value {array.reshape(-1)[0]}" if array.size == 1 else "")
                + "."
            )
        return float(array.reshape(-1)[0])
    if array.shape != (n_features, n_features):
        raise ValueError(
            f"prior scale for covariance_type={structure.name!r} must be a "
            f"({n_features}, {n_features}) matrix; got shape {array.shape}."
        )
    if not np.allclose(array, array.T):
        raise ValueError("prior scale must be a symmetric matrix.")
    if np.linalg.eigvalsh(array)[0] <= 0:
        raise ValueError("prior scale must be positive definite.")
    return array


def get_prior_rule(structure):
    """The :class:`PriorRule` of a covariance structure, or a clear error.

    Parameters
    ----------
    structure : CovarianceStructure

    Returns
    -------
    rule : PriorRule

    Raises
    ------
    ValueError
        For the models mclust has no prior for (VEE, EVE, VVE, EVV).
    """
    rule = getattr(structure, "prior_rule", None)
    if rule is None:
        raise ValueError(
            f"covariance_type={structure.name!r} has no conjugate prior: mclust "
            "offers none for VEE, EVE, VVE and EVV, and mixtura follows it. Use "
            "prior=None, or a model with a prior such as 'VVV', 'VEV', 'EEV' or "
            "'EEE'."
        )
    return rule


def resolve_prior(spec, X, n_components, structure):
    """The prior a ``prior=`` argument asks for, checked against the data.

    Parameters
    ----------
    spec : None, 'default', dict or MclustPrior
        None: maximum likelihood. ``'default'``: mclust's ``defaultPrior``. A
        dict: the default with some of ``shrinkage``, ``mean``, ``dof``,
        ``scale`` replaced (mclust's ``priorControl(...)`` arguments).
    X : array-like of shape (n_samples, n_features)
        Data the default prior is computed from.
    n_components : int
    structure : CovarianceStructure

    Returns
    -------
    prior : MclustPrior or None

    Raises
    ------
    ValueError
        If the model has no prior, a key is unknown or a value is invalid.
    """
    if spec is None:
        return None
    n_features = np.shape(X)[1] if np.ndim(X) == 2 else 1
    if isinstance(spec, MclustPrior):
        get_prior_rule(structure)
        return spec.checked(structure, n_features)
    if isinstance(spec, str) and spec == "default":
        spec = {}
    if not isinstance(spec, dict):
        raise ValueError(
            f"prior must be None, 'default', a dict of {list(PRIOR_KEYS)} or a "
            f"MclustPrior; got {spec!r}."
        )
    unknown = sorted(set(spec) - set(PRIOR_KEYS))
    if unknown:
        raise ValueError(
            f"unknown prior entries {unknown}; valid ones are {list(PRIOR_KEYS)}."
        )
    default = MclustPrior.default(X, n_components, structure)
    return replace(default, **spec).checked(structure, n_features)


def log_prior(family, prior):
    """The log prior density the MAP M-step adds to the log-likelihood.

    Up to an additive constant:
    ``-1/2 sum_k [a_k log det Sigma_k + tr((A_k + kappa (mu_k - mean)(mu_k -
    mean)^T) Sigma_k^{-1})]``, with ``a_k`` the model's extra counts and ``A_k``
    the prior scale added to component k's scatter. EM with the prior never
    decreases ``log-likelihood + log_prior`` (exactly for the closed-form
    M-steps; EEI, which keeps unshrunk means, is not a MAP step).

    Parameters
    ----------
    family : Gaussian
        A Gaussian family with parameters.
    prior : MclustPrior

    Returns
    -------
    value : float
    """
    structure = family.structure
    n_components, n_features = family.n_components, family.n_features
    rule = get_prior_rule(structure).at(n_components)
    covariances = structure.matrices(family.covariances, n_components, n_features)
    precisions = np.linalg.inv(covariances)
    extra = rule.counts(np.zeros(n_components), prior)
    added = rule.added_scale(prior, n_components, structure.full_scatter)
    if not structure.full_scatter:
        added = np.diag(added)
    deviations = family.means - prior.mean
    quadratic = np.einsum("ki,kij,kj->k", deviations, precisions, deviations)
    traces = np.einsum("ij,kji->k", added, precisions)
    log_dets = np.linalg.slogdet(covariances)[1]
    return float(-0.5 * np.sum(extra * log_dets + traces + prior.shrinkage * quadratic))
