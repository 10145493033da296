"""MixtureRegression and MixtureOfExperts: recovery, monotone EM, API, bad input.

Simulated data with known parameters (tolerances stated per test, after
matching components by their intercepts); R's flexmix and mixtools numbers
are in test_regression_reference.py.
"""

import numpy as np
import pytest

import mixtura
from mixtura import MixtureOfExperts, MixtureRegression
from mixtura.exceptions import DataValidationError
from mixtura.experts import GatedMixture


def _crossing_lines(rng, n, slopes, intercepts, sds, weights):
    x = rng.uniform(-3, 3, size=(n, 1))
    labels = rng.choice(len(weights), size=n, p=weights)
    y = (
        np.asarray(slopes)[labels] * x[:, 0]
        + np.asarray(intercepts)[labels]
        + np.asarray(sds)[labels] * rng.standard_normal(n)
    )
    return x, y, labels


def _matched(order_by, *arrays):
    order = np.argsort(order_by)
    return [np.asarray(a)[order] for a in arrays]


def test_two_crossing_lines_are_recovered():
    rng = np.random.RandomState(1)
    x, y, _ = _crossing_lines(
        rng, 2000, [2.0, -1.0], [1.0, 0.0], [0.3, 0.6], [0.4, 0.6]
    )
    model = MixtureRegression(2, n_init=3, random_state=0).fit(x, y)
    slopes, intercepts, sds, weights = _matched(
        model.coef_[:, 0],
        model.coef_[:, 0],
        model.intercept_,
        np.sqrt(model.noise_covariances_[:, 0, 0]),
        model.weights_,
    )
    # standard errors at n = 2000 are about 0.01 (slopes) and 0.02 (weights)
    np.testing.assert_allclose(slopes, [-1.0, 2.0], atol=0.05)
    np.testing.assert_allclose(intercepts, [0.0, 1.0], atol=0.08)
    np.testing.assert_allclose(sds, [0.6, 0.3], rtol=0.08)
    np.testing.assert_allclose(weights, [0.6, 0.4], atol=0.04)
    assert model.converged_


def test_three_crossing_lines_are_recovered():
    rng = np.random.RandomState(2)
    x, y, _ = _crossing_lines(
        rng, 3000, [3.0, 0.0, -2.0], [0.0, 2.0, -1.0], [0.3, 0.3, 0.3], [0.3, 0.3, 0.4]
    )
    model = MixtureRegression(3, n_init=5, random_state=0).fit(x, y)
    slopes, intercepts, weights = _matched(
        model.coef_[:, 0], model.coef_[:, 0], model.intercept_, model.weights_
    )
    np.testing.assert_allclose(slopes, [-2.0, 0.0, 3.0], atol=0.06)
    np.testing.assert_allclose(intercepts, [-1.0, 2.0, 0.0], atol=0.1)
    np.testing.assert_allclose(weights, [0.4, 0.3, 0.3], atol=0.04)


def test_shared_noise_is_one_variance():
    rng = np.random.RandomState(3)
    x, y, _ = _crossing_lines(
        rng, 1500, [2.0, -1.0], [1.0, 0.0], [0.5, 0.5], [0.5, 0.5]
    )
    model = MixtureRegression(2, noise="shared", n_init=3, random_state=0).fit(x, y)
    variances = model.noise_covariances_[:, 0, 0]
    assert variances[0] == variances[1]
    np.testing.assert_allclose(np.sqrt(variances[0]), 0.5, rtol=0.08)
    assert model._n_parameters() == 2 * 2 + 1 + 1


def test_poisson_mixture_regression_is_recovered_with_exposure():
    rng = np.random.RandomState(4)
    n = 4000
    x = rng.uniform(0, 2, size=(n, 1))
    exposure = rng.uniform(0.5, 3, size=n)
    labels = rng.rand(n) < 0.4
    log_mean = np.where(labels, 1.0 + 1.0 * x[:, 0], 2.0 - 0.5 * x[:, 0])
    y = rng.poisson(exposure * np.exp(log_mean))
    model = MixtureRegression(2, expert="poisson", n_init=3, random_state=0).fit(
        x, y, offset=np.log(exposure)
    )
    slopes, intercepts, weights = _matched(
        model.coef_[:, 0], model.coef_[:, 0], model.intercept_, model.weights_
    )
    np.testing.assert_allclose(slopes, [-0.5, 1.0], atol=0.05)
    np.testing.assert_allclose(intercepts, [2.0, 1.0], atol=0.06)
    np.testing.assert_allclose(weights, [0.6, 0.4], atol=0.03)
    # the mean at exposure e is e times the mean at exposure 1
    at_one = model.predict(x[:5])
    np.testing.assert_allclose(
        model.predict(x[:5], offset=np.log(np.full(5, 2.0))), 2 * at_one
    )


