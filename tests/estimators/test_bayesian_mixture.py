"""BayesianMixture: the DP finds the clusters, pruning, sparse input, bad input."""

import warnings

import numpy as np
import pytest
import scipy.sparse
from sklearn.metrics import adjusted_rand_score

from mixtura import (
    BayesianGaussianMixture,
    BayesianMixture,
    BernoulliMixture,
    CategoricalMixture,
    DataValidationError,
    GaussianMixture,
    MultinomialMixture,
    PoissonMixture,
    load,
    save,
)
from mixtura.exceptions import ConvergenceWarning
from mixtura.priors import Beta, Gamma

PLAIN = {
    "bernoulli": BernoulliMixture,
    "poisson": PoissonMixture,
    "categorical": CategoricalMixture,
    "multinomial": MultinomialMixture,
}


def _clusters(family, n=800, seed=0):
    """Four well-separated clusters of ``family`` and their labels."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(4, size=n)
    if family == "bernoulli":
        p = np.where(rng.uniform(size=(4, 16)) < 0.5, 0.9, 0.1)
        return (rng.uniform(size=(n, 16)) < p[labels]).astype(float), labels
    if family == "poisson":
        rates = np.full((4, 4), 1.0) + 19.0 * np.eye(4)
        return rng.poisson(rates[labels]).astype(float), labels
    if family == "categorical":
        levels = np.array(["a", "b", "c", "d", "e"])
        p = rng.dirichlet(np.full(5, 0.2), size=(4, 6))
        uniform = rng.uniform(size=(n, 6, 1))
        codes = (uniform > np.cumsum(p[labels], axis=2)).sum(axis=2)
        return levels[np.minimum(codes, 4)], labels
    theta = rng.dirichlet(np.full(30, 0.1), size=4)
    X = np.array([rng.multinomial(40, theta[k]) for k in labels], dtype=float)
    return X, labels


def _fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BayesianMixture(**params).fit(X)


# -- (e) the Dirichlet process keeps the four clusters -------------------------------
@pytest.mark.parametrize("family", ["bernoulli", "poisson", "categorical"])
def test_dirichlet_process_puts_the_weight_on_four_components(family):
    X, labels = _clusters(family)
    model = _fit(X, n_components=20, family=family, random_state=0)
    assert model.converged_
    weights = np.sort(model.weights_)[::-1]
    assert weights[:4].sum() > 0.99, weights
    assert model.effective_components().size == 4
    assert adjusted_rand_score(labels, model.predict(X)) > 0.95
    np.testing.assert_array_equal(model.fit_predict(X), model.predict(X))


# -- (f) bad input -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("family", "message"),
    [
        ("dirichlet_multinomial", "no conjugate prior"),
        ("weibull", "supported families are"),
    ],
)
def test_families_without_a_conjugate_prior_are_refused(family, message):
    X = np.random.RandomState(0).poisson(3.0, size=(20, 2)).astype(float)
    with pytest.raises(ValueError, match=message) as info:
        BayesianMixture(2, family=family).fit(X)
    assert "'bernoulli', 'categorical', 'gaussian', 'multinomial', 'poisson'" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"weight_concentration_prior": 0.0}, "weight_concentration_prior"),
        ({"weight_concentration_prior": -1.0}, "weight_concentration_prior"),
        ({"prior": {"shape": 0.0}}, "shape must be"),
        ({"prior": {"rate": [1.0, -2.0, 1.0, 1.0]}}, "rate must be"),
        ({"prior": {"rate": [1.0, 2.0]}}, r"shape \(4,\)"),
        ({"prior": {"shape": [[1.0]]}}, r"shape \(4,\)"),
        ({"prior": {"alpha": 2.0}}, "Gamma has no parameter 'alpha'"),
        ({"prior": Beta.checked(1.0, 1.0, 4)}, "prior must be a Gamma"),
        ({"weight_concentration_prior_type": "pitman_yor"}, "dirichlet_process"),
    ],
)
def test_bad_hyperparameters_are_refused(params, message):
    X, _ = _clusters("poisson", n=40)
    with pytest.raises(ValueError, match=message):
        BayesianMixture(2, family="poisson", **params).fit(X)


def test_data_outside_the_support_is_refused():
    with pytest.raises(DataValidationError, match="binary"):
        BayesianMixture(2, family="bernoulli").fit([[0, 1], [2, 0], [1, 1]])
    with pytest.raises(DataValidationError, match="non-negative integer"):
        BayesianMixture(2, family="poisson").fit([[0, 1], [-2, 0], [1, 1]])
    with pytest.raises(ValueError, match="concentration"):
        BayesianMixture(
            2, family="categorical", prior={"concentration": [1.0, 2.0]}
        ).fit([["a", "x"], ["b", "y"], ["a", "z"]])


# -- (g) pruning ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "family", ["bernoulli", "poisson", "categorical", "multinomial"]
)
def test_prune_gives_a_plain_fitted_estimator(family, tmp_path):
    X, _ = _clusters(family, n=400, seed=1)
    model = _fit(X, n_components=10, family=family, random_state=0, max_iter=100)
    kept = model.effective_components(threshold=0.05)
    np.testing.assert_array_equal(kept, np.flatnonzero(model.weights_ > 0.05))
    pruned = model.prune(threshold=0.05)
    assert type(pruned) is PLAIN[family]
    assert pruned.n_components == kept.size
    np.testing.assert_allclose(pruned.weights_.sum(), 1.0)
    np.testing.assert_allclose(
        pruned.weights_, model.weights_[kept] / model.weights_[kept].sum()
    )
    # the same clustering, up to the removed components' labels
    agreement = np.mean(kept[pruned.predict(X)] == model.predict(X))
    assert agreement > 0.97
    assert np.isfinite(pruned.score(X))
    samples, sample_labels = pruned.sample(5)
    assert samples.shape[0] == 5 and sample_labels.max() < kept.size
    path = tmp_path / "pruned.mixtura"
    save(pruned, path)
    np.testing.assert_array_equal(load(path).predict(X), pruned.predict(X))


def test_prune_bayesian_gaussian_mixture(tmp_path):
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + 8])
    for covariance_type in ("full", "tied", "diag", "spherical"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = BayesianGaussianMixture(
                n_components=6, covariance_type=covariance_type, random_state=0
            ).fit(X)
        kept = model.effective_components()
        assert kept.size == 2
        pruned = model.prune()
        assert isinstance(pruned, GaussianMixture)
        assert pruned.covariance_type == covariance_type
        np.testing.assert_allclose(pruned.means_, model.means_[kept])
        np.testing.assert_array_equal(kept[pruned.predict(X)], model.predict(X))
        path = tmp_path / f"{covariance_type}.mixtura"
        save(pruned, path)
        np.testing.assert_allclose(load(path).score_samples(X), pruned.score_samples(X))


def test_prune_refuses_bad_thresholds():
    X, _ = _clusters("poisson", n=100)
    model = _fit(X, n_components=3, family="poisson", random_state=0)
    with pytest.raises(ValueError, match="threshold"):
        model.effective_components(1.5)
    with pytest.raises(ValueError, match="no component"):
        model.prune(threshold=0.999)


# -- (h) sparse multinomial input ---------------------------------------------------
def test_sparse_multinomial_gives_the_dense_fit():
    X, labels = _clusters("multinomial", n=300, seed=2)
    params = {
        "n_components": 8,
        "family": "multinomial",
        "init_params": labels % 3,
        "max_iter": 30,
        "tol": 0.0,
    }
    dense = _fit(X, **params)
    sparse = _fit(scipy.sparse.csr_matrix(X), **params)
    np.testing.assert_allclose(sparse.lower_bounds_, dense.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(sparse.concentration_, dense.concentration_, rtol=1e-10)
    np.testing.assert_allclose(
        sparse.predict_proba(scipy.sparse.csr_matrix(X)),
        dense.predict_proba(X),
        atol=1e-10,
    )


# -- the scikit-learn API ---------------------------------------------------------
def test_categorical_labels_and_attributes():
    X, _ = _clusters("categorical", n=200)
    model = _fit(X, n_components=5, family="categorical", random_state=0)
    assert [c.tolist() for c in model.categories_] == [list("abcde")] * 6
    assert model.concentration_.shape == (5, 30)
    assert model.concentration_prior_.shape == (30,)
    np.testing.assert_allclose(model.probabilities_.sum(axis=1), 6.0)
    assert model.predict_proba(X[:7]).shape == (7, 5)
    with pytest.raises(DataValidationError, match="never saw"):
        model.predict([["z"] * 6])


def test_warm_start_continues_and_the_bound_keeps_rising():
    X, _ = _clusters("bernoulli", n=300)
    model = BayesianMixture(
        6, family="bernoulli", max_iter=3, tol=0.0, warm_start=True, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = model.fit(X).lower_bound_
        second = model.fit(X).lower_bounds_
    assert second[0] >= first - 1e-12
    assert model.alpha_.shape == (6, 16)
    assert model.alpha_prior_.shape == (16,)


def test_default_gamma_rate_matches_each_feature_mean():
    X, _ = _clusters("poisson", n=200)
    model = _fit(X, n_components=2, family="poisson", random_state=0)
    # the same default as DirichletProcessMixture's: each feature's own mean
    np.testing.assert_allclose(model.rate_prior_, 1.0 / X.mean(axis=0))
    assert isinstance(model.prior_, Gamma)
    np.testing.assert_allclose(model.rates_, model.shape_ / model.rate_)
    samples, _ = model.sample(10)
    assert samples.shape == (10, 4)


def test_integer_sample_weights_count_rows_that_many_times():
    X, labels = _clusters("bernoulli", n=120)
    weights = np.random.RandomState(0).randint(1, 4, size=120)
    params = {"n_components": 5, "family": "bernoulli", "max_iter": 20, "tol": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = BayesianMixture(init_params=labels, **params).fit(
            X, sample_weight=weights
        )
    repeated = _fit(
        np.repeat(X, weights, axis=0),
        init_params=np.repeat(labels, weights),
        **params,
    )
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_)
    np.testing.assert_allclose(weighted.alpha_, repeated.alpha_)


def test_saving_the_variational_model_points_to_prune(tmp_path):
    X, _ = _clusters("poisson", n=100)
    model = _fit(X, n_components=3, family="poisson", random_state=0)
    with pytest.raises(NotImplementedError, match="cannot store"):
        save(model, tmp_path / "model.mixtura")
