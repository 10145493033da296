"""The Gaussian E-step: one kernel per family value and dtype, chosen once.

A Gaussian family's E-step on complete rows takes one of four forms, which
depend only on the family's parameters and on the data's dtype:

- ``pairs`` (:class:`PairKernel`): log densities and statistics in one pass
  over quadratic features (:class:`~mixtura.families.gaussian_fused.PairForm`),
  for diagonal structures and for full ones with enough components.
- ``tied`` (:class:`TiedKernel`): rows whitened once for all the components
  of a shared covariance, and its pooled scatter
  (:class:`~mixtura.families.gaussian_fused.TiedForm`).
- ``widened`` (:class:`WidenedKernel`): float32 rows whose means lie too far
  from the reference point for float32's fast forms but not for float64's,
  widened to float64 one chunk at a time and handed to the float64 kernel.
- ``composed`` (:class:`GaussianEStepKernel`): log densities (expanded, or
  from explicit deviations where the expanded form would cancel digits),
  then the statistics; for every other case (other array namespaces, full
  matrices with few components, means beyond every fast form's reach), and
  the mixture composes it from the family's ``log_prob`` and ``statistics``.

:class:`GaussianKernels` holds what a family value derives for its E-step
(reference point, log normalisers, the farthest mean's offset, the precisions
of rows with holes) and chooses each dtype's kernel on first use; the family
keeps no caches of its own. Dependencies run one way: ``gaussian`` uses this
module, which uses the family-agnostic products of
:mod:`~mixtura.families.gaussian_fused`; neither calls back into the family.
This is also where a kernel of another array library (e.g. PyTorch) would be
chosen.
"""

from __future__ import annotations

import math

import numpy as np

from mixtura.backend import (
    LOG_2PI,
    get_namespace,
    posterior_in_place,
    to_namespace,
    to_numpy,
)
from mixtura.families.gaussian_fused import (
    SUM_BLOCK_ROWS,
    PairForm,
    TiedForm,
    centred_rows,
    fused_group_sums,
    fused_pairs_pay_off,
    posterior_sums,
    quadratic_moments,
    split_sums,
    tied_group_sums,
)
from mixtura.families.gaussian_missing import ComponentPrecisions
from mixtura.stats import MomentStats

__all__ = [
    "GaussianEStepKernel",
    "GaussianKernels",
    "PairKernel",
    "TiedKernel",
    "WidenedKernel",
    "assemble_moments",
    "cancellation_limit",
    "expanded_form_error",
    "log_density_error",
    "recompute_cancelled",
    "weighted_statistics",
]

# The fast forms expand squares about the reference point r (the mean of the
# component means), (x - m)^2 = x^2 - 2xm + m^2, and add the products in the data's
# dtype. Their rounding errors, for any order a BLAS kernel adds in (bounds of
# the random-rounding model, lambda sqrt(n) eps / 2 times the sum of |terms|,
# Higham & Mary 2019, SIAM J. Sci. Comput. 41, A2815, with lambda = 2):
#
# - M-step: the raw moments are summed over at most B = SUM_BLOCK_ROWS rows in
#   the data's dtype (float64 beyond), and n m^2 subtracted afterwards, so a
#   component's scatter S = n var carries a relative error of at most
#       expanded_form_error = 2 sqrt(B) eps (1 + rho),
#       rho = max_j (m_j - r_j)^2 / var_j
#   (its mean's squared offset from r, per feature, in its standard deviations;
#   the summands total n var (1 + rho); one such error for the sums of squares
#   and one for the subtracted mean).
# - E-step: a log density is one sum of the n_terms pair features times their
#   coefficients, whose absolute values add up to about (d + rho_M) / 2 (rho_M
#   the farthest mean's squared Mahalanobis distance from r), so its absolute
#   error is at most log_density_error = sqrt(n_terms) eps (d + rho_M) nats.
#
# Each fast form is used while its bound stays under the dtype's limit,
# cancellation_limit(eps) (a relative error of the scatter, an absolute error in
# nats): 1e-2 for float32, which keeps its fast forms (and its speed) for means
# within about 25 standard deviations of r per feature (rho <= 650) and up to
# 1e3-1e4 squared Mahalanobis units (d = 16 to 2); 1e-6 for float64, i.e. means
# within ~6e3 standard deviations. The bounds are those of random rounding; data
# whose rows nearly repeat far from r (rho ~ 1e11) round alike and were seen to
# exceed them by 2x, which the limits leave room for. Beyond, float32 chunks are
# widened to float64 for the same fast forms, and components whose scatter may
# still have cancelled are recomputed from explicit deviations in float64, which
# cannot cancel: exact to float64 rounding of the data (float32 variances stay
# positive).
_CANCELLATION_LIMITS = {"float32": 1e-2, "float64": 1e-6}

