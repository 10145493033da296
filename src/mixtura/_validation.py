"""Input checks shared by the estimators, with messages that say what to do."""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from sklearn.utils.validation import _get_feature_names, validate_data

from mixtura.exceptions import DataTypeError, DataValidationError, MixturaError

FLOAT_DTYPES = (np.float64, np.float32)

#: names of the columns of the data being checked (None: unnamed), for messages
_COLUMN_NAMES = contextvars.ContextVar("mixtura_column_names", default=None)


def input_column_names(X):
    """The column names of ``X`` as given (a DataFrame's), or None.

    Parameters
    ----------
    X : object
        Data before conversion.

    Returns
    -------
    names : ndarray of str or None
        What scikit-learn records as ``feature_names_in_`` for ``X``; None for
        arrays, and for frames whose column names are not all strings.
    """
    if type(X) is np.ndarray:  # no names; skips the dataframe detection (40 us)
        return None
    try:
        return _get_feature_names(X)
    except (TypeError, ValueError, AttributeError):
        return None


@contextlib.contextmanager
def column_names(names):
    """Name columns by ``names`` in the data messages raised inside the block.

    The estimators enter it around their data checks with the input's column
    names (:func:`input_column_names`); every message that names a column
    formats it with :func:`column_label`, so validation and the families'
    support checks all say ``column 'weight' (1)`` for a DataFrame.

    Parameters
    ----------
    names : sequence of str or None
        Name of each column; None leaves messages with bare indices.
    """
    token = _COLUMN_NAMES.set(None if names is None else list(names))
    try:
        yield
    finally:
        _COLUMN_NAMES.reset(token)


def column_label(column):
    """``"column 1"``, or ``"column 'weight' (1)"`` inside :func:`column_names`.

    Parameters
    ----------
    column : int
        Index of the column.

    Returns
    -------
    label : str
    """
    column = int(column)
    names = _COLUMN_NAMES.get()
    if names is not None and 0 <= column < len(names):
        return f"column {str(names[column])!r} ({column})"
    return f"column {column}"


def magnitude_bound(dtype):
    """The largest magnitude a value of floating ``dtype`` may have in data.

    ``sqrt(max) / 2**20`` (about 1.3e148 for float64, 1.8e13 for float32):
    squares of such values, their sums over 2**20 rows, and their squares
    divided by a variance as small as 1e-6 all stay finite, so no family's
    statistics or log densities overflow (issue 19: 1e300 made the Gaussian
    statistics infinite and the E-step NaN, with a RuntimeWarning from NumPy).

    Parameters
    ----------
    dtype : dtype
        A floating dtype.

    Returns
    -------
    bound : float
    """
    return math.sqrt(float(np.finfo(dtype).max)) * 2.0**-20


_MAGNITUDE_ADVICE = (
    "Values of such magnitude overflow the mixture's statistics (their squares "
    f"exceed the dtype's range; the limits are {magnitude_bound(np.float64):.2g} "
    f"for float64 and {magnitude_bound(np.float32):.2g} for float32): rescale the "
    "data (divide by a power of ten, or use sklearn's StandardScaler), or pass "
    "float64 rather than float32."
)


