"""Missing-data Gaussian math: marginal densities and conditional EM statistics."""

import numpy as np
import pytest
from scipy import optimize, special, stats

from mixtura.families import COVARIANCE_STRUCTURES, Gaussian
from mixtura.families.gaussian_missing import (
    marginal_log_prob,
    missing_statistics,
    missingness_patterns,
)


def _parameters(rng, n_components=3, n_features=4):
    means = rng.normal(scale=3.0, size=(n_components, n_features))
    A = rng.normal(size=(n_components, n_features, n_features))
    covariances = A @ np.swapaxes(A, 1, 2) / n_features + 0.5 * np.eye(n_features)
    return means, covariances


def _with_holes(rng, X, fraction):
    X = X.copy()
    X[rng.uniform(size=X.shape) < fraction] = np.nan
    return X


def test_patterns_cover_every_row_once():
    X = np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, np.nan], [4.0, 5.0]])
    patterns = missingness_patterns(X)
    rows = np.sort(np.concatenate([r for r, _ in patterns]))
    np.testing.assert_array_equal(rows, np.arange(4))
    for r, observed in patterns:
        np.testing.assert_array_equal(
            ~np.isnan(X[r]), np.broadcast_to(observed, (len(r), 2))
        )


def test_marginal_log_prob_matches_scipy_on_the_observed_subvector():
    rng = np.random.RandomState(0)
    means, covariances = _parameters(rng)
    X = _with_holes(rng, rng.normal(scale=3.0, size=(60, 4)), 0.35)
    log_prob = marginal_log_prob(X, means, covariances)
    for i, row in enumerate(X):
        observed = ~np.isnan(row)
        for k in range(3):
            if not observed.any():
                expected = 0.0
            else:
                expected = stats.multivariate_normal(
                    means[k, observed], covariances[k][np.ix_(observed, observed)]
                ).logpdf(row[observed])
            assert log_prob[i, k] == pytest.approx(expected, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("full_scatter", [True, False])
def test_without_missing_values_the_statistics_are_the_ordinary_ones(full_scatter):
    rng = np.random.RandomState(1)
    means, covariances = _parameters(rng)
    X = rng.normal(size=(80, 4))
    resp = rng.dirichlet(np.ones(3), size=80)
    ours = missing_statistics(X, resp, means, covariances, full_scatter)
    reference = Gaussian("full" if full_scatter else "diag").statistics(X, resp)
    np.testing.assert_allclose(ours.resp_sum, reference.resp_sum, rtol=1e-12)
    np.testing.assert_allclose(ours.mean, reference.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.scatter, reference.scatter, rtol=1e-10, atol=1e-10)


def test_conditional_statistics_equal_a_monte_carlo_completion():
    # E[sum r x x^T] over the conditional distribution of the missing entries
    # equals the average over many sampled completions
    rng = np.random.RandomState(2)
    means, covariances = _parameters(rng, n_components=1, n_features=3)
    x = np.array([[0.5, np.nan, np.nan]])
    stats_ = missing_statistics(x, np.ones((1, 1)), means, covariances, True)
    observed = np.array([True, False, False])
    s_oo = covariances[0][np.ix_(observed, observed)]
    s_mo = covariances[0][np.ix_(~observed, observed)]
    s_mm = covariances[0][np.ix_(~observed, ~observed)]
    mean_m = means[0, ~observed] + s_mo @ np.linalg.solve(
        s_oo, x[0, observed] - means[0, observed]
    )
    cov_m = s_mm - s_mo @ np.linalg.solve(s_oo, s_mo.T)
    draws = rng.multivariate_normal(mean_m, cov_m, size=200_000)
    completed = np.column_stack([np.full(len(draws), 0.5), draws])
    np.testing.assert_allclose(stats_.mean[0], completed.mean(axis=0), atol=0.01)
    # one row: the scatter about its own mean is the conditional covariance
    np.testing.assert_allclose(
        stats_.scatter[0], np.cov(completed.T, bias=True), atol=0.02
    )


def _observed_log_likelihood(X, mean, covariance):
    return marginal_log_prob(X, mean[None], covariance[None]).sum()


def test_one_component_em_reaches_the_direct_maximum_of_the_observed_likelihood():
    # Independent check: maximise the observed-data likelihood of one normal
    # directly with scipy.optimize (Cholesky parametrisation) and compare with EM.
    rng = np.random.RandomState(3)
    mean_true = np.array([1.0, -2.0, 0.5])
    cov_true = np.array([[2.0, 0.8, 0.3], [0.8, 1.0, -0.2], [0.3, -0.2, 0.5]])
    X = _with_holes(rng, rng.multivariate_normal(mean_true, cov_true, size=300), 0.3)
    X = X[~np.isnan(X).all(axis=1)]
    family = Gaussian("full", reg_covar=0.0)
    mean, cov = np.nanmean(X, axis=0), np.diag(np.nanvar(X, axis=0))
    previous = -np.inf
    for _ in range(500):
        stats_ = missing_statistics(
            X, np.ones((len(X), 1)), mean[None], cov[None], True
        )
        fitted = family.maximize(stats_)
        mean, cov = fitted.means[0], fitted.covariances[0]
        current = _observed_log_likelihood(X, mean, cov)
        assert current >= previous - 1e-9  # EM never decreases the likelihood
        if current - previous < 1e-12:
            break
        previous = current

    lower = np.tril_indices(3)

    def negative_log_likelihood(theta):
        factor = np.zeros((3, 3))
        factor[lower] = theta[3:]
        return -_observed_log_likelihood(
            X, theta[:3], factor @ factor.T + 1e-12 * np.eye(3)
        )

    start = np.concatenate(
        [
            np.nanmean(X, axis=0),
            np.linalg.cholesky(np.diag(np.nanvar(X, axis=0)))[lower],
        ]
    )
    direct = optimize.minimize(
        negative_log_likelihood, start, method="BFGS", options={"gtol": 1e-8}
    )
    assert -direct.fun == pytest.approx(current, abs=1e-6)
    np.testing.assert_allclose(mean, direct.x[:3], atol=1e-4)


@pytest.mark.parametrize("n_features", [3, 70])
def test_patterns_group_identical_masks_for_narrow_and_wide_data(n_features):
    rng = np.random.RandomState(4)
    X = rng.normal(size=(200, n_features))
    X[rng.uniform(size=X.shape) < 0.02] = np.nan
    patterns = missingness_patterns(X)
    masks = [tuple(observed) for _, observed in patterns]
    assert len(set(masks)) == len(masks)  # each mask once
    assert sum(len(rows) for rows, _ in patterns) == 200
    for rows, observed in patterns:
        assert (~np.isnan(X[rows]) == observed).all()


# -- the batched computation against a plain per-row reference ------------------


def _family_with_parameters(name, rng, n_features):
    """A Gaussian of structure ``name`` estimated from random weighted data."""
    X = rng.normal(scale=2.0, size=(200, n_features)) + rng.normal(size=n_features)
    resp = rng.dirichlet(np.ones(3), size=200)
    template = Gaussian(name)
    return template.maximize(template.statistics(X, resp))


def _structure_data(name, seed):
    """A family of structure ``name`` and data with many missingness patterns."""
    rng = np.random.RandomState(seed)
    n_features = 5
    try:
        Gaussian(name).structure.check_n_features(n_features)
    except ValueError:  # univariate structures: the only hole is the whole row
        n_features = 1
    family = _family_with_parameters(name, rng, n_features)
    X = _with_holes(rng, rng.normal(scale=3.0, size=(250, n_features)), 0.35)
    X[:3] = np.nan  # rows with nothing observed
    return family, X, rng


def _reference_log_prob(X, means, covariances):
    """Per row and component: scipy's density of the observed sub-vector."""
    log_prob = np.zeros((X.shape[0], means.shape[0]))
    for i, row in enumerate(X):
        observed = ~np.isnan(row)
        if observed.any():
            for k in range(means.shape[0]):
                log_prob[i, k] = stats.multivariate_normal(
                    means[k, observed], covariances[k][np.ix_(observed, observed)]
                ).logpdf(row[observed])
    return log_prob


def _reference_statistics(X, weights, means, covariances, full_scatter):
    """Per row: the conditional mean completion and covariance (regression form)."""
    n_components, n_features = means.shape
    resp_sum = weights.sum(axis=0)
    first = np.zeros((n_components, n_features))
    second = np.zeros((n_components, n_features, n_features))
    for i, row in enumerate(X):
        o, m = ~np.isnan(row), np.isnan(row)
        for k in range(n_components):
            S, completed = covariances[k], row.copy()
            conditional = S[np.ix_(m, m)].copy()
            if o.any() and m.any():
                gain = np.linalg.solve(S[np.ix_(o, o)], S[np.ix_(o, m)]).T
                completed[m] = means[k, m] + gain @ (row[o] - means[k, o])
                conditional -= gain @ S[np.ix_(o, m)]
            elif m.any():
                completed[m] = means[k, m]
            outer = np.outer(completed, completed)
            outer[np.ix_(m, m)] += conditional
            first[k] += weights[i, k] * completed
            second[k] += weights[i, k] * outer
    mean = first / resp_sum[:, None]
    scatter = second - resp_sum[:, None, None] * mean[:, :, None] * mean[:, None, :]
    if not full_scatter:
        scatter = np.diagonal(scatter, axis1=1, axis2=2)
    return resp_sum, mean, scatter


def _assert_stats_close(ours, resp_sum, mean, scatter):
    if ours.pooled:  # a tied family keeps the components' summed scatter
        scatter = scatter.sum(axis=0, keepdims=True)
    np.testing.assert_allclose(ours.resp_sum, resp_sum, rtol=1e-10)
    np.testing.assert_allclose(ours.mean, mean, rtol=1e-10, atol=1e-10)
    scale = np.abs(scatter).max()
    np.testing.assert_allclose(ours.scatter, scatter, rtol=1e-10, atol=1e-10 * scale)


@pytest.mark.parametrize("name", sorted(COVARIANCE_STRUCTURES))
def test_log_prob_equals_a_per_row_reference_for_every_structure(name):
    family, X, _ = _structure_data(name, seed=5)
    covariances = family._covariance_matrices()
    assert len(missingness_patterns(X)) > 1 or X.shape[1] == 1
    expected = _reference_log_prob(X, family.means, covariances)
    np.testing.assert_allclose(family.log_prob(X), expected, rtol=1e-10, atol=1e-10)
    # float32 data: computed in float64, returned in float32
    as_float32 = family.log_prob(X.astype(np.float32))
    assert as_float32.dtype == np.float32
    expected32 = _reference_log_prob(
        X.astype(np.float32).astype(np.float64), family.means, covariances
    )
    np.testing.assert_allclose(as_float32, expected32, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", sorted(COVARIANCE_STRUCTURES))
def test_statistics_equal_a_per_row_reference_for_every_structure(name):
    family, X, rng = _structure_data(name, seed=6)
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    sample_weight = rng.uniform(0.5, 2.0, size=X.shape[0])
    expected = _reference_statistics(
        X,
        resp * sample_weight[:, None],
        family.means,
        family._covariance_matrices(),
        family.structure.full_scatter,
    )
    _assert_stats_close(family.statistics(X, resp, sample_weight), *expected)


@pytest.mark.parametrize("name", sorted(COVARIANCE_STRUCTURES))
def test_fused_e_step_with_holes_equals_a_per_row_reference(name):
    # the fused path shares one completion between the E-step and the M-step
    family, X, rng = _structure_data(name, seed=7)
    log_weights = np.log(rng.dirichlet(np.ones(3)))
    sample_weight = rng.uniform(0.5, 2.0, size=X.shape[0])
    covariances = family._covariance_matrices()
    joint = _reference_log_prob(X, family.means, covariances) + log_weights
    log_density = special.logsumexp(joint, axis=1)
    resp = np.exp(joint - log_density[:, None])
    ours, log_likelihood = family.fused_statistics(X, log_weights, sample_weight)
    assert log_likelihood == pytest.approx(log_density @ sample_weight, rel=1e-10)
    expected = _reference_statistics(
        X,
        resp * sample_weight[:, None],
        family.means,
        covariances,
        family.structure.full_scatter,
    )
    _assert_stats_close(ours, *expected)


def test_cached_pattern_factors_are_reused_and_equal_fresh_ones():
    # chunks of one family share the patterns' factors; a second chunk's result
    # must not depend on what the first one cached
    family, X, _ = _structure_data("full", seed=8)
    first, second = X[:120], X[120:]
    fresh = Gaussian("full", means=family.means, covariances=family.covariances)
    family.log_prob(first)
    np.testing.assert_allclose(
        family.log_prob(second), fresh.log_prob(second), rtol=1e-13
    )
