"""The data entry point: whatever ``X`` the user gives, as the data seam's objects.

An estimator hands its data here and never asks what kind it is. Each kind of
source is one registered object (:class:`SourceKind`) that knows how to recognise
its data (``accepts``), validate it and wrap it for the fit loop (``fit_data``:
the seam object each iteration reads plus the in-memory rows the initialisation
clusters), and apply a row-wise function to it (``map_rows``, for predictions):

- :class:`ArraySource`: NumPy arrays, scipy.sparse matrices, data frames, lists
  (everything the others do not take);
- :class:`DaskSource`: dask arrays, fitted block by block
  (:class:`~mixtura.inference.dask_data.DaskData`);
- :class:`StreamSource`: :class:`~mixtura.streams.ChunkStream`, out of core
  (:class:`~mixtura.inference.stream_data.StreamData`).

All kinds check values with one rule, the estimator's
:class:`~mixtura._validation.NanPolicy` (NaN is a missing entry exactly when the
estimator fits missing values, infinity never is), and in-memory rows (an array,
a dask sample, every chunk of a stream) all pass through the estimator's own
check (``DataRules.check_rows``).
"""

from __future__ import annotations

import functools
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mixtura._validation import FLOAT_DTYPES, NanPolicy, check_sample_weight
from mixtura.exceptions import DataValidationError
from mixtura.inference.dask_data import DaskData, is_dask_array, tree_sum
from mixtura.inference.data import ArrayData
from mixtura.inference.stream_data import StreamData, stream_head
from mixtura.streams import ChunkStream

__all__ = [
    "ArraySource",
    "DaskSource",
    "DataRules",
    "FitData",
    "SourceKind",
    "StreamSource",
    "map_rows",
    "register_source_kind",
    "source_kind",
    "to_fit_data",
]

#: rows of a dask array (a random sample) or of a stream (its first rows) that
#: the initialisation clusters in memory
INITIAL_ROWS = 20_000


@dataclass(frozen=True)
class DataRules:
    """What an estimator asks of its data, whatever kind the data is.

    Parameters
    ----------
    check_rows : callable
        ``check_rows(X, *, reset, ensure_min_samples=1) -> X``: the estimator's
        validation of in-memory rows (shape, dtype, NaN policy, the family's
        support, any encoding); ``reset=True`` when fitting from scratch, which
        records ``n_features_in_``.
    nan_policy : callable
        ``nan_policy() -> NanPolicy``, for values checked outside
        ``check_rows`` (a dask array's blocks). Called only then, since it may
        need the family.
    n_components : int
        The fit needs at least this many rows.
    chunk_size : int or None, default=None
        Rows per E-step chunk (None: chosen from the shapes).
    """

    check_rows: Callable
    nan_policy: Callable[[], NanPolicy]
    n_components: int
    chunk_size: int | None = None


@dataclass(frozen=True)
class FitData:
    """The user's training data, validated, as the fit loop needs it.

    Parameters
    ----------
    kind : SourceKind
        The source kind that made it.
    source : object
        The user's data (float-converted where the kind converts lazily).
    data : ArrayData, DaskData or StreamData
        What each iteration reads.
    initial : ArrayData
        In-memory rows the initialisation clusters (all rows, or a sample).
    dtype : dtype
        Floating dtype of the data (and of the fitted attributes).
    """

    kind: SourceKind
    source: object
    data: object
    initial: ArrayData
    dtype: np.dtype

    def labels(self, function, rules):
        """``function`` (validated rows -> labels) over the training rows.

        Parameters
        ----------
        function : callable
            ``function(data: ArrayData) -> ndarray of shape (n_rows,)``.
        rules : DataRules

        Returns
        -------
        labels : ndarray or dask array of shape (n_samples,), or None
            None for a stream (its labels are not kept in memory).
        """
        return self.kind.training_labels(self, function, rules)


