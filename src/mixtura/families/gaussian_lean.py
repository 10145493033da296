"""Gaussian EM on one in-memory block of rows, without objects rebuilt per iteration.

The general E-step (:mod:`mixtura.families.gaussian_kernel`) is built for data
far larger than the cache: chunks, thread groups, a kernel object chosen for
each new family value. On a few thousand rows that machinery is the whole cost
of an iteration (a family, its kernels and a mixture made per M-step, the
chunking and the threads consulted per E-step), not the arithmetic. Here the
rows are validated, converted and centred once per fit, and each iteration
works on plain parameter arrays in :class:`LeanGaussianState`:

- E-step: the structure's own batched squared Mahalanobis distances
  (:meth:`~mixtura.families.covariance.CovarianceStructure.squared_mahalanobis`,
  or its centred form where the expanded one would cancel digits, by the same
  bound the general kernels use), log-sum-exp into preallocated buffers;
- statistics: the general path's expanded moments (as
  :func:`~mixtura.families.gaussian_kernel.assemble_moments` forms them) from
  one product with the rows' quadratic features, with the same cancellation
  check and recomputation
  (:func:`~mixtura.families.gaussian_kernel.recompute_cancelled`);
- M-step: :meth:`Gaussian.maximized_parameters
  <mixtura.families.gaussian.Gaussian.maximized_parameters>` (maximum likelihood
  or the MAP rule of the prior) and the structure's batched factorisation.

The family is built once, when the fit ends (:meth:`LeanGaussianEM.finish`;
the caller makes the mixture, a layer above the families). The chunked path
stays the reference: the tests check that both give the same fit for every
covariance structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixtura.backend import LOG_2PI
from mixtura.exceptions import SingularCovarianceError
from mixtura.families.gaussian_fused import (
    pair_products_by_feature,
    symmetric_pair_index,
    upper_pair_indices,
)
from mixtura.families.gaussian_kernel import (
    cancellation_limit,
    log_density_error,
    recompute_cancelled,
)
from mixtura.stats import MomentStats

__all__ = ["LEAN_MAX_VALUES", "LeanGaussianEM", "LeanGaussianState"]

#: The lean step keeps the rows' quadratic features (d (d + 3) / 2 values a row)
#: and a few (n_components, n_samples) arrays, so it serves data while those stay
#: below this many values (4 Mi float64 values, 32 MiB); larger data take the
#: chunked, threaded path, whose temporaries are bounded.
LEAN_MAX_VALUES = 4 * 2**20

_EPS = float(np.finfo(np.float64).eps)
_EMPTY_COMPONENT_GUARD = 10 * _EPS


@dataclass(frozen=True)
class LeanGaussianState:
    """The parameters one lean iteration reads, as arrays.

    Attributes
    ----------
    log_weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        In the structure's shape.
    precisions_cholesky : ndarray
        In the structure's shape.
    """

    log_weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


class LeanGaussianEM:
    """EM steps of a Gaussian mixture on one float64 block of rows.

    Parameters
    ----------
    template : Gaussian
        The family's configuration (structure, ``reg_covar``, prior); its
        parameters, if any, are not used.
    X : ndarray of shape (n_samples, n_features), float64
        Complete rows (no NaN).
    sample_weight : ndarray of shape (n_samples,) or None
    """

    def __init__(self, template, X, sample_weight=None):
        self.template = template
        self.structure = template.structure
        # the reference point the products are taken about: the data's mean,
        # fixed for the fit, so the rows are centred once
        weights = None if sample_weight is None else np.asarray(sample_weight)
        self.reference = (
            X.mean(axis=0) if weights is None else (weights @ X) / weights.sum()
        )
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.centred = self.X - self.reference
        self.sample_weight = weights
        self.total_weight = float(X.shape[0] if weights is None else weights.sum())
        self._limit = cancellation_limit(_EPS)
        # feature-major copies (d, n): the products then give (K, n) directly
        self._centred_rows = np.ascontiguousarray(self.centred.T)
        self._pair_index = upper_pair_indices(X.shape[1])
        # x_i x_j appears twice in c^T P c for i != j
        self._pair_factor = np.where(self._pair_index[0] == self._pair_index[1], 1, 2)
        self._symmetric_index = symmetric_pair_index(X.shape[1])
        self._quadratic = None  # the rows' quadratic features, made when needed

    @classmethod
    def serves(cls, n_samples, n_features, n_components):
        """Whether data of this shape fit the lean step's temporaries.

        Parameters
        ----------
        n_samples, n_features, n_components : int

        Returns
        -------
        bool
        """
        n_quadratic = n_features * (n_features + 3) // 2
        return n_samples * (n_components + n_quadratic) <= LEAN_MAX_VALUES

    # -- conversions, once per fit ------------------------------------------------
    def state(self, mixture):
        """The arrays of a mixture of this family (once, at the first step).

        Parameters
        ----------
        mixture : Mixture
            With a :class:`~mixtura.families.gaussian.Gaussian` family.

        Returns
        -------
        state : LeanGaussianState
        """
        family = mixture.family
        return LeanGaussianState(
            np.asarray(mixture.log_weights, dtype=np.float64),
            family.means,
            family.covariances,
            family.precisions_cholesky,
        )

    def finish(self, state):
        """The log weights and family a state stands for (built once, at the end).

        Parameters
        ----------
        state : LeanGaussianState

        Returns
        -------
        log_weights : ndarray of shape (n_components,)
            Normalised.
        family : Gaussian
        """
        family = type(self.template)(
            self.structure,
            self.template.reg_covar,
            means=state.means,
            covariances=state.covariances,
            precisions_cholesky=state.precisions_cholesky,
            prior=self.template.prior,
        )
        return state.log_weights, family

    # -- one iteration ------------------------------------------------------------
    def step(self, state, data=None):
        """One EM iteration, with the fit loop's step signature.

        Parameters
        ----------
        state : LeanGaussianState or Mixture
            The parameters the E-step uses (a mixture of this family on the
            first call).
        data : object, optional
            Ignored: the rows were given at construction.

        Returns
        -------
        new_state : LeanGaussianState
        mean_log_likelihood : float
            Of ``state``, per unit of sample weight.

        Raises
        ------
        SingularCovarianceError
            When the M-step collapses a component; its ``lower_bound``
            attribute holds the bound of ``state``.
        """
        if not isinstance(state, LeanGaussianState):
            state = self.state(state)
        weighted, log_likelihood = self._e_step(state)
        mean_log_likelihood = log_likelihood / self.total_weight
        try:
            return self._m_step(weighted), mean_log_likelihood
        except SingularCovarianceError as error:
            error.lower_bound = mean_log_likelihood
            raise

    def _distances(self, means, precisions_cholesky):
        """Squared Mahalanobis distances, component-major (K, n).

        Expanded about the reference, ``c^T P c - 2 c^T P m + m^T P m`` for the
        centred rows c, as products of the rows' quadratic features (formed
        once per fit) with each precision's coefficients: two matrix products
        for every structure. The expanded terms grow with the farthest mean's
        squared distance from the reference, so the form is used while the
        bound of :func:`~mixtura.families.gaussian_kernel.log_density_error`
        stays under float64's limit, as in the general kernels; beyond, the
        structure's explicit deviations.
        """
        n_components, n_features = means.shape
        precisions = self._precision_coefficients(precisions_cholesky, n_components)
        if self.structure.full_scatter:
            linear = np.matmul(precisions, means[:, :, None])[:, :, 0]
            rows, cols = self._pair_index
            coefficients = precisions[:, rows, cols] * self._pair_factor
        else:
            linear = precisions * means
            coefficients = precisions
        constant = np.einsum("kd,kd->k", linear, means)
        farthest = float(constant.max())
        if log_density_error(farthest, n_features, _EPS) > self._limit:
            return self.structure.squared_mahalanobis_centred(
                self.centred, means, precisions_cholesky, np
            ).T
        distances = coefficients @ self._quadratic_rows()
        distances -= 2.0 * (linear @ self._centred_rows)
        distances += constant[:, None]
        return distances

    def _precision_coefficients(self, precisions_cholesky, n_components):
        """Each component's precision: (K, d, d) matrices, or (K, d) diagonals."""
        precisions = self.structure.precisions(precisions_cholesky)
        n_features = self.X.shape[1]
        if self.structure.full_scatter:
            return self.structure.matrices(precisions, n_components, n_features)
        return np.broadcast_to(
            np.reshape(precisions, (n_components, -1)), (n_components, n_features)
        )

    def _e_step(self, state):
        """Weighted responsibilities (K, n) and the total log-likelihood.

        The posterior is formed component-major, (K, n): the reductions over
        the few components then run along contiguous rows, several times
        faster than along the short axis of an (n, K) array.
        """
        n_features = self.X.shape[1]
        distances = self._distances(
            state.means - self.reference, state.precisions_cholesky
        )
        log_det = self.structure.log_det_cholesky(state.precisions_cholesky, n_features)
        constant = state.log_weights + (log_det - 0.5 * n_features * LOG_2PI)
        joint = np.multiply(distances, -0.5, order="C")
        joint += constant[:, None]
        peak = joint.max(axis=0)
        joint -= peak
        np.exp(joint, out=joint)
        total = joint.sum(axis=0)
        joint /= total
        log_density = np.log(total)
        log_density += peak
        if self.sample_weight is not None:
            joint *= self.sample_weight
            log_density *= self.sample_weight
        return joint, float(log_density.sum())

    def statistics(self, resp):
        """The rows' statistics for given responsibilities (the initialisation's).

        The same statistics as the family's
        :meth:`~mixtura.families.gaussian.Gaussian.statistics` over these rows
        and sample weights, from the rows prepared for the fit.

        Parameters
        ----------
        resp : array-like of shape (n_samples, n_components)
            Responsibilities (without the sample weights), e.g.
            :class:`~mixtura.inference.init.OneHotResponsibilities`.

        Returns
        -------
        stats : MomentStats
        """
        weighted = np.asarray(resp[0 : self.X.shape[0]], dtype=np.float64).T
        if self.sample_weight is not None:
            weighted = weighted * self.sample_weight
        return self._statistics(weighted)

    def _statistics(self, weighted):
        """MomentStats of the weighted responsibilities, shape (K, n)."""
        resp_sum = weighted.sum(axis=1)
        means, scatter = self._moments(weighted, resp_sum)
        return MomentStats(resp_sum, means + self.reference, scatter)

    def _m_step(self, weighted):
        """New parameters from the weighted responsibilities, shape (K, n)."""
        stats = self._statistics(weighted)
        means, covariances = self.template.maximized_parameters(stats)
        precisions_cholesky = self.structure.precision_cholesky(covariances)
        counts = stats.resp_sum + _EMPTY_COMPONENT_GUARD
        log_weights = np.log(counts / counts.sum())
        return LeanGaussianState(log_weights, means, covariances, precisions_cholesky)

    def _moments(self, weighted, resp_sum):
        """Means about the reference and scatter about the means, per component.

        The general path's expanded form (``sum_i r_ik c_i c_i^T - n_k m m^T``,
        the same operations in the same order as
        :func:`~mixtura.families.gaussian_kernel.assemble_moments`) from one
        product with the rows' quadratic features, and the same recomputation,
        from explicit deviations, of the components that cancelled.

        Parameters
        ----------
        weighted : ndarray of shape (K, n)
        resp_sum : ndarray of shape (K,)

        Returns
        -------
        means : ndarray of shape (K, d)
            About ``self.reference``.
        scatter : ndarray of shape (K, d, d) or (K, d)
        """
        safe = np.where(resp_sum > 0, resp_sum, 1.0)
        means = weighted @ self.centred
        means /= safe[:, None]
        scatter = weighted @ self._quadratic_rows().T
        if self.structure.full_scatter:
            rows, cols = self._pair_index
            scatter -= resp_sum[:, None] * (means[:, rows] * means[:, cols])
            # the upper triangle, in the pairs' order, unfolded to (K, d, d)
            n_features = means.shape[1]
            scatter = scatter[:, self._symmetric_index].reshape(
                -1, n_features, n_features
            )
        else:
            scatter -= resp_sum[:, None] * (means * means)
        recompute_cancelled(
            self.structure,
            self.X,
            weighted.T,
            self.reference,
            resp_sum,
            means,
            scatter,
            _EPS,
            np,
        )
        return means, scatter

    def _quadratic_rows(self):
        """The centred rows' squares (and pairwise products when the structure
        has full matrices), one feature per row: shape (n_quadratic, n).

        Formed at the first call and kept: the data do not change in a fit.
        """
        if self._quadratic is None:
            features = self._centred_rows
            if self.structure.full_scatter:
                n_features, n_samples = features.shape
                self._quadratic = pair_products_by_feature(
                    features, np.empty((n_features * (n_features + 1) // 2, n_samples))
                )
            else:
                self._quadratic = np.square(features)
        return self._quadratic
