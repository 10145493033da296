"""Stepwise online EM: running sufficient statistics updated one batch at a time.

Cappé & Moulines (2009), "On-line expectation-maximization algorithm for latent
data models", JRSS B 71(3): the running statistics move towards each batch's
statistics by a step ``gamma_t``; the M-step maps them to parameters. Step sizes
``gamma_t = (t + 2) ** -decay`` with ``0.5 < decay <= 1`` follow Liang & Klein
(2009), "Online EM for unsupervised models". Statistics are values that add and
scale, so every family gets online EM through this one function.
"""

from __future__ import annotations

__all__ = ["online_update", "step_size"]


def step_size(n_updates, decay):
    """Weight of the newest batch after ``n_updates`` earlier updates.

    Parameters
    ----------
    n_updates : int
        Number of batches already folded into the running statistics.
    decay : float
        Exponent of the schedule; 0 gives a step of one (plain EM on each batch).

    Returns
    -------
    gamma : float
        1 for the first batch, then ``(n_updates + 2) ** -decay``.
    """
    if n_updates == 0:
        return 1.0
    return float((n_updates + 2.0) ** (-decay))


def online_update(running, batch_stats, batch_weight, n_updates, decay):
    """Fold one batch's statistics into the running per-sample statistics.

    Parameters
    ----------
    running : Stats or None
        Running statistics per unit of sample weight (None before the first batch).
    batch_stats : Stats
        The batch's statistics under the current parameters.
    batch_weight : float
        The batch's total sample weight (its number of rows when unweighted).
    n_updates : int
        Number of batches already folded in.
    decay : float
        Step-size exponent (see :func:`step_size`).

    Returns
    -------
    running : Stats
        ``(1 - gamma) running + gamma batch_stats / batch_weight``.
    """
    gamma = step_size(n_updates, decay)
    normalized = batch_stats.scale(1.0 / batch_weight)
    if running is None or gamma == 1.0:
        return normalized
    return running.scale(1.0 - gamma) + normalized.scale(gamma)