_FLOAT32_EPS = float(np.finfo(np.float32).eps)
_FLOAT64_EPS = float(np.finfo(np.float64).eps)


def cancellation_limit(eps):
    """The largest bounded error the fast forms may carry, for a dtype's eps.

    Parameters
    ----------
    eps : float
        Machine epsilon of the data's dtype.

    Returns
    -------
    limit : float
        1e-2 for float32 (and narrower), 1e-6 for float64.
    """
    if eps >= np.finfo(np.float32).eps:
        return _CANCELLATION_LIMITS["float32"]
    return _CANCELLATION_LIMITS["float64"]


def expanded_form_error(ratio, eps):
    """Bound on the relative error of an expanded scatter (see above).

    Parameters
    ----------
    ratio : float or ndarray
        ``rho``, squared offset of a mean from the reference point over the
        variance (per feature).
    eps : float
        Machine epsilon of the dtype the products are added in.

    Returns
    -------
    bound : float or ndarray
    """
    return 2.0 * np.sqrt(SUM_BLOCK_ROWS) * eps * (1.0 + ratio)


def log_density_error(mahalanobis, n_features, eps):
    """Bound on the absolute error (nats) of an expanded log density (see above).

    Parameters
    ----------
    mahalanobis : float
        Squared Mahalanobis distance of the farthest mean from the reference.
    n_features : int
    eps : float

    Returns
    -------
    bound : float
    """
    n_terms = n_features * (n_features + 1) // 2 + n_features + 1
    return math.sqrt(n_terms) * eps * (n_features + float(mahalanobis))


def _cancels(ratio, eps):
    """Whether an expanded scatter of relative size ``ratio`` loses too much."""
    return expanded_form_error(ratio, eps) > cancellation_limit(eps)


# -- moments about a reference point --------------------------------------------
def _expanded_scatter(second, means, resp_sum):
    """Scatter about the means from raw second moments: ``S - n_k m m^T``.

    Parameters
    ----------
    second : ndarray of shape (K, d, d) or (K, d)
        ``sum_i r_ik x_i x_i^T`` (or its diagonal), float64.
    means : ndarray of shape (K, d), float64
    resp_sum : ndarray of shape (K,), float64

    Returns
    -------
    scatter : ndarray of the shape of ``second``
    """
    if second.ndim == 3:
        return second - resp_sum[:, None, None] * (
            means[:, :, None] * means[:, None, :]
        )
    return second - resp_sum[:, None] * (means * means)


