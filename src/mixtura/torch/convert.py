"""Parameters between mixtura's fitted estimators and the PyTorch layers.

- :func:`from_mixture_of_experts`: a fitted :class:`mixtura.MixtureOfExperts`
  (or :class:`mixtura.MixtureRegression`, whose constant weights become a gate
  of bias only) with Gaussian experts and a 1-D ``y`` becomes a
  :class:`~mixtura.torch.MixtureOfExpertsLayer` whose
  :meth:`~mixtura.torch.MixtureOfExpertsLayer.log_prob` is the estimator's
  ``score_samples`` and whose dense output is its ``predict``.
- :func:`to_mixture_of_experts`: the way back, a fitted
  :class:`mixtura.MixtureOfExperts` (for instance to refine a network-trained
  layer by EM, to save it as a safe model file, or to use its ``predict_proba``
  and ``sample``).
- :func:`from_gaussian_mixture`: a fitted :class:`mixtura.GaussianMixture` (any
  covariance type, mclust's included, and the noise component) becomes a
  :class:`~mixtura.torch.GaussianMixtureDensity`, its ``score_samples`` as a
  differentiable module.

The estimator's gate has the first expert as its reference (logits 0) and reads
the columns ``gate.columns`` of X; the layer's gate reads every column and has
K free logits, so the way there puts zeros in the unread columns and the first
row, and the way back subtracts the first expert's logits (the same softmax).
"""

from __future__ import annotations

import numpy as np
import torch

from mixtura.estimators.regression import MixtureOfExperts
from mixtura.experts import SoftmaxGate
from mixtura.families.conditional import RowLayout
from mixtura.families.covariance import get_covariance_structure
from mixtura.families.linear_regression import GaussianRegression
from mixtura.mixture import Mixture
from mixtura.torch.density import GaussianMixtureDensity
from mixtura.torch.layers import MixtureOfExpertsLayer

__all__ = ["from_gaussian_mixture", "from_mixture_of_experts", "to_mixture_of_experts"]


def _require_fitted(model, attribute, kind):
    if not hasattr(model, attribute):
        raise ValueError(
            f"this {type(model).__name__} is not fitted; call fit before converting "
            f"it to a {kind}"
        )


def from_mixture_of_experts(model, *, dtype=torch.float64, device=None):
    """The :class:`~mixtura.torch.MixtureOfExpertsLayer` of a fitted estimator.

    Parameters
    ----------
    model : MixtureOfExperts or MixtureRegression
        Fitted, with ``expert='gaussian'`` and a 1-D ``y``. A
        :class:`~mixtura.MixtureRegression`'s constant weights become the
        gate's bias (slopes 0).
    dtype : torch.dtype, default=torch.float64
    device : torch.device, optional

    Returns
    -------
    layer : MixtureOfExpertsLayer
        Dense routing, ``out_features=1``; ``layer.log_prob(x, y)`` equals
        ``model.score_samples(x, y)`` and ``layer(x)[:, 0]`` equals
        ``model.predict(x)`` (to round-off in float64).

    Raises
    ------
    ValueError
        If the model is not fitted, its experts are not Gaussian, or ``y`` was
        not 1-D.
    """
    _require_fitted(model, "mixture_", "MixtureOfExpertsLayer")
    if getattr(model, "expert", None) != "gaussian":
        raise ValueError(
            "only Gaussian experts convert to a MixtureOfExpertsLayer; this model "
            f"has expert={getattr(model, 'expert', None)!r}"
        )
    if not model._response["y_1d"] or model._response["offset"]:
        raise ValueError(
            "only a model fitted to a 1-D y (one response, no offset) converts to "
            "a MixtureOfExpertsLayer"
        )
    family = model.mixture_.family
    k, p = family.n_components, family.layout.n_inputs
    gate_weight, gate_bias = np.zeros((k, p)), np.zeros(k)
    if isinstance(model, MixtureOfExperts):
        gate = model.mixture_.gate
        coefficients = gate.coefficients  # (len(columns) + 1, K - 1)
        gate_weight[1:, list(gate.columns)] = coefficients[:-1].T
        gate_bias[1:] = coefficients[-1]
    else:
        gate_bias[:] = model.mixture_.log_weights
    layer = MixtureOfExpertsLayer(p, 1, k, device=device, dtype=dtype)
    values = {
        layer.expert_weight: family.coefficients,
        layer.expert_bias: family.intercepts,
        layer.noise_log_variance: np.log(family.noise_covariances[:, :, 0]),
        layer.gate.weight: gate_weight,
        layer.gate.bias: gate_bias,
    }
    with torch.no_grad():
        for parameter, value in values.items():
            parameter.copy_(torch.as_tensor(value, dtype=torch.float64))
    return layer


def _numpy(tensor):
    return tensor.detach().to("cpu", torch.float64).numpy()


