"""StudentMixture.impute: conditional-t completions of missing entries (NaN).

References are independent of the code under test: scipy.stats' multivariate
and univariate t (the conditional density as the joint over the marginal, the
memberships from the observed block's marginal t), and Kolmogorov-Smirnov
against scipy's t for the drawn completions.
"""

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import NotFittedError

from mixtura import DataValidationError, StudentMixture
from mixtura.families.student_missing import conditional_t

MEANS = np.array([[0.0, 0.0, 0.0], [5.0, -4.0, 3.0]])
DF = np.array([4.0, 9.0])


def _simulate(n=1500, seed=0):
    rng = np.random.RandomState(seed)
    A = rng.normal(size=(2, 3, 3))
    scales = A @ np.swapaxes(A, 1, 2) / 3 + 0.5 * np.eye(3)
    labels = rng.randint(2, size=n)
    z = np.einsum(
        "nij,nj->ni", np.linalg.cholesky(scales)[labels], rng.normal(size=(n, 3))
    )
    u = rng.chisquare(DF[labels]) / DF[labels]
    return MEANS[labels] + z / np.sqrt(u)[:, None]


@pytest.fixture(scope="module")
def fitted():
    X = _simulate()
    holes = X.copy()
    holes[np.random.RandomState(1).uniform(size=X.shape) < 0.15] = np.nan
    holes[np.isnan(holes).all(axis=1), 0] = X[np.isnan(holes).all(axis=1), 0]
    model = StudentMixture(2, missing="em", random_state=0).fit(holes)
    return model, X, holes


def _by_hand(model, row):
    """Memberships and per-component conditional locations of one row (scipy)."""
    observed = ~np.isnan(row)
    log_w = []
    locations = []
    for k in range(model.n_components):
        mu, S, nu = model.means_[k], model.scales_[k], model.degrees_of_freedom_[k]
        o, m = observed, ~observed
        log_w.append(
            np.log(model.weights_[k])
            + stats.multivariate_t(mu[o], S[np.ix_(o, o)], df=nu).logpdf(row[o])
        )
        beta = S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)])
        locations.append(mu[m] + beta @ (row[o] - mu[o]))
    log_w = np.array(log_w)
    return np.exp(log_w - np.logaddexp.reduce(log_w)), np.array(locations)


# -- the conditional t in closed form --------------------------------------------
@pytest.mark.parametrize("observed", [[True, False, False], [True, False, True]])
def test_conditional_t_density_is_the_joint_over_the_observed_marginal(observed):
    rng = np.random.RandomState(3)
    A = rng.normal(size=(3, 3))
    scale = A @ A.T + 0.3 * np.eye(3)
    mu, nu = np.array([1.0, -2.0, 0.5]), 3.5
    observed = np.array(observed)
    o, m = observed, ~observed
    X = stats.multivariate_t(mu, scale, df=nu).rvs(size=5, random_state=rng)
    completed, cond_scale, row_scales, cond_df = conditional_t(
        np.where(observed, X, np.nan), observed, mu[None], scale[None], np.array([nu])
    )
    np.testing.assert_allclose(cond_df, nu + o.sum())
    joint = stats.multivariate_t(mu, scale, df=nu).logpdf(X)
    marginal = stats.multivariate_t(mu[o], scale[np.ix_(o, o)], df=nu).logpdf(X[:, o])
    for i in range(X.shape[0]):
        conditional = stats.multivariate_t(
            completed[0, i, m], row_scales[0, i] * cond_scale[0], df=cond_df[0]
        ).logpdf(X[i, m])
        np.testing.assert_allclose(conditional, joint[i] - marginal[i], rtol=1e-10)


