"""The gated mixture value: a softmax gate plus K experts."""

from __future__ import annotations

import numpy as np

from mixtura.backend import logsumexp
from mixtura.stats import Stats

__all__ = ["GatedMixture", "GatedStats"]


class GatedStats(Stats):
    """The experts' statistics and the gate's Newton system, added together.

    Parameters
    ----------
    experts : Stats
    gate : Stats
    """

    def __init__(self, experts, gate):
        self.experts = experts
        self.gate = gate

    @property
    def resp_sum(self):
        return self.experts.resp_sum

    def __add__(self, other):
        if not isinstance(other, GatedStats):
            return NotImplemented
        return GatedStats(self.experts + other.experts, self.gate + other.gate)

    def scale(self, factor):
        return GatedStats(self.experts.scale(factor), self.gate.scale(factor))


class GatedMixture:
    """``p(y | x) = sum_k w_k(x) p(y | x, k)``: a gate and a conditional family.

    Offers what the fit loop and the data seam use of
    :class:`~mixtura.mixture.Mixture` (:meth:`group_statistics`,
    :meth:`maximize`, :meth:`log_responsibilities`, ``family``,
    ``n_components``), with the weights of each row from the gate.

    Parameters
    ----------
    gate : SoftmaxGate
    family : ConditionalFamily
    """

    def __init__(self, gate, family):
        if gate.n_components != family.n_components:
            raise ValueError(
                f"the gate has {gate.n_components} components and the experts "
                f"{family.n_components}"
            )
        self.gate = gate
        self.family = family

    @property
    def n_components(self):
        """Number of experts K."""
        return self.family.n_components

    @property
    def n_features(self):
        """Width of a row."""
        return self.family.n_features

    def joint_log_prob(self, X):
        """``log w_k(x_i) + log p(y_i | x_i, k)``, shape (n_samples, K)."""
        return self.family.log_prob(X) + self.gate.log_weights(X)

    def log_responsibilities(self, X):
        """Log posterior memberships (n, K) and log conditional densities (n,)."""
        joint = self.joint_log_prob(X)
        log_density = logsumexp(joint, 1, np)
        return joint - log_density[:, None], log_density

    def score_samples(self, X):
        """``log p(y_i | x_i)`` of each row, shape (n_samples,)."""
        return logsumexp(self.joint_log_prob(X), 1, np)

    def chunk_statistics(self, X, sample_weight=None, base_measure=True):
        """The experts' and the gate's statistics of one chunk, and its log-likelihood.

        Parameters
        ----------
        X : ndarray of shape (n_samples, width)
        sample_weight : ndarray of shape (n_samples,) or None
        base_measure : bool, default=True
            Include the experts' data-only term (as
            :meth:`mixtura.mixture.Mixture.chunk_statistics` does).

        Returns
        -------
        stats : GatedStats
        log_likelihood : float
        """
        experts = self.family.log_prob(X) if base_measure else self.family.log_kernel(X)
        joint = experts + self.gate.log_weights(X)
        log_density = logsumexp(joint, 1, np)
        resp = np.exp(joint - log_density[:, None])
        stats = GatedStats(
            self.family.statistics(X, resp, sample_weight),
            self.gate.statistics(X, resp, sample_weight),
        )
        if sample_weight is not None:
            log_density = log_density * sample_weight
        return stats, float(log_density.sum())

    def group_statistics(self, chunks, base_measure=True):
        """Summed :meth:`chunk_statistics` of consecutive chunks, in order."""
        total_stats, total = None, 0.0
        for X, sample_weight in chunks:
            stats, log_likelihood = self.chunk_statistics(
                X, sample_weight, base_measure
            )
            total_stats = stats if total_stats is None else total_stats + stats
            total += log_likelihood
        return total_stats, total

    def maximize(self, stats):
        """M-step: the gate's Newton step and the experts' weighted fit."""
        return GatedMixture(
            self.gate.maximize(stats.gate), self.family.maximize(stats.experts)
        )

    def interpolated(self, other, step):
        """The gated mixture ``step`` of the way from this one to ``other``."""
        return GatedMixture(
            self.gate.interpolated(other.gate, step),
            self.family.interpolated(other.family, step),
        )

    def n_parameters(self):
        """The experts' free parameters plus the gate's."""
        return self.family.n_parameters() + self.gate.n_parameters()

    def __repr__(self):
        return f"GatedMixture({self.gate!r}, {self.family!r})"
