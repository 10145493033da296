"""GaussianMixture(missing='em'): EM over missing entries, every structure."""

import warnings

import numpy as np
import pytest
from scipy import stats

from mixtura import DataValidationError, GaussianMixture
from mixtura.exceptions import ConvergenceWarning

STRUCTURES = ["full", "tied", "diag", "spherical"]


def _simulate(n=5000, d=6, K=3, seed=0):
    rng = np.random.RandomState(seed)
    means = rng.normal(scale=4.0, size=(K, d))
    A = rng.normal(size=(K, d, d))
    covariances = A @ np.swapaxes(A, 1, 2) / d + 0.3 * np.eye(d)
    labels = rng.randint(K, size=n)
    noise = np.einsum(
        "nij,nj->ni", np.linalg.cholesky(covariances)[labels], rng.normal(size=(n, d))
    )
    return means[labels] + noise, means, covariances, labels


def _mcar(X, fraction, seed=1):
    rng = np.random.RandomState(seed)
    holes = X.copy()
    holes[rng.uniform(size=X.shape) < fraction] = np.nan
    return holes


def _matched_errors(model, means, covariances):
    """Mean error of means and covariances after matching components to the truth."""
    order = [int(np.argmin(((model.means_ - m) ** 2).sum(axis=1))) for m in means]
    fitted_cov = model._structure.matrices(
        model.covariances_, model.n_components, means.shape[1]
    )
    mean_error = np.mean(
        [np.linalg.norm(model.means_[j] - m) for j, m in zip(order, means, strict=True)]
    )
    cov_error = np.mean(
        [
            np.linalg.norm(fitted_cov[j] - c)
            for j, c in zip(order, covariances, strict=True)
        ]
    )
    return mean_error, cov_error


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_log_likelihood_never_decreases_with_30_percent_missing(covariance_type):
    X, *_ = _simulate(n=1500)
    holes = _mcar(X, 0.3)
    model = GaussianMixture(
        3,
        covariance_type=covariance_type,
        missing="em",
        tol=1e-8,
        max_iter=300,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(holes)
    bounds = np.array(model.lower_bounds_)
    assert len(bounds) > 3
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    # the bound is the observed-data log-likelihood: score of the training data
    # under the final parameters is at least the last bound
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rows with nothing observed
        assert model.score(holes) >= bounds[-1] - 1e-9


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_without_nan_missing_em_is_exactly_the_ordinary_fit(covariance_type):
    X, *_ = _simulate(n=800)
    a = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    b = GaussianMixture(
        3, covariance_type=covariance_type, missing="em", random_state=0
    ).fit(X)
    assert a.n_iter_ == b.n_iter_
    assert a.lower_bound_ == b.lower_bound_
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.covariances_, b.covariances_)


def test_score_samples_uses_the_marginal_density_of_observed_coordinates():
    X, *_ = _simulate(n=600)
    model = GaussianMixture(3, missing="em", random_state=0).fit(_mcar(X, 0.2))
    row = X[:1].copy()
    row[0, [1, 4]] = np.nan
    observed = ~np.isnan(row[0])
    expected = np.log(
        sum(
            w
            * stats.multivariate_normal(m[observed], c[np.ix_(observed, observed)]).pdf(
                row[0, observed]
            )
            for w, m, c in zip(
                model.weights_, model.means_, model.covariances_, strict=True
            )
        )
    )
    assert model.score_samples(row)[0] == pytest.approx(expected, rel=1e-10)


def test_a_row_with_nothing_observed_gets_the_weights_and_a_warning():
    X, *_ = _simulate(n=600)
    model = GaussianMixture(3, missing="em", random_state=0).fit(_mcar(X, 0.2))
    empty = np.full((1, X.shape[1]), np.nan)
    with pytest.warns(UserWarning, match="nothing observed"):
        proba = model.predict_proba(empty)
    np.testing.assert_allclose(proba[0], model.weights_, rtol=1e-12)


