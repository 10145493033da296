"""The family test registry: one entry per family configuration.

A new family joins every generic test in ``test_registry.py`` by adding a
:class:`FamilyCase` here: how to build it with parameters, how to draw data in its
support, its log density from an independent reference (``scipy.stats``), and the
per-feature mean and variance of each component.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mixtura.families import COVARIANCE_STRUCTURES, Gaussian


@dataclass(frozen=True)
class FamilyCase:
    """How the generic tests exercise one family configuration."""

    id: str
    #: rng, n_components, n_features -> family with parameters
    make: Callable
    #: rng, n_samples, n_features -> data in the family's support
    data: Callable
    #: family, X -> (n_samples, n_components) log densities from scipy.stats
    reference_log_prob: Callable
    #: family -> (means (K, d), variances (K, d)) of each component
    moments: Callable


def _random_spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T / d + 0.5 * np.eye(d)


def _gaussian_covariances(structure, rng, n_components, n_features):
    if structure == "full":
        return np.stack([_random_spd(rng, n_features) for _ in range(n_components)])
    if structure == "tied":
        return _random_spd(rng, n_features)
    if structure == "diag":
        return rng.uniform(0.3, 2.0, size=(n_components, n_features))
    return rng.uniform(0.3, 2.0, size=n_components)


def full_covariances(family):
    """Each component's covariance as a (d, d) matrix, whatever the structure."""
    return family.structure.matrices(
        family.covariances, family.n_components, family.n_features
    )


def _gaussian_case(structure):
    def make(rng, n_components, n_features):
        means = rng.normal(scale=3.0, size=(n_components, n_features))
        covariances = _gaussian_covariances(structure, rng, n_components, n_features)
        return Gaussian(structure, means=means, covariances=covariances)

    def reference(family, X):
        covs = full_covariances(family)
        return np.column_stack(
            [
                stats.multivariate_normal(mean, cov).logpdf(X)
                for mean, cov in zip(family.means, covs, strict=True)
            ]
        )

    def moments(family):
        covs = full_covariances(family)
        return family.means, np.diagonal(covs, axis1=1, axis2=2)

    return FamilyCase(
        id=f"gaussian-{structure}",
        make=make,
        data=lambda rng, n, d: rng.normal(scale=3.0, size=(n, d)),
        reference_log_prob=reference,
        moments=moments,
    )


FAMILY_CASES = [_gaussian_case(name) for name in COVARIANCE_STRUCTURES]
