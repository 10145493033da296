"""The mixture density and mixture-of-experts layers."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402
from scipy.special import log_softmax, logsumexp  # noqa: E402
from scipy.stats import norm  # noqa: E402
from torch.func import functional_call  # noqa: E402

from mixtura.torch import MixtureDensityLayer, MixtureOfExpertsLayer  # noqa: E402


def _numpy(tensor):
    return tensor.detach().numpy()


def _two_regimes(n=256, seed=0):
    """x in [-1, 1]; y = 2x + 1 for x > 0 and -x otherwise, noise sd 0.1."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, size=(n, 1))
    y = np.where(x[:, 0] > 0, 2 * x[:, 0] + 1, -x[:, 0]) + 0.1 * rng.randn(n)
    return torch.as_tensor(x), torch.as_tensor(y)[:, None]


def _gradcheck_with_parameters(layer, *inputs):
    """gradcheck of ``layer.log_prob`` in its inputs and all its parameters."""
    names = [name for name, _ in layer.named_parameters()]
    values = [p.detach().clone().requires_grad_(True) for p in layer.parameters()]
    inputs = [t.detach().clone().requires_grad_(True) for t in inputs]
    n_inputs = len(inputs)

    def log_prob(*args):
        parameters = dict(zip(names, args[n_inputs:], strict=True))
        return functional_call(layer, parameters, args[:n_inputs], {}, strict=True)

    return torch.autograd.gradcheck(log_prob, (*inputs, *values))


class _LogProb(torch.nn.Module):
    """Makes a layer's ``log_prob`` its ``forward`` (for functional_call)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, *args):
        return self.layer.log_prob(*args)


# -- mixture density layer ------------------------------------------------------
def _mdn_numpy_log_prob(layer, h, y):
    """The MDN's log density from its weights, in NumPy and scipy."""
    w = {name: _numpy(p) for name, p in layer.named_parameters()}
    n, k, d = h.shape[0], layer.n_components, layer.out_features
    logits = h @ w["logits_layer.weight"].T + w["logits_layer.bias"]
    means = (h @ w["means_layer.weight"].T + w["means_layer.bias"]).reshape(n, k, d)
    raw = h @ w["scales_layer.weight"].T + w["scales_layer.bias"]
    stds = np.logaddexp(0.0, raw).reshape(n, k, -1) + layer.min_std
    stds = np.broadcast_to(stds, (n, k, d))
    components = norm.logpdf(y[:, None, :], means, stds).sum(axis=2)
    return logsumexp(log_softmax(logits, axis=1) + components, axis=1)


@pytest.mark.parametrize("covariance", ["diag", "spherical"])
def test_mdn_log_prob_equals_numpy(covariance):
    torch.manual_seed(0)
    layer = MixtureDensityLayer(5, 3, 4, covariance, dtype=torch.float64)
    h, y = torch.randn(20, 5, dtype=torch.float64), torch.randn(20, 3).double()
    expected = _mdn_numpy_log_prob(layer, h.numpy(), y.numpy())
    np.testing.assert_allclose(
        _numpy(layer.log_prob(h, y)), expected, rtol=0, atol=1e-10
    )


def test_mdn_shapes_mean_and_sample():
    torch.manual_seed(0)
    layer = MixtureDensityLayer(4, 2, 3, dtype=torch.float64)
    h = torch.randn(7, 4, dtype=torch.float64)
    logits, means, stds = layer(h)
    assert logits.shape == (7, 3) and means.shape == stds.shape == (7, 3, 2)
    assert bool((stds >= layer.min_std).all())
    weights = torch.softmax(logits, 1)
    np.testing.assert_allclose(
        _numpy(layer.mean(h)), _numpy((weights[:, :, None] * means).sum(1)), atol=1e-14
    )
    y, labels = layer.sample(h, generator=torch.Generator().manual_seed(1))
    assert y.shape == (7, 2) and labels.shape == (7,) and labels.max() < 3
    np.testing.assert_allclose(_numpy(layer.posterior(h, y).sum(1)), 1.0, atol=1e-12)