def _cancelled_components(structure, resp_sum, means, scatter, eps):
    """Components whose fast scatter lost too many digits to cancellation.

    Parameters
    ----------
    structure : CovarianceStructure
    resp_sum : ndarray of shape (K,)
    means : ndarray of shape (K, d)
        Means about the reference point.
    scatter : ndarray of shape (K, d, d) or (K, d)
    eps : float
        Machine epsilon of the dtype the moments were summed in.

    Returns
    -------
    components : ndarray of int
    """
    # expanded_form_error(rho) > limit is rho > largest_ratio, for
    # rho = mean^2 / (scatter / n_k); multiplied out, no division, and one
    # test of the whole array first (the EM loop on small data calls this every
    # iteration, where each NumPy call's overhead counts). A variance that is
    # not positive (or NaN) has lost everything: it counts as cancelled.
    largest_ratio = _LARGEST_SAFE_RATIO.get(eps)
    if largest_ratio is None:
        largest_ratio = cancellation_limit(eps) / expanded_form_error(0.0, eps) - 1.0
        _LARGEST_SAFE_RATIO[eps] = largest_ratio
    diagonal = structure.scatter_variances(scatter)
    lost = means * means
    lost *= resp_sum[:, None]
    # "not below": also true where the variance is 0, negative or NaN
    lost = ~(lost < largest_ratio * diagonal)
    if not lost.any():
        return _NO_COMPONENTS
    return np.flatnonzero((resp_sum > 0) & lost.any(axis=1))


_LARGEST_SAFE_RATIO = {}
_NO_COMPONENTS = np.empty(0, dtype=np.intp)
_NO_COMPONENTS.flags.writeable = False


def recompute_cancelled(
    structure, X, weighted, reference, resp_sum, means, scatter, eps, xp=None
):
    """Redo, from explicit float64 deviations, the components that cancelled.

    Parameters
    ----------
    structure, X, weighted, reference
        As for :func:`assemble_moments`.
    resp_sum : ndarray of shape (K,), float64
    means : ndarray of shape (K, d), float64
        Fast-form means about ``reference``; cancelled rows replaced in place.
    scatter : ndarray of shape (K, d, d) or (K, d), float64
        Fast-form scatter; cancelled components replaced in place.
    eps : float
        Machine epsilon of the dtype the fast form's products were added in.
    xp : namespace, optional
        Of ``X`` and ``weighted`` (looked up when not given).
    """
    if xp is None:
        xp = get_namespace(X, weighted)
    cancelled = _cancelled_components(structure, resp_sum, means, scatter, eps)
    if not cancelled.size:
        return
    X_wide = xp.astype(X, xp.float64)
    weighted_wide = xp.astype(weighted, xp.float64)
    for k in cancelled:
        means[k], scatter[k] = _centred_moments(
            structure,
            X_wide,
            weighted_wide[:, k],
            means[k] + reference,
            resp_sum[k],
            xp,
        )
        means[k] -= reference


def _centred_moments(structure, X, weights, mean, resp_sum, xp):
    """Mean and scatter of one component from explicit deviations, float64.

    ``mean`` is the fast form's estimate; the deviations' own weighted mean
    corrects it (a second pass, as in two-pass variance algorithms). Done in
    float64 from the rows themselves, so neither float32 sums (whose order
    each BLAS kernel picks) nor float32 centring can lose digits here.

    Parameters
    ----------
    structure : CovarianceStructure
    X : array of shape (n_samples, n_features), float64
    weights : array of shape (n_samples,), float64
    mean : ndarray of shape (n_features,)
        Estimate of the component's mean, in X's coordinates.
    resp_sum : float
    xp : namespace

    Returns
    -------
    mean, scatter : ndarray of shape (n_features,) and the structure's
        per-component scatter shape, float64
    """
    deviations = X - to_namespace(mean, X)
    shift = xp.matmul(weights[None, :], deviations)[0, :] / resp_sum
    scatter = structure.deviation_scatter(deviations, weights, xp)
    # scatter about the corrected mean = scatter about the estimate - n shift^2
    correction = structure.deviation_scatter(
        shift[None, :], xp.asarray([resp_sum], dtype=X.dtype), xp
    )
    return (
        mean + to_numpy(shift).astype(np.float64),
        to_numpy(scatter - correction).astype(np.float64),
    )


