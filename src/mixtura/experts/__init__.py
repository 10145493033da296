"""Gates and gated mixtures: mixing weights that depend on the inputs.

A mixture of experts (Jordan & Jacobs 1994) replaces a mixture's constant
weights ``w_k`` by a gate ``w_k(x)``; here a softmax of a linear function of
chosen input columns (:class:`SoftmaxGate`). :class:`GatedMixture` is the
mixture value with such a gate: it offers what the fit loop and the data seam
ask of :class:`~mixtura.mixture.Mixture` (the E-step's statistics, the M-step),
so a mixture of experts is fitted by the same loop as every other mixture.
"""

from mixtura.experts.gate import SoftmaxGate
from mixtura.experts.gated_mixture import GatedMixture, GatedStats

__all__ = ["GatedMixture", "GatedStats", "SoftmaxGate"]
