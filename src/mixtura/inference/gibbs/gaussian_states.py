"""Gaussian cluster states of the collapsed Gibbs sampler (Normal-inverse-Wishart).

Each cluster keeps its sufficient statistics (count, sum, scatter) and the cache of
its predictive t (posterior mean, inverse and log-determinant of the posterior
scale). A move changes only the two clusters involved, each by a rank-one term
(Sherman-Morrison), so a sweep costs O(n K d^2) with no factorisation; the cache
is rebuilt from the labels after each sweep to cancel round-off.

Missing coordinates (NaN) are handled by data augmentation
(:class:`MissingClusterState`): the chain also carries the missing entries and
redraws them from their conditional given the observed ones.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from mixtura.families.base import fill_column_means
from mixtura.inference.gibbs.partition import PartitionState
from mixtura.priors.normal_inverse_wishart import (
    NormalInverseWishart,
    student_t_log_const,
    student_t_logpdf,
)

__all__ = ["ClusterState", "MissingClusterState"]


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
    def _log_predictive(self, x, slots):
        # the multivariate t predictive, from the cached factors
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

        See :meth:`PartitionState.log_conditional` for the arguments.
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

    def _statistic_arrays(self):
        return self.counts, self.totals, self.scatters

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

        See :meth:`PartitionState.log_conditional` for the arguments.
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

        See :meth:`PartitionState.log_proposal` for the arguments.
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


def _multigammaln(a, d):
    a = np.asarray(a, dtype=np.float64)
    offsets = 0.5 * np.arange(d)
    return 0.25 * d * (d - 1) * math.log(math.pi) + gammaln(a[..., None] - offsets).sum(
        axis=-1
    )