@dataclass(frozen=True)
class NanPolicy:
    """What NaN means in an estimator's data: the one rule for every data kind.

    NaN is a missing entry when the estimator fits missing values
    (``missing='em'``) and an error otherwise; infinity is always an error.
    Arrays, dask arrays and streams are all checked with this object, so they
    refuse the same values with the same messages.

    Parameters
    ----------
    allow_nan : bool, default=False
        Accept NaN as a missing entry.
    advise_missing_em : bool, default=True
        Whether the NaN error suggests ``missing='em'`` (where the estimator
        offers it).
    """

    allow_nan: bool = False
    advise_missing_em: bool = True

    def scan(self, X):
        """Scan numeric rows for the values this policy refuses.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        scan : ValueScan
        """
        return scan_values(X, self.allow_nan)

    def check(self, scan, *, what="X", require_observed_columns=True):
        """Raise a :class:`DataValidationError` for what ``scan`` found.

        Parameters
        ----------
        scan : ValueScan
            The scan of all the rows (scans of blocks add up).
        what : str, default="X"
            Name of the data in the message.
        require_observed_columns : bool, default=True
            With ``allow_nan``, refuse a column with nothing observed (when
            fitting; rows to predict may leave a column empty).
        """
        if scan.n_refused_rows:
            raise DataValidationError(self._refusal(scan, what))
        if self.allow_nan and require_observed_columns and scan.n_rows:
            empty = np.flatnonzero(~scan.observed)
            if empty.size:
                raise DataValidationError(
                    f"{what}: {column_label(empty[0])} is entirely missing (NaN in "
                    "every row); nothing can be estimated for it. Drop the column."
                )

    def _refusal(self, scan, what):
        column = int(np.flatnonzero(scan.refused)[0])
        if scan.too_large[column] and not scan.infinite[column]:
            return (
                f"{what} holds values too large in magnitude in "
                f"{column_label(column)} "
                f"({int(scan.refused.sum())} column(s) and {scan.n_refused_rows} "
                f"row(s) hold NaN, infinity or such values). {_MAGNITUDE_ADVICE}"
            )
        kind = "infinity" if scan.infinite[column] else "NaN"
        if kind == "infinity":
            advice = (
                "Replace infinite values (they are not missing values) or drop "
                "those rows."
            )
        elif self.advise_missing_em:
            advice = (
                "Pass missing='em' to fit by EM over the missing entries, or drop "
                "or impute those rows."
            )
        else:
            advice = (
                "This estimator has no missing-value handling: drop or impute "
                "those rows."
            )
        return (
            f"{what} contains {kind} in {column_label(column)} "
            f"({int(scan.refused.sum())} column(s) and {scan.n_refused_rows} row(s) "
            f"hold NaN or infinity). {advice}"
        )


@dataclass(frozen=True)
class ValueScan:
    """What a scan of numeric rows found, per column; scans of blocks add up.

    Parameters
    ----------
    refused : ndarray of bool of shape (n_features,)
        Columns holding a refused value (infinity, or NaN unless allowed).
    infinite : ndarray of bool of shape (n_features,)
        Columns holding infinity.
    observed : ndarray of bool of shape (n_features,)
        Columns with at least one non-NaN entry.
    n_refused_rows : int
        Rows holding a refused value.
    n_rows : int
        Rows scanned.
    too_large : ndarray of bool of shape (n_features,)
        Columns holding a finite value above :func:`magnitude_bound`.
    """

    refused: np.ndarray
    infinite: np.ndarray
    observed: np.ndarray
    n_refused_rows: int
    n_rows: int
    too_large: np.ndarray

    def __add__(self, other):
        return ValueScan(
            self.refused | other.refused,
            self.infinite | other.infinite,
            self.observed | other.observed,
            self.n_refused_rows + other.n_refused_rows,
            self.n_rows + other.n_rows,
            self.too_large | other.too_large,
        )


def check_finite(
    X,
    *,
    what="X",
    allow_nan=False,
    require_observed_columns=True,
    advise_missing_em=True,
):
    """Raise a :class:`DataValidationError` naming the first non-finite column.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Numeric data.
    what : str
        Name of the array in the message.
    allow_nan : bool
        Accept NaN as a missing entry (infinity is still refused).
    require_observed_columns : bool
        With ``allow_nan``, refuse a column with nothing observed (when fitting;
        rows to predict may leave a column empty).
    advise_missing_em : bool
        Whether the NaN error suggests ``missing='em'``.
    """
    policy = NanPolicy(allow_nan, advise_missing_em)
    policy.check(
        policy.scan(X), what=what, require_observed_columns=require_observed_columns
    )


#: values per block of :func:`scan_values`: the masks of a block stay small,
#: where masks of the whole array would add a quarter of float32 data's size
_SCAN_BLOCK_VALUES = 2**20


