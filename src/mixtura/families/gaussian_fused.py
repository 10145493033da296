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

Everything runs feature-major: a chunk's centred rows are transposed once to
``(d, rows)``, the quadratic features are built as ``(n_quadratic, rows)`` by
broadcasting contiguous rows (far faster than gathering columns), and the log
densities and responsibilities are ``(K, rows)``, so the log-sum-exp reduces over
K contiguous rows. Each thread reuses its own buffers across chunks and
iterations: fresh multi-megabyte temporaries would cost page faults on every
chunk.

The data are centred on a reference point first (a family's mean of the component
means). Nothing here knows the family: :mod:`~mixtura.families.gaussian_kernel`
chooses these forms, and falls back to accurate centred ones when the means lie
so far from the reference point that the expanded squares would cancel digits.
"""

from __future__ import annotations

import threading

import numpy as np

from mixtura.backend import posterior_in_place

__all__ = [
    "PairForm",
    "TiedForm",
    "centred_rows",
    "chunk_features",
    "feature_moments",
    "feature_sums",
    "fused_group_sums",
    "fused_pairs_pay_off",
    "pair_products_by_feature",
    "posterior_sums",
    "quadratic_moments",
    "row_block_product",
    "split_sums",
    "stacked_features",
    "symmetric_pair_index",
    "tied_group_sums",
    "upper_pair_indices",
]

_TRIU_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}

# Rows whose products one BLAS call may add up in the data's dtype before the
# partial sum moves to float64. A BLAS adds a dot product's n terms in an order
# of its own (each kernel blocks differently), so the only bound that holds
# for every kernel is the one on the length of the float32 sum: with random
# rounding, |error| <= lambda sqrt(n) (eps / 2) sum |terms| (Higham & Mary 2019,
# SIAM J. Sci. Comput. 41, A2815), whatever the order. Capping n at this block
# makes that sqrt(n) at most 64 on any machine; fewer, larger blocks would not
# be measurably faster (each block is still a large matrix product).
SUM_BLOCK_ROWS = 4096


def upper_pair_indices(n_features):
    """Row and column indices of the upper triangle, ``np.triu_indices(d)``.

    Cached per size (``np.triu_indices`` builds a mask each call, which costs
    more than a small fit's iteration); the arrays are shared: do not modify.
    """
    if n_features not in _TRIU_CACHE:
        _TRIU_CACHE[n_features] = np.triu_indices(n_features)
    return _TRIU_CACHE[n_features]


_PAIR_FACTORS_CACHE: dict[int, np.ndarray] = {}


def _pair_factors(n_features):
    """Each pair's coefficient in ``-x^T P x / 2``, in ``triu_indices`` order.

    ``-1/2`` for a square ``x_i^2``, ``-1`` for a product ``x_i x_j`` (i < j),
    which stands for both ``P_ij`` and ``P_ji``. Cached per size; read-only.
    """
    if n_features not in _PAIR_FACTORS_CACHE:
        rows, cols = upper_pair_indices(n_features)
        factors = np.where(rows == cols, -0.5, -1.0)
        factors.flags.writeable = False
        _PAIR_FACTORS_CACHE[n_features] = factors
    return _PAIR_FACTORS_CACHE[n_features]


_SYMMETRIC_CACHE: dict[int, np.ndarray] = {}


def symmetric_pair_index(n_features):
    """Flat (d * d,) index of each matrix entry's pair in ``triu_indices`` order.

    ``values[:, index]`` unfolds pair values, shape (K, n_pairs), into
    symmetric matrices, shape (K, d * d). Cached per size; do not modify.
    """
    if n_features not in _SYMMETRIC_CACHE:
        rows, cols = upper_pair_indices(n_features)
        index = np.empty((n_features, n_features), dtype=np.intp)
        index[rows, cols] = index[cols, rows] = np.arange(rows.size)
        _SYMMETRIC_CACHE[n_features] = index.ravel()
    return _SYMMETRIC_CACHE[n_features]


def pair_products_by_feature(XT, out):
    """Pairwise products of feature-major data, one contiguous row per pair.

    Parameters
    ----------
    XT : ndarray of shape (n_features, n_samples)
        Data, one row per feature (C-contiguous).
    out : ndarray of shape (n_features * (n_features + 1) // 2, n_samples)
        Written with ``out[pair(i, j)] = XT[i] * XT[j]`` in ``triu_indices``
        order.

    Returns
    -------
    out : ndarray of shape (n_features * (n_features + 1) // 2, n_samples)
    """
    n_features = XT.shape[0]
    start = 0
    for i in range(n_features):
        stop = start + n_features - i
        np.multiply(XT[i : i + 1], XT[i:], out=out[start:stop])
        start = stop
    return out


_WORKSPACE = threading.local()


def _buffer(name, shape, dtype):
    """A per-thread scratch array, reused while its shape and dtype match."""
    buffers = getattr(_WORKSPACE, "buffers", None)
    if buffers is None:
        buffers = _WORKSPACE.buffers = {}
    array = buffers.get(name)
    if array is None or array.shape != shape or array.dtype != dtype:
        array = buffers[name] = np.empty(shape, dtype=dtype)
    return array


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
    or spherical (its quadratic form has no cross terms). The features of a
    chunk are stacked with the centred coordinates themselves, so one product
    gives the log densities (quadratic and linear terms together) and one
    product the M-step's second *and* first moments.

    Parameters
    ----------
    precisions : ndarray of shape (n_components, n_features, n_features)
        Precision matrices; with ``pairs=False`` also their diagonals, shape
        (n_components, n_features), or one precision per component, shape
        (n_components, 1).
    means : ndarray of shape (n_components, n_features)
        Means, centred on the reference point the data will be centred on.
    log_normalisers : ndarray of shape (n_components,)
        ``log det U_k - d/2 log 2 pi`` of each component.
    pairs : bool
        Pairwise products (full matrices) or squares (diagonal matrices).

    Attributes
    ----------
    constant : ndarray of shape (n_components,)
        ``log_normaliser_k - m_k^T P_k m_k / 2``.
    offsets : ndarray of shape (n_components,)
        ``m_k^T P_k m_k``, each mean's squared Mahalanobis distance from the
        reference point (what the expanded form's error grows with).
    """

    def __init__(self, precisions, means, log_normalisers, pairs=True):
        self.pairs = pairs
        self.n_features = means.shape[1]
        if pairs:
            rows, cols = upper_pair_indices(self.n_features)
            quadratic = precisions[:, rows, cols] * _pair_factors(self.n_features)
            linear = (precisions @ means[:, :, None])[:, :, 0]
        else:
            if precisions.ndim == 3:
                diagonals = np.diagonal(precisions, axis1=1, axis2=2)
            elif precisions.shape != means.shape:  # one precision per component
                diagonals = np.broadcast_to(precisions, means.shape)
            else:
                diagonals = precisions
            quadratic = -0.5 * diagonals
            linear = diagonals * means
        self.offsets = (linear * means).sum(axis=1)
        self.constant = log_normalisers - 0.5 * self.offsets
        # the coefficients of the quadratic features, then P_k m_k for the
        # coordinates, then the constants (the log weights join them per call,
        # in with_constant), laid out once as the products read them
        n_quadratic = quadratic.shape[1]
        stacked = np.empty((n_quadratic + self.n_features + 1, len(means)))
        stacked[:n_quadratic] = quadratic.T
        stacked[n_quadratic:-1] = linear.T
        stacked[-1] = self.constant
        self._stacked = stacked

    def with_constant(self, log_weights, dtype):
        """Coefficients of the features of :func:`chunk_features`, ones included.

        Parameters
        ----------
        log_weights : ndarray of shape (n_components,)
        dtype : dtype
            The data's dtype.

        Returns
        -------
        coefficients : ndarray of shape (n_quadratic + n_features + 1, K)
            The quadratic and linear coefficients, then a last row
            ``constant + log_weights``; C-ordered.
        """
        coefficients = self._stacked.copy()
        coefficients[-1] += np.asarray(log_weights)
        return coefficients.astype(dtype, copy=False)


def _n_quadratic(n_features, pairs):
    return n_features * (n_features + 1) // 2 if pairs else n_features


def chunk_features(X, reference, pairs):
    """Quadratic features, centred coordinates and a row of ones, feature-major.

    :func:`stacked_features` into this thread's scratch buffer.

    Parameters
    ----------
    X, reference, pairs
        As for :func:`stacked_features`.

    Returns
    -------
    features : ndarray of shape (n_quadratic + n_features + 1, n_samples)
        This thread's scratch buffer, valid until the next call.
    """
    n_samples, n_features = X.shape
    n_quadratic = _n_quadratic(n_features, pairs)
    out = _buffer("features", (n_quadratic + n_features + 1, n_samples), X.dtype)
    return stacked_features(X, reference, pairs, out)


def stacked_features(X, reference, pairs, out=None):
    """Quadratic features, centred coordinates and a row of ones, feature-major.

    The row of ones makes each component's constant part of the E-step's product
    and its responsibility sum part of the M-step's: no separate pass over the
    ``(K, rows)`` array for either.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows (not yet centred).
    reference : ndarray of shape (n_features,)
        The point the rows are centred on.
    pairs : bool
        Pairwise products (full matrices) or squares (diagonal ones).
    out : ndarray of shape (n_quadratic + n_features + 1, n_samples), optional
        Where to write them (a new array, in X's dtype, when None).

    Returns
    -------
    features : ndarray of shape (n_quadratic + n_features + 1, n_samples)
        Rows ``[:n_quadratic]`` the quadratic features, then the centred
        coordinates (:func:`centred_rows`), then ones.
    """
    n_samples, n_features = X.shape
    n_quadratic = _n_quadratic(n_features, pairs)
    if out is None:
        out = np.empty((n_quadratic + n_features + 1, n_samples), dtype=X.dtype)
    centred_t = out[n_quadratic:-1]
    np.subtract(X.T, reference.astype(X.dtype)[:, None], out=centred_t)
    if pairs:
        pair_products_by_feature(centred_t, out[:n_quadratic])
    else:
        np.multiply(centred_t, centred_t, out=out[:n_quadratic])
    out[-1] = 1.0
    return out


def centred_rows(features, n_features):
    """The centred rows inside :func:`chunk_features`' output, ``(rows, d)`` view."""
    return features[-1 - n_features : -1].T


def feature_sums(weighted_resp_t, features):
    """Responsibility-weighted sums of every stacked feature, in float64.

    Parameters
    ----------
    weighted_resp_t : ndarray of shape (n_components, n_samples)
    features : ndarray of shape (n_quadratic + n_features + 1, n_samples)
        From :func:`chunk_features`.

    Returns
    -------
    sums : ndarray of shape (n_components, n_quadratic + n_features + 1), float64
        ``sum_i r_ik f_i``: quadratic moments, first moments, then ``sum_i r_ik``.
        Sums of several chunks add.
    """
    return row_block_product(weighted_resp_t, features)


def row_block_product(left_t, right_t):
    """``left_t @ right_t.T`` summed over rows in float64 beyond one block.

    Float64 operands take one product. Narrower ones are multiplied in blocks of
    :data:`SUM_BLOCK_ROWS` rows (columns of both operands), each block's product
    in the data's dtype and the blocks added in float64, so the rounding error of
    the result is bounded independently of how the BLAS kernel orders its sums.

    Parameters
    ----------
    left_t : ndarray of shape (p, n_samples)
    right_t : ndarray of shape (q, n_samples)

    Returns
    -------
    product : ndarray of shape (p, q), float64
    """
    n_samples = left_t.shape[1]
    if left_t.dtype == np.float64 or n_samples <= SUM_BLOCK_ROWS:
        return (left_t @ right_t.T).astype(np.float64, copy=False)
    total = np.zeros((left_t.shape[0], right_t.shape[0]), dtype=np.float64)
    for start in range(0, n_samples, SUM_BLOCK_ROWS):
        stop = start + SUM_BLOCK_ROWS
        total += left_t[:, start:stop] @ right_t[:, start:stop].T
    return total


def split_sums(sums, n_features, pairs):
    """Responsibility sums, first and second moments from :func:`feature_sums`.

    Parameters
    ----------
    sums : ndarray of shape (n_components, n_quadratic + n_features + 1)
    n_features : int
    pairs : bool

    Returns
    -------
    resp_sum : ndarray of shape (K,), float64
        ``sum_i r_ik``.
    second : ndarray of shape (K, d, d) (pairs) or (K, d), float64
        ``sum_i r_ik x_i x_i^T`` (or its diagonal), x centred.
    first : ndarray of shape (K, d), float64
        ``sum_i r_ik x_i``.
    """
    n_quadratic = _n_quadratic(n_features, pairs)
    upper, first, resp_sum = (
        sums[:, :n_quadratic],
        sums[:, n_quadratic:-1],
        sums[:, -1],
    )
    if not pairs:
        return resp_sum, upper, first
    # one gather (4x faster than two fancy-index scatters at d=64)
    second = np.take(upper, symmetric_pair_index(n_features), axis=1)
    return resp_sum, second.reshape(-1, n_features, n_features), first


def feature_moments(weighted_resp_t, features, n_features, pairs):
    """Responsibility sums, first and second moments from the stacked features.

    :func:`split_sums` of :func:`feature_sums`; parameters and results as there.
    """
    return split_sums(feature_sums(weighted_resp_t, features), n_features, pairs)


def posterior_sums(coefficients, X, reference, pairs, sample_weight):
    """E-step of one chunk and its feature sums, on this thread's buffers.

    Parameters
    ----------
    coefficients : ndarray of shape (n_quadratic + n_features + 1, n_components)
        :meth:`PairForm.with_constant`: the log densities' coefficients on the
        features, log weights included.
    X : ndarray of shape (n_samples, n_features)
        Rows without missing entries.
    reference : ndarray of shape (n_features,)
        The point the rows are centred on.
    pairs : bool
        Pairwise products (full matrices) or squares (diagonal ones).
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    features : ndarray of shape (n_quadratic + n_features + 1, n_samples)
    weighted_resp_t : ndarray of shape (n_components, n_samples)
    sums : ndarray of shape (n_components, n_quadratic + n_features + 1)
    log_likelihood : float
        ``sum_i w_i log p(x_i)``.
    """
    n_samples = X.shape[0]
    features = chunk_features(X, reference, pairs)
    joint_t = _buffer("joint", (coefficients.shape[1], n_samples), X.dtype)
    np.matmul(coefficients.T, features, out=joint_t)
    log_density = posterior_in_place(joint_t)
    if sample_weight is not None:
        joint_t *= sample_weight[None, :]
        log_density *= sample_weight
    sums = feature_sums(joint_t, features)
    return features, joint_t, sums, float(np.sum(log_density, dtype=np.float64))


def fused_group_sums(pair_form, chunks, reference, log_weights):
    """E-step of consecutive complete chunks, their feature sums added up.

    Per chunk only the products and the posterior run; the moments are
    assembled once per group by the caller (:func:`split_sums`), which spares
    every chunk the ``(K, d, d)`` arithmetic of the assembly and of merging
    centred statistics, and shortens the time each chunk holds the
    interpreter lock while other threads run theirs.

    Parameters
    ----------
    pair_form : PairForm
    chunks : sequence of (ndarray of shape (rows, n_features), weights or None)
        Rows without missing entries, all of one dtype.
    reference : ndarray of shape (n_features,)
        The point the rows are centred on.
    log_weights : ndarray of shape (n_components,)

    Returns
    -------
    sums : ndarray of shape (n_components, n_quadratic + n_features + 1), float64
        Sums of the raw moments about ``reference``, as :func:`feature_sums`.
    log_likelihood : float
        ``sum_i w_i log p(x_i)`` over all the chunks.
    """
    coefficients = None
    total, log_likelihood = None, 0.0
    for X, sample_weight in chunks:
        if coefficients is None:
            coefficients = pair_form.with_constant(log_weights, X.dtype)
        _, _, sums, chunk_log_likelihood = posterior_sums(
            coefficients, X, reference, pair_form.pairs, sample_weight
        )
        total = sums if total is None else np.add(total, sums, out=total)
        log_likelihood += chunk_log_likelihood
    return total, log_likelihood


def quadratic_moments(X, reference, weighted_resp, pairs):
    """First and second moments through the stacked features, for given weights.

    The M-step half of :func:`posterior_sums`, for responsibilities that come from
    elsewhere (e.g. an initial partition).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    reference : ndarray of shape (n_features,)
    weighted_resp : ndarray of shape (n_samples, n_components)
    pairs : bool

    Returns
    -------
    centred : ndarray of shape (n_samples, n_features)
        A view of this thread's buffer (valid until the next call).
    resp_sum, second, first : see :func:`feature_moments`
    """
    n_features = X.shape[1]
    features = chunk_features(X, reference, pairs)
    resp_sum, second, first = feature_moments(
        weighted_resp.T, features, n_features, pairs
    )
    return centred_rows(features, n_features), resp_sum, second, first


class TiedForm:
    """A tied Gaussian's log densities on rows whitened once, for all components.

    With one precision ``P = U U^T`` shared by the components, each row is
    whitened once, ``y = U^T (x - r)``, and

        log p_k(x) = c - ||y||^2 / 2 + y . u_k - ||u_k||^2 / 2,  u_k = U^T (m_k - r)

    so the E-step is one product of ``[y; ||y||^2; 1]`` with K columns of
    coefficients: ``d^2 + (d + 2) K`` multiply-adds per row instead of the
    pairwise products' ``(d (d + 1) / 2 + d + 1) K``. The M-step of a shared
    covariance needs only the pooled scatter ``sum_k S_k``, whose raw part
    ``sum_i w_i x_i x_i^T`` does not involve the responsibilities (they sum to
    one in each row): ``d^2`` per row instead of K times that.

    Parameters
    ----------
    precision_cholesky : ndarray of shape (n_features, n_features)
        ``U`` with ``P = U U^T``.
    means : ndarray of shape (n_components, n_features)
        Means, centred on the reference point the data will be centred on.
    log_normaliser : float
        ``log det U - d/2 log 2 pi``.
    """

    def __init__(self, precision_cholesky, means, log_normaliser):
        n_components, self.n_features = means.shape
        self.whitener_t = np.ascontiguousarray(precision_cholesky.T)
        whitened_means = means @ precision_cholesky
        self.coefficients = np.vstack(
            [whitened_means.T, np.full((1, n_components), -0.5)]
        )
        self.constant = log_normaliser - 0.5 * np.sum(whitened_means**2, axis=1)

    def with_constant(self, log_weights, dtype):
        """Coefficients of ``[y; ||y||^2; 1]``, shape (n_features + 2, K)."""
        return np.vstack(
            [self.coefficients, self.constant + np.asarray(log_weights)]
        ).astype(dtype, copy=False)


def _tied_posterior_sums(form, coefficients, X, reference, sample_weight):
    """E-step of one chunk under a :class:`TiedForm`, and its raw moment sums.

    Returns
    -------
    first : ndarray of shape (n_components, n_features + 1), float64
        ``sum_i w_i r_ik (x_i - r)``, then ``sum_i w_i r_ik``.
    second : ndarray of shape (n_features, n_features), float64
        ``sum_i w_i (x_i - r)(x_i - r)^T``.
    log_likelihood : float
    """
    n_samples, n_features = X.shape
    centred_t = _buffer("tied_centred", (n_features + 1, n_samples), X.dtype)
    deviations = centred_t[:n_features]
    np.subtract(X.T, reference.astype(X.dtype)[:, None], out=deviations)
    centred_t[n_features] = 1.0
    features = _buffer("tied_features", (n_features + 2, n_samples), X.dtype)
    whitened = features[:n_features]
    np.matmul(form.whitener_t.astype(X.dtype, copy=False), deviations, out=whitened)
    np.einsum("ij,ij->j", whitened, whitened, out=features[n_features])
    features[n_features + 1] = 1.0
    joint_t = _buffer("joint", (coefficients.shape[1], n_samples), X.dtype)
    np.matmul(coefficients.T, features, out=joint_t)
    log_density = posterior_in_place(joint_t)
    if sample_weight is None:
        second = row_block_product(deviations, deviations)
    else:
        joint_t *= sample_weight[None, :]
        log_density *= sample_weight
        second = row_block_product(deviations * sample_weight[None, :], deviations)
    first = row_block_product(joint_t, centred_t)
    return first, second, float(np.sum(log_density, dtype=np.float64))


def tied_group_sums(form, chunks, reference, log_weights):
    """E-step of consecutive complete chunks under a :class:`TiedForm`, summed.

    Parameters
    ----------
    form : TiedForm
    chunks : sequence of (ndarray of shape (rows, n_features), weights or None)
    reference : ndarray of shape (n_features,)
    log_weights : ndarray of shape (n_components,)

    Returns
    -------
    first : ndarray of shape (n_components, n_features + 1), float64
        Responsibility-weighted sums of the rows about ``reference``, then
        of the responsibilities.
    second : ndarray of shape (n_features, n_features), float64
        Weighted sum of the rows' outer products about ``reference``.
    log_likelihood : float
    """
    coefficients = None
    first_total = second_total = None
    log_likelihood = 0.0
    for X, sample_weight in chunks:
        if coefficients is None:
            coefficients = form.with_constant(log_weights, X.dtype)
        first, second, chunk_log_likelihood = _tied_posterior_sums(
            form, coefficients, X, reference, sample_weight
        )
        if first_total is None:
            first_total, second_total = first, second
        else:
            first_total += first
            second_total += second
        log_likelihood += chunk_log_likelihood
    return first_total, second_total, log_likelihood
