"""Missing-data Gaussian math: marginal densities and conditional EM statistics."""

import numpy as np
import pytest
from scipy import optimize, stats

from mixtura.families import Gaussian
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