def assemble_moments(
    structure,
    X,
    weighted,
    reference,
    centred=None,
    second=None,
    first=None,
    resp_sum=None,
):
    """Moments of rows about a reference point, given their raw moments.

    ``centred`` (``X - reference`` in X's dtype), ``second``, ``first`` and
    ``resp_sum`` (``sum_i r_ik x_i x_i^T``, ``sum_i r_ik x_i`` and
    ``sum_i r_ik`` of the centred rows) are computed here when not given.
    Components whose fast (expanded) scatter may have cancelled digits are
    recomputed from explicit deviations of ``X`` in float64.

    Parameters
    ----------
    structure : CovarianceStructure
    X : array of shape (n_samples, n_features)
        Complete rows.
    weighted : array of shape (n_samples, n_components)
        Responsibilities times sample weights.
    reference : ndarray of shape (n_features,)
    centred : array of shape (n_samples, n_features), optional
    second : ndarray of shape (K, d, d) or (K, d), optional
    first : ndarray of shape (K, d), optional
    resp_sum : ndarray of shape (K,), optional

    Returns
    -------
    stats : MomentStats
    """
    xp = get_namespace(X, weighted)
    if centred is None:
        centred = X - to_namespace(reference, X)
    if resp_sum is None:
        resp_sum = xp.sum(weighted, axis=0)
    safe = xp.where(resp_sum > 0, resp_sum, xp.ones_like(resp_sum))
    if first is None:
        first = xp.matmul(xp.permute_dims(weighted, (1, 0)), centred)
    else:
        safe = to_numpy(safe).astype(np.float64, copy=False)
    means = first / safe[:, None]
    if second is None:
        scatter = structure.scatter(centred, weighted, means, xp)
    else:
        scatter = _expanded_scatter(
            second,
            to_numpy(means).astype(np.float64, copy=False),
            to_numpy(resp_sum).astype(np.float64, copy=False),
        )
    resp_sum, means, scatter = (
        to_numpy(resp_sum).astype(np.float64, copy=False),
        to_numpy(means).astype(np.float64, copy=False),
        to_numpy(scatter).astype(np.float64, copy=False),
    )
    eps = xp.finfo(centred.dtype).eps
    recompute_cancelled(
        structure, X, weighted, reference, resp_sum, means, scatter, eps, xp
    )
    return MomentStats(resp_sum, means + reference, scatter)


def weighted_statistics(structure, X, weighted, reference):
    """Statistics of complete rows for given (weighted) responsibilities.

    Through the quadratic features of
    :func:`~mixtura.families.gaussian_fused.quadratic_moments` for NumPy rows
    where they pay off, else from the centred rows; see
    :func:`assemble_moments`.

    Parameters
    ----------
    structure : CovarianceStructure
    X : array of shape (n_samples, n_features)
    weighted : array of shape (n_samples, n_components)
        Responsibilities times sample weights.
    reference : ndarray of shape (n_features,)
        The point the moments are taken about (a family's reference point, or
        the data's mean for a template).

    Returns
    -------
    stats : MomentStats
    """
    if isinstance(X, np.ndarray) and (
        not structure.full_scatter or fused_pairs_pay_off(weighted.shape[1], X.shape[1])
    ):
        centred, resp_sum, second, first = quadratic_moments(
            X, reference, weighted, structure.full_scatter
        )
        return assemble_moments(
            structure, X, weighted, reference, centred, second, first, resp_sum
        )
    return assemble_moments(structure, X, weighted, reference)


