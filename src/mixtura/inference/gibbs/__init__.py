"""Collapsed Gibbs sampling with split-merge moves for Dirichlet-process mixtures.

The package, along its seams: :mod:`.partition` (the partition and its
concentration), :mod:`.gaussian_states` and :mod:`.discrete_states` (cluster
states per prior; :mod:`.states` maps a prior to its state), :mod:`.kernels`
(sweeps and split-merge moves), :mod:`.driver` (the chain, the predictive
density) and :mod:`.summaries` (co-clustering, a point clustering). Each module
imports only the ones before it; this one re-exports the public names.

The sampler draws partitions of the data from the posterior of a Dirichlet-process
mixture of full-covariance Gaussians under a conjugate Normal-inverse-Wishart
prior, with the components' parameters integrated out (the discrete conjugate
families, Beta-Bernoulli, Gamma-Poisson and Dirichlet-categorical, plug in through
:mod:`mixtura.inference.gibbs.discrete_states`; :func:`cluster_state_class` picks the
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
(:mod:`mixtura.inference.gibbs.discrete_states`).
"""

from mixtura.inference.gibbs.driver import (
    GibbsResult,
    as_generator,
    canonical_labels,
    collapsed_gibbs,
    log_predictive_density,
)
from mixtura.inference.gibbs.gaussian_states import ClusterState, MissingClusterState
from mixtura.inference.gibbs.kernels import gibbs_sweep, split_merge_step
from mixtura.inference.gibbs.partition import (
    PartitionState,
    log_crp,
    sample_concentration,
)
from mixtura.inference.gibbs.states import cluster_state_class
from mixtura.inference.gibbs.summaries import (
    least_squares_clustering,
    posterior_similarity,
)

__all__ = [
    "ClusterState",
    "GibbsResult",
    "MissingClusterState",
    "PartitionState",
    "as_generator",
    "canonical_labels",
    "cluster_state_class",
    "collapsed_gibbs",
    "gibbs_sweep",
    "least_squares_clustering",
    "log_crp",
    "log_predictive_density",
    "posterior_similarity",
    "sample_concentration",
    "split_merge_step",
]
