"""Collapsed Gibbs sampling with split-merge moves for Dirichlet-process mixtures.

The sampler draws partitions of the data from the posterior of a Dirichlet-process
mixture of full-covariance Gaussians under a conjugate Normal-inverse-Wishart
prior, with the components' parameters integrated out (the discrete conjugate
families, Beta-Bernoulli, Gamma-Poisson and Dirichlet-categorical, plug in through
:mod:`mixtura.inference.gibbs_discrete`; :func:`cluster_state_class` picks the
cluster state that matches a prior):

- **Gibbs sweeps** (Neal 2000, "Markov chain sampling methods for Dirichlet process
  mixture models", J. Comput. Graph. Stat. 9(2), algorithm 3): each point in turn
  leaves its cluster and joins cluster k with probability proportional to
  ``n_k * t(x | data of k)``, or a new cluster with probability proportional to
  ``alpha * t(x | prior)``, where t is the Student-t posterior predictive.
- **Split-merge moves** (Jain & Neal 2004, "A split-merge Markov chain Monte Carlo
  procedure for the Dirichlet process mixture model", J. Comput. Graph. Stat.
  13(1), conjugate case): two random points; if they share a cluster, propose to
  split it, else to merge their clusters; the split is drawn by restricted Gibbs
  scans from a random launch state, and the Metropolis-Hastings ratio uses the
  scans' transition probabilities. Single-point moves cannot separate two
  well-separated groups that sit in one cluster; these moves can.
- **Concentration** (Escobar & West 1995, "Bayesian density estimation and
  inference using mixtures", JASA 90(430), section 6): under a Gamma(a, b)
  hyper-prior (rate b), alpha is redrawn after each sweep through an auxiliary
  Beta variable.

Each cluster keeps its sufficient statistics (count, sum, scatter) and the cache of
its predictive t (posterior mean, inverse and log-determinant of the posterior
scale). A move changes only the two clusters involved, each by a rank-one term
(Sherman-Morrison), so a sweep costs O(n K d^2) with no factorisation; the cache
is rebuilt from the labels after each sweep to cancel round-off.

Missing coordinates (NaN) of Gaussian data are handled by data augmentation
(:class:`MissingClusterState`): the chain also carries the missing entries and
redraws them from their conditional given the observed ones. The discrete
families integrate missing entries out exactly
(:mod:`mixtura.inference.gibbs_discrete`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln, logsumexp

from mixtura.families.base import fill_column_means
from mixtura.families.conjugate_gaussian_niw import (
    NormalInverseWishart,
    student_t_log_const,
    student_t_logpdf,
)
from mixtura.inference.gibbs_discrete import STATE_CLASSES
from mixtura.inference.gibbs_partition import PartitionState

__all__ = [
    "ClusterState",
    "GibbsResult",
    "MissingClusterState",
    "PartitionState",
    "as_generator",
    "canonical_labels",
    "cluster_state_class",
    "collapsed_gibbs",
    "least_squares_clustering",
    "log_crp",
    "log_predictive_density",
    "posterior_similarity",
    "sample_concentration",
    "split_merge_step",
]


# -- the clusters' statistics and cached predictives -------------------------------
class ClusterState(PartitionState):
    """Partition of the data with per-cluster statistics and cached t predictives.

    Each cluster keeps its sufficient statistics (count, sum, scatter) and the
    quantities its Student-t predictive needs: the posterior mean, the inverse
    and the log-determinant of the posterior inverse-Wishart scale. Adding or
    removing one point changes the scale by a rank-one term, so the inverse and
    the log-determinant follow by the Sherman-Morrison formula and the matrix
    determinant lemma in O(d^2), with no factorisation, and a point that stays
    where it is changes nothing (:meth:`log_conditional`); :meth:`resync` rebuilds
    everything from the labels to cancel round-off. Clusters occupy slots
    ``0 .. n_clusters - 1``; deleting one moves the last cluster into its slot.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data, centred on the prior's mean.
    prior : NormalInverseWishart
        The prior, with mean zero (the data are centred).
    labels : ndarray of shape (n_samples,)
        Initial cluster of each point, integers ``0 .. K - 1`` all used.
    """

    def __init__(self, X, prior, labels):
        self.X = X
        self.outer = X[:, :, None] * X[:, None, :]
        self.prior = prior
        self.n_features = X.shape[1]
        self._kappa0 = prior.mean_precision
        self._nu0 = prior.degrees_of_freedom
        self._prior_precision = np.linalg.inv(prior.scale)
        self._prior_logdet = float(np.linalg.slogdet(prior.scale)[1])
        self._count_tables(len(X))
        self.labels = np.asarray(labels, dtype=np.intp).copy()
        self.n_clusters = int(self.labels.max()) + 1
        self._allocate(max(16, 2 * self.n_clusters))
        self.resync()

    def _count_tables(self, n_samples):
        """Terms of the t log density that depend on a cluster's count only."""
        d = self.n_features
        n = np.arange(n_samples + 1, dtype=np.float64)
        kappa = self._kappa0 + n
        df = self._nu0 + n - d + 1
        c = (kappa + 1) / (kappa * df)  # t shape = c * scale
        self._t_const = (
            gammaln(0.5 * (df + d))
            - gammaln(0.5 * df)
            - 0.5 * d * np.log(df * math.pi)
            - 0.5 * d * np.log(c)
        )
        self._t_power = 0.5 * (df + d)
        self._t_scale = 1.0 / (c * df)
        with np.errstate(divide="ignore"):
            self.log_counts = np.log(n)

    def _allocate(self, capacity):
        d = self.n_features
        self.counts = np.zeros(capacity, dtype=np.intp)
        self.totals = np.zeros((capacity, d))
        self.scatters = np.zeros((capacity, d, d))
        self.means = np.zeros((capacity, d))
        self.precisions = np.zeros((capacity, d, d))
        self.logdets = np.zeros(capacity)

    def _arrays(self):
        return (
            self.counts,
            self.totals,
            self.scatters,
            self.means,
            self.precisions,
            self.logdets,
        )

    # -- whole-cluster updates ----------------------------------------------------
    def resync(self):
        """Rebuild every cluster's statistics and cache from the labels."""
        k = self.n_clusters
        self.counts[:k] = np.bincount(self.labels, minlength=k)
        self.totals[:k] = 0
        self.scatters[:k] = 0
        np.add.at(self.totals, self.labels, self.X)
        np.add.at(self.scatters, self.labels, self.outer)
        self._factor(slice(0, k))

    def recompute(self, k):
        """Rebuild cluster k's statistics and cache from its members."""
        members = self.labels == k
        self.counts[k] = np.count_nonzero(members)
        self.totals[k] = self.X[members].sum(axis=0)
        self.scatters[k] = self.outer[members].sum(axis=0)
        self._factor([k])

    def _factor(self, slots):
        kappa = self._kappa0 + self.counts[slots]
        means = self.totals[slots] / kappa[:, None]
        scales = (
            self.prior.scale
            + self.scatters[slots]
            - kappa[:, None, None] * means[:, :, None] * means[:, None, :]
        )
        self.means[slots] = means
        self.precisions[slots] = np.linalg.inv(scales)
        self.logdets[slots] = np.linalg.slogdet(scales)[1]

    # -- moving points --------------------------------------------------------------
    def remove(self, i):
        """Take point i out of its cluster (rank-one downdate); return the slot.

        Only the count and the predictive cache follow single moves; the sums and
        scatters are rebuilt by :meth:`resync` or :meth:`recompute`.
        """
        k = self.labels[i]
        self.counts[k] -= 1
        if self.counts[k] == 0:
            return k
        self.logdets[k] += self._downdate(
            self.X[i], self.counts[k], self.means[k], self.precisions[k]
        )
        return k

    def _downdate(self, x, count, mean, precision):
        """Take x out of a cluster's cache: ``mean`` and ``precision`` in place.

        ``count`` is the cluster's size after removal (> 0); returns the change
        of the log-determinant of the scale.
        """
        kappa = self._kappa0 + count
        u = (x - mean) * ((kappa + 1) / kappa)  # x - new mean
        ratio = kappa / (kappa + 1)
        pu = precision @ u
        q = ratio * float(u @ pu)
        precision += (ratio / (1 - q)) * (pu[:, None] * pu)
        mean -= u / (kappa + 1)
        return math.log1p(-q)

    def add(self, i, k):
        """Put point i into cluster k (``k == n_clusters`` opens a new one)."""
        if k == self.n_clusters:
            self._open(k)
        kappa = self._kappa0 + self.counts[k]  # before adding
        u = self.X[i] - self.means[k]
        ratio = kappa / (kappa + 1)
        pu = self.precisions[k] @ u
        q = ratio * float(u @ pu)
        self.precisions[k] -= (ratio / (1 + q)) * (pu[:, None] * pu)
        self.logdets[k] += math.log1p(q)
        self.means[k] += u / (kappa + 1)
        self.labels[i] = k
        self.counts[k] += 1

    def _open(self, k):
        if k == len(self.counts):
            self._grow()
        self.counts[k] = 0
        self.totals[k] = 0
        self.scatters[k] = 0
        self.means[k] = 0  # the prior mean, in centred coordinates
        self.precisions[k] = self._prior_precision
        self.logdets[k] = self._prior_logdet
        self.n_clusters += 1

    # -- densities ------------------------------------------------------------------
    def log_predictive(self, x, slots=None):
        """Log t predictive of point x under each cluster (or the given slots).

        Parameters
        ----------
        x : ndarray of shape (n_features,)
        slots : slice or ndarray, default=None
            Clusters to evaluate; all current clusters by default.

        Returns
        -------
        ndarray of shape (n_slots,)
        """
        if slots is None:
            slots = slice(0, self.n_clusters)
        u = x - self.means[slots]
        quad = np.einsum("ki,kij,kj->k", u, self.precisions[slots], u)
        return self._t_logpdf(self.counts[slots], self.logdets[slots], quad)

    def _t_logpdf(self, counts, logdets, quad):
        return (
            self._t_const[counts]
            - 0.5 * logdets
            - self._t_power[counts] * np.log1p(quad * self._t_scale[counts])
        )

    def log_conditional(self, i, slots, own):
        """Unnormalised log probabilities of point i joining each cluster.

        ``log n_k + log t(x_i | cluster k without x_i)`` for each slot. The
        cluster that holds x_i is evaluated as if x_i had left it, from the
        cached quantities (the rank-one downdate's effect on the quadratic form
        and the log-determinant), so nothing changes when x_i stays where it is.

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
        u = self.X[i] - self.means[slots]
        quad = np.einsum("ki,kij,kj->k", u, self.precisions[slots], u)
        counts = self.counts[slots].copy()
        logdets = self.logdets[slots].copy()
        counts[own] -= 1
        if counts[own] > 0:
            kappa = self._kappa0 + counts[own]  # without x_i
            ratio = kappa / (kappa + 1)
            s = quad[own] * ((kappa + 1) / kappa) ** 2  # x_i minus the new mean
            q = ratio * s
            quad[own] = s / (1 - q)
            logdets[own] += math.log1p(-q)
        return self.log_counts[counts] + self._t_logpdf(counts, logdets, quad)

    def log_marginals(self, counts, totals, scatters):
        """Log marginal likelihoods of clusters given their statistics.

        Parameters
        ----------
        counts : ndarray of shape (m,)
        totals : ndarray of shape (m, n_features)
        scatters : ndarray of shape (m, n_features, n_features)

        Returns
        -------
        ndarray of shape (m,)
        """
        d = self.n_features
        kappa = self._kappa0 + counts
        nu = self._nu0 + counts
        mean = totals / kappa[:, None]
        scale = (
            self.prior.scale
            + scatters
            - kappa[:, None, None] * mean[:, :, None] * mean[:, None, :]
        )
        logdet = np.linalg.slogdet(scale)[1]
        log_z_post = (
            _multigammaln(0.5 * nu, d) - 0.5 * nu * logdet - 0.5 * d * np.log(kappa)
        )
        log_z_prior = (
            _multigammaln(0.5 * self._nu0, d)
            - 0.5 * self._nu0 * self._prior_logdet
            - 0.5 * d * math.log(self._kappa0)
        )
        return log_z_post - log_z_prior - 0.5 * counts * d * math.log(math.pi)

    def statistics(self, slots):
        """Copies of the clusters' statistics, the arguments of :meth:`log_marginals`.

        Parameters
        ----------
        slots : slice or ndarray
            Clusters.

        Returns
        -------
        tuple of ndarray
            ``(counts, totals, scatters)``.
        """
        return tuple(
            np.array(a[slots]) for a in (self.counts, self.totals, self.scatters)
        )

    def merged_statistics(self, a, b):
        """Statistics of the union of clusters a and b, as one cluster.

        Parameters
        ----------
        a, b : int
            The clusters' slots.

        Returns
        -------
        tuple of ndarray
            ``(counts, totals, scatters)`` with a leading axis of length 1.
        """
        return (
            np.array([self.counts[a] + self.counts[b]]),
            (self.totals[a] + self.totals[b])[None],
            (self.scatters[a] + self.scatters[b])[None],
        )

    # -- the family's side of the sampler's setup and predictions -------------------
    @classmethod
    def prepare(cls, X, prior):
        """Centre the data on the prior's mean.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Data.
        prior : NormalInverseWishart
            The prior.

        Returns
        -------
        data : ndarray of shape (n_samples, n_features)
            ``X - prior.mean``.
        prior : NormalInverseWishart
            The prior with mean zero.
        center : ndarray of shape (n_features,)
            The prior's mean, subtracted from new points too.
        """
        center = prior.mean
        centred_prior = NormalInverseWishart(
            np.zeros_like(center),
            prior.mean_precision,
            prior.degrees_of_freedom,
            prior.scale,
        )
        return X - center, centred_prior, center

    @staticmethod
    def log_prior_predictive(prior, X):
        """Log prior predictive t density of each row (a new cluster).

        Parameters
        ----------
        prior : NormalInverseWishart
        X : ndarray of shape (n_samples, n_features)
            NaN for a missing coordinate: the density is of the observed ones.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return prior.predictive_logpdf(X)

    @staticmethod
    def log_cluster_predictives(prior, stats, X):
        """Log posterior predictive t density of each row given each cluster.

        Parameters
        ----------
        prior : NormalInverseWishart
        stats : tuple of ndarray
            ``(counts, totals, scatters)`` of the clusters (:meth:`statistics`).
        X : ndarray of shape (n_samples, n_features)
            NaN for a missing coordinate: the density is of the observed ones.

        Returns
        -------
        ndarray of shape (n_clusters, n_samples)
        """
        counts, totals, scatters = stats
        return np.array(
            [
                prior.posterior(counts[k], totals[k], scatters[k]).predictive_logpdf(X)
                for k in range(len(counts))
            ]
        ).reshape(len(counts), len(X))


