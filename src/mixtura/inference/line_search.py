"""A monotone EM step for M-steps that are one Newton step (generalised EM).

The M-step of a generalised linear expert or of a softmax gate is one Newton
(IRLS) step on the expected complete-data log-likelihood Q, not its maximum.
A full Newton step may overshoot; but its direction ascends Q at the current
parameters, and the gradients of Q and of the log-likelihood L agree there
(Dempster, Laird & Rubin 1977, sec. 3; Lange 1995, "A gradient algorithm
locally equivalent to the EM algorithm"), so a short enough step along it
increases L. Each step here tries the full step and halves it until L does
not decrease (step halving, as R's ``glm.fit`` does for its own IRLS): the
fit loop then sees a log-likelihood that never decreases, for every expert.

The state carries the E-step of its own parameters, so an accepted step's
E-step is the next iteration's and a fit costs one pass over the data per
iteration (plus one per halving).
"""

from __future__ import annotations

from dataclasses import dataclass

from mixtura.exceptions import SingularCovarianceError
from mixtura.inference.data import accumulate
from mixtura.inference.em import FitSteps
from mixtura.mixture import Mixture

__all__ = ["MAX_HALVINGS", "Evaluated", "monotone_em_steps", "monotone_step", "toward"]

#: step halvings tried before a step is given up (2**-30 of the Newton step):
#: the restart then stays where it is, which the loop reads as converged
MAX_HALVINGS = 30

#: a trial step is accepted when the mean log-likelihood is no lower than the
#: current one by more than this, relative to (1 + |bound|): rounding only
_SLACK = 1e-13


@dataclass(frozen=True)
class Evaluated:
    """A mixture with the E-step of its own parameters."""

    mixture: object
    stats: object
    bound: float


def toward(mixture, target, step):
    """The mixture ``step`` of the way from ``mixture`` to ``target``.

    Mixing weights move linearly on the simplex; the experts (and a gate)
    through their own ``interpolated``.

    Parameters
    ----------
    mixture, target : Mixture or GatedMixture
    step : float
        In (0, 1].

    Returns
    -------
    Mixture or GatedMixture
    """
    if not isinstance(mixture, Mixture):
        return mixture.interpolated(target, step)
    weights = mixture.weights + step * (target.weights - mixture.weights)
    return Mixture.from_weights(
        weights, mixture.family.interpolated(target.family, step)
    )


def _evaluated(state, data):
    if isinstance(state, Evaluated):
        return state
    stats, bound = accumulate(data, state)
    return Evaluated(state, stats, bound)


def _accepted(bound, current):
    return bound >= current - _SLACK * (1.0 + abs(current))


def monotone_step(state, data):
    """One EM step with step halving; the fit loop's step signature.

    Parameters
    ----------
    state : Mixture, GatedMixture or Evaluated
    data : ArrayData or another type ``accumulate`` supports

    Returns
    -------
    state : Evaluated
        The accepted parameters with their E-step (the current ones when no
        halving increased the bound).
    lower_bound : float
        Mean per-sample log-likelihood of the parameters the step started from.
    """
    current = _evaluated(state, data)
    try:
        target = current.mixture.maximize(current.stats)
    except SingularCovarianceError as error:
        error.lower_bound = current.bound
        raise
    trial = target
    for halving in range(1, MAX_HALVINGS + 1):
        stats, bound = accumulate(data, trial)
        if _accepted(bound, current.bound):
            return Evaluated(trial, stats, bound), current.bound
        trial = toward(current.mixture, target, 0.5**halving)
    return current, current.bound


def _as_mixture(state):
    return state.mixture if isinstance(state, Evaluated) else state


def monotone_em_steps():
    """The fit loop's steps with step halving (see the module docstring).

    Returns
    -------
    FitSteps
    """
    return FitSteps(monotone_step, to_mixture=_as_mixture)
