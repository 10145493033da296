"""Out-of-core data: re-iterable streams of row chunks for ``fit`` and EM.

EM reads the data once per iteration, so a stream is a *source* that can be
iterated again and again, each pass yielding the same row chunks in the same order:

- :class:`ChunkStream` wraps any function that returns a fresh iterator of
  (n_rows, n_features) arrays;
- :func:`npy_chunks` reads a ``.npy`` file chunk by chunk with plain file reads;
- :func:`parquet_chunks` reads a Parquet file one row group at a time (pyarrow).

``estimator.fit(stream)`` then runs EM with memory bounded by one chunk (plus the
statistics); the initialisation runs in memory on the first rows of the stream.
These are the user-facing sources only: how a fit reads them (validation, the
data seam) is in :mod:`mixtura.inference.sources` and
:mod:`mixtura.inference.stream_data`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from mixtura._npy import read_npy_header
from mixtura.exceptions import DataValidationError

__all__ = ["ChunkStream", "npy_chunks", "parquet_chunks"]


@dataclass(frozen=True)
class ChunkStream:
    """A re-iterable source of row chunks.

    Parameters
    ----------
    make_chunks : callable
        ``make_chunks()`` returns a new iterator of 2-D arrays of shape
        (n_rows, n_features), the same rows in the same order on every call.
    description : str
        What the stream reads, for messages.
    """

    make_chunks: Callable[[], Iterator]
    description: str = "a chunk stream"

    def __iter__(self):
        for chunk in self.make_chunks():
            yield _check_chunk(chunk, self.description)


def _check_chunk(chunk, description):
    chunk = np.asarray(chunk)
    if chunk.ndim != 2:
        raise DataValidationError(
            f"{description} yielded a chunk with {chunk.ndim} dimension(s); each "
            "chunk must be 2-D (n_rows, n_features)."
        )
    if chunk.dtype not in (np.float32, np.float64):
        chunk = chunk.astype(np.float64)
    # NaN and infinity are the estimator's to judge (its NaN policy), as for
    # in-memory data: see mixtura.inference.sources
    return chunk


def npy_chunks(path, chunk_rows=65_536):
    """Stream a 2-D ``.npy`` file in chunks of rows, with plain file reads.

    Each chunk is read into a new array, so memory stays bounded by one chunk:
    a memory map would leave every page read so far in the process's resident
    memory (file-backed), i.e. the whole file after one pass.

    Parameters
    ----------
    path : str or os.PathLike
        The file (``np.save`` output, format version 1.0 or 2.0). Its header is
        parsed without evaluating code and nothing is ever unpickled: object,
        structured and complex dtypes are refused. Fortran-ordered files are
        read column by column into C-ordered chunks.
    chunk_rows : int, default=65536
        Rows per chunk.

    Returns
    -------
    stream : ChunkStream

    Raises
    ------
    DataValidationError
        When the file is not a 2-D numeric ``.npy`` array or is truncated.
    """
    path = os.fspath(path)
    if int(chunk_rows) < 1:
        raise ValueError(f"chunk_rows must be a positive integer; got {chunk_rows}.")
    chunk_rows = int(chunk_rows)
    layout = _npy_layout(path)

    def make_chunks():
        with open(path, "rb") as file:
            for start in range(0, layout.n_rows, chunk_rows):
                n_rows = min(chunk_rows, layout.n_rows - start)
                yield _read_npy_rows(file, layout, start, n_rows, path)

    return ChunkStream(make_chunks, f"the .npy file {path!r}")


@dataclass(frozen=True)
class _NpyLayout:
    """Where and how a 2-D ``.npy`` file stores its values."""

    dtype: np.dtype
    n_rows: int
    n_columns: int
    fortran_order: bool
    offset: int


def _npy_layout(path):
    """Parse and check a ``.npy`` header (a literal, never pickled data)."""
    with open(path, "rb") as file:
        try:
            shape, fortran_order, dtype = read_npy_header(file)
        except ValueError as exc:
            raise DataValidationError(
                f"{path!r} is not a readable .npy file ({exc})."
            ) from exc
        offset = file.tell()
    _check_npy_dtype(dtype, path)
    if len(shape) != 2:
        raise DataValidationError(
            f"the .npy file {path!r} holds an array of shape {shape}; a stream "
            "needs a 2-D array (n_rows, n_features)."
        )
    expected = offset + shape[0] * shape[1] * dtype.itemsize
    if os.path.getsize(path) < expected:
        raise DataValidationError(
            f"the .npy file {path!r} is truncated: its header promises "
            f"{expected} bytes, the file has {os.path.getsize(path)}."
        )
    return _NpyLayout(dtype, int(shape[0]), int(shape[1]), fortran_order, offset)


def _check_npy_dtype(dtype, path):
    # kinds b/i/u/f convert to float exactly as in-memory data do; objects would
    # need unpickling and structured or complex values are not features
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf":
        raise DataValidationError(
            f"the .npy file {path!r} has dtype {dtype}; a stream reads numeric "
            "(bool, integer or float) arrays only, never pickled objects."
        )


def _read_npy_rows(file, layout, start, n_rows, path):
    """Rows ``start:start + n_rows`` of the file as a new C-ordered array."""
    itemsize = layout.dtype.itemsize
    if not layout.fortran_order:
        file.seek(layout.offset + start * layout.n_columns * itemsize)
        values = _read_values(file, layout.dtype, n_rows * layout.n_columns, path)
        return values.reshape(n_rows, layout.n_columns)
    # Fortran order stores each column contiguously: one read per column
    chunk = np.empty((n_rows, layout.n_columns), dtype=layout.dtype)
    for column in range(layout.n_columns):
        file.seek(layout.offset + (column * layout.n_rows + start) * itemsize)
        chunk[:, column] = _read_values(file, layout.dtype, n_rows, path)
    return chunk


def _read_values(file, dtype, count, path):
    values = np.fromfile(file, dtype=dtype, count=count)
    if values.size != count:
        raise DataValidationError(
            f"the .npy file {path!r} ended early (was it truncated while streaming?)."
        )
    return values


def parquet_chunks(path, columns=None):
    """Stream a Parquet file one row group at a time (needs pyarrow).

    Each row group is read one column at a time into the chunk, so memory stays
    about one row group (plus one column): reading a whole row group as a table
    held the table, its NumPy columns and the stacked chunk at once, and
    pyarrow's allocator kept those pages (several times a row group).

    Parameters
    ----------
    path : str or os.PathLike
        The Parquet file.
    columns : list of str, default=None
        Numeric (integer, floating or boolean) columns to read (all columns when
        None). Chunks are float32 when every column read is float32, float64
        otherwise; nulls become NaN (missing values for an estimator with
        ``missing='em'``, refused otherwise).

    Returns
    -------
    stream : ChunkStream

    Raises
    ------
    DataValidationError
        When a column is missing or not numeric.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'parquet_chunks needs pyarrow: pip install "mixtura[parquet]"'
        ) from exc
    path = os.fspath(path)
    names, dtype = _parquet_layout(pq.ParquetFile(path).schema_arrow, columns, path)

    def make_chunks():
        reader = pq.ParquetFile(path)
        for group in range(reader.num_row_groups):
            yield _read_row_group(reader, group, names, dtype)

    return ChunkStream(make_chunks, f"the Parquet file {path!r}")


