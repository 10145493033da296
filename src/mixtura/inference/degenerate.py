"""Recovery from degenerate components inside the fit loop.

An M-step can collapse a component: a Gaussian's covariance that is singular
or not positive definite (a component on a few rows, on duplicated rows, or a
diverging start such as scikit-learn#18216's). scikit-learn and mclust stop
there (or raise). The fit loop instead asks a :class:`DegenerateRecovery` for
a new state to continue from, by the estimator's ``on_degenerate`` option:

- ``'reseed'`` (the default): each collapsed component restarts from the rows
  the last valid parameters explain worst, the worst row and its nearest
  neighbours (in the family's initialisation features), as a k-means++-style
  seed placed where the model fits least;
- ``'regularize'``: the M-step is redone from the last valid
  responsibilities with the family's regularisation ten times stronger (a
  Gaussian's ``reg_covar``, from a floor of 1e-6 times the mean variance of
  the rows), kept for the rest of that restart;
- ``'prune'``: the collapsed components are removed and the others continue;
- ``'stop'``: the restart ends with the last valid parameters;
- ``'raise'``: the error propagates.

Where a recovery's own M-step collapses, it escalates: re-seeding gives way
to regularising, regularising (where the family has no regularisation, or
after :data:`MAX_REGULARIZATIONS` tenfold steps) to pruning, and pruning (down
to one component) to stopping, so that a fit never raises while valid
parameters exist. A restart recovers at most :data:`MAX_RECOVERIES` times,
then stops. Every recovery is recorded as a :class:`~mixtura.inference.loop.
FitEvent` (restart, iteration, components, what was done); the fit warns once.

The new state is an M-step from responsibilities, made as the initialisation
makes one (the family's template, the fit's statistics function), so it
serves every family; after it the loop's bound may drop, and the next
iteration is not tested for convergence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mixtura.exceptions import SingularCovarianceError
from mixtura.inference.data import ArrayData, predict_log_resp
from mixtura.mixture import Mixture

__all__ = [
    "MAX_RECOVERIES",
    "MAX_REGULARIZATIONS",
    "ON_DEGENERATE",
    "DegenerateRecovery",
    "Recovery",
]

#: The ``on_degenerate`` options, in the order a recovery escalates through.
ON_DEGENERATE = ("reseed", "regularize", "prune", "stop", "raise")
#: Recoveries per restart; beyond, the restart stops at its last valid state.
MAX_RECOVERIES = 10
#: Tenfold strengthenings of the regularisation one recovery tries.
MAX_REGULARIZATIONS = 6


@dataclass(frozen=True)
class Recovery:
    """A state to continue a restart from, and what was done to reach it.

    Attributes
    ----------
    state : Mixture
        The new parameters.
    steps : FitSteps
        How the restart steps from now on (a new number of components or a
        stronger regularisation needs a new stepper).
    kind : str
        ``'reseeded'``, ``'regularized'`` or ``'pruned'``.
    components : tuple of int
        The degenerate components, indices into the state before.
    message : str
        What happened, for the fit's events and its warning.
    """

    state: Mixture
    steps: object
    kind: str
    components: tuple
    message: str


class DegenerateRecovery:
    """The fit loop's response to a collapsed component, by ``on_degenerate``.

    Parameters
    ----------
    policy : {'reseed', 'regularize', 'prune'}
        Where the escalation starts (``'stop'`` and ``'raise'`` need no
        recovery object).
    rows : ArrayData
        In-memory rows the new states are estimated on: all of a fit's rows,
        or the sample the initialisation clusters for Dask arrays and streams.
    template : Family
        The fit's family configuration, without parameters.
    make_steps : callable
        ``make_steps(template, n_components) -> FitSteps`` for the fit's data.
    can_prune : bool, default=True
        Whether a component may be removed (not where parameters are frozen
        per component).
    """

    def __init__(
        self, policy, rows: ArrayData, template, make_steps: Callable, can_prune=True
    ):
        self.policy = policy
        self.rows = rows
        self.template = template
        self.make_steps = make_steps
        self.can_prune = can_prune

    def __call__(self, state, error, steps):
        """A :class:`Recovery` from the collapse ``error``, or None (stop).

        Parameters
        ----------
        state : object
            The last valid state (the parameters the failing step started from).
        error : SingularCovarianceError
            The collapse, with the components it names (``error.components``).
        steps : FitSteps
            The restart's current stepper.
        """
        valid = steps.to_mixture(state)
        components = error.components
        if not components or not isinstance(valid, Mixture):
            return None
        log_resp, log_density = predict_log_resp(self.rows, valid)
        start = ON_DEGENERATE.index(self.policy)
        for kind in ON_DEGENERATE[start : ON_DEGENERATE.index("stop")]:
            recovered = getattr(self, f"_{kind}")(
                valid, components, log_resp, log_density
            )
            if recovered is not None:
                return recovered
        return None

    def initial(self, resp, n_components, error):
        """A :class:`Recovery` of an initialisation whose M-step collapsed.

        There are no valid parameters yet, so whatever the policy the M-step
        is redone from the initial responsibilities with a stronger
        regularisation; None where the family has none (the error then
        propagates).

        Parameters
        ----------
        resp : array-like of shape (n_samples, n_components)
            The initial responsibilities, as the fit's statistics take them.
        n_components : int
        error : SingularCovarianceError
        """
        components = tuple(error.components or ())
        return self._regularized_recovery(
            resp,
            n_components,
            components,
            f"the initial M-step collapsed component(s) {list(components)}; it "
            "was redone with",
        )

    # -- the three recoveries -------------------------------------------------------
    def _reseed(self, valid, components, log_resp, log_density):
        resp = np.exp(log_resp)
        taken = np.zeros(len(resp), dtype=bool)
        seed_size = self._seed_size(valid.n_components)
        features = np.asarray(self.template.init_features(self.rows.X))
        for component in components:
            seed = self._seed_rows(features, log_density, taken, seed_size)
            resp[:, component] = 0.0
            resp[seed] = 0.0
            resp[seed, component] = 1.0
            taken[seed] = True
        resp = _renormalised(resp, log_resp, components)
        state = self._maximized(self.template, resp)
        if state is None:
            return None
        return Recovery(
            state,
            self.make_steps(self.template, valid.n_components),
            "reseeded",
            tuple(components),
            f"component(s) {list(components)} collapsed and were re-seeded from "
            f"the {seed_size} rows nearest the worst-explained one",
        )

    def _regularize(self, valid, components, log_resp, log_density):
        return self._regularized_recovery(
            np.exp(log_resp),
            valid.n_components,
            tuple(components),
            f"component(s) {list(components)} collapsed; the M-step was redone with",
        )

    def _regularized_recovery(self, resp, n_components, components, message):
        """The M-step from ``resp`` with a stronger regularisation, tenfold steps.

        The template that served is kept: later recoveries start from it.
        None where the family has no regularisation or every step collapsed.
        """
        template = self.template
        for _ in range(MAX_REGULARIZATIONS):
            template = template.regularized(self.rows.X)
            if template is None:
                return None
            state = self._maximized(template, resp, n_components)
            if state is not None:
                self.template = template
                return Recovery(
                    state,
                    self.make_steps(template, n_components),
                    "regularized",
                    components,
                    f"{message} reg_covar={_reg_covar(template):.3g}",
                )
        return None

    def _prune(self, valid, components, log_resp, log_density):
        keep = np.setdiff1d(np.arange(valid.n_components), components)
        if not self.can_prune or keep.size in (0, valid.n_components):
            return None
        resp = np.exp(log_resp)
        resp[:, list(components)] = 0.0
        resp = _renormalised(resp, log_resp, components)[:, keep]
        state = self._maximized(self.template, resp)
        if state is None:
            return None
        return Recovery(
            state,
            self.make_steps(self.template, keep.size),
            "pruned",
            tuple(components),
            f"component(s) {list(components)} collapsed and were removed; "
            f"{keep.size} remain",
        )

    # -- helpers --------------------------------------------------------------------
    def _maximized(self, template, resp, n_components=None):
        """The M-step from ``resp`` on the rows, or None where it collapses too."""
        steps = self.make_steps(template, n_components or resp.shape[1])
        try:
            stats = steps.statistics(self.rows, template, resp)
            return Mixture.from_statistics(template, stats)
        except SingularCovarianceError:
            return None

    def _seed_size(self, n_components):
        """Rows per seed: enough for a full covariance, at most a 1/K share."""
        n_samples, n_features = self.rows.X.shape
        return int(
            max(1, min(n_samples // n_components, max(n_features + 1, 2 * n_features)))
        )

    @staticmethod
    def _seed_rows(features, log_density, taken, seed_size):
        """The worst-explained free row and its nearest free neighbours."""
        free = np.flatnonzero(~taken)
        density = np.where(np.isfinite(log_density[free]), log_density[free], -np.inf)
        worst = free[np.argmin(density)]
        distances = np.square(features[free] - features[worst]).sum(axis=1)
        distances = np.where(np.isfinite(distances), distances, np.inf)
        return free[np.argsort(distances, kind="stable")[:seed_size]]


def _reg_covar(template):
    """The regularisation a (possibly wrapped) Gaussian-like template adds."""
    inner = getattr(template, "inner", template)
    return float(getattr(inner, "reg_covar", float("nan")))


def _renormalised(resp, log_resp, components):
    """Rows of ``resp`` summing to one, without mass on ``components``' columns
    except the seeds'; a row left with nothing goes to its likeliest other
    component."""
    totals = resp.sum(axis=1)
    empty = totals <= 0
    if empty.any():
        masked = log_resp[empty].copy()
        masked[:, list(components)] = -np.inf
        resp[empty] = 0.0
        resp[np.flatnonzero(empty), np.argmax(masked, axis=1)] = 1.0
        totals = resp.sum(axis=1)
    return resp / totals[:, None]
