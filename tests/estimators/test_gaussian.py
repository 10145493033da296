"""mixtura.GaussianMixture is a drop-in for sklearn.mixture.GaussianMixture.

Every parity test fits scikit-learn in the same test, on the same data, from the same
initialisation, and compares every fitted attribute.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.utils._param_validation import InvalidParameterError

import mixtura
from mixtura import DataValidationError, GaussianMixture
from mixtura.exceptions import SingularCovarianceError
from mixtura.inference import IterationInfo

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
FITTED_PARAMETERS = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
)
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
# inits that start each component from a single data row
SINGLE_ROW_INITS = ("k-means++", "random_from_data")


# -- data sets ----------------------------------------------------------------------
def _read_only(X):
    X = np.ascontiguousarray(X, dtype=np.float64)
    X.flags.writeable = False
    return X


@functools.cache
def faithful():
    """Old Faithful eruptions: 272 rows, 2 columns (duration, waiting time)."""
    path = importlib.resources.files("mixtura") / "datasets/data/faithful.csv"
    with path.open() as handle:
        return _read_only(np.loadtxt(handle, delimiter=",", skiprows=1))


@functools.cache
def iris():
    return _read_only(load_iris().data)


@functools.cache
def simulated(n_samples=5000, n_features=8, n_components=5):
    """Five overlapping Gaussian clusters with random SPD covariances in 8-D."""
    rng = np.random.RandomState(0)
    means = rng.uniform(-4.0, 4.0, size=(n_components, n_features))
    weights = rng.dirichlet(5.0 * np.ones(n_components))
    labels = rng.choice(n_components, size=n_samples, p=weights)
    X = np.empty((n_samples, n_features))
    for k in range(n_components):
        factor = rng.normal(size=(n_features, n_features))
        covariance = factor @ factor.T / n_features + 0.5 * np.eye(n_features)
        rows = labels == k
        X[rows] = rng.multivariate_normal(means[k], covariance, size=rows.sum())
    return _read_only(X)


# name -> (loader, n_components)
DATASETS = {"faithful": (faithful, 2), "iris": (iris, 3), "simulated": (simulated, 5)}


def load(name):
    loader, n_components = DATASETS[name]
    return loader(), n_components


# -- helpers ------------------------------------------------------------------------
def initial_parameters(X, n_components, covariance_type, seed=0):
    """weights_init, means_init and precisions_init of a deliberately rough start.

    The rows are cut into ``n_components`` equal slabs along a random direction, so
    that EM has many iterations to run before it converges.
    """
    rng = np.random.RandomState(seed)
    projection = X @ rng.normal(size=X.shape[1])
    edges = np.quantile(projection, np.linspace(0, 1, n_components + 1)[1:-1])
    labels = np.searchsorted(edges, projection)
    counts = np.bincount(labels, minlength=n_components).astype(float)
    means = np.stack([X[labels == k].mean(axis=0) for k in range(n_components)])
    covariances = np.stack(
        [np.cov(X[labels == k].T, bias=True) for k in range(n_components)]
    ) + 1e-6 * np.eye(X.shape[1])
    if covariance_type == "full":
        precisions = np.linalg.inv(covariances)
    elif covariance_type == "tied":
        tied = np.tensordot(counts / counts.sum(), covariances, axes=1)
        precisions = np.linalg.inv(tied)
    elif covariance_type == "diag":
        precisions = 1.0 / np.diagonal(covariances, axis1=1, axis2=2)
    else:
        precisions = 1.0 / np.diagonal(covariances, axis1=1, axis2=2).mean(axis=1)
    return {
        "weights_init": counts / counts.sum(),
        "means_init": means,
        "precisions_init": precisions,
    }


def fit_both(X, **params):
    """The same model fitted by mixtura and by scikit-learn."""
    ours = GaussianMixture(**params).fit(X)
    reference = SklearnGaussianMixture(**params).fit(X)
    return ours, reference


def assert_same_fit(
    ours, reference, X=None, *, rtol=1e-10, param_tol=1e-8, first_bound=True
):
    """Assert that two fitted Gaussian mixtures agree in every fitted attribute.

    ``rtol`` applies to the bounds and log densities, ``param_tol`` (relative and
    absolute) to the parameters. ``first_bound=False`` leaves out the bound of the
    initial parameters. With ``X``, predictions and log densities on ``X`` are
    compared too.
    """
    assert ours.n_iter_ == reference.n_iter_
    assert ours.converged_ == reference.converged_
    np.testing.assert_allclose(ours.lower_bound_, reference.lower_bound_, rtol=rtol)
    assert len(ours.lower_bounds_) == len(reference.lower_bounds_)
    start = 0 if first_bound else 1
    np.testing.assert_allclose(
        ours.lower_bounds_[start:], reference.lower_bounds_[start:], rtol=rtol
    )
    for name in FITTED_PARAMETERS:
        np.testing.assert_allclose(
            getattr(ours, name),
            getattr(reference, name),
            rtol=param_tol,
            atol=param_tol,
            err_msg=name,
        )
    if X is not None:
        np.testing.assert_array_equal(ours.predict(X), reference.predict(X))
        # rounding in a log density is absolute near log p = 0, hence atol too
        np.testing.assert_allclose(
            ours.score_samples(X), reference.score_samples(X), rtol=rtol, atol=rtol
        )


def full_covariances(model):
    """The model's covariances as a (K, d, d) stack, whatever its covariance_type."""
    n_components, n_features = model.means_.shape
    covariances = np.asarray(model.covariances_, dtype=np.float64)
    if model.covariance_type == "full":
        return covariances
    if model.covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features))
    if model.covariance_type == "diag":
        return covariances[:, :, None] * np.eye(n_features)
    return covariances[:, None, None] * np.eye(n_features)


