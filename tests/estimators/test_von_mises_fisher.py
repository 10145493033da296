"""VonMisesFisherMixture: recovery, high dimension, bad input, scipy cross-checks."""

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from sklearn.metrics import adjusted_rand_score

from mixtura import MixtureModel, VonMisesFisherMixture, load, save
from mixtura.exceptions import DataValidationError
from mixtura.families import VonMisesFisher
from mixtura.families.von_mises_fisher import log_sphere_area


def _unit(rng, shape):
    X = rng.normal(size=shape)
    return X / np.linalg.norm(X, axis=-1, keepdims=True)


def _simulate(rng, weights, directions, concentrations, n_samples):
    labels = rng.choice(len(weights), size=n_samples, p=weights)
    family = VonMisesFisher(
        mean_directions=directions, concentrations=np.asarray(concentrations)
    )
    return family.sample(labels, rng), labels


def _match(estimated, truth):
    """Order of the estimated components that best matches the true directions."""
    rows, columns = linear_sum_assignment(-(estimated @ truth.T))
    return rows[np.argsort(columns)]


def test_recovers_directions_concentrations_and_weights():
    rng = np.random.RandomState(0)
    weights = np.array([0.5, 0.3, 0.2])
    directions = _unit(rng, (3, 5))
    kappa = np.array([10.0, 30.0, 100.0])
    X, labels = _simulate(rng, weights, directions, kappa, 6000)
    model = VonMisesFisherMixture(3, n_init=2, random_state=0).fit(X)
    order = _match(model.mean_directions_, directions)
    # with n_k >= 1200 rows: the direction's angular standard error is
    # sqrt((d - 1) / (n_k kappa A)) <= 0.02 rad, kappa's about
    # kappa sqrt(2 / ((d - 1) n_k)) <= 2.1% of it, a weight's <= 0.007
    cosines = np.sum(model.mean_directions_[order] * directions, axis=1)
    assert np.all(cosines > 0.998)
    np.testing.assert_allclose(model.concentrations_[order], kappa, rtol=0.1)
    np.testing.assert_allclose(model.weights_[order], weights, atol=0.025)
    assert adjusted_rand_score(labels, model.predict(X)) > 0.9
    assert model.converged_


def test_d300_with_concentrations_in_the_hundreds():
    rng = np.random.RandomState(1)
    d, weights = 300, np.array([0.4, 0.35, 0.25])
    directions = _unit(rng, (3, d))
    kappa = np.array([200.0, 400.0, 800.0])
    X, labels = _simulate(rng, weights, directions, kappa, 3000)
    model = VonMisesFisherMixture(3, random_state=0).fit(X)
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.isfinite(model.score_samples(X)))
    order = _match(model.mean_directions_, directions)
    # 750+ rows a component: angular error sqrt(299 / (n kappa A)) <= 0.05 rad
    cosines = np.sum(model.mean_directions_[order] * directions, axis=1)
    assert np.all(cosines > 0.99)
    np.testing.assert_allclose(model.concentrations_[order], kappa, rtol=0.05)
    assert adjusted_rand_score(labels, model.predict(X)) == 1.0
    # the densities are scipy's
    mixture = np.column_stack(
        [
            np.log(w) + stats.vonmises_fisher(mu, k).logpdf(X[:100])
            for w, mu, k in zip(
                model.weights_,
                model.mean_directions_,
                model.concentrations_,
                strict=True,
            )
        ]
    )
    np.testing.assert_allclose(
        model.score_samples(X[:100]), logsumexp(mixture, axis=1), rtol=1e-10
    )


@pytest.mark.parametrize("d", [3, 10, 50])
def test_one_component_is_scipys_fit(d):
    rng = np.random.RandomState(2)
    mu = _unit(rng, d)
    X = stats.vonmises_fisher(mu, 25.0).rvs(800, random_state=rng)
    model = VonMisesFisherMixture(1).fit(X)
    mu_scipy, kappa_scipy = stats.vonmises_fisher.fit(X)
    np.testing.assert_allclose(model.mean_directions_[0], mu_scipy, atol=1e-12)
    np.testing.assert_allclose(model.concentrations_[0], kappa_scipy, rtol=1e-8)
    np.testing.assert_allclose(
        model.score_samples(X),
        stats.vonmises_fisher(mu_scipy, kappa_scipy).logpdf(X),
        rtol=1e-10,
    )


def test_densities_are_relative_to_the_surface_measure():
    # a single uniform component: every row's density is 1 / |S^(d-1)|;
    # movMF's (relative to the uniform distribution) would be 1
    X = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0]])
    model = VonMisesFisherMixture(1).fit(X)
    assert model.concentrations_[0] == 0.0
    np.testing.assert_allclose(model.score_samples(X), -log_sphere_area(3))


