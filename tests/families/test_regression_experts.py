"""The conditional families (regression experts) against independent references.

Log densities against scipy.stats; the Gaussian expert's M-step against
weighted least squares and scikit-learn's Ridge; the generalised linear
experts' M-step, iterated at fixed responsibilities, against scikit-learn's
LogisticRegression and PoissonRegressor fitted with the responsibilities as
sample weights; statistics additivity over row splits.
"""

import numpy as np
import pytest
import scipy.stats
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.linear_model import PoissonRegressor, Ridge

from mixtura.exceptions import DataValidationError, SingularCovarianceError
from mixtura.families import (
    FAMILIES,
    GaussianRegression,
    LogisticRegression,
    PoissonRegression,
)
from mixtura.families._glm import newton_solve
from mixtura.families.conditional import RowLayout

K, P = 3, 2


@pytest.fixture
def rng():
    return np.random.RandomState(0)


def _inputs(rng, n=300):
    return rng.normal(size=(n, P))


def _resp(rng, n):
    resp = rng.uniform(size=(n, K))
    return resp / resp.sum(axis=1, keepdims=True)


def _gaussian(rng, q=1, **options):
    layout = RowLayout(P, q)
    a = rng.normal(size=(q, q))
    return GaussianRegression(
        layout,
        coefficients=rng.normal(size=(K, P, q)),
        intercepts=rng.normal(size=(K, q)),
        noise_covariances=np.stack([a @ a.T + (k + 1) * np.eye(q) for k in range(K)]),
        **options,
    )


def _logistic(rng, n_classes=2):
    return LogisticRegression(
        RowLayout(P, 1),
        n_classes,
        coefficients=rng.normal(size=(K, P + 1, n_classes - 1)),
    )


def _poisson(rng, offset=False):
    return PoissonRegression(
        RowLayout(P, 1, offset), coefficients=0.3 * rng.normal(size=(K, P + 1))
    )


def test_layout_round_trip(rng):
    layout = RowLayout(3, 2, True)
    x, y, o = rng.normal(size=(5, 3)), rng.normal(size=(5, 2)), rng.normal(size=5)
    rows = layout.join(x, y, o)
    assert rows.shape == (5, layout.width) == (5, 6)
    np.testing.assert_array_equal(layout.inputs(rows), x)
    np.testing.assert_array_equal(layout.responses(rows), y)
    np.testing.assert_array_equal(layout.offsets(rows), o)
    assert RowLayout.from_config(layout.config()) == layout


def test_experts_are_registered_as_conditional():
    for cls in (GaussianRegression, LogisticRegression, PoissonRegression):
        assert FAMILIES[cls.name] is cls
        assert cls.conditional
    assert not FAMILIES["gaussian"].conditional


@pytest.mark.parametrize("q", [1, 2])
def test_gaussian_log_prob_matches_scipy(rng, q):
    family = _gaussian(rng, q)
    x = _inputs(rng, 20)
    y = rng.normal(size=(20, q))
    rows = family.layout.join(x, y)
    expected = np.column_stack(
        [
            scipy.stats.multivariate_normal(cov=family.noise_covariances[k]).logpdf(
                y - (x @ family.coefficients[k] + family.intercepts[k])
            )
            for k in range(K)
        ]
    )
    np.testing.assert_allclose(
        family.log_prob(rows), expected.reshape(20, K), rtol=1e-12
    )


@pytest.mark.parametrize("n_classes", [2, 4])
def test_logistic_log_prob_matches_softmax(rng, n_classes):
    family = _logistic(rng, n_classes)
    x = _inputs(rng, 30)
    codes = rng.randint(n_classes, size=30)
    rows = family.layout.join(x, codes)
    design = np.column_stack([x, np.ones(30)])
    for k in range(K):
        logits = np.column_stack([np.zeros(30), design @ family.coefficients[k]])
        expected = scipy.special.log_softmax(logits, axis=1)[np.arange(30), codes]
        np.testing.assert_allclose(family.log_prob(rows)[:, k], expected, rtol=1e-12)


def test_poisson_log_prob_matches_scipy(rng):
    family = _poisson(rng, offset=True)
    x = _inputs(rng, 30)
    offset = rng.normal(size=30)
    counts = rng.poisson(3, size=30)
    rows = family.layout.join(x, counts, offset)
    design = np.column_stack([x, np.ones(30)])
    for k in range(K):
        mean = np.exp(design @ family.coefficients[k] + offset)
        np.testing.assert_allclose(
            family.log_prob(rows)[:, k],
            scipy.stats.poisson(mean).logpmf(counts),
            rtol=1e-12,
        )


