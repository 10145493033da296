"""Covariance structures of the Gaussian family, each a small strategy object.

A structure owns everything that differs between ``'full'``, ``'tied'``, ``'diag'``
and ``'spherical'``: the shape of its parameters, the E-step's squared Mahalanobis
distances, the M-step from centred scatter, precision Cholesky factors and their
log-determinants, sampling factors and the parameter count. Choosing one is a
registry lookup (:func:`get_covariance_structure`); nothing else in the code base
switches on the name. mclust's eigen-decomposition models join the same registry.

Conventions follow scikit-learn: ``precisions_cholesky`` is upper triangular ``U``
with ``precision = U @ U.T``; ``covariance = inv(precision)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import lru_cache
from typing import ClassVar

import numpy as np
from array_api_compat import device
from scipy import linalg
from scipy.linalg import lapack

from mixtura.backend import to_numpy
from mixtura.exceptions import SingularCovarianceError
from mixtura.priors import mclust_rules

__all__ = [
    "COVARIANCE_STRUCTURES",
    "CovarianceStructure",
    "Diagonal",
    "Full",
    "Spherical",
    "Tied",
    "get_covariance_structure",
]

# scikit-learn's wording (its tests match it), then which components collapsed
_SINGULAR_ADVICE = (
    "Fitting the mixture model failed because some components have ill-defined "
    "empirical covariance (for instance caused by singleton or collapsed samples). "
    "Try to decrease the number of components, increase reg_covar, or scale the "
    "input data. Collapsed component(s): {components}."
)


def _singular(components):
    return SingularCovarianceError(
        _SINGULAR_ADVICE.format(components=components), components
    )


# Up to this dimension the triangular inverses of all K components come from one
# batched LAPACK call (np.linalg.inv, LU-based); above it one triangular solve per
# component (trtrs) is faster than LU on the whole stack. Measured on the
# benchmark machine (K=9): d=8, 20 us against 115 us for the loop; d=30, 203 us
# against 148 us.
_BATCHED_INVERSE_MAX_DIM = 16


def _lower_cholesky(matrices):
    """Lower Cholesky factors of a stack of SPD matrices; names failing ones.

    One batched call for the whole stack; only when it fails are the matrices
    factored one by one, to name the collapsed components.
    """
    try:
        return np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        pass
    failed = []
    for k, matrix in enumerate(matrices):
        try:
            np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            failed.append(k)
    raise _singular(failed)


@lru_cache(maxsize=64)
def _lower_mask(n_features):
    """Ones on and below the diagonal, zeros above: shape (d, d), read-only."""
    mask = np.tri(n_features)
    mask.flags.writeable = False
    return mask


def _lower_triangular_inverses(lower):
    """Inverses of a stack of lower triangular matrices (K, d, d), lower again."""
    n_features = lower.shape[-1]
    if n_features <= _BATCHED_INVERSE_MAX_DIM:
        # LU with pivoting leaves rounding-level entries above the diagonal;
        # a product with a cached mask clears them (np.tril builds its mask
        # anew, which costs more than the inverse at small d)
        inverses = np.linalg.inv(lower)
        inverses *= _lower_mask(n_features)
        return inverses
    eye = np.eye(n_features)
    return np.stack([linalg.solve_triangular(f, eye, lower=True) for f in lower])


def _upper_precision_cholesky(covariances):
    """U with inv(cov) = U @ U.T, for a stack of covariances (K, d, d)."""
    inverses = _lower_triangular_inverses(_lower_cholesky(covariances))
    return np.ascontiguousarray(np.swapaxes(inverses, 1, 2))


def _one_upper_precision_cholesky(covariance):
    """U with inv(cov) = U @ U.T for one float64 covariance (d, d).

    LAPACK's factorisation and triangular inverse called directly: for one
    matrix the batched NumPy routines' set-up costs several times the work.
    """
    if covariance.dtype != np.float64:
        return _upper_precision_cholesky(covariance[None])[0]
    lower, info = lapack.dpotrf(covariance, lower=1, clean=1)
    if info != 0:
        raise _singular([0])
    inverse, info = lapack.dtrtri(lower, lower=1)
    if info != 0:
        raise _singular([0])
    return np.ascontiguousarray(inverse.T)


def _upper_cholesky_of_precisions(precisions):
    """U upper triangular with P = U @ U.T, for a stack of precisions (K, d, d).

    The Cholesky factor of the reversed matrix J P J, reversed again, is the upper
    factor of P (J is the exchange matrix).
    """
    flipped = _lower_cholesky(precisions[:, ::-1, ::-1])
    return np.ascontiguousarray(flipped[:, ::-1, ::-1])


def _pair_products(X, xp):
    """Products ``x_i x_j`` for ``i <= j`` (``np.triu_indices`` order).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)

    Returns
    -------
    pairs : array of shape (n_samples, n_features * (n_features + 1) // 2)
    """
    n_features = X.shape[1]
    return xp.concat([X[:, i : i + 1] * X[:, i:] for i in range(n_features)], axis=1)


def _upper_triangle(matrices, xp, off_diagonal_factor=1.0):
    """Upper triangles of a stack of matrices, flattened in the pairs' order.

    Parameters
    ----------
    matrices : array of shape (K, d, d)
    xp : namespace
    off_diagonal_factor : float
        Multiplies the entries above the diagonal (2 turns a symmetric
        quadratic form into coefficients of the pairwise products).

    Returns
    -------
    upper : array of shape (K, d (d + 1) / 2)
    """
    n_components, n_features, _ = matrices.shape
    rows, cols = np.triu_indices(n_features)
    flat = xp.reshape(matrices, (n_components, n_features * n_features))
    index = xp.asarray(rows * n_features + cols, device=device(matrices))
    factors = np.where(rows == cols, 1.0, off_diagonal_factor)
    return xp.take(flat, index, axis=1) * xp.asarray(
        factors, dtype=matrices.dtype, device=device(matrices)
    )


class CovarianceStructure(ABC):
    """How the components' covariance matrices are shaped and shared."""

    #: registry name, e.g. ``'full'``
    name: ClassVar[str]
    #: whether the M-step needs full (d, d) scatter matrices rather than diagonals
    full_scatter: ClassVar[bool]
    #: whether one (d, d) precision is shared and the M-step needs only the
    #: components' summed scatter: the E-step then whitens each row once and
    #: keeps pooled statistics (gaussian_fused.TiedForm)
    shared_matrix: ClassVar[bool] = False
    #: whether each component's covariance is estimated from its own scatter
    #: alone (no volume, shape or orientation shared across components), so
    #: that one component's covariance can be frozen while the others move
    independent_components: ClassVar[bool] = False
    #: how the MAP M-step takes a conjugate prior (None: no prior offered), see
    #: :mod:`mixtura.priors.mclust_rules`
    prior_rule: ClassVar[mclust_rules.PriorRule | None] = None

    @abstractmethod
    def shape(self, n_components, n_features):
        """Shape of the covariance (and precision) parameter array."""

    @abstractmethod
    def n_parameters(self, n_components, n_features):
        """Number of free covariance parameters."""

    @abstractmethod
    def covariances_from_scatter(self, scatter, nk, reg_covar, start=None):
        """M-step: covariances from centred scatter and component weights.

        Parameters
        ----------
        scatter : ndarray of shape (K, d, d) or (K, d)
        nk : ndarray of shape (K,)
            Weighted number of samples of each component (never zero).
        reg_covar : float
            Added to the diagonal, so every covariance is positive definite.
        start : ndarray or None, default=None
            The covariances before this M-step (in the structure's shape).
            Structures whose M-step is iterative (some of mclust's models)
            begin their inner iterations there; a closed form ignores it.
        """

    @abstractmethod
    def precision_cholesky(self, covariances):
        """Upper-triangular precision Cholesky factors of ``covariances``."""

    @abstractmethod
    def precision_cholesky_from_precisions(self, precisions):
        """Upper-triangular Cholesky factors of given precisions."""

    @abstractmethod
    def precisions(self, precisions_cholesky):
        """Precision matrices ``U @ U.T`` from their Cholesky factors."""

    @abstractmethod
    def covariances_from_precision_cholesky(self, precisions_cholesky):
        """Covariances ``inv(U @ U.T)`` from precision Cholesky factors."""

    @abstractmethod
    def log_det_cholesky(self, precisions_cholesky, n_features):
        """``log det U`` of each component, shape (K,) or a scalar when shared."""

    @abstractmethod
    def matrices(self, covariances, n_components, n_features):
        """Each component's covariance as a full (d, d) matrix.

        Parameters
        ----------
        covariances : ndarray
            Covariances (or precisions) in the structure's shape.
        n_components : int
        n_features : int

        Returns
        -------
        matrices : ndarray of shape (n_components, n_features, n_features)
        """

    @abstractmethod
    def sampling_factors(self, covariances, n_components):
        """Per-component factors ``A_k`` with ``A_k A_k^T = cov_k``.

        Returns an array of shape (K, d, d) or (K, d) (diagonal factors).
        """

    @abstractmethod
    def squared_mahalanobis(self, X, means, precisions_cholesky, xp):
        """E-step core, fast form: ``(x_i - mu_k)^T P_k (x_i - mu_k)`` for all i, k.

        Uses expanded or shared products (a few matrix products for all
        components); accurate while the means lie within a few thousand standard
        deviations of the origin of ``X`` in float32 (far more in float64). See
        :meth:`squared_mahalanobis_centred` for the form that is always accurate.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data, centred on the family's reference point.
        means : array of shape (n_components, n_features)
            Means, centred on the same point.
        precisions_cholesky : array
            Precision factors in ``X``'s namespace and dtype.
        xp : namespace

        Returns
        -------
        distances : array of shape (n_samples, n_components)
        """

    @abstractmethod
    def whiten(self, deviations, precisions_cholesky, xp):
        """Whitened deviations ``(x_i - mu_k) U_k``.

        Parameters
        ----------
        deviations : array of shape (n_components, n_samples, n_features)
        precisions_cholesky : array
        xp : namespace

        Returns
        -------
        whitened : array of shape (n_components, n_samples, n_features)
        """

    def squared_mahalanobis_centred(self, X, means, precisions_cholesky, xp):
        """E-step core from explicit deviations, accurate at any offset.

        Same contract as :meth:`squared_mahalanobis`; costs an
        (n_components, n_samples, n_features) temporary.
        """
        deviations = X[None, :, :] - means[:, None, :]
        whitened = self.whiten(deviations, precisions_cholesky, xp)
        return xp.permute_dims(xp.vecdot(whitened, whitened, axis=-1), (1, 0))

    @abstractmethod
    def scatter(self, X, weighted_resp, means, xp):
        """Weighted scatter of each component about ``means``, fast form.

        Computed as ``sum_i r_ik x_i x_i^T - n_k m_k m_k^T`` (matrix products for
        all components), which cancels digits when a mean lies far from the origin
        of ``X``; the family checks for that and recomputes such components with
        :meth:`deviation_scatter`.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        weighted_resp : array of shape (n_samples, n_components)
            Responsibilities times sample weights.
        means : array of shape (n_components, n_features)
            The components' weighted means of ``X``.
        xp : namespace

        Returns
        -------
        scatter : array of shape (K, d, d) if ``full_scatter`` else (K, d)
        """

    @abstractmethod
    def deviation_scatter(self, deviations, weights, xp):
        """Scatter of one component from explicit deviations.

        Parameters
        ----------
        deviations : array of shape (n_samples, n_features)
        weights : array of shape (n_samples,)
        xp : namespace

        Returns
        -------
        scatter : array of shape (d, d) if ``full_scatter`` else (d,)
        """

    def check_n_features(self, n_features):
        """Refuse data of a dimension the structure cannot model (default: any).

        Parameters
        ----------
        n_features : int

        Raises
        ------
        ValueError
            Saying which structures fit that dimension (mclust's models).
        """
        return None

    @staticmethod
    def scatter_variances(scatter):
        """Per-feature diagonal of a scatter array, shape (K, d) (NumPy)."""
        if scatter.ndim == 3:
            return np.diagonal(scatter, axis1=1, axis2=2)
        return scatter

    def validate(self, array, n_components, n_features, what, argument=None):
        """Check a user-given covariance or precision array: shape, symmetry, PD.

        Parameters
        ----------
        array : array-like
        n_components, n_features : int
        what : str
            The parameter as scikit-learn names it in its messages, e.g.
            ``'full precision'``.
        argument : str, optional
            The argument it came from (``'precisions_init'``), named in the
            message.

        Raises
        ------
        ValueError
            In scikit-learn's wording, naming the problem and the expected shape.
        """
        array = np.asarray(array, dtype=np.float64)
        expected = self.shape(n_components, n_features)
        check = f" Check {argument}." if argument else ""
        if array.shape != expected:
            raise ValueError(
                f"The parameter '{what}' should have the shape of {expected}, but "
                f"got {array.shape} (covariance_type={self.name!r}, "
                f"n_components={n_components}, n_features={n_features}).{check}"
            )
        if not np.isfinite(array).all():
            raise ValueError(f"The parameter '{what}' contains NaN or infinity.{check}")
        return array

    def __repr__(self):
        return f"{type(self).__name__}()"


class _MatrixStructure(CovarianceStructure):
    """Shared parts of structures whose parameters are full (d, d) matrices."""

    full_scatter = True

    def validate(self, array, n_components, n_features, what, argument=None):
        array = super().validate(array, n_components, n_features, what, argument)
        check = f" Check {argument}." if argument else ""
        stack = array.reshape(-1, n_features, n_features)
        if not np.allclose(stack, np.swapaxes(stack, 1, 2)):
            raise ValueError(
                f"'{what}' should be symmetric, positive-definite; the given "
                f"matrices are not symmetric.{check}"
            )
        smallest = np.linalg.eigvalsh(stack)[:, 0]
        if (smallest <= 0).any():
            raise ValueError(
                f"'{what}' should be symmetric, positive-definite; matrix "
                f"{int(np.argmin(smallest))} has eigenvalue {smallest.min():.3g}."
                + check
            )
        return array

    def scatter(self, X, weighted_resp, means, xp):
        n_components, n_features = weighted_resp.shape[1], X.shape[1]
        if _pairs_pay_off(n_components, n_features):
            second = _pairwise_second_moments(X, weighted_resp, xp)
        else:
            second = _stacked_second_moments(X, weighted_resp, xp)
        nk = to_numpy(xp.sum(weighted_resp, axis=0)).astype(np.float64)
        means = to_numpy(means).astype(np.float64)
        return second - nk[:, None, None] * (means[:, :, None] * means[:, None, :])

    def deviation_scatter(self, deviations, weights, xp):
        weighted = deviations * weights[:, None]
        return xp.matmul(xp.permute_dims(weighted, (1, 0)), deviations)


class Full(_MatrixStructure):
    """Each component has its own full covariance matrix; shape (K, d, d)."""

    name = "full"
    independent_components = True
    prior_rule = mclust_rules.VVV_RULE

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def covariances_from_scatter(self, scatter, nk, reg_covar, start=None):
        covariances = scatter / nk[:, None, None]
        # the diagonals as a strided view of the flat matrices
        n_features = covariances.shape[-1]
        covariances.reshape(len(covariances), -1)[:, :: n_features + 1] += reg_covar
        return covariances

    def precision_cholesky(self, covariances):
        return _upper_precision_cholesky(covariances)

    def precision_cholesky_from_precisions(self, precisions):
        return _upper_cholesky_of_precisions(precisions)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, 1, 2)

    def covariances_from_precision_cholesky(self, precisions_cholesky):
        # P = U U^T, so cov = U^{-T} U^{-1}; U^{-T} is the inverse of U^T (lower)
        lower_inverses = _lower_triangular_inverses(
            np.swapaxes(precisions_cholesky, 1, 2)
        )
        return lower_inverses @ np.swapaxes(lower_inverses, 1, 2)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(precisions_cholesky.diagonal(axis1=1, axis2=2)).sum(axis=1)

    def matrices(self, covariances, n_components, n_features):
        return np.asarray(covariances)

    def sampling_factors(self, covariances, n_components):
        return _lower_cholesky(covariances)

    def squared_mahalanobis(self, X, means, precisions_cholesky, xp):
        n_components, n_features, _ = precisions_cholesky.shape
        if _pairs_pay_off(n_components, n_features):
            return _expanded_distances(X, means, precisions_cholesky, xp)
        return _whitened_distances(X, means, precisions_cholesky, xp)

    def whiten(self, deviations, precisions_cholesky, xp):
        return xp.matmul(deviations, precisions_cholesky)


