"""The multivariate Gaussian family with a pluggable covariance structure."""

from __future__ import annotations

import numpy as np

from mixtura.backend import (
    LOG_2PI,
    get_namespace,
    posterior_in_place,
    to_namespace,
    to_numpy,
)
from mixtura.exceptions import ModelFileError
from mixtura.families.base import Family
from mixtura.families.covariance import get_covariance_structure
from mixtura.families.gaussian_fused import (
    SUM_BLOCK_ROWS,
    PairForm,
    TiedForm,
    fused_e_step,
    fused_group_sums,
    fused_pairs_pay_off,
    quadratic_moments,
    split_sums,
    tied_group_sums,
)
from mixtura.families.gaussian_missing import ComponentPrecisions, IncompleteRows
from mixtura.priors.mclust import get_prior_rule
from mixtura.priors.normal_wishart import NormalWishart
from mixtura.stats import MomentStats

__all__ = ["Gaussian"]

# Added to each component's weighted count in the M-step (as scikit-learn does), so
# that an empty component gets a finite mean and the regularised covariance.
_EMPTY_COMPONENT_GUARD = 10 * np.finfo(np.float64).eps

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
    return float(np.sqrt(n_terms) * eps * (n_features + mahalanobis))


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


def _incomplete_rows(X):
    """Mask of rows holding NaN, or None when there are none (or X is not NumPy)."""
    if not isinstance(X, np.ndarray):
        return None
    # a NaN makes the total NaN: no (n, d) mask for complete data
    if not np.isnan(X.sum(dtype=np.float64)):
        return None
    # ... and its row's sum: a matrix-vector product, 7x faster than reducing a
    # mask along the short axis (a row whose NaN sum comes from +inf and -inf
    # takes the missing-data path, as harmless as inf anywhere)
    rows = np.isnan(X @ np.ones(X.shape[1], dtype=X.dtype))
    return rows if rows.any() else None


def _cancels(ratio, eps):
    """Whether an expanded scatter of relative size ``ratio`` loses too much."""
    return expanded_form_error(ratio, eps) > cancellation_limit(eps)


class _WidenedChunks:
    """Chunks of (rows, weights) handed out as float64 rows, one at a time."""

    def __init__(self, chunks):
        self._chunks = chunks
        self.first = chunks[0][0].astype(np.float64)

    def __iter__(self):
        for index, (X, sample_weight) in enumerate(self._chunks):
            rows = self.first if index == 0 else X.astype(np.float64)
            yield rows, sample_weight