def test_em_recovers_parameters_better_than_complete_cases_and_mean_imputation():
    X, means, covariances, _ = _simulate(n=5000, d=6, K=3)
    holes = _mcar(X, 0.3)
    kwargs = {"n_init": 3, "random_state": 0, "tol": 1e-6, "max_iter": 500}
    em = GaussianMixture(3, missing="em", **kwargs).fit(holes)
    complete_rows = ~np.isnan(holes).any(axis=1)
    complete = GaussianMixture(3, **kwargs).fit(holes[complete_rows])
    imputed = np.where(np.isnan(holes), np.nanmean(holes, axis=0), holes)
    mean_imputed = GaussianMixture(3, **kwargs).fit(imputed)
    errors = {
        "em": _matched_errors(em, means, covariances),
        "complete-case": _matched_errors(complete, means, covariances),
        "mean-imputation": _matched_errors(mean_imputed, means, covariances),
    }
    print("\n(mean error, covariance error):", errors)
    # 30% MCAR in 6 columns leaves ~12% complete rows (~590 of 5000)
    assert complete_rows.sum() < 800
    for other in ("complete-case", "mean-imputation"):
        assert errors["em"][0] < errors[other][0], errors
        assert errors["em"][1] < errors[other][1], errors


def test_impute_fills_only_the_holes_with_conditional_means():
    X, *_ = _simulate(n=1000)
    holes = _mcar(X, 0.2)
    model = GaussianMixture(3, missing="em", random_state=0).fit(holes)
    filled = model.impute(holes)
    observed = ~np.isnan(holes)
    np.testing.assert_array_equal(filled[observed], holes[observed])
    assert np.isfinite(filled).all()
    # conditional means beat column means at predicting the hidden values
    hidden = ~observed
    column_means = np.broadcast_to(np.nanmean(holes, axis=0), X.shape)
    assert (
        np.abs(filled[hidden] - X[hidden]).mean()
        < np.abs(column_means[hidden] - X[hidden]).mean()
    )


def test_multiple_imputation_draws_differ_and_average_to_the_conditional_mean():
    X, *_ = _simulate(n=300)
    holes = _mcar(X, 0.2)
    model = GaussianMixture(3, missing="em", random_state=0).fit(holes)
    draws = model.impute(holes, n_imputations=400, random_state=0)
    assert draws.shape == (400, *X.shape)
    hidden = np.isnan(holes)
    assert not np.allclose(draws[0][hidden], draws[1][hidden])
    np.testing.assert_array_equal(
        draws[:, ~hidden], np.broadcast_to(holes[~hidden], (400, (~hidden).sum()))
    )
    # the draws average to the single imputation, up to Monte Carlo error
    assert np.abs(draws.mean(axis=0)[hidden] - model.impute(holes)[hidden]).mean() < 0.1


def test_missing_error_mode_keeps_the_clear_error():
    X, *_ = _simulate(n=100)
    with pytest.raises(DataValidationError, match=r"NaN in column .*missing='em'"):
        GaussianMixture(2).fit(_mcar(X, 0.1))


def test_an_entirely_missing_column_is_an_error():
    X, *_ = _simulate(n=100)
    X[:, 2] = np.nan
    with pytest.raises(DataValidationError, match="column 2 is entirely missing"):
        GaussianMixture(2, missing="em").fit(X)