def test_mdn_samples_follow_the_mixture():
    # one row repeated: the sample mean and variance are the mixture's
    torch.manual_seed(0)
    layer = MixtureDensityLayer(2, 1, 2, dtype=torch.float64)
    h = torch.randn(1, 2, dtype=torch.float64).expand(20000, 2)
    y, _ = layer.sample(h, generator=torch.Generator().manual_seed(0))
    logits, means, stds = layer(h[:1])
    w, mu, sd = (
        _numpy(torch.softmax(logits, 1))[0],
        _numpy(means)[0, :, 0],
        _numpy(stds)[0, :, 0],
    )
    mean = (w * mu).sum()
    variance = (w * (sd**2 + mu**2)).sum() - mean**2
    assert abs(y.mean().item() - mean) < 4 * np.sqrt(variance / 20000)
    assert abs(y.var().item() / variance - 1) < 0.05


@pytest.mark.parametrize("covariance", ["diag", "spherical"])
def test_mdn_gradcheck(covariance):
    torch.manual_seed(0)
    layer = MixtureDensityLayer(2, 2, 2, covariance, dtype=torch.float64)
    h, y = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2).double()
    assert _gradcheck_with_parameters(_LogProb(layer), h, y)


def test_mdn_training_lowers_the_negative_log_likelihood():
    # y is +x or -x with equal odds: one Gaussian cannot fit it, two can
    torch.manual_seed(0)
    x = torch.rand(512, 1, dtype=torch.float64) * 2 - 1
    sign = torch.where(torch.rand(512, 1) < 0.5, 1.0, -1.0).double()
    y = sign * x + 0.05 * torch.randn(512, 1, dtype=torch.float64)
    layer = MixtureDensityLayer(1, 1, 2, dtype=torch.float64)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    start = -layer.log_prob(x, y).mean().item()
    for _ in range(300):
        optimizer.zero_grad()
        loss = -layer.log_prob(x, y).mean()
        loss.backward()
        optimizer.step()
    end = -layer.log_prob(x, y).mean().item()
    # measured: 3.30 nats -> -0.99; the true model's is log 2 + 0.5 log(2 pi e
    # 0.05^2) = -0.88
    assert end < start - 3.0 and end < -0.8, (start, end)


def test_mdn_float32():
    torch.manual_seed(0)
    layer64 = MixtureDensityLayer(3, 2, 3, dtype=torch.float64)
    layer32 = MixtureDensityLayer(3, 2, 3).to(torch.float32)
    layer32.load_state_dict({k: v.float() for k, v in layer64.state_dict().items()})
    h, y = torch.randn(10, 3, dtype=torch.float64), torch.randn(10, 2).double()
    out = layer32.log_prob(h.float(), y.float())
    assert out.dtype == torch.float32
    out.sum().backward()
    assert layer32.means_layer.weight.grad.dtype == torch.float32
    np.testing.assert_allclose(
        _numpy(out), _numpy(layer64.log_prob(h, y)), rtol=1e-5, atol=1e-5
    )


def test_mdn_rejects_bad_settings_and_shapes():
    with pytest.raises(ValueError, match="covariance"):
        MixtureDensityLayer(2, 2, 2, covariance="full")
    layer = MixtureDensityLayer(2, 2, 2)
    with pytest.raises(ValueError, match="shape"):
        layer.log_prob(torch.randn(3, 2), torch.randn(3))


# -- mixture of experts layer ---------------------------------------------------
def test_moe_dense_output_is_the_gated_sum():
    torch.manual_seed(0)
    layer = MixtureOfExpertsLayer(3, 2, 4, dtype=torch.float64)
    x = torch.randn(6, 3, dtype=torch.float64)
    w, b = _numpy(layer.expert_weight), _numpy(layer.expert_bias)
    gate = np.exp(
        log_softmax(
            x.numpy() @ _numpy(layer.gate.weight).T + _numpy(layer.gate.bias), axis=1
        )
    )
    experts = np.einsum("np,kpq->nkq", x.numpy(), w) + b
    expected = np.einsum("nk,nkq->nq", gate, experts)
    np.testing.assert_allclose(_numpy(layer(x)), expected, rtol=0, atol=1e-12)