def test_rows_of_zero_norm_are_named_and_a_fitted_model_is_left_as_it_was():
    rng = np.random.RandomState(3)
    X = _unit(rng, (200, 4))
    model = VonMisesFisherMixture(2, random_state=0).fit(X)
    before = {k: np.copy(v) for k, v in vars(model).items() if k.endswith("_")}
    scores = model.score_samples(X)
    bad = X.copy()
    bad[[5, 17, 99]] = 0.0
    for normalize in (False, True):
        model.set_params(normalize=normalize)
        with pytest.raises(DataValidationError, match=r"row\(s\) 5, 17, 99 have zero"):
            model.fit(bad)
        with pytest.raises(DataValidationError, match=r"row\(s\) 5, 17, 99"):
            model.predict(bad)
    model.set_params(normalize=False)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)
    np.testing.assert_array_equal(model.score_samples(X), scores)


def test_rows_off_the_sphere_are_refused_unless_normalize():
    rng = np.random.RandomState(4)
    X = _unit(rng, (300, 3)) * rng.uniform(0.5, 3.0, size=(300, 1))
    with pytest.raises(DataValidationError, match="normalize=True"):
        VonMisesFisherMixture(2).fit(X)
    scaled = VonMisesFisherMixture(2, normalize=True, random_state=0).fit(X)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    plain = VonMisesFisherMixture(2, random_state=0).fit(unit)
    np.testing.assert_allclose(scaled.mean_directions_, plain.mean_directions_)
    np.testing.assert_allclose(scaled.score_samples(X), plain.score_samples(unit))


def test_nan_is_refused():
    X = _unit(np.random.RandomState(5), (20, 3))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        VonMisesFisherMixture(1).fit(X)


def test_float32_data_give_a_float32_model():
    rng = np.random.RandomState(6)
    X, _ = _simulate(rng, [0.5, 0.5], _unit(rng, (2, 8)), [20.0, 60.0], 1000)
    model64 = VonMisesFisherMixture(2, random_state=0).fit(X)
    model32 = VonMisesFisherMixture(2, random_state=0).fit(X.astype(np.float32))
    for name in ("weights_", "mean_directions_", "concentrations_"):
        assert getattr(model32, name).dtype == np.float32
        np.testing.assert_allclose(
            getattr(model32, name), getattr(model64, name), rtol=1e-4, atol=1e-5
        )
    scores = model32.score_samples(X.astype(np.float32))
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, model64.score_samples(X), rtol=1e-4, atol=1e-3)


def test_round_trip_through_a_model_file(tmp_path):
    rng = np.random.RandomState(7)
    X, _ = _simulate(rng, [0.6, 0.4], _unit(rng, (2, 6)), [5.0, 50.0], 500)
    model = VonMisesFisherMixture(2, normalize=True, random_state=0).fit(X)
    save(model, tmp_path / "vmf")
    loaded = load(tmp_path / "vmf")
    assert isinstance(loaded, VonMisesFisherMixture) and loaded.normalize
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    np.testing.assert_array_equal(loaded.concentrations_, model.concentrations_)


def test_generic_mixture_model_gives_the_same_fit():
    rng = np.random.RandomState(8)
    X, labels = _simulate(rng, [0.5, 0.5], _unit(rng, (2, 4)), [8.0, 8.0], 400)
    mine = VonMisesFisherMixture(2, init_params=labels).fit(X)
    generic = MixtureModel(2, family="von_mises_fisher", init_params=labels).fit(X)
    np.testing.assert_allclose(
        generic.family_.mean_directions, mine.mean_directions_, rtol=1e-12
    )
    np.testing.assert_allclose(
        generic.family_.concentrations, mine.concentrations_, rtol=1e-12
    )


def test_bic_counts_directions_concentrations_and_weights():
    rng = np.random.RandomState(9)
    X, _ = _simulate(rng, [0.5, 0.5], _unit(rng, (2, 5)), [10.0, 10.0], 300)
    model = VonMisesFisherMixture(2, random_state=0).fit(X)
    n_parameters = 2 * 4 + 2 + 1  # K (d - 1) + K + (K - 1)
    expected = -2 * model.score(X) * 300 + n_parameters * np.log(300)
    np.testing.assert_allclose(model.bic(X), expected)


@pytest.mark.parametrize(
    "init_params", ["spherical-kmeans", "spherical-k-means++", "kmeans", "random"]
)
def test_every_start_reaches_the_clusters(init_params):
    rng = np.random.RandomState(10)
    directions = np.eye(6)[:3]
    X, labels = _simulate(rng, [0.4, 0.3, 0.3], directions, [40.0] * 3, 900)
    model = VonMisesFisherMixture(3, init_params=init_params, n_init=2, random_state=0)
    model.fit(X)
    assert adjusted_rand_score(labels, model.predict(X)) > 0.99


def test_sampling_from_a_fitted_model():
    rng = np.random.RandomState(11)
    X, _ = _simulate(rng, [0.7, 0.3], _unit(rng, (2, 3)), [30.0, 5.0], 600)
    model = VonMisesFisherMixture(2, random_state=0).fit(X)
    drawn, drawn_labels = model.sample(2000)
    np.testing.assert_allclose(np.linalg.norm(drawn, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        np.bincount(drawn_labels, minlength=2) / 2000, model.weights_, atol=0.04
    )
