"""StudentMixture(missing='em'): ECM over missing entries.

The family's numerics with holes (against scipy's t marginals, a per-row
reference of the statistics and a direct maximisation) are tested in
``tests/families/test_student_missing.py``; here the estimator: parameter
recovery with entries missing at random, a never-decreasing bound, the
Gaussian limit, the data seam, and bad input.
"""

import copy
import warnings

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from mixtura import DataValidationError, GaussianMixture, MixtureModel, StudentMixture
from mixtura.exceptions import ConvergenceWarning

MEANS = np.array([[0.0, 0.0, 0.0, 0.0], [6.0, -4.0, 5.0, 3.0], [-5.0, 6.0, -3.0, 4.0]])
DF = np.array([3.0, 6.0, 20.0])


def _simulate(n=4500, seed=0, diagonal=False):
    """Rows of a 3-component t mixture in 4 dimensions, correlated scales."""
    rng = np.random.RandomState(seed)
    A = rng.normal(size=(3, 4, 4))
    scales = A @ np.swapaxes(A, 1, 2) / 4 + 0.5 * np.eye(4)
    if diagonal:
        scales = scales * np.eye(4)
    labels = rng.randint(3, size=n)
    z = np.einsum(
        "nij,nj->ni", np.linalg.cholesky(scales)[labels], rng.normal(size=(n, 4))
    )
    u = rng.chisquare(DF[labels]) / DF[labels]
    return MEANS[labels] + z / np.sqrt(u)[:, None], scales, labels


def _mcar(X, fraction, seed=1):
    rng = np.random.RandomState(seed)
    holes = X.copy()
    holes[rng.uniform(size=X.shape) < fraction] = np.nan
    return holes


def _matched(model, truth):
    """Fitted component index of each true mean."""
    return [int(np.argmin(((model.means_ - m) ** 2).sum(axis=1))) for m in truth]


# -- (3) parameter recovery and a bound that never decreases ---------------------
@pytest.mark.filterwarnings("ignore:.*nothing observed")
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_ecm_with_15_percent_missing_recovers_means_and_degrees_of_freedom(
    covariance_type,
):
    # data of the fitted structure (a diagonal fit of correlated clusters
    # reads the misfit as heavier tails)
    X, scales, _ = _simulate(diagonal=covariance_type == "diag")
    holes = _mcar(X, 0.15)
    kwargs = {
        "covariance_type": covariance_type,
        "tol": 1e-7,
        "max_iter": 500,
        "random_state": 0,
    }
    model = StudentMixture(3, missing="em", **kwargs).fit(holes)
    bounds = np.array(model.lower_bounds_)
    assert len(bounds) > 5
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))
    # the bound is the observed-data log-likelihood at the last E-step
    assert model.score(holes) >= bounds[-1] - 1e-9
    order = _matched(model, MEANS)
    assert sorted(order) == [0, 1, 2]
    means, df = model.means_[order], model.degrees_of_freedom_[order]
    # the same data without holes: what 15% missing costs on top of sampling
    complete = StudentMixture(3, **kwargs).fit(X)
    full_order = _matched(complete, MEANS)
    mean_errors = np.linalg.norm(means - MEANS, axis=1)
    complete_errors = np.linalg.norm(complete.means_[full_order] - MEANS, axis=1)
    shift = np.linalg.norm(means - complete.means_[full_order], axis=1)
    print(
        f"\n{covariance_type}: mean errors {mean_errors} (complete data "
        f"{complete_errors}), shift from the complete-data fit {shift}; df {df} "
        f"(complete data {complete.degrees_of_freedom_[full_order]}, true {DF})"
    )
    assert mean_errors.max() < 0.2
    assert shift.max() < 0.06
    # heavy, medium and light tails told apart, each within a sensible range
    assert 2.0 < df[0] < 4.5
    assert 3.5 < df[1] < 12.0
    assert df[2] > 8.0
    assert df[0] < df[1] < df[2]
    if covariance_type == "full":
        scale_errors = np.linalg.norm(model.scales_[order] - scales, axis=(1, 2))
        relative = scale_errors / np.linalg.norm(scales, axis=(1, 2))
        print(f"relative scale errors {relative}")
        assert relative.max() < 0.15


def test_ecm_through_holes_beats_the_complete_cases():
    X, *_ = _simulate()
    holes = _mcar(X, 0.2)
    kwargs = {"tol": 1e-6, "max_iter": 500, "random_state": 0}
    em = StudentMixture(3, missing="em", **kwargs).fit(holes)
    complete_rows = ~np.isnan(holes).any(axis=1)
    complete = StudentMixture(3, **kwargs).fit(holes[complete_rows])
    errors = [
        np.linalg.norm(model.means_[_matched(model, MEANS)] - MEANS, axis=1).mean()
        for model in (em, complete)
    ]
    print(f"\nmean errors: em {errors[0]:.4f}, complete-case {errors[1]:.4f}")
    assert errors[0] < errors[1]


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_without_nan_missing_em_is_exactly_the_ordinary_fit(covariance_type):
    X, *_ = _simulate(n=900)
    kwargs = {"covariance_type": covariance_type, "random_state": 0, "max_iter": 30}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = StudentMixture(3, **kwargs).fit(X)
        b = StudentMixture(3, missing="em", **kwargs).fit(X)
    assert a.n_iter_ == b.n_iter_
    assert a.lower_bounds_ == b.lower_bounds_
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.scales_, b.scales_)
    np.testing.assert_array_equal(a.degrees_of_freedom_, b.degrees_of_freedom_)