def test_moe_log_prob_equals_numpy():
    torch.manual_seed(0)
    layer = MixtureOfExpertsLayer(3, 2, 4, dtype=torch.float64)
    with torch.no_grad():
        layer.noise_log_variance.normal_()
    x, y = torch.randn(15, 3, dtype=torch.float64), torch.randn(15, 2).double()
    w, b = _numpy(layer.expert_weight), _numpy(layer.expert_bias)
    log_gate = log_softmax(
        x.numpy() @ _numpy(layer.gate.weight).T + _numpy(layer.gate.bias), axis=1
    )
    means = np.einsum("np,kpq->nkq", x.numpy(), w) + b
    sd = np.sqrt(np.exp(_numpy(layer.noise_log_variance)))
    joint = log_gate + norm.logpdf(y.numpy()[:, None, :], means, sd).sum(2)
    np.testing.assert_allclose(
        _numpy(layer.log_prob(x, y)), logsumexp(joint, axis=1), rtol=0, atol=1e-10
    )


@pytest.mark.parametrize("top_k", [1, 2, 3, 5])
def test_top_k_sends_each_row_to_exactly_k_experts(top_k):
    torch.manual_seed(0)
    layer = MixtureOfExpertsLayer(4, 3, 5, top_k=top_k, dtype=torch.float64)
    x = torch.randn(50, 4, dtype=torch.float64)
    routing = layer.route(x)
    assert bool(((routing.gates != 0).sum(1) == top_k).all())
    np.testing.assert_allclose(_numpy(routing.gates.sum(1)), 1.0, atol=1e-12)
    # the kept experts are the k largest logits, weighted by their own softmax
    logits = _numpy(routing.logits)
    kept = np.argsort(-logits, axis=1)[:, :top_k]
    chosen = np.take_along_axis(logits, kept, 1)
    expected = np.zeros_like(logits)
    np.put_along_axis(expected, kept, np.exp(log_softmax(chosen, axis=1)), 1)
    np.testing.assert_allclose(_numpy(routing.gates), expected, atol=1e-12)
    experts = _numpy(layer.expert_outputs(x))
    np.testing.assert_allclose(
        _numpy(layer(x)), np.einsum("nk,nkq->nq", expected, experts), atol=1e-12
    )


def _routed_layer(logits, top_k=None):
    """A layer whose gate gives row i of ``logits`` for the one-hot input e_i."""
    n, k = logits.shape
    layer = MixtureOfExpertsLayer(n, 1, k, top_k=top_k, dtype=torch.float64)
    with torch.no_grad():
        layer.gate.weight.copy_(torch.as_tensor(logits).T)
        layer.gate.bias.zero_()
    return layer, torch.eye(n, dtype=torch.float64)


@pytest.mark.parametrize("top_k", [None, 1, 2])
def test_aux_loss_is_one_for_uniform_routing(top_k):
    # circulant logits: every expert is the first choice of one row and the
    # second of another, and the mean gate probability is 1 / K for each
    k = 4
    base = np.array([3.0, 1.5, 0.0, 0.0])
    logits = np.stack([np.roll(base, i) for i in range(k)])
    layer, x = _routed_layer(logits, top_k)
    out, aux = layer(x, return_aux_loss=True)
    assert out.shape == (k, 1)
    assert aux.item() == pytest.approx(1.0, abs=1e-12)
    assert layer.load_balancing_loss is aux
    assert layer.importance_loss.item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("top_k", [None, 1, 2])
def test_aux_loss_is_larger_for_collapsed_routing(top_k):
    k = 4
    logits = np.tile([20.0, 0.0, 0.0, 0.0], (k, 1))  # every row prefers expert 0
    layer, x = _routed_layer(logits, top_k)
    layer(x)
    aux = layer.load_balancing_loss.item()
    # f_0 = 1 (top_k 2: 1/2 and the rest on one tie-break), P_0 close to 1
    assert aux > 1.9 if top_k == 2 else aux == pytest.approx(k, rel=1e-6)
    assert layer.importance_loss.item() > 2.9  # K - 1 = 3 when fully collapsed


