"""The fitted mixture is the estimators' one fitted state, and failed fits keep it."""

import numpy as np
import pytest

from mixtura import (
    BayesianGaussianMixture,
    BayesianMixture,
    GaussianMixture,
    MixtureModel,
    PoissonMixture,
    load,
    save,
)


def _two_blobs(seed=0):
    rng = np.random.RandomState(seed)
    return np.concatenate([rng.randn(40, 2), rng.randn(40, 2) + 6.0])


@pytest.mark.parametrize(
    "estimator",
    [
        GaussianMixture(2, random_state=0),
        GaussianMixture(2, noise=True, random_state=0),
        PoissonMixture(2, random_state=0),
    ],
)
def test_predictions_use_one_mixture_built_once_per_fit(estimator):
    X = np.abs(np.round(_two_blobs()))
    model = estimator.fit(X)
    first = model._fitted_mixture()
    model.predict(X)
    model.score_samples(X)
    assert model._fitted_mixture() is first
    model.fit(X[::-1])
    assert model._fitted_mixture() is not first


def test_a_loaded_model_predicts_bit_for_bit_from_its_stored_mixture(tmp_path):
    X = _two_blobs().astype(np.float32)
    model = GaussianMixture(2, covariance_type="full", random_state=0).fit(X)
    save(model, tmp_path / "m.mixtura")
    loaded = load(tmp_path / "m.mixtura")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


@pytest.mark.parametrize(
    ("estimator", "dtype"),
    [
        (GaussianMixture(2, covariance_type=kind, random_state=0), dtype)
        for kind in ("full", "tied", "diag", "spherical")
        for dtype in (np.float64, np.float32)
    ]
    + [
        (GaussianMixture(2, noise=True, random_state=0), np.float64),
        (PoissonMixture(2, random_state=0), np.float64),
        (MixtureModel(2, family="poisson", random_state=0), np.float64),
    ],
)
def test_the_fitted_attributes_are_those_the_fitted_mixture_gives(estimator, dtype):
    """What a model file restores (the mixture) gives back every attribute exactly."""
    model = estimator.fit(np.abs(np.round(_two_blobs())).astype(dtype))
    mixture = model._fitted_mixture()
    attributes = {
        name: value
        for name, value in vars(model).items()
        if name.endswith("_") and isinstance(value, np.ndarray)
    }
    assert attributes
    model._set_fitted(mixture, dtype)
    for name, value in attributes.items():
        assert getattr(model, name).dtype == value.dtype, name
        np.testing.assert_array_equal(getattr(model, name), value, err_msg=name)


@pytest.mark.parametrize(
    "estimator",
    [
        BayesianGaussianMixture(n_components=3, random_state=0),
        BayesianMixture(3, family="poisson", random_state=0),
    ],
)
def test_variational_estimators_keep_their_posterior_as_one_object(estimator):
    X = np.abs(np.round(_two_blobs()))
    model = estimator.fit(X)
    state = model._fitted_state()
    mixture = model._fitted_mixture()
    model.predict(X)
    model.sample(5)
    assert model._fitted_state() is state
    assert model._fitted_mixture() is mixture
    np.testing.assert_array_equal(model.weights_, state.weights())


def test_a_failed_fit_leaves_the_prior_and_the_noise_region_as_they_were():
    X = _two_blobs()
    model = GaussianMixture(2, random_state=0).fit(X)
    means, labels = model.means_.copy(), model.predict(X)
    assert model.prior_ is None
    model.set_params(prior="default", noise=True, means_init=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="means_init"):
        model.fit(X)
    assert model.prior_ is None
    assert model._noise_region is None
    np.testing.assert_array_equal(model.means_, means)
    np.testing.assert_array_equal(model.predict(X), labels)
    # and a fit that succeeds takes the new prior
    model.set_params(means_init=None).fit(X)
    assert model.prior_ is not None
    assert model._noise_region is not None