# -- the kernels ------------------------------------------------------------------
class GaussianKernels:
    """What a Gaussian family value derives for its E-step, and its kernels.

    Made once per family value (the M-step returns a new family), so nothing
    here goes stale. The kernel of each kind of array and dtype is chosen on
    first use and kept (:meth:`kernel`).

    Parameters
    ----------
    structure : CovarianceStructure
    means : ndarray of shape (n_components, n_features), float64
    precisions_cholesky : ndarray in the structure's shape, float64
    covariances : ndarray in the structure's shape, float64

    Attributes
    ----------
    reference : ndarray of shape (n_features,)
        The point data are centred on: the mean of the component means, which
        keeps float32 accurate for data far from the origin.
    centred_means : ndarray of shape (n_components, n_features)
        ``means - reference``.
    log_det : ndarray or float
        ``log det U_k`` of the precision factors, in the structure's shape.
    log_normalisers : ndarray of shape (n_components,)
        ``log det U_k - d/2 log 2 pi``.
    mean_offset : float
        Squared whitened distance of the farthest mean from ``reference``.
    """

    def __init__(self, structure, means, precisions_cholesky, covariances):
        self.structure = structure
        self.means = means
        self.precisions_cholesky = precisions_cholesky
        self.covariances = covariances
        n_components, n_features = means.shape
        self.log_det = structure.log_det_cholesky(precisions_cholesky, n_features)
        self.log_normalisers = np.broadcast_to(
            self.log_det - 0.5 * n_features * LOG_2PI, (n_components,)
        )
        self.reference = means.mean(axis=0)
        self.centred_means = means - self.reference
        self.mean_offset = float(
            np.max(
                structure.squared_mahalanobis(
                    np.zeros((1, n_features)),
                    self.centred_means,
                    precisions_cholesky,
                    np,
                )
            )
        )
        # (is NumPy, dtype) -> kernel; chunk threads may race to choose one,
        # with equal results
        self._kernels = {}
        self._missing = None

    @property
    def n_components(self):
        return self.means.shape[0]

    @property
    def n_features(self):
        return self.means.shape[1]

    def kernel(self, X):
        """The kernel for rows like ``X`` (its kind of array and dtype).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Any rows of the dtype (only the type and dtype are read).

        Returns
        -------
        kernel : GaussianEStepKernel
        """
        numpy_rows = isinstance(X, np.ndarray)
        kernel = self._kernels.get((numpy_rows, X.dtype))
        if kernel is None:
            eps = float(get_namespace(X).finfo(X.dtype).eps)
            kernel = self._choose(numpy_rows, X.dtype, eps)
        return kernel

    def _choose(self, numpy_rows, dtype, eps):
        """Choose (and keep) the kernel of one kind of array and dtype."""
        key = (numpy_rows, dtype)
        if key not in self._kernels:
            self._kernels[key] = self._new_kernel(numpy_rows, dtype, eps)
        return self._kernels[key]

    def _new_kernel(self, numpy_rows, dtype, eps):
        structure = self.structure
        if not numpy_rows or dtype not in (np.float32, np.float64):
            return GaussianEStepKernel(self, dtype, eps)
        if dtype == np.float32 and self.beyond_float32():
            # issue 19: float32 rows near 1e-20 with reg_covar=0 have
            # precisions beyond float32's range; every cast overflowed
            wide = self._choose(True, np.dtype(np.float64), _FLOAT64_EPS)
            return BeyondFloat32Kernel(self, dtype, eps, wide)
        if not self.e_step_cancels(eps):
            if structure.shared_matrix:
                return TiedKernel(self, dtype, eps)
            if not structure.full_scatter or fused_pairs_pay_off(
                self.n_components, self.n_features
            ):
                return PairKernel(self, dtype, eps)
            return GaussianEStepKernel(self, dtype, eps)
        if dtype == np.float32 and not self.e_step_cancels(_FLOAT64_EPS):
            # float64's fast forms keep their digits where float32's do not:
            # accurate at float64's speed (see expanded_form_error)
            wide = self._choose(True, np.dtype(np.float64), _FLOAT64_EPS)
            if wide.form != "composed":
                return WidenedKernel(self, dtype, eps, wide)
        return GaussianEStepKernel(self, dtype, eps)

    def beyond_float32(self):
        """Whether a precision factor or log-determinant overflows float32.

        Casting the E-step's coefficients to float32 would then give
        infinities; such rows are computed in float64 instead
        (:class:`BeyondFloat32Kernel`).

        Returns
        -------
        beyond : bool
        """
        limit = float(np.finfo(np.float32).max) ** 0.5  # their squares enter too
        factors = np.abs(self.precisions_cholesky)
        return bool(factors.max(initial=0.0) > limit or not np.isfinite(factors).all())

    def e_step_cancels(self, eps):
        """Whether the expanded log densities would lose too much (see above).

        Parameters
        ----------
        eps : float
            Machine epsilon of the data's dtype.

        Returns
        -------
        cancels : bool
        """
        bound = log_density_error(self.mean_offset, self.n_features, eps)
        return bound > cancellation_limit(eps)

    def missing_precisions(self):
        """Full precisions for rows with holes, built on first use.

        Only data with missing entries need them (a Cholesky factorisation and
        an inverse per component); chunk threads may race to build them, with
        equal results.

        Returns
        -------
        precisions : ComponentPrecisions
        """
        if self._missing is None:
            self._missing = ComponentPrecisions(
                self.means,
                self.structure.matrices(
                    self.covariances, self.n_components, self.n_features
                ),
            )
        return self._missing


