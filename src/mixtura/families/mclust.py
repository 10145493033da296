"""mclust's eigen-decomposition covariance models, as covariance structures.

Banfield & Raftery (1993) and Celeux & Govaert (1995) write each component's
covariance as ``Sigma_k = lambda_k D_k A_k D_k^T``: a volume ``lambda_k`` (a
scalar), a shape ``A_k`` (diagonal, determinant one) and an orientation ``D_k``
(orthogonal). Each of the three is either Equal across components, Variable, or
the Identity, which names the 14 multivariate models of mclust (Scrucca et al.
2016): EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV and VVV,
and the univariate E and V.

Every model here is a :class:`~mixtura.families.covariance.CovarianceStructure`
registered in :data:`MCLUST_STRUCTURES` (and so in the Gaussian family's registry):
``GaussianMixture(covariance_type='VEV')`` is a lookup. Parameters are stored in
the simplest shape the E-step already handles: one variance per component (K,)
for the spherical models and E, V; per-component diagonals (K, d) for the
diagonal models; full matrices (K, d, d) for the models with an orientation. Only
the M-step (:meth:`covariances_from_scatter`) and the parameter count differ
from the plain spherical / diagonal / full structures.

The M-steps minimise ``sum_k n_k log det Sigma_k + tr(W_k Sigma_k^{-1})`` over
the model's constraints, where ``W_k`` is component k's weighted centred scatter
and ``n_k`` its weight. Closed forms are those of Celeux & Govaert (1995);
VEI, VEV and VEE alternate exact block updates of volumes and shape (Celeux &
Govaert 1995, sections 3.2-3.4); EVE and VVE update the common orientation by the
majorisation-minimisation step of Browne & McNicholas (2014). ``reg_covar`` is
added as ``n_k * reg_covar * I`` to each scatter before the constrained M-step, so
that VVV equals ``'full'`` exactly and every model keeps its constraints.

References
----------
Banfield, J. D. & Raftery, A. E. (1993). Model-based Gaussian and non-Gaussian
clustering. Biometrics 49, 803-821.
Celeux, G. & Govaert, G. (1995). Gaussian parsimonious clustering models.
Pattern Recognition 28, 781-793.
Browne, R. P. & McNicholas, P. D. (2014). Estimating common principal components
in high dimensions. Advances in Data Analysis and Classification 8, 217-226.
Scrucca, L., Fop, M., Murphy, T. B. & Raftery, A. E. (2016). mclust 5: clustering,
classification and density estimation using Gaussian finite mixture models. The R
Journal 8, 289-317.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lapack

from mixtura.families.covariance import (
    CovarianceStructure,
    Diagonal,
    Full,
    Spherical,
    _singular,
)
from mixtura.priors import mclust_rules

__all__ = [
    "MCLUST_MODELS",
    "MCLUST_STRUCTURES",
    "MULTIVARIATE_MODELS",
    "UNIVARIATE_MODELS",
]

#: mclust's multivariate models, in mclust's order.
MULTIVARIATE_MODELS = (
    "EII",
    "VII",
    "EEI",
    "VEI",
    "EVI",
    "VVI",
    "EEE",
    "VEE",
    "EVE",
    "VVE",
    "EEV",
    "VEV",
    "EVV",
    "VVV",
)
#: mclust's univariate models.
UNIVARIATE_MODELS = ("E", "V")
MCLUST_MODELS = UNIVARIATE_MODELS + MULTIVARIATE_MODELS

#: Relative change of the M-step objective below which inner iterations stop.
#: mclust stops at sqrt(eps) (``emControl()$tol[2]``) on its own measure of
#: change; on this objective sqrt(eps) leaves VEI's covariances 1e-5 (relative)
#: from mclust's M-step (``tests/priors/test_mclust.py``), 1e-10 within 1e-6.
#: The inner iterations begin from the previous M-step's parameters (see
#: ``_usable_start``), so few are needed once EM settles.
INNER_TOL = 1e-10
#: Most inner iterations of one iterative M-step.
INNER_MAX_ITER = 500


# -- small helpers -----------------------------------------------------------------
# The helpers below run inside the M-steps' ``np.errstate(all="ignore")`` (in
# ``covariances_from_scatter``): a degenerate scatter gives 0 or NaN, which
# ``_check_finite`` then names. They use array methods and ``@`` rather than
# ``np.mean`` / ``np.sum`` / ``np.einsum``: on the (K, d) arrays of a small fit
# each NumPy call's overhead is the cost, and the function forms add 1-5 us.
def _geometric_mean(values):
    """``prod(values) ** (1 / d)`` along the last axis, computed in logs."""
    return np.exp(np.log(values).sum(axis=-1) / values.shape[-1])


def _check_finite(covariances):
    """Raise SingularCovarianceError naming components with non-finite or
    non-positive parameters."""
    flat = covariances.reshape(len(covariances), -1)
    # variances must be positive and finite (NaN fails both comparisons)
    good = np.isfinite(flat) if covariances.ndim == 3 else (flat > 0) & (flat < np.inf)
    if good.all():  # one test of the whole array: every M-step of a fit calls this
        return covariances
    raise _singular(np.flatnonzero(~good.all(axis=1)).tolist())


def _usable_start(start, shape):
    """``start`` as a float64 array when it can seed an inner iteration, else None.

    The covariances before an M-step (see
    :meth:`~mixtura.families.covariance.CovarianceStructure.covariances_from_scatter`):
    beginning the inner iterations there, rather than from the scatter alone,
    makes each M-step improve on the previous parameters (a generalised EM
    step, as mclust's Fortran keeps its inner state across EM iterations) and
    needs few inner iterations once EM settles.
    """
    if start is None:
        return None
    start = np.asarray(start, dtype=np.float64)
    if start.shape != shape or not np.isfinite(start).all():
        return None
    return start


def _start_volumes(start, shape):
    """Per-component volumes ``det(Sigma_k)^(1/d)`` of the start, or None."""
    start = _usable_start(start, shape)
    if start is None:
        return None
    if start.ndim == 3:
        sign, log_det = np.linalg.slogdet(start)
        if (sign <= 0).any():
            return None
        return np.exp(log_det / start.shape[-1])
    if (start <= 0).any():
        return None
    return _geometric_mean(start)


def _regularised_matrices(scatter, nk, reg_covar):
    """``W_k + n_k reg_covar I``, shape (K, d, d).

    ``scatter`` itself without a ridge (mclust's grids): the models' rules
    below never write into their input.
    """
    if reg_covar == 0:
        return scatter
    regularised = scatter.copy()
    diagonal = np.arange(scatter.shape[-1])
    regularised[:, diagonal, diagonal] += (nk * reg_covar)[:, None]
    return regularised


def _symmetric(matrices):
    return 0.5 * (matrices + np.swapaxes(matrices, -1, -2))


def _converged(previous, current):
    return abs(previous - current) <= INNER_TOL * (1.0 + abs(current))


def _orthogonal_factor(matrix):
    """``U V^T`` from the SVD ``U S V^T`` of one (d, d) float64 matrix.

    LAPACK's ``gesdd`` called directly: for one small matrix NumPy's wrapper
    costs several times the decomposition, and the EVE / VVE M-steps take one
    per inner iteration.
    """
    left, _, right, info = lapack.dgesdd(matrix)
    if info != 0:
        raise np.linalg.LinAlgError(f"SVD did not converge (LAPACK info {info})")
    return left @ right


def _eigenvectors(matrix):
    """Eigenvectors of one symmetric (d, d) float64 matrix, eigenvalues ascending
    (``np.linalg.eigh``'s order; LAPACK's ``syevd`` called directly, as above)."""
    _, vectors, info = lapack.dsyevd(matrix)
    if info != 0:
        raise np.linalg.LinAlgError(f"eigh did not converge (LAPACK info {info})")
    return vectors


def _sorted_eigh(matrices):
    """Eigenvalues (K, d) in decreasing order and their eigenvectors (K, d, d)."""
    values, vectors = np.linalg.eigh(matrices)
    return values[:, ::-1], vectors[:, :, ::-1]


def _compose(vectors, shapes):
    """``D_k diag(s_k) D_k^T`` for vectors (K, d, d) or (d, d), shapes (K, d)."""
    return _symmetric((vectors * shapes[:, None, :]) @ np.swapaxes(vectors, -1, -2))


def _equal_volume_variable_shape(values, nk):
    """EVI / EEV-like split: ``lambda * A_k`` with ``det A_k = 1``, lambda common.

    Parameters
    ----------
    values : ndarray of shape (K, d)
        Per-component eigenvalues (or diagonals) of the scatter.
    nk : ndarray of shape (K,)

    Returns
    -------
    scaled : ndarray of shape (K, d)
        ``lambda A_k`` with ``lambda = sum_k det(diag values_k)^(1/d) / n``.
    """
    volumes = _geometric_mean(values)
    lam = volumes.sum() / nk.sum()
    return lam * values / volumes[:, None]


def _variable_volume_equal_shape(values, nk, volumes=None):
    """``lambda_k A`` with one shape A (det 1) for all k (Celeux & Govaert 1995).

    Alternates ``A = normalise(sum_k values_k / lambda_k)`` and
    ``lambda_k = sum_j (values_kj / A_j) / (n_k d)``, each the exact minimiser
    given the other, so the objective ``d sum_k n_k log lambda_k`` decreases.

    Parameters
    ----------
    values : ndarray of shape (K, d)
        Diagonal scatters (VEI) or sorted scatter eigenvalues (VEV).
    nk : ndarray of shape (K,)
    volumes : ndarray of shape (K,) or None
        The ``lambda_k`` to begin from (the previous M-step's); None begins
        from ``tr(W_k) / (n_k d)``. The minimiser is unique (the objective is
        convex in the log parameters), so only the number of iterations
        depends on it.

    Returns
    -------
    scaled : ndarray of shape (K, d)
        ``lambda_k A``.
    """
    d = values.shape[1]
    lam = values.sum(axis=1) / (nk * d) if volumes is None else volumes
    previous = np.inf
    for _ in range(INNER_MAX_ITER):
        pooled = (values / lam[:, None]).sum(axis=0)
        shape = pooled / _geometric_mean(pooled)
        lam = (values / shape).sum(axis=1) / (nk * d)
        objective = d * (np.log(lam) @ nk)
        if _converged(previous, objective):
            break
        previous = objective
    return lam[:, None] * shape


# -- spherical models: E, V, EII, VII -----------------------------------------------
class _MclustStructure(CovarianceStructure):
    """What mclust's models share: the dimension check."""

    # the constraints across components are the model's own: the few models
    # without them (VII, VVI, VVV) say so
    independent_components = False

    #: whether the model is one of mclust's univariate models (E, V)
    univariate = False
    #: mclust's conjugate prior rule (None for VEE, EVE, VVE, EVV, which have none)
    prior_rule = None

    def check_n_features(self, n_features):
        """Refuse data of the wrong dimension with a message that says what to use.

        Parameters
        ----------
        n_features : int

        Raises
        ------
        ValueError
            A multivariate model on one feature, or E / V on several.
        """
        if self.univariate and n_features != 1:
            raise ValueError(
                f"covariance_type={self.name!r} is one of mclust's univariate "
                f"models, but the data have {n_features} features; use a "
                f"multivariate model such as 'EII', 'VVV' or any of "
                f"{list(MULTIVARIATE_MODELS)}."
            )
        if not self.univariate and n_features == 1:
            raise ValueError(
                f"covariance_type={self.name!r} is one of mclust's multivariate "
                "models, but the data have one feature; use 'E' (equal variance) "
                "or 'V' (variable variance) for univariate data."
            )


class _SphericalModel(_MclustStructure, Spherical):
    """Spherical covariances ``lambda_k I``; stored as variances, shape (K,)."""

    equal_volume: bool

    def n_parameters(self, n_components, n_features):
        return 1 if self.equal_volume else n_components

    def covariances_from_scatter(self, scatter, nk, reg_covar, start=None):
        traces = self.scatter_variances(scatter).sum(axis=1)
        d = self.scatter_variances(scatter).shape[1]
        traces = traces + nk * reg_covar * d
        with np.errstate(all="ignore"):
            variances = self._volumes(traces, nk, d)
        return _check_finite(variances)

    def _volumes(self, traces, nk, d):
        if self.equal_volume:
            return np.full(len(nk), traces.sum() / (nk.sum() * d))
        return traces / (nk * d)


class EII(_SphericalModel):
    """Spherical, equal volume: ``Sigma_k = lambda I``."""

    name = "EII"
    prior_rule = mclust_rules.EII_RULE
    equal_volume = True


class VII(_SphericalModel):
    """Spherical, variable volume: ``Sigma_k = lambda_k I``."""

    name = "VII"
    independent_components = True
    prior_rule = mclust_rules.VII_RULE
    equal_volume = False


class E(EII):
    """Univariate, equal variance."""

    name = "E"
    prior_rule = mclust_rules.E_RULE
    univariate = True


class V(VII):
    """Univariate, variable variance."""

    name = "V"
    univariate = True


# -- diagonal models: EEI, VEI, EVI, VVI ---------------------------------------------
class _DiagonalModel(_MclustStructure, Diagonal):
    """Axis-aligned covariances ``lambda_k A_k``; stored as diagonals (K, d)."""

    def covariances_from_scatter(self, scatter, nk, reg_covar, start=None):
        diagonals = self.scatter_variances(scatter) + (nk * reg_covar)[:, None]
        with np.errstate(all="ignore"):
            return _check_finite(self._constrained(diagonals, nk, start))

    def _constrained(self, diagonals, nk, start=None):
        """The model's covariances (K, d) from regularised scatter diagonals.

        ``start``: the previous covariances, where an iterative rule begins.
        """
        raise NotImplementedError


class EEI(_DiagonalModel):
    """Diagonal, equal volume and shape: ``Sigma_k = lambda A`` (closed form)."""

    name = "EEI"
    prior_rule = mclust_rules.EEI_RULE

    def n_parameters(self, n_components, n_features):
        return n_features

    def _constrained(self, diagonals, nk, start=None):
        pooled = diagonals.sum(axis=0) / nk.sum()
        return np.broadcast_to(pooled, diagonals.shape).copy()


class VEI(_DiagonalModel):
    """Diagonal, variable volume, equal shape: ``lambda_k A`` (iterative).

    Celeux & Govaert (1995): alternate the common shape and the volumes.
    """

    name = "VEI"
    prior_rule = mclust_rules.VEI_RULE

    def n_parameters(self, n_components, n_features):
        return n_components + n_features - 1

    def _constrained(self, diagonals, nk, start=None):
        volumes = _start_volumes(start, diagonals.shape)
        return _variable_volume_equal_shape(diagonals, nk, volumes)


class EVI(_DiagonalModel):
    """Diagonal, equal volume, variable shape: ``lambda A_k`` (closed form)."""

    name = "EVI"
    prior_rule = mclust_rules.EVI_RULE

    def n_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1)

    def _constrained(self, diagonals, nk, start=None):
        return _equal_volume_variable_shape(diagonals, nk)


class VVI(_DiagonalModel):
    """Diagonal, variable volume and shape: ``lambda_k A_k`` (as ``'diag'``)."""

    name = "VVI"
    independent_components = True
    prior_rule = mclust_rules.VVI_RULE

    def n_parameters(self, n_components, n_features):
        return n_components * n_features

    def _constrained(self, diagonals, nk, start=None):
        return diagonals / nk[:, None]


# -- models with an orientation: full matrices (K, d, d) ----------------------------
def _n_rotation(n_features):
    """Free parameters of one orientation matrix D: d (d - 1) / 2."""
    return n_features * (n_features - 1) // 2


class _MatrixModel(_MclustStructure, Full):
    """Covariances with orientations; stored as full matrices (K, d, d)."""

    def covariances_from_scatter(self, scatter, nk, reg_covar, start=None):
        regularised = _regularised_matrices(scatter, nk, reg_covar)
        try:
            with np.errstate(all="ignore"):
                covariances = self._constrained(regularised, nk, start)
        except np.linalg.LinAlgError:
            flat = np.linalg.eigvalsh(regularised)[:, 0] <= 0
            raise _singular(np.flatnonzero(flat).tolist()) from None
        return _check_finite(covariances)

    def _constrained(self, scatter, nk, start=None):
        """The model's covariances (K, d, d) from regularised scatter matrices.

        ``start``: the previous covariances, where an iterative rule begins.
        """
        raise NotImplementedError


class EEE(_MatrixModel):
    """Ellipsoidal, all equal: ``Sigma_k = lambda D A D^T`` (pooled covariance)."""

    name = "EEE"
    prior_rule = mclust_rules.EEE_RULE

    def n_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def _constrained(self, scatter, nk, start=None):
        pooled = scatter.sum(axis=0) / nk.sum()
        return np.broadcast_to(pooled, scatter.shape).copy()


class VVV(_MatrixModel):
    """Ellipsoidal, all variable: ``Sigma_k = W_k / n_k`` (as ``'full'``)."""

    name = "VVV"
    independent_components = True
    prior_rule = mclust_rules.VVV_RULE

    def n_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def _constrained(self, scatter, nk, start=None):
        return scatter / nk[:, None, None]


class EVV(_MatrixModel):
    """Equal volume, variable shape and orientation: ``lambda C_k``, det C_k = 1.

    Closed form (Celeux & Govaert 1995): ``C_k = W_k / det(W_k)^(1/d)``,
    ``lambda = sum_k det(W_k)^(1/d) / n``.
    """

    name = "EVV"

    def n_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1 + _n_rotation(n_features))

    def _constrained(self, scatter, nk, start=None):
        sign, log_det = np.linalg.slogdet(scatter)
        with np.errstate(invalid="ignore"):
            volumes = np.where(sign > 0, np.exp(log_det / scatter.shape[-1]), np.nan)
        lam = volumes.sum() / nk.sum()
        return lam * scatter / volumes[:, None, None]


class EEV(_MatrixModel):
    """Equal volume and shape, variable orientation: ``lambda D_k A D_k^T``.

    Closed form (Celeux & Govaert 1995): ``D_k`` are the eigenvectors of ``W_k``
    (eigenvalues decreasing), ``lambda A = sum_k Omega_k / n`` with ``Omega_k``
    the sorted eigenvalues.
    """

    name = "EEV"
    prior_rule = mclust_rules.EEV_RULE

    def n_parameters(self, n_components, n_features):
        return n_features + n_components * _n_rotation(n_features)

    def _constrained(self, scatter, nk, start=None):
        values, vectors = _sorted_eigh(scatter)
        shape = values.sum(axis=0) / nk.sum()
        return _compose(vectors, np.broadcast_to(shape, values.shape))


class VEV(_MatrixModel):
    """Variable volume and orientation, equal shape: ``lambda_k D_k A D_k^T``.

    Iterative (Celeux & Govaert 1995): ``D_k`` are the eigenvectors of ``W_k``;
    the volumes and the common shape alternate on the sorted eigenvalues.
    """

    name = "VEV"
    prior_rule = mclust_rules.VEV_RULE

    def n_parameters(self, n_components, n_features):
        return n_components + n_features - 1 + n_components * _n_rotation(n_features)

    def _constrained(self, scatter, nk, start=None):
        values, vectors = _sorted_eigh(scatter)
        volumes = _start_volumes(start, scatter.shape)
        return _compose(vectors, _variable_volume_equal_shape(values, nk, volumes))


class VEE(_MatrixModel):
    """Variable volume, equal shape and orientation: ``lambda_k C``, det C = 1.

    Iterative (Celeux & Govaert 1995): alternate
    ``lambda_k = tr(W_k C^{-1}) / (n_k d)`` and
    ``C = normalise(sum_k W_k / lambda_k)``, each exact given the other.
    """

    name = "VEE"

    def n_parameters(self, n_components, n_features):
        return n_components + n_features - 1 + _n_rotation(n_features)

    def _constrained(self, scatter, nk, start=None):
        d = scatter.shape[-1]
        start = _usable_start(start, scatter.shape)
        # the common shape C (det 1) of the previous covariances lambda_k C
        pooled = scatter.sum(axis=0) if start is None else start[0]
        flat_scatter = scatter.reshape(len(scatter), -1)
        previous = np.inf
        for _ in range(INNER_MAX_ITER):
            common = pooled / np.exp(np.linalg.slogdet(pooled)[1] / d)
            # tr(W_k C^{-1}) for all k in one product (C^{-1} is symmetric)
            lam = flat_scatter @ np.linalg.inv(common).reshape(-1) / (nk * d)
            # stopping here, after the volumes, returns a pair (lam_k, C) in
            # which each is exact given the other, without a last update
            objective = d * (np.log(lam) @ nk)
            if _converged(previous, objective):
                break
            previous = objective
            pooled = (scatter / lam[:, None, None]).sum(axis=0)
        return _symmetric(lam[:, None, None] * common)


class _CommonOrientationModel(_MatrixModel):
    """``D diag(s_k) D^T`` with one orientation D (EVE, VVE).

    Alternates the per-component diagonals ``s_k`` given D (closed form) and one
    majorisation-minimisation step for D given the ``s_k`` (Browne & McNicholas
    2014): with ``w_k`` the largest eigenvalue of ``W_k``, the concave part of
    ``sum_k tr(D^T W_k D diag(1/s_k))`` is majorised by its tangent, and the
    minimiser is ``D = U V^T`` from the SVD ``U S V^T`` of
    ``sum_k (w_k I - W_k) D diag(1/s_k)``. Each step lowers the objective.
    """

    def _diagonals(self, rotated, nk):
        """``s_k`` (K, d) from ``diag(D^T W_k D)`` (K, d)."""
        raise NotImplementedError

    def _constrained(self, scatter, nk, start=None):
        start = _usable_start(start, scatter.shape)
        # the previous covariances D diag(s_k) D^T share D, the eigenvectors of
        # their sum; without them, those of the pooled scatter
        orientation = _eigenvectors(
            scatter.sum(axis=0) if start is None else start.sum(axis=0)
        )
        largest = np.linalg.eigvalsh(scatter)[:, -1, None, None]
        previous = np.inf
        for _ in range(INNER_MAX_ITER):
            # W_k D once: its columns against D's give diag(D^T W_k D), and
            # (w_k I - W_k) D = w_k D - W_k D gives the gradient (one product
            # an inner iteration instead of an einsum and a second product)
            projected = scatter @ orientation
            rotated = (orientation * projected).sum(axis=1)
            diagonals = self._diagonals(rotated, nk)
            objective = np.log(diagonals).sum(axis=1) @ nk + (rotated / diagonals).sum()
            if not math.isfinite(objective):  # a zero diagonal (singular scatter):
                # the gradient would not be finite, and gesdd may never return
                raise np.linalg.LinAlgError("the orientation's objective is not finite")
            if _converged(previous, objective):
                break  # the diagonals are those of the current orientation
            previous = objective
            shifted = largest * orientation - projected
            gradient = (shifted / diagonals[:, None, :]).sum(axis=0)
            orientation = _orthogonal_factor(gradient)
        else:  # out of iterations: the diagonals of the last orientation
            rotated = (orientation * (scatter @ orientation)).sum(axis=1)
            diagonals = self._diagonals(rotated, nk)
        return _compose(orientation, diagonals)


class EVE(_CommonOrientationModel):
    """Equal volume and orientation, variable shape: ``lambda D A_k D^T``."""

    name = "EVE"

    def n_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1) + _n_rotation(n_features)

    def _diagonals(self, rotated, nk):
        return _equal_volume_variable_shape(rotated, nk)


class VVE(_CommonOrientationModel):
    """Variable volume and shape, equal orientation: ``lambda_k D A_k D^T``."""

    name = "VVE"

    def n_parameters(self, n_components, n_features):
        return n_components * n_features + _n_rotation(n_features)

    def _diagonals(self, rotated, nk):
        return rotated / nk[:, None]


#: model name -> structure, in mclust's order (univariate models first).
MCLUST_STRUCTURES: dict[str, CovarianceStructure] = {
    cls.name: cls()
    for cls in (
        E,
        V,
        EII,
        VII,
        EEI,
        VEI,
        EVI,
        VVI,
        EEE,
        VEE,
        EVE,
        VVE,
        EEV,
        VEV,
        EVV,
        VVV,
    )
}
