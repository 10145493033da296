"""The multivariate Gaussian family with a pluggable covariance structure."""

from __future__ import annotations

import numpy as np

from mixtura._validation import magnitude_bound
from mixtura.backend import get_namespace, posterior_in_place, to_numpy
from mixtura.exceptions import ModelFileError
from mixtura.families.base import Family
from mixtura.families.covariance import get_covariance_structure
from mixtura.families.gaussian_fused import fused_pairs_pay_off
from mixtura.families.gaussian_kernel import GaussianKernels, weighted_statistics
from mixtura.families.gaussian_lean import LeanGaussianEM
from mixtura.families.gaussian_missing import IncompleteRows
from mixtura.priors.mclust import get_prior_rule
from mixtura.priors.normal_wishart import NormalWishart
from mixtura.stats import EMPTY_COMPONENT_GUARD

__all__ = ["Gaussian", "stronger_reg_covar"]


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


def stronger_reg_covar(reg_covar, X):
    """Ten times ``reg_covar``, and at least 1e-6 of the rows' mean variance.

    The floor puts a regularisation of 0 (or one far below the data's scale)
    on the data's scale at once; 1e-6 for rows without variance.

    Parameters
    ----------
    reg_covar : float
    X : ndarray of shape (n_samples, n_features)
        Rows (NaN entries are ignored).

    Returns
    -------
    reg_covar : float
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = float(np.nanmean(np.nanvar(np.asarray(X, dtype=np.float64), axis=0)))
    floor = 1e-6 * variance if np.isfinite(variance) and variance > 0 else 1e-6
    return max(10.0 * reg_covar, floor)


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

    Attributes
    ----------
    kernels : GaussianKernels or None
        The E-step's derived quantities and its kernel per dtype
        (:mod:`mixtura.families.gaussian_kernel`); None for a template.

    Notes
    -----
    The precision factors are computed at construction; the E-step's derived
    quantities (log-determinants, the reference point) once, at its first use, in
    :attr:`kernels`
    (:class:`~mixtura.families.gaussian_kernel.GaussianKernels`), which also
    chooses the E-step's form for each dtype; the E-step never recomputes them.
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
        self._kernels = None
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

    @property
    def kernels(self):
        """The E-step's derived quantities and kernels, made at the first use.

        Made once: the family is a value (the M-step returns a new one). Not
        at construction, since many families never run an E-step of their
        own (the lean EM path's, a fit's initial and final ones).
        """
        if self._kernels is None and self.means is not None:
            self._kernels = GaussianKernels(
                self.structure, self.means, self.precisions_cholesky, self.covariances
            )
        return self._kernels

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

    def parameter_groups(self):
        """Means; covariances frozen with their precision factors."""
        return {
            "means": ("means",),
            "covariances": ("covariances", "precisions_cholesky"),
            "precisions_cholesky": ("covariances", "precisions_cholesky"),
        }

    def component_parameters(self):
        """Means; covariances where the structure keeps components independent."""
        if self.structure.independent_components:
            return set(self.parameter_groups())
        return {"means"}

    def maximize_given(self, stats, fixed):
        """Covariances about frozen means (see :meth:`Family.maximize_given`)."""
        if "means" in fixed:
            stats = stats.recentred(*fixed["means"])
        return self.maximize(stats)

    def regularized(self, X):
        """A template with :func:`stronger_reg_covar` (:meth:`Family.regularized`)."""
        return Gaussian(
            self.structure, stronger_reg_covar(self.reg_covar, X), prior=self.prior
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
    # Which form an E-step takes (pairs, tied, widened, composed) depends on the
    # parameters and the dtype only: self.kernels chooses it once per dtype
    # (mixtura.families.gaussian_kernel); the family splits off rows with holes.
    def log_prob(self, X):
        self._require_parameters()
        incomplete = _incomplete_rows(X)
        if incomplete is None:
            return self.kernels.kernel(X).log_prob(X)
        # rows with NaN: the marginal density of their observed coordinates
        log_prob = np.empty((X.shape[0], self.n_components), dtype=X.dtype)
        if not incomplete.all():
            complete = X[~incomplete]
            log_prob[~incomplete] = self.kernels.kernel(complete).log_prob(complete)
        log_prob[incomplete] = IncompleteRows(
            X[incomplete], self.kernels.missing_precisions()
        ).log_prob()
        return log_prob

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
            rows = IncompleteRows(X[incomplete], self.kernels.missing_precisions())
            parts.append(
                rows.statistics(weighted[incomplete], self.structure.full_scatter)
            )
        return sum(parts)

    def _complete_statistics(self, X, resp, sample_weight=None):
        """Statistics of complete rows about the reference point (see above).

        A template has no reference point yet: its moments are taken about the
        rows' mean.
        """
        xp = get_namespace(X, resp)
        weighted = resp if sample_weight is None else resp * sample_weight[:, None]
        if self.means is None:
            reference = to_numpy(xp.mean(X, axis=0)).astype(np.float64)
        else:
            reference = self.kernels.reference
        return weighted_statistics(self.structure, X, weighted, reference)

    def fused_statistics(self, X, log_weights, sample_weight=None):
        """E-step and statistics of one chunk in one pass, where a kernel has one.

        Complete NumPy rows take their kernel's fused step
        (:mod:`~mixtura.families.gaussian_kernel`); rows with missing entries
        are completed once here. Returns None where the kernel has no fused
        step (other array namespaces, full matrices with few components, means
        too far from the reference point), and the mixture composes
        :meth:`log_prob` and :meth:`statistics`.

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
        if self.means is None:
            return None
        incomplete = _incomplete_rows(X)
        if incomplete is not None:
            return self._fused_incomplete(X, incomplete, log_weights, sample_weight)
        return self.kernels.kernel(X).step(X, log_weights, sample_weight)

    def fused_group_statistics(self, chunks, log_weights):
        """E-step and statistics of consecutive chunks, moments assembled once.

        The kernel of the chunks' dtype sums their raw moments and assembles
        the statistics once for the group. Returns None, and the mixture goes
        chunk by chunk, when a chunk has missing entries or is not a NumPy
        array of the first chunk's dtype, when the kernel has no group step,
        or when the group's expanded scatter cancelled digits (the chunk path
        then recomputes it from explicit deviations).

        Parameters
        ----------
        chunks : sequence of (array of shape (rows, n_features), weights or None)
        log_weights : ndarray of shape (n_components,)

        Returns
        -------
        result : tuple (MomentStats, float) or None
            The statistics and ``sum_i w_i log p(x_i)`` of all the chunks.
        """
        if (
            self.means is None
            or not chunks
            or not all(
                isinstance(X, np.ndarray)
                and X.dtype == chunks[0][0].dtype
                and _incomplete_rows(X) is None
                for X, _ in chunks
            )
        ):
            return None
        return self.kernels.kernel(chunks[0][0]).group_step(chunks, log_weights)

    def _fused_incomplete(self, X, incomplete, log_weights, sample_weight):
        """E-step and statistics of a chunk with holes, completing it once.

        The composed path would group the incomplete rows by pattern, factorise
        and complete them twice (in :meth:`log_prob` and :meth:`statistics`).
        Responsibilities are per row, so the complete rows take their kernel's
        (possibly fused) step and the incomplete ones stay in pattern order.
        """
        rows = IncompleteRows(X[incomplete], self.kernels.missing_precisions())
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
            kernel = self.kernels.kernel(X_complete)
            part = kernel.step(X_complete, log_weights, weights)
            if part is None:
                part = kernel.composed_step(X_complete, log_weights, weights)
            stats = part[0] + stats
            log_likelihood += part[1]
        return stats, log_likelihood

    def lean_em(self, X, n_components, sample_weight=None):
        """The lean EM stepper for float64 rows without holes that it serves.

        See :meth:`Family.lean_em` and :mod:`mixtura.families.gaussian_lean`.
        """
        if (
            not isinstance(X, np.ndarray)
            or X.dtype != np.float64
            or not LeanGaussianEM.serves(*X.shape, n_components)
            or _incomplete_rows(X) is not None
        ):
            return None
        return LeanGaussianEM(self, X, sample_weight)

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
        means, covariances = self.maximized_parameters(stats, self.covariances)
        return Gaussian(
            self.structure,
            self.reg_covar,
            means=means,
            covariances=covariances,
            prior=self.prior,
        )

    def maximized_parameters(self, stats, start=None):
        """The M-step's means and covariances as arrays, without a new family.

        Shared by :meth:`maximize` and the lean EM step
        (:mod:`mixtura.families.gaussian_lean`), which keeps parameters as
        arrays between iterations.

        Parameters
        ----------
        stats : MomentStats
        start : ndarray or None, default=None
            The covariances before this M-step, where an iterative M-step
            begins (see
            :meth:`~mixtura.families.covariance.CovarianceStructure.covariances_from_scatter`).

        Returns
        -------
        means : ndarray of shape (n_components, n_features)
        covariances : ndarray
            In the structure's shape.
        """
        nk = stats.resp_sum + EMPTY_COMPONENT_GUARD
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
            scatter, counts, self.reg_covar, start
        )
        return means, covariances

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
        # issue 19: an edited file's means of 1e300 made every prediction
        # overflow; fitted means are means of data within the magnitude bound
        if np.any(np.abs(means.astype(np.float64)) > magnitude_bound(np.float64)):
            raise ModelFileError(
                f"means must lie within +-{magnitude_bound(np.float64):.3g}, the "
                "magnitude data may have"
            )
        # issue 19: a factor with a non-positive diagonal (e.g. negated, which
        # gives the same covariances) made the log-determinants NaN
        with np.errstate(divide="ignore", invalid="ignore"):
            log_det = structure.log_det_cholesky(
                np.asarray(arrays["precisions_cholesky"], dtype=np.float64),
                n_features,
            )
        if not np.all(np.isfinite(log_det)):
            raise ModelFileError(
                "precisions_cholesky are not Cholesky factors: their diagonals "
                "must be positive"
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