class Tied(_MatrixStructure):
    """All components share one full covariance matrix; shape (d, d)."""

    name = "tied"
    prior_rule = mclust_rules.EEE_RULE
    shared_matrix = True

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def n_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def covariances_from_scatter(self, scatter, nk, reg_covar, start=None):
        covariance = scatter.sum(axis=0)
        covariance /= nk.sum()
        # the diagonal as a strided view of the flat matrix
        covariance.reshape(-1)[:: covariance.shape[0] + 1] += reg_covar
        return covariance

    def precision_cholesky(self, covariances):
        return _one_upper_precision_cholesky(covariances)

    def precision_cholesky_from_precisions(self, precisions):
        return _upper_cholesky_of_precisions(precisions[None])[0]

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ precisions_cholesky.T

    def covariances_from_precision_cholesky(self, precisions_cholesky):
        return Full().covariances_from_precision_cholesky(precisions_cholesky[None])[0]

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(np.diagonal(precisions_cholesky)).sum()

    def matrices(self, covariances, n_components, n_features):
        return np.broadcast_to(covariances, (n_components, n_features, n_features))

    def sampling_factors(self, covariances, n_components):
        factor = _lower_cholesky(covariances[None])[0]
        return np.broadcast_to(factor, (n_components, *factor.shape))

    def squared_mahalanobis(self, X, means, precisions_cholesky, xp):
        # one whitening shared by all K, then the expanded quadratic form
        whitened = xp.matmul(X, precisions_cholesky)  # (n, d)
        whitened_means = xp.matmul(means, precisions_cholesky)  # (K, d)
        return (
            xp.vecdot(whitened, whitened, axis=-1)[:, None]
            - 2.0 * xp.matmul(whitened, xp.permute_dims(whitened_means, (1, 0)))
            + xp.vecdot(whitened_means, whitened_means, axis=-1)[None, :]
        )

    def whiten(self, deviations, precisions_cholesky, xp):
        return xp.matmul(deviations, precisions_cholesky)


