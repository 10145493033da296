"""Gamma, exponential and log-normal families beyond the registry's generic tests.

Each M-step against an independent maximum-likelihood fit (``scipy.stats``),
parameter recovery of whole mixtures from simulated data with known
parameters, refusal of data outside the support, and model files.
"""

import numpy as np
import pytest
from scipy import optimize, special, stats

from mixtura import MixtureModel, load, save
from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families import Exponential, GammaFamily
from mixtura.families.gamma import MIN_LOG_GAP, gamma_shape


def _one_hot(labels, n_components):
    return np.eye(n_components)[labels]


# -- the gamma shape equation and M-step ----------------------------------------------
@pytest.mark.parametrize("gap", [1e-4, 0.01, 0.3, 1.0, 5.0, 30.0])
def test_gamma_shape_solves_its_equation(gap):
    shape = gamma_shape(gap)
    root = optimize.brentq(
        lambda a: np.log(a) - special.digamma(a) - gap, 1e-12, 1e12, xtol=1e-300
    )
    # scipy's log a - digamma(a) cancels about eps log(a) of the gap at a ~ 1/(2 gap)
    np.testing.assert_allclose(shape, root, rtol=1e-9)


@pytest.mark.parametrize("gap", [1e-9, 1e-7, 1e-6])
def test_gamma_shape_of_a_tiny_gap_is_the_asymptotic_root(gap):
    # log a - digamma(a) = 1/(2a) + 1/(12a^2) + O(a^-4), so a = 1/(2 gap) + 1/6 + O(gap)
    np.testing.assert_allclose(gamma_shape(gap), 1 / (2 * gap) + 1 / 6, rtol=1e-12)


def test_gamma_shape_floors_a_zero_gap():
    # all values equal: the gap is 0 and the shape would be infinite
    assert gamma_shape(0.0) == pytest.approx(gamma_shape(MIN_LOG_GAP))
    assert np.isfinite(gamma_shape([0.0, -1e-17])).all()


def test_gamma_m_step_is_scipy_maximum_likelihood():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.gamma(0.7, 2.0, 400), rng.gamma(9.0, 0.1, 400)])
    labels = (np.arange(400) >= 150).astype(int)
    fitted = GammaFamily().maximize(GammaFamily().statistics(X, _one_hot(labels, 2)))
    for k in range(2):
        for j in range(2):
            a, _, scale = stats.gamma.fit(X[labels == k, j], floc=0)
            np.testing.assert_allclose(fitted.shapes[k, j], a, rtol=1e-4)
            np.testing.assert_allclose(fitted.rates[k, j], 1 / scale, rtol=1e-4)


def test_gamma_m_step_with_weights_equals_repeated_rows():
    rng = np.random.default_rng(1)
    X = rng.gamma(2.0, 1.0, size=(30, 2))
    counts = rng.integers(1, 4, size=30)
    resp = _one_hot(np.zeros(30, dtype=int), 1)
    weighted = GammaFamily().statistics(X, resp, sample_weight=counts.astype(float))
    repeated = np.repeat(X, counts, axis=0)
    plain = GammaFamily().statistics(
        repeated, _one_hot(np.zeros(len(repeated), int), 1)
    )
    np.testing.assert_allclose(
        GammaFamily().maximize(weighted).shapes, GammaFamily().maximize(plain).shapes
    )


def test_an_empty_component_gets_finite_parameters():
    X = np.random.default_rng(2).gamma(2.0, size=(20, 3))
    resp = np.column_stack([np.ones(20), np.zeros(20)])
    for family in (GammaFamily(), Exponential()):
        fitted = family.maximize(family.statistics(X, resp))
        assert np.isfinite(fitted.log_prob(X)).all()


def test_exponential_m_step_is_the_inverse_mean():
    X = np.array([[1.0, 0.0], [3.0, 0.5], [10.0, 2.0], [30.0, 4.0]])
    fitted = Exponential().maximize(
        Exponential().statistics(X, _one_hot([0, 0, 1, 1], 2))
    )
    np.testing.assert_allclose(fitted.rates, 1 / np.array([[2.0, 0.25], [20.0, 3.0]]))


def test_an_exponential_feature_of_zeros_keeps_finite_densities():
    X = np.array([[0.0, 1.0], [0.0, 2.0]])
    fitted = Exponential().maximize(Exponential().statistics(X, np.ones((2, 1))))
    assert np.isfinite(fitted.log_prob(X)).all()


# -- whole mixtures: parameters recovered from simulated data --------------------------
def _sorted_by_first_mean(means, *arrays):
    order = np.argsort(means[:, 0])
    return [a[order] for a in arrays]