class SourceKind(ABC):
    """One kind of user data: how to recognise, validate, wrap and map it."""

    @abstractmethod
    def accepts(self, X):
        """Whether ``X`` is data of this kind."""

    @abstractmethod
    def fit_data(self, X, sample_weight, rules, *, reset, random_state):
        """Validate training data and wrap it for the fit loop.

        Parameters
        ----------
        X : object
            The user's data, of this kind.
        sample_weight : array-like of shape (n_samples,) or None
        rules : DataRules
        reset : bool
            True for a fit from scratch (records ``n_features_in_``, needs at
            least ``n_components`` rows); False for a later ``partial_fit`` batch.
        random_state : RandomState
            For kinds that sample their initial rows.

        Returns
        -------
        fit_data : FitData
        """

    @abstractmethod
    def map_rows(self, X, function, rules, *, n_columns=None, dtype=None):
        """Apply a row-wise function to validated rows of ``X``.

        Parameters
        ----------
        X : object
            The user's data, of this kind.
        function : callable
            ``function(data: ArrayData) -> ndarray`` of shape (n_rows,), or
            (n_rows, n_columns) when ``n_columns`` is given.
        rules : DataRules
        n_columns : int, default=None
        dtype : dtype, default=None
            Of the result (None: the data's floating dtype); used by lazy kinds.

        Returns
        -------
        result : ndarray or dask array
        """

    def training_labels(self, fit_data, function, rules):
        """Labels of the training rows (see :meth:`FitData.labels`)."""
        return self.map_rows(fit_data.source, function, rules, dtype=np.intp)


class ArraySource(SourceKind):
    """In-memory data: anything array-like (the fallback kind)."""

    def accepts(self, X):
        return True

    def fit_data(self, X, sample_weight, rules, *, reset, random_state):
        X = rules.check_rows(X, reset=reset, ensure_min_samples=2 if reset else 1)
        if reset:
            check_enough_rows(X.shape[0], rules.n_components)
        weights = _no_unit_weights(
            check_sample_weight(sample_weight, X.shape[0], X.dtype)
        )
        data = ArrayData(X, weights, rules.chunk_size)
        return FitData(self, X, data, data, X.dtype)

    def map_rows(self, X, function, rules, *, n_columns=None, dtype=None):
        return function(_checked_rows(X, rules))

    def training_labels(self, fit_data, function, rules):
        # the rows are validated already: no second check
        return function(ArrayData(fit_data.data.X, None, rules.chunk_size))


class DaskSource(SourceKind):
    """Dask arrays: validated without loading, fitted with one compute a step."""

    def accepts(self, X):
        return is_dask_array(X)

    def fit_data(self, X, sample_weight, rules, *, reset, random_state):
        X = _checked_dask_shape(X)
        if reset:
            check_enough_rows(X.shape[0], rules.n_components)
        rows = np.sort(
            random_state.choice(
                X.shape[0], size=min(X.shape[0], INITIAL_ROWS), replace=False
            )
        )
        raw = np.asarray(X[rows].compute())
        sample = rules.check_rows(
            raw, reset=reset, ensure_min_samples=2 if reset else 1
        )
        initial = ArrayData(sample, None, rules.chunk_size)
        encodes = _encodes(raw, sample)
        # one pass over the blocks: the NaN policy's scan, and (where the row
        # checks leave values as they are) the family's support on each block
        _check_dask_values(
            X,
            rules.nan_policy(),
            require_observed_columns=reset,
            check_block=None if encodes else _block_check(rules),
        )
        rows_read = _encoded_blocks(X, rules, sample) if encodes else X
        data = DaskData.from_array(rows_read, _dask_weights(sample_weight, X))
        return FitData(self, X, data, initial, X.dtype)

    def map_rows(self, X, function, rules, *, n_columns=None, dtype=None):
        X = X.rechunk({1: -1})
        dtype = _float_dtype(X.dtype) if dtype is None else dtype

        def map_block(block):
            return function(_checked_rows(block, rules))

        if n_columns is None:
            return X.map_blocks(map_block, drop_axis=1, dtype=dtype)
        return X.map_blocks(map_block, chunks=(X.chunks[0], (n_columns,)), dtype=dtype)


