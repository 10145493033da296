"""Multivariate Student-t components: clusters with heavy tails, robust to outliers.

Component k is ``t_nu(mu_k, Sigma_k)``, a Gaussian ``N(mu_k, Sigma_k / u)``
whose precision scale ``u ~ Gamma(nu_k / 2, rate nu_k / 2)`` is drawn per row:

    log p(x | k) = lgamma((nu + d) / 2) - lgamma(nu / 2) - d/2 log(nu pi)
                   - 1/2 log det Sigma - (nu + d)/2 log(1 + delta / nu),

with ``delta = (x - mu)^T Sigma^{-1} (x - mu)``, the Gaussian's squared
Mahalanobis distance. The scale matrices ``Sigma_k`` take any of the Gaussian
family's covariance structures (full, tied, diag, spherical and mclust's
models), and the E-step's distances come from the Gaussian family's own
kernels (:mod:`mixtura.families.gaussian_kernel`, one batched product for all
components), not from a copy of them.

EM treats ``u`` as missing (Liu & Rubin 1995; Peel & McLachlan 2000). Given
the current parameters, row i's expected precision scale in component k is

    u_ik = E[u | x_i, k] = (nu_k + d) / (nu_k + delta_ik),

small for a row far out in the tails: the outlier weight. The statistics are
the expected complete-data sufficient statistics at the current parameters
(additive over rows, and blended by online EM like any others): the
responsibility sums ``n_k``, the moments of the rows weighted by
``tau_ik u_ik`` and ``sum_i tau_ik (E[log u_ik] - u_ik)``, where
``E[log u | x_i, k] = log u_ik + psi((nu_k + d)/2) - log((nu_k + d)/2)``. The
M-step's conditional maximisations are

    mu_k = sum_i tau u x / sum_i tau u,
    Sigma_k = structure's M-step of sum_i tau u (x - mu)(x - mu)^T with counts n_k,
    nu_k solves log(nu/2) - psi(nu/2) = -1 - mean_k(E[log u] - u),

the last being Peel & McLachlan's (2000, eq. 30) degrees-of-freedom step with
the expectation of ``log u`` at the current parameters (the ECM form; the
ECME variant of Liu & Rubin maximises the observed likelihood in ``nu``
instead, which needs a second pass over the data per iteration). Its
left-hand side is the gamma family's shape equation in ``nu / 2``, solved by
the same Minka (2002) Newton step (:func:`~mixtura.families.gamma.gamma_shape`).
Each step increases the likelihood, so the fit loop's monotonicity checks hold.

Rows with missing entries (NaN, ``missing='em'`` in the estimators) take the
marginal t of their observed coordinates in the E-step and the conditional
expectations of the missing ones in the statistics, with ``p_o``, the number
observed, in place of ``d`` row by row (Liu & Rubin 1995):
:mod:`mixtura.families.student_missing`, on the Gaussian's completions.

References
----------
Liu, C. & Rubin, D. B. (1995). ML estimation of the t distribution using EM
and its extensions, ECM and ECME. Statistica Sinica 5, 19-39.
Peel, D. & McLachlan, G. J. (2000). Robust mixture modelling using the t
distribution. Statistics and Computing 10, 339-348.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from scipy.special import gammaln

from mixtura.backend import get_namespace, posterior_in_place, to_namespace, to_numpy
from mixtura.exceptions import ModelFileError
from mixtura.families.base import Family, fill_column_means
from mixtura.families.covariance import get_covariance_structure
from mixtura.families.gamma import _log_minus_digamma, gamma_shape
from mixtura.families.gaussian import Gaussian, _incomplete_rows, stronger_reg_covar
from mixtura.families.gaussian_fused import (
    centred_rows,
    chunk_features,
    feature_sums,
    split_sums,
)
from mixtura.families.gaussian_kernel import assemble_moments, weighted_statistics
from mixtura.families.student_missing import IncompleteStudentRows
from mixtura.stats import EMPTY_COMPONENT_GUARD, Stats

__all__ = ["DF_UPDATES", "StudentStats", "StudentT"]

#: How the M-step treats the degrees of freedom: one per component, one
#: shared by all components, or kept at their values.
DF_UPDATES = ("component", "shared", "fixed")
#: Bounds the degrees-of-freedom step keeps ``nu`` in. The step's objective is
#: concave in ``nu``, so the bounded root is the bounded maximiser. Above the
#: upper bound a t component is a Gaussian to within ``d^2 / nu`` (relative) in
#: its log density; below the lower one the tails are so heavy that a
#: component's scale estimate rests on a handful of rows. The lower bound is
#: also the least value a family accepts (df_init, degrees_of_freedom, model
#: files): far below it the chi-square draws of sampling underflow to 0 and the
#: samples are infinite (issue 19: 1e-300 from a model file).
MIN_DF, MAX_DF = 0.1, 1e4


class StudentStats(Stats):
    """Additive statistics of the t components' EM at given parameters.

    Parameters
    ----------
    resp_sum : array-like of shape (n_components,)
        ``n_k = sum_i w_i tau_ik``.
    moments : MomentStats
        Count, mean and scatter of the rows weighted by ``w_i tau_ik u_ik``
        (its ``resp_sum`` is ``sum_i w_i tau_ik u_ik``).
    log_weight_gap : array-like of shape (n_components,)
        ``sum_i w_i tau_ik (E[log u_ik] - u_ik)``, for the degrees of freedom.
    """

    def __init__(self, resp_sum, moments, log_weight_gap):
        self.resp_sum = np.asarray(resp_sum, dtype=np.float64)
        self.moments = moments
        self.log_weight_gap = np.asarray(log_weight_gap, dtype=np.float64)

    def __add__(self, other):
        if not isinstance(other, StudentStats):
            return NotImplemented
        return StudentStats(
            self.resp_sum + other.resp_sum,
            self.moments + other.moments,
            self.log_weight_gap + other.log_weight_gap,
        )

    def scale(self, factor):
        return StudentStats(
            self.resp_sum * factor,
            self.moments.scale(factor),
            self.log_weight_gap * factor,
        )

    def permuted(self, order):
        return StudentStats(
            self.resp_sum[order],
            self.moments.permuted(order),
            self.log_weight_gap[order],
        )

    def __repr__(self):
        return f"StudentStats(n_components={self.resp_sum.shape[0]})"


def _check_degrees_of_freedom(values, n_components):
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (n_components,):
        raise ValueError(
            f"degrees_of_freedom must have shape ({n_components},), one per "
            f"component; got shape {values.shape}"
        )
    bad = np.flatnonzero(~(values >= MIN_DF) | ~np.isfinite(values))
    if bad.size:
        raise ValueError(
            "degrees_of_freedom must be positive and finite, at least "
            f"{MIN_DF} (the fit's lower bound: below it sampling gives infinite "
            f"draws); component {int(bad[0])} has {float(values[bad[0]])!r}. Use "
            "a large value (e.g. 1e4) for a nearly Gaussian component"
        )
    return values


class StudentT(Family):
    """Multivariate Student-t components ``t_nu_k(mean_k, scale_k)``.

    ``MixtureModel(family='student_t')`` or
    :class:`~mixtura.estimators.student.StudentMixture` fit a mixture of them.

    Parameters
    ----------
    covariance_type : str or CovarianceStructure, default='full'
        Structure of the scale matrices: any of the Gaussian family's
        (``'full'``, ``'tied'``, ``'diag'``, ``'spherical'``, mclust's models).
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every estimated scale matrix.
    df_update : {'component', 'shared', 'fixed'}, default='component'
        Degrees of freedom estimated per component, one value estimated for
        all components, or kept at their initial values.
    df_init : float, default=10.0
        Degrees of freedom of the first M-step (from an initial partition), at
        least :data:`MIN_DF` (0.1).
    means : array-like of shape (n_components, n_features), optional
        Location of each component; omitted (with the other parameters) for
        a template.
    scales : array-like, optional
        Scale matrices in the structure's shape. A component's covariance is
        ``nu / (nu - 2)`` times its scale where ``nu > 2``.
    degrees_of_freedom : array-like of shape (n_components,), optional
        ``nu_k >= MIN_DF`` (0.1), finite.

    Attributes
    ----------
    gaussian : Gaussian or None
        The Gaussian family with the same means and covariances equal to the
        scales, whose kernels give the squared Mahalanobis distances.
    """

    name = "student_t"
    #: NaN entries are missing values for every scale structure: the observed
    #: coordinates' marginal t (:mod:`mixtura.families.student_missing`)
    supports_missing = True

    def __init__(
        self,
        covariance_type="full",
        reg_covar=1e-6,
        df_update="component",
        df_init=10.0,
        *,
        means=None,
        scales=None,
        degrees_of_freedom=None,
    ):
        self.structure = get_covariance_structure(covariance_type)
        self.reg_covar = float(reg_covar)
        if df_update not in DF_UPDATES:
            raise ValueError(
                f"df_update must be one of {DF_UPDATES}; got {df_update!r}"
            )
        if not isinstance(df_init, Real) or not MIN_DF <= df_init < math.inf:
            raise ValueError(
                f"df_init must be a finite number of at least {MIN_DF}; got {df_init!r}"
            )
        self.df_update = df_update
        self.df_init = float(df_init)
        self.gaussian = None
        self.degrees_of_freedom = None
        if means is None and scales is None and degrees_of_freedom is None:
            return
        if means is None or scales is None or degrees_of_freedom is None:
            raise ValueError(
                "a Student-t family needs means, scales and degrees_of_freedom "
                "together; pass all three, or none for a template to fit"
            )
        self.gaussian = Gaussian(
            self.structure, self.reg_covar, means=means, covariances=scales
        )
        self._set_degrees_of_freedom(degrees_of_freedom)

    @classmethod
    def _from_gaussian(cls, template, gaussian, degrees_of_freedom):
        """A family of ``template``'s configuration around a Gaussian value."""
        family = cls(
            template.structure, template.reg_covar, template.df_update, template.df_init
        )
        family.gaussian = gaussian
        family._set_degrees_of_freedom(degrees_of_freedom)
        return family

    def _set_degrees_of_freedom(self, degrees_of_freedom):
        nu = _check_degrees_of_freedom(degrees_of_freedom, self.n_components)
        d = self.n_features
        self.degrees_of_freedom = nu
        # log density = constant - half_shape * log1p(delta / nu)
        self._half_shape = 0.5 * (nu + d)
        self._constant = (
            gammaln(self._half_shape)
            - gammaln(0.5 * nu)
            - 0.5 * d * np.log(nu * np.pi)
            + self.gaussian.kernels.log_det
        )
        # u = (nu + d) / (nu + delta) = weight_scale / (1 + delta / nu)
        self._weight_scale = 1.0 + d / nu

    # -- shape ------------------------------------------------------------------
    @property
    def covariance_type(self):
        """Name of the scale matrices' structure."""
        return self.structure.name

    @property
    def means(self):
        """Component locations, shape (n_components, n_features)."""
        return None if self.gaussian is None else self.gaussian.means

    @property
    def scales(self):
        """Scale matrices in the structure's shape."""
        return None if self.gaussian is None else self.gaussian.covariances

    @property
    def precisions_cholesky(self):
        """Upper Cholesky factors of the inverse scale matrices."""
        return None if self.gaussian is None else self.gaussian.precisions_cholesky

    @property
    def n_components(self):
        return self.gaussian.n_components

    @property
    def n_features(self):
        return self.gaussian.n_features

    def _require_parameters(self):
        if self.gaussian is None:
            raise ValueError(
                "this Student-t family is a template without parameters; "
                "estimate it with maximize(statistics) first"
            )

    def parameter_groups(self):
        """Means, degrees of freedom; scales frozen with their factors."""
        return {
            "means": ("means",),
            "scales": ("scales", "precisions_cholesky"),
            "precisions_cholesky": ("scales", "precisions_cholesky"),
            "degrees_of_freedom": ("degrees_of_freedom",),
        }

    def component_parameters(self):
        """Locations and degrees of freedom; scales as the Gaussian's."""
        names = {"means", "degrees_of_freedom"}
        if self.structure.independent_components:
            names |= {"scales", "precisions_cholesky"}
        return names

    def maximize_given(self, stats, fixed):
        """Weighted scatter about frozen locations."""
        if "means" in fixed:
            stats = StudentStats(
                stats.resp_sum,
                stats.moments.recentred(*fixed["means"]),
                stats.log_weight_gap,
            )
        return self.maximize(stats)

    def regularized(self, X):
        """A template with :func:`~mixtura.families.gaussian.stronger_reg_covar`."""
        return StudentT(
            self.structure,
            stronger_reg_covar(self.reg_covar, X),
            self.df_update,
            self.df_init,
        )

    def check_data(self, X):
        """Check that the scale structure can model ``X``'s dimension."""
        self.structure.check_n_features(X.shape[1])
        return X

    def chunk_row_values(self, n_features, n_components):
        """Per-row temporaries: the Gaussian's, and four K-vectors more.

        The distances, their ``log1p``, the outlier weights and the weighted
        responsibilities, beside what the Gaussian's pass over the rows holds.
        """
        template = Gaussian(self.structure, self.reg_covar)
        return template.chunk_row_values(n_features, n_components) + 4 * n_components

    # -- E-step -----------------------------------------------------------------
    def squared_mahalanobis(self, X):
        """``delta_ik``: squared Mahalanobis distance of each row to each component.

        Of the observed coordinates only, for a row with missing entries (NaN).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        distances : array of shape (n_samples, n_components)
            Non-negative, in X's namespace and dtype.
        """
        return self._by_row_kind(
            X, self._complete_distances, IncompleteStudentRows.squared_mahalanobis
        )

    def _incomplete(self, X):
        """The rows with holes, completed once (:class:`IncompleteStudentRows`)."""
        return IncompleteStudentRows(
            X, self.gaussian.kernels.missing_precisions(), self.degrees_of_freedom
        )

    def _by_row_kind(self, X, complete, incomplete):
        """A per-row (n, K) result: ``complete(X)`` of the complete rows and
        ``incomplete(rows)`` of the :class:`IncompleteStudentRows` of the others."""
        self._require_parameters()
        holes = _incomplete_rows(X)
        if holes is None:
            return complete(X)
        result = np.empty((X.shape[0], self.n_components), dtype=X.dtype)
        if not holes.all():
            result[~holes] = complete(X[~holes])
        result[holes] = incomplete(self._incomplete(X[holes]))
        return result

    def _complete_distances(self, X):
        """``delta_ik`` of rows without missing entries, (n, K) in X's namespace."""
        distances = self.gaussian.kernels.kernel(X).squared_mahalanobis(X)
        xp = get_namespace(distances)
        # expanded forms can round a tiny distance below zero
        return xp.maximum(distances, xp.zeros_like(distances))

    def _log1p_ratio(self, distances):
        """``log1p(delta / nu)`` and ``delta / nu``, (n, K) in the data's namespace."""
        xp = get_namespace(distances)
        ratio = distances * to_namespace(1.0 / self.degrees_of_freedom, distances)
        return xp.log1p(ratio), ratio

    def log_prob(self, X):
        """Log density of every row under every component, shape (n, K).

        A row with missing entries (NaN) has the density of its observed
        coordinates, a t of their dimension; 0 when nothing is observed.
        """
        return self._by_row_kind(
            X, self._complete_log_prob, IncompleteStudentRows.log_prob
        )

    def _complete_log_prob(self, X):
        """:meth:`log_prob` of rows without missing entries."""
        log_ratio, _ = self._log1p_ratio(self._complete_distances(X))
        return (
            to_namespace(self._constant, log_ratio)[None, :]
            - to_namespace(self._half_shape, log_ratio)[None, :] * log_ratio
        )

    def outlier_weights(self, X):
        """``u_ik = E[u | x_i, k] = (nu_k + d) / (nu_k + delta_ik)``.

        About 1 for a row near a component's centre and falling as
        ``(nu + d) / delta`` in its tails: how much the row counts in that
        component's mean and scale. A row with missing entries (NaN) has
        ``(nu_k + p_o) / (nu_k + delta_o)`` of its ``p_o`` observed coordinates.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        weights : array of shape (n_samples, n_components)
        """
        return self._by_row_kind(
            X, self._complete_outlier_weights, IncompleteStudentRows.outlier_weights
        )

    def _complete_outlier_weights(self, X):
        """:meth:`outlier_weights` of rows without missing entries."""
        _, ratio = self._log1p_ratio(self._complete_distances(X))
        return to_namespace(self._weight_scale, ratio)[None, :] / (1.0 + ratio)

    def statistics(self, X, resp, sample_weight=None):
        """:class:`StudentStats` of the rows at this family's parameters.

        A template has no parameters: its statistics take every outlier weight
        as 1 (Gaussian moments), for the first M-step from a partition, with
        missing entries (NaN) filled by their column's observed mean. With
        parameters, rows with missing entries contribute their conditional
        expectations (:meth:`IncompleteStudentRows.sorted_statistics`).
        """
        xp = get_namespace(X, resp)
        weighted = resp if sample_weight is None else resp * sample_weight[:, None]
        holes = _incomplete_rows(X)
        if self.gaussian is None:
            if holes is not None:
                X = fill_column_means(X)
            reference = to_numpy(xp.mean(X, axis=0)).astype(np.float64)
            moments = weighted_statistics(self.structure, X, weighted, reference)
            return StudentStats(moments.resp_sum, moments, -moments.resp_sum)
        if holes is None:
            return self._complete_statistics(X, weighted)
        rows = self._incomplete(X[holes])
        stats = StudentStats(
            *rows.statistics(weighted[holes], self.structure.full_scatter)
        )
        if holes.all():
            return stats
        return self._complete_statistics(X[~holes], weighted[~holes]) + stats

    def _complete_statistics(self, X, weighted):
        """:meth:`statistics` of rows without missing entries, at the parameters.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        weighted : array of shape (n_samples, n_components)
            Responsibilities times sample weights.

        Returns
        -------
        stats : StudentStats
        """
        xp = get_namespace(X, weighted)
        log_ratio, ratio = self._log1p_ratio(self._complete_distances(X))
        scale = to_namespace(self._weight_scale, ratio)[None, :]
        weights = scale / (1.0 + ratio)
        log_weights = xp.log(scale) - log_ratio
        moments = weighted_statistics(
            self.structure, X, weighted * weights, self.gaussian.kernels.reference
        )
        resp_sum = to_numpy(xp.sum(weighted, axis=0))
        gap = to_numpy(xp.sum(weighted * (log_weights - weights), axis=0))
        return StudentStats(resp_sum, moments, self._expected_log_gap(gap, resp_sum))

    def _expected_log_gap(self, gap, resp_sum):
        """``sum tau (E[log u] - u)`` from ``sum tau (log u - u)``: adds
        ``n_k (psi(h) - log h)``, h = (nu + d) / 2."""
        return gap - resp_sum * _log_minus_digamma(self._half_shape)

    def fused_statistics(self, X, log_weights, sample_weight=None):
        """E-step and statistics of a NumPy chunk, its distances computed once.

        Where the Gaussian kernel of the chunk's dtype uses quadratic features
        (``'pairs'``), one product of those features gives the distances and
        one more the moments, as in the Gaussian's own fused step; otherwise
        the distances come from the kernel and the moments from the rows.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        log_weights : ndarray of shape (n_components,)
        sample_weight : array of shape (n_samples,) or None

        Returns
        -------
        result : tuple (StudentStats, float) or None
            The statistics and ``sum_i w_i log p(x_i)``; None for a template or
            rows that are not a NumPy array.
        """
        if self.gaussian is None or not isinstance(X, np.ndarray):
            return None
        holes = _incomplete_rows(X)
        if holes is not None:
            return self._fused_incomplete(X, holes, log_weights, sample_weight)
        kernels = self.gaussian.kernels
        kernel = kernels.kernel(X)
        if kernel.form == "pairs":
            form = kernel.pair_form
            # the Gaussian's coefficients less its normalisers: -delta / 2
            coefficients = form.with_constant(-kernels.log_normalisers, X.dtype)
            features = chunk_features(X, kernels.reference, form.pairs)
            distances_t = coefficients.T @ features
            distances_t *= -2.0
        else:
            features = None
            distances_t = np.ascontiguousarray(kernel.squared_mahalanobis(X).T)
        np.maximum(distances_t, 0.0, out=distances_t)
        # distances_t becomes delta / nu, then the outlier weights u
        distances_t *= (1.0 / self.degrees_of_freedom).astype(X.dtype)[:, None]
        log_ratio_t = np.log1p(distances_t)
        joint_t = (self._constant + np.asarray(log_weights)).astype(X.dtype)[:, None]
        joint_t = joint_t - self._half_shape.astype(X.dtype)[:, None] * log_ratio_t
        log_density = posterior_in_place(joint_t)  # joint_t: responsibilities
        if sample_weight is not None:
            joint_t *= sample_weight[None, :]
            log_density *= sample_weight
        weights_t = distances_t
        weights_t += 1.0
        np.divide(self._weight_scale.astype(X.dtype)[:, None], weights_t, out=weights_t)
        # log u - u, in place of log1p(delta / nu)
        log_ratio_t -= np.log(self._weight_scale).astype(X.dtype)[:, None]
        log_ratio_t += weights_t
        gap = -np.sum(joint_t * log_ratio_t, axis=1, dtype=np.float64)
        resp_sum = np.sum(joint_t, axis=1, dtype=np.float64)
        weights_t *= joint_t
        if features is None:
            moments = weighted_statistics(
                self.structure, X, weights_t.T, kernels.reference
            )
        else:
            n_features = X.shape[1]
            weight_sum, second, first = split_sums(
                feature_sums(weights_t, features), n_features, form.pairs
            )
            moments = assemble_moments(
                self.structure,
                X,
                weights_t.T,
                kernels.reference,
                centred_rows(features, n_features),
                second,
                first,
                weight_sum,
            )
        log_likelihood = float(np.sum(log_density, dtype=np.float64))
        gap = self._expected_log_gap(gap, resp_sum)
        return StudentStats(resp_sum, moments, gap), log_likelihood

    def _fused_incomplete(self, X, holes, log_weights, sample_weight):
        """:meth:`fused_statistics` of a chunk with holes, completing it once.

        The rows with missing entries go through one
        :class:`IncompleteStudentRows` (E-step and statistics in pattern
        order); the complete rows take the fused step.
        """
        rows = self._incomplete(X[holes])
        joint_t = rows.sorted_log_prob()
        joint_t += np.asarray(log_weights, dtype=np.float64)[:, None]
        log_density = posterior_in_place(joint_t)  # joint_t: responsibilities
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float64)[holes][rows.order]
            joint_t *= weights
            log_density *= weights
        stats = StudentStats(
            *rows.sorted_statistics(joint_t, self.structure.full_scatter)
        )
        log_likelihood = float(np.sum(log_density))
        complete = ~holes
        if complete.any():
            weights = None if sample_weight is None else sample_weight[complete]
            part, part_log_likelihood = self.fused_statistics(
                X[complete], log_weights, weights
            )
            stats = part + stats
            log_likelihood += part_log_likelihood
        return stats, log_likelihood

    # -- M-step -----------------------------------------------------------------
    def maximize(self, stats):
        """The ECM step: locations and scales, then the degrees of freedom.

        Parameters
        ----------
        stats : StudentStats

        Returns
        -------
        family : StudentT
            A family of the same configuration with the new parameters.
        """
        nk = stats.resp_sum + EMPTY_COMPONENT_GUARD
        moments = stats.moments
        weight_sum = moments.resp_sum
        means = (
            moments.mean * (weight_sum / (weight_sum + EMPTY_COMPONENT_GUARD))[:, None]
        )
        # the scatter of the u-weighted rows over the responsibility sums
        scales = self.structure.covariances_from_scatter(
            moments.scatter, nk, self.reg_covar, self.scales
        )
        gaussian = Gaussian(
            self.structure, self.reg_covar, means=means, covariances=scales
        )
        return StudentT._from_gaussian(
            self, gaussian, self._maximized_degrees_of_freedom(stats, nk)
        )

    def _maximized_degrees_of_freedom(self, stats, nk):
        """Peel & McLachlan's (2000) step for ``nu``, per component or shared."""
        n_components = stats.resp_sum.shape[0]
        if self.degrees_of_freedom is None:  # a template: the first M-step
            return np.full(n_components, self.df_init)
        if self.df_update == "fixed":
            return self.degrees_of_freedom
        # log(nu/2) - psi(nu/2) = -1 - mean(E[log u] - u), positive: by
        # Jensen E[log u] - E[u] <= log E[u] - E[u] <= -1
        gap = -1.0 - stats.log_weight_gap / nk
        if self.df_update == "shared":
            gap = np.full(n_components, np.sum(nk * gap) / np.sum(nk))
        return np.clip(2.0 * gamma_shape(gap), MIN_DF, MAX_DF)

    # -- the rest ---------------------------------------------------------------
    def sample(self, labels, random_state):
        """Gaussian draws divided by ``sqrt(u)``, ``u ~ chi2(nu) / nu``."""
        self._require_parameters()
        labels = np.asarray(labels)
        draws = self.gaussian.sample(labels, random_state)
        nu = self.degrees_of_freedom[labels]
        scale = np.sqrt(random_state.chisquare(nu) / nu)
        means = self.means[labels]
        return means + (draws - means) / scale[:, None]

    def n_parameters(self):
        self._require_parameters()
        n_df = {"component": self.n_components, "shared": 1, "fixed": 0}
        return self.gaussian.n_parameters() + n_df[self.df_update]

    def config(self):
        return {
            "covariance_type": self.covariance_type,
            "reg_covar": self.reg_covar,
            "df_update": self.df_update,
            "df_init": self.df_init,
        }

    def arrays(self):
        self._require_parameters()
        return {
            "means": self.means,
            "scales": self.scales,
            "precisions_cholesky": self.precisions_cholesky,
            "degrees_of_freedom": self.degrees_of_freedom,
        }

    @classmethod
    def from_arrays(cls, config, arrays):
        template = cls(
            config["covariance_type"],
            config["reg_covar"],
            config["df_update"],
            config["df_init"],
        )
        # the Gaussian's own checks of shapes and of scales against factors
        gaussian = Gaussian.from_arrays(
            {
                "covariance_type": template.covariance_type,
                "reg_covar": template.reg_covar,
            },
            {
                "means": arrays["means"],
                "covariances": arrays["scales"],
                "precisions_cholesky": arrays["precisions_cholesky"],
            },
        )
        try:
            return cls._from_gaussian(template, gaussian, arrays["degrees_of_freedom"])
        except ValueError as error:
            raise ModelFileError(str(error)) from None

    def __repr__(self):
        if self.gaussian is None:
            return f"StudentT(covariance_type={self.covariance_type!r}, template)"
        return (
            f"StudentT(covariance_type={self.covariance_type!r}, "
            f"n_components={self.n_components}, n_features={self.n_features})"
        )
