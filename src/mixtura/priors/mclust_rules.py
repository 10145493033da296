"""How each of mclust's covariance models takes the conjugate prior (its M-step rule).

Fraley & Raftery (2007) and mclust 6.0's ``meXXX`` routines with a prior: the rules
are small values that the covariance structures hold (``prior_rule``), so this
module imports nothing from the structures and the structures nothing from the
prior (:mod:`mixtura.priors.mclust`), which uses both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "EEE_RULE",
    "EEI_RULE",
    "EEV_RULE",
    "EII_RULE",
    "EVI_RULE",
    "E_RULE",
    "VEI_RULE",
    "VEV_RULE",
    "VII_RULE",
    "VVI_RULE",
    "VVV_RULE",
    "PriorRule",
]


@dataclass(frozen=True)
class PriorRule:
    """How one covariance model takes the conjugate prior in its M-step.

    Attributes
    ----------
    scale : {'each', 'pooled', 'none'}
        Where the prior scale is added: to every component's scatter, once to
        the pooled scatter of a model with one shared covariance (spread evenly
        over the components), or nowhere (mclust's EII).
    pooled_count : bool
        Whether :attr:`extra_count` is one count for all components together
        (spread evenly over them) rather than one per component.
    extra_count : callable
        ``extra_count(dof, has_mean_prior, n_features, n_components) -> float``:
        the pseudo-observations added to the weight ``n_k`` in the covariance
        M-step (the degrees of freedom, plus one per mean prior when the
        shrinkage is positive, in the model's units).
    spherical : bool, default=False
        Whether the (scalar) prior scale is added once to the trace of a
        spherical scatter rather than to each of its diagonal entries.
    shrink_means : bool, default=True
        Whether the means shrink towards the prior mean (False for mclust's EEI,
        which keeps the sample means).
    single : PriorRule, default=None
        The rule for one component, where mclust fits every spherical model as
        XII (VII's rule), every diagonal one as XXI (VVI's) and every ellipsoidal
        one as XXX (VVV's), with ``mvnXII`` etc.; None: this rule.
    """

    scale: str
    pooled_count: bool
    extra_count: Callable[[float, bool, int, int], float]
    spherical: bool = False
    shrink_means: bool = True
    single: PriorRule | None = None

    def at(self, n_components):
        """The rule that applies with ``n_components`` components.

        Parameters
        ----------
        n_components : int

        Returns
        -------
        rule : PriorRule
            :attr:`single` for one component (when set), else this rule.
        """
        if n_components == 1 and self.single is not None:
            return self.single
        return self

    def counts(self, nk, prior):
        """The weights ``n_k`` plus the prior's pseudo-observations, shape (K,)."""
        n_components, n_features = len(nk), prior.mean.shape[0]
        extra = self.extra_count(
            prior.dof, prior.shrinkage > 0, n_features, n_components
        )
        return nk + (extra / n_components if self.pooled_count else extra)

    def added_scale(self, prior, n_components, full_scatter):
        """The prior scale added to each component's scatter.

        Returns
        -------
        added : ndarray of shape (d, d) if ``full_scatter`` else (d,)
        """
        n_features = prior.mean.shape[0]
        if self.scale == "none":
            scale = np.zeros((n_features, n_features) if full_scatter else n_features)
        elif full_scatter:
            scale = np.asarray(prior.scale, dtype=np.float64)
        else:
            value = float(np.asarray(prior.scale).reshape(-1)[0])
            per_entry = value / n_features if self.spherical else value
            scale = np.full(n_features, per_entry)
        return scale / n_components if self.scale == "pooled" else scale

    def augment(self, stats, nk, prior, full_scatter):
        """Means, scatter and counts of the MAP M-step.

        Parameters
        ----------
        stats : MomentStats
            Weighted counts, means ``xbar_k`` (K, d) and scatter ``W_k``.
        nk : ndarray of shape (K,)
            The counts the M-step divides by (never zero).
        prior : MclustPrior
        full_scatter : bool
            Whether the scatter holds (K, d, d) matrices or (K, d) diagonals.

        Returns
        -------
        means : ndarray of shape (K, d)
        scatter : ndarray, shaped as ``stats.scatter``
            ``W_k + c_k (xbar_k - mean)(xbar_k - mean)^T`` plus the prior scale
            (summed over the components when ``stats`` is pooled).
        counts : ndarray of shape (K,)
        """
        if self.at(len(nk)) is not self:
            return self.at(len(nk)).augment(stats, nk, prior, full_scatter)
        kappa = prior.shrinkage
        deviations = stats.mean - prior.mean
        weights = kappa * nk / (kappa + nk)
        if full_scatter:
            shrink = weights[:, None, None] * (
                deviations[:, :, None] * deviations[:, None, :]
            )
        else:
            shrink = weights[:, None] * deviations**2
        added = self.added_scale(prior, len(nk), full_scatter)
        if getattr(stats, "pooled", False):
            # only the components' sum is kept: add up their augmentations too
            extra = np.broadcast_to(shrink + added, shrink.shape).sum(axis=0)
            scatter = stats.scatter + extra[None]
        else:
            scatter = stats.scatter + shrink + added
        if self.shrink_means:
            means = (nk[:, None] * stats.mean + kappa * prior.mean) / (nk + kappa)[
                :, None
            ]
        else:
            means = stats.mean * (stats.resp_sum / nk)[:, None]
        return means, scatter, self.counts(nk, prior)


# -- the rules of mclust's models (meXXX with a prior, mclust 6.0) -------------------
def _spherical_equal(dof, has_mean, d, k):
    # meEII: sigma^2 = sum_k (tr W_k + c_k |.|^2) / (dof + (n + K) d + 2)
    return (dof + 2.0 + has_mean * k * d) / d


def _spherical_variable(dof, has_mean, d, k):
    # meVII: sigma_k^2 = (scale + tr W_k + ...) / (dof + (n_k + 1) d + 2)
    return (dof + 2.0) / d + has_mean


def _equal_volume_diagonal(dof, has_mean, d, k):
    # meEEI, meEVI: volume / (dof + 1 + n [+ 1])
    return dof + 1.0 + has_mean


def _variable_volume_equal_shape_diagonal(dof, has_mean, d, k):
    # meVEI: volume_k = sum_j w_jk / shape_j / (dof + n_k d + 2 [+ 1])
    return (dof + 2.0 + has_mean) / d


def _per_variance(dof, has_mean, d, k):
    # meVVI and meV: (scale + W_kjj + ...) / (dof + n_k + 2 [+ 1])
    return dof + 2.0 + has_mean


def _pooled_variance(dof, has_mean, d, k):
    # meE: (scale + sum_k W_k + ...) / (dof + n + 2 [+ K])
    return dof + 2.0 + has_mean * k


def _pooled_matrix(dof, has_mean, d, k):
    # meEEE: (Lambda + sum_k W_k + ...) / (dof + d + 1 + n [+ K])
    return dof + d + 1.0 + has_mean * k


def _each_matrix(dof, has_mean, d, k):
    # meVVV: (Lambda + W_k + ...) / (dof + d + 1 + n_k [+ 1]); meEEV likewise, once
    return dof + d + 1.0 + has_mean


def _no_extra(dof, has_mean, d, k):
    # meVEV: the ML volume and shape updates on the enlarged scatters
    return 0.0


#: the rules, by mclust model (the structures in ``mclust.py`` hold them); with one
#: component mclust's mvnXII, mvnXXI and mvnXXX take the VII, VVI and VVV rules
VII_RULE = PriorRule("each", False, _spherical_variable, spherical=True)
VVI_RULE = PriorRule("each", False, _per_variance)
VVV_RULE = PriorRule("each", False, _each_matrix)
EII_RULE = PriorRule("none", True, _spherical_equal, spherical=True, single=VII_RULE)
E_RULE = PriorRule("pooled", True, _pooled_variance, spherical=True)
EEI_RULE = PriorRule(
    "pooled", True, _equal_volume_diagonal, shrink_means=False, single=VVI_RULE
)
VEI_RULE = PriorRule(
    "each", False, _variable_volume_equal_shape_diagonal, single=VVI_RULE
)
EVI_RULE = PriorRule("each", True, _equal_volume_diagonal, single=VVI_RULE)
EEE_RULE = PriorRule("pooled", True, _pooled_matrix, single=VVV_RULE)
EEV_RULE = PriorRule("each", True, _each_matrix, single=VVV_RULE)
VEV_RULE = PriorRule("each", False, _no_extra, single=VVV_RULE)
