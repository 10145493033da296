"""The chain: :func:`collapsed_gibbs` runs sweeps, moves and concentration draws."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from mixtura.inference.gibbs.kernels import gibbs_sweep, split_merge_step
from mixtura.inference.gibbs.partition import log_crp, sample_concentration
from mixtura.inference.gibbs.states import cluster_state_class

__all__ = [
    "GibbsResult",
    "as_generator",
    "canonical_labels",
    "collapsed_gibbs",
    "log_predictive_density",
]


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
