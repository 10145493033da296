"""Gaussian EM on one in-memory block of rows, without objects rebuilt per iteration.

The general E-step (:mod:`mixtura.families.gaussian_kernel`) is built for data
far larger than the cache: chunks, thread groups, a kernel object chosen for
each new family value. On a few thousand rows that machinery is the whole cost
of an iteration (a family, its kernels and a mixture made per M-step, the
chunking and the threads consulted per E-step), not the arithmetic. Here the
rows are validated, converted and centred once per fit, and each iteration
works on plain parameter arrays in :class:`LeanGaussianState`:

- E-step: one product of the general kernels' coefficients
  (:class:`~mixtura.families.gaussian_fused.PairForm`) with the rows'
  stacked features ``[quadratic; c; 1]``
  (:func:`~mixtura.families.gaussian_fused.stacked_features`, formed once per
  fit), or the structure's centred distances where the expanded form would
  cancel digits (the general kernels' bound), then the log-sum-exp;
- statistics: one product of the responsibilities with the same features
  (second moments, first moments and weights at once), expanded as
  :func:`~mixtura.families.gaussian_kernel.assemble_moments` does, with the
  same cancellation check and recomputation
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

from mixtura.backend import LOG_2PI, logsumexp
from mixtura.exceptions import SingularCovarianceError
from mixtura.families.gaussian_fused import (
    PairForm,
    centred_rows,
    stacked_features,
    symmetric_pair_index,
    upper_pair_indices,
)
from mixtura.families.gaussian_kernel import (
    cancellation_limit,
    log_density_error,
    recompute_cancelled,
)
from mixtura.stats import EMPTY_COMPONENT_GUARD, MomentStats

__all__ = ["LEAN_MAX_VALUES", "LeanGaussianEM", "LeanGaussianState"]

#: The lean step keeps the rows' stacked features (d (d + 3) / 2 + 1 values a row)
#: and a few (n_components, n_samples) arrays, so it serves data while those stay
#: below this many values (4 Mi float64 values, 32 MiB); larger data take the
#: chunked, threaded path, whose temporaries are bounded.
LEAN_MAX_VALUES = 4 * 2**20

_EPS = float(np.finfo(np.float64).eps)


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
        self.sample_weight = weights
        self.total_weight = float(X.shape[0] if weights is None else weights.sum())
        self._limit = cancellation_limit(_EPS)
        # the centred rows' features [quadratic; c; 1], feature-major (the
        # products then give (K, n) directly), formed once: the data do not
        # change in a fit
        self.features = stacked_features(
            self.X, self.reference, self.structure.full_scatter
        )
        n_features = X.shape[1]
        self.centred = centred_rows(self.features, n_features)  # (n, d) view
        self._pair_index = upper_pair_indices(n_features)
        self._symmetric_index = symmetric_pair_index(n_features)

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
            return self._m_step(weighted, state.covariances), mean_log_likelihood
        except SingularCovarianceError as error:
            error.lower_bound = mean_log_likelihood
            raise

    def _joint_log_prob(self, state):
        """Log of weight times density of every row, component-major (K, n).

        Expanded about the reference: one product of the coefficients of
        :class:`~mixtura.families.gaussian_fused.PairForm` (the general
        kernels' own) with the rows' stacked features, for every structure.
        The expanded terms grow with the farthest mean's squared distance from
        the reference, so the form is used while the bound of
        :func:`~mixtura.families.gaussian_kernel.log_density_error` stays under
        float64's limit, as in the general kernels; beyond, the structure's
        explicit deviations.
        """
        n_features = self.X.shape[1]
        means = state.means - self.reference
        precisions_cholesky = state.precisions_cholesky
        log_det = self.structure.log_det_cholesky(precisions_cholesky, n_features)
        log_normalisers = log_det - 0.5 * n_features * LOG_2PI
        form = PairForm(
            self._precision_coefficients(precisions_cholesky, means.shape[0]),
            means,
            log_normalisers,
            pairs=self.structure.full_scatter,
        )
        if log_density_error(float(form.offsets.max()), n_features, _EPS) > self._limit:
            distances = self.structure.squared_mahalanobis_centred(
                self.centred, means, precisions_cholesky, np
            ).T
            joint = np.multiply(distances, -0.5, order="C")
            joint += (state.log_weights + log_normalisers)[:, None]
            return joint
        return form.with_constant(state.log_weights, np.float64).T @ self.features

    def _precision_coefficients(self, precisions_cholesky, n_components):
        """Each component's precision: (K, d, d) matrices, or diagonals (K, d)
        (or (K, 1) for one variance per component, which broadcasts)."""
        precisions = self.structure.precisions(precisions_cholesky)
        if self.structure.full_scatter:
            n_features = self.X.shape[1]
            return self.structure.matrices(precisions, n_components, n_features)
        return precisions.reshape(n_components, -1)

    def _e_step(self, state):
        """Weighted responsibilities (K, n) and the total log-likelihood.

        The posterior is formed component-major, (K, n): the reductions over
        the few components then run along contiguous rows, several times
        faster than along the short axis of an (n, K) array.
        """
        joint = self._joint_log_prob(state)
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

    def log_posterior(self, state):
        """Log responsibilities and log densities of the rows under ``state``.

        What the general path's prediction gives on the same rows, without its
        validation and kernel objects: model selection asks it once per cell
        of the just-fitted rows, where the general path cost several EM
        iterations.

        Parameters
        ----------
        state : LeanGaussianState or Mixture

        Returns
        -------
        log_resp : ndarray of shape (n_samples, n_components)
        log_density : ndarray of shape (n_samples,)
            Without the sample weights.
        """
        if not isinstance(state, LeanGaussianState):
            state = self.state(state)
        joint = self._joint_log_prob(state)
        log_density = logsumexp(joint, 0, np)
        joint -= log_density
        return joint.T, log_density

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
        resp_sum, means, scatter = self._moments(weighted)
        return MomentStats(resp_sum, means + self.reference, scatter)

    def _m_step(self, weighted, start=None):
        """New parameters from the weighted responsibilities, shape (K, n).

        ``start``: the covariances before the step, where an iterative M-step
        begins (as the chunked path's family begins from its own).
        """
        stats = self._statistics(weighted)
        means, covariances = self.template.maximized_parameters(stats, start)
        precisions_cholesky = self.structure.precision_cholesky(covariances)
        counts = stats.resp_sum + EMPTY_COMPONENT_GUARD
        log_weights = np.log(counts / counts.sum())
        return LeanGaussianState(log_weights, means, covariances, precisions_cholesky)

    def _moments(self, weighted):
        """Weights, means about the reference and scatter about the means.

        The general path's expanded form (``sum_i r_ik c_i c_i^T - n_k m m^T``,
        the same operations as
        :func:`~mixtura.families.gaussian_kernel.assemble_moments`) from one
        product with the rows' stacked features (their sums give the second
        moments, the first moments and the weights at once), and the same
        recomputation, from explicit deviations, of the components that
        cancelled.

        Parameters
        ----------
        weighted : ndarray of shape (K, n)

        Returns
        -------
        resp_sum : ndarray of shape (K,)
        means : ndarray of shape (K, d)
            About ``self.reference``.
        scatter : ndarray of shape (K, d, d) or (K, d)
        """
        n_features = self.X.shape[1]
        sums = weighted @ self.features.T
        n_quadratic = sums.shape[1] - n_features - 1
        resp_sum = sums[:, -1]
        safe = np.where(resp_sum > 0, resp_sum, 1.0)
        means = sums[:, n_quadratic:-1] / safe[:, None]
        scatter = sums[:, :n_quadratic]
        if self.structure.full_scatter:
            rows, cols = self._pair_index
            scatter -= resp_sum[:, None] * (means[:, rows] * means[:, cols])
            # the upper triangle, in the pairs' order, unfolded to (K, d, d)
            scatter = scatter[:, self._symmetric_index].reshape(
                -1, n_features, n_features
            )
        else:
            scatter -= resp_sum[:, None] * (means * means)
            scatter = np.ascontiguousarray(scatter)
        resp_sum = np.ascontiguousarray(resp_sum)
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
        return resp_sum, means, scatter