# -- (4) the Gaussian limit --------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_large_degrees_of_freedom_give_the_gaussian_missing_value_em(covariance_type):
    # nu = 1e6, fixed: the t's log density is the Gaussian's to within
    # ~d^2 / nu per row and its outlier weights are 1 to within ~d / nu, so
    # from the same partition both fits take the same path through the holes
    rng = np.random.RandomState(2)
    X = np.vstack([rng.normal(size=(400, 4)), rng.normal(size=(400, 4)) + 4.0])
    holes = _mcar(X, 0.2)
    labels = (np.arange(800) >= 400).astype(int)
    kwargs = {
        "covariance_type": covariance_type,
        "missing": "em",
        "init_params": labels,
        "tol": 0.0,
        "max_iter": 15,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gaussian = GaussianMixture(2, **kwargs).fit(holes)
        student = StudentMixture(2, df_update="fixed", df_init=1e6, **kwargs).fit(holes)
    difference = np.abs(np.subtract(student.lower_bounds_, gaussian.lower_bounds_))
    print(f"\n{covariance_type}: largest bound difference {difference.max():.2e}")
    assert difference.max() < 1e-5
    np.testing.assert_allclose(student.means_, gaussian.means_, atol=1e-4)
    np.testing.assert_allclose(student.scales_, gaussian.covariances_, atol=1e-4)


# -- the data seam -------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:.*nothing observed")
def test_dask_fit_with_missing_entries_equals_the_in_memory_fit():
    # from the same fitted start (the first M-step of a partition fills holes
    # with each block's column means, as the Gaussian's does)
    da = pytest.importorskip("dask.array")
    X = _mcar(_simulate(n=1200)[0], 0.2)
    start = StudentMixture(3, missing="em", max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X)
        fits = []
        for data in (X, da.from_array(X, chunks=(250, 4))):
            model = copy.deepcopy(start).set_params(
                warm_start=True, max_iter=10, tol=0.0
            )
            fits.append(model.fit(data))
    memory, lazy = fits
    np.testing.assert_allclose(lazy.lower_bounds_, memory.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(lazy.means_, memory.means_, rtol=1e-8, atol=1e-10)


@pytest.mark.filterwarnings("ignore:.*nothing observed")
def test_partial_fit_and_mixture_model_take_rows_with_missing_entries():
    X = _mcar(_simulate(n=3000)[0], 0.15)
    online = StudentMixture(3, missing="em", random_state=0)
    for batch in np.array_split(X, 10):
        online.partial_fit(batch)
    fitted = StudentMixture(3, missing="em", random_state=0).fit(X)
    assert np.isfinite(online.score(X))
    assert online.score(X) == pytest.approx(fitted.score(X), rel=0.02)
    generic = MixtureModel(3, family="student_t", missing="em", random_state=0).fit(X)
    assert generic.lower_bound_ == pytest.approx(fitted.lower_bound_, rel=1e-10)


# -- (5) bad input -------------------------------------------------------------------
def test_nan_without_missing_em_keeps_the_clear_error():
    X = _mcar(_simulate(n=100)[0], 0.1)
    with pytest.raises(DataValidationError, match=r"NaN in column .*missing='em'"):
        StudentMixture(2).fit(X)


def test_an_unknown_missing_option_is_refused():
    with pytest.raises(InvalidParameterError, match="'missing' parameter"):
        StudentMixture(2, missing="drop").fit(_simulate(n=100)[0])


def test_an_entirely_missing_column_is_an_error():
    X, *_ = _simulate(n=100)
    X[:, 2] = np.nan
    with pytest.raises(DataValidationError, match="column 2 is entirely missing"):
        StudentMixture(2, missing="em").fit(X)


def test_infinity_is_still_an_error_with_missing_em():
    X, *_ = _simulate(n=100)
    X[3, 1] = np.inf
    with pytest.raises(DataValidationError, match="infinity in column 1"):
        StudentMixture(2, missing="em").fit(X)


def test_a_row_with_nothing_observed_is_fitted_and_predicted_with_a_warning():
    # as for GaussianMixture: an all-NaN row is no error; it carries no
    # information (density 1, outlier weight 1) and predicts the mixing weights
    X = _mcar(_simulate(n=600)[0], 0.1)
    X[:5] = np.nan
    model = StudentMixture(3, missing="em", random_state=0).fit(X)
    assert np.isfinite(model.lower_bound_)
    empty = np.full((1, 4), np.nan)
    with pytest.warns(UserWarning, match="nothing observed"):
        proba = model.predict_proba(empty)
    np.testing.assert_allclose(proba[0], model.weights_, rtol=1e-12)
    with pytest.warns(UserWarning, match="nothing observed"):
        weights = model.outlier_weights(empty)
    np.testing.assert_array_equal(weights, 1.0)