def test_aux_loss_is_differentiable_in_the_gate():
    torch.manual_seed(0)
    layer = MixtureOfExpertsLayer(3, 2, 4, top_k=2, dtype=torch.float64)
    _, aux = layer(torch.randn(32, 3, dtype=torch.float64), return_aux_loss=True)
    (aux + layer.importance_loss).backward()
    assert layer.gate.weight.grad.abs().sum() > 0


def test_gate_noise_only_in_training_mode():
    torch.manual_seed(0)
    layer = MixtureOfExpertsLayer(3, 2, 4, gate_noise=1.0, dtype=torch.float64)
    x = torch.randn(8, 3, dtype=torch.float64)
    assert not torch.equal(layer.gate_logits(x), layer.gate(x))
    layer.eval()
    assert torch.equal(layer.gate_logits(x), layer.gate(x))
    layer.train()
    # log_prob never uses the noise
    y = torch.randn(8, 2, dtype=torch.float64)
    assert torch.equal(layer.log_prob(x, y), layer.log_prob(x, y))


def test_moe_gradcheck():
    torch.manual_seed(0)
    layer = MixtureOfExpertsLayer(2, 2, 3, dtype=torch.float64)
    x, y = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2).double()
    assert _gradcheck_with_parameters(_LogProb(layer), x, y)


def test_moe_training_lowers_the_negative_log_likelihood():
    torch.manual_seed(0)
    x, y = _two_regimes()
    layer = MixtureOfExpertsLayer(1, 1, 2, dtype=torch.float64)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    start = -layer.log_prob(x, y).mean().item()
    for _ in range(400):
        optimizer.zero_grad()
        loss = -layer.log_prob(x, y).mean()
        loss.backward()
        optimizer.step()
    end = -layer.log_prob(x, y).mean().item()
    # measured: 2.66 nats -> -0.91; the true model's is 0.5 log(2 pi e 0.1^2)
    # = -0.88
    assert end < start - 3.0 and end < -0.8, (start, end)


def test_moe_float32():
    torch.manual_seed(0)
    layer64 = MixtureOfExpertsLayer(3, 2, 4, top_k=2, dtype=torch.float64)
    layer32 = MixtureOfExpertsLayer(3, 2, 4, top_k=2)
    layer32.load_state_dict({k: v.float() for k, v in layer64.state_dict().items()})
    x, y = torch.randn(10, 3, dtype=torch.float64), torch.randn(10, 2).double()
    out, aux = layer32(x.float(), return_aux_loss=True)
    log_prob = layer32.log_prob(x.float(), y.float())
    assert out.dtype == aux.dtype == log_prob.dtype == torch.float32
    (log_prob.sum() + out.sum() + aux).backward()
    assert layer32.expert_weight.grad.dtype == torch.float32
    np.testing.assert_allclose(_numpy(out), _numpy(layer64(x)), atol=1e-5)
    np.testing.assert_allclose(
        _numpy(log_prob), _numpy(layer64.log_prob(x, y)), rtol=1e-5, atol=1e-5
    )


def test_moe_rejects_bad_settings():
    with pytest.raises(ValueError, match="top_k"):
        MixtureOfExpertsLayer(2, 1, 3, top_k=4)
    with pytest.raises(ValueError, match="gate_noise"):
        MixtureOfExpertsLayer(2, 1, 3, gate_noise=-1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_layers_follow_the_device():
    device = torch.device("cuda")
    moe = MixtureOfExpertsLayer(3, 2, 4, top_k=2).to(device)
    mdn = MixtureDensityLayer(3, 2, 4).to(device)
    x, y = torch.randn(8, 3, device=device), torch.randn(8, 2, device=device)
    out, aux = moe(x, return_aux_loss=True)
    assert out.device == aux.device == moe.log_prob(x, y).device == x.device
    assert mdn.log_prob(x, y).device == mdn.sample(x)[0].device == x.device
