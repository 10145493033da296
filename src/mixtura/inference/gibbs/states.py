"""The map from a conjugate prior to the cluster state that samples under it."""

from __future__ import annotations

from mixtura.inference.gibbs.discrete_states import STATE_CLASSES
from mixtura.inference.gibbs.gaussian_states import ClusterState, MissingClusterState
from mixtura.priors.normal_inverse_wishart import NormalInverseWishart

__all__ = ["cluster_state_class"]


def cluster_state_class(prior, missing=False):
    """The cluster-state class that samples partitions under ``prior``.

    The factory between a prior and the sampler: the Normal-inverse-Wishart
    prior gets :class:`ClusterState` (:class:`MissingClusterState` for data with
    missing coordinates); the discrete conjugate priors of
    :mod:`mixtura.priors` get their states from
    :mod:`mixtura.inference.gibbs.discrete_states` (the priors import nothing from
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
