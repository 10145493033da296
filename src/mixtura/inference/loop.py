"""The one fit loop shared by every inference algorithm.

It owns restarts (``n_init``), the tolerance on the change of the mean per-sample
lower bound, ``max_iter``, warm starts, the convergence warning, the choice of the
best restart and progress callbacks. Algorithms plug in through two callables: one
that makes an initial mixture and one that takes a step.

The loop is written as a generator (:func:`fit_loop_iterations`) that yields a
:class:`StepRequest` for each EM step and receives the step's outcome (or has
the step's exception thrown in), so that who computes the steps is the
caller's choice: :func:`fit_loop` computes each at once (:func:`run_steps`);
:mod:`mixtura.inference.lockstep` advances several fits on the same rows side
by side and computes their steps together (model-selection grids, issue 15).
Either way the restarts, convergence tests, recoveries, events and callbacks
are this module's, once.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mixtura.exceptions import ConvergenceWarning, SingularCovarianceError
from mixtura.inference.degenerate import MAX_RECOVERIES, Recovery
from mixtura.inference.em import FitSteps
from mixtura.mixture import Mixture

__all__ = [
    "FitEvent",
    "FitInterrupted",
    "FitResult",
    "IterationInfo",
    "StepRequest",
    "combine_callbacks",
    "fit_loop",
    "fit_loop_iterations",
    "run_steps",
]


class StepRequest(NamedTuple):
    """One EM step a fit's iterations ask for: ``steps.step(state, data)``.

    Attributes
    ----------
    state : Mixture or an inference state
        The parameters the step starts from.
    steps : FitSteps
        The restart's steps (``steps.lean``: the lean stepper, where several
        requests can be computed together).
    data : object
        What the step reads.
    """

    state: Any
    steps: FitSteps
    data: Any


def run_steps(iterations):
    """Drive a fit's iterations, computing each step as it is asked for.

    Parameters
    ----------
    iterations : generator
        From :func:`fit_loop_iterations` (or a generator delegating to it):
        yields :class:`StepRequest`, receives ``(state, lower_bound)``.

    Returns
    -------
    result : object
        The generator's return value (a :class:`FitResult` for the fit loop).
    """
    outcome, error = None, None
    while True:
        try:
            if error is None:
                request = iterations.send(outcome)
            else:
                request = iterations.throw(error)
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            outcome = request.steps.step(request.state, request.data)
        except BaseException as raised:  # the loop decides what a failed step means
            outcome, error = None, raised


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
        parameters before it and stopped. ``'reseeded'``, ``'regularized'``,
        ``'pruned'``: it collapsed and the restart went on from a recovered
        state (:mod:`mixtura.inference.degenerate`). ``'interrupted'``: a
        KeyboardInterrupt (Ctrl-C) ended the fit there (:class:`FitInterrupted`).
        ``'kept'``: a component emptied and was left as it was.
    message : str
    components : tuple of int
        The degenerate components (indices before the event), where known.
    reason : str
        ``'emptied'`` where the components' weights fell to (next to) zero
        without a collapse (:meth:`~mixtura.inference.degenerate.
        DegenerateRecovery.emptied`); ``''`` otherwise (see ``kind``).
    """

    restart: int
    iteration: int
    kind: str
    message: str
    components: tuple = ()
    reason: str = ""


@dataclass
class FitResult:
    """The best restart's outcome.

    ``collapsed`` says whether that restart stopped at a collapsed component;
    ``events`` lists what happened in every restart; ``interrupted`` whether
    a KeyboardInterrupt ended the fit (this restart or an earlier one is then
    the best of those run so far).
    """

    mixture: Mixture
    converged: bool
    n_iter: int
    lower_bound: float
    lower_bounds: list = field(default_factory=list)
    collapsed: bool = False
    events: list = field(default_factory=list)

    def fitted_attributes(self):
        """What an estimator stores of the fit, by scikit-learn's names.

        Returns
        -------
        attributes : dict
            ``converged_``, ``n_iter_``, ``lower_bound_``, ``lower_bounds_``
            and ``fit_events_`` (one plain dict per :class:`FitEvent`; its
            ``'reason'`` is ``'emptied'`` for an emptied component, else
            ``'collapsed'`` for a collapse's events, ``''`` for others).
        """
        return {
            "converged_": bool(self.converged),
            "n_iter_": int(self.n_iter),
            "lower_bound_": float(self.lower_bound),
            "lower_bounds_": [float(b) for b in self.lower_bounds],
            "fit_events_": [
                {
                    "restart": event.restart,
                    "iteration": event.iteration,
                    "event": event.kind,
                    "components": list(event.components),
                    "message": event.message,
                    "reason": _reason(event),
                }
                for event in self.events
            ],
        }

    interrupted: bool = False


