"""BayesianGaussianMixture: parity with scikit-learn, the bound, the DP, bad input."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBGM

from mixtura import BayesianGaussianMixture
from mixtura.datasets import load_faithful

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
WEIGHT_PRIORS = ["dirichlet_process", "dirichlet_distribution"]


def _simulated(n=1200, d=3, K=4, seed=0, spread=8.0):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=spread, size=(K, d))
    labels = rng.randint(K, size=n)
    return centres[labels] + rng.normal(size=(n, d)), labels


DATASETS = {
    "faithful": (load_faithful, 4),
    "iris": (lambda: load_iris().data, 5),
    "simulated": (lambda: _simulated()[0], 6),
}


def _fit_both(X, n_components, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BayesianGaussianMixture(n_components=n_components, **params).fit(X)
        theirs = SklearnBGM(n_components=n_components, **params).fit(X)
    return ours, theirs


def _assert_same_fit(ours, theirs, X):
    """Same iterations, bound trace, posterior and predictions as scikit-learn."""
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    np.testing.assert_allclose(
        ours.lower_bound_, np.squeeze(theirs.lower_bound_), rtol=1e-10
    )
    np.testing.assert_allclose(
        ours.lower_bounds_, np.squeeze(theirs.lower_bounds_), rtol=1e-10
    )
    for name in (
        "weights_",
        "means_",
        "covariances_",
        "precisions_",
        "precisions_cholesky_",
        "mean_precision_",
        "degrees_of_freedom_",
        "mean_prior_",
        "covariance_prior_",
    ):
        np.testing.assert_allclose(
            getattr(ours, name),
            getattr(theirs, name),
            rtol=1e-8,
            atol=1e-8,
            err_msg=name,
        )
    np.testing.assert_allclose(
        np.asarray(ours.weight_concentration_),
        np.asarray(theirs.weight_concentration_),
        rtol=1e-8,
    )
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(
        ours.score_samples(X), theirs.score_samples(X), rtol=1e-10
    )


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_with_scikit_learn(dataset, weight_prior, covariance_type):
    load, n_components = DATASETS[dataset]
    X = load()
    ours, theirs = _fit_both(
        X,
        n_components,
        covariance_type=covariance_type,
        weight_concentration_prior_type=weight_prior,
        random_state=0,
        tol=1e-6,
        max_iter=300,
    )
    _assert_same_fit(ours, theirs, X)


def _standardised_faithful():
    X = load_faithful()
    return (X - X.mean(axis=0)) / X.std(axis=0)


@pytest.mark.parametrize(
    "load", [_standardised_faithful, lambda: _simulated()[0]], ids=["faithful", "sim"]
)
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_from_random_responsibilities(load, weight_prior, covariance_type):
    # init_params='random' gives every row responsibilities that sum to one, where
    # scikit-learn's tied update (sum_i x_i x_i^T - sum_k n_k m_k m_k^T) is the
    # pooled scatter: every structure follows it iteration by iteration
    X = load()
    ours, theirs = _fit_both(
        X,
        5,
        covariance_type=covariance_type,
        weight_concentration_prior_type=weight_prior,
        init_params="random",
        random_state=0,
        max_iter=1000,
    )
    _assert_same_fit(ours, theirs, X)


@pytest.mark.parametrize("model", ["em", "variational"])
def test_tied_fit_from_seed_rows_is_translation_invariant_unlike_scikit_learn(model):
    # From one-hot seed rows (init_params='random_from_data' or 'k-means++': rows
    # that are no seed have no responsibility), scikit-learn's tied covariance
    # still adds every row's x x^T about the origin, so its fit changes when the
    # data are shifted. mixtura's pooled scatter counts the responsible rows
    # only: the same fit wherever the origin is. (This is where the tied update
    # departs from scikit-learn's; from complete responsibilities they agree.)
    from sklearn.mixture import GaussianMixture as SklearnGM

    from mixtura import GaussianMixture

    ours_class, theirs_class = {
        "em": (GaussianMixture, SklearnGM),
        "variational": (BayesianGaussianMixture, SklearnBGM),
    }[model]
    X = _standardised_faithful()
    params = {
        "n_components": 5,
        "covariance_type": "tied",
        "init_params": "random_from_data",
        "random_state": 0,
        "max_iter": 1000,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = [ours_class(**params).fit(X + shift) for shift in (0.0, 3.0)]
        theirs = [theirs_class(**params).fit(X + shift) for shift in (0.0, 3.0)]
    assert ours[0].n_iter_ == ours[1].n_iter_
    np.testing.assert_allclose(ours[0].lower_bound_, ours[1].lower_bound_, rtol=1e-8)
    np.testing.assert_allclose(ours[0].means_ + 3.0, ours[1].means_, atol=1e-8)
    theirs_bounds = [float(np.squeeze(model.lower_bound_)) for model in theirs]
    moved = [model.means_ for model in theirs]
    assert not (
        np.isclose(*theirs_bounds, rtol=1e-6)
        and np.allclose(moved[0] + 3.0, moved[1], atol=1e-6)
    ), "scikit-learn's tied fit no longer depends on the origin: parity is possible"


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_parity_with_explicit_priors(covariance_type):
    X = load_iris().data
    d = X.shape[1]
    covariance_prior = {
        "full": np.eye(d) * 0.5,
        "tied": np.eye(d) * 0.5,
        "diag": np.full(d, 0.5),
        "spherical": 0.5,
    }[covariance_type]
    ours, theirs = _fit_both(
        X,
        4,
        covariance_type=covariance_type,
        weight_concentration_prior=0.1,
        mean_precision_prior=0.5,
        mean_prior=np.zeros(d),
        degrees_of_freedom_prior=d + 2.0,
        covariance_prior=covariance_prior,
        random_state=1,
        init_params="random",
    )
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(
        ours.lower_bound_, np.squeeze(theirs.lower_bound_), rtol=1e-10
    )
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_prior", WEIGHT_PRIORS)
def test_the_lower_bound_never_decreases(covariance_type, weight_prior):
    X, _ = _simulated(spread=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianGaussianMixture(
            n_components=8,
            covariance_type=covariance_type,
            weight_concentration_prior_type=weight_prior,
            init_params="random",
            tol=1e-10,
            max_iter=150,
            random_state=0,
        ).fit(X)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_dirichlet_process_keeps_four_components_of_twenty():
    X, _ = _simulated(n=2000, K=4, spread=10.0)
    model = BayesianGaussianMixture(
        n_components=20,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=0.01,
        max_iter=500,
        random_state=0,
    ).fit(X)
    top = np.sort(model.weights_)[::-1]
    assert top[:4].sum() > 0.99, top[:6]


def test_warm_start_continues_like_scikit_learn():
    X = load_faithful()
    params = {"n_components": 3, "max_iter": 2, "warm_start": True, "random_state": 0}
    ours, theirs = BayesianGaussianMixture(**params), SklearnBGM(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            ours.fit(X)
            theirs.fit(X)
            np.testing.assert_allclose(
                ours.lower_bound_, theirs.lower_bound_, rtol=1e-10
            )
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8)


def test_sample_draws_from_the_posterior_mean_mixture():
    X = load_faithful()
    model = BayesianGaussianMixture(n_components=2, random_state=0).fit(X)
    samples, labels = model.sample(20_000)
    for k in range(2):
        np.testing.assert_allclose(
            samples[labels == k].mean(axis=0), model.means_[k], rtol=0.02
        )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"degrees_of_freedom_prior": 0.5}, "greater than 1"),
        ({"mean_prior": [0.0, 0.0, 0.0]}, r"mean_prior must have shape \(2,\)"),
        ({"covariance_prior": np.eye(3)}, r"covariance_prior must have shape \(2, 2\)"),
        (
            {"covariance_prior": np.array([[1.0, 2.0], [2.0, 1.0]])},
            "positive-definite",
        ),
        ({"covariance_type": "diag", "covariance_prior": [1.0, -1.0]}, "positive"),
        ({"weight_concentration_prior": 0.0}, "weight_concentration_prior"),
        ({"weight_concentration_prior_type": "pitman-yor"}, "dirichlet_process"),
    ],
)
def test_bad_priors_are_clear_errors(params, message):
    with pytest.raises(ValueError, match=message):
        BayesianGaussianMixture(n_components=2, **params).fit(load_faithful())


def test_a_structure_without_conjugate_prior_is_refused():
    with pytest.raises(ValueError, match="covariance_type"):
        BayesianGaussianMixture(n_components=2, covariance_type="VEV").fit(
            load_faithful()
        )