def scan_values(X, allow_nan):
    """Scan ``X`` block by block for refused values and observed columns.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    allow_nan : bool
        NaN is a missing entry, not a refused value.

    Returns
    -------
    scan : ValueScan
    """
    n_samples, n_features = X.shape
    scan = _empty_scan(n_features)
    block_rows = max(1, _SCAN_BLOCK_VALUES // max(n_features, 1))
    for start in range(0, n_samples, block_rows):
        # once every column is observed, later blocks need not be searched for it
        scan = scan + _scan_block(
            X[start : start + block_rows], allow_nan, not scan.observed.all()
        )
    return scan


def _empty_scan(n_features):
    nothing = np.zeros(n_features, dtype=bool)
    return ValueScan(nothing, nothing, nothing, 0, 0, nothing)


def _scan_block(block, allow_nan, find_observed=True):
    """:class:`ValueScan` of one block of rows (one mask pass when it is clean).

    Without ``allow_nan`` a column is observed wherever the block has rows (a
    NaN there is refused, so "observed" never decides anything).
    """
    n_rows, n_features = block.shape
    # infinity, NaN (unless allowed) and finite values above the magnitude
    # bound are refused: a NaN fails ``<=`` and passes ``>``
    magnitude = np.abs(block)
    bound = magnitude_bound(block.dtype) if block.dtype.kind == "f" else math.inf
    refused = magnitude > bound if allow_nan else ~(magnitude <= bound)
    clean = np.zeros(n_features, dtype=bool)
    if refused.any():
        refused_columns = refused.any(axis=0)
        n_refused_rows = int(refused.any(axis=1).sum())
        infinite = np.isinf(block).any(axis=0)
        too_large = (refused & np.isfinite(block)).any(axis=0)
    else:
        refused_columns, infinite, too_large, n_refused_rows = clean, clean, clean, 0
    if not allow_nan:
        observed = np.full(n_features, n_rows > 0)
    elif find_observed:
        observed = ~np.isnan(block).all(axis=0) if n_rows else clean
    else:
        observed = clean
    return ValueScan(
        refused_columns, infinite, observed, n_refused_rows, n_rows, too_large
    )


def check_data(
    estimator,
    X,
    *,
    reset,
    ensure_min_samples=1,
    accept_sparse=False,
    allow_nan=False,
    advise_missing_em=None,
):
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
    accept_sparse : bool
        Let scipy.sparse CSR/CSC matrices through (kept sparse, values converted
        to float) for families that declare ``accepts_sparse``.
    allow_nan : bool
        Accept NaN as missing entries (``missing='em'``).
    advise_missing_em : bool, default=None
        Whether the NaN error suggests ``missing='em'`` (None: when the
        estimator has a ``missing`` parameter).

    Returns
    -------
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features), \
            float64 or float32
    """
    # a DataFrame's column names, for the messages below (see column_names)
    names = input_column_names(X)
    if not _plain_float_array(estimator, X, reset, ensure_min_samples):
        X = _validated(estimator, X, reset, ensure_min_samples, accept_sparse)
    elif reset:
        # what validate_data records for such an array, without its dataframe
        # detection (a third of a small fit's validation time)
        estimator.n_features_in_ = X.shape[1]
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    with column_names(names):
        if scipy.sparse.issparse(X):
            _check_finite_sparse(X)
        else:
            check_finite(
                X,
                allow_nan=allow_nan,
                require_observed_columns=reset,
                advise_missing_em=(
                    hasattr(estimator, "missing")
                    if advise_missing_em is None
                    else advise_missing_em
                ),
            )
    return X


def _plain_float_array(estimator, X, reset, ensure_min_samples):
    """Whether ``X`` is an array validate_data would pass through unchanged.

    A C-ordered 2-D float64 or float32 ndarray with enough rows and at least
    one column, and, when predicting, the fitted number of features and no
    fitted feature names (whose absence scikit-learn warns about). Every other
    input, and every input that should raise, goes through validate_data.
    """
    if not (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in (np.float64, np.float32)
        and X.flags.c_contiguous
        and X.shape[0] >= ensure_min_samples
        and X.shape[1] > 0
    ):
        return False
    if reset:
        return True
    return getattr(estimator, "n_features_in_", X.shape[1]) == X.shape[
        1
    ] and not hasattr(estimator, "feature_names_in_")


def _validated(estimator, X, reset, ensure_min_samples, accept_sparse):
    """validate_data's conversion and checks, with mixtura's error types."""
    with sklearn_data_errors(X):
        return validate_data(
            estimator,
            X,
            reset=reset,
            dtype=list(FLOAT_DTYPES),
            accept_sparse=["csr", "csc"] if accept_sparse else False,
            # rows are processed in chunks: C order keeps each chunk contiguous
            order="C",
            ensure_all_finite=False,
            ensure_min_samples=ensure_min_samples,
        )


@contextlib.contextmanager
def sklearn_data_errors(X):
    """Raise scikit-learn's refusals of the data ``X`` as mixtura's errors.

    For the ``validate_data`` / ``check_array`` calls of the estimators: a
    conversion failure becomes a :class:`DataValidationError` that says what
    to do, a TypeError a :class:`DataTypeError`, and every other refusal (0-d,
    1-d or 3-d input, too few rows, no columns, complex values, ragged lists,
    another number of features or other feature names than fitted) a
    :class:`DataValidationError` with scikit-learn's message (issue 19: they
    were bare ValueErrors).

    Parameters
    ----------
    X : object
        The data, named in a DataTypeError's message.
    """
    try:
        yield
    except MixturaError:
        raise
    except ValueError as exc:
        if _is_conversion_error(exc):
            raise DataValidationError(
                f"X must be numeric, but could not be converted to floats ({exc}). "
                "Encode categorical columns as numbers or select the numeric columns."
            ) from exc
        raise DataValidationError(str(exc)) from exc
    except TypeError as exc:
        raise DataTypeError(
            f"X must be a numeric array-like of shape (n_samples, n_features); "
            f"got {type(X).__name__} ({exc})."
        ) from exc


def _check_finite_sparse(X):
    """:func:`check_finite` for a scipy.sparse matrix, on its stored values only."""
    finite = np.isfinite(X.data)
    if finite.all():
        # the magnitude bound of dense data (see magnitude_bound)
        bound = magnitude_bound(X.dtype)
        large = np.abs(X.data) > bound
        if large.any():
            coo = X.tocoo()
            column = int(coo.col[np.abs(coo.data) > bound].min())
            raise DataValidationError(
                f"X holds values too large in magnitude in {column_label(column)} "
                f"({int(large.sum())} stored value(s)). {_MAGNITUDE_ADVICE}"
            )
        return
    coo = X.tocoo()
    bad = ~np.isfinite(coo.data)
    column = int(coo.col[bad].min())
    kind = "NaN" if np.isnan(coo.data[bad]).any() else "infinity"
    raise DataValidationError(
        f"X contains {kind} in {column_label(column)} "
        f"({int(bad.sum())} stored value(s) "
        "are NaN or infinity). Drop or impute those rows before fitting."
    )


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
        weights = np.asarray(sample_weight)
        if weights.dtype.kind != "c":
            # weights beyond a float32 fit's range become infinity, refused below
            with np.errstate(over="ignore"):
                weights = np.asarray(weights, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            f"sample_weight must be numeric; could not convert it ({exc})."
        ) from exc
    if weights.dtype.kind == "c":
        # issue 19: NumPy dropped the imaginary parts with a ComplexWarning
        raise DataValidationError("sample_weight must be real; got complex values.")
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
    with np.errstate(over="ignore"):
        total = weights.sum(dtype=np.float64)
    if total <= 0:
        raise DataValidationError(
            "sample_weight sums to zero: at least one row needs a positive weight."
        )
    # issue 19: weights summing to 1e300 or more (or below the smallest normal
    # float, e.g. 5e-324 each) made the weighted statistics overflow; their sum
    # is held to the magnitude bound of the data
    if not total <= magnitude_bound(dtype) or total < np.finfo(dtype).tiny:
        raise DataValidationError(
            f"sample_weight sums to {total:g}, outside the range the weighted sums "
            f"of {np.dtype(dtype).name} data can hold. Rescale the weights (e.g. "
            "divide them by their mean)."
        )
    return weights
