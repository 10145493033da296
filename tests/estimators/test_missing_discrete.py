"""missing='em' in the Bernoulli, Poisson, categorical and tabular mixtures."""

import warnings

import numpy as np
import pytest

from mixtura import (
    BernoulliMixture,
    CategoricalMixture,
    DirichletMultinomialMixture,
    MultinomialMixture,
    PoissonMixture,
    TabularMixture,
)
from mixtura.exceptions import DataValidationError


def _latent_classes(n=3000, d=8, seed=0):
    """Two latent classes of binary items with known probabilities."""
    rng = np.random.default_rng(seed)
    probabilities = np.array([np.linspace(0.1, 0.4, d), np.linspace(0.9, 0.6, d)])
    labels = rng.integers(0, 2, size=n)
    X = (rng.random((n, d)) < probabilities[labels]).astype(float)
    return X, labels, probabilities


def _counts(n=2000, d=4, seed=1):
    rng = np.random.default_rng(seed)
    rates = np.array([[1.0, 2.0, 0.5, 3.0], [8.0, 6.0, 9.0, 5.0]])[:, :d]
    labels = rng.integers(0, 2, size=n)
    return rng.poisson(rates[labels]).astype(float), labels, rates


def _holes(X, fraction, seed=2):
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    return X


def _match(estimated, truth):
    """Estimated rows reordered to the truth's (two components)."""
    direct = np.abs(estimated - truth).sum()
    swapped = np.abs(estimated[::-1] - truth).sum()
    return estimated if direct <= swapped else estimated[::-1]


def _bounds(model, X):
    bounds = []
    model.set_params(callback=lambda info: bounds.append(info.lower_bound))
    model.fit(X)
    return np.array(bounds)


