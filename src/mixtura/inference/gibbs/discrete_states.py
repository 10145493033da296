"""Cluster states of the discrete conjugate families for collapsed Gibbs sampling.

The sampler of :mod:`mixtura.inference.gibbs` (Neal 2000, "Markov chain sampling
methods for Dirichlet process mixture models", J. Comput. Graph. Stat. 9(2),
algorithm 3; Jain & Neal 2004, "A split-merge Markov chain Monte Carlo procedure
for the Dirichlet process mixture model", J. Comput. Graph. Stat. 13(1)) needs,
per cluster, a log predictive of one point given the cluster's other points and a
closed-form log marginal likelihood. For the Beta-Bernoulli, Gamma-Poisson and
Dirichlet-categorical priors of :mod:`mixtura.priors` both
depend on the data through a count and additive sums only, so a cluster is the
pair ``(n, sums)``; moving a point adds or subtracts its features from two
clusters' sums (O(n_features) work). The sums of binary values, counts and level
indicators are exact in float64; only the Poisson marginal's sum of ``log x!``
carries round-off, which the predictive never reads and each sweep's
resynchronisation clears.

Missing entries (NaN) are integrated out exactly, with no data augmentation:
given the cluster the features are independent, so a missing entry's factor
integrates to one. A cluster then also keeps ``n_observed[k, j]``, the number of
its points that observe feature j; feature j's posterior uses those points only,
and a point's predictive is the product over its observed features. The chain
targets the exact posterior over partitions given the observed entries.
"""

from __future__ import annotations

import numpy as np

from mixtura.families.base import split_missing
from mixtura.inference.gibbs.partition import PartitionState
from mixtura.priors.base import ConjugatePrior
from mixtura.priors.dirichlet import CategoricalDirichlet

__all__ = ["STATE_CLASSES", "CategoricalClusterState", "DiscreteClusterState"]