class _DiagonalStructure(CovarianceStructure):
    """Shared parts of structures with diagonal covariances."""

    full_scatter = False

    def validate(self, array, n_components, n_features, what, argument=None):
        array = super().validate(array, n_components, n_features, what, argument)
        if (array <= 0).any():
            check = f" Check {argument}." if argument else ""
            raise ValueError(
                f"'{what}' should be positive; the smallest given value is "
                f"{array.min():.3g}.{check}"
            )
        return array

    def precision_cholesky(self, covariances):
        if (covariances <= 0).any() or not np.isfinite(covariances).all():
            failed = np.flatnonzero(
                ~(covariances > 0).reshape(len(covariances), -1).all(axis=1)
            )
            raise _singular(failed.tolist())
        return 1.0 / np.sqrt(covariances)

    def precision_cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky**2

    def covariances_from_precision_cholesky(self, precisions_cholesky):
        return 1.0 / precisions_cholesky**2

    def scatter(self, X, weighted_resp, means, xp):
        # sum_i r_ik (x_i - m_k)^2 = r_k^T x^2 - n_k m_k^2: one product for all K
        nk = xp.sum(weighted_resp, axis=0)
        second = xp.matmul(xp.permute_dims(weighted_resp, (1, 0)), X * X)
        return second - nk[:, None] * means * means

    def deviation_scatter(self, deviations, weights, xp):
        return xp.matmul(weights[None, :], deviations * deviations)[0, :]