def test_drawn_completions_follow_the_conditional_t_of_scipy():
    # one component with heavy tails (nu about 3, so that nu + p_o = 5 is far
    # from nu): x_1 | x_0, x_2 is a univariate t; Kolmogorov-Smirnov
    rng = np.random.RandomState(4)
    scale = np.array([[2.0, 0.8, 0.3], [0.8, 1.0, -0.4], [0.3, -0.4, 1.5]])
    X = stats.multivariate_t(MEANS[1], scale, df=3.0).rvs(3000, random_state=rng)
    model = StudentMixture(1, random_state=0).fit(X)
    assert 2.0 < model.degrees_of_freedom_[0] < 4.5
    row = np.array([[1.5, np.nan, -0.7]])
    draws = model.impute(row, n_imputations=20000, random_state=0)[:, 0, 1]
    mu, S, nu = model.means_[0], model.scales_[0], model.degrees_of_freedom_[0]
    o = np.array([0, 2])
    inv = np.linalg.inv(S[np.ix_(o, o)])
    dev = row[0, o] - mu[o]
    delta = dev @ inv @ dev
    location = mu[1] + S[1, o] @ inv @ dev
    variance = (nu + delta) / (nu + 2) * (S[1, 1] - S[1, o] @ inv @ S[o, 1])
    reference = stats.t(df=nu + 2, loc=location, scale=np.sqrt(variance))
    assert stats.kstest(draws, reference.cdf).pvalue > 1e-3
    # a Gaussian of the same location and scale is rejected: the test has power
    # (heavier tails show in the 1% quantiles)
    gauss = stats.norm(location, np.sqrt(variance))
    assert np.quantile(np.abs(draws - location), 0.99) > 1.1 * (
        gauss.ppf(0.995) - location
    )


# -- single and multiple imputation of a fitted mixture ---------------------------
def test_imputed_values_are_the_conditional_means(fitted):
    model, _, holes = fitted
    filled = model.impute(holes)
    observed = ~np.isnan(holes)
    np.testing.assert_array_equal(filled[observed], holes[observed])
    for i in np.flatnonzero(~observed.all(axis=1))[:40]:
        resp, locations = _by_hand(model, holes[i])
        np.testing.assert_allclose(
            filled[i, ~observed[i]], resp @ locations, rtol=1e-9, atol=1e-9
        )


def test_conditional_means_beat_column_means_at_the_hidden_values(fitted):
    model, X, holes = fitted
    hidden = np.isnan(holes)
    filled = model.impute(holes)
    column = np.broadcast_to(np.nanmean(holes, axis=0), X.shape)
    assert (
        np.abs(filled[hidden] - X[hidden]).mean()
        < 0.7 * np.abs(column[hidden] - X[hidden]).mean()
    )


def test_draws_keep_the_observed_entries_and_average_to_the_conditional_mean(
    fitted,
):
    model, _, holes = fitted
    rows = holes[np.isnan(holes).any(axis=1)][:30]
    draws = model.impute(rows, n_imputations=4000, random_state=0)
    assert draws.shape == (4000, *rows.shape)
    hidden = np.isnan(rows)
    np.testing.assert_array_equal(
        draws[:, ~hidden], np.broadcast_to(rows[~hidden], (4000, (~hidden).sum()))
    )
    assert not np.allclose(draws[0][hidden], draws[1][hidden])
    # within 5 Monte Carlo standard errors (heavy tails: median absolute check)
    errors = draws.mean(axis=0)[hidden] - model.impute(rows)[hidden]
    standard_errors = draws.std(axis=0)[hidden] / np.sqrt(4000)
    assert np.median(np.abs(errors) / standard_errors) < 2.0
    assert (np.abs(errors) < 5 * standard_errors).mean() > 0.95
    # the same seed gives the same draws
    again = model.impute(rows, n_imputations=4000, random_state=0)
    np.testing.assert_array_equal(draws, again)


def test_rows_without_nan_come_back_unchanged(fitted):
    model, X, _ = fitted
    np.testing.assert_array_equal(model.impute(X[:10]), X[:10])
    assert model.impute(X[:10], n_imputations=2, random_state=0).shape == (2, 10, 3)


# -- bad input ----------------------------------------------------------------------
def test_an_unfitted_model_is_refused():
    with pytest.raises(NotFittedError, match="not fitted"):
        StudentMixture(2).impute(np.array([[1.0, np.nan, 0.0]]))


def test_a_wrong_feature_count_is_refused_and_the_model_unchanged(fitted):
    model, _, _ = fitted
    means = model.means_.copy()
    with pytest.raises(ValueError, match="3 features"):
        model.impute(np.array([[1.0, np.nan]]))
    np.testing.assert_array_equal(model.means_, means)


def test_infinity_is_refused(fitted):
    model, _, _ = fitted
    with pytest.raises(DataValidationError, match="infinity"):
        model.impute(np.array([[np.inf, np.nan, 0.0]]))