class DiscreteClusterState(PartitionState):
    """Partition of discrete data with per-cluster counts and feature sums.

    One class serves every prior of :mod:`mixtura.priors`:
    the prior supplies the per-point features, the predictive and the marginal
    likelihood, and this class keeps the statistics ``counts[k]`` and
    ``sums[k] = sum of prior.cluster_features(x) over cluster k``; when ``X`` has
    missing entries, also ``n_observed[k]``, the number of cluster k's points
    observing each feature, shape (n_features,). Clusters occupy slots
    ``0 .. n_clusters - 1``; deleting one moves the last cluster into its slot.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data in the prior's support (binary, counts or integer codes), NaN for
        a missing entry.
    prior : ConjugatePrior
        The prior of each cluster's parameters.
    labels : ndarray of shape (n_samples,)
        Initial cluster of each point, integers ``0 .. K - 1`` all used.
    """

    def __init__(self, X, prior, labels):
        self.X = np.asarray(X, dtype=np.float64)
        self.prior = prior
        self.n_features = self.X.shape[1]
        self.features = prior.cluster_features(self.X)
        # the data with 0 for NaN and the observed-entry mask (None: complete)
        self.filled, self.observed = split_missing(self.X)
        if self.observed is not None:
            self._row_observed = self.observed.astype(bool)
        with np.errstate(divide="ignore"):
            self.log_counts = np.log(np.arange(len(self.X) + 1, dtype=np.float64))
        self.labels = np.asarray(labels, dtype=np.intp).copy()
        self.n_clusters = int(self.labels.max()) + 1
        self._allocate(max(16, 2 * self.n_clusters))
        self.resync()

    def _allocate(self, capacity):
        self.counts = np.zeros(capacity, dtype=np.intp)
        self.sums = np.zeros((capacity, self.features.shape[1]))
        if self.observed is not None:
            self.n_observed = np.zeros((capacity, self.n_features))

    def _arrays(self):
        if self.observed is None:
            return (self.counts, self.sums)
        return (self.counts, self.sums, self.n_observed)

    # -- whole-cluster updates ----------------------------------------------------
    def resync(self):
        """Rebuild every cluster's statistics from the labels."""
        k = self.n_clusters
        self.counts[:k] = np.bincount(self.labels, minlength=k)
        self.sums[:k] = 0
        np.add.at(self.sums, self.labels, self.features)
        if self.observed is not None:
            self.n_observed[:k] = 0
            np.add.at(self.n_observed, self.labels, self.observed)

    def recompute(self, k):
        """Rebuild cluster k's statistics from its members.

        Parameters
        ----------
        k : int
            The cluster's slot.
        """
        members = self.labels == k
        self.counts[k] = np.count_nonzero(members)
        self.sums[k] = self.features[members].sum(axis=0)
        if self.observed is not None:
            self.n_observed[k] = self.observed[members].sum(axis=0)

    # -- moving points --------------------------------------------------------------
    def _shift(self, k, i, sign):
        """Add (``sign=1``) or subtract (``-1``) point i's features to cluster k."""
        self.sums[k] += sign * self.features[i]
        if self.observed is not None:
            self.n_observed[k] += sign * self.observed[i]

    def remove(self, i):
        """Take point i out of its cluster; return the cluster's slot.

        Parameters
        ----------
        i : int
            The point.

        Returns
        -------
        int
            The slot it left (possibly now empty).
        """
        k = self.labels[i]
        self.counts[k] -= 1
        self._shift(k, i, -1.0)
        return k

    def add(self, i, k):
        """Put point i into cluster k (``k == n_clusters`` opens a new one).

        Parameters
        ----------
        i : int
            The point.
        k : int
            The slot it joins.
        """
        if k == self.n_clusters:
            if k == len(self.counts):
                self._grow()
            self.counts[k] = 0
            self.sums[k] = 0
            if self.observed is not None:
                self.n_observed[k] = 0
            self.n_clusters += 1
        self._shift(k, i, 1.0)
        self.labels[i] = k
        self.counts[k] += 1

    # -- densities ------------------------------------------------------------------
    def _log_predictive(self, x, slots):
        if self.observed is None:
            return self.prior.log_predictive_one(
                x, self.counts[slots], self.sums[slots]
            )
        stats = self.statistics(slots)
        return self.log_cluster_predictives(self.prior, stats, x[None])[:, 0]

    def log_conditional(self, i, slots, own):
        """Unnormalised log probabilities of point i joining each cluster.

        ``log n_k + log p(x_i | cluster k without x_i)`` for each slot, the
        predictive a product over the point's observed features.

        See :meth:`PartitionState.log_conditional` for the arguments.
        """
        counts = np.array(self.counts[slots])
        sums = np.array(self.sums[slots])
        counts[own] -= 1
        sums[own] -= self.features[i]
        if self.observed is None:
            log_pred = self.prior.log_predictive_one(self.X[i], counts, sums)
        else:
            n_observed = np.array(self.n_observed[slots])
            n_observed[own] -= self.observed[i]
            log_pred = self.prior.log_predictive_one(
                self.filled[i], n_observed, sums, observed=self._row_observed[i]
            )
        return self.log_counts[counts] + log_pred

    def log_marginals(self, counts, sums, n_observed=None):
        """Log marginal likelihoods of clusters given their statistics.

        Parameters
        ----------
        counts : ndarray of shape (m,)
        sums : ndarray of shape (m, n_statistics)
        n_observed : ndarray of shape (m, n_features), default=None
            Points observing each feature (None: all the cluster's points).

        Returns
        -------
        ndarray of shape (m,)
            Of the observed entries only.
        """
        return self.prior.log_marginal(
            counts if n_observed is None else n_observed, sums
        )

    def _statistic_arrays(self):
        # (counts, sums), then n_observed when data are missing
        return self._arrays()

    # -- the family's side of the sampler's setup and predictions -------------------
    @classmethod
    def prepare(cls, X, prior):
        """Check the data against the prior's support (NaN passes); no shift.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Data.
        prior : ConjugatePrior
            The prior.

        Returns
        -------
        data : ndarray of shape (n_samples, n_features)
            ``X``, checked.
        prior : ConjugatePrior
            The prior, unchanged.
        center : ndarray of shape (n_features,)
            Zeros.
        """
        prior.check_data(X)
        return X, prior, np.zeros(X.shape[1])

    @staticmethod
    def log_prior_predictive(prior, X):
        """Log prior predictive of each row (a new cluster), after checking X.

        Parameters
        ----------
        prior : ConjugatePrior
        X : ndarray of shape (n_samples, n_features)
            NaN for a missing entry, which drops out of the row's product.

        Returns
        -------
        ndarray of shape (n_samples,)
            0 for a row with nothing observed.
        """
        prior.check_data(X)
        empty = np.zeros((1, prior.cluster_features(X[:0]).shape[1]))
        return prior.log_predictive(X, np.zeros(1, dtype=np.intp), empty)[0]

    @staticmethod
    def log_cluster_predictives(prior, stats, X):
        """Log posterior predictive of each row given each cluster.

        Parameters
        ----------
        prior : ConjugatePrior
        stats : tuple of ndarray
            ``(counts, sums)`` or ``(counts, sums, n_observed)`` of the clusters
            (:meth:`statistics`).
        X : ndarray of shape (n_samples, n_features)
            NaN for a missing entry, which drops out of the row's product.

        Returns
        -------
        ndarray of shape (n_clusters, n_samples)
        """
        # each feature's posterior has seen the points that observe it
        counts, sums = stats[-1] if len(stats) == 3 else stats[0], stats[1]
        return prior.log_predictive(X, counts, sums)


class CategoricalClusterState(DiscreteClusterState):
    """:class:`DiscreteClusterState` for categorical codes, with sparse moves.

    A point's one-hot features have one 1 per observed column, so moving it
    changes at most ``n_features`` of the ``sum(n_levels)`` level counts; only
    those are touched.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Integer codes ``0 .. n_levels[j] - 1``, NaN for a missing entry.
    prior : CategoricalDirichlet
        The prior of each cluster's level probabilities.
    labels : ndarray of shape (n_samples,)
        Initial cluster of each point, integers ``0 .. K - 1`` all used.
    """

    def __init__(self, X, prior, labels):
        X = np.asarray(X, dtype=np.float64)
        filled, observed = split_missing(X)
        levels = filled.astype(np.intp) + prior.offsets
        # per row, the positions of its observed levels
        self._levels = (
            levels
            if observed is None
            else [row[mask] for row, mask in zip(levels, observed > 0, strict=True)]
        )
        super().__init__(X, prior, labels)

    def _shift(self, k, i, sign):
        self.sums[k, self._levels[i]] += sign
        if self.observed is not None:
            self.n_observed[k] += sign * self.observed[i]


#: prior type -> cluster-state class, most specific first (read by
#: ``gibbs.cluster_state_class``)
STATE_CLASSES = {
    CategoricalDirichlet: CategoricalClusterState,
    # any other conjugate prior of mixtura.priors: its marginal and predictive
    ConjugatePrior: DiscreteClusterState,
}