class MissingClusterState(ClusterState):
    """:class:`ClusterState` for Gaussian data with missing coordinates.

    A cluster's marginal likelihood of its observed entries has no closed form
    once its points miss different coordinates, so the state uses data
    augmentation (Tanner & Wong 1987, "The calculation of posterior
    distributions by data augmentation", JASA 82(398)): it keeps a completed
    copy of the data, missing entries started at their column's observed mean,
    and the chain runs on the partition c and the missing entries x_mis
    together. It targets

        p(c, x_mis | x_obs) ∝ CRP(c | alpha) prod_k p(completed points of k),

    with p the Normal-inverse-Wishart marginal likelihood; its marginal over c
    is the posterior of the partition given the observed entries, since
    integrating x_mis out of a cluster's marginal likelihood leaves that of its
    observed entries. Two updates leave it invariant:

    - a point with missing coordinates is reassigned from ``p(c_i | c_-i,
      x_-i, x_i,obs)``, its missing coordinates integrated out: each cluster's
      predictive is the Student t of the observed coordinates (the marginal of
      a multivariate t on a subset of coordinates is the t with the same
      degrees of freedom and the sub-vector and sub-matrix of its location and
      shape); its missing coordinates are then drawn at once from ``p(x_i,mis |
      c_i, x_i,obs, x_-i)`` (:meth:`redraw`). Together this is a Gibbs step on
      the block (c_i, x_i,mis); x_i,mis is drawn before anything conditions on
      it again, as a partially collapsed sampler requires (van Dyk & Park 2008,
      "Partially collapsed Gibbs samplers", JASA 103(482)).
    - :meth:`redraw_missing`, after the split-merge moves (which act on the
      completed data, a Metropolis-Hastings step on c given x_mis), draws every
      incomplete point's missing coordinates in turn given its cluster.

    The draws are from the conditional of the cluster's posterior predictive
    t, the cluster's mean and covariance integrated out rather than drawn: for
    a t with nu degrees of freedom, location mu and shape Sigma, ``x_m | x_o``
    is t with ``nu + o`` degrees of freedom, location ``mu_m + Sigma_mo
    Sigma_oo^-1 (x_o - mu_o)`` and shape ``(nu + delta_o) / (nu + o) (Sigma_mm -
    Sigma_mo Sigma_oo^-1 Sigma_om)``, where o is the number of observed
    coordinates and delta_o the squared Mahalanobis distance of ``x_o`` under
    ``Sigma_oo`` (Kotz & Nadarajah 2004, *Multivariate t distributions and their
    applications*, section 1.11; Ding 2016, "On the conditional distribution of
    the multivariate t distribution", Am. Stat. 70(3)). With the cached inverse
    P of the cluster's scale, ``Sigma_mo Sigma_oo^-1 = -P_mm^-1 P_mo`` and
    ``Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om`` is proportional to
    ``P_mm^-1``, so each step costs one m x m Cholesky factor per cluster (m
    missing coordinates).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data, centred on the prior's mean, NaN for a missing coordinate; no
        column entirely missing.
    prior : NormalInverseWishart
        The prior, with mean zero (the data are centred).
    labels : ndarray of shape (n_samples,)
        Initial cluster of each point, integers ``0 .. K - 1`` all used.
    """

    def __init__(self, X, prior, labels):
        missing = np.isnan(X)
        self.augmented = missing.any(axis=1)
        #: point -> (observed coordinates, missing coordinates)
        self._patterns = {
            int(i): (np.flatnonzero(~missing[i]), np.flatnonzero(missing[i]))
            for i in np.flatnonzero(self.augmented)
        }
        # a copy with the missing entries at their column's observed mean
        super().__init__(fill_column_means(X), prior, labels)

    def log_conditional(self, i, slots, own):
        """Unnormalised log probabilities of point i joining each cluster.

        For a point with missing coordinates, ``log n_k + log t(x_i,obs |
        cluster k without x_i)``: the predictive of its observed coordinates;
        otherwise as :meth:`ClusterState.log_conditional`.

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
        pattern = self._patterns.get(int(i))
        if pattern is None:
            return super().log_conditional(i, slots, own)
        counts, means, precisions, logdets = self._cache_without(i, slots, own)
        observed = pattern[0]
        if observed.size == 0:  # nothing observed: the predictive is 1
            return self.log_counts[counts]
        _, _, quad, logdet_mm = self._split(self.X[i], pattern, means, precisions)
        kappa = self._kappa0 + counts
        df = self._nu0 + counts - self.n_features + 1
        c = (kappa + 1) / (kappa * df)  # t shape = c * scale
        o = observed.size
        # log det of the shape's observed block, c^o det(scale) det(P_mm)
        logdet = o * np.log(c) + logdets + logdet_mm
        log_t = student_t_logpdf(quad / c, df, student_t_log_const(df, o, logdet), o)
        return self.log_counts[counts] + log_t

    def log_proposal(self, i, slots, own):
        """Log probabilities of point i in the split-merge restricted scans.

        Those of its completed coordinates (:meth:`ClusterState.log_conditional`,
        O(d^2) from the rank-one caches): a valid proposal, since the
        Metropolis-Hastings ratio uses the same probabilities.

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
        return ClusterState.log_conditional(self, i, slots, own)

    def _cache_without(self, i, slots, own):
        """Copies of the slots' counts and caches, point i taken out of its own.

        Returns
        -------
        counts : ndarray of shape (n_slots,)
        means : ndarray of shape (n_slots, n_features)
        precisions : ndarray of shape (n_slots, n_features, n_features)
        logdets : ndarray of shape (n_slots,)
            A cluster that would be empty gets the prior's cache.
        """
        counts = np.array(self.counts[slots])
        means = np.array(self.means[slots])
        precisions = np.array(self.precisions[slots])
        logdets = np.array(self.logdets[slots], dtype=np.float64)
        counts[own] -= 1
        if counts[own] == 0:
            means[own] = 0
            precisions[own] = self._prior_precision
            logdets[own] = self._prior_logdet
        else:
            logdets[own] += self._downdate(
                self.X[i], counts[own], means[own], precisions[own]
            )
        return counts, means, precisions, logdets

    @staticmethod
    def _split(x, pattern, means, precisions):
        """Observed/missing algebra of one point under each cluster's cache.

        Parameters
        ----------
        x : ndarray of shape (n_features,)
            The completed point.
        pattern : tuple of ndarray
            Its observed and missing coordinates.
        means : ndarray of shape (n_slots, n_features)
        precisions : ndarray of shape (n_slots, n_features, n_features)
            Inverses P of the clusters' posterior scales.

        Returns
        -------
        inv_chol : ndarray of shape (n_slots, m, m)
            Inverse of the lower Cholesky factor L of ``P_mm``
            (``L^-T e`` is ``N(0, P_mm^-1)`` for standard normal e).
        shift : ndarray of shape (n_slots, m)
            ``P_mm^-1 P_mo (x_o - mean_o)``; the conditional location of x_m is
            ``mean_m - shift``.
        quad : ndarray of shape (n_slots,)
            ``u' (P_oo - P_om P_mm^-1 P_mo) u`` with ``u = x_o - mean_o``: the
            squared distance of x_o under the inverse of the scale's observed
            block.
        logdet_mm : ndarray of shape (n_slots,)
            ``log det P_mm``.
        """
        observed, missing = pattern
        u = x[observed] - means[:, observed]  # (K, o)
        p_m = precisions[:, missing]  # (K, m, d)
        p_oo = precisions[:, observed][:, :, observed]
        chol = np.linalg.cholesky(p_m[:, :, missing])
        inv_chol = np.linalg.inv(chol)
        b = np.einsum("kmo,ko->km", p_m[:, :, observed], u)
        half = np.einsum("kij,kj->ki", inv_chol, b)  # L^-1 b
        shift = np.einsum("kji,kj->ki", inv_chol, half)  # L^-T L^-1 b
        quad = np.einsum("ko,kop,kp->k", u, p_oo, u) - (half**2).sum(axis=1)
        logdet_mm = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        return inv_chol, shift, quad, logdet_mm

    def redraw(self, i, rng):
        """Draw point i's missing coordinates given its cluster's other points.

        From the conditional, given ``x_i,obs``, of the t predictive of the
        cluster without x_i (the prior's for a singleton); the cluster's cache
        follows by a rank-one downdate and update.

        Parameters
        ----------
        i : int
            A point with missing coordinates.
        rng : numpy.random.Generator
        """
        pattern = self._patterns[int(i)]
        k = self.remove(i)
        n = self.counts[k]
        if n == 0:  # an emptied cluster's cache is stale: the prior's
            self.means[k] = 0
            self.precisions[k] = self._prior_precision
            self.logdets[k] = self._prior_logdet
        slot = [k]
        inv_chol, shift, quad, _ = self._split(
            self.X[i], pattern, self.means[slot], self.precisions[slot]
        )
        kappa = self._kappa0 + n
        df = self._nu0 + n - self.n_features + 1
        c = (kappa + 1) / (kappa * df)
        missing = pattern[1]
        # x_m = location + sqrt(c (df + delta_o) / w) z, w ~ chi2(df + o),
        # z ~ N(0, P_mm^-1), delta_o = quad / c
        z = inv_chol[0].T @ rng.standard_normal(missing.size)
        scale = math.sqrt((c * df + quad[0]) / rng.chisquare(df + pattern[0].size))
        x = self.X[i]  # a view: the completed data change in place
        x[missing] = self.means[k, missing] - shift[0] + scale * z
        self.outer[i] = np.outer(x, x)
        self.add(i, k)

    def redraw_missing(self, rng):
        """Redraw every incomplete point's missing coordinates, then resync.

        Parameters
        ----------
        rng : numpy.random.Generator
        """
        for i in self._patterns:
            self.redraw(i, rng)
        self.resync()


