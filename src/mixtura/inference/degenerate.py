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

A component can also empty without collapsing: the responsibilities give it
(next to) nothing, its weight underflows, and its covariance or rates, made
from no rows, still look valid (a Gaussian's is ``reg_covar`` times the
identity), so nothing raises and it lingers as dead weight. After every EM
step the loop asks :meth:`DegenerateRecovery.emptied`, which reads only the
K weights the M-step made from its ``resp_sum`` (no pass over the data): a
component with less than :data:`MIN_EFFECTIVE_ROWS` rows' worth of
responsibility has emptied, and the policy applies to it as to a collapse
(``'reseed'``: re-seeded, ``'prune'``: removed, ``'regularize'`` and
``'stop'``: kept, ``'raise'``: :class:`~mixtura.exceptions.
EmptyComponentError`). Its event's reason is ``'emptied'``; a kept component
is recorded once per restart, and after it the bound stays monotone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from mixtura.exceptions import EmptyComponentError, SingularCovarianceError
from mixtura.families.noise import WithNoise
from mixtura.inference.data import ArrayData, predict_log_resp
from mixtura.mixture import Mixture

__all__ = [
    "MAX_RECOVERIES",
    "MAX_REGULARIZATIONS",
    "MIN_EFFECTIVE_ROWS",
    "ON_DEGENERATE",
    "DegenerateRecovery",
    "Recovery",
    "emptied_components",
]