def _rows_for(family, rng, n=300):
    x = _inputs(rng, n)
    labels = rng.randint(K, size=n)
    offset = rng.normal(scale=0.2, size=n) if family.layout.offset else None
    blank = family.layout.join(x, np.zeros((n, family.layout.n_outputs)), offset)
    y = family.sample_responses(blank, labels, rng)
    return family.layout.join(x, y, offset)


@pytest.mark.parametrize(
    "make", [_gaussian, _logistic, _poisson, lambda r: _poisson(r, True)]
)
def test_statistics_add_over_row_splits(rng, make):
    family = make(rng)
    rows = _rows_for(family, rng)
    resp = _resp(rng, len(rows))
    weights = rng.uniform(0.5, 2, size=len(rows))
    whole = family.statistics(rows, resp, weights)
    parts = family.statistics(
        rows[:100], resp[:100], weights[:100]
    ) + family.statistics(rows[100:], resp[100:], weights[100:])
    np.testing.assert_allclose(parts.resp_sum, whole.resp_sum, rtol=1e-12)
    a, b = family.maximize(whole).arrays(), family.maximize(parts).arrays()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-12)


def test_gaussian_maximize_is_weighted_least_squares(rng):
    family = _gaussian(rng)
    rows = _rows_for(family, rng)
    resp = _resp(rng, len(rows))
    fitted = family.maximize(family.statistics(rows, resp))
    x, y = rows[:, :P], rows[:, P]
    design = np.column_stack([x, np.ones(len(x))])
    for k in range(K):
        root = np.sqrt(resp[:, k])
        beta = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
        np.testing.assert_allclose(fitted.coefficients[k, :, 0], beta[:P], rtol=1e-9)
        np.testing.assert_allclose(fitted.intercepts[k, 0], beta[P], rtol=1e-9)
        rss = (resp[:, k] * (y - design @ beta) ** 2).sum() / resp[:, k].sum()
        # the exact maximum-likelihood variance (RSS / N_k), plus reg_covar
        np.testing.assert_allclose(
            fitted.noise_covariances[k, 0, 0], rss + family.reg_covar, rtol=1e-9
        )


def test_gaussian_shared_noise_pools_the_residuals(rng):
    family = _gaussian(rng, noise="shared", reg_covar=0.0)
    rows = _rows_for(family, rng)
    resp = _resp(rng, len(rows))
    fitted = family.maximize(family.statistics(rows, resp))
    residual = rows[:, P][:, None] - fitted.mean_response(rows)[:, :, 0]
    pooled = (resp * residual**2).sum() / resp.sum()
    np.testing.assert_allclose(fitted.noise_covariances[:, 0, 0], pooled, rtol=1e-9)


def test_gaussian_penalty_matches_ridge(rng):
    family = GaussianRegression(RowLayout(P, 1), alpha=2.5)
    rows = _rows_for(_gaussian(rng), rng)
    resp = _resp(rng, len(rows))
    fitted = family.maximize(family.statistics(rows, resp))
    for k in range(K):
        ridge = Ridge(alpha=2.5).fit(rows[:, :P], rows[:, P], sample_weight=resp[:, k])
        np.testing.assert_allclose(fitted.coefficients[k, :, 0], ridge.coef_, rtol=1e-8)
        np.testing.assert_allclose(fitted.intercepts[k, 0], ridge.intercept_, rtol=1e-8)


def _iterate(template, rows, resp, steps=50):
    family = template.maximize(template.statistics(rows, resp))
    for _ in range(steps):
        family = family.maximize(family.statistics(rows, resp))
    return family


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_newton_converges_to_sklearn(rng, n_classes):
    truth = _logistic(rng, n_classes)
    rows = _rows_for(truth, rng, 600)
    resp = _resp(rng, len(rows))
    fitted = _iterate(LogisticRegression(RowLayout(P, 1), n_classes), rows, resp)
    codes = rows[:, P].astype(int)
    for k in range(K):
        sk = SkLogistic(C=np.inf, tol=1e-12, max_iter=10_000)
        sk.fit(rows[:, :P], codes, sample_weight=resp[:, k])
        np.testing.assert_allclose(
            fitted.mean_response(rows)[:, k], sk.predict_proba(rows[:, :P]), atol=1e-6
        )


