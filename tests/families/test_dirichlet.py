"""The Dirichlet family beyond the registry's generic tests.

The M-step against an independent maximisation of the weighted
log-likelihood (``scipy.optimize``), the Newton solver at small, mixed and
large concentrations, parameter recovery of a whole mixture from simulated
data with known parameters, refusal of rows that are not compositions, and
model files.
"""

import numpy as np
import pytest
from scipy import optimize, special

from mixtura import MixtureModel, load, save
from mixtura.exceptions import DataValidationError, ModelFileError
from mixtura.families import Dirichlet
from mixtura.families.dirichlet import (
    MIN_LOG_GAP,
    dirichlet_concentrations,
    inverse_digamma,
)
from mixtura.families.gamma import _log_minus_digamma

EPS = np.finfo(np.float64).eps


def _exact_mean_log(concentrations):
    """``psi(a_j) - psi(A)`` without cancellation: ``log(a_j / A) - D(a_j) + D(A)``."""
    a = np.asarray(concentrations, dtype=np.float64)
    total = a.sum(axis=-1, keepdims=True)
    return np.log(a / total) - _log_minus_digamma(a) + _log_minus_digamma(total)


# -- the inverse digamma function and the Newton solver --------------------------------
def test_inverse_digamma_inverts_digamma_over_many_scales():
    x = np.logspace(-8, 14, 89)
    np.testing.assert_allclose(inverse_digamma(special.digamma(x)), x, rtol=1e-13)
    # and it is the root scipy's bracketing solver finds, for arbitrary targets
    for y in (-50.0, -3.0, -0.5, 0.0, 2.0, 30.0):
        root = optimize.brentq(lambda t, y=y: special.digamma(t) - y, 1e-30, 1e15)
        np.testing.assert_allclose(inverse_digamma(y), root, rtol=1e-12)


@pytest.mark.parametrize(
    "concentrations",
    [
        [0.01, 0.01, 0.01, 0.01],
        [0.2, 1.0, 5.0, 30.0],
        [3.0, 3.0, 3.0, 3.0],
        [0.05, 50.0, 50.0, 50.0],
        [1e-3, 1e3],
        [1e3, 2e3, 5e3, 1e4],
        [1e6, 3e6, 1e7],
        [1e9, 2e9],
    ],
)
def test_newton_solver_recovers_concentrations_from_their_mean_logs(concentrations):
    a = np.array([concentrations])
    found, n_iter = dirichlet_concentrations(_exact_mean_log(a), return_n_iter=True)
    # along the precision the likelihood's curvature is about (d - 1) / (2 A^2):
    # a gradient known to eps fixes A to a relative eps A / (d - 1), no better
    precision, d = a.sum(), a.shape[1]
    np.testing.assert_allclose(found, a, rtol=1e-10 + 8 * EPS * precision / (d - 1))
    assert n_iter <= 10


def test_newton_solver_handles_components_of_different_scales_together():
    a = np.array([[0.3, 0.3, 0.4], [50.0, 20.0, 5.0], [1e5, 2e5, 3e5]])
    found = dirichlet_concentrations(_exact_mean_log(a))
    np.testing.assert_allclose(found, a, rtol=1e-8)


@pytest.mark.parametrize("excess", [0.0, 1e-14, 1e-3])
def test_mean_logs_at_or_past_the_boundary_give_a_finite_capped_precision(excess):
    # equal rows: sum_j exp(l_j) = 1, an infinite maximum-likelihood precision;
    # rounding can even push the sum past 1
    x = np.array([0.2, 0.3, 0.5])
    mean_log = np.log(x)[None, :] + excess
    found = dirichlet_concentrations(mean_log)
    assert np.all(np.isfinite(found)) and np.all(found > 0)
    # the gap floored at MIN_LOG_GAP gives A ~ (d - 1) / (2 MIN_LOG_GAP)
    np.testing.assert_allclose(found.sum(), 2 / (2 * MIN_LOG_GAP), rtol=1e-3)
    np.testing.assert_allclose(found[0] / found.sum(), x, rtol=1e-6)


# -- the M-step -----------------------------------------------------------------------
def _weighted_log_likelihood(log_a, X, weights):
    a = np.exp(log_a)
    per_row = (
        special.gammaln(a.sum()) - special.gammaln(a).sum() + np.log(X) @ (a - 1.0)
    )
    return weights @ per_row


def _scipy_mle(X, weights):
    """Maximise the weighted log-likelihood over log concentrations (BFGS)."""
    log_x_mean = weights @ np.log(X) / weights.sum()

    def objective(log_a):
        a = np.exp(log_a)
        value = -_weighted_log_likelihood(log_a, X, weights) / weights.sum()
        gradient = special.digamma(a.sum()) - special.digamma(a) + log_x_mean
        return value, -gradient * a

    result = optimize.minimize(
        objective,
        np.zeros(X.shape[1]),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-11, "maxiter": 10_000},
    )
    return np.exp(result.x)