def sort_by_first_mean(means):
    return means[np.argsort(means[:, 0])]


# -- 1. parity from the same initial parameters -------------------------------------
@pytest.mark.parametrize("tol_params", [{"tol": 1e-6, "max_iter": 500}, {}])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dataset", DATASETS)
def test_same_fit_as_sklearn_from_given_parameters(
    dataset, covariance_type, tol_params
):
    X, n_components = load(dataset)
    ours, reference = fit_both(
        X,
        n_components=n_components,
        covariance_type=covariance_type,
        reg_covar=1e-6,
        **initial_parameters(X, n_components, covariance_type),
        **tol_params,
    )
    assert reference.converged_
    assert_same_fit(ours, reference, X)


def test_given_parameters_run_many_iterations():
    # guards the parity test above against starts that converge at once
    X, n_components = load("iris")
    model = GaussianMixture(
        n_components,
        tol=1e-6,
        max_iter=500,
        **initial_parameters(X, n_components, "full"),
    ).fit(X)
    assert model.n_iter_ >= 10


# -- 2. parity from the same random_state -------------------------------------------
def _init_cases():
    for init_params in INIT_METHODS:
        for covariance_type in COVARIANCE_TYPES:
            if init_params in SINGLE_ROW_INITS and covariance_type == "tied":
                # documented difference: see test_tied_start_from_single_rows
                continue
            yield pytest.param(
                init_params, covariance_type, id=f"{init_params}-{covariance_type}"
            )


@pytest.mark.parametrize("init_params", sorted(SINGLE_ROW_INITS))
def test_tied_start_from_single_rows(init_params):
    # A documented, deliberate difference from scikit-learn: when each component
    # starts from one seed row, scikit-learn's tied M-step subtracts the seeds'
    # outer products from X.T @ X over *all* rows, a formula that assumes every
    # row's responsibilities sum to one, and so starts from a covariance about
    # n / K times the data's scatter. mixtura's tied start is the seed rows' own
    # pooled scatter (zero) plus reg_covar, as for the other covariance types.
    X, n_components = load("iris")
    model = GaussianMixture(
        n_components,
        covariance_type="tied",
        init_params=init_params,
        max_iter=0,
        reg_covar=1e-3,
        random_state=0,
    ).fit(X)
    np.testing.assert_allclose(model.covariances_, 1e-3 * np.eye(X.shape[1]))
    np.testing.assert_allclose(model.weights_, 1 / n_components)


def _init_tolerances(init_params, covariance_type, dataset):
    """Tolerances of the default-init parity test, and whether to compare bound 0.

    From a single-row start (k-means++, random_from_data) each component's initial
    variance is reg_covar = 1e-6. scikit-learn computes diagonal variances as
    E[x^2] - mean^2, which leaves a rounding error of about eps * |x|^2 ~ 1e-14 on
    iris, a relative error of 1e-8 on the precision; multiplied by squared
    distances / reg_covar ~ 1e6, it shifts the first E-step's log responsibilities
    by ~1e-2, and iris's many equidistant rows (values on a 0.1 grid) carry that
    through EM. Measured over 8 seeds: up to 2.4e-5 relative in the bounds and
    4e-5 in the parameters on iris, < 1e-13 on the other data sets. Hence 1e-4 for
    iris only.
    scikit-learn's initial weights from single rows are also unnormalised (each
    1 / n_samples instead of 1 / K), which shifts only the first bound (by
    log(n / K)), so that one is left out.
    """
    if init_params not in SINGLE_ROW_INITS:
        return {"rtol": 1e-10, "param_tol": 1e-8, "first_bound": True}
    if dataset == "iris" and covariance_type in ("diag", "spherical"):
        return {"rtol": 1e-4, "param_tol": 1e-4, "first_bound": False}
    return {"rtol": 1e-10, "param_tol": 1e-8, "first_bound": False}