class Diagonal(_DiagonalStructure):
    """Each component has its own diagonal covariance; shape (K, d)."""

    name = "diag"
    independent_components = True
    prior_rule = mclust_rules.VVI_RULE

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features

    def covariances_from_scatter(self, scatter, nk, reg_covar, start=None):
        return scatter / nk[:, None] + reg_covar

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(precisions_cholesky).sum(axis=1)

    def matrices(self, covariances, n_components, n_features):
        return np.stack([np.diag(row) for row in covariances])

    def sampling_factors(self, covariances, n_components):
        return np.sqrt(covariances)

    def squared_mahalanobis(self, X, means, precisions_cholesky, xp):
        # expanded quadratic form: three matrix products for all components
        precisions = precisions_cholesky * precisions_cholesky  # (K, d)
        return (
            xp.matmul(X * X, xp.permute_dims(precisions, (1, 0)))
            - 2.0 * xp.matmul(X, xp.permute_dims(means * precisions, (1, 0)))
            + xp.sum(means * means * precisions, axis=1)[None, :]
        )

    def whiten(self, deviations, precisions_cholesky, xp):
        return deviations * precisions_cholesky[:, None, :]


class Spherical(_DiagonalStructure):
    """Each component has one variance shared by all features; shape (K,)."""

    name = "spherical"
    independent_components = True
    prior_rule = mclust_rules.VII_RULE

    def shape(self, n_components, n_features):
        return (n_components,)

    def n_parameters(self, n_components, n_features):
        return n_components

    def covariances_from_scatter(self, scatter, nk, reg_covar, start=None):
        return (scatter / nk[:, None] + reg_covar).mean(axis=1)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return n_features * np.log(precisions_cholesky)

    def matrices(self, covariances, n_components, n_features):
        return np.asarray(covariances)[:, None, None] * np.eye(n_features)

    def sampling_factors(self, covariances, n_components):
        return np.sqrt(covariances)[:, None]

    def squared_mahalanobis(self, X, means, precisions_cholesky, xp):
        precisions = precisions_cholesky * precisions_cholesky  # (K,)
        squared_norms = xp.sum(X * X, axis=1)[:, None]
        cross = xp.matmul(X, xp.permute_dims(means, (1, 0)))
        mean_norms = xp.sum(means * means, axis=1)[None, :]
        return (squared_norms - 2.0 * cross + mean_norms) * precisions[None, :]

    def whiten(self, deviations, precisions_cholesky, xp):
        return deviations * precisions_cholesky[:, None, None]