def test_logistic_mixture_regression_reaches_the_truths_likelihood():
    # a mixture of binary logits is identified only through the curves' shapes
    # (each x has one Bernoulli): the fit must explain the data at least as
    # well as the true parameters, and find the steep curve's direction
    rng = np.random.RandomState(5)
    n = 6000
    x = rng.uniform(-3, 3, size=(n, 1))
    labels = rng.rand(n) < 0.5
    logits = np.where(labels, 6 * x[:, 0] - 3, -6 * x[:, 0] - 3)
    y = (rng.rand(n) < 1 / (1 + np.exp(-logits))).astype(int)
    model = MixtureRegression(
        2, expert="logistic", n_init=3, random_state=0, max_iter=2000
    )
    model.fit(x, y)
    truth = MixtureRegression(
        2, expert="logistic", max_iter=0, init_params=labels.astype(int)
    )
    truth.fit(x, y)  # max_iter=0: experts fitted to the true labels
    assert model.score(x, y) >= truth.score(x, y) - 1e-3
    slopes = np.sort(model.coef_[:, 0])
    assert slopes[0] < -3 and slopes[1] > 3
    np.testing.assert_array_equal(model.classes_, [0, 1])


@pytest.mark.parametrize(
    "expert, make_y",
    [
        (
            "gaussian",
            lambda rng, x, z: np.where(z, x[:, 0], -x[:, 0]) + rng.randn(len(x)),
        ),
        ("poisson", lambda rng, x, z: rng.poisson(np.exp(np.where(z, x[:, 0], 1)))),
        ("logistic", lambda rng, x, z: rng.rand(len(x)) < np.where(z, 0.9, 0.2)),
        ("logistic", lambda rng, x, z: np.where(z, rng.randint(3, size=len(x)), 2)),
    ],
)
@pytest.mark.parametrize("estimator", [MixtureRegression, MixtureOfExperts])
def test_log_likelihood_never_decreases(expert, make_y, estimator):
    rng = np.random.RandomState(6)
    x = rng.normal(size=(500, 2))
    z = rng.rand(500) < 1 / (1 + np.exp(-2 * x[:, 1]))
    y = make_y(rng, x, z)
    model = estimator(3, expert=expert, random_state=0, max_iter=60, tol=0.0)
    with pytest.warns(Warning):  # no convergence with tol=0
        model.fit(x, y)
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) == 60
    # rounding only: the step is accepted within 1e-13 (1 + |bound|)
    assert np.diff(bounds).min() >= -1e-12 * (1 + np.abs(bounds).max())


def test_multi_output_gaussian_experts():
    rng = np.random.RandomState(7)
    n = 2000
    x = rng.normal(size=(n, 2))
    z = rng.rand(n) < 0.5
    b1, b2 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[-1.0, 2.0], [1.0, -1.0]])
    noise = rng.multivariate_normal([0, 0], [[0.2, 0.1], [0.1, 0.2]], size=n)
    y = np.where(z[:, None], x @ b1, x @ b2 + 3) + noise
    model = MixtureRegression(2, n_init=3, random_state=0).fit(x, y)
    assert model.coef_.shape == (2, 2, 2) and model.intercept_.shape == (2, 2)
    first = np.argmin(np.abs(model.intercept_).sum(axis=1))
    np.testing.assert_allclose(model.coef_[first], b1, atol=0.05)
    np.testing.assert_allclose(model.coef_[1 - first], b2, atol=0.05)
    np.testing.assert_allclose(
        model.noise_covariances_[first], [[0.2, 0.1], [0.1, 0.2]], atol=0.03
    )
    assert model.predict(x[:4]).shape == (4, 2)
    assert model.sample(x[:4], random_state=0)[0].shape == (4, 2)


def _gated_data(rng, n):
    x = rng.uniform(-3, 3, size=(n, 1))
    first = rng.rand(n) < 1 / (1 + np.exp(-2 * x[:, 0]))
    y = np.where(
        first, 1 + 2 * x[:, 0] + 0.5 * rng.randn(n), -1 - x[:, 0] + 0.8 * rng.randn(n)
    )
    return x, y


def test_gate_beats_constant_weights_on_held_out_rows():
    rng = np.random.RandomState(8)
    x, y = _gated_data(rng, 1000)
    x_test, y_test = _gated_data(rng, 1000)
    gated = MixtureOfExperts(2, n_init=3, random_state=0).fit(x, y)
    constant = MixtureRegression(2, n_init=3, random_state=0).fit(x, y)
    held_out = gated.score(x_test, y_test), constant.score(x_test, y_test)
    # measured: about -1.10 against -1.52 per row
    assert held_out[0] > held_out[1] + 0.2, held_out
    assert isinstance(gated.mixture_, GatedMixture)
    # the gate's slope recovers the simulated 2 (sign by component order)
    assert abs(abs(gated.gate_coef_[0, 0]) - 2.0) < 0.4
    gate = gated.predict_gate(x_test)
    np.testing.assert_allclose(gate.sum(axis=1), 1.0)
    assert gate.shape == (1000, 2)