def cluster_state_class(prior, missing=False):
    """The cluster-state class that samples partitions under ``prior``.

    The factory between a prior and the sampler: the Normal-inverse-Wishart
    prior gets :class:`ClusterState` (:class:`MissingClusterState` for data with
    missing coordinates); the discrete conjugate priors of
    :mod:`mixtura.priors` get their states from
    :mod:`mixtura.inference.gibbs_discrete` (the priors import nothing from
    ``inference``, so the map lives here).

    Parameters
    ----------
    prior : NormalInverseWishart or ConjugatePrior
        Conjugate prior of each cluster's parameters.
    missing : bool, default=False
        Whether the data have missing entries (NaN); the discrete states handle
        them whatever this says.

    Returns
    -------
    type
        A :class:`PartitionState` subclass.
    """
    if isinstance(prior, NormalInverseWishart):
        return MissingClusterState if missing else ClusterState
    for prior_type, state_class in STATE_CLASSES.items():
        if isinstance(prior, prior_type):
            return state_class
    names = ", ".join(t.__name__ for t in (NormalInverseWishart, *STATE_CLASSES))
    raise TypeError(
        f"no collapsed Gibbs sampler for a prior of type {type(prior).__name__}; "
        f"pass one of {names}."
    )


def _multigammaln(a, d):
    a = np.asarray(a, dtype=np.float64)
    offsets = 0.5 * np.arange(d)
    return 0.25 * d * (d - 1) * math.log(math.pi) + gammaln(a[..., None] - offsets).sum(
        axis=-1
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


# -- Neal's algorithm 3 -------------------------------------------------------------
def gibbs_sweep(state, alpha, log_prior_pred, order, uniforms, rng=None):
    """One sweep of collapsed Gibbs updates (Neal 2000, algorithm 3).

    A point whose state carries imputed entries (``state.augmented``) has them
    redrawn right after its reassignment (:meth:`MissingClusterState.redraw`).

    Parameters
    ----------
    state : PartitionState
        Updated in place.
    alpha : float
        Concentration.
    log_prior_pred : ndarray of shape (n_samples,)
        Log prior predictive density of each point (a new cluster).
    order : ndarray of shape (n_samples,)
        Order in which points are visited.
    uniforms : ndarray of shape (n_samples,)
        One uniform draw per visit.
    rng : numpy.random.Generator, default=None
        For the imputed entries' draws (unused without them).
    """
    log_alpha = math.log(alpha)
    labels = state.labels
    augmented = state.augmented
    for i, u in zip(order, uniforms, strict=True):
        old = labels[i]
        k = state.n_clusters
        log_p = np.empty(k + 1)
        log_p[:k] = state.log_conditional(i, slice(0, k), old)
        log_p[k] = log_alpha + log_prior_pred[i]
        new = _draw(log_p, u)
        # staying, or a singleton leaving for a new cluster, keeps the partition
        if new != old and not (new == k and state.counts[old] == 1):
            state.move(i, new)
        if augmented is not None and augmented[i]:
            state.redraw(i, rng)
    state.resync()


def _draw(log_p, u):
    """Index drawn with probabilities proportional to ``exp(log_p)``.

    A plain Python loop for a few clusters (NumPy's call overhead dominates
    there), cumulative sums otherwise.
    """
    if len(log_p) > 16:
        cumulative = np.cumsum(np.exp(log_p - log_p.max()))
        index = int(np.searchsorted(cumulative, u * cumulative[-1]))
        return min(index, len(log_p) - 1)
    values = log_p.tolist()
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    threshold = u * math.fsum(weights)
    total = 0.0
    for index, weight in enumerate(weights):
        total += weight
        if total > threshold:
            return index
    return len(weights) - 1


# -- Jain & Neal's split-merge moves ------------------------------------------------
def _restricted_scan(state, members, a, b, rng, targets=None):
    """One restricted Gibbs scan of ``members`` between clusters a and b.

    Parameters
    ----------
    state : PartitionState
    members : ndarray of int
        Points to update (neither anchor).
    a, b : int
        The two clusters' slots; both keep at least their anchor point.
    rng : numpy.random.Generator
    targets : ndarray of shape (len(members),), default=None
        Forced assignments (slots a or b) whose probability is evaluated instead
        of drawing.

    Returns
    -------
    float
        Log probability of the assignments made under the scan.
    """
    slots = np.array([a, b])
    uniforms = rng.random(len(members)) if targets is None else None
    log_q = 0.0
    for pos, i in enumerate(members):
        own = 0 if state.labels[i] == a else 1
        log_p = state.log_proposal(i, slots, own)
        log_p -= np.logaddexp(log_p[0], log_p[1])
        if targets is None:
            pick = 0 if uniforms[pos] < math.exp(log_p[0]) else 1
        else:
            pick = 0 if targets[pos] == a else 1
        log_q += log_p[pick]
        if pick != own:
            state.move(i, slots[pick])
    return log_q


def _launch(state, members, a, b, n_scans, rng):
    """Random launch state for the members, then ``n_scans`` restricted scans."""
    state.labels[members] = np.where(rng.random(len(members)) < 0.5, a, b)
    state.recompute(a)
    state.recompute(b)
    for _ in range(n_scans):
        _restricted_scan(state, members, a, b, rng)


def _log_merge_ratio(state, a, b, alpha):
    """``log [P(merged) L(merged)] - log [P(split) L(split)]`` of clusters a, b."""
    na, nb = state.counts[a], state.counts[b]
    merged = state.log_marginals(*state.merged_statistics(a, b))[0]
    split = state.log_marginals(*state.statistics(np.array([a, b]))).sum()
    log_prior = gammaln(na + nb) - gammaln(na) - gammaln(nb) - math.log(alpha)
    return float(log_prior + merged - split)


def split_merge_step(state, alpha, n_scans, rng, counters):
    """One split-merge proposal (Jain & Neal 2004, conjugate version).

    Parameters
    ----------
    state : PartitionState
        Updated in place (left as it was when the proposal is rejected).
    alpha : float
        Concentration.
    n_scans : int
        Intermediate restricted Gibbs scans t used to build the launch state.
    rng : numpy.random.Generator
    counters : dict
        ``split_proposed``, ``split_accepted``, ``merge_proposed``,
        ``merge_accepted``; incremented in place.
    """
    n = len(state.labels)
    i, j = rng.choice(n, size=2, replace=False)
    ci, cj = state.labels[i], state.labels[j]
    in_pair = (state.labels == ci) | (state.labels == cj)
    in_pair[[i, j]] = False
    members = np.flatnonzero(in_pair)
    if ci == cj:
        _propose_split(state, i, members, alpha, n_scans, rng, counters)
    else:
        _propose_merge(state, members, ci, cj, alpha, n_scans, rng, counters)


def _propose_split(state, i, members, alpha, n_scans, rng, counters):
    counters["split_proposed"] += 1
    a = state.labels[i]
    saved = state.snapshot(a)
    original = state.labels[members].copy()
    b = state.n_clusters
    state.remove(i)
    state.add(i, b)  # opens cluster b for the anchor i
    _launch(state, members, b, a, n_scans, rng)
    log_q = _restricted_scan(state, members, b, a, rng)
    state.recompute(a)
    state.recompute(b)
    log_accept = -_log_merge_ratio(state, a, b, alpha) - log_q
    if math.log(rng.random()) < log_accept:
        counters["split_accepted"] += 1
        return
    state.labels[members] = original
    state.labels[i] = a
    state.restore(a, saved)
    state.delete(b)


def _propose_merge(state, members, a, b, alpha, n_scans, rng, counters):
    counters["merge_proposed"] += 1
    saved_a, saved_b = state.snapshot(a), state.snapshot(b)
    original = state.labels[members].copy()
    _launch(state, members, a, b, n_scans, rng)
    log_q = _restricted_scan(state, members, a, b, rng, targets=original)
    # the forced scan ends in the original state; drop its round-off
    state.restore(a, saved_a)
    state.restore(b, saved_b)
    log_accept = _log_merge_ratio(state, a, b, alpha) + log_q
    if math.log(rng.random()) < log_accept:
        counters["merge_accepted"] += 1
        state.labels[state.labels == b] = a
        state.recompute(a)
        state.counts[b] = 0
        state.delete(b)


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


# -- the chain ----------------------------------------------------------------------
@dataclass
class GibbsResult:
    """What a run of :func:`collapsed_gibbs` returns.

    Attributes
    ----------
    partitions : ndarray of shape (n_saved, n_samples)
        Saved partitions (after burn-in, thinned), labels in order of first
        appearance.
    alphas : ndarray of shape (n_saved,)
        Concentration at each saved partition.
    cluster_stats : list of tuple
        Per saved partition, the statistics of its clusters (the state's
        ``statistics``: ``(counts, totals, scatters)`` in centred coordinates for
        the Gaussian, of the completed data when coordinates are missing;
        ``(counts, sums)`` for the discrete families, then ``n_observed`` when
        entries are missing), for the posterior predictive.
    log_joint : ndarray of shape (n_iter,)
        ``log p(partition, X | alpha)`` after each sweep; for Gaussian data with
        missing coordinates, of the completed data (the augmented chain's
        ``log p(partition, x_obs, x_mis | alpha)``).
    n_clusters : ndarray of shape (n_iter,)
        Number of clusters after each sweep.
    alpha_trace : ndarray of shape (n_iter,)
        Concentration after each sweep.
    counters : dict
        Split and merge proposals and acceptances.
    prior : NormalInverseWishart or ConjugatePrior
        The prior (for the Gaussian, in centred coordinates: mean zero).
    center : ndarray of shape (n_features,)
        Subtracted from the data: the Gaussian prior's mean; zeros for the
        discrete families.
    final_labels : ndarray of shape (n_samples,)
        The chain's last partition (to continue it, pass as ``initial_labels``).
    """

    partitions: np.ndarray
    alphas: np.ndarray
    cluster_stats: list
    log_joint: np.ndarray
    n_clusters: np.ndarray
    alpha_trace: np.ndarray
    counters: dict
    prior: object
    center: np.ndarray
    final_labels: np.ndarray = field(repr=False, default=None)


def as_generator(random_state):
    """A :class:`numpy.random.Generator` from a seed, Generator or RandomState.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**32, dtype=np.uint64))
    return np.random.default_rng(random_state)


class _ProgressBar:
    """A text progress bar on stderr (no dependency)."""

    def __init__(self, total, stream=None, width=30):
        self.total = total
        self.stream = stream or sys.stderr
        self.width = width
        self.step = max(1, total // 100)

    def __call__(self, done, n_clusters, alpha):
        if done % self.step and done != self.total:
            return
        filled = self.width * done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(
            f"\rGibbs [{bar}] {done}/{self.total} sweeps, K={n_clusters}, "
            f"alpha={alpha:.3g}"
        )
        if done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def collapsed_gibbs(
    X,
    prior,
    *,
    n_iter,
    burn_in=0,
    thin=1,
    alpha=1.0,
    alpha_prior=None,
    n_split_merge=0,
    n_launch_scans=5,
    initial_labels=None,
    random_state=None,
    progress=False,
    callback=None,
):
    """Run the collapsed Gibbs sampler with split-merge moves.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data, NaN for a missing entry (no column entirely missing). The discrete
        families drop missing entries from their rows' likelihoods (exact); the
        Gaussian imputes them by data augmentation, redrawn after each point's
        reassignment and after the split-merge moves (:class:`MissingClusterState`).
    prior : NormalInverseWishart or ConjugatePrior
        Conjugate prior of each cluster's parameters (for the Gaussian: mean and
        covariance); it selects the cluster state (:func:`cluster_state_class`).
    n_iter : int
        Number of sweeps.
    burn_in : int, default=0
        Sweeps discarded before partitions are saved.
    thin : int, default=1
        Save every ``thin``-th sweep after burn-in.
    alpha : float, default=1.0
        Concentration (its starting value when ``alpha_prior`` is given).
    alpha_prior : tuple of (float, float), default=None
        ``(shape, rate)`` of a Gamma hyper-prior on alpha; None keeps alpha fixed.
    n_split_merge : int, default=0
        Split-merge proposals after each sweep.
    n_launch_scans : int, default=5
        Intermediate restricted Gibbs scans t of each split-merge proposal.
    initial_labels : array-like of shape (n_samples,), default=None
        Starting partition; None puts every point in one cluster.
    random_state : None, int, Generator or RandomState, default=None
        Seed; the same seed gives the same chain.
    progress : bool, default=False
        Draw a text progress bar on stderr.
    callback : callable, default=None
        ``callback(sweep, labels)`` after each sweep (labels are the state's own,
        do not modify them).

    Returns
    -------
    GibbsResult
    """
    rng = as_generator(random_state)
    X = np.asarray(X, dtype=np.float64)
    state_class = cluster_state_class(prior, missing=bool(np.isnan(X).any()))
    Xc, centred_prior, center = state_class.prepare(X, prior)
    n = len(Xc)
    labels = (
        np.zeros(n, dtype=np.intp)
        if initial_labels is None
        else canonical_labels(np.asarray(initial_labels))
    )
    state = state_class(Xc, centred_prior, labels)
    log_prior_pred = state_class.log_prior_predictive(centred_prior, Xc)
    counters = dict.fromkeys(
        ("split_proposed", "split_accepted", "merge_proposed", "merge_accepted"), 0
    )
    trace = {"log_joint": [], "n_clusters": [], "alpha": []}
    saved = {"partitions": [], "alphas": [], "stats": []}
    bar = _ProgressBar(n_iter) if progress else None
    for sweep in range(1, n_iter + 1):
        gibbs_sweep(
            state, alpha, log_prior_pred, rng.permutation(n), rng.random(n), rng=rng
        )
        for _ in range(n_split_merge):
            split_merge_step(state, alpha, n_launch_scans, rng, counters)
        if state.augmented is not None:
            state.redraw_missing(rng)
        if alpha_prior is not None:
            alpha = sample_concentration(alpha, state.n_clusters, n, *alpha_prior, rng)
        k = state.n_clusters
        trace["log_joint"].append(
            state.log_likelihood() + log_crp(state.counts[:k], alpha)
        )
        trace["n_clusters"].append(k)
        trace["alpha"].append(alpha)
        if sweep > burn_in and (sweep - burn_in) % thin == 0:
            _save(state, alpha, saved)
        if bar is not None:
            bar(sweep, k, alpha)
        if callback is not None:
            callback(sweep, state.labels)
    return GibbsResult(
        partitions=np.array(saved["partitions"], dtype=np.int32).reshape(-1, n),
        alphas=np.array(saved["alphas"]),
        cluster_stats=saved["stats"],
        log_joint=np.array(trace["log_joint"]),
        n_clusters=np.array(trace["n_clusters"]),
        alpha_trace=np.array(trace["alpha"]),
        counters=counters,
        prior=centred_prior,
        center=center,
        final_labels=canonical_labels(state.labels),
    )


def _save(state, alpha, saved):
    k = state.n_clusters
    saved["partitions"].append(canonical_labels(state.labels))
    saved["alphas"].append(alpha)
    saved["stats"].append(state.statistics(slice(0, k)))


def canonical_labels(labels):
    """Relabel a partition ``0, 1, ...`` in order of first appearance.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.ravel()]


