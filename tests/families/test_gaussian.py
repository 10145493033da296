"""Gaussian family specifics: accuracy far from the origin, empty components."""

import itertools

import numpy as np
import pytest

from mixtura.families import COVARIANCE_STRUCTURES, Gaussian
from mixtura.families.gaussian_kernel import (
    cancellation_limit,
    expanded_form_error,
    log_density_error,
)

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
    # point: the fast form would cancel every float32 digit (rho ~ 1e11), so the
    # structure falls back to explicit deviations in float64. Those are exact to
    # float64 rounding of the float32 data: sums of n = 4000 terms, each about
    # rho_64 = (shift of the fast mean / sd)^2 <= 1 times the variance, lose at
    # most n eps64 ~ 1e-12 relative, whatever order the BLAS adds in.
    X32, resp = _far_apart(np.float32)
    X64 = X32.astype(np.float64)
    template = Gaussian(name, reg_covar=0.0)
    stats32 = template.statistics(X32, resp.astype(np.float32))
    stats64 = template.statistics(X64, resp)
    assert np.all(_variances(stats32.scatter) > 0)
    tolerance = len(X32) * np.finfo(np.float64).eps
    scale = _variances(stats64.scatter).max()
    np.testing.assert_allclose(stats32.scatter, stats64.scatter, atol=tolerance * scale)
    np.testing.assert_allclose(stats32.mean, stats64.mean, rtol=1e-12)
    covariances = template.maximize(stats32).covariances
    per_component = full_covariances(template.maximize(stats32))
    assert np.all(np.linalg.eigvalsh(per_component) > 0), covariances


def _variances(scatter):
    return scatter if scatter.ndim == 2 else np.diagonal(scatter, axis1=1, axis2=2)


def _offset_clusters(offset_sd, n=20_000, seed=0):
    """Two unit-variance clusters at +-offset_sd standard deviations (axis 0)."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(2, size=n)
    centres = np.zeros((2, 3))
    centres[:, 0] = [-offset_sd, offset_sd]
    X = centres[labels] + rng.normal(size=(n, 3)) + np.array([3.0, -2.0, 1.0])
    return X, np.eye(2)[labels]


def _orders(n, seed=0):
    """Row orders that make any BLAS add the products in another order."""
    rng = np.random.RandomState(seed)
    return {
        "given": np.arange(n),
        "reversed": np.arange(n)[::-1],
        "shuffled": rng.permutation(n),
        "sorted by the first coordinate": None,
    }


def _chunked_statistics(family_or_template, X, resp, sizes):
    """Statistics of X summed over chunks of the given sizes (another blocking)."""
    edges = np.cumsum([0, *sizes])
    parts = [
        family_or_template.statistics(X[a:b], resp[a:b])
        for a, b in itertools.pairwise(edges)
    ]
    return sum(parts)


@pytest.mark.parametrize("name", ["full", "diag", "tied", "spherical", "VEV"])
@pytest.mark.parametrize("offset_sd", [0.0, 3.0, 7.5])
def test_float32_expanded_scatter_meets_its_bound_in_any_summation_order(
    name, offset_sd
):
    # Means within the float32 fast form's reach (7.5 sd: rho = 56, bound 8.6e-4):
    # the expanded scatter's error must stay under expanded_form_error whatever
    # order the rows, and so the products, are added in, and however chunked.
    X, resp = _offset_clusters(offset_sd)
    template = Gaussian(name, reg_covar=0.0)
    reference = template.statistics(X, resp)
    # a template centres the rows on their mean
    counts = reference.resp_sum.sum() if reference.pooled else reference.resp_sum
    per_component = _variances(reference.scatter) / np.reshape(counts, (-1, 1))
    rho = ((reference.mean - X.mean(axis=0)) ** 2 / per_component).max()
    bound = expanded_form_error(rho, np.finfo(np.float32).eps)
    assert bound < cancellation_limit(np.finfo(np.float32).eps)
    scale = _variances(reference.scatter).max()
    for label, order in _orders(len(X)).items():
        if order is None:
            order = np.argsort(X[:, 0])
        X32 = X[order].astype(np.float32)
        resp32 = resp[order].astype(np.float32)
        stats = template.statistics(X32, resp32)
        exact = template.statistics(X32.astype(np.float64), resp[order])
        error = np.abs(stats.scatter - exact.scatter).max() / scale
        assert error <= bound, (label, error, bound)
        chunked = _chunked_statistics(template, X32, resp32, [7001, 4999, 8000])
        error = np.abs(chunked.scatter - exact.scatter).max() / scale
        assert error <= bound, ("chunked", label, error, bound)


def _offset_ratio(stats, reference):
    """rho: the largest squared offset of a mean from ``reference``, per variance."""
    counts = stats.resp_sum.sum() if stats.pooled else stats.resp_sum
    variances = _variances(stats.scatter) / np.reshape(counts, (-1, 1))
    return float(((stats.mean - reference) ** 2 / variances).max())


def _e_step_statistics(family, X, log_weights):
    """The statistics of one E-step, fused where the family offers it."""
    result = family.fused_statistics(X, log_weights)
    if result is None:  # the mixture would compose log_prob and statistics
        result = family.kernels.kernel(X).composed_step(X, log_weights, None)
    return result[0]


@pytest.mark.parametrize("name", ["full", "diag", "tied"])
@pytest.mark.parametrize("offset_sd", [3.0, 20.0, 40.0])
def test_float32_fused_step_meets_the_bound_or_falls_back(name, offset_sd):
    # The fused E-step + statistics of a fitted family on float32 rows: near
    # means use the float32 fast forms (error under their bound); far ones (40 sd,
    # rho = 1600 per feature, past float32's limit) are recomputed in float64 and
    # come out as float64's own statistics, in any row order.
    X, resp = _offset_clusters(offset_sd)
    family = Gaussian(name, reg_covar=0.0).maximize(Gaussian(name).statistics(X, resp))
    log_weights = np.log([0.5, 0.5])
    eps32 = np.finfo(np.float32).eps
    for label, order in _orders(len(X)).items():
        if order is None:
            order = np.argsort(X[:, 0])
        X32 = X[order].astype(np.float32)
        stats32 = _e_step_statistics(family, X32, log_weights)
        stats64 = _e_step_statistics(family, X32.astype(np.float64), log_weights)
        # compared through the M-step: a tied family's fast form pools the
        # scatter, its composed path keeps it per component
        fit32, fit64 = (
            full_covariances(Gaussian(name, reg_covar=0.0).maximize(stats))
            for stats in (stats32, stats64)
        )
        error = np.abs(fit32 - fit64).max() / np.abs(fit64).max()
        bound = expanded_form_error(
            _offset_ratio(stats64, family.kernels.reference), eps32
        )
        # the E-step's own error (log_density_error, under the limit here) moves
        # responsibilities by as much, relative; float32 responsibilities by eps32
        e_step = log_density_error(family.kernels.mean_offset, 3, eps32) + 4 * eps32
        if bound < cancellation_limit(eps32):
            assert error <= bound + e_step, (label, error, bound)
        else:
            assert error <= 1e-9 + e_step, (label, error)


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


def test_cancellation_limits_are_small_and_tighter_for_float64():
    limit32 = cancellation_limit(np.finfo(np.float32).eps)
    limit64 = cancellation_limit(np.finfo(np.float64).eps)
    assert 0 < limit64 < limit32 < 0.05


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
