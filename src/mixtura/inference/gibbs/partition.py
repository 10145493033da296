"""The family-independent part of the sampler: the partition and its concentration.

:class:`PartitionState` keeps the labels, the cluster sizes and the slots of a
partition whose clusters carry statistics; the cluster states of each conjugate
prior (:mod:`~mixtura.inference.gibbs.gaussian_states` for the
Normal-inverse-Wishart, :mod:`~mixtura.inference.gibbs.discrete_states` for the
priors of :mod:`mixtura.priors`) subclass it, and the samplers use a state
through its interface only. :func:`log_crp` is the Chinese restaurant process's
probability of a partition, :func:`sample_concentration` Escobar & West's update
of its concentration.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

__all__ = ["PartitionState", "log_crp", "sample_concentration"]


class PartitionState:
    """Family-independent bookkeeping of a partition with per-cluster statistics.

    The samplers (:func:`gibbs_sweep`, :func:`split_merge_step`,
    :func:`collapsed_gibbs`, :func:`log_predictive_density`) use a cluster state
    through this interface only. A subclass stores its clusters' statistics in
    arrays with the cluster on the leading axis (:meth:`_arrays`), slots ``0 ..
    n_clusters - 1`` in use, and provides:

    - ``labels``, ``counts``, ``n_clusters``: the partition and cluster sizes;
    - ``_allocate(capacity)``, ``_arrays()``, ``resync()``, ``recompute(k)``,
      ``remove(i)``, ``add(i, k)``: the statistics and their updates;
    - ``log_conditional(i, slots, own)``: ``log n_k + log p(x_i | cluster k
      without x_i)``;
    - ``_statistic_arrays()``: the additive statistics (cluster on the leading
      axis) that :meth:`statistics` and :meth:`merged_statistics` copy, and
      ``log_marginals(*stats)``: closed-form log marginal likelihoods of clusters
      from them;
    - ``_log_predictive(x, slots)``: what :meth:`log_predictive` returns;
    - class methods ``prepare(X, prior)`` (data and prior in the state's
      coordinates, and the shift applied to new points), ``log_prior_predictive
      (prior, X)`` and ``log_cluster_predictives(prior, stats, X)`` (the
      posterior predictive given saved statistics).

    A state that carries imputed missing entries (data augmentation) sets
    ``augmented``, a boolean array of shape (n_samples,) marking the points with
    imputed entries, and provides ``redraw(i, rng)`` and ``redraw_missing(rng)``;
    ``augmented`` is None otherwise.
    """

    #: which points carry imputed entries (None: no data augmentation)
    augmented = None

    def _grow(self):
        old = self._arrays()
        k = self.n_clusters
        self._allocate(2 * len(self.counts))
        for new, values in zip(self._arrays(), old, strict=True):
            new[:k] = values[:k]

    def snapshot(self, k):
        """Copies of cluster k's statistics and cache, for :meth:`restore`.

        Parameters
        ----------
        k : int
            The cluster's slot.

        Returns
        -------
        tuple of ndarray
        """
        return tuple(np.copy(a[k]) for a in self._arrays())

    def restore(self, k, saved):
        """Put back a :meth:`snapshot` of cluster k.

        Parameters
        ----------
        k : int
            The cluster's slot.
        saved : tuple of ndarray
            What :meth:`snapshot` returned.
        """
        for array, value in zip(self._arrays(), saved, strict=True):
            array[k] = value

    def delete(self, k):
        """Delete empty cluster k; the last cluster takes its slot.

        Parameters
        ----------
        k : int
            The cluster's slot.
        """
        last = self.n_clusters - 1
        if k != last:
            self.restore(k, self.snapshot(last))
            self.labels[self.labels == last] = k
        self.n_clusters -= 1

    def move(self, i, new):
        """Move point i to cluster ``new`` (``n_clusters``: a new cluster).

        Parameters
        ----------
        i : int
            The point.
        new : int
            The slot it joins.
        """
        old = self.remove(i)
        if self.counts[old] == 0:
            last = self.n_clusters - 1
            self.delete(old)
            if new == last:
                new = old
            elif new == last + 1:
                new = self.n_clusters
        self.add(i, new)

    def log_conditional(self, i, slots, own):
        """Unnormalised log probabilities of point i joining each cluster.

        ``log n_k + log p(x_i | cluster k without x_i)`` for each slot: the
        collapsed Gibbs conditional, up to the CRP's concentration term.

        Parameters
        ----------
        i : int
            The point.
        slots : slice or ndarray
            Clusters to evaluate.
        own : int
            Position, within ``slots``, of the cluster holding x_i.

        Returns
        -------
        ndarray of shape (n_slots,)
            ``-inf`` for the point's own cluster when it is a singleton.
        """
        raise NotImplementedError

    def log_proposal(self, i, slots, own):
        """Log probabilities of point i in the split-merge restricted scans.

        Any assignment probabilities make a valid proposal, as long as the scan
        that draws a split and the one that evaluates its probability use the
        same (Jain & Neal 2004); by default the Gibbs conditional
        :meth:`log_conditional`.

        Parameters
        ----------
        i : int
            The point.
        slots : ndarray
            The two clusters.
        own : int
            Position, within ``slots``, of the cluster holding x_i.

        Returns
        -------
        ndarray of shape (n_slots,)
        """
        return self.log_conditional(i, slots, own)

    # -- what every state computes from its statistics ---------------------------
    def log_predictive(self, x, slots=None):
        """Log posterior predictive of point x under each cluster (or the slots).

        Parameters
        ----------
        x : ndarray of shape (n_features,)
            A point, in the state's coordinates.
        slots : slice or ndarray, default=None
            Clusters to evaluate; all current clusters by default.

        Returns
        -------
        ndarray of shape (n_slots,)
        """
        if slots is None:
            slots = slice(0, self.n_clusters)
        return self._log_predictive(np.asarray(x, dtype=np.float64), slots)

    def statistics(self, slots):
        """Copies of the clusters' statistics, the arguments of ``log_marginals``.

        Parameters
        ----------
        slots : slice or ndarray
            Clusters.

        Returns
        -------
        tuple of ndarray
            The arrays of :meth:`_statistic_arrays`, at the slots.
        """
        return tuple(np.array(array[slots]) for array in self._statistic_arrays())

    def merged_statistics(self, a, b):
        """Statistics of the union of clusters a and b, as one cluster.

        Parameters
        ----------
        a, b : int
            The clusters' slots.

        Returns
        -------
        tuple of ndarray
            The arrays of :meth:`statistics` with a leading axis of length 1.
        """
        return tuple(
            np.asarray(array[a] + array[b])[None] for array in self._statistic_arrays()
        )

    def log_likelihood(self):
        """Sum of the clusters' log marginal likelihoods.

        Returns
        -------
        float
        """
        return float(
            self.log_marginals(*self.statistics(slice(0, self.n_clusters))).sum()
        )


def log_crp(counts, alpha):
    """Log probability of a partition under the Chinese restaurant process.

    Parameters
    ----------
    counts : ndarray of shape (n_clusters,)
        Cluster sizes.
    alpha : float
        Concentration.

    Returns
    -------
    float
    """
    n = counts.sum()
    return float(
        len(counts) * math.log(alpha)
        + gammaln(counts).sum()
        + gammaln(alpha)
        - gammaln(alpha + n)
    )


# -- Escobar & West's concentration update ----------------------------------------
def sample_concentration(alpha, n_clusters, n_samples, shape, rate, rng):
    """Draw the DP concentration given K clusters (Escobar & West 1995, eq. 13).

    Parameters
    ----------
    alpha : float
        Current concentration.
    n_clusters : int
        Number of clusters K.
    n_samples : int
        Number of points n.
    shape, rate : float
        Gamma(shape, rate) hyper-prior on alpha.
    rng : numpy.random.Generator

    Returns
    -------
    float
        The new alpha.
    """
    eta = rng.beta(alpha + 1.0, n_samples)
    rate_post = rate - math.log(eta)
    odds = (shape + n_clusters - 1.0) / (n_samples * rate_post)
    shape_post = shape + n_clusters - (0.0 if rng.random() < odds / (1 + odds) else 1.0)
    return float(rng.gamma(shape_post, 1.0 / rate_post))