def log_predictive_density(result, X):
    """Log posterior predictive density, averaged over the saved partitions.

    For each saved partition, ``p(x | partition) = sum_k n_k / (n + alpha)
    p(x | data of k) + alpha / (n + alpha) p(x | prior)``, with the family's
    posterior predictive p (Student t for the Gaussian); the densities (not
    their logs) are averaged over partitions.

    Parameters
    ----------
    result : GibbsResult
    X : ndarray of shape (n_new, n_features)

    Returns
    -------
    ndarray of shape (n_new,)
    """
    Xc = np.asarray(X, dtype=np.float64) - result.center
    prior = result.prior
    state_class = cluster_state_class(prior)
    log_prior_pred = state_class.log_prior_predictive(prior, Xc)
    per_sample = np.empty((len(result.cluster_stats), len(Xc)))
    for s, (stats, alpha) in enumerate(
        zip(result.cluster_stats, result.alphas, strict=True)
    ):
        counts = stats[0]
        per_cluster = state_class.log_cluster_predictives(prior, stats, Xc)
        terms = [log_prior_pred + math.log(alpha)]
        for k in range(len(counts)):
            terms.append(math.log(counts[k]) + per_cluster[k])
        per_sample[s] = logsumexp(np.array(terms), axis=0) - math.log(
            counts.sum() + alpha
        )
    return logsumexp(per_sample, axis=0) - math.log(len(per_sample))