def test_infinity_is_still_an_error_with_missing_em():
    X, *_ = _simulate(n=100)
    X[3, 1] = np.inf
    with pytest.raises(DataValidationError, match="infinity in column 1"):
        GaussianMixture(2, missing="em").fit(X)


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_a_column_observed_in_very_few_rows_stays_regularised(covariance_type):
    # Column 2 is observed in 4 rows of 600: its variance rests on the prior's
    # regularisation (reg_covar) and the conditional covariance, which keep
    # every covariance positive definite instead of failing.
    X, *_ = _simulate(n=600, d=4)
    X[4:, 2] = np.nan
    model = GaussianMixture(
        3, covariance_type=covariance_type, missing="em", reg_covar=1e-3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    matrices = model._structure.matrices(model.covariances_, 3, 4)
    assert np.all(np.linalg.eigvalsh(matrices) > 0)
    assert np.isfinite(model.lower_bound_)


@pytest.mark.filterwarnings("ignore:.*nothing observed")
@pytest.mark.parametrize("covariance_type", ["full", "VEV"])
def test_dask_fit_with_missing_entries_equals_the_in_memory_fit(covariance_type):
    da = pytest.importorskip("dask.array")
    X = _mcar(_simulate(n=1200, d=4)[0], 0.2)
    start = GaussianMixture(3, missing="em", random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X)
    params = {
        "covariance_type": covariance_type,
        "missing": "em",
        "weights_init": start.weights_,
        "means_init": start.means_,
        "precisions_init": start.precisions_,
        "max_iter": 10,
        "tol": 0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        memory = GaussianMixture(3, **params).fit(X)
        lazy = GaussianMixture(3, **params).fit(da.from_array(X, chunks=(250, 4)))
    assert lazy.lower_bound_ == pytest.approx(memory.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(lazy.means_, memory.means_, rtol=1e-8)


@pytest.mark.filterwarnings("ignore:.*nothing observed")
def test_partial_fit_takes_batches_with_missing_entries():
    X = _mcar(_simulate(n=4000, d=4)[0], 0.2)
    online = GaussianMixture(3, missing="em", random_state=0)
    for batch in np.array_split(X, 20):
        online.partial_fit(batch)
    batch = GaussianMixture(3, missing="em", random_state=0).fit(X)
    assert np.isfinite(online.score(X))
    assert online.score(X) == pytest.approx(batch.score(X), rel=0.02)


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_variational_bound_never_decreases_with_30_percent_missing(covariance_type):
    from mixtura import BayesianGaussianMixture

    X = _mcar(_simulate(n=1500, d=4)[0], 0.3)
    bounds = []
    model = BayesianGaussianMixture(
        n_components=6,
        covariance_type=covariance_type,
        missing="em",
        random_state=0,
        max_iter=60,
        tol=0,
        callback=lambda info: bounds.append(info.lower_bound),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    bounds = np.array(bounds)
    assert len(bounds) == 60
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


def test_variational_fit_without_nan_is_unchanged_by_missing_em():
    from mixtura import BayesianGaussianMixture

    X = _simulate(n=600, d=3)[0]
    plain = BayesianGaussianMixture(n_components=4, random_state=0).fit(X)
    em = BayesianGaussianMixture(n_components=4, random_state=0, missing="em").fit(X)
    assert em.lower_bounds_ == plain.lower_bounds_
    np.testing.assert_array_equal(em.means_, plain.means_)


def test_variational_fit_with_holes_finds_the_clusters_and_agrees_with_em():
    from mixtura import BayesianGaussianMixture

    X, means, _, _ = _simulate(n=3000, d=4)
    holes = _mcar(X, 0.3)
    model = BayesianGaussianMixture(
        n_components=6, missing="em", random_state=0, max_iter=300, tol=1e-6
    ).fit(holes)
    # the Dirichlet process leaves three components (measured: 0.339, 0.337,
    # 0.324; the other three below 1e-3)
    assert np.sort(model.weights_)[-3:].sum() > 0.99
    em = GaussianMixture(3, missing="em", random_state=0).fit(holes)
    used = np.argsort(model.weights_)[-3:]
    for mean in em.means_:
        nearest = np.min(np.linalg.norm(model.means_[used] - mean, axis=1))
        assert nearest < 0.05
    for mean in means:
        assert np.min(np.linalg.norm(model.means_[used] - mean, axis=1)) < 0.3
