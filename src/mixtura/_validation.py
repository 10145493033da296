"""Input checks shared by the estimators, with messages that say what to do."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import validate_data

from mixtura.exceptions import DataTypeError, DataValidationError

FLOAT_DTYPES = (np.float64, np.float32)


def check_finite(X, *, what="X"):
    """Raise a :class:`DataValidationError` naming the first non-finite column.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Numeric data.
    what : str
        Name of the array in the message.
    """
    finite = np.isfinite(X)
    if finite.all():
        return
    bad_columns = np.flatnonzero(~finite.all(axis=0))
    column = int(bad_columns[0])
    values = X[:, column][~finite[:, column]]
    kind = "NaN" if np.isnan(values).any() else "infinity"
    n_rows = int((~finite.all(axis=1)).sum())
    raise DataValidationError(
        f"{what} contains {kind} in column {column} "
        f"({len(bad_columns)} column(s) and {n_rows} row(s) hold NaN or infinity). "
        "Drop or impute those rows before fitting; mixtura does not yet fit "
        "mixtures with missing values."
    )


def check_data(estimator, X, *, reset, ensure_min_samples=1):
    """Validate ``X`` for an estimator: 2-D, numeric float, finite.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator, for ``n_features_in_`` and ``feature_names_in_``.
    X : array-like of shape (n_samples, n_features)
        The data.
    reset : bool
        True when fitting (records the number of features), False when predicting
        (checks it).
    ensure_min_samples : int
        The smallest acceptable number of rows.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64 or float32
    """
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=list(FLOAT_DTYPES),
            ensure_all_finite=False,
            ensure_min_samples=ensure_min_samples,
        )
    except ValueError as exc:
        if _is_conversion_error(exc):
            raise DataValidationError(
                f"X must be numeric, but could not be converted to floats ({exc}). "
                "Encode categorical columns as numbers or select the numeric columns."
            ) from exc
        raise
    except TypeError as exc:
        raise DataTypeError(
            f"X must be a numeric array-like of shape (n_samples, n_features); "
            f"got {type(X).__name__} ({exc})."
        ) from exc
    check_finite(X)
    return X


def _is_conversion_error(exc):
    text = str(exc)
    return (
        "could not convert" in text
        or "dtype='numeric'" in text
        or ("string" in text and "float" in text)
    )


def check_sample_weight(sample_weight, n_samples, dtype):
    """Validate sample weights: finite, non-negative, one per row, not all zero.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        Weights; None means every row counts once.
    n_samples : int
        Number of rows of the data.
    dtype : dtype
        The data's floating dtype.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight)
    try:
        weights = np.asarray(sample_weight, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            f"sample_weight must be numeric; could not convert it ({exc})."
        ) from exc
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise DataValidationError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; "
            f"got shape {weights.shape}."
        )
    if not np.isfinite(weights).all():
        raise DataValidationError(
            "sample_weight contains NaN or infinity at rows "
            f"{np.flatnonzero(~np.isfinite(weights))[:5].tolist()}; "
            "give every row a finite weight (0 drops a row)."
        )
    if (weights < 0).any():
        raise DataValidationError(
            "sample_weight must be non-negative; rows "
            f"{np.flatnonzero(weights < 0)[:5].tolist()} have negative weights."
        )
    if weights.sum() <= 0:
        raise DataValidationError(
            "sample_weight sums to zero: at least one row needs a positive weight."
        )
    return weights