#: The ``on_degenerate`` options, in the order a recovery escalates through.
ON_DEGENERATE = ("reseed", "regularize", "prune", "stop", "raise")
#: Recoveries per restart; beyond, the restart stops at its last valid state.
MAX_RECOVERIES = 10
#: Tenfold strengthenings of the regularisation one recovery tries.
MAX_REGULARIZATIONS = 6
#: Rows' worth of responsibility (sample weight over the mean row weight)
#: below which an M-step's component has emptied. A component that holds one
#: row keeps about 1 (mclust's small classes, one component per row); one the
#: responsibilities gave nothing keeps the M-step's guard, 10 eps (about
#: 2e-15): ordinary fits sit far above the threshold, dead components far
#: below it, and one that decays towards zero crosses it within a few steps.
MIN_EFFECTIVE_ROWS = 1e-3


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
        ``'reseeded'``, ``'regularized'`` or ``'pruned'``; for an emptied
        component also ``'kept'`` (the state as it was).
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
    """The fit loop's response to a collapsed or emptied component, by
    ``on_degenerate``.

    Parameters
    ----------
    policy : {'reseed', 'regularize', 'prune', 'stop', 'raise'}
        Where the escalation starts.
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
    watch_weights : bool, default=True
        Whether :meth:`emptied` looks for emptied components (not where the
        weights are frozen: a tiny frozen weight is the user's).

    Notes
    -----
    With ``'stop'`` and ``'raise'`` a collapse ends the restart or raises,
    and an initial collapse raises; the object serves them for
    :meth:`emptied`.
    """

    def __init__(
        self,
        policy,
        rows: ArrayData,
        template,
        make_steps: Callable,
        can_prune=True,
        watch_weights=True,
    ):
        self.policy = policy
        self.rows = rows
        self.template = template
        self.make_steps = make_steps
        self.can_prune = can_prune
        self.watch_weights = watch_weights
        self._rows_worth = None  # (data, its total weight in rows), see _n_rows

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
        if self.policy == "raise":
            raise error
        if self.policy == "stop":
            return None
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
        if self.policy in ("stop", "raise"):
            return None  # the error propagates, as without a recovery
        components = tuple(error.components or ())
        return self._regularized_recovery(
            resp,
            n_components,
            components,
            f"the initial M-step collapsed component(s) {list(components)}; it "
            "was redone with",
        )

    def emptied(self, state, steps, data, kept=(), may_recover=True):
        """A :class:`Recovery` for the components an M-step emptied, or None.

        A component has emptied when its weight, times the data's total
        weight in rows, is below :data:`MIN_EFFECTIVE_ROWS` (a weight that
        underflowed to zero included): only the K weights are read. By the
        policy it is re-seeded (escalating to removal, then to keeping it),
        removed, or kept; a kept one is the state unchanged.

        Parameters
        ----------
        state : object
            The state the step gave: a Mixture, or the stepper's own state,
            with ``log_weights`` of shape (n_components,).
        steps : FitSteps
            The restart's current stepper.
        data : ArrayData or another data type with ``total_weight``
            What the iterations read.
        kept : collection of int, default=()
            Components already kept (and recorded) in this restart, ignored.
        may_recover : bool, default=True
            False once the restart has used its recoveries: emptied
            components are then kept.

        Returns
        -------
        recovery : Recovery or None
            None where no component emptied (or none is watched).

        Raises
        ------
        EmptyComponentError
            With ``on_degenerate='raise'``, naming the components.
        """
        log_weights = getattr(state, "log_weights", None)
        if not self.watch_weights or log_weights is None:
            return None
        n_rows = self._n_rows(data)
        # every EM iteration asks: one comparison of the smallest log weight
        # (NaN fails it, and takes the full look below)
        if float(np.min(log_weights)) >= math.log(MIN_EFFECTIVE_ROWS / n_rows):
            return None
        components = tuple(
            k
            for k in emptied_components(log_weights, n_rows, self._watched(state))
            if k not in kept
        )
        if not components:
            return None
        cause = (
            f"emptied (under {MIN_EFFECTIVE_ROWS:g} rows' worth of responsibility "
            f"out of {n_rows:.6g})"
        )
        if self.policy == "raise":
            raise EmptyComponentError(
                f"component(s) {list(components)} {cause}: the responsibilities "
                "gave them (next to) nothing, so they are dead weight. Fit fewer "
                "components, start from other parameters (init_params, n_init), "
                "or pass on_degenerate='reseed' or 'prune' to recover.",
                components,
            )
        if may_recover and self.policy in ("reseed", "prune"):
            recovered = self._recovered_emptied(state, steps, components, cause)
            if recovered is not None:
                return recovered
        return Recovery(
            state,
            steps,
            "kept",
            components,
            f"component(s) {list(components)} {cause} and were kept "
            f"(on_degenerate={self.policy!r})",
        )

    def _recovered_emptied(self, state, steps, components, cause):
        """Emptied components re-seeded (or removed), or removed; else None."""
        valid = steps.to_mixture(state)
        if not isinstance(valid, Mixture):
            return None
        log_resp, log_density = predict_log_resp(self.rows, valid)
        kinds = ("reseed", "prune")[("reseed", "prune").index(self.policy) :]
        for kind in kinds:
            recovered = getattr(self, f"_{kind}")(
                valid, components, log_resp, log_density, cause
            )
            if recovered is not None:
                return recovered
        return None

    def _n_rows(self, data):
        """The data's total weight in rows (of the rows' mean sample weight).

        The total weight of weighted data is a sum over the rows: it is taken
        once per fit's data.
        """
        if self._rows_worth is None or self._rows_worth[0] is not data:
            weights = self.rows.sample_weight
            row_weight = 1.0 if weights is None else float(np.mean(weights))
            self._rows_worth = (data, float(data.total_weight) / row_weight)
        return self._rows_worth[1]

    def _watched(self, state):
        """How many leading components may empty: not a noise component,
        whose weight is legitimately near zero on data without noise."""
        n_components = len(state.log_weights)
        return n_components - 1 if isinstance(self.template, WithNoise) else None

    # -- the three recoveries -------------------------------------------------------
    def _reseed(self, valid, components, log_resp, log_density, cause="collapsed"):
        resp = np.exp(log_resp)
        weights = self._row_weights()
        taken = weights <= 0  # a row without weight cannot seed anything
        seed_size = self._seed_size(valid.n_components)
        # a seed's weight: seed_size rows of the mean weight (integer weights
        # about one then seed as the repeated rows would)
        seed_weight = seed_size * float(np.mean(weights))
        features = _dense_or_sparse(self.template.init_features(self.rows.X))
        for component in components:
            seed = self._seed_rows(features, log_density, taken, seed_weight, weights)
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
            f"component(s) {list(components)} {cause} and were re-seeded from "
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

    def _prune(self, valid, components, log_resp, log_density, cause="collapsed"):
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
            f"component(s) {list(components)} {cause} and were removed; "
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

    def _row_weights(self):
        """The rows' sample weights, ones where there are none, shape (n_samples,)."""
        weights = self.rows.sample_weight
        if weights is None:
            return np.ones(self.rows.X.shape[0])
        return np.asarray(weights, dtype=np.float64)

    def _seed_size(self, n_components):
        """Rows per seed: enough for a full covariance, at most a 1/K share."""
        n_samples, n_features = self.rows.X.shape
        return int(
            max(1, min(n_samples // n_components, max(n_features + 1, 2 * n_features)))
        )

    @staticmethod
    def _seed_rows(features, log_density, taken, seed_weight, weights):
        """The worst-explained free row and its nearest free neighbours.

        Neighbours are taken by distance until their sample weight reaches
        ``seed_weight``, with every row as near as the last one (a duplicate
        of it): a row of weight 2 then seeds as two copies of it do.
        """
        free = np.flatnonzero(~taken)
        if free.size == 0:
            return free
        density = np.where(np.isfinite(log_density[free]), log_density[free], -np.inf)
        worst = free[np.argmin(density)]
        distances = _squared_distances(features, free, worst)
        distances = np.where(np.isfinite(distances), distances, np.inf)
        order = np.argsort(distances, kind="stable")
        # with a relative slack: rounded sums of equal weights can fall short
        reached = np.cumsum(weights[free[order]]) >= seed_weight * (1 - 1e-9)
        last = int(np.argmax(reached)) if reached.any() else order.size - 1
        count = np.searchsorted(distances[order], distances[order[last]], "right")
        return free[order[: max(count, last + 1)]]


def emptied_components(log_weights, n_rows, n_watched=None):
    """Components with less than :data:`MIN_EFFECTIVE_ROWS` rows' worth of weight.

    Parameters
    ----------
    log_weights : array-like of shape (n_components,)
        Log mixing weights (normalised), as the M-step makes them from the
        responsibility sums; -inf or NaN counts as emptied.
    n_rows : float
        The data's total weight in rows: a weight times it is the
        component's effective number of rows.
    n_watched : int or None, default=None
        Only the first ``n_watched`` components are looked at (None: all).

    Returns
    -------
    components : tuple of int
    """
    effective = np.exp(np.asarray(log_weights, dtype=np.float64)[:n_watched]) * n_rows
    # written so that NaN (a weight no arithmetic can read) counts as emptied
    return tuple(int(k) for k in np.flatnonzero(~(effective >= MIN_EFFECTIVE_ROWS)))


def _dense_or_sparse(features):
    """Initialisation features as an ndarray, or as a SciPy sparse matrix."""
    return features if scipy.sparse.issparse(features) else np.asarray(features)


def _squared_distances(features, rows, origin):
    """Squared Euclidean distances of ``features[rows]`` to ``features[origin]``.

    Parameters
    ----------
    features : ndarray or sparse matrix of shape (n_samples, n_features)
    rows : ndarray of int of shape (n_rows,)
    origin : int

    Returns
    -------
    distances : ndarray of shape (n_rows,)
    """
    if not scipy.sparse.issparse(features):
        return np.square(features[rows] - features[origin]).sum(axis=1)
    # sparse rows do not broadcast: |a|^2 - 2 a.b + |b|^2, clipped at 0
    features = scipy.sparse.csr_matrix(features)
    block, point = features[rows], features[origin]
    norms = np.asarray(block.multiply(block).sum(axis=1)).ravel()
    cross = np.asarray((block @ point.T).todense()).ravel()
    return np.maximum(norms - 2.0 * cross + point.multiply(point).sum(), 0.0)


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
