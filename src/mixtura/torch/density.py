"""A Gaussian mixture's log density as a differentiable PyTorch module."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["GaussianMixtureDensity"]

_LOG_2PI = math.log(2 * math.pi)


class GaussianMixtureDensity(nn.Module):
    """``log p(x) = logsumexp_k (log w_k + log N(x | mu_k, Sigma_k))``.

    Full covariances, parametrised by their upper-triangular precision
    Cholesky factors ``U_k`` (``Sigma_k^{-1} = U_k U_k^T``, scikit-learn's
    ``precisions_cholesky_``) with an unconstrained strictly upper part and
    the log of the diagonal, so that any parameter values give a valid
    mixture and gradient steps keep it one. The weights are the softmax of
    free logits. Optionally a uniform noise component of constant density
    ``1 / V`` (Banfield & Raftery 1993), its weight last.

    Build one from a fitted estimator with
    :func:`mixtura.torch.from_gaussian_mixture`.

    Parameters
    ----------
    weights : array-like of shape (n_components,) or (n_components + 1,)
        Mixing weights (the noise weight last when ``noise_volume`` is given).
    means : array-like of shape (n_components, n_features)
    precisions_cholesky : array-like of shape (n_components, n_features, n_features)
        Upper triangular, positive diagonal.
    noise_volume : float or None, default=None
        The noise component's hypervolume ``V``; None: no noise component.
    device : torch.device, optional
    dtype : torch.dtype, default=torch.float64

    Attributes
    ----------
    weight_logits : torch.nn.Parameter of shape (n_weights,)
    means : torch.nn.Parameter of shape (n_components, n_features)
    cholesky_log_diagonal : torch.nn.Parameter of shape (n_components, n_features)
    cholesky_off_diagonal : torch.nn.Parameter of shape \
(n_components, n_features, n_features)
        Only its strictly upper triangle is used.
    """

    def __init__(
        self,
        weights,
        means,
        precisions_cholesky,
        noise_volume=None,
        *,
        device=None,
        dtype=torch.float64,
    ):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        weights = torch.as_tensor(weights, **factory)
        means = torch.as_tensor(means, **factory)
        factors = torch.as_tensor(precisions_cholesky, **factory)
        k, d = means.shape
        n_weights = k + (noise_volume is not None)
        if weights.shape != (n_weights,) or factors.shape != (k, d, d):
            raise ValueError(
                f"expected weights ({n_weights},) and precisions_cholesky "
                f"({k}, {d}, {d}) for means {tuple(means.shape)}; got "
                f"{tuple(weights.shape)} and {tuple(factors.shape)}"
            )
        diagonal = torch.diagonal(factors, dim1=1, dim2=2)
        if not bool((diagonal > 0).all()):
            raise ValueError("precisions_cholesky must have a positive diagonal")
        self.n_components, self.n_features = int(k), int(d)
        self.weight_logits = nn.Parameter(torch.log(weights))
        self.means = nn.Parameter(means.clone())
        self.cholesky_log_diagonal = nn.Parameter(torch.log(diagonal))
        self.cholesky_off_diagonal = nn.Parameter(torch.triu(factors, 1))
        self.register_buffer(
            "_upper", torch.ones(d, d, dtype=torch.bool, device=device).triu(1)
        )
        if noise_volume is None:
            self.noise_log_density = None
        else:
            self.register_buffer(
                "noise_log_density",
                torch.as_tensor(-math.log(float(noise_volume)), **factory),
            )

    @property
    def precisions_cholesky(self):
        """The factors ``U_k``, shape (n_components, n_features, n_features)."""
        upper = self.cholesky_off_diagonal * self._upper
        return upper + torch.diag_embed(torch.exp(self.cholesky_log_diagonal))

    @property
    def covariances(self):
        """Covariances ``(U_k U_k^T)^{-1}``, shape (n_components, d, d)."""
        factors = self.precisions_cholesky
        eye = torch.eye(self.n_features, dtype=factors.dtype, device=factors.device)
        inverse = torch.linalg.solve_triangular(
            factors, eye.expand_as(factors), upper=True
        )
        return inverse.mT @ inverse

    def log_weights(self):
        """Log mixing weights, shape (n_weights,) (the noise weight last).

        Returns
        -------
        log_weights : torch.Tensor of shape (n_weights,)
        """
        return torch.log_softmax(self.weight_logits, dim=0)

    def component_log_prob(self, x):
        """``log w_k + log p_k(x)`` of every row and component.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_features)

        Returns
        -------
        joint : torch.Tensor of shape (n_samples, n_weights)
            The noise component's column last, when there is one.
        """
        factors = self.precisions_cholesky
        whitened = torch.einsum("nd,kde->nke", x, factors) - torch.einsum(
            "kd,kde->ke", self.means, factors
        )
        log_det = self.cholesky_log_diagonal.sum(1)
        gaussian = (
            -0.5 * (self.n_features * _LOG_2PI + (whitened * whitened).sum(2)) + log_det
        )
        if self.noise_log_density is not None:
            noise = self.noise_log_density.expand(x.shape[0], 1)
            gaussian = torch.cat([gaussian, noise], dim=1)
        return gaussian + self.log_weights()

    def forward(self, x):
        """The mixture's log density of each row.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_features)

        Returns
        -------
        log_density : torch.Tensor of shape (n_samples,)
        """
        return torch.logsumexp(self.component_log_prob(x), dim=1)

    def log_prob(self, x):
        """Alias of :meth:`forward`: the log density of each row.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_features)

        Returns
        -------
        log_density : torch.Tensor of shape (n_samples,)
        """
        return self(x)

    def responsibilities(self, x):
        """Posterior memberships ``P(k | x)``.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_features)

        Returns
        -------
        resp : torch.Tensor of shape (n_samples, n_weights)
        """
        return torch.softmax(self.component_log_prob(x), dim=1)

    def extra_repr(self):
        """The settings shown in the module's repr.

        Returns
        -------
        text : str
        """
        noise = "" if self.noise_log_density is None else ", noise=True"
        return f"n_components={self.n_components}, n_features={self.n_features}{noise}"
