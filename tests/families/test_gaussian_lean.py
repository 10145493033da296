"""The lean Gaussian EM step against the chunked reference path.

The lean step (families/gaussian_lean.py) keeps parameters as arrays between
iterations; the chunked path (inference/data.py with the family's kernels)
builds a family per M-step. Both must give the same fit: same iterations, the
same bound at every iteration and the same parameters, to rounding.
"""

import warnings

import numpy as np
import pytest

from mixtura import GaussianMixture
from mixtura.exceptions import ConvergenceWarning
from mixtura.families.gaussian import Gaussian
from mixtura.families.gaussian_lean import LEAN_MAX_VALUES, LeanGaussianEM
from mixtura.families.mclust import MULTIVARIATE_MODELS, UNIVARIATE_MODELS
from mixtura.inference import ArrayData, em_stepper
from mixtura.inference.data import chunked_statistics
from mixtura.inference.em import em_step
from mixtura.inference.init import responsibilities_from_labels

# The two paths add the same terms in other orders (about a reference point
# that differs, with other products), so each bound differs by rounding: a few
# ulps of the summed log-likelihood, amplified a little over the iterations.
BOUND_TOLERANCE = 1e-10
PARAMETER_TOLERANCE = 1e-7


def _blobs(n_samples, n_features, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(3, n_features))
    labels = rng.integers(3, size=n_samples)
    scales = rng.uniform(0.5, 2.0, size=(3, 1))
    return (
        offset
        + centres[labels]
        + scales[labels] * rng.normal(size=(n_samples, n_features))
    )