class FitInterrupted(KeyboardInterrupt):
    """A KeyboardInterrupt (Ctrl-C) that ended a fit, with the best fit so far.

    :func:`fit_loop` raises it when a KeyboardInterrupt arrives between (or
    during) iterations once at least one restart has valid parameters:
    ``result`` is the best restart run so far (the interrupted one with the
    parameters of its last completed iteration, or an earlier one with a
    higher bound), its ``events`` ending with an ``'interrupted'``
    :class:`FitEvent`. It is a KeyboardInterrupt, so a caller that does not
    look for it stops as before; the estimators store ``result`` as their fit
    and raise it again (:meth:`~mixtura.estimators.base.BaseMixture.fit`),
    and the command line saves it.

    Parameters
    ----------
    result : FitResult
        The best restart so far.
    """

    def __init__(self, result):
        super().__init__("the fit was interrupted; the best restart so far is kept")
        self.result = result


def combine_callbacks(callbacks):
    """One progress callback that calls each of ``callbacks`` (None skipped).

    Parameters
    ----------
    callbacks : iterable of callable or None

    Returns
    -------
    callback : callable or None
        None when no callback is left.
    """
    callbacks = [c for c in callbacks if c is not None]
    if not callbacks:
        return None

    def call_all(info):
        for callback in callbacks:
            callback(info)

    return call_all


def _restart_iterations(
    data,
    mixture,
    steps,
    lower_bound,
    *,
    init,
    max_iter,
    tol,
    relative_tol,
    callback,
    recover,
):
    """Iterate ``steps.step`` from ``mixture`` until the bound settles (a generator).

    Yields a :class:`StepRequest` per step and returns the restart's
    :class:`FitResult`; the step's outcome is sent in, or its exception thrown.

    Until the bound changes by less than ``tol``; with ``relative_tol``, by at
    most ``tol`` relative to the total (mclust's rule, ``|L - L_old| <= tol
    (1 + |L|)`` for the total log-likelihood L, here divided by the data's
    total weight).

    A step whose M-step collapses a component (a diverging start, as in
    scikit-learn#18216) goes to ``recover``, which gives a state (and stepper)
    to go on from, at most :data:`~mixtura.inference.degenerate.MAX_RECOVERIES`
    times; the next iteration is then not tested for convergence. Without a
    recovery the restart ends: its last valid parameters are kept with their
    bound, unconverged. A collapse that leaves no valid parameters (the
    initialisation itself) propagates. The result's state is a mixture
    wherever a recovery changed the stepper.

    After each step ``recover`` (a
    :class:`~mixtura.inference.degenerate.DegenerateRecovery`) also looks at
    the new weights for components the M-step emptied: a re-seeded or
    removed one is a recovery as above; a kept one is recorded once, and the
    restart goes on (its bound monotone).
    """
    lower_bounds = []
    converged = False
    n_iter = 0
    events = []
    recovered = False
    interrupted = False
    kept = set()  # emptied components left as they were, recorded once
    for n_iter in range(1, max_iter + 1):
        previous = lower_bound
        try:
            mixture, lower_bound = yield StepRequest(mixture, steps, data)
        except KeyboardInterrupt:
            # Ctrl-C during a step: the step's assignment never happened, so
            # ``mixture`` and ``lower_bound`` are the last completed
            # iteration's (or the start's); the restart ends there
            interrupted = True
            break
        except SingularCovarianceError as error:
            if not hasattr(error, "lower_bound"):
                raise
            lower_bounds.append(error.lower_bound)
            recovery = None
            if recover is not None and len(events) < MAX_RECOVERIES:
                recovery = recover(mixture, error, steps)
            if recovery is None:
                events.append(
                    FitEvent(
                        init, n_iter, "collapsed", str(error), error.components or ()
                    )
                )
                lower_bound = error.lower_bound
                break
            events.append(
                FitEvent(
                    init, n_iter, recovery.kind, recovery.message, recovery.components
                )
            )
            mixture, steps, recovered = recovery.state, recovery.steps, True
            # the recovered state's bound is not the collapsed step's: the
            # next change is not a convergence test
            lower_bound = -math.inf
            continue
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        if callback is not None:
            try:
                callback(IterationInfo(init, n_iter, lower_bound, change))
            except KeyboardInterrupt:  # in a callback (a progress bar): the
                interrupted = True  # iteration is complete, and kept
                break
        emptied = _emptied(recover, mixture, steps, data, events, kept)
        if emptied is not None:
            events.append(
                FitEvent(
                    init,
                    n_iter,
                    emptied.kind,
                    emptied.message,
                    emptied.components,
                    "emptied",
                )
            )
            if emptied.kind == "kept":
                kept.update(emptied.components)
            else:  # re-seeded or removed: a new state, whose bound may drop
                mixture, steps, recovered = emptied.state, emptied.steps, True
                kept.clear()  # the indices may have moved
                lower_bound = -math.inf
                continue
        if _settled(change, lower_bound, tol, relative_tol, data):
            converged = True
            break
    if interrupted:
        events.append(
            FitEvent(init, n_iter, "interrupted", "KeyboardInterrupt: fit stopped")
        )
    if recovered and not interrupted and not math.isfinite(lower_bound):
        # max_iter ended the restart right after a recovery: the recovered
        # state's own bound (one E-step), not the -inf that skipped the test
        lower_bound = yield from _bound_of(mixture, steps, data, lower_bound)
    if recovered:
        mixture = steps.to_mixture(mixture)
    stopped = bool(events) and events[-1].kind == "collapsed"
    return FitResult(
        mixture,
        converged,
        n_iter,
        lower_bound,
        lower_bounds,
        stopped,
        events,
        interrupted,
    )


