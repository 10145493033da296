"""Frozen parameters: EM with some parameters kept at their initial values.

``frozen={'means'}`` (or ``{'weights', 'covariances'}``, or a family's own
parameter names such as ``'rates'``, or ``{'means': [0, 2]}`` for some
components) keeps those parameters at the start's values (``means_init``,
a warm start, or the initialisation's) through every M-step, bit for bit.

The M-step is the conditional maximisation given the frozen values where the
family knows how (:meth:`~mixtura.families.base.Family.maximize_given`:
a Gaussian's covariances about frozen means are the scatter about those
means, not about the free ones); the free parameters' update is then an
ECM step (Meng & Rubin 1993), which keeps EM's monotone likelihood. The
frozen arrays are then put back exactly, so rounding in the M-step cannot
move them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mixtura.exceptions import SingularCovarianceError
from mixtura.inference.data import accumulate
from mixtura.mixture import Mixture
from mixtura.stats import EMPTY_COMPONENT_GUARD

__all__ = ["WEIGHTS", "FrozenParameters"]

#: The name of the mixing weights among the frozen parameters.
WEIGHTS = "weights"


class FrozenParameters:
    """Which parameters stay at their start's values, and the step that keeps them.

    Parameters
    ----------
    spec : str, iterable of str, or mapping of str to components
        Parameter names (``'weights'`` or the family's array names, see
        :meth:`~mixtura.families.base.Family.parameter_groups`); a mapping
        gives the components of each (a sequence of indices, or None for all).
    """

    def __init__(self, spec):
        if isinstance(spec, str):
            spec = {spec: None}
        elif not isinstance(spec, Mapping):
            spec = dict.fromkeys(spec)
        self.spec = {str(name): components for name, components in spec.items()}
        self._start = None

    def capture(self, mixture):
        """Remember the values of a restart's first state (checks the names).

        Parameters
        ----------
        mixture : Mixture
            The start: an initialisation or a warm start.

        Raises
        ------
        ValueError
            Naming an unknown parameter (and listing the known ones) or a
            component out of range.
        """
        groups = mixture.family.parameter_groups()
        per_component = mixture.family.component_parameters() | {WEIGHTS}
        arrays = mixture.family.arrays()
        known = sorted({WEIGHTS, *groups})
        frozen = {}
        for name, components in self.spec.items():
            if name != WEIGHTS and name not in groups:
                raise ValueError(
                    f"frozen names {name!r}, which is not a parameter of this "
                    f"model; the parameters are {known}"
                )
            rows = _component_rows(name, components, mixture.n_components)
            if rows is not None and name not in per_component:
                raise ValueError(
                    f"frozen {name!r} is shared by every component or constrained "
                    "across them by the model; freeze it whole (None) rather "
                    "than per component"
                )
            members = (WEIGHTS,) if name == WEIGHTS else groups[name]
            for member in members:
                value = mixture.log_weights if member == WEIGHTS else arrays[member]
                frozen[member] = (rows, np.array(value, copy=True))
        self._start = frozen

    def capturing(self, initialize):
        """``initialize`` that remembers each restart's start (see :meth:`capture`).

        A recovered start (:class:`~mixtura.inference.degenerate.Recovery`)
        is remembered by its state.
        """

        def initialize_and_capture(random_state):
            start = initialize(random_state)
            self.capture(getattr(start, "state", start))
            return start

        return initialize_and_capture

    def step(self, mixture, data):
        """One EM step whose M-step keeps the frozen parameters.

        Same contract as :func:`~mixtura.inference.em.em_step`.
        """
        stats, mean_log_likelihood = accumulate(data, mixture)
        try:
            return self.maximized(mixture, stats), mean_log_likelihood
        except SingularCovarianceError as error:
            error.lower_bound = mean_log_likelihood
            raise

    def maximized(self, mixture, stats):
        """The M-step from ``stats`` given the frozen values, which it keeps.

        Parameters
        ----------
        mixture : Mixture
            The current parameters (their family's configuration).
        stats : Stats

        Returns
        -------
        mixture : Mixture
        """
        fixed = {name: value for name, value in self._start.items() if name != WEIGHTS}
        nk = stats.resp_sum + EMPTY_COMPONENT_GUARD
        family = mixture.family.maximize_given(stats, fixed)
        return self.apply(Mixture.from_weights(nk / nk.sum(), family))

    def apply(self, mixture):
        """``mixture`` with the frozen parameters put back to their values."""
        log_weights = mixture.log_weights
        arrays = None
        for name, (rows, value) in self._start.items():
            if name == WEIGHTS:
                log_weights = _frozen_log_weights(log_weights, rows, value)
                continue
            if arrays is None:
                arrays = dict(mixture.family.arrays())
            arrays[name] = _replaced(arrays[name], rows, value)
        family = mixture.family
        if arrays is not None:
            family = type(family).from_arrays(family.config(), arrays)
        return Mixture(log_weights, family, normalize=WEIGHTS not in self._start)


def _component_rows(name, components, n_components):
    """The frozen components as indices (None: all of them)."""
    if components is None:
        return None
    rows = np.unique(np.asarray(components, dtype=np.intp).reshape(-1))
    if rows.size and (rows.min() < 0 or rows.max() >= n_components):
        raise ValueError(
            f"frozen {name!r} names components {rows.tolist()}; the model has "
            f"components 0 to {n_components - 1}"
        )
    return rows


def _frozen_log_weights(log_weights, rows, value):
    """Log weights with the frozen ones exact and the free ones sharing the rest.

    The free weights keep their M-step proportions, scaled to ``1 - sum`` of
    the frozen ones (the conditional maximum given those).
    """
    if rows is None:
        return np.array(value, copy=True)
    updated = np.array(log_weights, copy=True)
    free = np.ones(updated.shape[0], dtype=bool)
    free[rows] = False
    updated[rows] = value[rows]
    if free.any():
        frozen_mass = float(np.exp(value[rows]).sum())
        free_mass = float(np.exp(log_weights[free]).sum())
        updated[free] += np.log(max(1.0 - frozen_mass, 0.0) / free_mass)
    return updated


def _replaced(current, rows, value):
    if rows is None:
        return np.array(value, copy=True)
    updated = np.array(current, copy=True)
    updated[rows] = value[rows]
    return updated
