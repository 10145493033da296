"""Several fits advanced side by side, their steps computed together (issue 15).

A model-selection grid fits many models to the same rows; on a few hundred
rows each EM iteration is a few dozen NumPy calls on tiny arrays, and their
fixed cost, not the arithmetic, is the time. The fit loop is a generator of its
steps (:func:`~mixtura.inference.loop.fit_loop_iterations`, and an estimator's
``_fit_iterations`` around it), so the fits of a grid's row can run side by
side: each round, every unfinished fit asks for one step, and the requests
whose lean steppers read the same prepared rows are computed in one call of
the stepper's ``steps_together`` (for the Gaussian,
:func:`~mixtura.families.gaussian_lean.steps_together`: one product for all
their E-steps, one for all their moments; each fit's own M-step). Everything
else about each fit (its start, restarts, convergence test, events, stored
attributes) is the one fit loop's, unchanged: a fit run here is the fit that
``fit`` gives, up to the BLAS's rounding of the taller products.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["FitOutcome", "run_together"]


class FitOutcome(NamedTuple):
    """How one fit driven by :func:`run_together` ended.

    Attributes
    ----------
    value : object
        What the fit's generator returned (None if it raised).
    error : Exception or None
        What it raised.
    """

    value: Any
    error: BaseException | None


def run_together(fits):
    """Drive several fits' iterations side by side, computing steps together.

    Parameters
    ----------
    fits : sequence of generator
        Each yields :class:`~mixtura.inference.loop.StepRequest` and receives
        the step's ``(state, lower_bound)`` (or has its exception thrown in),
        as :func:`~mixtura.inference.loop.run_steps` drives one.

    Returns
    -------
    outcomes : list of FitOutcome
        In the order of ``fits``. An exception that ends one fit (a
        ``ValueError`` of its data or start) is that fit's outcome; the
        others go on. A KeyboardInterrupt propagates.
    """
    outcomes = [None] * len(fits)
    replies = dict.fromkeys(range(len(fits)), (None, None))
    while replies:
        requests = {}
        for index, (outcome, error) in replies.items():
            try:
                if error is None:
                    requests[index] = fits[index].send(outcome)
                else:
                    requests[index] = fits[index].throw(error)
            except StopIteration as stop:
                outcomes[index] = FitOutcome(stop.value, None)
            except Exception as failure:  # that fit's end, not the others'
                outcomes[index] = FitOutcome(None, failure)
        replies = _computed(requests)
    return outcomes


def _computed(requests):
    """Each request's ``(outcome, error)``, steps that can be shared together.

    Parameters
    ----------
    requests : dict of int -> StepRequest

    Returns
    -------
    replies : dict of int -> (outcome, error)
    """
    groups = {}
    replies = {}
    for index, request in requests.items():
        lean = request.steps.lean
        key = None if lean is None else (type(lean), lean.batch_key(request.state))
        if key is None:
            replies[index] = _one_step(request)
        else:
            groups.setdefault(key, []).append(index)
    for indices in groups.values():
        if len(indices) == 1:
            replies[indices[0]] = _one_step(requests[indices[0]])
            continue
        leans = [requests[index].steps.lean for index in indices]
        states = [requests[index].state for index in indices]
        results = type(leans[0]).steps_together(leans, states)
        for index, result in zip(indices, results, strict=True):
            failed = isinstance(result, BaseException)
            replies[index] = (None, result) if failed else (result, None)
    return replies


def _one_step(request):
    """``(outcome, error)`` of one request's own step."""
    try:
        return request.steps.step(request.state, request.data), None
    except BaseException as error:  # the fit's loop decides what it means
        return None, error