def test_poisson_newton_converges_to_sklearn_with_penalty(rng):
    truth = _poisson(rng)
    rows = _rows_for(truth, rng, 600)
    resp = _resp(rng, len(rows))
    alpha = 0.05
    for k in range(K):
        # scikit-learn's objective is the mean deviance / 2 + alpha / 2 |b|^2:
        # the sum's penalty is alpha times the total weight
        template = PoissonRegression(RowLayout(P, 1), alpha=alpha * resp[:, k].sum())
        fitted = _iterate(template, rows, resp[:, [k]])
        sk = PoissonRegressor(alpha=alpha, tol=1e-12, max_iter=10_000)
        sk.fit(rows[:, :P], rows[:, P], sample_weight=resp[:, k])
        np.testing.assert_allclose(fitted.coefficients[0, :P], sk.coef_, rtol=1e-6)
        np.testing.assert_allclose(fitted.coefficients[0, P], sk.intercept_, rtol=1e-6)


def test_poisson_offset_is_an_exposure(rng):
    # doubling every exposure adds log 2 to the intercept and nothing else
    truth = _poisson(rng, offset=True)
    rows = _rows_for(truth, rng, 600)
    resp = _resp(rng, len(rows))
    template = PoissonRegression(RowLayout(P, 1, True))
    base = _iterate(template, rows, resp)
    shifted = rows.copy()
    shifted[:, -1] += np.log(2)
    moved = _iterate(template, shifted, resp)
    np.testing.assert_allclose(
        moved.coefficients[:, :P], base.coefficients[:, :P], atol=1e-9
    )
    np.testing.assert_allclose(
        moved.coefficients[:, P], base.coefficients[:, P] - np.log(2), atol=1e-9
    )


@pytest.mark.parametrize("make", [_gaussian, _logistic, _poisson])
def test_model_file_arrays_round_trip(rng, make):
    family = make(rng)
    rebuilt = type(family).from_arrays(family.config(), family.arrays())
    rows = _rows_for(family, rng, 50)
    np.testing.assert_array_equal(rebuilt.log_prob(rows), family.log_prob(rows))


def test_from_arrays_refuses_edited_shapes(rng):
    family = _gaussian(rng)
    arrays = dict(family.arrays(), coefficients=np.zeros((K, P + 1, 1)))
    with pytest.raises(DataValidationError, match="coefficients"):
        GaussianRegression.from_arrays(family.config(), arrays)


def test_response_checks(rng):
    poisson = PoissonRegression(RowLayout(P, 1))
    with pytest.raises(DataValidationError, match="non-negative integer"):
        poisson.check_rows(poisson.layout.join(_inputs(rng, 3), [1, -1, 2]))
    with pytest.raises(DataValidationError, match="non-negative integer"):
        poisson.check_rows(poisson.layout.join(_inputs(rng, 3), [1, 0.5, 2]))
    logistic = LogisticRegression(RowLayout(P, 1), 2)
    with pytest.raises(DataValidationError, match="not one of the 2 classes"):
        logistic.check_rows(logistic.layout.join(_inputs(rng, 3), [0, 1, 2]))
    gaussian = GaussianRegression(RowLayout(P, 1))
    with pytest.raises(DataValidationError, match="NaN"):
        gaussian.check_rows(gaussian.layout.join(_inputs(rng, 3), [0, np.nan, 2]))


def test_expert_without_rows_keeps_finite_coefficients(rng):
    # as an empty Gaussian component keeps the regularised covariance: the
    # jittered system of an expert with no rows gives coefficients 0
    family = LogisticRegression(RowLayout(P, 1), 2)
    rows = _rows_for(_logistic(rng), rng, 50)
    resp = np.zeros((50, 2))
    resp[:, 0] = 1.0
    fitted = family.maximize(family.statistics(rows, resp))
    np.testing.assert_array_equal(fitted.coefficients[1], 0.0)
    assert np.isfinite(fitted.coefficients).all()


def test_singular_system_names_the_expert():
    hessian = np.stack([np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])])
    with pytest.raises(SingularCovarianceError) as error:
        newton_solve(hessian, np.ones((2, 2)), np.zeros(2))
    assert error.value.components == (1,)


def test_sampling_moments(rng):
    family = _gaussian(rng)
    x = np.tile(_inputs(rng, 1), (20000, 1))
    labels = np.zeros(20000, dtype=int)
    rows = family.layout.join(x, np.zeros((20000, 1)))
    draws = family.sample_responses(rows, labels, rng)[:, 0]
    mean = x[0] @ family.coefficients[0, :, 0] + family.intercepts[0, 0]
    sd = np.sqrt(family.noise_covariances[0, 0, 0])
    assert abs(draws.mean() - mean) < 5 * sd / np.sqrt(20000)
    assert abs(draws.std() / sd - 1) < 0.03