def to_mixture_of_experts(layer, X=None, *, gate_features=None):
    """A fitted :class:`mixtura.MixtureOfExperts` with a layer's parameters.

    The estimator's ``predict``, ``predict_mean``, ``predict_proba`` and
    ``score_samples`` are those of the layer's dense gate and Gaussian experts
    (its top-k routing and gate noise, which the estimator does not model, are
    dropped). Its hyperparameters are the defaults (``noise='component'``,
    ``fit_intercept=True``, no penalties): they only matter to a further
    ``fit``, which starts afresh.

    Parameters
    ----------
    layer : MixtureOfExpertsLayer
        With ``out_features=1``.
    X : array-like of shape (n_samples, in_features), default=None
        Rows over which ``weights_`` (the gate's mean, what a model file keeps
        as the summary weights) is taken; None: equal weights.
    gate_features : array-like of int or None, default=None
        The columns the estimator's gate reads (its ``gate_features``); None:
        all of them. The layer's gate slopes on every other column must be
        equal across the experts (they cancel in the softmax).

    Returns
    -------
    model : MixtureOfExperts
        Fitted (``converged_`` True, ``n_iter_`` 0, ``lower_bound_`` NaN,
        since no EM ran).

    Raises
    ------
    ValueError
        If ``layer.out_features`` is not 1, or the gate reads a column outside
        ``gate_features``.
    """
    if not isinstance(layer, MixtureOfExpertsLayer):
        raise TypeError(f"expected a MixtureOfExpertsLayer; got {type(layer).__name__}")
    if layer.out_features != 1:
        raise ValueError(
            "only a layer with out_features=1 converts to a MixtureOfExperts (the "
            f"estimator's Gaussian experts of a 1-D y); got {layer.out_features}"
        )
    k, p = layer.n_experts, layer.in_features
    weight, bias = _numpy(layer.gate.weight), _numpy(layer.gate.bias)
    slopes, intercepts = (weight[1:] - weight[0]).T, bias[1:] - bias[0]
    columns = list(range(p)) if gate_features is None else list(gate_features)
    unread = np.setdiff1d(np.arange(p), columns)
    if np.any(slopes[unread] != 0):
        raise ValueError(
            f"the layer's gate reads columns {unread.tolist()} outside "
            f"gate_features={columns}; pass gate_features=None"
        )
    coefficients = np.vstack([slopes[columns], intercepts[None]])
    model = MixtureOfExperts(k, gate_features=gate_features)
    state = {"n_inputs": p, "n_outputs": 1, "offset": False, "y_1d": True}
    gate = SoftmaxGate(columns, k, coefficients=coefficients)
    # the model-file path: encoding (with the gate), then the experts' mixture
    model._set_encoding_state(
        {**state, "gate": {**gate.config(), "coefficients": coefficients.tolist()}}
    )
    family = GaussianRegression(
        RowLayout(p, 1),
        coefficients=_numpy(layer.expert_weight),
        intercepts=_numpy(layer.expert_bias),
        noise_covariances=_numpy(layer.noise_variance)[:, :, None],
    )
    if X is None:
        weights = np.full(k, 1.0 / k)
    else:
        rows = np.asarray(X, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != p:
            raise ValueError(f"X must have shape (n_samples, {p}); got {rows.shape}")
        weights = np.exp(gate.log_weights(rows)).mean(axis=0)
    model.n_features_in_ = p
    model._adopt_mixture(Mixture.from_weights(weights, family), np.float64)
    model.converged_, model.n_iter_ = True, 0
    model.lower_bound_, model.lower_bounds_, model.fit_events_ = float("nan"), [], []
    return model


def from_gaussian_mixture(model, *, dtype=torch.float64, device=None):
    """The log density of a fitted :class:`mixtura.GaussianMixture`, as a module.

    Every covariance type converts through ``covariances_`` (each component's
    full matrix, then its precision Cholesky factor); a noise component
    (``noise=True``) becomes a constant column of density ``1 / V``.

    Parameters
    ----------
    model : GaussianMixture
        Fitted.
    dtype : torch.dtype, default=torch.float64
    device : torch.device, optional

    Returns
    -------
    density : GaussianMixtureDensity
        ``density(x)`` equals ``model.score_samples(x)`` (to round-off in
        float64); differentiable in ``x`` and in the mixture's parameters.

    Raises
    ------
    ValueError
        If the model is not fitted.
    """
    _require_fitted(model, "means_", "GaussianMixtureDensity")
    means = np.asarray(model.means_, dtype=np.float64)
    k, d = means.shape
    structure = get_covariance_structure(model.covariance_type)
    covariances = structure.matrices(np.asarray(model.covariances_, np.float64), k, d)
    lower = np.linalg.cholesky(covariances)
    eye = np.broadcast_to(np.eye(d), lower.shape)
    factors = np.swapaxes(np.linalg.solve(lower, eye), 1, 2)  # U = L^{-T}
    factors = np.triu(factors)
    noise = getattr(model, "noise_volume_", None)
    return GaussianMixtureDensity(
        np.asarray(model.weights_, dtype=np.float64),
        means,
        factors,
        noise_volume=noise,
        dtype=dtype,
        device=device,
    )