class Gaussian(Family):
    """Multivariate normal components N(mean_k, covariance_k).

    Parameters
    ----------
    covariance_type : {'full', 'tied', 'diag', 'spherical'} or CovarianceStructure
        How covariances are shaped and shared.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every estimated covariance.
    means : array-like of shape (n_components, n_features), optional
        Component means; omitted for a template (configuration without parameters).
    covariances : array-like, optional
        Covariances in the structure's shape (see :mod:`mixtura.families.covariance`).
    precisions_cholesky : array-like, optional
        Upper-triangular precision Cholesky factors in the structure's shape. Given
        alone, the covariances are derived from them; given with ``covariances``,
        both are trusted as consistent.
    prior : MclustPrior, optional
        A checked conjugate prior (Fraley & Raftery 2007): :meth:`maximize` then
        gives MAP estimates, see :mod:`mixtura.priors.mclust`. None:
        maximum likelihood.

    Notes
    -----
    Derived quantities (precision factors, their log-determinants, the reference
    point) are computed once at construction, so the E-step never recomputes them.
    Data are centred on a reference point (the average of the component means)
    before the quadratic forms, which keeps float32 accurate for data far from the
    origin.
    """

    name = "gaussian"
    supports_missing = True

    #: Normal-Wishart on the means and precisions, for variational Bayes
    #: (:mod:`mixtura.priors.normal_wishart`; full, tied, diag, spherical)
    conjugate_prior = NormalWishart

    def default_prior(self, X):
        """scikit-learn's Normal-Wishart: m the column means, beta 1, nu d.

        See :meth:`Family.default_prior` and
        :meth:`~mixtura.priors.normal_wishart.NormalWishart.default`.
        """
        return NormalWishart.default(self.structure, X, self.reg_covar)

    def __init__(
        self,
        covariance_type="full",
        reg_covar=1e-6,
        *,
        means=None,
        covariances=None,
        precisions_cholesky=None,
        prior=None,
    ):
        self.structure = get_covariance_structure(covariance_type)
        self.reg_covar = float(reg_covar)
        self.prior = prior
        if prior is not None:
            get_prior_rule(self.structure)
        self.means = None
        self.covariances = None
        self.precisions_cholesky = None
        if means is None:
            return
        self.means = np.asarray(means, dtype=np.float64)
        if self.means.ndim != 2:
            raise ValueError(
                "means must have shape (n_components, n_features); got shape "
                f"{self.means.shape}"
            )
        if precisions_cholesky is None and covariances is None:
            raise ValueError(
                "a Gaussian family with means needs covariances (or "
                "precisions_cholesky) too; pass both, or neither for a template "
                "to fit"
            )
        expected = self.structure.shape(*self.means.shape)
        for name, value in (
            ("covariances", covariances),
            ("precisions_cholesky", precisions_cholesky),
        ):
            if value is not None and np.shape(value) != tuple(expected):
                raise ValueError(
                    f"{name} must have shape {tuple(expected)} for "
                    f"{self.means.shape[0]} components, {self.means.shape[1]} "
                    f"features and the {covariance_type!r} structure; got "
                    f"{np.shape(value)}"
                )
        if precisions_cholesky is None:
            self.covariances = np.asarray(covariances, dtype=np.float64)
            self.precisions_cholesky = self.structure.precision_cholesky(
                self.covariances
            )
        else:
            self.precisions_cholesky = np.asarray(precisions_cholesky, dtype=np.float64)
            self.covariances = (
                self.structure.covariances_from_precision_cholesky(
                    self.precisions_cholesky
                )
                if covariances is None
                else np.asarray(covariances, dtype=np.float64)
            )
        self._log_det = self.structure.log_det_cholesky(
            self.precisions_cholesky, self.n_features
        )
        self._reference = self.means.mean(axis=0)
        # squared whitened distance of the farthest mean from the reference point
        self._mean_offset = float(
            np.max(
                self.structure.squared_mahalanobis(
                    np.zeros((1, self.n_features)),
                    self.means - self._reference,
                    self.precisions_cholesky,
                    np,
                )
            )
        )

    @classmethod
    def from_precisions(
        cls, covariance_type, means, precisions, reg_covar=1e-6, prior=None
    ):
        """A Gaussian family from means and precision matrices.

        Parameters
        ----------
        covariance_type : str
        means : array-like of shape (n_components, n_features)
        precisions : array-like
            Precisions in the structure's shape.
        reg_covar : float
        prior : MclustPrior, optional
            Conjugate prior of later M-steps.
        """
        structure = get_covariance_structure(covariance_type)
        factors = structure.precision_cholesky_from_precisions(
            np.asarray(precisions, dtype=np.float64)
        )
        return cls(
            structure, reg_covar, means=means, precisions_cholesky=factors, prior=prior
        )

    # -- shape ------------------------------------------------------------------
    @property
    def covariance_type(self):
        """Name of the covariance structure."""
        return self.structure.name

    @property
    def n_components(self):
        return self.means.shape[0]

    @property
    def n_features(self):
        return self.means.shape[1]

    @property
    def precisions(self):
        """Precision matrices, in the structure's shape."""
        return self.structure.precisions(self.precisions_cholesky)

    def _require_parameters(self):
        if self.means is None:
            raise ValueError(
                "this Gaussian family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def check_data(self, X):
        """Check that the covariance structure can model ``X``'s dimension.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.

        Returns
        -------
        X : array of shape (n_samples, n_features)
            The data, unchanged.
        """
        self.structure.check_n_features(X.shape[1])
        return X

    def chunk_row_values(self, n_features, n_components):
        """Per-row temporaries of the fused step: quadratic features, posteriors.

        Where the fused step does not pay off (full matrices, few components,
        many features), those of the whitened coordinates.
        """
        if self.structure.shared_matrix:
            # centred rows and ones, whitened rows with their norms and ones
            return 2 * n_features + 3 + 2 * n_components + 3
        if self.structure.full_scatter and not fused_pairs_pay_off(
            n_components, n_features
        ):
            return super().chunk_row_values(n_features, n_components)
        n_quadratic = (
            n_features * (n_features + 1) // 2
            if self.structure.full_scatter
            else n_features
        )
        # features and ones, the K posteriors, the exponentials' survivors (up
        # to K more) and three per-row sums of the log-sum-exp
        return n_quadratic + n_features + 1 + 2 * n_components + 3

    def init_features(self, X):
        """The data, with missing entries (NaN) filled by their column's mean.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Data, possibly with NaN.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features)
            Data k-means can cluster to start EM.
        """
        if _incomplete_rows(X) is None:
            return X
        return np.where(np.isnan(X), np.nanmean(X, axis=0), X)

    def _covariance_matrices(self):
        return self.structure.matrices(
            self.covariances, self.n_components, self.n_features
        )

    # -- E-step -----------------------------------------------------------------
    def log_prob(self, X):
        self._require_parameters()
        incomplete = _incomplete_rows(X)
        if incomplete is None:
            return self._complete_log_prob(X)
        # rows with NaN: the marginal density of their observed coordinates
        log_prob = np.empty((X.shape[0], self.n_components), dtype=X.dtype)
        if not incomplete.all():
            log_prob[~incomplete] = self._complete_log_prob(X[~incomplete])
        log_prob[incomplete] = IncompleteRows(
            X[incomplete], self._missing_precisions()
        ).log_prob()
        return log_prob

    def _missing_precisions(self):
        """Full precisions for rows with holes, built once per family.

        The family is a value (the M-step returns a new one), so the cache is
        never stale; chunk threads may race to build it, with equal results.
        """
        precisions = getattr(self, "_missing_cache", None)
        if precisions is None:
            precisions = ComponentPrecisions(self.means, self._covariance_matrices())
            self._missing_cache = precisions
        return precisions

    def _complete_log_prob(self, X):
        xp = get_namespace(X)
        reference = to_namespace(self._reference, X)
        distance = (
            self.structure.squared_mahalanobis_centred
            if self._e_step_cancels(xp.finfo(X.dtype).eps)
            else self.structure.squared_mahalanobis
        )
        distances = distance(
            X - reference,
            to_namespace(self.means - self._reference, X),
            to_namespace(self.precisions_cholesky, X),
            xp,
        )
        constant = to_namespace(
            np.broadcast_to(
                self._log_det - 0.5 * self.n_features * LOG_2PI,
                (self.n_components,),
            ),
            X,
        )
        return constant[None, :] - 0.5 * distances

    def statistics(self, X, resp, sample_weight=None):
        incomplete = _incomplete_rows(X)
        if incomplete is None:
            return self._complete_statistics(X, resp, sample_weight)
        weighted = resp if sample_weight is None else resp * sample_weight[:, None]
        parts = []
        if not incomplete.all():
            parts.append(
                self._complete_statistics(X[~incomplete], weighted[~incomplete])
            )
        if self.means is None:
            # a template has no parameters to condition on: the first M-step
            # (initialisation only) fills the holes with observed column means
            filled = self.init_features(X)[incomplete]
            parts.append(self._complete_statistics(filled, weighted[incomplete]))
        else:
            rows = IncompleteRows(X[incomplete], self._missing_precisions())
            parts.append(
                rows.statistics(weighted[incomplete], self.structure.full_scatter)
            )
        return sum(parts)

    def _complete_statistics(self, X, resp, sample_weight=None):
        xp = get_namespace(X, resp)
        weighted = resp if sample_weight is None else resp * sample_weight[:, None]
        if self.means is None:
            reference = to_numpy(xp.mean(X, axis=0)).astype(np.float64)
        else:
            reference = self._reference
        if isinstance(X, np.ndarray) and (
            not self.structure.full_scatter
            or fused_pairs_pay_off(weighted.shape[1], X.shape[1])
        ):
            centred, resp_sum, second, first = quadratic_moments(
                X, reference, weighted, self.structure.full_scatter
            )
            return self._moment_stats(
                X, weighted, reference, centred, second, first, resp_sum
            )
        return self._moment_stats(X, weighted, reference)

    def _moment_stats(
        self,
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
            scatter = self.structure.scatter(centred, weighted, means, xp)
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
        cancelled = self._cancelled_components(resp_sum, means, scatter, eps)
        if cancelled.size:
            X_wide = xp.astype(X, xp.float64)
            weighted_wide = xp.astype(weighted, xp.float64)
        for k in cancelled:
            means[k], scatter[k] = self._centred_moments(
                X_wide, weighted_wide[:, k], means[k] + reference, resp_sum[k], xp
            )
            means[k] -= reference
        return MomentStats(resp_sum, means + reference, scatter)

    def fused_statistics(self, X, log_weights, sample_weight=None):
        """E-step and statistics of one chunk in one pass (full matrices).

        Uses :mod:`~mixtura.families.gaussian_fused` when it applies: NumPy rows
        without missing entries, a structure with full matrices, a shape where
        the pairwise products pay off, and means close enough to the reference
        point that the expanded form keeps its digits. Otherwise returns None and
        the mixture composes :meth:`log_prob` and :meth:`statistics`.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        log_weights : ndarray of shape (n_components,)
        sample_weight : array of shape (n_samples,) or None

        Returns
        -------
        result : tuple (MomentStats, float) or None
            The statistics and ``sum_i w_i log p(x_i)``.
        """
        if self.means is not None and isinstance(X, np.ndarray):
            incomplete = _incomplete_rows(X)
            if incomplete is not None:
                return self._fused_incomplete(X, incomplete, log_weights, sample_weight)
        if self._needs_widening(X):
            return self.fused_statistics(
                X.astype(np.float64), log_weights, sample_weight
            )
        if self._tied_form_applies(X):
            return self._tied_group_statistics(
                [(X, sample_weight)], log_weights, X.dtype
            )
        if not self._pair_form_applies(X):
            return None
        return fused_e_step(
            self, self._fused_form(), X, log_weights, sample_weight, self._moment_stats
        )

    def fused_group_statistics(self, chunks, log_weights):
        """E-step and statistics of consecutive chunks, moments assembled once.

        The chunks' raw moments about the reference point are summed in
        float64 (:func:`~mixtura.families.gaussian_fused.fused_group_sums`) and
        turned into centred statistics once for the group. Returns None, and
        the mixture goes chunk by chunk, when a chunk has missing entries or
        does not suit the fused form, or when the group's expanded scatter
        cancelled digits (the chunk path then recomputes it from explicit
        deviations).

        Parameters
        ----------
        chunks : sequence of (array of shape (rows, n_features), weights or None)
        log_weights : ndarray of shape (n_components,)

        Returns
        -------
        result : tuple (MomentStats, float) or None
            The statistics and ``sum_i w_i log p(x_i)`` of all the chunks.
        """
        if not chunks or not all(
            isinstance(X, np.ndarray)
            and X.dtype == chunks[0][0].dtype
            and _incomplete_rows(X) is None
            for X, _ in chunks
        ):
            return None
        # whether a form applies depends on the family and the dtype only
        rows = chunks[0][0]
        if self._needs_widening(rows):
            # one chunk widened at a time: the sums below take any iterable
            chunks = _WidenedChunks(chunks)
            rows = chunks.first
        if self._tied_form_applies(rows):
            return self._tied_group_statistics(chunks, log_weights, rows.dtype)
        if not self._pair_form_applies(rows):
            return None
        pair_form = self._fused_form()
        sums, log_likelihood = fused_group_sums(
            pair_form, chunks, self._reference, log_weights
        )
        resp_sum, second, first = split_sums(sums, self.n_features, pair_form.pairs)
        safe = np.where(resp_sum > 0, resp_sum, 1.0)
        means = first / safe[:, None]
        scatter = _expanded_scatter(second, means, resp_sum)
        eps = np.finfo(rows.dtype).eps
        if self._cancelled_components(resp_sum, means, scatter, eps).size:
            return None
        return MomentStats(resp_sum, means + self._reference, scatter), log_likelihood

    def _tied_group_statistics(self, chunks, log_weights, dtype):
        """Pooled statistics of complete chunks of a tied family, or None.

        See :class:`~mixtura.families.gaussian_fused.TiedForm`. None when the
        expanded pooled scatter would cancel digits (the mixture then composes
        :meth:`log_prob` and :meth:`statistics`, which use explicit deviations).
        """
        if getattr(self, "_tied_form", None) is None:
            self._tied_form = TiedForm(
                self.precisions_cholesky,
                self.means - self._reference,
                float(self._log_det) - 0.5 * self.n_features * LOG_2PI,
            )
        first, second, log_likelihood = tied_group_sums(
            self._tied_form, chunks, self._reference, log_weights
        )
        d = self.n_features
        resp_sum = first[:, d]
        means = first[:, :d] / np.where(resp_sum > 0, resp_sum, 1.0)[:, None]
        pooled = second - np.einsum("k,ki,kj->ij", resp_sum, means, means)
        variances = np.diagonal(pooled) / max(float(resp_sum.sum()), 1e-300)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(variances > 0, means**2 / variances, np.inf)
        used = resp_sum > 0
        eps = np.finfo(dtype).eps
        if used.any() and _cancels(ratio[used].max(), eps):
            return None
        stats = MomentStats(resp_sum, means + self._reference, pooled[None], True)
        return stats, log_likelihood

    def _e_step_cancels(self, eps):
        """Whether the expanded log densities would lose too much (see above)."""
        bound = log_density_error(self._mean_offset, self.n_features, eps)
        return bound > cancellation_limit(eps)

    def _needs_widening(self, X):
        """Whether float32 rows are too far off for the fast forms, not float64.

        Such chunks are widened to float64 and take the same fast forms there
        (see :func:`expanded_form_error`): accurate at float64's speed.
        """
        return (
            self.means is not None
            and isinstance(X, np.ndarray)
            and X.dtype == np.float32
            and self._e_step_cancels(np.finfo(np.float32).eps)
            and not self._e_step_cancels(np.finfo(np.float64).eps)
        )

    def _tied_form_applies(self, X):
        return (
            self.means is not None
            and self.structure.shared_matrix
            and isinstance(X, np.ndarray)
            and X.dtype in (np.float32, np.float64)
            # (chunks with NaN took the missing-data path before this test)
            and not self._e_step_cancels(np.finfo(X.dtype).eps)
        )

    def _fused_form(self):
        """The components' :class:`PairForm` (made once per family value)."""
        if getattr(self, "_pair_form", None) is None:
            precisions = self.structure.matrices(
                self.precisions, self.n_components, self.n_features
            )
            log_normalisers = np.broadcast_to(
                self._log_det - 0.5 * self.n_features * LOG_2PI, (self.n_components,)
            )
            self._pair_form = PairForm(
                np.asarray(precisions),
                self.means - self._reference,
                log_normalisers,
                pairs=self.structure.full_scatter,
            )
        return self._pair_form

    def _fused_incomplete(self, X, incomplete, log_weights, sample_weight):
        """E-step and statistics of a chunk with holes, completing it once.

        The composed path would group the incomplete rows by pattern, factorise
        and complete them twice (in :meth:`log_prob` and :meth:`statistics`).
        Responsibilities are per row, so the complete rows take their own
        (possibly fused) path and the incomplete ones stay in pattern order.
        """
        rows = IncompleteRows(X[incomplete], self._missing_precisions())
        joint_t = rows.sorted_log_prob()
        joint_t += log_weights[:, None]
        log_density = posterior_in_place(joint_t)  # joint_t: responsibilities
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float64)[incomplete]
            weights = weights[rows.order]
            joint_t *= weights
            log_density *= weights
        stats = rows.sorted_statistics(joint_t, self.structure.full_scatter)
        log_likelihood = float(log_density.sum())
        complete = ~incomplete
        if complete.any():
            X_complete = X[complete]
            weights = None if sample_weight is None else sample_weight[complete]
            part = self.fused_statistics(X_complete, log_weights, weights)
            if part is None:
                part = self._composed_e_step(X_complete, log_weights, weights)
            stats = part[0] + stats
            log_likelihood += part[1]
        return stats, log_likelihood

    def _composed_e_step(self, X, log_weights, sample_weight):
        """E-step and statistics of complete NumPy rows, one after the other."""
        joint_t = np.array(self._complete_log_prob(X).T, dtype=np.float64)
        joint_t += log_weights[:, None]
        log_density = posterior_in_place(joint_t)
        stats = self._complete_statistics(X, joint_t.T, sample_weight)
        if sample_weight is not None:
            log_density = log_density * sample_weight
        return stats, float(log_density.sum())

    def _pair_form_applies(self, X):
        return (
            self.means is not None
            and isinstance(X, np.ndarray)
            and X.dtype in (np.float32, np.float64)
            and (
                # diagonal structures' squares always pay off
                not self.structure.full_scatter
                or fused_pairs_pay_off(self.n_components, self.n_features)
            )
            # (chunks with NaN took the missing-data path before this test)
            and not self._e_step_cancels(np.finfo(X.dtype).eps)
        )

    def _cancelled_components(self, resp_sum, means, scatter, eps):
        """Components whose fast scatter lost too many digits to cancellation."""
        variances = (
            self.structure.scatter_variances(scatter)
            / np.where(resp_sum > 0, resp_sum, 1.0)[:, None]
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(variances > 0, means**2 / variances, np.inf)
        return np.flatnonzero((resp_sum > 0) & _cancels(ratio.max(axis=1), eps))

    def _centred_moments(self, X, weights, mean, resp_sum, xp):
        """Mean and scatter of one component from explicit deviations, float64.

        ``mean`` is the fast form's estimate; the deviations' own weighted mean
        corrects it (a second pass, as in two-pass variance algorithms). Done in
        float64 from the rows themselves, so neither float32 sums (whose order
        each BLAS kernel picks) nor float32 centring can lose digits here.

        Parameters
        ----------
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
        scatter = self.structure.deviation_scatter(deviations, weights, xp)
        # scatter about the corrected mean = scatter about the estimate - n shift^2
        correction = self.structure.deviation_scatter(
            shift[None, :], xp.asarray([resp_sum], dtype=X.dtype), xp
        )
        return (
            mean + to_numpy(shift).astype(np.float64),
            to_numpy(scatter - correction).astype(np.float64),
        )

    # -- M-step -----------------------------------------------------------------
    def maximize(self, stats):
        """M-step: maximum likelihood, or MAP under the family's conjugate prior.

        Parameters
        ----------
        stats : MomentStats
            Weighted counts, means and scatter of the components.

        Returns
        -------
        family : Gaussian
            A family of the same configuration (and prior) with the new
            parameters.
        """
        nk = stats.resp_sum + _EMPTY_COMPONENT_GUARD
        if self.prior is None:
            means = stats.mean * (stats.resp_sum / nk)[:, None]
            scatter, counts = stats.scatter, nk
        else:
            # Fraley & Raftery (2007): the structure's M-step on the scatter and
            # counts the prior enlarges (see mixtura.priors.mclust)
            means, scatter, counts = get_prior_rule(self.structure).augment(
                stats, nk, self.prior, self.structure.full_scatter
            )
        covariances = self.structure.covariances_from_scatter(
            scatter, counts, self.reg_covar
        )
        return Gaussian(
            self.structure,
            self.reg_covar,
            means=means,
            covariances=covariances,
            prior=self.prior,
        )

    # -- the rest ---------------------------------------------------------------
    def sample(self, labels, random_state):
        self._require_parameters()
        labels = np.asarray(labels)
        factors = self.structure.sampling_factors(self.covariances, self.n_components)
        noise = random_state.standard_normal((labels.shape[0], self.n_features))
        samples = np.empty_like(noise)
        for k in np.unique(labels):  # a loop over the components drawn, not samples
            rows = labels == k
            factor = factors[k]
            deviations = (
                noise[rows] @ factor.T if factor.ndim == 2 else noise[rows] * factor
            )
            samples[rows] = self.means[k] + deviations
        return samples

    def n_parameters(self):
        self._require_parameters()
        return self.n_components * self.n_features + self.structure.n_parameters(
            self.n_components, self.n_features
        )

    def config(self):
        return {"covariance_type": self.covariance_type, "reg_covar": self.reg_covar}

    def arrays(self):
        self._require_parameters()
        return {
            "means": self.means,
            "covariances": self.covariances,
            "precisions_cholesky": self.precisions_cholesky,
        }

    @classmethod
    def from_arrays(cls, config, arrays):
        structure = get_covariance_structure(config["covariance_type"])
        means = np.asarray(arrays["means"])
        if means.ndim != 2:
            raise ModelFileError(f"means must be 2-D; got shape {means.shape}")
        n_components, n_features = means.shape
        expected = structure.shape(n_components, n_features)
        for name in ("covariances", "precisions_cholesky"):
            if arrays[name].shape != expected:
                raise ModelFileError(
                    f"{name} must have shape {expected} for covariance_type="
                    f"{structure.name!r} with means of shape {means.shape}; "
                    f"got {arrays[name].shape}"
                )
        # the two arrays describe one model: predictions use the factors, sampling
        # the covariances, so an edited file must not let them disagree
        derived = structure.covariances_from_precision_cholesky(
            np.asarray(arrays["precisions_cholesky"], dtype=np.float64)
        )
        if not np.allclose(derived, arrays["covariances"], rtol=1e-4, atol=0):
            raise ModelFileError(
                "covariances and precisions_cholesky disagree: the covariances are "
                "not the inverse of precisions_cholesky @ precisions_cholesky.T"
            )
        return cls(
            structure,
            config["reg_covar"],
            means=means,
            covariances=arrays["covariances"],
            precisions_cholesky=arrays["precisions_cholesky"],
        )

    def __repr__(self):
        if self.means is None:
            return f"Gaussian(covariance_type={self.covariance_type!r}, template)"
        return (
            f"Gaussian(covariance_type={self.covariance_type!r}, "
            f"n_components={self.n_components}, n_features={self.n_features})"
        )
