"""Gaussian family specifics: accuracy far from the origin, empty components."""

import numpy as np
import pytest

from mixtura.families import COVARIANCE_STRUCTURES, Gaussian
from mixtura.families.gaussian import CANCELLATION_LIMIT

from .cases import full_covariances

structures = pytest.mark.parametrize("name", sorted(COVARIANCE_STRUCTURES))


def _far_apart(dtype, n=4000, seed=0):
    """Two tight clusters 1e4 apart (spread 1e-2), far from the origin."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(2, size=n)
    centres = np.array([[1e4, 2e4, -1e4], [2e4, 3e4, 0.0]])
    X = centres[labels] + rng.normal(scale=1e-2, size=(n, 3))
    return X.astype(dtype), np.eye(2)[labels]


@structures
def test_float32_scatter_stays_accurate_and_positive_far_from_the_reference(name):
    # One-hot responsibilities of clusters whose means are ~5e3 from the reference
    # point: the fast form cancels every float32 digit (|m|^2 / var ~ 1e11), so
    # the structure must fall back to centred deviations.
    X32, resp = _far_apart(np.float32)
    X64 = X32.astype(np.float64)
    template = Gaussian(name, reg_covar=0.0)
    stats32 = template.statistics(X32, resp.astype(np.float32))
    stats64 = template.statistics(X64, resp)
    variances = (
        stats32.scatter
        if stats32.scatter.ndim == 2
        else np.diagonal(stats32.scatter, axis1=1, axis2=2)
    )
    assert np.all(variances > 0)
    np.testing.assert_allclose(stats32.scatter, stats64.scatter, rtol=1e-3, atol=1e-3)
    covariances = template.maximize(stats32).covariances
    per_component = full_covariances(template.maximize(stats32))
    assert np.all(np.linalg.eigvalsh(per_component) > 0), covariances


@structures
def test_float32_log_prob_far_from_the_origin(name):
    X32, resp = _far_apart(np.float32)
    family = Gaussian(name).maximize(Gaussian(name).statistics(X32.astype(float), resp))
    log_prob32 = family.log_prob(X32)
    log_prob64 = family.log_prob(X32.astype(np.float64))
    assert log_prob32.dtype == np.float32
    # Each point under its own component. The means sit ~1e6 standard deviations
    # from the reference point, so float32 holds deviations only to ~0.03 sd: an
    # error of a few tenths in the log density is all float32 can give here (the
    # expanded form would be off by ~1e4).
    own = resp.astype(bool)
    np.testing.assert_allclose(log_prob32[own], log_prob64[own], atol=0.5)


def test_cancellation_limit_is_a_small_fraction_of_precision():
    assert 0 < CANCELLATION_LIMIT < 1


@structures
def test_empty_component_gets_regularised_covariance(name):
    X = np.random.RandomState(0).normal(size=(50, 3))
    resp = np.zeros((50, 2))
    resp[:, 0] = 1.0
    fitted = Gaussian(name, reg_covar=1e-3).maximize(Gaussian(name).statistics(X, resp))
    np.testing.assert_array_equal(fitted.means[1], 0.0)
    np.testing.assert_allclose(fitted.means[0], X.mean(axis=0))
    if name in ("full", "diag", "spherical", "VVV", "VVI", "VII", "V"):
        # structures whose components share nothing
        np.testing.assert_allclose(full_covariances(fitted)[1], 1e-3 * np.eye(3))


def test_template_refuses_log_prob_with_a_clear_message():
    with pytest.raises(ValueError, match="template without parameters"):
        Gaussian("full").log_prob(np.zeros((2, 2)))


def test_from_precisions_matches_from_covariances():
    rng = np.random.RandomState(3)
    A = rng.normal(size=(2, 3, 3))
    covariances = A @ A.transpose(0, 2, 1) + np.eye(3)
    means = rng.normal(size=(2, 3))
    a = Gaussian("full", means=means, covariances=covariances)
    b = Gaussian.from_precisions("full", means, np.linalg.inv(covariances))
    np.testing.assert_allclose(b.precisions_cholesky, a.precisions_cholesky, rtol=1e-10)
    np.testing.assert_allclose(b.covariances, covariances, rtol=1e-10)
    X = rng.normal(size=(10, 3))
    np.testing.assert_allclose(b.log_prob(X), a.log_prob(X), rtol=1e-12)


def test_from_arrays_rejects_inconsistent_covariances_and_factors():
    family = Gaussian("diag", means=[[0.0, 0.0]], covariances=[[1.0, 2.0]])
    arrays = family.arrays()
    arrays["covariances"] = np.array([[1.0, 3.0]])
    with pytest.raises(ValueError, match="disagree"):
        Gaussian.from_arrays(family.config(), arrays)


def test_parameters_of_the_wrong_shape_are_refused_clearly():
    with pytest.raises(ValueError, match="needs covariances"):
        Gaussian("diag", means=[[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"covariances must have shape \(2, 2\)"):
        Gaussian("diag", means=[[0.0, 0.0], [1.0, 1.0]], covariances=np.ones(2))
    with pytest.raises(ValueError, match="means must have shape"):
        Gaussian("spherical", means=[0.0, 1.0], covariances=[1.0, 1.0])
    with pytest.raises(ValueError, match="precisions_cholesky must have shape"):
        Gaussian("full", means=np.zeros((2, 3)), precisions_cholesky=np.eye(3))