class GaussianEStepKernel:
    """The composed E-step of a family value in one dtype (and the base kernel).

    Log densities of complete rows in their namespace and dtype, expanded
    (:meth:`~mixtura.families.covariance.CovarianceStructure.squared_mahalanobis`)
    or, where that would cancel digits, from explicit deviations
    (``squared_mahalanobis_centred``); no fused step, so the mixture composes
    :meth:`log_prob`, the posterior and the statistics.

    Parameters
    ----------
    parameters : GaussianKernels
        The family value's derived quantities.
    dtype : dtype
        The data's dtype.
    eps : float
        Its machine epsilon.

    Attributes
    ----------
    form : str
        ``'composed'``, ``'pairs'``, ``'tied'`` or ``'widened'``.
    centred : bool
        Whether :meth:`log_prob` uses explicit deviations.
    """

    form = "composed"

    def __init__(self, parameters, dtype, eps):
        self.parameters = parameters
        self.dtype = dtype
        self.eps = eps
        self.centred = parameters.e_step_cancels(eps)

    def log_prob(self, X):
        """Log density of complete rows under each component.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Rows without missing entries, of this kernel's dtype.

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
        """
        constant = to_namespace(self.parameters.log_normalisers, X)
        return constant[None, :] - 0.5 * self.squared_mahalanobis(X)

    def squared_mahalanobis(self, X):
        """``(x_i - mu_k)^T P_k (x_i - mu_k)`` of complete rows, every component.

        Expanded, or from explicit deviations where the expanded form would
        cancel digits in the dtype; the core of :meth:`log_prob`, and of
        families built on Gaussian quadratic forms (e.g. the Student-t,
        :mod:`mixtura.families.student`).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Rows without missing entries, of this kernel's dtype.

        Returns
        -------
        distances : array of shape (n_samples, n_components)
        """
        parameters = self.parameters
        structure = parameters.structure
        distance = (
            structure.squared_mahalanobis_centred
            if self.centred
            else structure.squared_mahalanobis
        )
        return distance(
            X - to_namespace(parameters.reference, X),
            to_namespace(parameters.centred_means, X),
            to_namespace(parameters.precisions_cholesky, X),
            get_namespace(X),
        )

    def step(self, X, log_weights, sample_weight):
        """E-step and statistics of one complete NumPy chunk, fused; or None.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Rows without missing entries, of this kernel's dtype.
        log_weights : ndarray of shape (n_components,)
            Log mixing weights (unnormalised ones are fine).
        sample_weight : ndarray of shape (n_samples,) or None

        Returns
        -------
        result : tuple (MomentStats, float) or None
            The statistics and ``sum_i w_i log p(x_i)``; None where this
            form has no fused step (the mixture then composes it).
        """
        return None

    def group_step(self, chunks, log_weights):
        """E-step and statistics of consecutive chunks, moments assembled once.

        Parameters
        ----------
        chunks : iterable of (ndarray of shape (rows, n_features), weights or None)
            Complete NumPy chunks of this kernel's dtype.
        log_weights : ndarray of shape (n_components,)

        Returns
        -------
        result : tuple (MomentStats, float) or None
            The statistics and ``sum_i w_i log p(x_i)`` of all the chunks;
            None where the form has no group step or the group's expanded
            scatter cancelled digits (the mixture then goes chunk by chunk).
        """
        return None

    def composed_step(self, X, log_weights, sample_weight):
        """E-step and statistics of complete NumPy rows, one after the other.

        Parameters and results as :meth:`step` (never None).
        """
        joint_t = np.array(self.log_prob(X).T, dtype=np.float64)
        joint_t += log_weights[:, None]
        log_density = posterior_in_place(joint_t)
        weighted = joint_t.T
        if sample_weight is not None:
            weighted = weighted * sample_weight[:, None]
        stats = weighted_statistics(
            self.parameters.structure, X, weighted, self.parameters.reference
        )
        if sample_weight is not None:
            log_density = log_density * sample_weight
        return stats, float(log_density.sum())