def test_gate_features_select_the_gates_columns():
    rng = np.random.RandomState(9)
    x, y = _gated_data(rng, 800)
    noise_column = rng.normal(size=(800, 1))
    wide = np.hstack([noise_column, x])
    model = MixtureOfExperts(2, gate_features=[1], n_init=2, random_state=0).fit(
        wide, y
    )
    assert model.gate_coef_.shape == (1, 1)
    with pytest.raises(DataValidationError, match="gate_features"):
        MixtureOfExperts(2, gate_features=[2]).fit(wide, y)


def test_api_shapes_and_identities():
    rng = np.random.RandomState(10)
    x, y, _ = _crossing_lines(rng, 300, [2.0, -1.0], [1.0, 0.0], [0.3, 0.6], [0.5, 0.5])
    model = MixtureRegression(2, n_init=2, random_state=0).fit(x, y)
    resp = model.predict_proba(x, y)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)
    log_density = model.score_samples(x, y)
    assert model.score(x, y) == pytest.approx(log_density.mean())
    # the fit's bound is the mean log density of its last E-step's parameters
    assert model.lower_bound_ == pytest.approx(log_density.mean(), abs=1e-6)
    k = model._n_parameters()
    assert k == 2 * 2 + 2 + 1
    assert model.bic(x, y) == pytest.approx(-2 * log_density.sum() + k * np.log(300))
    assert model.aic(x, y) == pytest.approx(-2 * log_density.sum() + 2 * k)
    assert model.icl(x, y) >= model.bic(x, y)
    expected_mean = (model.weights_ * (x @ model.coef_.T + model.intercept_)).sum(
        axis=1
    )
    np.testing.assert_allclose(model.predict(x), expected_mean)
    assert model.predict(x).shape == (300,)
    draws, labels = model.sample(np.repeat(x[:1], 20000, axis=0), random_state=0)
    assert abs(draws.mean() - model.predict(x[:1])[0]) < 0.05
    assert set(np.unique(labels)) == {0, 1}


def test_sample_weight_equals_repeated_rows():
    rng = np.random.RandomState(11)
    x, y, _ = _crossing_lines(rng, 200, [2.0, -1.0], [1.0, 0.0], [0.3, 0.6], [0.5, 0.5])
    counts = rng.randint(1, 4, size=200)
    labels = (y > 0).astype(int)
    weighted = MixtureRegression(2, init_params=labels, tol=1e-12).fit(
        x, y, sample_weight=counts
    )
    repeated = MixtureRegression(2, init_params=np.repeat(labels, counts), tol=1e-12)
    repeated.fit(np.repeat(x, counts, axis=0), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-7)
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-7)


def test_given_responsibilities_start_the_fit():
    rng = np.random.RandomState(12)
    x, y, labels = _crossing_lines(
        rng, 300, [2.0, -1.0], [1.0, 0.0], [0.3, 0.6], [0.5, 0.5]
    )
    resp = np.eye(2)[labels]
    from_resp = MixtureRegression(2, init_params=resp, max_iter=0).fit(x, y)
    from_labels = MixtureRegression(2, init_params=labels, max_iter=0).fit(x, y)
    np.testing.assert_allclose(from_resp.coef_, from_labels.coef_)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, x, y: m.fit(x, y[:-1]), "y has 99 rows"),
        (lambda m, x, y: m.fit(x, np.where(np.arange(100) == 3, np.nan, y)), "NaN"),
        (lambda m, x, y: m.set_params(expert="poisson").fit(x, y - 10), "non-negative"),
        (lambda m, x, y: m.set_params(expert="poisson").fit(x, y + 0.5), "integer"),
        (
            lambda m, x, y: m.set_params(expert="logistic").fit(x, np.ones(100)),
            "two classes",
        ),
        (lambda m, x, y: m.set_params(n_components=101).fit(x, y), "101"),
        (lambda m, x, y: m.fit(x, y, offset=np.zeros(100)), "offset"),
    ],
)
def test_bad_input_is_refused_and_leaves_the_fit(call, match):
    rng = np.random.RandomState(13)
    x = rng.normal(size=(100, 1))
    y = np.round(np.abs(3 * x[:, 0])) + rng.randint(0, 2, size=100)
    model = MixtureRegression(2, random_state=0).fit(x, y)
    before = {
        name: np.copy(value)
        for name, value in vars(model).items()
        if name.endswith("_") and isinstance(value, np.ndarray)
    }
    params = model.get_params()
    with pytest.raises((DataValidationError, ValueError), match=match):
        call(model, x, y)
    model.set_params(**params)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)


