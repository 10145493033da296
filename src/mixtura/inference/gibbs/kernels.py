"""The transition kernels: Gibbs sweeps and split-merge moves.

- Gibbs sweeps (Neal 2000, "Markov chain sampling methods for Dirichlet process
  mixture models", J. Comput. Graph. Stat. 9(2), algorithm 3).
- Split-merge moves (Jain & Neal 2004, "A split-merge Markov chain Monte Carlo
  procedure for the Dirichlet process mixture model", J. Comput. Graph. Stat.
  13(1), conjugate case).

Both act on a cluster state through the :class:`PartitionState` interface only.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

__all__ = ["gibbs_sweep", "split_merge_step"]


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
