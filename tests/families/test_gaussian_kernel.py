"""Each Gaussian E-step kernel: where it is chosen, and that it is exact.

The reference is composed directly, in float64 and from explicit deviations:
the log density of each component from its covariance matrix (a Cholesky
solve), the posterior by log-sum-exp, and the responsibility-weighted moments
of the rows about their own means. It shares no code with the kernels.

Tolerances come from the error bounds the kernels are chosen by
(:func:`~mixtura.families.gaussian_kernel.log_density_error` for log densities,
:func:`~mixtura.families.gaussian_kernel.expanded_form_error` for scatter), not
from the rounding of any particular BLAS kernel.
"""

import array_api_strict
import numpy as np
import pytest

from mixtura.backend import to_numpy
from mixtura.families import Gaussian
from mixtura.families.gaussian_kernel import (
    GaussianEStepKernel,
    PairKernel,
    TiedKernel,
    WidenedKernel,
    expanded_form_error,
    log_density_error,
)

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
#: float64's floor: the derived bounds (_tolerances) come to 1e-12 or less
#: for means near the reference, below the rounding of the reference's own
#: Cholesky solves; 1e-10 leaves room for that without hiding a wrong form
#: (a wrong term is off by O(1))
FLOAT64_RTOL = 1e-10


def _family(covariance_type, n_components, n_features, separation=3.0, seed=0):
    """A fitted family: clusters ``separation`` standard deviations apart.

    The means are symmetric about the origin, so the reference point (their
    mean) is near 0 and float32 rounds the centred rows no worse than the data.
    """
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(n_components, n_features))
    directions -= directions.mean(axis=0)
    labels = rng.integers(n_components, size=3000)
    X = separation * directions[labels] + rng.normal(size=(3000, n_features))
    template = Gaussian(covariance_type, reg_covar=0.0)
    resp = np.eye(n_components)[labels]
    return template.maximize(template.statistics(X, resp)), X


def _reference_log_prob(family, X):
    """Log density of each row under each component, from explicit deviations."""
    covariances = family._covariance_matrices()
    X = np.asarray(X, dtype=np.float64)
    columns = []
    for mean, covariance in zip(family.means, covariances, strict=True):
        factor = np.linalg.cholesky(covariance)
        whitened = np.linalg.solve(factor, (X - mean).T)
        log_det = 2.0 * np.log(np.diag(factor)).sum()
        columns.append(
            -0.5 * (X.shape[1] * np.log(2 * np.pi) + log_det)
            - 0.5 * (whitened**2).sum(axis=0)
        )
    return np.stack(columns, axis=1)


def _reference_step(family, X, log_weights):
    """Responsibility sums, means, scatter and log likelihood, composed."""
    X = np.asarray(X, dtype=np.float64)
    joint = _reference_log_prob(family, X) + log_weights
    top = joint.max(axis=1, keepdims=True)
    log_density = top[:, 0] + np.log(np.exp(joint - top).sum(axis=1))
    resp = np.exp(joint - log_density[:, None])
    resp_sum = resp.sum(axis=0)
    means = resp.T @ X / resp_sum[:, None]
    deviations = X[None, :, :] - means[:, None, :]
    scatter = np.einsum("ik,kia,kib->kab", resp, deviations, deviations)
    return resp_sum, means, scatter, float(log_density.sum())


def _as_reference_shape(stats, scatter):
    """The reference scatter in the shape the kernel's statistics keep."""
    if stats.pooled:
        return scatter.sum(axis=0, keepdims=True)
    if not stats.full:
        return np.diagonal(scatter, axis1=1, axis2=2)
    return scatter


def _kernel_step(kernel, X, log_weights):
    """The kernel's fused step, or its composed one where it has none."""
    result = kernel.step(X, log_weights, None)
    if result is None:
        result = kernel.composed_step(X, log_weights, None)
    return result