def _fit(X, chunk_size=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(chunk_size=chunk_size, **params).fit(X)


def _assert_same_fit(lean, chunked):
    assert lean.n_iter_ == chunked.n_iter_
    assert lean.converged_ == chunked.converged_
    np.testing.assert_allclose(
        lean.lower_bounds_, chunked.lower_bounds_, rtol=0, atol=BOUND_TOLERANCE
    )
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(
            getattr(lean, name),
            getattr(chunked, name),
            rtol=PARAMETER_TOLERANCE,
            atol=PARAMETER_TOLERANCE,
            err_msg=name,
        )


def test_the_estimator_takes_the_lean_step_unless_chunks_are_asked_for():
    X = _blobs(200, 2)
    template = Gaussian("full")
    steps = em_stepper(ArrayData(X), template, 3)
    assert steps.step.__self__.__class__ is LeanGaussianEM
    steps = em_stepper(ArrayData(X, chunk_size=50), template, 3)
    assert steps.step is em_step
    assert steps.statistics is chunked_statistics


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("weighted", [False, True])
def test_initial_statistics_from_the_lean_rows_equal_the_chunked_ones(
    covariance_type, weighted
):
    # the initialisation's M-step reads the same statistics whichever path sums
    # them (hard k-means-like labels, and soft responsibilities)
    rng = np.random.default_rng(3)
    X = _blobs(240, 3, offset=50.0)
    weights = rng.uniform(0.2, 3.0, size=len(X)) if weighted else None
    data = ArrayData(X, weights)
    template = Gaussian(covariance_type)
    steps = em_stepper(data, template, 3)
    soft = rng.dirichlet(np.ones(3), size=len(X))
    for resp in (responsibilities_from_labels(rng.integers(3, size=len(X)), 3), soft):
        lean = steps.statistics(data, template, resp)
        chunked = chunked_statistics(data, template, resp)
        for name in ("resp_sum", "mean", "scatter"):
            np.testing.assert_allclose(
                getattr(lean, name), getattr(chunked, name), rtol=1e-10, atol=1e-9
            )
    # other rows (a sample for the initialisation) take the chunked statistics
    other = ArrayData(X[:100], None if weights is None else weights[:100])
    resp = soft[:100]
    np.testing.assert_array_equal(
        steps.statistics(other, template, resp).scatter,
        chunked_statistics(other, template, resp).scatter,
    )


@pytest.mark.parametrize(
    "covariance_type", ["full", "tied", "diag", "spherical", *MULTIVARIATE_MODELS]
)
def test_lean_and_chunked_paths_give_the_same_fit(covariance_type):
    X = _blobs(240, 3, seed=1)
    params = {
        "n_components": 3,
        "covariance_type": covariance_type,
        "random_state": 0,
        "tol": 1e-8,
        "max_iter": 60,
    }
    lean = _fit(X, **params)
    chunked = _fit(X, chunk_size=64, **params)
    _assert_same_fit(lean, chunked)


@pytest.mark.parametrize("covariance_type", UNIVARIATE_MODELS)
def test_univariate_models_agree(covariance_type):
    X = _blobs(150, 1, seed=2)
    params = {"n_components": 2, "covariance_type": covariance_type, "random_state": 0}
    _assert_same_fit(_fit(X, **params), _fit(X, chunk_size=40, **params))


def test_sample_weights_and_a_prior_agree():
    X = _blobs(180, 2, seed=3)
    weights = np.random.default_rng(3).uniform(0.2, 3.0, size=X.shape[0])
    params = {
        "n_components": 3,
        "covariance_type": "VVV",
        "prior": "default",
        "random_state": 0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lean = GaussianMixture(**params).fit(X, sample_weight=weights)
        chunked = GaussianMixture(chunk_size=50, **params).fit(X, sample_weight=weights)
    _assert_same_fit(lean, chunked)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_data_far_from_the_origin_with_a_tight_component_agree(covariance_type):
    # one component 1e7 of its standard deviations from the data's mean: the
    # expanded forms would cancel digits, so both paths must fall back to
    # explicit deviations for it
    rng = np.random.default_rng(4)
    X = np.concatenate(
        [rng.normal(size=(150, 2)), 1e5 + 1e-2 * rng.normal(size=(50, 2))]
    )
    params = {"n_components": 2, "covariance_type": covariance_type, "random_state": 0}
    lean, chunked = _fit(X, **params), _fit(X, chunk_size=64, **params)
    _assert_same_fit(lean, chunked)
    tight = np.argmin(lean.weights_)
    variances = np.atleast_2d(lean.covariances_)[tight]
    assert np.all(np.diagonal(np.atleast_2d(variances)) > 0)


def test_warm_start_and_max_iter_zero():
    X = _blobs(120, 2, seed=5)
    params = {"n_components": 2, "random_state": 0, "max_iter": 3, "warm_start": True}
    lean, chunked = _fit(X, **params), _fit(X, chunk_size=30, **params)
    lean.fit(X)
    chunked.fit(X)
    _assert_same_fit(lean, chunked)
    never = _fit(X, n_components=2, random_state=0, max_iter=0)
    assert np.isfinite(never.means_).all()


def test_a_collapsing_fit_stops_alike():
    # a component shrinks onto three nearly collinear rows after some iterations
    rng = np.random.default_rng(4)
    loose = rng.normal(size=(20, 2))
    tight = np.repeat(rng.normal(size=(1, 2)) + 3, 3, axis=0)
    tight += rng.normal(scale=1e-3, size=(3, 2)) * [[1], [1], [0]]
    X = np.concatenate([loose, tight])
    params = {
        "n_components": 4,
        "reg_covar": 0.0,
        "random_state": 4,
        "max_iter": 200,
        "on_degenerate": "stop",
    }
    lean, chunked = _fit(X, **params), _fit(X, chunk_size=5, **params)
    assert lean._fit_collapsed and chunked._fit_collapsed
    assert lean.n_iter_ == chunked.n_iter_ > 1
    # the last iterations factor nearly singular covariances (condition ~1e10),
    # which amplifies the two paths' rounding differences by about as much
    np.testing.assert_allclose(lean.lower_bound_, chunked.lower_bound_, rtol=1e-5)


def test_data_beyond_the_lean_budget_take_the_chunked_path():
    n_features, n_components = 4, 3
    rows = LEAN_MAX_VALUES // (n_components + n_features * (n_features + 3) // 2)
    assert LeanGaussianEM.serves(rows, n_features, n_components)
    assert not LeanGaussianEM.serves(rows + 1, n_features, n_components)
    template = Gaussian("diag")
    assert template.lean_em(np.zeros((10, 2), dtype=np.float32), 2) is None
    with_hole = np.zeros((10, 2))
    with_hole[3, 1] = np.nan
    assert template.lean_em(with_hole, 2) is None


@pytest.mark.parametrize(
    "covariance_type", ["full", "tied", "diag", "spherical", "VEE", "EVE"]
)
def test_the_lean_posterior_of_the_fitted_rows_equals_predict(covariance_type):
    # select's criteria read the posterior of the rows just fitted from the
    # lean step; it must be what the general path predicts for them
    X = _blobs(200, 3, seed=6, offset=50.0)
    model = _fit(X, n_components=3, covariance_type=covariance_type, random_state=0)
    log_resp, log_density = model._fitted_rows_posterior(X)
    expected_resp, expected_density = model._predict_data(X)
    assert log_resp.shape == (200, 3) and log_density.shape == (200,)
    # both add the same terms about different reference points: rounding of
    # the log densities (tens of nats), a few ulps of each
    np.testing.assert_allclose(log_density, expected_density, rtol=1e-12, atol=0)
    np.testing.assert_allclose(log_resp, expected_resp, rtol=0, atol=1e-10)
    np.testing.assert_allclose(log_density.sum(), model.score(X) * 200, rtol=1e-12)


def test_the_fitted_rows_posterior_falls_back_where_the_lean_step_does_not_serve():
    X = _blobs(120, 2, seed=7)
    holes = X.copy()
    holes[::10, 1] = np.nan
    missing = GaussianMixture(2, missing="em", random_state=0).fit(holes)
    np.testing.assert_array_equal(
        missing._fitted_rows_posterior(holes)[1], missing._predict_data(holes)[1]
    )
    single = X.astype(np.float32)
    model = GaussianMixture(2, random_state=0).fit(single)
    np.testing.assert_array_equal(
        model._fitted_rows_posterior(single)[0], model._predict_data(single)[0]
    )