class PairKernel(GaussianEStepKernel):
    """Log densities and statistics in one pass over quadratic features.

    See :class:`~mixtura.families.gaussian_fused.PairForm`: pairwise products
    for full matrices, squares for diagonal ones. Chosen where the expanded
    log densities keep their digits in the dtype.

    Parameters
    ----------
    parameters : GaussianKernels
    dtype : dtype
        float32 or float64.
    eps : float

    Attributes
    ----------
    pair_form : PairForm
        The components' coefficients on the quadratic features.
    """

    form = "pairs"

    def __init__(self, parameters, dtype, eps):
        super().__init__(parameters, dtype, eps)
        structure = parameters.structure
        precisions = structure.matrices(
            structure.precisions(parameters.precisions_cholesky),
            parameters.n_components,
            parameters.n_features,
        )
        self.pair_form = PairForm(
            np.asarray(precisions),
            parameters.centred_means,
            parameters.log_normalisers,
            pairs=structure.full_scatter,
        )

    def step(self, X, log_weights, sample_weight):
        """One pass over the chunk's quadratic features; see the base class."""
        parameters, form = self.parameters, self.pair_form
        n_features = X.shape[1]
        coefficients = form.with_constant(log_weights, X.dtype)
        features, joint_t, sums, log_likelihood = posterior_sums(
            coefficients, X, parameters.reference, form.pairs, sample_weight
        )
        resp_sum, second, first = split_sums(sums, n_features, form.pairs)
        # the accurate assembly rechecks each component for cancellation
        stats = assemble_moments(
            parameters.structure,
            X,
            joint_t.T,
            parameters.reference,
            centred_rows(features, n_features),
            second,
            first,
            resp_sum,
        )
        return stats, log_likelihood

    def group_step(self, chunks, log_weights):
        """The chunks' feature sums, assembled once; see the base class."""
        # the chunks' raw moments about the reference point are summed in
        # float64 and turned into centred statistics once for the group; a
        # component that cancelled sends the group back chunk by chunk, whose
        # assembly recomputes it from explicit deviations
        parameters, form = self.parameters, self.pair_form
        sums, log_likelihood = fused_group_sums(
            form, chunks, parameters.reference, log_weights
        )
        resp_sum, second, first = split_sums(sums, parameters.n_features, form.pairs)
        safe = np.where(resp_sum > 0, resp_sum, 1.0)
        means = first / safe[:, None]
        scatter = _expanded_scatter(second, means, resp_sum)
        if _cancelled_components(
            parameters.structure, resp_sum, means, scatter, self.eps
        ).size:
            return None
        stats = MomentStats(resp_sum, means + parameters.reference, scatter)
        return stats, log_likelihood


