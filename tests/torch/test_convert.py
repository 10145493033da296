"""Conversion between mixtura's fitted estimators and the torch modules."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import mixtura  # noqa: E402
from mixtura import GaussianMixture, MixtureOfExperts, MixtureRegression  # noqa: E402
from mixtura.torch import (  # noqa: E402
    GaussianMixtureDensity,
    MixtureOfExpertsLayer,
    from_gaussian_mixture,
    from_mixture_of_experts,
    to_mixture_of_experts,
)


def _numpy(tensor):
    return tensor.detach().numpy()


@pytest.fixture(scope="module")
def regimes():
    """Two regimes switched by the sign of column 0; y linear in column 1."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-3, 3, size=(300, 3))
    y = np.where(X[:, 0] > 0, 2 * X[:, 1] + 1, -X[:, 1]) + 0.5 * rng.randn(300)
    return X, y


@pytest.fixture(scope="module")
def fitted(regimes):
    X, y = regimes
    return MixtureOfExperts(2, gate_features=[0], random_state=0).fit(X, y)


# -- mixture of experts ---------------------------------------------------------
def test_layer_of_a_fitted_estimator_scores_and_predicts_as_it(fitted, regimes):
    X, y = regimes
    layer = from_mixture_of_experts(fitted)
    assert layer.expert_weight.dtype == torch.float64 and layer.top_k is None
    x = torch.as_tensor(X)
    np.testing.assert_allclose(
        _numpy(layer.log_prob(x, torch.as_tensor(y))),
        fitted.score_samples(X, y),
        rtol=0,
        atol=1e-10,
    )
    np.testing.assert_allclose(_numpy(layer(x))[:, 0], fitted.predict(X), atol=1e-10)
    np.testing.assert_allclose(
        _numpy(torch.softmax(layer.gate(x), 1)), fitted.predict_gate(X), atol=1e-12
    )


def test_a_layers_log_prob_is_its_estimators_score_samples(regimes):
    X, y = regimes
    torch.manual_seed(0)
    layer = MixtureOfExpertsLayer(3, 1, 3, dtype=torch.float64)
    with torch.no_grad():
        layer.noise_log_variance.normal_()
    model = to_mixture_of_experts(layer, X)
    assert isinstance(model, MixtureOfExperts) and model.n_features_in_ == 3
    x = torch.as_tensor(X)
    np.testing.assert_allclose(
        model.score_samples(X, y),
        _numpy(layer.log_prob(x, torch.as_tensor(y))),
        rtol=0,
        atol=1e-10,
    )
    np.testing.assert_allclose(model.predict(X), _numpy(layer(x))[:, 0], atol=1e-12)
    np.testing.assert_allclose(
        model.weights_, _numpy(torch.softmax(layer.gate(x), 1).mean(0)), atol=1e-12
    )


def test_round_trip_estimator_layer_estimator_predicts_the_same(fitted, regimes):
    X, y = regimes
    back = to_mixture_of_experts(from_mixture_of_experts(fitted), X, gate_features=[0])
    assert back.mixture_.gate.columns == fitted.mixture_.gate.columns
    np.testing.assert_array_equal(back.coef_, fitted.coef_)
    np.testing.assert_array_equal(back.intercept_, fitted.intercept_)
    np.testing.assert_allclose(back.predict(X), fitted.predict(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        back.score_samples(X, y), fitted.score_samples(X, y), rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(back.predict_proba(X, y), fitted.predict_proba(X, y))
    np.testing.assert_allclose(back.weights_, fitted.weights_, atol=1e-12)


def test_converted_estimator_saves_loads_and_refits(fitted, regimes, tmp_path):
    X, y = regimes
    back = to_mixture_of_experts(from_mixture_of_experts(fitted), X)
    mixtura.save(back, tmp_path / "moe")
    loaded = mixtura.load(tmp_path / "moe")
    np.testing.assert_allclose(loaded.predict(X), fitted.predict(X), atol=1e-12)
    refit = back.fit(X, y)  # a fresh fit from its hyperparameters
    assert refit.n_iter_ > 0


def test_mixture_regression_converts_with_a_constant_gate(regimes):
    X, y = regimes
    model = MixtureRegression(2, random_state=0).fit(X, y)
    layer = from_mixture_of_experts(model)
    assert not layer.gate.weight.detach().any()
    np.testing.assert_allclose(
        _numpy(layer.log_prob(torch.as_tensor(X), torch.as_tensor(y))),
        model.score_samples(X, y),
        rtol=0,
        atol=1e-10,
    )


def test_converting_to_float32(fitted, regimes):
    X, y = regimes
    layer = from_mixture_of_experts(fitted, dtype=torch.float32)
    out = layer.log_prob(torch.as_tensor(X).float(), torch.as_tensor(y).float())
    assert out.dtype == torch.float32
    np.testing.assert_allclose(_numpy(out), fitted.score_samples(X, y), atol=1e-3)


@pytest.mark.filterwarnings("ignore::mixtura.ConvergenceWarning")
def test_conversion_errors(fitted, regimes):
    X, y = regimes
    with pytest.raises(ValueError, match="not fitted"):
        from_mixture_of_experts(MixtureOfExperts(2))
    labels = (y > 0).astype(int)
    logistic = MixtureOfExperts(2, expert="logistic", random_state=0, max_iter=5)
    with pytest.raises(ValueError, match="Gaussian experts"):
        from_mixture_of_experts(logistic.fit(X, labels))
    two_outputs = MixtureOfExperts(2, random_state=0, max_iter=5)
    with pytest.raises(ValueError, match="1-D y"):
        from_mixture_of_experts(two_outputs.fit(X, np.c_[y, -y]))
    with pytest.raises(ValueError, match="out_features=1"):
        to_mixture_of_experts(MixtureOfExpertsLayer(3, 2, 2))
    with pytest.raises(ValueError, match="outside"):
        to_mixture_of_experts(MixtureOfExpertsLayer(3, 1, 2), gate_features=[0])


# -- Gaussian mixture -----------------------------------------------------------
@pytest.fixture(scope="module")
def blobs():
    rng = np.random.RandomState(1)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, -2.0], [-3.0, 3.0, 1.0]])
    return np.vstack([c + rng.randn(100, 3) @ rng.randn(3, 3) * 0.5 for c in centres])


