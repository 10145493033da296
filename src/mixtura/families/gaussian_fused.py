"""One pass over a chunk for Gaussians with full matrices: E-step and statistics.

The quadratic form of every component is linear in the pairwise products of a row's
features (the Gaussian as an exponential family)::

    -(x - m)^T P (x - m) / 2 = sum_{i<=j} q_ij x_i x_j + x^T P m - m^T P m / 2

with ``q_ii = -P_ii / 2`` and ``q_ij = -P_ij`` above the diagonal. So the log
densities of all K components are one matrix product of the chunk's pairwise
products ``(rows, d (d + 1) / 2)`` with the components' coefficients, and the
M-step's second moments ``sum_i r_ik x_i x_i^T`` are one product of the
responsibilities with the *same* pairwise products. Building those products once
per chunk and using them twice, with the log-sum-exp and the exponential done in
place, leaves the BLAS nearly all the work and no ``(rows, K, d)`` temporary.

The data are centred on the family's reference point first (the mean of the
component means), and the family falls back to its accurate centred forms when the
means lie so far from it that the expanded squares would cancel digits.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PairForm",
    "fused_e_step",
    "fused_pairs_pay_off",
    "pair_products",
    "posterior_in_place",
    "second_moments_from_pairs",
]

_TRIU_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _triu(n_features):
    """Row and column indices of the upper triangle (cached per size)."""
    if n_features not in _TRIU_CACHE:
        _TRIU_CACHE[n_features] = np.triu_indices(n_features)
    return _TRIU_CACHE[n_features]


def pair_products(X, out=None):
    """Products ``x_i x_j`` for ``i <= j`` of every row, in ``triu_indices`` order.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    out : ndarray of shape (n_samples, n_features * (n_features + 1) // 2), optional
        Where to write them.

    Returns
    -------
    pairs : ndarray of shape (n_samples, n_features * (n_features + 1) // 2)
    """
    rows, cols = _triu(X.shape[1])
    return np.multiply(X[:, rows], X[:, cols], out=out)


def fused_pairs_pay_off(n_components, n_features):
    """Whether the pairwise products, shared by E-step and M-step, beat whitening.

    Building the products costs ``d (d + 1) / 2`` multiplications per row; the
    whitened form instead touches ``K d`` values per row three times (product,
    square, sum) in the E-step and again in the M-step. Measured on this code
    base (benchmarks/bench_gaussian.py): the pairs win from K of about d / 6 up.
    """
    return 6 * n_components > n_features + 1


class PairForm:
    """Coefficients of a Gaussian family's log densities on quadratic features.

    Two kinds of features: the pairwise products ``x_i x_j`` (i <= j) when the
    structure has full matrices, and the squares ``x_j^2`` when it is diagonal
    or spherical (its quadratic form has no cross terms).

    Parameters
    ----------
    precisions : ndarray of shape (n_components, n_features, n_features)
        Precision matrices.
    means : ndarray of shape (n_components, n_features)
        Means, centred on the reference point the data will be centred on.
    log_normalisers : ndarray of shape (n_components,)
        ``log det U_k - d/2 log 2 pi`` of each component.
    pairs : bool
        Pairwise products (full matrices) or squares (diagonal matrices).

    Attributes
    ----------
    quadratic : ndarray of shape (n_quadratic_features, n_components)
        Coefficients of the quadratic features.
    linear : ndarray of shape (n_features, n_components)
        ``P_k m_k``, the coefficients of the features.
    constant : ndarray of shape (n_components,)
        ``log_normaliser_k - m_k^T P_k m_k / 2``.
    """

    def __init__(self, precisions, means, log_normalisers, pairs=True):
        self.pairs = pairs
        n_features = means.shape[1]
        if pairs:
            rows, cols = _triu(n_features)
            factors = np.where(rows == cols, -0.5, -1.0)
            quadratic = precisions[:, rows, cols] * factors
        else:
            quadratic = -0.5 * np.diagonal(precisions, axis1=1, axis2=2)
        self.quadratic = np.ascontiguousarray(quadratic.T)
        linear = np.einsum("kij,kj->ki", precisions, means)
        self.linear = np.ascontiguousarray(linear.T)
        self.constant = log_normalisers - 0.5 * np.sum(linear * means, axis=1)
        self._by_dtype = {np.dtype(np.float64): self._arrays()}

    def _arrays(self):
        return self.quadratic, self.linear, self.constant

    def arrays(self, dtype):
        """The coefficients in ``dtype`` (converted once and kept)."""
        dtype = np.dtype(dtype)
        if dtype not in self._by_dtype:
            self._by_dtype[dtype] = tuple(a.astype(dtype) for a in self._arrays())
        return self._by_dtype[dtype]

    def features(self, centred):
        """The quadratic features of centred rows, (n_samples, n_quadratic)."""
        return pair_products(centred) if self.pairs else centred * centred

    def second_moments(self, weighted_resp, features):
        """``sum_i r_ik x_i x_i^T`` (pairs, (K, d, d)) or its diagonal ((K, d))."""
        if self.pairs:
            return second_moments_from_pairs(
                weighted_resp, features, self.linear.shape[0]
            )
        return (weighted_resp.T @ features).astype(np.float64)


def posterior_in_place(joint):
    """Turn joint log probabilities into responsibilities, in place.

    Parameters
    ----------
    joint : ndarray of shape (n_samples, n_components)
        ``log w_k + log p(x_i | k)``; overwritten with the responsibilities.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log sum_k exp(joint_ik)``.
    """
    peak = joint.max(axis=1, keepdims=True)
    peak[~np.isfinite(peak)] = 0.0  # a row of -inf: exp gives 0, log gives -inf
    joint -= peak
    np.exp(joint, out=joint)
    total = joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        joint /= total
        log_density = np.log(total[:, 0])
    log_density += peak[:, 0]
    return log_density


def second_moments_from_pairs(weighted_resp, pairs, n_features):
    """``sum_i r_ik x_i x_i^T`` of each component from the pairwise products.

    Parameters
    ----------
    weighted_resp : ndarray of shape (n_samples, n_components)
    pairs : ndarray of shape (n_samples, n_features * (n_features + 1) // 2)
    n_features : int

    Returns
    -------
    second : ndarray of shape (n_components, n_features, n_features), float64
    """
    upper = (weighted_resp.T @ pairs).astype(np.float64)
    rows, cols = _triu(n_features)
    second = np.empty((upper.shape[0], n_features, n_features))
    second[:, rows, cols] = upper
    second[:, cols, rows] = upper
    return second


def fused_e_step(family, pair_form, X, log_weights, sample_weight, moments):
    """E-step and statistics of one complete chunk of a Gaussian family.

    Parameters
    ----------
    family : Gaussian
        The current components (its reference point centres the data).
    pair_form : PairForm
        The family's coefficients.
    X : ndarray of shape (n_samples, n_features)
        A chunk of rows without missing entries.
    log_weights : ndarray of shape (n_components,)
        Log mixing weights (unnormalised ones are fine).
    sample_weight : ndarray of shape (n_samples,) or None
    moments : callable
        ``moments(centred, weighted, reference, second)`` -> MomentStats, the
        family's accurate moment assembly (it rechecks cancellation).

    Returns
    -------
    stats : MomentStats
    log_likelihood : float
        ``sum_i w_i log p(x_i)``.
    """
    dtype = X.dtype
    quadratic, linear, constant = pair_form.arrays(dtype)
    centred = X - family._reference.astype(dtype)
    features = pair_form.features(centred)
    joint = features @ quadratic
    joint += centred @ linear
    joint += (constant + np.asarray(log_weights)).astype(dtype)
    log_density = posterior_in_place(joint)
    weighted = joint if sample_weight is None else joint * sample_weight[:, None]
    if sample_weight is not None:
        log_density *= sample_weight
    second = pair_form.second_moments(weighted, features)
    stats = moments(centred, weighted, family._reference, second)
    return stats, float(np.sum(log_density, dtype=np.float64))
