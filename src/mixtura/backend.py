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

__all__ = ["get_namespace", "logsumexp", "to_namespace", "to_numpy"]


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
    return xp.asarray(np.asarray(array), dtype=like.dtype, device=device(like))


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
    # a row of -inf has no finite peak; shift by 0 there so exp gives 0, log gives -inf
    peak = xp.where(xp.isfinite(peak), peak, xp.zeros_like(peak))
    with np.errstate(divide="ignore"):
        out = xp.log(xp.sum(xp.exp(a - peak), axis=axis, keepdims=True)) + peak
    return xp.squeeze(out, axis=axis)


LOG_2PI = math.log(2.0 * math.pi)
