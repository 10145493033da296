"""Summaries of sampled partitions: co-clustering and a point clustering."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["least_squares_clustering", "posterior_similarity"]


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