# -- summaries of sampled partitions ----------------------------------------------
def _unique_partitions(partitions):
    """Distinct partitions and how often each was sampled."""
    unique, counts = np.unique(partitions, axis=0, return_counts=True)
    return unique, counts


def posterior_similarity(partitions):
    """Posterior similarity (co-clustering) matrix of sampled partitions.

    Parameters
    ----------
    partitions : ndarray of shape (n_saved, n_samples)

    Returns
    -------
    ndarray of shape (n_samples, n_samples)
        Fraction of partitions in which points i and j share a cluster.
    """
    unique, counts = _unique_partitions(partitions)
    n_samples = partitions.shape[1]
    columns = []
    for labels, count in zip(unique, counts, strict=True):
        one_hot = np.zeros((n_samples, labels.max() + 1))
        one_hot[np.arange(n_samples), labels] = math.sqrt(count / len(partitions))
        columns.append(one_hot)
    Z = np.hstack(columns)
    return Z @ Z.T


def least_squares_clustering(partitions, max_candidates=200):
    """The sampled partition minimising Binder's loss (Dahl 2006).

    Minimises ``sum_ij (delta_ij(c) - pi_ij)^2`` over the sampled partitions c,
    where ``pi`` is the posterior similarity matrix; with equal costs this is
    Binder's loss. The n x n matrix is never formed: ``sum_ij delta_ij(c)
    pi_ij`` is the average over sampled partitions s of the squared entries of
    the contingency table of c and s, so the cost is O(candidates x distinct
    partitions x n).

    Parameters
    ----------
    partitions : ndarray of shape (n_saved, n_samples)
    max_candidates : int, default=200
        At most this many distinct partitions are candidates (the most often
        sampled ones); every sampled partition still enters the loss.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    unique, counts = _unique_partitions(partitions)
    weights = counts / counts.sum()
    candidates = np.argsort(-counts, kind="stable")[:max_candidates]
    width = int(unique.max()) + 1
    offsets = np.arange(len(unique))[:, None] * width
    best, best_loss = None, np.inf
    for index in candidates:
        labels = unique[index]
        k = int(labels.max()) + 1
        codes = (offsets * k + labels[None, :] * width + unique).ravel()
        table = np.bincount(codes, minlength=len(unique) * k * width)
        agreement = (table.reshape(len(unique), -1) ** 2).sum(axis=1) @ weights
        loss = (
            float((np.bincount(labels).astype(np.float64) ** 2).sum()) - 2 * agreement
        )
        if loss < best_loss:
            best, best_loss = labels, loss
    return best.copy()
