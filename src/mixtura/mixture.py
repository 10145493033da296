"""The mixture value: log weights plus one batched family."""

from __future__ import annotations

import numpy as np

from mixtura.backend import (
    get_namespace,
    log_normalize,
    logsumexp,
    posterior_in_place,
    to_namespace,
    to_numpy,
)
from mixtura.families.base import Family
from mixtura.stats import EMPTY_COMPONENT_GUARD, Stats

__all__ = ["Mixture"]


class Mixture:
    """A finite mixture: weights w_k and K components of one family.

    ``p(x) = sum_k w_k p(x | theta_k)``. A value: methods return new mixtures and
    never change this one.

    Parameters
    ----------
    log_weights : array-like of shape (n_components,)
        Log mixing weights (they need not be normalised; they are normalised here).
    family : Family
        The components, with parameters.
    normalize : bool, default=True
        Normalise the weights to sum to one. Variational inference passes False:
        its E-step adds expected log weights (and per-component constants) that
        are not a probability vector; responsibilities are the same either way.
    """

    def __init__(self, log_weights, family: Family, *, normalize=True):
        log_weights = np.asarray(log_weights, dtype=np.float64)
        if normalize:
            # (logsumexp silences the log of zero where every weight is zero)
            log_weights = log_weights - logsumexp(log_weights, 0, np)
        self.log_weights = log_weights
        self.family = family
        if self.log_weights.shape != (family.n_components,):
            raise ValueError(
                f"{family.n_components} components need {family.n_components} "
                f"weights; got shape {self.log_weights.shape}"
            )

    @classmethod
    def from_weights(cls, weights, family):
        """A mixture from (unnormalised) weights rather than log weights."""
        with np.errstate(divide="ignore"):
            return cls(np.log(np.asarray(weights, dtype=np.float64)), family)

    @property
    def weights(self):
        """Mixing weights, shape (n_components,), summing to one."""
        return np.exp(self.log_weights)

    @property
    def n_components(self):
        """Number of components K."""
        return self.family.n_components

    @property
    def n_features(self):
        """Number of features of one sample."""
        return self.family.n_features

    def joint_log_prob(self, X):
        """Log of weight times density of every sample under every component.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.

        Returns
        -------
        joint : array of shape (n_samples, n_components)
            ``log w_k + log p(x_i | theta_k)``.
        """
        # the namespace is the log densities' (X may be a scipy.sparse matrix)
        log_prob = self.family.log_prob(X)
        return log_prob + to_namespace(self.log_weights, log_prob)[None, :]

    def log_responsibilities(self, X):
        """Log posterior memberships and the per-sample log densities.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        log_resp : array of shape (n_samples, n_components)
        log_density : array of shape (n_samples,)
            ``log p(x_i)`` under the mixture.
        """
        joint = self.joint_log_prob(X)
        # normalised from the row-shifted values: stable where |log p| is huge
        return log_normalize(joint, 1, get_namespace(joint))

    def chunk_statistics(self, X, sample_weight=None, base_measure=True):
        """E-step of one chunk: the statistics and its total log-likelihood.

        One fused pass when the family offers it
        (:meth:`~mixtura.families.base.Family.fused_statistics`), else the
        joint log probabilities, the posterior and :meth:`statistics`.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        sample_weight : array of shape (n_samples,) or None
        base_measure : bool, default=True
            Include the family's data-only term
            (:meth:`~mixtura.families.base.Family.log_base_measure`) in the
            log-likelihood. False leaves it out (the responsibilities are the
            same), for callers that add its precomputed total themselves.

        Returns
        -------
        stats : Stats
        log_likelihood : float
            ``sum_i w_i log p(x_i)`` (less the base measure when
            ``base_measure`` is False).
        """
        # (families with a fused step have no base measure to leave out)
        fused = self.family.fused_statistics(X, self.log_weights, sample_weight)
        if fused is not None:
            return fused
        if base_measure:
            joint = self.joint_log_prob(X)
        else:
            kernel = self.family.log_kernel(X)
            joint = kernel + to_namespace(self.log_weights, kernel)[None, :]
        if isinstance(joint, np.ndarray):
            resp, log_density = _responsibilities_in_place(joint)
        else:
            xp = get_namespace(joint)
            log_resp, log_density = log_normalize(joint, 1, xp)
            resp = xp.exp(log_resp)
        xp = get_namespace(resp)  # not X's: X may be a scipy.sparse matrix
        stats = self.statistics(X, resp, sample_weight)
        if sample_weight is not None:
            log_density = log_density * sample_weight
        return stats, float(to_numpy(xp.sum(log_density)))

    def group_statistics(self, chunks, base_measure=True):
        """E-step of consecutive chunks: their summed statistics and log-likelihood.

        The family's :meth:`~mixtura.families.base.Family.fused_group_statistics`
        when it offers one, else :meth:`chunk_statistics` of each chunk, summed
        in order (so the result does not depend on who ran which group).

        Parameters
        ----------
        chunks : sequence of (array of shape (rows, n_features), weights or None)
        base_measure : bool, default=True
            As in :meth:`chunk_statistics`.

        Returns
        -------
        stats : Stats
        log_likelihood : float
            ``sum_i w_i log p(x_i)`` over all the chunks.
        """
        fused = self.family.fused_group_statistics(chunks, self.log_weights)
        if fused is not None:
            return fused
        total_stats, total_log_likelihood = None, 0.0
        for X, sample_weight in chunks:
            stats, log_likelihood = self.chunk_statistics(
                X, sample_weight, base_measure
            )
            total_stats = stats if total_stats is None else total_stats + stats
            total_log_likelihood += log_likelihood
        return total_stats, total_log_likelihood

    def score_samples(self, X):
        """Log density of each sample under the mixture.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_density : array of shape (n_samples,)
            ``log p(x_i)``.
        """
        joint = self.joint_log_prob(X)
        return logsumexp(joint, 1, get_namespace(joint))

    def statistics(self, X, resp, sample_weight=None) -> Stats:
        """Sufficient statistics of the components for responsibilities ``resp``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.
        resp : array of shape (n_samples, n_components)
            Responsibilities.
        sample_weight : array of shape (n_samples,) or None
            Weights of the samples.

        Returns
        -------
        stats : Stats
            Additive statistics (see :mod:`mixtura.stats`).
        """
        return self.family.statistics(X, resp, sample_weight)

    def maximize(self, stats: Stats) -> Mixture:
        """M-step: weights from the responsibility sums, components from ``stats``.

        Parameters
        ----------
        stats : Stats
            Statistics from :meth:`statistics`, possibly summed over chunks.

        Returns
        -------
        mixture : Mixture
            A new mixture of the same family configuration.
        """
        return Mixture.from_statistics(self.family, stats)

    @classmethod
    def from_statistics(cls, family: Family, stats: Stats) -> Mixture:
        """M-step from a family (possibly a template without parameters).

        Parameters
        ----------
        family : Family
            Supplies the configuration; its parameters, if any, are not used.
        stats : Stats

        Returns
        -------
        mixture : Mixture
            Weights from the responsibility sums, components from ``stats``.
        """
        nk = stats.resp_sum + EMPTY_COMPONENT_GUARD
        return cls.from_weights(nk / nk.sum(), family.maximize(stats))

    def sample(self, n_samples, random_state):
        """Draw samples and their component labels.

        Parameters
        ----------
        n_samples : int
        random_state : RandomState

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
            Sorted by component, as scikit-learn returns them.
        """
        counts = random_state.multinomial(n_samples, self.weights)
        labels = np.repeat(np.arange(self.n_components), counts)
        return self.family.sample(labels, random_state), labels

    def n_parameters(self):
        """Number of free parameters: the components' plus K - 1 weights.

        Returns
        -------
        n_parameters : int
            The count used by BIC and AIC.
        """
        return self.family.n_parameters() + self.n_components - 1

    def __repr__(self):
        return f"Mixture(weights={np.round(self.weights, 4).tolist()}, {self.family!r})"


def _responsibilities_in_place(joint):
    """Responsibilities and log densities from NumPy joint log probabilities.

    Component-major, so the log-sum-exp reduces over K contiguous rows and each
    exponential is computed once (the composed path exponentiates twice, in the
    log-sum-exp and again for the responsibilities).

    Parameters
    ----------
    joint : ndarray of shape (n_samples, n_components)
        ``log w_k + log p(x_i | k)``, a fresh array (it may be overwritten).

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
        A Fortran-ordered view (its transpose is C-contiguous, as the
        statistics' products want it).
    log_density : ndarray of shape (n_samples,)
    """
    joint_t = np.ascontiguousarray(joint.T)
    log_density = posterior_in_place(joint_t)
    return joint_t.T, log_density
