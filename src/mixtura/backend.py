"""Array namespaces: the O(n) work is written once against the Python array API.

``xp = get_namespace(X)`` gives NumPy for NumPy input, and the matching namespace for
PyTorch tensors, CuPy arrays or ``array_api_strict`` arrays. Parameters are small
NumPy arrays; :func:`to_namespace` moves them to the data's namespace, device and
dtype right before a chunk's work.
"""

from __future__ import annotations

import math

import numpy as np
from array_api_compat import array_namespace, device, is_numpy_namespace

__all__ = [
    "exp_in_place",
    "get_namespace",
    "log_normalize",
    "logsumexp",
    "posterior_in_place",
    "to_namespace",
    "to_numpy",
    "widened_for",
]


def get_namespace(*arrays):
    """Return the array-API namespace shared by ``arrays`` (NumPy for NumPy input)."""
    return array_namespace(*arrays)


def to_namespace(array, like):
    """Return ``array`` (a NumPy array) as an array of ``like``'s namespace and dtype.

    Parameters
    ----------
    array : ndarray
        A small parameter array.
    like : array
        A data array whose namespace, device and floating dtype are wanted.

    Returns
    -------
    array : array of like's namespace
    """
    xp = array_namespace(like)
    if is_numpy_namespace(xp):
        return np.asarray(array, dtype=like.dtype)
    array = np.asarray(array)
    if not array.flags.writeable:  # cached parameters: torch warns on read-only
        array = array.copy()
    return xp.asarray(array, dtype=like.dtype, device=device(like))


def widened_for(X, *parameters):
    """``X``, or ``X`` in float64 where a parameter lies beyond ``X``'s dtype.

    A family computes in the data's dtype with its parameters cast to it
    (:func:`to_namespace`); a float32 parameter beyond float32's range would
    overflow to infinity (issue 19: float32 data near 1e-38 give rates near
    1e38 and more). Such a family computes in float64 instead.

    Parameters
    ----------
    X : array
        Floating data.
    *parameters : ndarray
        The NumPy parameter arrays the computation casts to ``X``'s dtype.

    Returns
    -------
    X : array
        ``X`` itself, or a float64 copy of it.
    """
    xp = array_namespace(X)
    if X.dtype == xp.float64:
        return X
    limit = float(xp.finfo(X.dtype).max)
    if all(not (np.abs(p) > limit).any() for p in parameters):
        return X
    return xp.astype(X, xp.float64)


def to_numpy(array):
    """Return ``array`` (of any supported namespace) as a NumPy array on the host."""
    if isinstance(array, np.ndarray):
        return array
    xp = array_namespace(array)
    if is_numpy_namespace(xp):
        return np.asarray(array)
    if hasattr(array, "detach"):  # torch keeps autograd and device state
        return array.detach().cpu().numpy()
    # array_api_strict and others: go through the buffer protocol / DLPack
    try:
        return np.from_dlpack(array)
    except (TypeError, RuntimeError, AttributeError, BufferError):
        return np.asarray(array)


def logsumexp(a, axis, xp):
    """Stable ``log(sum(exp(a), axis))`` in namespace ``xp``; rows of -inf give -inf.

    Parameters
    ----------
    a : array
        Values in log space.
    axis : int
        Axis to reduce.
    xp : namespace
        The array namespace of ``a``.

    Returns
    -------
    out : array
        ``a`` reduced along ``axis``.
    """
    peak = xp.max(a, axis=axis, keepdims=True)
    if isinstance(a, np.ndarray) and np.isfinite(peak).all():
        # every sum holds exp(0) = 1, so no log of zero to silence and no peak
        # to replace: the same operations without that machinery (a small
        # fit normalises its weights this way several times)
        out = np.log(np.sum(np.exp(a - peak), axis=axis, keepdims=True)) + peak
        return np.squeeze(out, axis=axis)
    # a row of -inf has no finite peak; shift by 0 there so exp gives 0, log gives -inf
    peak = xp.where(xp.isfinite(peak), peak, xp.zeros_like(peak))
    with np.errstate(divide="ignore"):
        out = xp.log(xp.sum(xp.exp(a - peak), axis=axis, keepdims=True)) + peak
    return xp.squeeze(out, axis=axis)


