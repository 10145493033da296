"""BernoulliMixture, PoissonMixture and CategoricalMixture."""

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score

import mixtura
from mixtura import BernoulliMixture, CategoricalMixture, PoissonMixture
from mixtura.datasets import load_carcinoma
from mixtura.exceptions import DataValidationError

REFERENCE = Path(__file__).parents[1] / "reference" / "lca_flexmix_carcinoma.csv"


def _match(estimated, truth):
    """Permutation of the estimated components that best matches the true ones."""
    cost = np.abs(estimated[:, None, :] - truth[None, :, :]).sum(axis=2)
    rows, columns = linear_sum_assignment(cost)
    return rows[np.argsort(columns)]


def _simulate(rng, weights, sampler, n_samples):
    labels = rng.choice(len(weights), size=n_samples, p=weights)
    return sampler(labels), labels


# -- Bernoulli ----------------------------------------------------------------------
def _bernoulli_truth(rng, n_components=3, n_features=20):
    return rng.choice([0.1, 0.25, 0.75, 0.9], size=(n_components, n_features))


def test_bernoulli_recovers_parameters_and_labels():
    rng = np.random.RandomState(0)
    weights = np.array([0.5, 0.3, 0.2])
    truth = _bernoulli_truth(rng)
    X, labels = _simulate(
        rng, weights, lambda z: (rng.uniform(size=(z.size, 20)) < truth[z]) * 1.0, 6000
    )
    model = BernoulliMixture(3, n_init=3, random_state=0).fit(X)
    order = _match(model.probabilities_, truth)
    # standard error of a probability from >= 1200 rows is <= 0.015
    np.testing.assert_allclose(model.probabilities_[order], truth, atol=0.05)
    np.testing.assert_allclose(model.weights_[order], weights, atol=0.02)
    assert adjusted_rand_score(labels, model.predict(X)) > 0.95


def _flexmix_reference():
    with open(REFERENCE) as handle:
        rows = list(csv.DictReader(handle))
    reference = {}
    for k in sorted({int(row["n_components"]) for row in rows}):
        mine = [row for row in rows if int(row["n_components"]) == k]
        reference[k] = (
            float(mine[0]["loglik"]),
            np.array([float(row["weight"]) for row in mine]),
            np.array([[float(row[c]) for c in "ABCDEFG"] for row in mine]),
        )
    return reference


@pytest.mark.parametrize("n_components", [2, 3])
def test_latent_class_analysis_matches_flexmix(n_components):
    # reference: Rscript tests/reference/lca_flexmix.R (flexmix, 200 restarts)
    loglik, weights, probabilities = _flexmix_reference()[n_components]
    X = load_carcinoma() - 1
    model = BernoulliMixture(
        n_components,
        n_init=20,
        init_params="random",
        tol=1e-10,
        max_iter=5000,
        random_state=0,
    ).fit(X)
    assert model.score(X) * X.shape[0] == pytest.approx(loglik, abs=1e-4)
    order = _match(model.probabilities_, probabilities)
    np.testing.assert_allclose(model.probabilities_[order], probabilities, atol=1e-4)
    np.testing.assert_allclose(model.weights_[order], weights, atol=1e-4)


def test_beta_prior_keeps_probabilities_off_the_boundary():
    X = load_carcinoma() - 1
    ml = BernoulliMixture(3, n_init=5, random_state=0).fit(X)
    assert ml.probabilities_.min() < 1e-6  # carcinoma's ML solution has zeros
    map_ = BernoulliMixture(3, alpha=2.0, beta=2.0, n_init=5, random_state=0).fit(X)
    assert map_.probabilities_.min() > 1e-3
    assert map_.probabilities_.max() < 1 - 1e-3


def test_bernoulli_refuses_non_binary_data_and_binarize_thresholds():
    X = np.array([[0, 1], [1, 2], [0, 0], [1, 1]], dtype=float)
    with pytest.raises(DataValidationError, match=r"binary.*column 1 holds 2"):
        BernoulliMixture(2).fit(X)
    model = BernoulliMixture(2, binarize=0.5, random_state=0).fit(X)
    assert model.predict(X).shape == (4,)