# -- fast forms of the full-covariance E-step and M-step ------------------------
# Two arrangements put the work into matrix products; which one is faster depends
# on the shape (measured in benchmarks/RESULTS.md: with d=8, K=30 the pairwise
# form is ~2x faster; with d=16, K=16 the whitened one is ~1.6x faster): the
# pairwise products have d(d+1)/2 + d columns, the whitened coordinates K*d.


def _pairs_pay_off(n_components, n_features):
    """Whether the pairwise-product form beats the whitened one for this shape."""
    return n_components > n_features + 3


def _expanded_distances(X, means, precisions_cholesky, xp):
    """(x - m)^T P (x - m) = sum_{i<=j} c_ij x_i x_j - 2 x^T P m + m^T P m.

    The exponential-family form: two matrix products for all components and no
    (n, K, d) temporary.
    """
    precisions = xp.matmul(
        precisions_cholesky, xp.permute_dims(precisions_cholesky, (0, 2, 1))
    )
    linear = xp.matmul(precisions, means[:, :, None])[:, :, 0]  # P m, (K, d)
    constant = xp.sum(linear * means, axis=1)  # m^T P m, (K,)
    quadratic = _upper_triangle(precisions, xp, off_diagonal_factor=2.0)
    return (
        xp.matmul(_pair_products(X, xp), xp.permute_dims(quadratic, (1, 0)))
        - 2.0 * xp.matmul(X, xp.permute_dims(linear, (1, 0)))
        + constant[None, :]
    )


