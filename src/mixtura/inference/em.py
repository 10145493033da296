"""Batch EM (Dempster, Laird & Rubin 1977) as a step of the shared fit loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from mixtura.exceptions import SingularCovarianceError
from mixtura.inference.data import ArrayData, accumulate, chunked_statistics
from mixtura.mixture import Mixture

__all__ = ["FitSteps", "em_step", "em_stepper"]


def _as_is(state):
    return state


class FitSteps(NamedTuple):
    """How the fit loop steps, ends and starts, for one fit's data.

    Attributes
    ----------
    step : callable
        ``step(state, data) -> (state, lower_bound)``.
    to_mixture : callable
        ``to_mixture(state) -> Mixture`` (or the inference scheme's state), for
        the loop's result (by default the state as it is).
    statistics : callable
        ``statistics(data, family, resp) -> Stats``, the initialisation's
        statistics for given responsibilities (by default
        :func:`~mixtura.inference.data.chunked_statistics`).
    lean : object or None
        The family's lean stepper behind ``step`` (``step`` is its
        ``step``), or None: what lets :mod:`mixtura.inference.lockstep`
        compute the steps of several fits on the same rows together.
    """

    step: Callable
    to_mixture: Callable = _as_is
    statistics: Callable = chunked_statistics
    lean: object = None


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


def em_stepper(data, template, n_components):
    """The EM step for ``data``, how its last state becomes a mixture, and the
    initialisation's statistics.

    In-memory rows that the family's lean step serves (one block, see
    :meth:`Family.lean_em <mixtura.families.base.Family.lean_em>`) take it: the
    parameters stay arrays between iterations, the family is built once, and
    the initial statistics come from the same prepared rows. Everything else
    (Dask, streams, explicit chunks, families without a lean step) takes
    :func:`em_step`, the chunked reference.

    Parameters
    ----------
    data : ArrayData or another data type ``accumulate`` supports
    template : Family
        The family's configuration.
    n_components : int

    Returns
    -------
    FitSteps
    """
    lean = None
    if isinstance(data, ArrayData) and (
        data.chunk_size is None or data.chunk_size >= data.n_samples
    ):
        lean = template.lean_em(data.X, n_components, data.sample_weight)
    if lean is None:
        return FitSteps(em_step)

    def to_mixture(state):
        if isinstance(state, Mixture):  # no iteration ran
            return state
        log_weights, family = lean.finish(state)
        return Mixture(log_weights, family, normalize=False)

    def statistics(rows, family, resp):
        # the lean step's prepared rows serve the same rows (and weights) only
        if rows.X is data.X and rows.sample_weight is data.sample_weight:
            return lean.statistics(resp)
        return chunked_statistics(rows, family, resp)

    return FitSteps(lean.step, to_mixture, statistics, lean)
