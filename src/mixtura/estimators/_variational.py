"""The fitted state of variational estimators: the posterior, kept as one object.

A variational fit ends in a :class:`~mixtura.inference.variational.VariationalMixture`
(the weight prior and posterior, the parameter prior and posterior). That object is
the estimator's source of truth, as the fitted :class:`~mixtura.mixture.Mixture` is an
EM estimator's: the scikit-learn attributes are read off it, predictions use the
mixture at the expected log-parameters built from it once per fit, sampling and
pruning use its posterior means, and a warm start continues from it, so no posterior
is ever rebuilt from the attributes.
"""

from __future__ import annotations

__all__ = ["VariationalStateMixin"]


class VariationalStateMixin:
    """Fitted-state hooks of :class:`~mixtura.estimators.base.BaseMixture` for VB.

    Subclasses give ``_set_fitted(state, dtype)``, which copies what scikit-learn's
    API shows (``weights_``, the posterior's parameters) from the
    ``VariationalMixture``.
    """

    def _store_fitted(self, state, dtype):
        self._set_fitted(state, dtype)
        self._variational_state = state
        self._mixture = state.expected_mixture()

    def _fitted_state(self):
        """The posterior a warm start continues from."""
        return self._variational_state

    def _mixture_from_attributes(self):
        # only reached through _fitted_mixture on a fitted estimator
        return self._variational_state.expected_mixture()

    def _sampling_mixture(self):
        # sampling uses the posterior means, as BayesianGaussianMixture's does
        return self._variational_state.mean_mixture()

    def _mean_family(self, components):
        """Posterior-mean family of ``components`` (for pruning)."""
        return self._variational_state.mean_family(components)