def _whitened_distances(X, means, precisions_cholesky, xp):
    """Whitened coordinates of every component in one product, (n, d) @ (d, K*d)."""
    n_components, n_features, _ = precisions_cholesky.shape
    stacked = xp.reshape(
        xp.permute_dims(precisions_cholesky, (1, 0, 2)),
        (n_features, n_components * n_features),
    )
    whitened = xp.reshape(xp.matmul(X, stacked), (X.shape[0], n_components, n_features))
    whitened_means = xp.sum(means[:, :, None] * precisions_cholesky, axis=1)
    whitened = whitened - whitened_means[None, :, :]
    return xp.vecdot(whitened, whitened, axis=-1)


def _pairwise_second_moments(X, weighted_resp, xp):
    """sum_i r_ik x_i x_i^T from one product (K, n) @ (n, d(d+1)/2), on the host."""
    pairs = to_numpy(
        xp.matmul(xp.permute_dims(weighted_resp, (1, 0)), _pair_products(X, xp))
    ).astype(np.float64)
    n_components, n_features = pairs.shape[0], X.shape[1]
    rows, cols = np.triu_indices(n_features)
    second = np.empty((n_components, n_features, n_features))
    second[:, rows, cols] = pairs
    second[:, cols, rows] = pairs
    return second


def _stacked_second_moments(X, weighted_resp, xp):
    """sum_i r_ik x_i x_i^T from one product (K*d, n) @ (n, d), on the host."""
    n_samples, n_features = X.shape
    n_components = weighted_resp.shape[1]
    weighted_rows = xp.reshape(
        weighted_resp[:, :, None] * X[:, None, :],
        (n_samples, n_components * n_features),
    )
    second = xp.matmul(xp.permute_dims(weighted_rows, (1, 0)), X)
    return to_numpy(xp.reshape(second, (n_components, n_features, n_features))).astype(
        np.float64
    )


COVARIANCE_STRUCTURES: dict[str, CovarianceStructure] = {
    structure.name: structure for structure in (Full(), Tied(), Diagonal(), Spherical())
}


def get_covariance_structure(name):
    """Return the covariance structure registered as ``name``.

    Parameters
    ----------
    name : str or CovarianceStructure
        A registered name such as ``'full'``, or a structure (returned as is).

    Raises
    ------
    ValueError
        If ``name`` is not registered; the message lists the valid names.
    """
    if isinstance(name, CovarianceStructure):
        return name
    try:
        return COVARIANCE_STRUCTURES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown covariance_type {name!r}; valid ones are "
            f"{sorted(COVARIANCE_STRUCTURES)}"
        ) from None
