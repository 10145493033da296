"""Checks that data lie in a family's support, with messages that say what to do.

Shared by the families and their conjugate priors (:mod:`mixtura.priors`),
which check the same data for the Gibbs sampler; this module imports neither.
"""

from __future__ import annotations

import numpy as np

from mixtura._validation import column_label
from mixtura.backend import get_namespace
from mixtura.exceptions import DataValidationError

__all__ = [
    "MAX_COUNT",
    "MAX_POISSON_RATE",
    "check_codes",
    "check_count_range",
    "check_counts",
    "check_positive",
    "log_scale_jacobian",
]

#: the largest count the count families take: 2**53, above which float64 holds
#: no longer every integer, and below NumPy's largest Poisson rate (about
#: 9.2e18), so that a model fitted to such counts can still sample (issue 19:
#: counts near int64's maximum fitted, then ``sample`` raised NumPy's
#: "lam value too large")
MAX_COUNT = 2.0**53
#: the largest Poisson rate a family may hold: NumPy draws Poisson variates up
#: to about 9.2e18 only (a model file's rates or lengths above it made ``sample``
#: raise NumPy's "lam value too large")
MAX_POISSON_RATE = 2.0**62


def check_count_range(values, columns, family_name):
    """Refuse counts above :data:`MAX_COUNT`.

    Parameters
    ----------
    values : ndarray
        The counts: a dense (n_samples, n_features) array, or a sparse matrix's
        stored values.
    columns : ndarray or None
        Column of each stored value (sparse), or None (dense).
    family_name : str
        Named in the message.
    """
    with np.errstate(invalid="ignore"):
        large = values > MAX_COUNT
    if not np.any(large):
        return
    if columns is None:
        column = int(np.flatnonzero(large.any(axis=0))[0])
    else:
        column = int(columns[np.flatnonzero(large)[0]])
    raise DataValidationError(
        f"{family_name} mixtures take counts up to 2**53 ({MAX_COUNT:.4g}), but "
        f"{column_label(column)} holds larger values ({int(np.sum(large))} in all); "
        "such counts are not exact in floating point. Rescale the data and use a "
        "Gaussian or gamma mixture for measurements of that size."
    )


def check_counts(X, family_name):
    """Refuse negative or non-integer values in count data.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    family_name : str
        Named in the message.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Unchanged.
    """
    with np.errstate(invalid="ignore"):
        bad = (X < 0) | (np.floor(X) != X)
    bad &= ~np.isnan(X)  # a missing entry, let through only with missing='em'
    if np.any(bad):
        column = int(np.flatnonzero(bad.any(axis=0))[0])
        value = X[:, column][bad[:, column]][0]
        kind = "negative" if value < 0 else "non-integer"
        prefix = "Negative values in data: " if value < 0 else ""
        raise DataValidationError(
            f"{prefix}{family_name} mixtures need non-negative integer counts, but "
            f"{column_label(column)} holds the {kind} value {float(value):g} "
            f"({int(bad.sum())} such value(s) in all). Pass counts, or use a "
            "Gaussian mixture for measurements."
        )
    check_count_range(X, None, family_name)
    return X


def check_codes(X, n_levels=None):
    """Refuse categorical codes that are not integers in ``0 .. n_levels[j] - 1``.

    NaN (a missing entry) passes: estimators refuse it unless ``missing='em'``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Integer codes.
    n_levels : ndarray of shape (n_features,), default=None
        Number of levels of each column; None checks only that the codes are
        non-negative integers.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Unchanged.
    """
    with np.errstate(invalid="ignore"):
        bad = (X < 0) | (np.floor(X) != X)
        if n_levels is not None:
            bad |= np.asarray(n_levels) <= X
    bad &= ~np.isnan(X)
    if bad.any():
        column = int(np.flatnonzero(bad.any(axis=0))[0])
        value = X[:, column][bad[:, column]][0]
        allowed = (
            "non-negative integer codes 0, 1, ..."
            if n_levels is None
            else f"integer codes 0 .. {int(n_levels[column]) - 1} "
            f"(n_levels = {int(n_levels[column])})"
        )
        raise DataValidationError(
            f"family='categorical' needs {allowed} in {column_label(column)}, "
            "which holds "
            f"{float(value):g}. Encode each column's levels as 0, 1, ... (e.g. with "
            "sklearn's OrdinalEncoder), or pass n_levels to allow more levels."
        )
    return X


def check_positive(X, family_name, allow_zero=False):
    """Refuse values outside ``(0, inf)`` (``[0, inf)`` with ``allow_zero``).

    NaN (a missing entry) passes: estimators refuse it unless ``missing='em'``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    family_name : str
        Named in the message.
    allow_zero : bool, default=False
        Whether 0 lies in the support (the exponential's does; the gamma's and
        log-normal's log x do not allow it).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Unchanged.

    Raises
    ------
    DataValidationError
        Naming the first offending row, column and value, and how many there are.
    """
    X_array = np.asarray(X)
    with np.errstate(invalid="ignore"):
        bad = X_array < 0 if allow_zero else X_array <= 0
    if bad.any():
        rows, columns = np.nonzero(bad)
        row, column = int(rows[0]), int(columns[0])
        support = "non-negative" if allow_zero else "positive"
        raise DataValidationError(
            f"family={family_name!r} models {support} values, but row {row}, "
            f"{column_label(column)} holds {float(X_array[row, column]):g} "
            f"({int(bad.sum())} such value(s) in all). Shift or transform the "
            "data into the support, or use a Gaussian mixture for real values."
        )
    return X


def log_scale_jacobian(X):
    """``-sum_j log x_j`` of each row, shape (n,), in X's namespace.

    The base measure of the families modelled on the log scale (gamma's
    ``x^(a-1)``, the log-normal's change of variables): the same for every
    component, so the data seam sums it once per fit.
    """
    xp = get_namespace(X)
    return -xp.sum(xp.log(X), axis=1)