def test_gamma_mixture_recovers_shapes_and_rates():
    rng = np.random.default_rng(3)
    shapes = np.array([[2.0, 8.0], [12.0, 1.5]])
    rates = np.array([[2.0, 4.0], [1.0, 0.5]])  # means [1, 2] and [12, 3]
    labels = rng.random(6000) < 0.35
    X = rng.gamma(shapes[labels.astype(int)], 1 / rates[labels.astype(int)])
    model = MixtureModel(2, family="gamma", random_state=0, tol=1e-8).fit(X)
    family = model.family_
    found_shapes, found_rates = _sorted_by_first_mean(
        family.shapes / family.rates, family.shapes, family.rates
    )
    # standard errors of a shape from ~2000-4000 rows are 2-4% of it
    np.testing.assert_allclose(found_shapes, shapes, rtol=0.12)
    np.testing.assert_allclose(found_rates, rates, rtol=0.12)
    np.testing.assert_allclose(np.sort(model.weights_), [0.35, 0.65], atol=0.02)


def test_exponential_mixture_recovers_rates():
    rng = np.random.default_rng(4)
    rates = np.array([[5.0], [0.2]])  # means 0.2 and 5
    labels = (rng.random(8000) < 0.5).astype(int)
    X = rng.exponential(1 / rates[labels])
    model = MixtureModel(2, family="exponential", random_state=0, tol=1e-9).fit(X)
    found = np.sort(model.family_.rates[:, 0])
    # two exponentials overlap much: each rate is known to about 5-10%
    np.testing.assert_allclose(found, [0.2, 5.0], rtol=0.15)


@pytest.mark.parametrize("covariance_type", ["diag", "full", "VVV"])
def test_lognormal_mixture_recovers_the_log_scale_gaussians(covariance_type):
    rng = np.random.default_rng(5)
    means = np.array([[0.0, 1.0], [2.5, -1.0]])
    labels = (rng.random(4000) < 0.4).astype(int)
    X = np.exp(means[labels] + 0.3 * rng.standard_normal((4000, 2)))
    model = MixtureModel(
        2,
        family="lognormal",
        family_params={"covariance_type": covariance_type},
        random_state=0,
    ).fit(X)
    (found,) = _sorted_by_first_mean(model.family_.means, model.family_.means)
    np.testing.assert_allclose(found, means, atol=0.03)
    # its density on the original scale is the Gaussian's of log x, less the Jacobian
    gaussian = MixtureModel(
        2,
        family="gaussian",
        family_params={"covariance_type": covariance_type},
        random_state=0,
    ).fit(np.log(X))
    np.testing.assert_allclose(
        model.score_samples(X),
        gaussian.score_samples(np.log(X)) - np.log(X).sum(axis=1),
        rtol=1e-8,
    )


# -- data outside the support, model files --------------------------------------------
@pytest.mark.parametrize(
    ("family", "value"),
    [("gamma", 0.0), ("gamma", -2.0), ("lognormal", 0.0), ("exponential", -1.0)],
)
def test_values_outside_the_support_are_refused_and_a_fitted_model_is_kept(
    family, value
):
    X = np.random.default_rng(6).gamma(2.0, size=(50, 2))
    model = MixtureModel(2, family=family, random_state=0).fit(X)
    before = model.family_.arrays()
    bad = X.copy()
    bad[7, 1] = value
    with pytest.raises(DataValidationError, match=r"row 7, column 1 holds"):
        model.fit(bad)
    for name, array in model.family_.arrays().items():
        np.testing.assert_array_equal(array, before[name])


def test_zeros_are_in_the_exponential_support():
    X = np.random.default_rng(7).exponential(size=(40, 2))
    X[:5, 0] = 0.0
    model = MixtureModel(2, family="exponential", random_state=0).fit(X)
    assert np.isfinite(model.score_samples(X)).all()


@pytest.mark.parametrize("family", ["gamma", "exponential", "lognormal"])
def test_model_files_round_trip(tmp_path, family):
    X = np.random.default_rng(8).gamma(3.0, size=(80, 3))
    model = MixtureModel(2, family=family, random_state=0).fit(X)
    save(model, tmp_path / "model")
    loaded = load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


def test_edited_parameters_are_refused_on_load():
    with pytest.raises(ModelFileError, match="rates must be positive"):
        GammaFamily.from_arrays(
            {}, {"shapes": np.ones((2, 1)), "rates": -np.ones((2, 1))}
        )
    with pytest.raises(ModelFileError, match="rates"):
        Exponential.from_arrays({}, {})
    with pytest.raises(ValueError, match="give both shapes and rates"):
        GammaFamily(shapes=np.ones((1, 1)))