@pytest.mark.parametrize(("init_params", "covariance_type"), list(_init_cases()))
@pytest.mark.parametrize("dataset", DATASETS)
def test_same_fit_as_sklearn_from_same_random_state(
    dataset, init_params, covariance_type
):
    X, n_components = load(dataset)
    ours, reference = fit_both(
        X,
        n_components=n_components,
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=3,
        tol=1e-6,
        max_iter=500,
    )
    assert_same_fit(
        ours, reference, X, **_init_tolerances(init_params, covariance_type, dataset)
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INIT_METHODS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_initialisation_consumes_random_state_as_sklearn(
    dataset, init_params, covariance_type
):
    # max_iter=0 returns the initialisation itself, with no warning
    X, n_components = load(dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours, reference = fit_both(
            X,
            n_components=n_components,
            covariance_type=covariance_type,
            init_params=init_params,
            random_state=5,
            max_iter=0,
        )
    assert (ours.n_iter_, ours.converged_, ours.lower_bounds_) == (0, False, [])
    # scikit-learn leaves the bound at -inf; mixtura's is the start's own
    # mean log-likelihood (issue 19: every fitted attribute finite)
    assert reference.lower_bound_ == -np.inf
    np.testing.assert_allclose(ours.lower_bound_, ours.score(X), rtol=1e-10)
    # the same seed rows / clusters
    np.testing.assert_allclose(ours.means_, reference.means_, rtol=1e-12, atol=1e-12)
    if init_params in SINGLE_ROW_INITS:
        # scikit-learn's weights are then 1 / n_samples each (they do not sum to
        # one); see _init_tolerances
        np.testing.assert_allclose(ours.weights_, 1 / n_components)
        return
    for name in FITTED_PARAMETERS:
        np.testing.assert_allclose(
            getattr(ours, name),
            getattr(reference, name),
            rtol=1e-8,
            atol=1e-8,
            err_msg=name,
        )


@pytest.mark.parametrize("given", ["weights_init", "means_init", "precisions_init"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dataset", ["faithful", "iris"])
def test_same_fit_as_sklearn_from_some_given_parameters(
    dataset, covariance_type, given
):
    # the others come from k-means with the same random_state
    X, n_components = load(dataset)
    init = initial_parameters(X, n_components, covariance_type)
    ours, reference = fit_both(
        X,
        n_components=n_components,
        covariance_type=covariance_type,
        random_state=0,
        tol=1e-6,
        max_iter=500,
        **{given: init[given]},
    )
    assert_same_fit(ours, reference, X)


@pytest.mark.parametrize("init_params", ["kmeans", "random"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dataset", DATASETS)
def test_same_fit_as_sklearn_with_restarts(dataset, covariance_type, init_params):
    X, n_components = load(dataset)
    ours, reference = fit_both(
        X,
        n_components=n_components,
        covariance_type=covariance_type,
        init_params=init_params,
        n_init=3,
        random_state=7,
    )
    assert_same_fit(ours, reference, X)


@pytest.mark.parametrize("init_params", INIT_METHODS)
def test_shared_random_state_is_consumed_as_sklearn(init_params):
    # a RandomState instance carries over from call to call: a second fit (and a
    # sample) match only if each call drew exactly what scikit-learn draws
    X, n_components = load("faithful")
    params = {"n_components": n_components, "init_params": init_params, "tol": 1e-6}
    ours = GaussianMixture(random_state=np.random.RandomState(0), **params)
    reference = SklearnGaussianMixture(random_state=np.random.RandomState(0), **params)
    tolerances = _init_tolerances(init_params, "full", "faithful")
    for _ in range(2):
        assert_same_fit(ours.fit(X), reference.fit(X), X, **tolerances)
    np.testing.assert_array_equal(ours.sample(100)[1], reference.sample(100)[1])
    assert_same_fit(ours.fit(X), reference.fit(X), X, **tolerances)


# -- 3. the rest of the estimator API -----------------------------------------------
@pytest.fixture(scope="module", params=COVARIANCE_TYPES)
def iris_pair(request):
    """mixtura and scikit-learn fitted to iris from the same random_state."""
    X, n_components = load("iris")
    return fit_both(
        X, n_components=n_components, covariance_type=request.param, random_state=0
    )


@pytest.mark.parametrize("max_iter", [2, 100])
def test_fit_predict_equals_fit_then_predict(iris_pair, max_iter):
    # with max_iter=2 the fit has not converged: the labels need the final E-step
    ours, reference = iris_pair
    X = iris()
    params = {**ours.get_params(), "max_iter": max_iter, "tol": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = GaussianMixture(**params).fit_predict(X)
        model = GaussianMixture(**params).fit(X)
        reference_labels = SklearnGaussianMixture(
            **{name: params[name] for name in reference.get_params()}
        ).fit_predict(X)
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_array_equal(labels, reference_labels)


def test_predict_proba_rows_sum_to_one(iris_pair):
    ours, reference = iris_pair
    proba = ours.predict_proba(iris())
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        proba, reference.predict_proba(iris()), rtol=1e-8, atol=1e-10
    )
    np.testing.assert_array_equal(proba.argmax(axis=1), ours.predict(iris()))


def test_score_is_mean_of_score_samples(iris_pair):
    ours, reference = iris_pair
    X = iris()
    np.testing.assert_allclose(ours.score(X), ours.score_samples(X).mean(), rtol=1e-13)
    np.testing.assert_allclose(ours.score(X), reference.score(X), rtol=1e-10)


def test_information_criteria_equal_sklearn(iris_pair):
    ours, reference = iris_pair
    X = iris()
    assert ours._n_parameters() == reference._n_parameters()
    np.testing.assert_allclose(ours.bic(X), reference.bic(X), rtol=1e-10)
    np.testing.assert_allclose(ours.aic(X), reference.aic(X), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_n_parameters_equal_sklearn_on_8_features(covariance_type):
    X, n_components = load("simulated")
    ours, reference = fit_both(
        X,
        n_components=n_components,
        covariance_type=covariance_type,
        random_state=0,
        max_iter=0,
    )
    assert ours._n_parameters() == reference._n_parameters()


def test_sample_shapes_labels_and_moments(iris_pair):
    ours, reference = iris_pair
    n_samples = 30_000
    samples, labels = ours.sample(n_samples)
    assert samples.shape == (n_samples, 4)
    assert labels.shape == (n_samples,)
    assert np.all(np.diff(labels) >= 0)
    # the component counts come from the same multinomial draw as scikit-learn's
    _, reference_labels = reference.sample(n_samples)
    np.testing.assert_array_equal(labels, reference_labels)
    covariances = full_covariances(ours)
    for k in range(ours.n_components):
        rows = samples[labels == k]
        scale = np.sqrt(np.diag(covariances[k]))
        standard_error = scale / np.sqrt(len(rows))
        assert np.all(np.abs(rows.mean(axis=0) - ours.means_[k]) < 5 * standard_error)
        # ~5 standard errors of a covariance estimate from >= 5000 rows
        tolerance = 0.1 * np.outer(scale, scale)
        assert np.all(np.abs(np.cov(rows.T) - covariances[k]) < tolerance)


def test_sample_is_reproducible_with_an_integer_seed(iris_pair):
    ours, _ = iris_pair
    first, second = ours.sample(50), ours.sample(50)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


# -- 4. sample weights --------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X, n_components = load("faithful")
    weights = np.random.RandomState(0).randint(1, 4, size=len(X))
    repeated = np.repeat(X, weights, axis=0)
    params = {
        "n_components": n_components,
        "covariance_type": covariance_type,
        "tol": 1e-8,
        "max_iter": 500,
        **initial_parameters(X, n_components, covariance_type),
    }
    weighted = GaussianMixture(**params).fit(X, sample_weight=weights)
    assert_same_fit(weighted, GaussianMixture(**params).fit(repeated))
    assert_same_fit(weighted, SklearnGaussianMixture(**params).fit(repeated))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_unit_weights_give_exactly_the_unweighted_fit(covariance_type):
    X, n_components = load("iris")
    params = {
        "n_components": n_components,
        "covariance_type": covariance_type,
        "random_state": 0,
    }
    weighted = GaussianMixture(**params).fit(X, sample_weight=np.ones(len(X)))
    unweighted = GaussianMixture(**params).fit(X)
    assert_same_fit(weighted, unweighted, X, rtol=0, param_tol=0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weight_equals_dropping_the_row(covariance_type):
    X, n_components = load("iris")
    dropped = np.array([3, 50, 51, 120])
    weights = np.ones(len(X))
    weights[dropped] = 0.0
    params = {
        "n_components": n_components,
        "covariance_type": covariance_type,
        "tol": 1e-8,
        "max_iter": 500,
        **initial_parameters(X, n_components, covariance_type),
    }
    weighted = GaussianMixture(**params).fit(X, sample_weight=weights)
    kept = GaussianMixture(**params).fit(np.delete(X, dropped, axis=0))
    assert_same_fit(weighted, kept)


# -- 5. float32 ---------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_input_gives_float32_attributes(covariance_type):
    X, n_components = load("iris")
    model = GaussianMixture(
        n_components, covariance_type=covariance_type, random_state=0
    ).fit(X.astype(np.float32))
    for name in FITTED_PARAMETERS:
        value = getattr(model, name)
        assert value.dtype == np.float32, name
        assert np.isfinite(value).all(), name
    assert np.isfinite(model.lower_bound_)
    assert np.isfinite(model.score_samples(X.astype(np.float32))).all()
    samples, _ = model.sample(10)
    assert samples.dtype == np.float32
    # and close to the float64 fit from the same start
    model64 = GaussianMixture(**model.get_params()).fit(X)
    np.testing.assert_allclose(model.means_, model64.means_, atol=1e-3)
    np.testing.assert_allclose(model.lower_bound_, model64.lower_bound_, rtol=1e-4)


@functools.cache
def offset_clusters():
    """Two clusters at 1e4 and 1e4 + 0.1 (sd 1e-2) in 3-D, and their true means."""
    rng = np.random.RandomState(0)
    truth = np.array([[1e4] * 3, [1e4 + 0.1] * 3])
    labels = np.repeat([0, 1], 1000)
    X = truth[labels] + 1e-2 * rng.standard_normal((2000, 3))
    return X.astype(np.float32), truth


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_far_from_origin_keeps_variances_positive(covariance_type):
    X, truth = offset_clusters()
    params = {"n_components": 2, "covariance_type": covariance_type, "random_state": 0}
    model = GaussianMixture(**params).fit(X)
    assert model.means_.dtype == np.float32
    assert np.isfinite(model.lower_bound_)
    covariances = full_covariances(model)
    assert np.all(np.diagonal(covariances, axis1=1, axis2=2) > 0)
    assert np.all(np.linalg.eigvalsh(covariances) > 0)
    # the true variance is 1e-4; float32 rounding of 1e4 is ~1e-3 (variance ~1e-7)
    np.testing.assert_allclose(
        np.diagonal(covariances, axis1=1, axis2=2), 1e-4, rtol=0.25
    )
    means = sort_by_first_mean(model.means_.astype(np.float64))
    np.testing.assert_allclose(means, truth, atol=3e-3)
    model64 = GaussianMixture(**params).fit(X.astype(np.float64))
    np.testing.assert_allclose(
        means, sort_by_first_mean(model64.means_), rtol=0, atol=1e-3
    )


# -- 6. chunking --------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size", [7, 64])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dataset", ["faithful", "iris"])
def test_chunked_fit_equals_unchunked(dataset, covariance_type, chunk_size):
    X, n_components = load(dataset)
    assert len(X) > 2 * chunk_size
    params = {
        "n_components": n_components,
        "covariance_type": covariance_type,
        "random_state": 0,
        "tol": 1e-6,
        "max_iter": 500,
    }
    chunked = GaussianMixture(chunk_size=chunk_size, **params).fit(X)
    whole = GaussianMixture(**params).fit(X)
    assert_same_fit(chunked, whole, X)
    np.testing.assert_array_equal(chunked.predict(X), whole.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunked_weighted_fit_equals_unchunked(covariance_type):
    X, n_components = load("faithful")
    weights = np.random.RandomState(1).uniform(0.1, 3.0, size=len(X))
    params = {
        "n_components": n_components,
        "covariance_type": covariance_type,
        "random_state": 0,
        "tol": 1e-6,
        "max_iter": 500,
    }
    chunked = GaussianMixture(chunk_size=7, **params).fit(X, sample_weight=weights)
    whole = GaussianMixture(**params).fit(X, sample_weight=weights)
    assert_same_fit(chunked, whole, X)


# -- 7. warm start ------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_warm_start_continues_like_sklearn(covariance_type):
    X, n_components = load("iris")
    params = {
        "n_components": n_components,
        "covariance_type": covariance_type,
        "init_params": "random",
        "random_state": 0,
        "n_init": 2,  # used by the first call only
        "warm_start": True,
        "max_iter": 1,
    }
    ours = GaussianMixture(**params)
    reference = SklearnGaussianMixture(**params)
    bounds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(6):
            ours.fit(X)
            reference.fit(X)
            assert ours.n_iter_ == 1
            assert_same_fit(ours, reference, X)
            bounds.append(ours.lower_bound_)
    assert np.all(np.diff(bounds) >= 0)
    assert bounds[-1] > bounds[1]


# -- 8. convergence warning ---------------------------------------------------------
def test_convergence_warning_is_sklearns():
    assert mixtura.ConvergenceWarning is ConvergenceWarning
    X, n_components = load("iris")
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = GaussianMixture(n_components, max_iter=1, tol=0, random_state=0).fit(X)
    assert not model.converged_
    assert model.n_iter_ == 1


# -- 9. callback and verbose --------------------------------------------------------
def test_callback_receives_every_iteration():
    X, n_components = load("faithful")
    infos = []
    model = GaussianMixture(
        n_components, random_state=0, tol=1e-8, max_iter=500, callback=infos.append
    ).fit(X)
    assert model.n_iter_ > 1
    assert all(isinstance(info, IterationInfo) for info in infos)
    assert [info.n_iter for info in infos] == list(range(1, model.n_iter_ + 1))
    assert all(info.init == 0 for info in infos)
    assert [info.lower_bound for info in infos] == model.lower_bounds_
    np.testing.assert_allclose(
        [info.change for info in infos[1:]], np.diff(model.lower_bounds_)
    )


def test_callback_sees_every_restart():
    X, n_components = load("faithful")
    infos = []
    model = GaussianMixture(
        n_components, n_init=2, random_state=0, callback=infos.append
    ).fit(X)
    bounds = {
        init: [info.lower_bound for info in infos if info.init == init]
        for init in (0, 1)
    }
    assert {info.init for info in infos} == {0, 1}
    # the fitted trace is the best restart's
    assert model.lower_bounds_ in bounds.values()
    assert model.lower_bound_ == max(trace[-1] for trace in bounds.values())


def test_verbose_prints_progress(capsys):
    X, n_components = load("faithful")
    model = GaussianMixture(
        n_components, random_state=0, verbose=2, verbose_interval=1
    ).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out
    iterations = re.findall(r"Iteration (\d+)", out)
    assert [int(i) for i in iterations] == list(range(1, model.n_iter_ + 1))
    assert "lower bound" in out


# -- 10. bad input ------------------------------------------------------------------
def _with(X, row, column, value):
    X = np.array(X, dtype=np.float64)
    X[row, column] = value
    return X


def _bad_fits():
    X = np.random.RandomState(0).normal(size=(40, 3))
    ones = np.ones(40)
    fit = lambda X=X, weights=None, **params: (  # noqa: E731
        lambda: GaussianMixture(2, **params).fit(X, sample_weight=weights)
    )
    not_pd = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0])])
    cases = {
        "nan": (fit(_with(X, 5, 1, np.nan)), r"NaN in column 1\b"),
        "inf": (fit(_with(X, 7, 1, np.inf)), r"infinity in column 1\b"),
        "1-D": (fit(X[:, 0]), r"Expected 2D array, got 1D array"),
        "3-D": (fit(X[:, :, None]), r"dim 3"),
        "one row": (fit(X[:1, :]), r"1 sample\(s\).*minimum of 2"),
        "fewer rows than components": (
            lambda: GaussianMixture(5).fit(X[:3]),
            r"n_samples >= n_components.*n_components = 5, n_samples = 3",
        ),
        "strings": (fit([["a", "b"], ["c", "d"], ["e", "f"]]), r"numeric"),
        "string column": (
            fit(pd.DataFrame({"a": np.arange(5.0), "b": list("vwxyz")})),
            r"numeric",
        ),
        "negative weights": (fit(weights=_with(ones[None], 0, 3, -1.0)[0]), "negat"),
        "nan weights": (fit(weights=_with(ones[None], 0, 3, np.nan)[0]), "NaN"),
        "wrong-length weights": (fit(weights=ones[:-1]), r"shape \(40,\)"),
        "zero weights": (fit(weights=0 * ones), "sums to zero"),
        "weights_init sum": (fit(weights_init=[0.5, 0.6]), "should be normalized"),
        "weights_init shape": (fit(weights_init=[0.2, 0.3, 0.5]), r"shape of \(2,\)"),
        "means_init shape": (fit(means_init=np.zeros((2, 2))), r"shape of \(2, 3\)"),
        "precisions_init shape": (
            fit(precisions_init=np.zeros((2, 3))),
            r"shape of \(2, 3, 3\).*precisions_init",
        ),
        "precisions_init not PD": (
            fit(precisions_init=not_pd),
            "should be symmetric, positive-definite.*precisions_init",
        ),
        "tied precisions_init not PD": (
            fit(covariance_type="tied", precisions_init=not_pd[1]),
            "should be symmetric, positive-definite.*precisions_init",
        ),
        "precisions_init not symmetric": (
            fit(precisions_init=np.stack([np.eye(3), np.eye(3) + np.eye(3, k=1)])),
            "not symmetric.*precisions_init",
        ),
        "diag precisions_init not positive": (
            fit(covariance_type="diag", precisions_init=-np.ones((2, 3))),
            "should be positive.*precisions_init",
        ),
        "spherical precisions_init not positive": (
            fit(covariance_type="spherical", precisions_init=np.array([1.0, 0.0])),
            "should be positive.*precisions_init",
        ),
    }
    return [pytest.param(call, match, id=name) for name, (call, match) in cases.items()]


@pytest.mark.parametrize(("call", "match"), _bad_fits())
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_data_raise_data_validation_error(value):
    X = _with(iris(), 10, 1, value)
    with pytest.raises(DataValidationError, match="column 1"):
        GaussianMixture(3).fit(X)
    fitted = GaussianMixture(3, random_state=0).fit(iris())
    with pytest.raises(DataValidationError, match="column 1"):
        fitted.predict(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_means_init_is_named(covariance_type, bad):
    X, n_components = load("iris")
    init = initial_parameters(X, n_components, covariance_type)
    init["means_init"][0, 1] = bad
    with pytest.raises(ValueError, match="means_init"):
        GaussianMixture(n_components, covariance_type=covariance_type, **init).fit(X)


def test_unknown_covariance_type_lists_the_options():
    with pytest.raises(InvalidParameterError, match="covariance_type") as excinfo:
        GaussianMixture(2, covariance_type="ful").fit(iris())
    assert isinstance(excinfo.value, ValueError)
    for option in COVARIANCE_TYPES:
        assert repr(option) in str(excinfo.value)


def test_predict_with_other_number_of_features():
    model = GaussianMixture(3, random_state=0).fit(iris())
    with pytest.raises(ValueError, match=r"X has 2 features.*expecting 4 features"):
        model.predict(iris()[:, :2])


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "score_samples", "score", "bic", "aic"]
)
def test_use_before_fit_raises_not_fitted(method):
    with pytest.raises(NotFittedError):
        getattr(GaussianMixture(2), method)(iris())


def test_sample_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        GaussianMixture(2).sample(3)


@pytest.mark.parametrize(
    "bad_call",
    [
        pytest.param(lambda m: m.fit(_with(iris(), 4, 1, np.nan)), id="nan"),
        pytest.param(
            lambda m: m.fit(np.c_[iris(), np.full(150, np.nan)]), id="nan-5-features"
        ),
        pytest.param(
            lambda m: m.fit(iris(), sample_weight=-np.ones(150)), id="negative-weights"
        ),
        pytest.param(
            lambda m: m.set_params(means_init=np.zeros((2, 4))).fit(iris()),
            id="means-init",
        ),
    ],
)
def test_failed_fit_leaves_the_fitted_model_as_it_was(bad_call):
    X = iris()
    model = GaussianMixture(3, random_state=0).fit(X)
    before = {
        name: np.copy(getattr(model, name))
        for name in (
            *FITTED_PARAMETERS,
            "n_features_in_",
            "lower_bound_",
            "lower_bounds_",
            "n_iter_",
            "converged_",
        )
    }
    labels = model.predict(X)
    with pytest.raises(ValueError):
        bad_call(model)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value, err_msg=name)
    np.testing.assert_array_equal(model.predict(X), labels)


# -- 11. pandas ---------------------------------------------------------------------
def test_dataframe_records_feature_names():
    X = iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame = pd.DataFrame(X, columns=names)
    model = GaussianMixture(3, random_state=0).fit(frame)
    np.testing.assert_array_equal(model.feature_names_in_, names)
    assert model.n_features_in_ == 4
    from_array = GaussianMixture(3, random_state=0).fit(X)
    assert not hasattr(from_array, "feature_names_in_")
    np.testing.assert_array_equal(model.means_, from_array.means_)
    np.testing.assert_array_equal(model.predict(frame), from_array.predict(X))
    reference = SklearnGaussianMixture(3, random_state=0).fit(frame)
    np.testing.assert_array_equal(model.predict(frame), reference.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[names[::-1]])


def _diverging_start():
    """scikit-learn#18216's start: two spherical components collapse at once."""
    X = np.random.RandomState(0).uniform(size=(30, 3))
    means = np.array(
        [
            [0.670637869618158, 0.21038256107384043, 0.12892629765485303],
            [0.09394051075844147, 0.5759464955561779, 0.929296197576212],
            [0.5033230372781258, 0.9569852381759425, 0.08654043447295741],
            [0.18578301420435747, 0.5531158970919143, 0.19388943970532435],
            [0.4548589928173794, 0.35182513658825276, 0.568146063202464],
            [0.609279894978321, 0.7929063819678847, 0.9620097270828052],
        ]
    )
    precisions = np.array([1e6, 1e6, 553.76, 204.79, 15.87, 85.46])
    weights = np.array([1, 1, 2, 2, 21, 3]) / 30
    params = {
        "n_components": 6,
        "covariance_type": "spherical",
        "reg_covar": 0.0,
        "means_init": means,
        "precisions_init": precisions,
        "weights_init": weights,
        "max_iter": 50,
    }
    return X, params


def test_a_collapse_keeps_the_last_valid_parameters_and_says_so():
    X, params = _diverging_start()
    with pytest.warns(ConvergenceWarning) as caught:
        model = GaussianMixture(**params, on_degenerate="stop").fit(X)
    messages = [str(warning.message) for warning in caught]
    assert any("Restart 0 stopped at iteration 1" in text for text in messages)
    assert not model.converged_
    assert model.n_iter_ == 1
    # the kept parameters are the start's (the first M-step collapsed)
    np.testing.assert_allclose(model.means_, params["means_init"])
    np.testing.assert_allclose(model.precisions_, params["precisions_init"])
    # its bound is the start's mean log-likelihood, finite (the fit's E-step and
    # score's expand the quadratic forms differently; with precisions of 1e6
    # their sums of terms of that size differ by ~1e6 * eps * sqrt(n))
    start = GaussianMixture(**{**params, "max_iter": 0}).fit(X)
    np.testing.assert_allclose(model.lower_bound_, start.score(X), rtol=1e-10)
    [event] = model.fit_events_
    assert (event["restart"], event["iteration"], event["event"]) == (0, 1, "collapsed")
    assert "Collapsed component(s): [0, 1]" in event["message"]


def test_a_collapse_with_nothing_to_keep_raises_unless_recovered():
    # every component a singleton from the initial partition: no valid start
    X = np.random.RandomState(0).normal(size=(8, 2))
    for on_degenerate in ("stop", "raise"):
        with pytest.raises(SingularCovarianceError, match="ill-defined empirical"):
            GaussianMixture(
                8, reg_covar=0.0, random_state=0, on_degenerate=on_degenerate
            ).fit(X)


def test_relative_tolerance_stops_where_mclusts_rule_does():
    # tol_mode='relative': EM stops at the first iteration whose total
    # log-likelihood L changed by at most tol * (1 + |L|), as mclust's emControl
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(150, 2)), rng.normal(3.0, 0.7, size=(150, 2))])
    tol = 1e-5
    fitted = GaussianMixture(
        2, tol=tol, tol_mode="relative", max_iter=500, random_state=0
    ).fit(X)
    totals = np.array(fitted.lower_bounds_) * len(X)
    settled = np.abs(np.diff(totals)) <= tol * (1 + np.abs(totals[1:]))
    assert fitted.converged_
    assert settled[-1]
    assert not settled[:-1].any()
    # the absolute rule with the same number stops later here (|L| >> 1)
    absolute = GaussianMixture(2, tol=tol, max_iter=500, random_state=0).fit(X)
    assert absolute.n_iter_ > fitted.n_iter_