def test_m_step_is_the_scipy_maximum_of_the_weighted_likelihood():
    rng = np.random.default_rng(0)
    X = np.vstack(
        [
            rng.dirichlet([0.7, 2.0, 4.0, 1.0], size=300),
            rng.dirichlet([20.0, 5.0, 8.0, 30.0], size=300),
        ]
    )
    resp = rng.dirichlet([1.0, 1.0], size=600)
    resp[:300, 0] += 3.0  # each component mostly, not only, on its own rows
    resp[300:, 1] += 3.0
    resp /= resp.sum(axis=1, keepdims=True)
    fitted = Dirichlet().maximize(Dirichlet().statistics(X, resp))
    for k in range(2):
        reference = _scipy_mle(X, resp[:, k])
        # BFGS stops at a gradient of 1e-11 in log a: a relative 1e-8 or so
        np.testing.assert_allclose(fitted.concentrations[k], reference, rtol=1e-6)
        ours = _weighted_log_likelihood(np.log(fitted.concentrations[k]), X, resp[:, k])
        theirs = _weighted_log_likelihood(np.log(reference), X, resp[:, k])
        assert ours >= theirs - 1e-9 * abs(theirs)


def test_m_step_with_weights_equals_repeated_rows():
    rng = np.random.default_rng(1)
    X = rng.dirichlet([2.0, 3.0, 1.0], size=40)
    counts = rng.integers(1, 4, size=40)
    resp = np.ones((40, 1))
    weighted = Dirichlet().statistics(X, resp, sample_weight=counts.astype(float))
    repeated = np.repeat(X, counts, axis=0)
    plain = Dirichlet().statistics(repeated, np.ones((len(repeated), 1)))
    np.testing.assert_allclose(
        Dirichlet().maximize(weighted).concentrations,
        Dirichlet().maximize(plain).concentrations,
        rtol=1e-10,
    )


def test_an_empty_component_gets_concentrations_one():
    X = np.random.default_rng(2).dirichlet([2.0, 2.0, 5.0], size=30)
    resp = np.column_stack([np.ones(30), np.zeros(30), np.full(30, 1e-300)])
    fitted = Dirichlet().maximize(Dirichlet().statistics(X, resp))
    np.testing.assert_array_equal(fitted.concentrations[1], 1.0)
    assert np.isfinite(fitted.log_prob(X)).all()
    # a light component is not pulled anywhere: its estimate is the full one's
    np.testing.assert_allclose(
        fitted.concentrations[2], fitted.concentrations[0], rtol=1e-10
    )


def test_a_component_on_one_row_keeps_finite_densities():
    X = np.random.default_rng(3).dirichlet([2.0, 2.0, 5.0], size=10)
    resp = np.zeros((10, 2))
    resp[0, 0] = 1.0  # component 0 sees row 0 only: a point mass in the limit
    resp[1:, 1] = 1.0
    fitted = Dirichlet().maximize(Dirichlet().statistics(X, resp))
    assert np.isfinite(fitted.log_prob(X)).all()
    np.testing.assert_allclose(fitted.means[0], X[0], rtol=1e-6)


# -- a whole mixture: parameters recovered from simulated data -------------------------
TRUE_CONCENTRATIONS = np.array([[2.0, 6.0, 12.0], [15.0, 4.0, 2.0], [30.0, 30.0, 30.0]])
TRUE_WEIGHTS = np.array([0.3, 0.45, 0.25])


def _simulate(n_samples, seed):
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n_samples, p=TRUE_WEIGHTS)
    X = np.empty((n_samples, 3))
    for k in range(3):
        X[labels == k] = rng.dirichlet(TRUE_CONCENTRATIONS[k], size=(labels == k).sum())
    return X


def _standard_errors(concentrations, n_rows):
    """Asymptotic standard errors of the MLE from ``n_rows`` labelled rows."""
    information = np.diag(special.polygamma(1, concentrations)) - special.polygamma(
        1, concentrations.sum()
    )
    return np.sqrt(np.diag(np.linalg.inv(information)) / n_rows)