def _assert_matches_the_reference(family, X, log_prob_atol, stats_rtol):
    log_weights = np.log(np.full(family.n_components, 1.0 / family.n_components))
    kernel = family.kernels.kernel(X)
    expected_log_prob = _reference_log_prob(family, X)
    np.testing.assert_allclose(
        kernel.log_prob(X), expected_log_prob, rtol=0, atol=log_prob_atol
    )
    stats, log_likelihood = _kernel_step(kernel, X, log_weights)
    resp_sum, means, scatter, expected_ll = _reference_step(family, X, log_weights)
    scatter = _as_reference_shape(stats, scatter)
    # the total is a sum of n rows' log densities, each within log_prob_atol
    assert abs(log_likelihood - expected_ll) <= X.shape[0] * log_prob_atol
    # counts and means relative to their own scale; scatter to its largest entry
    np.testing.assert_allclose(
        stats.resp_sum, resp_sum, rtol=0, atol=stats_rtol * resp_sum.sum()
    )
    np.testing.assert_allclose(
        stats.mean, means, rtol=0, atol=stats_rtol * (np.abs(means).max() + 1.0)
    )
    np.testing.assert_allclose(
        stats.scatter, scatter, rtol=0, atol=stats_rtol * np.abs(scatter).max()
    )


def _tolerances(family, X):
    """Bounds on a kernel's errors for rows ``X`` in their own dtype.

    Log densities: the expanded sum's bound (log_density_error), plus the
    final rounding of a value as large as the largest log density. Statistics,
    relative: the expanded scatter's bound (expanded_form_error; the offsets of
    the means from the reference, per variance, are at most mean_offset), plus
    the responsibilities' relative error, which is the log densities' error,
    plus their own rounding (a few eps). For float64 no less than
    FLOAT64_RTOL, the reference's own rounding floor.
    """
    eps = float(np.finfo(X.dtype).eps)
    d = family.n_features
    mean_offset = family.kernels.mean_offset
    largest = np.abs(_reference_log_prob(family, X)).max()
    log_prob_atol = log_density_error(mean_offset, d, eps) + eps * largest
    stats_rtol = (
        expanded_form_error(mean_offset, eps)
        + log_density_error(mean_offset, d, eps)
        + 4 * eps
    )
    if X.dtype == np.float64:
        return max(log_prob_atol, FLOAT64_RTOL), max(stats_rtol, FLOAT64_RTOL)
    return log_prob_atol, stats_rtol


# -- where each kernel is chosen ---------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_diagonal_structures_take_the_pair_kernel(covariance_type):
    family, X = _family(covariance_type, n_components=2, n_features=12)
    kernel = family.kernels.kernel(X)
    assert isinstance(kernel, PairKernel)
    assert not kernel.pair_form.pairs  # squares only
    _assert_matches_the_reference(family, X, *_tolerances(family, X))


def test_full_matrices_with_many_components_take_the_pair_kernel():
    family, X = _family("full", n_components=4, n_features=3)
    kernel = family.kernels.kernel(X)
    assert isinstance(kernel, PairKernel)
    assert kernel.pair_form.pairs
    _assert_matches_the_reference(family, X, *_tolerances(family, X))


def test_full_matrices_with_few_components_are_composed():
    # 2 components of 12 features: whitening beats the 78 pairwise products
    family, X = _family("full", n_components=2, n_features=12)
    kernel = family.kernels.kernel(X)
    assert type(kernel) is GaussianEStepKernel
    assert kernel.step(X, np.zeros(2), None) is None
    _assert_matches_the_reference(family, X, *_tolerances(family, X))


