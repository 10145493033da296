"""The one fit loop shared by every inference algorithm.

It owns restarts (``n_init``), the tolerance on the change of the mean per-sample
lower bound, ``max_iter``, warm starts, the convergence warning, the choice of the
best restart and progress callbacks. Algorithms plug in through two callables: one
that makes an initial mixture and one that takes a step.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from mixtura.exceptions import ConvergenceWarning, SingularCovarianceError
from mixtura.mixture import Mixture

__all__ = ["FitEvent", "FitResult", "IterationInfo", "fit_loop"]


@dataclass(frozen=True)
class IterationInfo:
    """What a progress callback receives after each iteration.

    Attributes
    ----------
    init : int
        Index of the restart (0-based).
    n_iter : int
        Iteration within the restart (1-based).
    lower_bound : float
        Mean per-sample log-likelihood (or variational bound) of the parameters
        the step started from.
    change : float
        ``lower_bound`` minus the previous iteration's.
    """

    init: int
    n_iter: int
    lower_bound: float
    change: float


@dataclass(frozen=True)
class FitEvent:
    """Something the fit loop did besides iterating, e.g. stop at a collapse.

    Attributes
    ----------
    restart : int
        Index of the restart (0-based).
    iteration : int
        Iteration within the restart (1-based).
    kind : str
        ``'collapsed'``: an M-step collapsed a component; the restart kept the
        parameters before it and stopped.
    message : str
    """

    restart: int
    iteration: int
    kind: str
    message: str


@dataclass
class FitResult:
    """The best restart's outcome.

    ``collapsed`` says whether that restart stopped at a collapsed component;
    ``events`` lists what happened in every restart.
    """

    mixture: Mixture
    converged: bool
    n_iter: int
    lower_bound: float
    lower_bounds: list = field(default_factory=list)
    collapsed: bool = False
    events: list = field(default_factory=list)


def _run_one(
    data, mixture, step, lower_bound, *, init, max_iter, tol, relative_tol, callback
):
    """Iterate ``step`` from ``mixture`` until the bound changes by less than tol.

    With ``relative_tol``, until it changes by at most ``tol`` relative to the
    total (mclust's rule, ``|L - L_old| <= tol (1 + |L|)`` for the total
    log-likelihood L, here divided by the data's total weight).

    A step whose M-step collapses a component (a diverging start, as in
    scikit-learn#18216) ends the restart: its last valid parameters are kept
    with their bound, unconverged, and a warning says what happened. A collapse
    that leaves no valid parameters (the initialisation itself) propagates.
    """
    lower_bounds = []
    converged = False
    n_iter = 0
    events = []
    for n_iter in range(1, max_iter + 1):
        previous = lower_bound
        try:
            mixture, lower_bound = step(mixture, data)
        except SingularCovarianceError as error:
            if not hasattr(error, "lower_bound"):
                raise
            _warn_collapse(error, init, n_iter)
            events.append(FitEvent(init, n_iter, "collapsed", str(error)))
            lower_bound = error.lower_bound
            lower_bounds.append(lower_bound)
            break
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        if callback is not None:
            callback(IterationInfo(init, n_iter, lower_bound, change))
        if _settled(change, lower_bound, tol, relative_tol, data):
            converged = True
            break
    return FitResult(
        mixture, converged, n_iter, lower_bound, lower_bounds, bool(events), events
    )


def _settled(change, lower_bound, tol, relative_tol, data):
    """Whether a change of the mean bound ends the restart (see ``_run_one``)."""
    if not relative_tol:
        return abs(change) < tol
    return abs(change) <= tol * (1.0 / data.total_weight + abs(lower_bound))


def _warn_collapse(error, init, n_iter):
    warnings.warn(
        f"Restart {init} stopped at iteration {n_iter}: {error} The parameters "
        "before that M-step are kept (converged_ is False).",
        ConvergenceWarning,
        stacklevel=4,
    )


def fit_loop(
    data,
    initialize: Callable,
    step: Callable,
    *,
    n_init=1,
    max_iter=100,
    tol=1e-3,
    relative_tol=False,
    random_state,
    warm_start: tuple | None = None,
    callback: Callable | None = None,
) -> FitResult:
    """Fit a mixture from ``n_init`` starts and keep the one with the best bound.

    Parameters
    ----------
    data : ArrayData or another data type with an ``accumulate`` implementation
    initialize : callable
        ``initialize(random_state) -> Mixture``, called once per restart.
    step : callable
        ``step(mixture, data) -> (new_mixture, lower_bound)``, where the bound is
        that of ``mixture`` (the parameters the step started from).
    n_init : int
        Number of restarts (ignored with ``warm_start``).
    max_iter : int
        Steps per restart; 0 returns the initialisation.
    tol : float
        Convergence threshold on the change of the mean per-sample bound.
    relative_tol : bool, default=False
        Read ``tol`` relative to the total bound, as mclust does: a restart
        ends when ``|change| <= tol (1 / total_weight + |bound|)``.
    random_state : RandomState
    warm_start : (Mixture, float) or None
        A fitted mixture and its bound to continue from, instead of initialising.
    callback : callable or None
        Called with an :class:`IterationInfo` after every iteration.

    Returns
    -------
    FitResult
        The best restart; a :class:`ConvergenceWarning` is issued when it did not
        converge within ``max_iter``.
    """
    best = None
    events = []
    starts = 1 if warm_start is not None else n_init
    for init in range(starts):
        if warm_start is not None:
            mixture, lower_bound = warm_start
        else:
            mixture, lower_bound = initialize(random_state), -math.inf
        if max_iter == 0:
            result = FitResult(mixture, False, 0, lower_bound, [])
        else:
            result = _run_one(
                data,
                mixture,
                step,
                lower_bound,
                init=init,
                max_iter=max_iter,
                tol=tol,
                relative_tol=relative_tol,
                callback=callback,
            )
        events += result.events
        if best is None or result.lower_bound > best.lower_bound:
            best = result
    best.events = events
    if not best.converged and max_iter > 0:
        warnings.warn(
            "Best performing initialization did not converge. Try different init "
            "parameters, or increase max_iter, tol, or check for degenerate data.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best