def test_unseen_classes_at_predict_time():
    rng = np.random.RandomState(14)
    x = rng.normal(size=(200, 1))
    y = np.where(x[:, 0] > 0, "up", "down")
    model = MixtureRegression(2, expert="logistic", random_state=0).fit(x, y)
    assert set(model.predict(x)) <= {"up", "down"}
    with pytest.raises(DataValidationError, match="not seen in fit"):
        model.predict_proba(x[:3], ["up", "sideways", "down"])


def test_wrong_number_of_features_at_predict_time():
    rng = np.random.RandomState(15)
    x = rng.normal(size=(100, 2))
    model = MixtureRegression(2, random_state=0).fit(x, x[:, 0])
    with pytest.raises(ValueError, match="features"):
        model.predict(x[:, :1])


@pytest.mark.parametrize(
    "estimator, expert",
    [
        (MixtureRegression, "gaussian"),
        (MixtureRegression, "poisson"),
        (MixtureRegression, "logistic"),
        (MixtureOfExperts, "gaussian"),
        (MixtureOfExperts, "logistic"),
    ],
)
def test_model_files_round_trip(tmp_path, estimator, expert):
    rng = np.random.RandomState(16)
    x = rng.normal(size=(300, 2))
    y = {
        "gaussian": x[:, 0] + rng.randn(300),
        "poisson": rng.poisson(np.exp(0.5 * x[:, 0])),
        "logistic": np.where(x[:, 1] + rng.randn(300) > 0, "yes", "no"),
    }[expert]
    model = estimator(2, expert=expert, n_init=2, random_state=0).fit(x, y)
    path = tmp_path / "model.mixtura"
    mixtura.save(model, path)
    loaded = mixtura.load(path)
    assert type(loaded) is estimator
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    np.testing.assert_array_equal(loaded.score_samples(x, y), model.score_samples(x, y))
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.weights_, model.weights_)
    assert loaded.n_iter_ == model.n_iter_


def test_select_chooses_the_number_of_experts():
    rng = np.random.RandomState(17)
    x, y, _ = _crossing_lines(
        rng, 900, [3.0, 0.0, -2.0], [0.0, 2.0, -1.0], [0.3, 0.3, 0.3], [0.3, 0.3, 0.4]
    )
    table = mixtura.select(
        x, range(1, 5), y=y, estimator=MixtureRegression(n_init=3), random_state=0
    )
    assert table.best("bic") == ("MixtureRegression(gaussian)", 3)
    cell = table.estimator("MixtureRegression(gaussian)", 3)
    assert cell.bic(x, y) == pytest.approx(
        table.value("bic", "MixtureRegression(gaussian)", 3)
    )
    assert cell.icl(x, y) == pytest.approx(
        table.value("icl", "MixtureRegression(gaussian)", 3)
    )


def test_select_over_named_estimators_and_bad_calls():
    rng = np.random.RandomState(18)
    x = rng.uniform(0, 2, size=(400, 1))
    y = rng.poisson(np.exp(np.where(rng.rand(400) < 0.5, 0.5 + x[:, 0], 2.0)))
    grid = {
        "poisson": MixtureRegression(expert="poisson", n_init=2),
        "gated": MixtureOfExperts(expert="poisson", n_init=2),
    }
    table = mixtura.select(x, [1, 2], y=y, estimator=grid)
    assert table.models == ("poisson", "gated")
    with pytest.raises(ValueError, match="Gaussian grids"):
        mixtura.select(x, [1, 2], y=y, estimator=grid, models=["full"])
    with pytest.raises(DataValidationError, match="non-negative"):
        mixtura.select(x, [1, 2], y=-y - 1, estimator=grid)


def test_callback_sees_every_iteration_and_interrupt_keeps_the_best_fit():
    from mixtura.inference.loop import FitInterrupted

    rng = np.random.RandomState(19)
    x, y, _ = _crossing_lines(rng, 400, [2.0, -1.0], [1.0, 0.0], [0.3, 0.6], [0.5, 0.5])
    seen = []
    model = MixtureRegression(2, random_state=0, callback=seen.append).fit(x, y)
    assert [info.n_iter for info in seen] == list(range(1, model.n_iter_ + 1))
    np.testing.assert_allclose([info.lower_bound for info in seen], model.lower_bounds_)

    def stop_after_three(info):
        if info.n_iter == 3:
            raise KeyboardInterrupt

    interrupted = MixtureOfExperts(2, random_state=0, callback=stop_after_three)
    with pytest.raises(FitInterrupted) as caught:
        interrupted.fit(x, y)
    assert caught.value.estimator is interrupted
    assert interrupted.fit_events_[-1]["event"] == "interrupted"
    assert np.isfinite(interrupted.score(x, y))
    assert interrupted.weights_.shape == (2,)
