"""PyTorch layers of mixture models (the optional ``torch`` extra).

- :class:`MixtureDensityLayer`: a mixture density network head (Bishop 1994).
- :class:`MixtureOfExpertsLayer`: linear experts and a softmax gate (Jordan &
  Jacobs 1994), dense or top-k routing (Shazeer et al. 2017), with the
  load-balancing losses of Shazeer et al. (2017) and Fedus et al. (2022).
- :class:`GaussianMixtureDensity`: a Gaussian mixture's log density.
- :func:`from_mixture_of_experts`, :func:`to_mixture_of_experts`,
  :func:`from_gaussian_mixture`: parameters to and from mixtura's fitted
  estimators.

``import mixtura`` never imports this package (nor PyTorch); ``import
mixtura.torch`` needs PyTorch (``pip install "mixtura[torch]"``). The modules
compute in the dtype and on the device of their parameters.
"""

try:
    import torch  # noqa: F401
except ImportError:  # pragma: no cover - exercised only without torch
    raise ImportError(
        'mixtura.torch needs PyTorch; install it with pip install "mixtura[torch]"'
    ) from None

from mixtura.torch.convert import (
    from_gaussian_mixture,
    from_mixture_of_experts,
    to_mixture_of_experts,
)
from mixtura.torch.density import GaussianMixtureDensity
from mixtura.torch.layers import MixtureDensityLayer, MixtureOfExpertsLayer, Routing

__all__ = [
    "GaussianMixtureDensity",
    "MixtureDensityLayer",
    "MixtureOfExpertsLayer",
    "Routing",
    "from_gaussian_mixture",
    "from_mixture_of_experts",
    "to_mixture_of_experts",
]