def test_dirichlet_mixture_recovers_concentrations_and_weights():
    n_samples = 6000
    X = _simulate(n_samples, seed=4)
    model = MixtureModel(3, family="dirichlet", random_state=0, tol=1e-8).fit(X)
    assert model.converged_
    found = model.family_.concentrations
    means = found / found.sum(axis=1, keepdims=True)
    true_means = TRUE_CONCENTRATIONS / TRUE_CONCENTRATIONS.sum(axis=1, keepdims=True)
    order = [int(np.argmin(((means - m) ** 2).sum(axis=1))) for m in true_means]
    assert sorted(order) == [0, 1, 2]
    # the components overlap little (3% of rows have a posterior below 0.9), so
    # the labelled-data standard errors nearly hold; 5 of them is the tolerance
    for k, j in enumerate(order):
        errors = _standard_errors(TRUE_CONCENTRATIONS[k], TRUE_WEIGHTS[k] * n_samples)
        assert np.all(np.abs(found[j] - TRUE_CONCENTRATIONS[k]) < 5 * errors)
    weight_errors = np.sqrt(TRUE_WEIGHTS * (1 - TRUE_WEIGHTS) / n_samples)
    assert np.all(np.abs(model.weights_[order] - TRUE_WEIGHTS) < 5 * weight_errors)
    np.testing.assert_array_equal(model.predict(X), model.fit_predict(X))


def test_float32_rows_fit_like_float64_rows():
    X = _simulate(2000, seed=5)
    X32 = (X / X.sum(axis=1, keepdims=True)).astype(np.float32)
    X32 /= X32.sum(axis=1, keepdims=True)  # normalised in float32: its rounding
    model = MixtureModel(3, family="dirichlet", random_state=0).fit(X32)
    reference = MixtureModel(3, family="dirichlet", random_state=0).fit(X)
    assert np.isfinite(model.score_samples(X32)).all()
    np.testing.assert_allclose(
        np.sort(model.weights_), np.sort(reference.weights_), atol=0.01
    )


def test_init_features_are_centred_log_ratios():
    X = _simulate(50, seed=6)
    features = Dirichlet().init_features(X)
    np.testing.assert_allclose(features.sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(
        features[:, 0] - features[:, 1], np.log(X[:, 0] / X[:, 1])
    )


def test_samples_are_compositions():
    family = Dirichlet(concentrations=TRUE_CONCENTRATIONS)
    X = family.sample(np.array([0, 2, 1, 1, 0]), np.random.RandomState(0))
    assert X.shape == (5, 3) and np.all(X > 0)
    np.testing.assert_allclose(X.sum(axis=1), 1.0, rtol=1e-12)
    Dirichlet().check_data(X)


# -- rows that are not compositions, model files --------------------------------------
def _scale_row(X):
    X[7] *= 1.01


def _zero_part(X):
    X[7, 1] = 0.0


def _negative_part(X):
    X[7, 1] = -0.2


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_scale_row, r"row 7 sums to 1\.01.*Normalise the rows"),
        (_zero_part, r"row 7, column 1 holds 0 .*pseudo-count"),
        (_negative_part, r"row 7, column 1 holds -0\.2 .*cannot be negative"),
    ],
)
def test_rows_that_are_not_compositions_are_refused_and_the_model_is_kept(edit, match):
    X = _simulate(100, seed=7)
    model = MixtureModel(2, family="dirichlet", random_state=0).fit(X)
    before = model.family_.arrays()
    labels = model.predict(X)
    bad = X.copy()
    edit(bad)
    with pytest.raises(DataValidationError, match=match):
        model.fit(bad)
    with pytest.raises(DataValidationError, match=match):
        model.predict(bad)
    for name, array in model.family_.arrays().items():
        np.testing.assert_array_equal(array, before[name])
    np.testing.assert_array_equal(model.predict(X), labels)


def test_the_row_sum_tolerance_follows_the_dtype():
    X = _simulate(20, seed=8)
    off = X.copy()
    off[3] *= 1 + 1e-6  # within float32 rounding of a 3-part row, not float64's
    Dirichlet().check_data(off.astype(np.float32))
    with pytest.raises(DataValidationError, match="row 3 sums to"):
        Dirichlet().check_data(off)
    Dirichlet().check_data(X * (1 + 8 * EPS))  # normalising's own rounding passes


def test_a_single_column_is_refused():
    with pytest.raises(DataValidationError, match="at least 2 parts"):
        Dirichlet().check_data(np.ones((5, 1)))


def test_model_files_round_trip(tmp_path):
    X = _simulate(200, seed=9)
    model = MixtureModel(3, family="dirichlet", random_state=0).fit(X)
    save(model, tmp_path / "model")
    loaded = load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    np.testing.assert_array_equal(
        loaded.family_.concentrations, model.family_.concentrations
    )


def test_edited_parameters_are_refused_on_load():
    with pytest.raises(ModelFileError, match="positive and finite"):
        Dirichlet.from_arrays({}, {"concentrations": -np.ones((2, 3))})
    with pytest.raises(ModelFileError, match="at least 2 features"):
        Dirichlet.from_arrays({}, {"concentrations": np.ones((2, 1))})
    with pytest.raises(ModelFileError, match="concentrations"):
        Dirichlet.from_arrays({}, {})