# -- Poisson ------------------------------------------------------------------------
def test_poisson_recovers_parameters_and_labels():
    rng = np.random.RandomState(1)
    weights = np.array([0.4, 0.35, 0.25])
    truth = np.array(
        [[1.0, 8.0, 3.0, 0.5], [6.0, 1.0, 3.0, 9.0], [15.0, 15.0, 1.0, 4.0]]
    )
    X, labels = _simulate(
        rng, weights, lambda z: rng.poisson(truth[z]).astype(float), 6000
    )
    model = PoissonMixture(3, n_init=3, random_state=0).fit(X)
    order = _match(model.rates_, truth)
    # relative standard error of a rate from >= 1500 rows: <= 3.7 % (rate 0.5)
    np.testing.assert_allclose(model.rates_[order], truth, rtol=0.08)
    np.testing.assert_allclose(model.weights_[order], weights, atol=0.02)
    assert adjusted_rand_score(labels, model.predict(X)) > 0.95


@pytest.mark.parametrize(("value", "kind"), [(-2.0, "negative"), (0.5, "non-integer")])
def test_poisson_refuses_non_counts(value, kind):
    X = np.arange(12, dtype=float).reshape(6, 2)
    X[3, 0] = value
    with pytest.raises(DataValidationError, match=rf"column 0 holds the {kind}"):
        PoissonMixture(2).fit(X)
    fitted = PoissonMixture(2, random_state=0).fit(np.abs(np.round(X)))
    with pytest.raises(DataValidationError, match=kind):
        fitted.predict(X)


def test_gamma_prior_shrinks_rates():
    rng = np.random.RandomState(2)
    X = rng.poisson(0.2, size=(50, 3)).astype(float)
    ml = PoissonMixture(1).fit(X)
    map_ = PoissonMixture(1, gamma_shape=3.0, gamma_rate=1.0).fit(X)
    # one component: closed form (sum x + shape - 1) / (n + rate)
    np.testing.assert_allclose(ml.rates_[0], X.mean(axis=0))
    np.testing.assert_allclose(map_.rates_[0], (X.sum(axis=0) + 2) / 51)


# -- model files ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "data"),
    [
        (BernoulliMixture(3, alpha=1.5, random_state=0), lambda: load_carcinoma() - 1),
        (
            PoissonMixture(2, gamma_shape=2.0, random_state=0),
            lambda: np.random.RandomState(0).poisson(3.0, size=(80, 4)),
        ),
        (CategoricalMixture(2, random_state=0), lambda: load_carcinoma()),
    ],
    ids=["bernoulli", "poisson", "categorical-codes"],
)
def test_round_trip_through_a_model_file(tmp_path, model, data):
    X = data()
    model.fit(X)
    path = tmp_path / "model.mixtura"
    mixtura.save(model, path)
    loaded = mixtura.load(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


# -- categorical ---------------------------------------------------------------------
def _survey(rng, n_samples=3000):
    levels = [["no", "yes"], ["low", "mid", "high"], ["a", "b", "c", "d"]]
    truth = [
        np.array([[0.9, 0.1], [0.2, 0.8]]),
        np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]]),
        np.array([[0.4, 0.4, 0.1, 0.1], [0.05, 0.05, 0.45, 0.45]]),
    ]
    labels = rng.choice(2, size=n_samples, p=[0.6, 0.4])
    columns = [
        np.array(level)[
            (rng.uniform(size=(n_samples, 1)) > np.cumsum(p, axis=1)[labels]).sum(1)
        ]
        for level, p in zip(levels, truth, strict=True)
    ]
    return np.column_stack(columns).astype(object), labels, levels, truth


def test_categorical_recovers_item_probabilities_from_strings():
    X, labels, levels, truth = _survey(np.random.RandomState(3))
    model = CategoricalMixture(2, n_init=3, random_state=0).fit(X)
    assert [c.tolist() for c in model.categories_] == [sorted(v) for v in levels]
    order = _match(model.item_probabilities_[0], truth[0])
    for j, (level, p) in enumerate(zip(levels, truth, strict=True)):
        estimated = model.item_probabilities_[j][order]
        assert estimated.shape == (2, len(level))
        np.testing.assert_allclose(estimated.sum(axis=1), 1.0)
        # categories_ are sorted: reorder the true columns the same way
        np.testing.assert_allclose(estimated, p[:, np.argsort(level)], atol=0.05)
    assert adjusted_rand_score(labels, model.predict(X)) > 0.5