@pytest.mark.parametrize(
    "covariance_type", ["full", "tied", "diag", "spherical", "VEV", "EEI"]
)
def test_gaussian_mixture_log_density_equals_score_samples(blobs, covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0)
    model.fit(blobs)
    density = from_gaussian_mixture(model)
    assert isinstance(density, GaussianMixtureDensity)
    x = torch.as_tensor(blobs)
    np.testing.assert_allclose(
        _numpy(density(x)), model.score_samples(blobs), rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(
        _numpy(density.responsibilities(x)), model.predict_proba(blobs), atol=1e-10
    )


def test_gaussian_mixture_parameters_come_back(blobs):
    model = GaussianMixture(3, random_state=0).fit(blobs)
    density = from_gaussian_mixture(model)
    np.testing.assert_allclose(_numpy(density.covariances), model.covariances_)
    np.testing.assert_allclose(
        _numpy(density.precisions_cholesky), model.precisions_cholesky_, atol=1e-12
    )
    np.testing.assert_allclose(_numpy(density.log_weights().exp()), model.weights_)


def test_gaussian_mixture_with_a_noise_component(blobs):
    model = GaussianMixture(3, noise=True, random_state=0).fit(blobs)
    density = from_gaussian_mixture(model)
    assert density.weight_logits.shape == (4,)
    np.testing.assert_allclose(
        _numpy(density(torch.as_tensor(blobs))),
        model.score_samples(blobs),
        rtol=0,
        atol=1e-10,
    )


def test_gaussian_mixture_gradcheck(blobs):
    model = GaussianMixture(2, random_state=0).fit(blobs[:, :2])
    density = from_gaussian_mixture(model)
    names = [name for name, _ in density.named_parameters()]
    values = [p.detach().clone().requires_grad_(True) for p in density.parameters()]
    x = torch.as_tensor(blobs[::60, :2]).clone().requires_grad_(True)

    def log_density(x, *parameters):
        return torch.func.functional_call(
            density, dict(zip(names, parameters, strict=True)), (x,)
        )

    assert torch.autograd.gradcheck(log_density, (x, *values))


def test_gaussian_mixture_gradient_ascent_recovers_the_fit(blobs):
    # the fit with its means moved by 0.3: Adam on the means climbs back from
    # about -10 nats a row to the fit's -3.873 (measured: to within 1e-6)
    model = GaussianMixture(3, random_state=0).fit(blobs)
    density = from_gaussian_mixture(model)
    with torch.no_grad():
        density.means.add_(0.3)
    x = torch.as_tensor(blobs)
    optimizer = torch.optim.Adam([density.means], lr=0.02)
    start = density(x).mean().item()
    for _ in range(300):
        optimizer.zero_grad()
        (-density(x).mean()).backward()
        optimizer.step()
    end, best = density(x).mean().item(), model.score(blobs)
    assert start < best - 5.0 and end > best - 1e-4, (start, end, best)


def test_gaussian_mixture_float32(blobs):
    model = GaussianMixture(3, random_state=0).fit(blobs)
    density = from_gaussian_mixture(model, dtype=torch.float32)
    out = density(torch.as_tensor(blobs, dtype=torch.float32))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(_numpy(out), model.score_samples(blobs), atol=1e-4)


def test_gaussian_mixture_not_fitted():
    with pytest.raises(ValueError, match="not fitted"):
        from_gaussian_mixture(GaussianMixture(2))
