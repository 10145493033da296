"""``random_state`` takes a :class:`numpy.random.Generator` everywhere (issue 18)."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from mixtura import select
from mixtura._random import check_random_state
from mixtura.estimators import (
    COMPOSITE_ESTIMATORS,
    CONDITIONAL_ESTIMATORS,
    ESTIMATORS,
)

# settings that bring the positive integer rows below into each family's support
SETTINGS = {
    "BernoulliMixture": {"binarize": 3.5},
    "BayesianMixture": {"family": "poisson"},
    "VonMisesFisherMixture": {"normalize": True},
}
X = np.random.RandomState(0).poisson(3, size=(60, 3)) + 1


def _mixture(name, random_state):
    cls = ESTIMATORS[name]
    if name == "DirichletProcessMixture":
        return cls(n_iter=10, random_state=random_state)
    return cls(n_components=2, random_state=random_state, **SETTINGS.get(name, {}))


def _fitted_values(model):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return model.score_samples(X)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_generator_fits_reproducibly(name):
    first = _fitted_values(_mixture(name, np.random.default_rng(0)).fit(X))
    again = _fitted_values(_mixture(name, np.random.default_rng(0)).fit(X))
    np.testing.assert_array_equal(first, again)


def test_generator_is_consumed_by_each_fit():
    rng = np.random.default_rng(0)
    a = _mixture("GaussianMixture", rng).set_params(init_params="random").fit(X)
    b = _mixture("GaussianMixture", rng).set_params(init_params="random").fit(X)
    state = np.random.default_rng(0)
    state.integers(0, 2**32, size=4, dtype=np.uint64)
    # the second fit drew after the first one: a generator advanced by one draw
    c = _mixture("GaussianMixture", state).set_params(init_params="random").fit(X)
    np.testing.assert_array_equal(b.means_, c.means_)
    assert not np.array_equal(a.means_, b.means_)


@pytest.mark.parametrize("name", sorted(CONDITIONAL_ESTIMATORS))
def test_generator_in_regression_estimators(name):
    rng = np.random.RandomState(1)
    x = rng.normal(size=(80, 1))
    y = np.where(rng.uniform(size=80) < 0.5, 2 * x[:, 0], -2 * x[:, 0])
    cls = CONDITIONAL_ESTIMATORS[name]
    fits = [
        cls(2, random_state=np.random.default_rng(0), max_iter=20).fit(x, y)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].predict(x), fits[1].predict(x))


def test_generator_in_composite_estimators():
    rng = np.random.RandomState(2)
    x = rng.normal(size=(80, 2))
    y = x[:, 0] + 0.1 * rng.normal(size=80)
    gmr = COMPOSITE_ESTIMATORS["GaussianMixtureRegression"]
    fits = [gmr(2, random_state=np.random.default_rng(0)).fit(x, y) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].predict(x), fits[1].predict(x))
    draws = [fits[0].sample(x[:3], random_state=np.random.default_rng(5)) for _ in "ab"]
    np.testing.assert_array_equal(draws[0], draws[1])
    labels = (x[:, 0] > 0).astype(int)
    mda = COMPOSITE_ESTIMATORS["MixtureDiscriminantAnalysis"]
    model = mda(n_components=(1, 2), random_state=np.random.default_rng(0))
    assert model.fit(x, labels).score(x, labels) > 0.9


def test_generator_in_select():
    tables = [
        select(X.astype(float), [1, 2], ["VVV"], random_state=np.random.default_rng(0))
        for _ in range(2)
    ]
    assert tables[0].best() == tables[1].best()
    np.testing.assert_array_equal(
        tables[0].best_model_.means_, tables[1].best_model_.means_
    )


def test_check_random_state_kinds():
    state = np.random.RandomState(3)
    assert check_random_state(state) is state
    assert isinstance(
        check_random_state(np.random.default_rng(0)), np.random.RandomState
    )
    assert check_random_state(7).uniform() == np.random.RandomState(7).uniform()
    with pytest.raises(ValueError, match=r"numpy\.random\.Generator; got .seed."):
        check_random_state("seed")


@pytest.mark.parametrize("name", ["GaussianMixture", "PoissonMixture"])
def test_bad_random_state_is_refused_clearly(name):
    with pytest.raises(InvalidParameterError, match=r"random_state.*Generator"):
        _mixture(name, "seed").fit(X)
    with pytest.raises(InvalidParameterError, match=r"random_state.*Generator"):
        CONDITIONAL_ESTIMATORS["MixtureRegression"](2, random_state=1.5).fit(X, X[:, 0])


def test_a_generator_random_state_is_saved_as_none(tmp_path):
    import mixtura

    X = np.random.default_rng(1).normal(size=(60, 2))
    model = mixtura.GaussianMixture(2, random_state=np.random.default_rng(0)).fit(X)
    with pytest.warns(UserWarning, match="random_state"):
        mixtura.save(model, tmp_path / "m.mixtura")
    loaded = mixtura.load(tmp_path / "m.mixtura")
    assert loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
