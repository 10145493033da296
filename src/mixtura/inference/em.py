"""Batch EM (Dempster, Laird & Rubin 1977) as a step of the shared fit loop."""

from __future__ import annotations

from mixtura.exceptions import SingularCovarianceError
from mixtura.inference.data import accumulate

__all__ = ["em_step"]


def em_step(mixture, data):
    """One EM iteration: E-step statistics over all the data, then the M-step.

    Parameters
    ----------
    mixture : Mixture
    data : ArrayData or another type ``accumulate`` supports

    Returns
    -------
    new_mixture : Mixture
        The M-step's parameters.
    lower_bound : float
        Mean per-sample log-likelihood of ``mixture`` (the parameters the E-step
        used), which EM never decreases.

    Raises
    ------
    SingularCovarianceError
        When the M-step collapses a component; its ``lower_bound`` attribute
        holds the bound of ``mixture``, which the fit loop may keep.
    """
    stats, mean_log_likelihood = accumulate(data, mixture)
    try:
        return mixture.maximize(stats), mean_log_likelihood
    except SingularCovarianceError as error:
        error.lower_bound = mean_log_likelihood
        raise