def log_normalize(a, axis, xp):
    """``a - logsumexp(a, axis)`` and ``logsumexp(a, axis)``, stably.

    The normalised values are computed from ``a`` less its peak along ``axis``,
    never as ``a - logsumexp(a)``: where the values are huge (``|a| ~ 1e150``,
    or rows far from every component) the log-sum-exp rounds to the peak and
    absorbs the small differences between them, so ``exp`` of that difference
    no longer sums to one (issue 19: rows of predict_proba summed to K). A row
    of -inf gives -inf as its log-sum-exp (and NaN as its normalised values,
    as before).

    Parameters
    ----------
    a : array
        Values in log space.
    axis : int
        Axis to normalise along.
    xp : namespace
        The array namespace of ``a``.

    Returns
    -------
    normalized : array of the shape of ``a``
        ``log(exp(a) / sum(exp(a), axis))``.
    log_norm : array
        ``logsumexp(a, axis)``, ``axis`` reduced.
    """
    peak = xp.max(a, axis=axis, keepdims=True)
    # a row of -inf has no finite peak; shift by 0 there so exp gives 0
    peak = xp.where(xp.isfinite(peak), peak, xp.zeros_like(peak))
    shifted = a - peak
    with np.errstate(divide="ignore"):
        log_sum = xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
    return shifted - log_sum, xp.squeeze(log_sum + peak, axis=axis)


#: exponentials are skipped (written as 0) only when they are this few of the chunk;
#: above it, the plain full exponential is cheaper than gathering the survivors
SPARSE_EXP_FRACTION = 0.3


def exp_in_place(shifted):
    """``exp`` of log values at most 0 (each column's peak is 0), in place.

    An entry far enough below its column's peak contributes less than half a
    unit in the last place to that column's sum of exponentials (which is at
    least 1), even with all K - 1 of them together: it is written as exactly 0
    without computing ``exp``. Once EM has separated the clusters, most entries
    are such (all but about one per row), and a float64 ``exp`` costs about
    10 ns per value without a vector implementation, against well under 1 ns
    to gather and scatter the survivors.

    Parameters
    ----------
    shifted : ndarray of shape (n_components, n_samples)
        C-contiguous, each column's maximum 0 (or a column of -inf); overwritten.
    """
    if not shifted.flags.c_contiguous:
        np.exp(shifted, out=shifted)
        return
    n_components = shifted.shape[0]
    # sum of the dropped terms < (K - 1) exp(cut) <= eps / 2
    cut = np.log(np.finfo(shifted.dtype).eps / 2.0) - np.log(max(n_components, 1))
    flat = shifted.reshape(-1)
    survives = flat > cut
    n_survivors = int(np.count_nonzero(survives))
    if n_survivors > SPARSE_EXP_FRACTION * flat.size:
        np.exp(flat, out=flat)
        return
    where = np.flatnonzero(survives)
    values = np.exp(flat[where])
    flat[:] = 0.0
    flat[where] = values


def posterior_in_place(joint_t):
    """Turn joint log probabilities into responsibilities, in place.

    Parameters
    ----------
    joint_t : ndarray of shape (n_components, n_samples)
        ``log w_k + log p(x_i | k)``, component-major; overwritten with the
        responsibilities.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log sum_k exp(joint_ki)``.
    """
    peak = joint_t.max(axis=0)
    peak[~np.isfinite(peak)] = 0.0  # a row of -inf: exp gives 0, log gives -inf
    joint_t -= peak
    exp_in_place(joint_t)
    total = joint_t.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        joint_t /= total
        log_density = np.log(total)
    log_density += peak
    return log_density


LOG_2PI = math.log(2.0 * math.pi)
