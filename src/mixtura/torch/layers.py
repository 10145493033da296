"""Mixture layers for PyTorch: a mixture density head and a mixture of experts.

:class:`MixtureDensityLayer` is the output layer of a mixture density network
(Bishop 1994): from a hidden representation ``h`` it gives the weights, means
and standard deviations of a Gaussian mixture over the target ``y``, and the
negative of :meth:`MixtureDensityLayer.log_prob` is its training loss.

:class:`MixtureOfExpertsLayer` holds K linear experts and a softmax gate
(Jordan & Jacobs 1994), with dense routing or the sparse top-k routing of
Shazeer et al. (2017), and the two load-balancing penalties of the sparse
literature: Shazeer et al.'s importance loss and the Switch Transformer's
auxiliary loss (Fedus et al. 2022). With Gaussian noise on each expert's
output, :meth:`MixtureOfExpertsLayer.log_prob` is the conditional mixture
density that :class:`mixtura.MixtureOfExperts` fits by EM
(:mod:`mixtura.torch.convert` moves parameters between the two).

Both layers are written in plain tensor operations: they run in the dtype and
on the device of their parameters (``layer.to(device, dtype)``), and every
output is differentiable in the inputs and parameters.

References
----------
Bishop, C. M. (1994). Mixture density networks. Technical report NCRG/94/004,
Aston University.
Jordan, M. I. & Jacobs, R. A. (1994). Hierarchical mixtures of experts and the
EM algorithm. Neural Computation 6, 181-214.
Shazeer, N., Mirhoseini, A., Maziarz, K., Davis, A., Le, Q., Hinton, G. &
Dean, J. (2017). Outrageously large neural networks: the sparsely-gated
mixture-of-experts layer. ICLR.
Fedus, W., Zoph, B. & Shazeer, N. (2022). Switch Transformers: scaling to
trillion parameter models with simple and efficient sparsity. JMLR 23, 1-39.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional

__all__ = ["MixtureDensityLayer", "MixtureOfExpertsLayer", "Routing"]

_LOG_2PI = math.log(2 * math.pi)
_COVARIANCES = ("diag", "spherical")


def _gaussian_log_prob(y, means, variances=None, stds=None):
    """Diagonal Gaussian log densities summed over the last axis.

    ``y`` (n, 1, d) against ``means`` (n or 1, K, d), with either the variances
    or the standard deviations (broadcasting like the means); returns (n, K).
    """
    if stds is not None:
        z = (y - means) / stds
        log_scale = torch.log(stds)
        return -0.5 * (z * z + _LOG_2PI).sum(-1) - log_scale.sum(-1)
    residual = y - means
    return -0.5 * (
        residual * residual / variances + torch.log(variances) + _LOG_2PI
    ).sum(-1)


def _responses(y, n_outputs, name="y"):
    """``y`` as (n, n_outputs); a 1-D ``y`` is accepted for one output."""
    if y.ndim == 1 and n_outputs == 1:
        return y[:, None]
    if y.ndim != 2 or y.shape[1] != n_outputs:
        raise ValueError(
            f"{name} must have shape (n_samples, {n_outputs})"
            + (" or (n_samples,)" if n_outputs == 1 else "")
            + f"; got {tuple(y.shape)}"
        )
    return y


class MixtureDensityLayer(nn.Module):
    """A mixture density network head (Bishop 1994).

    Three linear maps of the input ``h`` give, for each row, the logits of K
    mixing weights, K means and K standard deviations (softplus plus
    ``min_std``, so they stay positive and bounded away from 0) of a Gaussian
    mixture over ``y``::

        p(y | h) = sum_k softmax(a(h))_k N(y | mu_k(h), diag(sigma_k(h)^2)).

    Parameters
    ----------
    in_features : int
        Width of the input ``h``.
    out_features : int
        Dimension of the target ``y``.
    n_components : int
        Number of mixture components K.
    covariance : {'diag', 'spherical'}, default='diag'
        One standard deviation per component and output (``'diag'``), or one
        per component shared by the outputs (``'spherical'``).
    min_std : float, default=1e-3
        The floor added to every standard deviation.
    device : torch.device, optional
    dtype : torch.dtype, optional

    Attributes
    ----------
    logits_layer : torch.nn.Linear
        ``in_features -> n_components``.
    means_layer : torch.nn.Linear
        ``in_features -> n_components * out_features``.
    scales_layer : torch.nn.Linear
        ``in_features -> n_components * out_features`` (``'diag'``) or
        ``n_components`` (``'spherical'``), before the softplus.

    Examples
    --------
    >>> import torch
    >>> from mixtura.torch import MixtureDensityLayer
    >>> head = MixtureDensityLayer(8, 2, n_components=3)
    >>> h, y = torch.randn(5, 8), torch.randn(5, 2)
    >>> head.log_prob(h, y).shape
    torch.Size([5])
    """

    def __init__(
        self,
        in_features,
        out_features,
        n_components,
        covariance="diag",
        *,
        min_std=1e-3,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if covariance not in _COVARIANCES:
            raise ValueError(
                f"covariance must be one of {_COVARIANCES}; got {covariance!r}"
            )
        if min(in_features, out_features, n_components) < 1:
            raise ValueError(
                "in_features, out_features and n_components must be positive; got "
                f"{in_features}, {out_features}, {n_components}"
            )
        if not min_std >= 0:
            raise ValueError(f"min_std must be >= 0; got {min_std}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.n_components = int(n_components)
        self.covariance = covariance
        self.min_std = float(min_std)
        factory = {"device": device, "dtype": dtype}
        k, d = self.n_components, self.out_features
        self.logits_layer = nn.Linear(in_features, k, **factory)
        self.means_layer = nn.Linear(in_features, k * d, **factory)
        n_scales = k * d if covariance == "diag" else k
        self.scales_layer = nn.Linear(in_features, n_scales, **factory)

    def forward(self, h):
        """The mixture's parameters for each row of ``h``.

        Parameters
        ----------
        h : torch.Tensor of shape (batch, in_features)

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_components)
            Unnormalised log weights (``log_softmax`` gives the log weights).
        means : torch.Tensor of shape (batch, n_components, out_features)
        stds : torch.Tensor of shape (batch, n_components, out_features)
            Standard deviations, at least ``min_std``.
        """
        n, k, d = h.shape[0], self.n_components, self.out_features
        logits = self.logits_layer(h)
        means = self.means_layer(h).reshape(n, k, d)
        stds = functional.softplus(self.scales_layer(h)) + self.min_std
        stds = stds.reshape(n, k, -1).expand(n, k, d)
        return logits, means, stds

    def component_log_prob(self, h, y):
        """``log w_k(h) + log N(y | mu_k(h), sigma_k(h)^2)`` for every component.

        Parameters
        ----------
        h : torch.Tensor of shape (batch, in_features)
        y : torch.Tensor of shape (batch, out_features)
            (batch,) is accepted when ``out_features`` is 1.

        Returns
        -------
        joint : torch.Tensor of shape (batch, n_components)
        """
        y = _responses(y, self.out_features)
        logits, means, stds = self(h)
        log_weights = functional.log_softmax(logits, dim=1)
        return log_weights + _gaussian_log_prob(y[:, None, :], means, stds=stds)

    def log_prob(self, h, y):
        """The conditional log density ``log p(y | h)`` of each row.

        Parameters
        ----------
        h : torch.Tensor of shape (batch, in_features)
        y : torch.Tensor of shape (batch, out_features)
            (batch,) is accepted when ``out_features`` is 1.

        Returns
        -------
        log_prob : torch.Tensor of shape (batch,)
            Its negative mean is the usual training loss.
        """
        return torch.logsumexp(self.component_log_prob(h, y), dim=1)

    def posterior(self, h, y):
        """Component memberships ``P(k | h, y)`` of each row.

        Parameters
        ----------
        h : torch.Tensor of shape (batch, in_features)
        y : torch.Tensor of shape (batch, out_features)

        Returns
        -------
        resp : torch.Tensor of shape (batch, n_components)
        """
        return torch.softmax(self.component_log_prob(h, y), dim=1)

    def mean(self, h):
        """The mixture mean ``E[y | h] = sum_k w_k(h) mu_k(h)``.

        Parameters
        ----------
        h : torch.Tensor of shape (batch, in_features)

        Returns
        -------
        mean : torch.Tensor of shape (batch, out_features)
        """
        logits, means, _ = self(h)
        return torch.einsum("nk,nkd->nd", torch.softmax(logits, dim=1), means)

    def sample(self, h, generator=None):
        """Draw one ``y`` per row of ``h`` from the predicted mixture.

        Parameters
        ----------
        h : torch.Tensor of shape (batch, in_features)
        generator : torch.Generator, optional
            On the device of ``h``.

        Returns
        -------
        y : torch.Tensor of shape (batch, out_features)
        labels : torch.Tensor of shape (batch,)
            The component that drew each row.
        """
        with torch.no_grad():
            logits, means, stds = self(h)
            probabilities = torch.softmax(logits, dim=1)
            labels = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
            rows = torch.arange(h.shape[0], device=h.device)
            noise = torch.randn(
                means.shape[0],
                self.out_features,
                generator=generator,
                device=means.device,
                dtype=means.dtype,
            )
            return means[rows, labels] + stds[rows, labels] * noise, labels

    def extra_repr(self):
        """The settings shown in the module's repr.

        Returns
        -------
        text : str
        """
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"n_components={self.n_components}, covariance={self.covariance!r}, "
            f"min_std={self.min_std}"
        )


class Routing(NamedTuple):
    """How a :class:`MixtureOfExpertsLayer` routed a batch.

    Parameters
    ----------
    gates : torch.Tensor of shape (batch, n_experts)
        The weights that combine the experts' outputs (rows sum to one; with
        top-k routing all but k entries of each row are exactly 0).
    probabilities : torch.Tensor of shape (batch, n_experts)
        The dense softmax of the gate logits (``P`` of the auxiliary loss).
    logits : torch.Tensor of shape (batch, n_experts)
        The gate logits, with the gate noise when training.
    load_balancing_loss : torch.Tensor of shape ()
        Fedus et al.'s ``n_experts * sum_k f_k P_k`` (1 when balanced).
    importance_loss : torch.Tensor of shape ()
        Shazeer et al.'s squared coefficient of variation of ``gates.sum(0)``.
    """

    gates: torch.Tensor
    probabilities: torch.Tensor
    logits: torch.Tensor
    load_balancing_loss: torch.Tensor
    importance_loss: torch.Tensor


class MixtureOfExpertsLayer(nn.Module):
    """K linear experts combined by a softmax gate (Jordan & Jacobs 1994).

    Expert k maps ``x`` to ``x @ W_k + b_k``; the gate's logits are a linear
    map of ``x``. Dense routing (``top_k=None``) outputs
    ``sum_k softmax(logits)_k (x @ W_k + b_k)``; top-k routing (Shazeer et al.
    2017) keeps each row's ``top_k`` largest logits, takes the softmax over
    them alone and gives every other expert a gate of exactly 0, so each row is
    sent to exactly ``top_k`` experts.

    Every call records two load-balancing penalties of the batch (add either,
    times a small factor, to the training loss):

    - ``load_balancing_loss``, the Switch Transformer's auxiliary loss (Fedus
      et al. 2022), ``n_experts * sum_k f_k P_k``, with ``P_k`` the mean over
      the rows of the dense gate probability of expert k (differentiable) and
      ``f_k`` the fraction of routing slots given to expert k (not
      differentiable): with dense routing or ``top_k=1`` the fraction of rows
      whose largest logit is expert k's, as in Switch; with ``top_k > 1`` the
      number of rows that have k among their ``top_k`` experts divided by
      ``batch * top_k``, so that the ``f_k`` sum to one. It is 1 for a
      perfectly balanced batch (``f_k = P_k = 1 / n_experts``) and approaches
      ``n_experts`` when every row goes to one expert.
    - ``importance_loss``, Shazeer et al.'s ``CV(Importance)^2``: the squared
      coefficient of variation (population variance over squared mean) of each
      expert's importance, the sum over the rows of its routed gate values
      (``Routing.gates``). 0 when balanced; ``n_experts - 1`` when collapsed.

    The experts are evaluated densely (one batched matrix product for all K)
    and the routing weights their outputs; top-k routing changes the output and
    the gradients, not the arithmetic cost.

    With Gaussian noise of per-expert, per-output variance ``sigma_k^2`` on the
    experts' outputs, :meth:`log_prob` is the conditional density of a mixture
    of experts, ``p(y | x) = sum_k g_k(x) N(y | x @ W_k + b_k, diag(sigma_k^2))``,
    always with the dense gate: the model that :class:`mixtura.MixtureOfExperts`
    fits by EM.

    Parameters
    ----------
    in_features : int
        Width of the input ``x``.
    out_features : int
        Width of each expert's output.
    n_experts : int
        Number of experts K.
    top_k : int or None, default=None
        None: dense routing; an int in [1, n_experts]: top-k routing.
    gate_noise : float, default=0.0
        In training mode, the standard deviation of Gaussian noise added to
        the gate logits before routing (a fixed-scale version of Shazeer et
        al.'s noisy top-k gating, which learns the scale); 0 or eval mode: none.
    device : torch.device, optional
    dtype : torch.dtype, optional

    Attributes
    ----------
    expert_weight : torch.nn.Parameter of shape (n_experts, in_features, out_features)
    expert_bias : torch.nn.Parameter of shape (n_experts, out_features)
    gate : torch.nn.Linear
        ``in_features -> n_experts``.
    noise_log_variance : torch.nn.Parameter of shape (n_experts, out_features)
        Log of each expert's noise variance (:meth:`log_prob` only).
    load_balancing_loss : torch.Tensor or None
        The Switch auxiliary loss of the last :meth:`forward` call.
    importance_loss : torch.Tensor or None
        The importance loss of the last :meth:`forward` call.

    Examples
    --------
    >>> import torch
    >>> from mixtura.torch import MixtureOfExpertsLayer
    >>> layer = MixtureOfExpertsLayer(4, 3, n_experts=8, top_k=2)
    >>> out, aux = layer(torch.randn(16, 4), return_aux_loss=True)
    >>> out.shape, aux.shape
    (torch.Size([16, 3]), torch.Size([]))
    """

    def __init__(
        self,
        in_features,
        out_features,
        n_experts,
        top_k=None,
        gate_noise=0.0,
        *,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if min(in_features, out_features, n_experts) < 1:
            raise ValueError(
                "in_features, out_features and n_experts must be positive; got "
                f"{in_features}, {out_features}, {n_experts}"
            )
        if top_k is not None and not 1 <= int(top_k) <= n_experts:
            raise ValueError(f"top_k must be None or in [1, {n_experts}]; got {top_k}")
        if not gate_noise >= 0:
            raise ValueError(f"gate_noise must be >= 0; got {gate_noise}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.n_experts = int(n_experts)
        self.top_k = None if top_k is None else int(top_k)
        self.gate_noise = float(gate_noise)
        factory = {"device": device, "dtype": dtype}
        k, p, q = self.n_experts, self.in_features, self.out_features
        self.expert_weight = nn.Parameter(torch.empty(k, p, q, **factory))
        self.expert_bias = nn.Parameter(torch.empty(k, q, **factory))
        self.gate = nn.Linear(p, k, **factory)
        self.noise_log_variance = nn.Parameter(torch.zeros(k, q, **factory))
        self.load_balancing_loss = None
        self.importance_loss = None
        self.reset_parameters()

    def reset_parameters(self):
        """Experts initialised as :class:`torch.nn.Linear` is; unit noise."""
        bound = 1.0 / math.sqrt(self.in_features)
        with torch.no_grad():
            self.expert_weight.uniform_(-bound, bound)
            self.expert_bias.uniform_(-bound, bound)
            self.noise_log_variance.zero_()
        self.gate.reset_parameters()

    @property
    def noise_variance(self):
        """Each expert's noise variance, shape (n_experts, out_features)."""
        return torch.exp(self.noise_log_variance)

    def expert_outputs(self, x):
        """Every expert's output ``x @ W_k + b_k``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_features)

        Returns
        -------
        outputs : torch.Tensor of shape (batch, n_experts, out_features)
        """
        return torch.einsum("np,kpq->nkq", x, self.expert_weight) + self.expert_bias

    def gate_logits(self, x):
        """The gate's logits, with the gate noise in training mode.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_features)

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_experts)
        """
        logits = self.gate(x)
        if self.training and self.gate_noise > 0:
            logits = logits + self.gate_noise * torch.randn_like(logits)
        return logits

    def route(self, x):
        """Gate a batch: routing weights and both load-balancing losses.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_features)

        Returns
        -------
        routing : Routing
        """
        logits = self.gate_logits(x)
        probabilities = torch.softmax(logits, dim=1)
        slots = 1 if self.top_k is None else self.top_k
        top_logits, chosen = torch.topk(logits, slots, dim=1)
        if self.top_k is None:
            gates = probabilities
        else:
            gates = torch.zeros_like(logits).scatter(
                1, chosen, torch.softmax(top_logits, dim=1)
            )
        counts = torch.zeros(self.n_experts, dtype=logits.dtype, device=logits.device)
        counts = counts.scatter_add(
            0,
            chosen.reshape(-1),
            torch.ones_like(chosen.reshape(-1), dtype=counts.dtype),
        )
        fractions = counts / chosen.numel()
        load_balancing = self.n_experts * (fractions * probabilities.mean(0)).sum()
        importance = gates.sum(0)
        importance_loss = importance.var(correction=0) / importance.mean() ** 2
        return Routing(gates, probabilities, logits, load_balancing, importance_loss)

    def forward(self, x, return_aux_loss=False):
        """The routed combination of the experts' outputs.

        Stores the batch's :attr:`load_balancing_loss` and
        :attr:`importance_loss` on the layer.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_features)
        return_aux_loss : bool, default=False
            Also return the Switch load-balancing loss.

        Returns
        -------
        output : torch.Tensor of shape (batch, out_features)
        load_balancing_loss : torch.Tensor of shape ()
            Only with ``return_aux_loss``.
        """
        routing = self.route(x)
        self.load_balancing_loss = routing.load_balancing_loss
        self.importance_loss = routing.importance_loss
        output = torch.einsum("nk,nkq->nq", routing.gates, self.expert_outputs(x))
        if return_aux_loss:
            return output, routing.load_balancing_loss
        return output

    def component_log_prob(self, x, y):
        """``log g_k(x) + log N(y | x @ W_k + b_k, diag(sigma_k^2))`` (dense gate).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_features)
        y : torch.Tensor of shape (batch, out_features)
            (batch,) is accepted when ``out_features`` is 1.

        Returns
        -------
        joint : torch.Tensor of shape (batch, n_experts)
        """
        y = _responses(y, self.out_features)
        log_gate = functional.log_softmax(self.gate(x), dim=1)
        variances = self.noise_variance
        return log_gate + _gaussian_log_prob(
            y[:, None, :], self.expert_outputs(x), variances=variances
        )

    def log_prob(self, x, y):
        """The mixture-of-experts conditional log density ``log p(y | x)``.

        Uses the dense gate (never the top-k routing nor the gate noise).

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_features)
        y : torch.Tensor of shape (batch, out_features)
            (batch,) is accepted when ``out_features`` is 1.

        Returns
        -------
        log_prob : torch.Tensor of shape (batch,)
        """
        return torch.logsumexp(self.component_log_prob(x, y), dim=1)

    def extra_repr(self):
        """The settings shown in the module's repr.

        Returns
        -------
        text : str
        """
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"n_experts={self.n_experts}, top_k={self.top_k}, "
            f"gate_noise={self.gate_noise}"
        )