def test_strings_pandas_categoricals_and_codes_give_the_same_fit():
    pd = pytest.importorskip("pandas")
    X, _, _, _ = _survey(np.random.RandomState(4), 500)
    frame = pd.DataFrame(X, columns=["p", "q", "r"]).astype("category")
    codes = np.column_stack(
        [np.unique(X[:, j], return_inverse=True)[1] for j in range(3)]
    )
    fits = [
        CategoricalMixture(2, random_state=0).fit(data) for data in (X, frame, codes)
    ]
    for fit in fits[1:]:
        np.testing.assert_allclose(fit.probabilities_, fits[0].probabilities_)
        assert fit.lower_bound_ == pytest.approx(fits[0].lower_bound_)
    np.testing.assert_allclose(fits[1].predict_proba(frame), fits[0].predict_proba(X))


def test_pandas_declared_category_order_is_kept():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {"size": pd.Categorical(["S", "L", "M", "S"], categories=["S", "M", "L"])}
    )
    model = CategoricalMixture(1).fit(frame)
    assert model.categories_[0].tolist() == ["S", "M", "L"]
    np.testing.assert_allclose(model.item_probabilities_[0], [[0.5, 0.25, 0.25]])


def test_categorical_on_binary_items_is_the_bernoulli_latent_class_model():
    X = load_carcinoma()  # ratings 1 / 2
    settings = {"n_init": 10, "init_params": "random", "tol": 1e-10, "max_iter": 3000}
    categorical = CategoricalMixture(3, random_state=0, **settings).fit(X)
    bernoulli = BernoulliMixture(3, random_state=0, **settings).fit(X - 1)
    assert categorical.score(X) == pytest.approx(bernoulli.score(X - 1), abs=1e-8)


def test_unseen_level_at_predict_time_is_a_clear_error():
    X = np.array([["a", "x"], ["b", "y"], ["a", "y"]], dtype=object)
    model = CategoricalMixture(1).fit(X)
    with pytest.raises(DataValidationError, match=r"column 1 holds the level 'z'"):
        model.predict(np.array([["a", "z"]], dtype=object))


def test_missing_values_are_refused():
    X = np.array([["a", "x"], ["b", None]], dtype=object)
    with pytest.raises(DataValidationError, match="column 1 has 1 missing"):
        CategoricalMixture(1).fit(X)


def test_string_levels_survive_a_model_file(tmp_path):
    X, _, _, _ = _survey(np.random.RandomState(5), 300)
    model = CategoricalMixture(2, random_state=0).fit(X)
    path = tmp_path / "model.mixtura"
    mixtura.save(model, path)
    loaded = mixtura.load(path)
    for mine, theirs in zip(loaded.categories_, model.categories_, strict=True):
        assert mine.tolist() == theirs.tolist()
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with pytest.raises(DataValidationError, match="never saw"):
        loaded.predict(np.array([["maybe", "low", "a"]], dtype=object))


@pytest.mark.parametrize(
    ("family", "cls", "data"),
    [
        ("bernoulli", BernoulliMixture, lambda rng: rng.randint(0, 2, size=(200, 5))),
        ("poisson", PoissonMixture, lambda rng: rng.poisson(3.0, size=(200, 5))),
    ],
)
def test_generic_mixture_model_gives_the_same_fit(family, cls, data):
    X = data(np.random.RandomState(0)).astype(float)
    generic = mixtura.MixtureModel(2, family=family, random_state=0).fit(X)
    specific = cls(2, random_state=0).fit(X)
    assert generic.lower_bound_ == pytest.approx(specific.lower_bound_, rel=1e-12)
    np.testing.assert_array_equal(generic.predict(X), specific.predict(X))


def test_float32_data_give_a_float32_model():
    X = (load_carcinoma() - 1).astype(np.float32)
    model = BernoulliMixture(2, random_state=0).fit(X)
    assert model.probabilities_.dtype == np.float32
    assert model.predict_proba(X).dtype == np.float32