def _emptied(recover, state, steps, data, events, kept):
    """The recovery of the components the last M-step emptied, or None.

    Only a :class:`~mixtura.inference.degenerate.DegenerateRecovery` looks
    (EM's steps); it reads the new state's K weights. Beyond
    :data:`~mixtura.inference.degenerate.MAX_RECOVERIES` events in the
    restart, emptied components are kept.
    """
    if not hasattr(recover, "emptied"):
        return None
    may_recover = len(events) < MAX_RECOVERIES
    return recover.emptied(state, steps, data, kept, may_recover)


#: ``fit_events_``' reason of the events without one of their own
_COLLAPSE_KINDS = frozenset({"collapsed", "reseeded", "regularized", "pruned"})


def _reason(event):
    """Why an event happened: its own reason, or a collapse for a recovery."""
    if event.reason:
        return event.reason
    return "collapsed" if event.kind in _COLLAPSE_KINDS else ""


def _bound_of(mixture, steps, data, lower_bound):
    """The bound of a start that takes no step (``max_iter=0``): one E-step
    (a generator, as :func:`_restart_iterations`).

    A step's bound is that of the parameters it starts from, so one step
    gives it (its new parameters are dropped); a warm start's is known.
    """
    if math.isfinite(lower_bound):
        return lower_bound
    try:
        return (yield StepRequest(mixture, steps, data))[1]
    except SingularCovarianceError as error:
        return getattr(error, "lower_bound", lower_bound)


def _settled(change, lower_bound, tol, relative_tol, data):
    """Whether a change of the mean bound ends the restart.

    See :func:`_restart_iterations`.
    """
    if not relative_tol:
        return abs(change) < tol
    return abs(change) <= tol * (1.0 / data.total_weight + abs(lower_bound))


def _warn_events(events):
    """One warning for a fit's degenerate components, whatever their number."""
    if not events:
        return
    lines = []
    for event in events[:3]:
        if event.kind == "collapsed":
            lines.append(
                f"Restart {event.restart} stopped at iteration {event.iteration}: "
                f"{event.message} The parameters before that M-step are kept "
                "(converged_ is False)."
            )
        else:
            lines.append(
                f"Restart {event.restart}, iteration {event.iteration}: "
                f"{event.message}."
            )
    if len(events) > 3:
        lines.append(f"... and {len(events) - 3} more.")
    warnings.warn(
        " ".join(lines) + " See the fitted model's fit_events_ "
        "(on_degenerate chooses what a collapsed or emptied component does).",
        ConvergenceWarning,
        stacklevel=4,
    )