class StreamSource(SourceKind):
    """Re-iterable streams of row chunks: out of core, one pass a step."""

    def accepts(self, X):
        return isinstance(X, ChunkStream)

    def fit_data(self, X, sample_weight, rules, *, reset, random_state):
        if sample_weight is not None:
            raise DataValidationError(
                "sample_weight is not supported with a chunk stream; weight the "
                "rows by repeating them or fit in memory."
            )
        head = rules.check_rows(
            stream_head(X, INITIAL_ROWS),
            reset=reset,
            ensure_min_samples=2 if reset else 1,
        )
        if reset:
            check_enough_rows(head.shape[0], rules.n_components)
        data = StreamData.from_stream(
            X,
            functools.partial(rules.check_rows, reset=False),
            head.shape[1],
            rules.chunk_size,
        )
        return FitData(
            self, X, data, ArrayData(head, None, rules.chunk_size), head.dtype
        )

    def map_rows(self, X, function, rules, *, n_columns=None, dtype=None):
        # one in-memory result per chunk, concatenated: the results are far
        # smaller than the stream (a label or n_columns values a row)
        parts = [function(_checked_rows(chunk, rules)) for chunk in X if len(chunk)]
        if not parts:
            raise DataValidationError(f"{X.description} yielded no rows.")
        return np.concatenate(parts)

    def training_labels(self, fit_data, function, rules):
        return None


#: the kinds in the order they are asked; the array kind takes everything left
SOURCE_KINDS = [DaskSource(), StreamSource(), ArraySource()]


def register_source_kind(kind):
    """Add a kind of data source, asked before the in-memory fallback.

    Parameters
    ----------
    kind : SourceKind
    """
    SOURCE_KINDS.insert(len(SOURCE_KINDS) - 1, kind)


def source_kind(X):
    """The registered kind that accepts ``X``.

    Parameters
    ----------
    X : object

    Returns
    -------
    kind : SourceKind
    """
    return next(kind for kind in SOURCE_KINDS if kind.accepts(X))


def to_fit_data(X, sample_weight, rules, *, random_state, reset=True):
    """The one entry point of training data: any kind of ``X``, validated.

    Parameters
    ----------
    X : array-like, sparse matrix, dask array or ChunkStream \
            of shape (n_samples, n_features)
    sample_weight : array-like of shape (n_samples,) or None
    rules : DataRules
    random_state : RandomState
        For kinds that sample their initial rows.
    reset : bool, default=True
        False for a later ``partial_fit`` batch.

    Returns
    -------
    fit_data : FitData
    """
    return source_kind(X).fit_data(
        X, sample_weight, rules, reset=reset, random_state=random_state
    )


def map_rows(X, function, rules, *, n_columns=None, dtype=None):
    """Apply ``function`` (validated rows -> per-row results) to any kind of ``X``.

    In-memory data gives an ndarray, a dask array a lazy dask array (block by
    block), a stream the concatenated results of its chunks.

    Parameters
    ----------
    X : array-like, sparse matrix, dask array or ChunkStream \
            of shape (n_samples, n_features)
    function : callable
        ``function(data: ArrayData) -> ndarray`` of shape (n_rows,), or
        (n_rows, n_columns) when ``n_columns`` is given.
    rules : DataRules
    n_columns : int, default=None
    dtype : dtype, default=None
        Of a lazy result (None: the data's floating dtype).

    Returns
    -------
    result : ndarray or dask array of shape (n_samples,) or (n_samples, n_columns)
    """
    return source_kind(X).map_rows(X, function, rules, n_columns=n_columns, dtype=dtype)


def check_enough_rows(n_samples, n_components):
    """Refuse fewer rows than components (the same message for every kind)."""
    if n_samples < n_components:
        raise DataValidationError(
            f"Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {n_samples}. Use fewer components "
            "or more data."
        )