class TiedKernel(GaussianEStepKernel):
    """A shared covariance's E-step on rows whitened once, and pooled scatter.

    See :class:`~mixtura.families.gaussian_fused.TiedForm`. Its statistics
    are pooled (:class:`~mixtura.stats.MomentStats` with ``pooled=True``).

    Parameters
    ----------
    parameters : GaussianKernels
    dtype : dtype
        float32 or float64.
    eps : float

    Attributes
    ----------
    tied_form : TiedForm
    """

    form = "tied"

    def __init__(self, parameters, dtype, eps):
        super().__init__(parameters, dtype, eps)
        self.tied_form = TiedForm(
            parameters.precisions_cholesky,
            parameters.centred_means,
            float(parameters.log_det) - 0.5 * parameters.n_features * LOG_2PI,
        )

    def step(self, X, log_weights, sample_weight):
        """The chunk as a group of one; see the base class."""
        return self.group_step([(X, sample_weight)], log_weights)

    def group_step(self, chunks, log_weights):
        """Whitened rows' sums and the pooled scatter; see the base class."""
        # None when the expanded pooled scatter would cancel digits: the
        # mixture then composes log_prob and statistics (explicit deviations)
        parameters = self.parameters
        first, second, log_likelihood = tied_group_sums(
            self.tied_form, chunks, parameters.reference, log_weights
        )
        d = parameters.n_features
        resp_sum = first[:, d]
        means = first[:, :d] / np.where(resp_sum > 0, resp_sum, 1.0)[:, None]
        pooled = second - np.einsum("k,ki,kj->ij", resp_sum, means, means)
        variances = np.diagonal(pooled) / max(float(resp_sum.sum()), 1e-300)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(variances > 0, means**2 / variances, np.inf)
        used = resp_sum > 0
        if used.any() and _cancels(ratio[used].max(), self.eps):
            return None
        stats = MomentStats(resp_sum, means + parameters.reference, pooled[None], True)
        return stats, log_likelihood


class WidenedKernel(GaussianEStepKernel):
    """Float32 rows too far off for float32's fast forms, run in float64.

    Log densities stay float32 from explicit deviations (the inherited
    :meth:`log_prob`); the fused steps widen each chunk to float64 and hand
    it to the float64 kernel, whose fast forms keep their digits there.

    Parameters
    ----------
    parameters : GaussianKernels
    dtype : dtype
        float32.
    eps : float
    wide : GaussianEStepKernel
        The family value's float64 kernel (pairs or tied).
    """

    form = "widened"

    def __init__(self, parameters, dtype, eps, wide):
        super().__init__(parameters, dtype, eps)
        self.wide = wide

    def step(self, X, log_weights, sample_weight):
        """The float64 kernel's step on the widened chunk; see the base class."""
        return self.wide.step(X.astype(np.float64), log_weights, sample_weight)

    def group_step(self, chunks, log_weights):
        """The float64 kernel's group step, one chunk widened at a time."""
        return self.wide.group_step(_widened(chunks), log_weights)


class BeyondFloat32Kernel(WidenedKernel):
    """Float32 rows under parameters beyond float32's range, run in float64.

    Every computation widens the rows to float64 and hands them to the float64
    kernel; log densities and distances come back as float32 (they are of
    ordinary size: the huge precisions multiply tiny deviations).

    Parameters
    ----------
    parameters : GaussianKernels
    dtype : dtype
        float32.
    eps : float
    wide : GaussianEStepKernel
        The family value's float64 kernel.
    """

    form = "beyond-float32"

    def log_prob(self, X):
        """The float64 kernel's log densities of the widened rows, as float32."""
        return self.wide.log_prob(X.astype(np.float64)).astype(np.float32)

    def squared_mahalanobis(self, X):
        """The float64 kernel's distances of the widened rows, as float32."""
        distances = self.wide.squared_mahalanobis(X.astype(np.float64))
        with np.errstate(over="ignore"):  # a distance beyond float32 is inf
            return distances.astype(np.float32)

    def composed_step(self, X, log_weights, sample_weight):
        """The float64 kernel's composed step on the widened rows."""
        return self.wide.composed_step(X.astype(np.float64), log_weights, sample_weight)


def _widened(chunks):
    """Chunks of (rows, weights) as float64 rows, one widened at a time."""
    for X, sample_weight in chunks:
        yield X.astype(np.float64), sample_weight
