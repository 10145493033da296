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
    _cancelled_components,
    cancellation_limit,
    log_density_error,
    recompute_cancelled,
)
from mixtura.stats import EMPTY_COMPONENT_GUARD, MomentStats

__all__ = [
    "LEAN_MAX_VALUES",
    "LeanGaussianEM",
    "LeanGaussianState",
    "steps_together",
]

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

    # -- steps of several fits together (mixtura.inference.lockstep) -------------
    def batch_key(self, state):
        """What fits must share for :meth:`steps_together`: the prepared rows
        (the same array and weights, the same features) and K.

        Parameters
        ----------
        state : LeanGaussianState or Mixture

        Returns
        -------
        key : tuple
        """
        n_components = (
            len(state.log_weights)
            if isinstance(state, LeanGaussianState)
            else state.n_components
        )
        return (
            id(self.X),
            id(self.sample_weight),
            self.structure.full_scatter,
            n_components,
        )

    @staticmethod
    def steps_together(leans, states):
        """One step of each fit, computed together: :func:`steps_together`."""
        return steps_together(leans, states)

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
        form = self._pair_form(state)
        if not self._expansion_holds(float(form.offsets.max())):
            return self._joint_from_distances(state)
        return form.with_constant(state.log_weights, np.float64).T @ self.features

    def _pair_form(self, state):
        """The general kernels' :class:`PairForm` of a state, about the reference."""
        means = state.means - self.reference
        return PairForm(
            self._precision_coefficients(state.precisions_cholesky, means.shape[0]),
            means,
            self._log_normalisers(state),
            pairs=self.structure.full_scatter,
        )

    def _log_normalisers(self, state):
        """``log det U_k - d/2 log 2 pi`` of each component, shape (K,)."""
        n_features = self.X.shape[1]
        log_det = self.structure.log_det_cholesky(state.precisions_cholesky, n_features)
        if np.ndim(log_det) == 0:  # one for all components (tied)
            log_det = np.full(len(state.log_weights), log_det)
        return log_det - 0.5 * n_features * LOG_2PI

    def _expansion_holds(self, farthest):
        """Whether the expanded form keeps float64's digits when the farthest
        mean's squared Mahalanobis distance from the reference is ``farthest``."""
        n_features = self.X.shape[1]
        return log_density_error(farthest, n_features, _EPS) <= self._limit

    def _joint_from_distances(self, state):
        """The joint log-probabilities (K, n) from explicit deviations."""
        means = state.means - self.reference
        distances = self.structure.squared_mahalanobis_centred(
            self.centred, means, state.precisions_cholesky, np
        ).T
        joint = np.multiply(distances, -0.5, order="C")
        joint += (state.log_weights + self._log_normalisers(state))[:, None]
        return joint

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
        weighted, log_likelihood = _normalised(
            self._joint_log_prob(state), self.sample_weight
        )
        return weighted, float(log_likelihood)

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
        return self._maximized(self._statistics(weighted), start)

    def _maximized(self, stats, start=None):
        """The M-step's state from the components' moments (see ``_m_step``)."""
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
        resp_sum, means, scatter = self._expanded_moments(weighted)
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

    def _expanded_moments(self, weighted):
        """:meth:`_moments` before the cancelled components are recomputed.

        Row by row of ``weighted``: for the stacked responsibilities of
        several fits on these rows (:func:`steps_together`) as for one.
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
        return np.ascontiguousarray(resp_sum), means, scatter


def _normalised(joint, sample_weight):
    """Responsibilities and log-likelihood from joint log-probabilities.

    Parameters
    ----------
    joint : ndarray of shape (..., K, n)
        Log of weight times density; overwritten with the responsibilities
        (times the sample weights).
    sample_weight : ndarray of shape (n,) or None

    Returns
    -------
    weighted : ndarray of shape (..., K, n)
        ``joint`` itself.
    log_likelihood : float or ndarray of shape (...)
        The (weighted) total log-likelihood of each fit.
    """
    peak = joint.max(axis=-2, keepdims=True)
    joint -= peak
    np.exp(joint, out=joint)
    total = joint.sum(axis=-2, keepdims=True)
    joint /= total
    log_density = np.log(total)
    log_density += peak
    if sample_weight is not None:
        joint *= sample_weight
        log_density *= sample_weight
    return joint, log_density.sum(axis=(-2, -1))


def steps_together(leans, states):
    """One EM iteration of several lean fits of the same rows, computed together.

    Each fit's iteration is its own :meth:`LeanGaussianEM.step`: the same
    coefficients, posterior, moments and M-step, element by element. What is
    shared is every operation whose cost on small data is its call, not its
    arithmetic: the coefficients of all the fits' components are one
    :class:`~mixtura.families.gaussian_fused.PairForm`, their joint
    log-probabilities one product with the rows' features and one log-sum-exp,
    their moments one product of the stacked responsibilities with the same
    features, their factorisations one batched call per kind of structure, and
    their log weights one division. Only each model's own M-step rule runs
    per fit. On a few hundred rows this is most of an iteration's cost, so a
    model-selection grid steps the models of one K side by side
    (:mod:`mixtura.inference.lockstep`). The products' rows are each fit's
    and their sums run over the same rows in the same order, so each fit's
    numbers are those of its own step up to the BLAS's rounding of a taller
    product (the tests compare them).

    Parameters
    ----------
    leans : sequence of LeanGaussianEM
        Steps of fits with the same rows, weights, ``full_scatter`` and
        number of components (the same :meth:`LeanGaussianEM.batch_key`).
    states : sequence of LeanGaussianState or Mixture
        Each fit's parameters (a mixture on its first step).

    Returns
    -------
    outcomes : list
        Per fit, ``(new_state, mean_log_likelihood)`` as its ``step`` returns,
        or the :class:`~mixtura.exceptions.SingularCovarianceError` its M-step
        raised (with the ``lower_bound`` attribute that ``step`` sets).
    """
    first = leans[0]
    states = [
        state if isinstance(state, LeanGaussianState) else lean.state(state)
        for lean, state in zip(leans, states, strict=True)
    ]
    n_fits, n_components = len(leans), len(states[0].log_weights)
    joint = _joint_together(leans, states).reshape(n_fits, n_components, -1)
    weighted, log_likelihoods = _normalised(joint, first.sample_weight)
    weighted = weighted.reshape(n_fits * n_components, -1)
    resp_sum, means, scatter = first._expanded_moments(weighted)
    if _cancelled_components(first.structure, resp_sum, means, scatter, _EPS).size:
        for c, lean in enumerate(leans):  # each fit checks and redoes its own
            rows = slice(c * n_components, (c + 1) * n_components)
            recompute_cancelled(
                lean.structure,
                lean.X,
                weighted[rows].T,
                lean.reference,
                resp_sum[rows],
                means[rows],
                scatter[rows],
                _EPS,
                np,
            )
    bounds = [
        float(log_likelihood) / lean.total_weight
        for lean, log_likelihood in zip(leans, log_likelihoods, strict=True)
    ]
    parameters = {}  # fit -> (means, covariances) of its M-step rule
    outcomes = [None] * n_fits
    for c, (lean, state) in enumerate(zip(leans, states, strict=True)):
        rows = slice(c * n_components, (c + 1) * n_components)
        stats = MomentStats(resp_sum[rows], means[rows] + lean.reference, scatter[rows])
        try:
            parameters[c] = lean.template.maximized_parameters(stats, state.covariances)
        except SingularCovarianceError as error:
            error.lower_bound = bounds[c]
            outcomes[c] = error
    factors = _factors_together(leans, parameters, bounds, outcomes)
    counts = resp_sum.reshape(n_fits, n_components) + EMPTY_COMPONENT_GUARD
    log_weights = np.log(counts / counts.sum(axis=1, keepdims=True))
    for c, factor in factors.items():
        fit_means, covariances = parameters[c]
        state = LeanGaussianState(log_weights[c], fit_means, covariances, factor)
        outcomes[c] = (state, bounds[c])
    return outcomes


def _joint_together(leans, states):
    """Joint log-probabilities of every fit's components, stacked: (C K, n).

    One :class:`PairForm` of the stacked coefficients and one product with the
    rows' features; a fit whose means are too far from the reference for the
    expanded form gets its own explicit distances, as in its own step.
    """
    first = leans[0]
    n_features = first.X.shape[1]
    n_components = len(states[0].log_weights)
    precisions, log_normalisers = [], []
    for lean, state in zip(leans, states, strict=True):
        coefficients = lean._precision_coefficients(
            state.precisions_cholesky, n_components
        )
        if coefficients.shape[1:] == (1,) and n_features > 1:  # one variance
            coefficients = np.broadcast_to(coefficients, (n_components, n_features))
        precisions.append(coefficients)
        log_normalisers.append(lean._log_normalisers(state))
    means = np.concatenate([state.means for state in states]) - first.reference
    form = PairForm(
        np.concatenate(precisions),
        means,
        np.concatenate(log_normalisers),
        pairs=first.structure.full_scatter,
    )
    log_weights = np.concatenate([state.log_weights for state in states])
    joint = form.with_constant(log_weights, np.float64).T @ first.features
    farthest = form.offsets.reshape(len(leans), n_components).max(axis=1)
    for c, (lean, state) in enumerate(zip(leans, states, strict=True)):
        if not lean._expansion_holds(float(farthest[c])):
            rows = slice(c * n_components, (c + 1) * n_components)
            joint[rows] = lean._joint_from_distances(state)
    return joint


def _factors_together(leans, parameters, bounds, outcomes):
    """Precision factors of the fits' new covariances, one call per kind.

    Fits whose structures factor alike (the same ``precision_cholesky``, the
    same covariance shape) are factored in one batched call; a batch that
    fails is redone fit by fit, so that each collapse is its own fit's error
    (set in ``outcomes``, with its bound).

    Returns
    -------
    factors : dict of int -> ndarray
        The fits factored, by index.
    """
    kinds = {}
    for c, (_, covariances) in parameters.items():
        structure = leans[c].structure
        if _stacks_components(structure, covariances.shape[-1]):
            key = (type(structure).precision_cholesky, covariances.shape)
        else:  # one matrix for all components (tied): factored on its own
            key = ("alone", c)
        kinds.setdefault(key, []).append(c)
    factors = {}
    for fits in kinds.values():
        structure = leans[fits[0]].structure
        stacked = np.concatenate([parameters[c][1] for c in fits])
        try:
            batch = structure.precision_cholesky(stacked)
        except SingularCovarianceError:
            batch = None
        if batch is not None:
            size = len(batch) // len(fits)
            for i, c in enumerate(fits):
                factors[c] = batch[i * size : (i + 1) * size]
            continue
        for c in fits:
            try:
                factors[c] = leans[c].structure.precision_cholesky(parameters[c][1])
            except SingularCovarianceError as error:
                error.lower_bound = bounds[c]
                outcomes[c] = error
    return factors


def _stacks_components(structure, n_features):
    """Whether the structure's covariances have one entry per component on
    their first axis (so that several fits' can be stacked)."""
    return all(
        structure.shape(n_components, n_features)[:1] == (n_components,)
        for n_components in (2, 3)
    )
