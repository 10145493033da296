"""``model.summary(X)`` (mixtura.summary) and the selection table's printed summary."""

import json
import math
import warnings

import numpy as np
import pytest

from mixtura import (
    BayesianGaussianMixture,
    BernoulliMixture,
    CategoricalMixture,
    GaussianMixture,
    MixtureModel,
    MixtureOfExperts,
    MixtureRegression,
    MultinomialMixture,
    PoissonMixture,
    StudentMixture,
    VonMisesFisherMixture,
    load,
    save,
    select,
)
from mixtura.exceptions import ConvergenceWarning
from mixtura.summary import Summary


def _blobs(n=150, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[: n // 2] += 4
    return X


def _case(name):
    """(estimator, X) of one estimator family, small."""
    rng = np.random.default_rng(1)
    X = _blobs()
    if name == "gaussian_full":
        return GaussianMixture(2, random_state=0), X
    if name == "gaussian_VEI":
        return GaussianMixture(2, covariance_type="VEI", random_state=0), X
    if name == "gaussian_noise":
        return GaussianMixture(2, noise=True, random_state=0), X
    if name == "bayesian_gaussian":
        return BayesianGaussianMixture(n_components=3, random_state=0), X
    if name == "student":
        return StudentMixture(2, random_state=0), X
    if name == "poisson":
        return PoissonMixture(2, random_state=0), rng.poisson(
            np.where(np.arange(120)[:, None] < 60, 2.0, 9.0), size=(120, 3)
        ).astype(float)
    if name == "bernoulli":
        p = np.where(np.arange(120)[:, None] < 60, 0.2, 0.8)
        return BernoulliMixture(2, random_state=0), (rng.random((120, 5)) < p).astype(
            float
        )
    if name == "categorical":
        codes = rng.integers(0, 3, size=(100, 3))
        return CategoricalMixture(2, random_state=0), codes.astype(str).astype(object)
    if name == "multinomial":
        return MultinomialMixture(2, random_state=0), rng.poisson(
            3.0, size=(80, 6)
        ).astype(float)
    if name == "gamma":
        return MixtureModel(family="gamma", n_components=2, random_state=0), (
            np.abs(X) + 0.1
        )
    if name == "von_mises_fisher":
        directions = X + np.array([1.0, 1.0])
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        return VonMisesFisherMixture(2, random_state=0), directions
    raise KeyError(name)


CASES = [
    "gaussian_full",
    "gaussian_VEI",
    "gaussian_noise",
    "bayesian_gaussian",
    "student",
    "poisson",
    "bernoulli",
    "categorical",
    "multinomial",
    "gamma",
    "von_mises_fisher",
]


def _fitted(name):
    estimator, X = _case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X)
    return estimator, X


@pytest.mark.parametrize("name", CASES)
def test_summary_numbers_are_the_estimators_own(name):
    estimator, X = _fitted(name)
    summary = estimator.summary(X)
    n = len(X)
    assert summary.n_samples == n
    assert summary.n_parameters == estimator._n_parameters()
    assert summary.log_likelihood == pytest.approx(estimator.score(X) * n, rel=1e-10)
    assert summary.bic == pytest.approx(estimator.bic(X), rel=1e-10)
    assert summary.aic == pytest.approx(estimator.aic(X), rel=1e-10)
    assert summary.mclust_bic == -summary.bic
    # ICL as select defines it: BIC plus the hard classification's entropy
    largest = np.max(estimator.predict_proba(X), axis=1)
    icl = estimator.bic(X) - 2 * np.sum(np.log(largest))
    assert summary.icl == pytest.approx(icl, rel=1e-8)
    # the clustering table counts the hard assignments and sums to n
    assert sum(summary.clustering.values()) == n
    labels = np.asarray(estimator.predict(X))
    expected = {str(k): int(np.sum(labels == k)) for k in range(summary.n_components)}
    if summary.noise:
        expected["noise"] = int(np.sum(labels == -1))
    assert summary.clustering == expected
    # the mixing weights (a variational fit's posterior means, its weights_)
    assert np.allclose(summary.weights, estimator._sampling_mixture().weights)
    if not summary.noise:
        assert np.allclose(summary.weights, estimator.weights_)
    assert summary.estimator == type(estimator).__name__
    json.dumps(summary.to_dict(), allow_nan=False)


def test_summary_text_holds_the_numbers():
    estimator, X = _fitted("gaussian_full")
    summary = estimator.summary(X)
    text = str(summary)
    assert text.startswith("GaussianMixture: gaussian mixture, covariance model full")
    assert "K = 2" in text
    for number in (
        f"{summary.log_likelihood:.3f}",
        f"{summary.bic:.3f}",
        f"{summary.icl:.3f}",
        f" {len(X)} ",
        f" {estimator._n_parameters()} ",
    ):
        assert number in text, number
    assert "lower is better" in text
    lines = text.splitlines()
    table = lines.index("Clustering table:")
    counts = [int(v) for v in lines[table + 2].split()]
    assert counts == list(summary.clustering.values())
    assert "Means:" in text and "Covariances:" in text
    assert "Precisions cholesky" not in text  # derived arrays are left out


def test_summary_without_data_holds_the_models_own_part():
    estimator, _ = _fitted("gaussian_full")
    summary = estimator.summary()
    assert summary.n_samples is None
    assert summary.bic is None and summary.icl is None and summary.clustering is None
    assert summary.n_parameters == estimator._n_parameters()
    assert set(summary.parameters) == {"means", "covariances"}
    assert np.array_equal(summary.parameters["means"], estimator.means_)
    text = str(summary)
    assert "n/a" in text and "summary(X)" in text
    assert "Clustering table" not in text


@pytest.mark.parametrize("name", ["gaussian_full", "gaussian_noise", "poisson"])
def test_summary_after_save_and_load_is_the_same(tmp_path, name):
    estimator, X = _fitted(name)
    path = tmp_path / "model.mixtura"
    save(estimator, path)
    loaded = load(path)
    assert loaded.summary(X) == estimator.summary(X)
    assert loaded.summary() == estimator.summary()
    assert str(loaded.summary(X)) == str(estimator.summary(X))


def test_noise_component_is_tabled_as_noise():
    estimator, X = _fitted("gaussian_noise")
    summary = estimator.summary(X)
    assert summary.noise and summary.n_components == 2
    assert list(summary.clustering) == ["0", "1", "noise"]
    assert len(summary.weights) == 3
    assert "K = 2 + noise" in str(summary)
    assert "means" in summary.parameters  # the inner Gaussian's, unprefixed


def _regression_data():
    rng = np.random.RandomState(0)
    x = rng.uniform(-3, 3, size=(300, 1))
    side = rng.rand(300) < 0.5
    y = np.where(side, 2 * x[:, 0] + 1, -x[:, 0]) + 0.1 * rng.randn(300)
    return x, y


@pytest.mark.parametrize("cls", [MixtureRegression, MixtureOfExperts])
def test_regression_summary(tmp_path, cls):
    x, y = _regression_data()
    model = cls(2, random_state=0).fit(x, y)
    summary = model.summary(x, y)
    assert summary.bic == pytest.approx(model.bic(x, y), rel=1e-10)
    assert summary.icl == pytest.approx(model.icl(x, y), rel=1e-10)
    assert summary.aic == pytest.approx(model.aic(x, y), rel=1e-10)
    assert summary.n_parameters == model._n_parameters()
    assert sum(summary.clustering.values()) == len(x)
    labels = model.predict_components(x, y)
    assert list(summary.clustering.values()) == np.bincount(labels).tolist()
    assert np.allclose(summary.parameters["coef"], model.coef_)
    assert f"{summary.bic:.3f}" in str(summary)
    with pytest.raises(ValueError, match="needs y"):
        model.summary(x)
    save(model, tmp_path / "r.mixtura")
    assert load(tmp_path / "r.mixtura").summary(x, y) == summary


def test_summary_equality_and_fields():
    a = Summary(estimator="X", n_components=1, weights=[1.0], parameters={})
    b = Summary(estimator="X", n_components=1, weights=[1.0], parameters={})
    assert a == b
    assert a != Summary(estimator="Y", n_components=1, weights=[1.0], parameters={})
    with pytest.raises(TypeError, match="no fields"):
        Summary(colour="red")


def test_selection_table_prints_the_best_models():
    table = select(_blobs(), n_components=range(1, 4))
    text = str(table)
    assert text == table.to_text()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Best BIC"))
    assert "lower is better" in lines[start]
    ranked = sorted(
        (r for r in table.records if not r["missing"]), key=lambda r: r["bic"]
    )[:3]
    best = ranked[0]["bic"]
    for line, record in zip(lines[start + 1 : start + 4], ranked, strict=True):
        name, value, difference = line.split()
        assert name == f"{record['model']},{record['n_components']}"
        assert float(value) == pytest.approx(record["bic"], abs=1e-3)
        assert float(difference) == pytest.approx(record["bic"] - best, abs=1e-3)
    assert len(lines) == start + 4
    assert "Best BIC values" not in table.to_text(n_best=0)
    mclust = table.summary("mclust_bic").splitlines()
    assert "higher is better" in mclust[0]
    assert all(float(line.split()[2]) <= 0 for line in mclust[1:])
    assert math.isclose(float(mclust[1].split()[1]), -best, abs_tol=1e-3)