def test_a_tied_covariance_takes_the_tied_kernel():
    family, X = _family("tied", n_components=3, n_features=4)
    kernel = family.kernels.kernel(X)
    assert isinstance(kernel, TiedKernel)
    assert kernel.step(X, np.zeros(3), None)[0].pooled
    _assert_matches_the_reference(family, X, *_tolerances(family, X))


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied"])
def test_float32_near_means_take_float32_fast_kernels(covariance_type):
    family, X = _family(covariance_type, n_components=4, n_features=3)
    X32 = X.astype(np.float32)
    kernel = family.kernels.kernel(X32)
    assert kernel.form in ("pairs", "tied")
    assert kernel.dtype == np.float32
    _assert_matches_the_reference(family, X32, *_tolerances(family, X32))


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied"])
def test_float32_far_means_are_widened_to_float64(covariance_type):
    # 200 standard deviations apart: past float32's limit, well within float64's
    family, X = _family(covariance_type, n_components=4, n_features=3, separation=200)
    X32 = X.astype(np.float32)
    kernel = family.kernels.kernel(X32)
    assert isinstance(kernel, WidenedKernel)
    assert kernel.wide is family.kernels.kernel(X32.astype(np.float64))
    assert kernel.wide.form in ("pairs", "tied")
    # log densities stay float32, from explicit deviations: each term rounds
    # once at most at the size of the largest log density, a few per value
    largest = np.abs(_reference_log_prob(family, X32)).max()
    log_prob_atol = 8 * EPS32 * (largest + family.n_features)
    # the statistics are float64's own, from the widened rows
    log_weights = np.log(np.full(4, 0.25))
    expected = kernel.wide.step(X32.astype(np.float64), log_weights, None)
    stats, log_likelihood = kernel.step(X32, log_weights, None)
    np.testing.assert_array_equal(stats.scatter, expected[0].scatter)
    assert log_likelihood == expected[1]
    np.testing.assert_allclose(
        kernel.log_prob(X32), _reference_log_prob(family, X32), atol=log_prob_atol
    )
    resp_sum, means, scatter, expected_ll = _reference_step(family, X32, log_weights)
    scatter = _as_reference_shape(stats, scatter)
    wide_log_prob_atol, tolerance = _tolerances(family, X32.astype(np.float64))
    np.testing.assert_allclose(
        stats.resp_sum, resp_sum, rtol=0, atol=tolerance * resp_sum.sum()
    )
    np.testing.assert_allclose(
        stats.mean, means, rtol=0, atol=tolerance * (np.abs(means).max() + 1.0)
    )
    np.testing.assert_allclose(
        stats.scatter, scatter, rtol=0, atol=tolerance * np.abs(scatter).max()
    )
    assert abs(log_likelihood - expected_ll) <= len(X32) * wide_log_prob_atol


def test_means_beyond_float64s_reach_are_composed_from_explicit_deviations():
    family, X = _family("diag", n_components=2, n_features=3, separation=1e6)
    kernel = family.kernels.kernel(X)
    assert type(kernel) is GaussianEStepKernel
    assert kernel.centred
    # explicit deviations: each log density rounds at its own size
    largest = np.abs(_reference_log_prob(family, X)).max()
    # and the scatter, recomputed from explicit deviations, cannot cancel
    _assert_matches_the_reference(family, X, 8 * EPS64 * largest, FLOAT64_RTOL)


def test_other_array_namespaces_are_composed_in_their_namespace():
    family, X = _family("diag", n_components=4, n_features=3)
    X_strict = array_api_strict.asarray(X)
    kernel = family.kernels.kernel(X_strict)
    assert type(kernel) is GaussianEStepKernel
    log_prob = kernel.log_prob(X_strict)
    assert isinstance(log_prob, type(X_strict))
    np.testing.assert_allclose(
        to_numpy(log_prob),
        _reference_log_prob(family, X),
        rtol=0,
        atol=_tolerances(family, X)[0],
    )
    assert family.fused_statistics(X_strict, np.zeros(4)) is None


def test_each_dtype_s_kernel_is_chosen_once_per_family_value():
    family, X = _family("full", n_components=4, n_features=3)
    kernels = family.kernels
    assert kernels.kernel(X) is kernels.kernel(X[:10].copy())
    assert kernels.kernel(X.astype(np.float32)) is not kernels.kernel(X)
    # the M-step returns a new family value with kernels of its own
    refitted = family.maximize(family.statistics(X, np.full((len(X), 4), 0.25)))
    assert refitted.kernels is not kernels
    assert Gaussian("full").kernels is None  # a template has no E-step