def test_tol_mode_is_checked():
    with pytest.raises(ValueError, match="tol_mode"):
        GaussianMixture(tol_mode="percent").fit(
            np.zeros((10, 2)) + np.arange(10)[:, None]
        )


def test_parameter_checks_remembered_for_array_starts_still_refuse_bad_values():
    # a set of parameters that passed once (an array start among them, as
    # select gives every cell) is not checked again; other values still are
    X = np.random.default_rng(0).normal(size=(60, 2))
    labels = np.arange(60) % 2
    for _ in range(2):
        GaussianMixture(2, init_params=labels, random_state=0).fit(X)
    with pytest.raises(InvalidParameterError, match="tol"):
        GaussianMixture(2, init_params=labels, tol=-1.0).fit(X)
    with pytest.raises(InvalidParameterError, match="init_params"):
        GaussianMixture(2, init_params="nonsense").fit(X)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_float32_data_whose_precisions_exceed_float32(covariance_type):
    # issue 19: rows near 1e-20 with reg_covar=0 have precisions near 1e40,
    # beyond float32's range; the E-step's casts overflowed (RuntimeWarning,
    # infinities). Such a fit runs its E-step in float64 and keeps the
    # precisions in float64; everything else stays float32.
    rng = np.random.RandomState(0)
    X64 = rng.normal(size=(300, 3)) * 1e-20
    X64[:150] += 5e-20
    X32 = X64.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = GaussianMixture(
            2, covariance_type=covariance_type, reg_covar=0, random_state=0
        ).fit(X32)
        proba = model.predict_proba(X32)
    reference = GaussianMixture(
        2, covariance_type=covariance_type, reg_covar=0, random_state=0
    ).fit(X32.astype(np.float64))
    assert (
        np.isfinite(model.precisions_).all() and model.precisions_.dtype == np.float64
    )
    assert model.means_.dtype == np.float32 and proba.dtype == np.float32
    np.testing.assert_allclose(model.lower_bound_, reference.lower_bound_, rtol=1e-5)
    np.testing.assert_allclose(
        proba, reference.predict_proba(X32.astype(np.float64)), atol=1e-4
    )