def _parquet_layout(schema, columns, path):
    """The columns to read and the chunks' dtype, checked against the schema."""
    import pyarrow as pa

    names = list(schema.names if columns is None else columns)
    if not names:
        raise DataValidationError(f"no columns to read from {path!r}.")
    missing = [name for name in names if name not in schema.names]
    if missing:
        raise DataValidationError(
            f"the Parquet file {path!r} has no column(s) {missing}; it has "
            f"{schema.names}."
        )
    types = [schema.field(name).type for name in names]
    for name, kind in zip(names, types, strict=True):
        if not (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
        ):
            raise DataValidationError(
                f"column {name!r} of the Parquet file {path!r} has type {kind}; "
                "a stream reads numeric columns only: pass columns=[...]."
            )
    single = all(pa.types.is_float32(kind) for kind in types)
    return names, np.float32 if single else np.float64


def _read_row_group(reader, group, names, dtype):
    """One row group as a C-ordered (n_rows, n_columns) array, column by column."""
    n_rows = reader.metadata.row_group(group).num_rows
    chunk = np.empty((n_rows, len(names)), dtype=dtype)
    for index, name in enumerate(names):
        column = reader.read_row_group(group, columns=[name], use_threads=False)
        chunk[:, index] = column.column(0).to_numpy(zero_copy_only=False)
    return chunk
