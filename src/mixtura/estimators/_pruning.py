"""Pruning of variational mixtures: keep the components the data support.

A variational fit with many components (a Dirichlet-process truncation, or a
sparse Dirichlet prior) leaves the components the data do not need with expected
weights near zero (Blei & Jordan 2006; Bishop 2006, section 10.2.4). Pruning
keeps the others as a plain, fitted EM estimator: renormalised posterior-mean
weights and posterior-mean parameters, which predicts, scores, samples and saves
to model files like any fitted EM estimator.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from mixtura.mixture import Mixture

__all__ = ["PruningMixin"]

#: copied from the variational estimator to the pruned one, when present
_COPIED_ATTRIBUTES = (
    "n_features_in_",
    "feature_names_in_",
    "converged_",
    "n_iter_",
    "lower_bound_",
)


class PruningMixin:
    """``effective_components`` and ``prune`` for variational estimators.

    Subclasses give ``_plain_estimator(n_components)`` (an unfitted EM
    estimator of the matching family) and ``_mean_family(components)`` (the
    posterior-mean family of the given components).
    """

    def effective_components(self, threshold=1e-2):
        """Indices of the components whose expected weight exceeds ``threshold``.

        Parameters
        ----------
        threshold : float, default=1e-2
            Smallest posterior-mean weight (in ``[0, 1)``) of a kept component.

        Returns
        -------
        components : ndarray of shape (n_effective,)
            Increasing component indices into ``weights_``.
        """
        check_is_fitted(self)
        if (
            not isinstance(threshold, Real)
            or isinstance(threshold, bool)
            or not 0 <= threshold < 1
        ):
            raise ValueError(
                f"threshold must be a number in [0, 1); got {threshold!r}."
            )
        return np.flatnonzero(np.asarray(self.weights_) > threshold)

    def prune(self, threshold=1e-2):
        """A plain fitted EM estimator with the effective components only.

        Keeps the components of :meth:`effective_components`, with their
        posterior-mean parameters and their posterior-mean weights renormalised
        to sum to one. The result predicts, scores, samples and saves to model
        files; its fit information (``converged_``, ``n_iter_``,
        ``lower_bound_``, ``lower_bounds_``) is this variational fit's, so
        ``lower_bound_`` is the variational bound.

        Parameters
        ----------
        threshold : float, default=1e-2
            Smallest posterior-mean weight of a kept component.

        Returns
        -------
        estimator : BaseMixture
            A fitted EM estimator of the same family with ``n_components`` the
            number of kept components.
        """
        components = self.effective_components(threshold)
        if components.size == 0:
            raise ValueError(
                f"no component has a weight above threshold={threshold}; "
                f"the largest weight is {float(np.max(self.weights_)):.3g}."
            )
        weights = np.asarray(self.weights_, dtype=np.float64)[components]
        mixture = Mixture.from_weights(
            weights / weights.sum(), self._mean_family(components)
        )
        pruned = self._plain_estimator(int(components.size))
        pruned._store_fitted(mixture, np.dtype(self._fit_dtype()))
        for name in _COPIED_ATTRIBUTES:
            if hasattr(self, name):
                setattr(pruned, name, getattr(self, name))
        pruned.lower_bounds_ = list(self.lower_bounds_)
        self._copy_encoding(pruned)
        return pruned

    def _copy_encoding(self, pruned):
        """Hand the input encoding (e.g. categorical levels) to the pruned model."""