def fit_loop(data, initialize, step, **options) -> FitResult:
    """Fit a mixture from ``n_init`` starts and keep the one with the best bound.

    :func:`fit_loop_iterations` with every step computed as it is asked for
    (:func:`run_steps`); the parameters, result and exceptions are its.

    Parameters
    ----------
    data, initialize, step, **options
        As for :func:`fit_loop_iterations`.

    Returns
    -------
    FitResult
    """
    return run_steps(fit_loop_iterations(data, initialize, step, **options))


def fit_loop_iterations(
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
    recover: Callable | None = None,
) -> FitResult:
    """The fit loop as a generator of its steps (see the module's docstring).

    Yields a :class:`StepRequest` for each step, receives the step's
    ``(new_state, lower_bound)`` (or has its exception thrown in), and returns
    the best restart's :class:`FitResult`.

    Parameters
    ----------
    data : ArrayData or another data type with an ``accumulate`` implementation
    initialize : callable
        ``initialize(random_state) -> Mixture``, called once per restart; or a
        :class:`~mixtura.inference.degenerate.Recovery` where the initial
        M-step collapsed and was recovered (the restart then steps with the
        recovery's stepper).
    step : callable or FitSteps
        ``step(mixture, data) -> (new_mixture, lower_bound)``, where the bound is
        that of ``mixture`` (the parameters the step started from); or the
        :class:`~mixtura.inference.em.FitSteps` it belongs to (which a
        recovery needs, to make its state a mixture).
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
    recover : callable or None
        ``recover(state, error, steps) -> Recovery or None`` for an M-step
        that collapsed a component
        (:class:`~mixtura.inference.degenerate.DegenerateRecovery`); None ends
        the restart at its last valid state.

    Returns
    -------
    FitResult
        The best restart; a :class:`ConvergenceWarning` is issued when it did not
        converge within ``max_iter``.

    Raises
    ------
    FitInterrupted
        (a KeyboardInterrupt) On Ctrl-C once a restart has valid parameters,
        with the best restart so far; before that, the KeyboardInterrupt
        itself.
    """
    steps = step if isinstance(step, FitSteps) else FitSteps(step)
    best = None
    events = []
    starts = 1 if warm_start is not None else n_init
    for init in range(starts):
        restart_steps, start_events = steps, []
        if warm_start is not None:
            mixture, lower_bound = warm_start
        else:
            try:
                mixture, lower_bound = initialize(random_state), -math.inf
            except KeyboardInterrupt:
                if best is None:  # nothing valid to keep
                    raise
                events.append(
                    FitEvent(init, 0, "interrupted", "KeyboardInterrupt: fit stopped")
                )
                best.interrupted = True
                break
            if isinstance(mixture, Recovery):  # the initial M-step was recovered
                start_events.append(
                    FitEvent(init, 0, mixture.kind, mixture.message, mixture.components)
                )
                mixture, restart_steps = mixture.state, mixture.steps
        if max_iter == 0:
            lower_bound = yield from _bound_of(
                mixture, restart_steps, data, lower_bound
            )
            result = FitResult(restart_steps.to_mixture(mixture), False, 0, lower_bound)
        else:
            result = yield from _restart_iterations(
                data,
                mixture,
                restart_steps,
                lower_bound,
                init=init,
                max_iter=max_iter,
                tol=tol,
                relative_tol=relative_tol,
                callback=callback,
                recover=recover,
            )
        if restart_steps is not steps:  # the result must be a mixture
            result.mixture = restart_steps.to_mixture(result.mixture)
        result.events = start_events + result.events
        events += result.events
        if best is None or result.lower_bound > best.lower_bound:
            best = result
        if result.interrupted:  # Ctrl-C: no further restarts
            best.interrupted = True
            break
    best.events = events
    if best.interrupted:
        # the best fit so far goes to the caller with the interrupt, without
        # the convergence warnings (fit_events_ records what happened)
        raise FitInterrupted(best)
    _warn_events(events)
    if not best.converged and max_iter > 0:
        warnings.warn(
            "Best performing initialization did not converge. Try different init "
            "parameters, or increase max_iter, tol, or check for degenerate data.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best