def _checked_rows(X, rules):
    return ArrayData(rules.check_rows(X, reset=False), None, rules.chunk_size)


def _no_unit_weights(sample_weight):
    """None for unit weights, so that the fit is the unweighted one bit for bit.

    Multiplying by ones is exact, but a weighted outer product goes to another
    BLAS routine than x x^T (gemm instead of syrk), which adds in another order.
    """
    if sample_weight is not None and np.all(sample_weight == 1):
        return None
    return sample_weight


def _float_dtype(dtype):
    return dtype if dtype in FLOAT_DTYPES else np.dtype(np.float64)


# -- dask arrays --------------------------------------------------------------


def _checked_dask_shape(X):
    """A 2-D numeric dask array with known chunk sizes, as floats (lazily)."""
    if X.ndim != 2:
        raise DataValidationError(
            f"X must be 2-D (n_samples, n_features); got a dask array with "
            f"{X.ndim} dimension(s)."
        )
    if X.dtype.kind not in "fiub":
        raise DataValidationError(
            f"X must be numeric; got a dask array of dtype {X.dtype}."
        )
    if any(np.isnan(size) for size in X.shape) or any(
        np.isnan(size) for sizes in X.chunks for size in sizes
    ):
        raise DataValidationError(
            "X is a dask array with unknown chunk sizes (as boolean indexing "
            "leaves it); call X.compute_chunk_sizes() first, so that rows can be "
            "counted and sampled."
        )
    return X.astype(_float_dtype(X.dtype), copy=False)


def _check_dask_values(X, policy, require_observed_columns, check_block=None):
    """``policy`` over every block of ``X``: one pass, block scans summed.

    ``check_block(block)``, when given, runs on each block in the same pass
    (and raises there) before its scan.
    """
    import dask

    def scan_block(block):
        if check_block is not None:
            block = check_block(block)
        return policy.scan(block)

    scan = dask.delayed(scan_block, pure=True)
    parts = [scan(block) for block in X.rechunk({1: -1}).to_delayed().ravel()]
    policy.check(
        dask.compute(tree_sum(parts, operator.add))[0],
        require_observed_columns=require_observed_columns,
    )


def _encodes(raw_sample, checked_sample):
    """Whether the row checks changed the sample's values (an encoding).

    Dense numeric families leave valid rows as they are; binarizing, category
    codes and sparse formats change them.
    """
    return not (
        isinstance(checked_sample, np.ndarray)
        and checked_sample.shape == raw_sample.shape
        and checked_sample.dtype == raw_sample.dtype
        and np.array_equal(checked_sample, raw_sample, equal_nan=True)
    )


def _block_check(rules):
    """The estimator's row checks of one block, returning the block as it was.

    Issue 17: the initial sample alone was checked, so a negative count in a
    later block reached the E-step.
    """

    def check(block):
        block = np.asarray(block)
        if block.shape[0]:
            rules.check_rows(block, reset=False)
        return block

    return check


def _encoded_blocks(X, rules, checked_sample):
    """``X`` with the row checks' encoding applied to each block as it is read.

    Lazily, in every iteration's pass (which also checks each block there). A
    sparse encoding is left to the blocks' own reading.
    """
    if not isinstance(checked_sample, np.ndarray):
        return X
    width, dtype = checked_sample.shape[1], checked_sample.dtype

    def encoded(block):
        block = np.asarray(block)
        if not block.shape[0]:
            return np.empty((0, width), dtype)
        return rules.check_rows(block, reset=False)

    X = X.rechunk({1: -1})
    return X.map_blocks(encoded, chunks=(X.chunks[0], (width,)), dtype=dtype)


def _dask_weights(sample_weight, X):
    """Weights as a dask array chunked like ``X``'s rows (in-memory ones checked)."""
    if sample_weight is None or is_dask_array(sample_weight):
        return sample_weight
    import dask.array as da

    weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    return da.from_array(weights, chunks=(X.chunks[0],))