@pytest.mark.parametrize(
    "make, data",
    [
        (
            lambda: BernoulliMixture(3, missing="em", tol=0, max_iter=60),
            _latent_classes,
        ),
        (lambda: PoissonMixture(3, missing="em", tol=0, max_iter=60), _counts),
    ],
    ids=["bernoulli", "poisson"],
)
def test_log_likelihood_never_decreases_with_30_percent_missing(make, data):
    X = _holes(data(n=1500)[0], 0.3)
    model = make().set_params(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=0 never converges
        bounds = _bounds(model, X)
    assert len(bounds) == 60
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


@pytest.mark.parametrize(
    "estimator, data",
    [
        (BernoulliMixture, lambda: _latent_classes(n=600)[0]),
        (PoissonMixture, lambda: _counts(n=600)[0]),
        (CategoricalMixture, lambda: np.random.default_rng(0).integers(0, 3, (400, 3))),
    ],
    ids=["bernoulli", "poisson", "categorical"],
)
def test_without_nan_missing_em_is_exactly_the_ordinary_fit(estimator, data):
    X = data()
    plain = estimator(2, random_state=0).fit(X)
    em = estimator(2, random_state=0, missing="em").fit(X)
    assert em.lower_bounds_ == plain.lower_bounds_
    np.testing.assert_array_equal(em.weights_, plain.weights_)
    np.testing.assert_array_equal(em.predict(X), plain.predict(X))


def test_bernoulli_em_recovers_the_classes_better_than_complete_cases():
    X, _, truth = _latent_classes(n=3000, d=8)
    holed = _holes(X, 0.3)
    complete = holed[~np.isnan(holed).any(axis=1)]
    em = BernoulliMixture(2, missing="em", random_state=0, n_init=2).fit(holed)
    cc = BernoulliMixture(2, random_state=0, n_init=2).fit(complete)
    em_error = np.abs(_match(em.probabilities_, truth) - truth).mean()
    cc_error = np.abs(_match(cc.probabilities_, truth) - truth).mean()
    full = BernoulliMixture(2, random_state=0, n_init=2).fit(X)
    full_error = np.abs(_match(full.probabilities_, truth) - truth).mean()
    # 30% MCAR over 8 items leaves 180 complete rows of 3000; mean absolute
    # errors measured: EM 0.0095, complete cases 0.043, the data before the holes
    # were punched 0.0064
    assert em_error < cc_error, (em_error, cc_error, len(complete))
    assert em_error < 0.03, (em_error, full_error)


def test_poisson_em_recovers_rates_with_missing_counts():
    X, _, truth = _counts(n=3000)
    em = PoissonMixture(2, missing="em", random_state=0).fit(_holes(X, 0.3))
    np.testing.assert_allclose(_match(em.rates_, truth), truth, rtol=0.08)


def test_one_component_fit_is_the_observed_column_mean():
    X = _holes(_counts(n=500)[0], 0.4)
    model = PoissonMixture(1, missing="em").fit(X)
    np.testing.assert_allclose(model.rates_[0], np.nanmean(X, axis=0), rtol=1e-12)
    binary = _holes(_latent_classes(n=500)[0], 0.4)
    model = BernoulliMixture(1, missing="em").fit(binary)
    np.testing.assert_allclose(
        model.probabilities_[0], np.nanmean(binary, axis=0), rtol=1e-12
    )


def test_a_row_with_nothing_observed_gets_the_weights_and_a_warning():
    X = _holes(_latent_classes(n=800)[0], 0.2)
    model = BernoulliMixture(2, missing="em", random_state=0).fit(X)
    rows = np.vstack([np.full(X.shape[1], np.nan), X[:3]])
    with pytest.warns(UserWarning, match="nothing observed"):
        proba = model.predict_proba(rows)
    np.testing.assert_allclose(proba[0], model.weights_, rtol=1e-12)


def test_binarize_keeps_missing_entries_missing():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X[5, 1] = np.nan
    model = BernoulliMixture(2, binarize=0.0, missing="em", random_state=0).fit(X)
    binary = np.where(np.isnan(X), np.nan, (X > 0).astype(float))
    reference = BernoulliMixture(2, missing="em", random_state=0).fit(binary)
    np.testing.assert_allclose(model.probabilities_, reference.probabilities_)


def test_categorical_strings_with_none_and_nan():
    rng = np.random.default_rng(0)
    levels = np.array(["a", "b", "c"], dtype=object)
    X = levels[rng.integers(0, 3, size=(300, 3))]
    X[::7, 0] = None
    X[::11, 2] = np.nan
    with pytest.raises(DataValidationError, match="missing='em'"):
        CategoricalMixture(2).fit(X)
    model = CategoricalMixture(2, missing="em", random_state=0).fit(X)
    assert [c.tolist() for c in model.categories_] == [["a", "b", "c"]] * 3
    assert np.all(np.isfinite(model.score_samples(X)))
    # the observed entries alone decide: a row with one hole scores as the
    # marginal over its other columns
    proba = model.predict_proba(X[:1])
    assert proba.shape == (1, 2)


def test_categorical_column_with_nothing_observed_is_an_error():
    X = np.array([["a", None], ["b", None], ["a", None]], dtype=object)
    with pytest.raises(DataValidationError, match="no observed value"):
        CategoricalMixture(1, missing="em").fit(X)


def test_infinity_is_still_an_error_with_missing_em():
    X = _latent_classes(n=100)[0]
    X[3, 2] = np.inf
    with pytest.raises(DataValidationError, match="infinity"):
        BernoulliMixture(2, missing="em").fit(X)
    strings = np.array([["a", 1.0], ["b", np.inf]], dtype=object)
    with pytest.raises(DataValidationError, match="infinite"):
        CategoricalMixture(1, missing="em").fit(strings)


@pytest.mark.parametrize("cls", [MultinomialMixture, DirichletMultinomialMixture])
def test_count_mixtures_refuse_missing_values_and_say_why(cls):
    X = np.array([[1.0, 2.0, np.nan], [0.0, 3.0, 1.0]] * 5)
    # the default error does not suggest missing='em', which cannot help here
    with pytest.raises(DataValidationError, match="no missing-value handling"):
        cls(2).fit(X)
    with pytest.raises(ValueError, match="a missing count leaves its length"):
        cls(2, missing="em").fit(X)
    # a fitted model is left as it was by the refused call
    counts = np.random.default_rng(0).poisson(3.0, size=(20, 3)).astype(float)
    model = cls(2, random_state=0).fit(counts)
    weights = model.weights_.copy()
    with pytest.raises(ValueError, match="not available"):
        model.set_params(missing="em").fit(X)
    np.testing.assert_array_equal(model.weights_, weights)


def test_partial_fit_takes_batches_with_holes():
    X = _holes(_latent_classes(n=2000)[0], 0.25)
    model = BernoulliMixture(2, missing="em", random_state=0)
    for batch in np.array_split(X, 10):
        model.partial_fit(batch)
    batch_fit = BernoulliMixture(2, missing="em", random_state=0).fit(X)
    assert model.score(X) == pytest.approx(batch_fit.score(X), rel=0.01)


@pytest.mark.filterwarnings("ignore:1 row\\(s\\) have nothing observed")
def test_dask_fit_with_holes_equals_the_in_memory_fit():
    da = pytest.importorskip("dask.array")
    X = _holes(_counts(n=1200)[0], 0.2)
    start = PoissonMixture(2, missing="em", random_state=0, max_iter=3).fit(X)
    labels = start.predict(X)
    memory = PoissonMixture(2, missing="em", init_params=labels, max_iter=20).fit(X)
    lazy = PoissonMixture(2, missing="em", init_params=labels, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy.fit(da.from_array(X, chunks=(250, 4)))
    assert lazy.lower_bound_ == pytest.approx(memory.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(lazy.rates_, memory.rates_, rtol=1e-9)


@pytest.mark.filterwarnings("ignore:1 row\\(s\\) have nothing observed")
def test_tabular_mixture_with_missing_cells():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=600)
    table = pd.DataFrame(
        {
            "length": rng.normal(np.where(labels, 5.0, 0.0), 1.0),
            "smoker": pd.array(rng.random(600) < np.where(labels, 0.9, 0.1)),
            "colour": pd.Categorical(np.where(labels, "red", "blue")),
            "visits": pd.array(rng.poisson(np.where(labels, 8, 1)), dtype="Int64"),
        }
    )
    holes = rng.random(table.shape) < 0.2
    holed = table.copy()
    holed["length"] = holed["length"].mask(holes[:, 0])
    holed["smoker"] = holed["smoker"].mask(holes[:, 1])
    holed["colour"] = holed["colour"].mask(holes[:, 2])
    holed["visits"] = holed["visits"].mask(holes[:, 3])
    with pytest.raises(DataValidationError, match="missing"):
        TabularMixture(2).fit(holed)
    model = TabularMixture(2, missing="em", random_state=0).fit(holed)
    assert model.column_families_ == ["gaussian", "bernoulli", "categorical", "poisson"]
    predicted = model.predict(holed)
    agreement = max(np.mean(predicted == labels), np.mean(predicted != labels))
    assert agreement > 0.97
    plain = TabularMixture(2, random_state=0).fit(table)
    same = TabularMixture(2, missing="em", random_state=0).fit(table)
    assert same.lower_bounds_ == plain.lower_bounds_


def _vb_one_component(X, **params):
    from mixtura import BayesianMixture

    model = BayesianMixture(
        1,
        weight_concentration_prior_type="dirichlet_distribution",
        tol=0.0,
        max_iter=3,
        missing="em",
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    return model.lower_bound_ * X.shape[0]


def test_variational_bound_with_holes_is_the_marginal_of_the_observed_entries():
    from scipy.special import betaln, gammaln

    binary = _holes(_latent_classes(n=300, d=5)[0], 0.3)
    observed = ~np.isnan(binary)
    s, n = np.nansum(binary, axis=0), observed.sum(axis=0)
    expected = np.sum(betaln(2.0 + s, 3.0 + n - s) - betaln(2.0, 3.0))
    bound = _vb_one_component(
        binary, family="bernoulli", prior={"alpha": 2.0, "beta": 3.0}
    )
    assert bound == pytest.approx(expected, abs=1e-8)

    counts = _holes(_counts(n=300)[0], 0.3)
    observed = ~np.isnan(counts)
    s, n = np.nansum(counts, axis=0), observed.sum(axis=0)
    a, b = 2.0, 0.5
    expected = np.sum(
        a * np.log(b) - gammaln(a) + gammaln(a + s) - (a + s) * np.log(b + n)
    ) - np.nansum(gammaln(counts + 1))
    bound = _vb_one_component(counts, family="poisson", prior={"shape": a, "rate": b})
    assert bound == pytest.approx(expected, abs=1e-8)


@pytest.mark.filterwarnings("ignore:1 row\\(s\\) have nothing observed")
def test_variational_categorical_with_missing_labels():
    from mixtura import BayesianMixture

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=400)
    X = np.where(
        rng.random((400, 4)) < 0.9, labels[:, None], 1 - labels[:, None]
    ).astype(object)
    X[rng.random(X.shape) < 0.2] = None
    model = BayesianMixture(6, family="categorical", missing="em", random_state=0)
    model.fit(X)
    assert np.sort(model.weights_)[-2:].sum() > 0.95
    predicted = model.predict(X)
    top = np.argsort(model.weights_)[-2:]
    assert set(np.unique(predicted)) <= set(top.tolist())
