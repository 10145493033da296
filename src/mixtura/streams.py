"""Out-of-core data: re-iterable streams of row chunks for ``fit`` and EM.

EM reads the data once per iteration, so a stream is a *source* that can be
iterated again and again, each pass yielding the same row chunks in the same order:

- :class:`ChunkStream` wraps any function that returns a fresh iterator of
  (n_rows, n_features) arrays;
- :func:`npy_chunks` reads a ``.npy`` file through a memory map;
- :func:`parquet_chunks` reads a Parquet file one row group at a time (pyarrow).

``estimator.fit(stream)`` then runs EM with memory bounded by one chunk (plus the
statistics); the initialisation runs in memory on the first rows of the stream.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from mixtura.exceptions import DataValidationError
from mixtura.inference.data import ArrayData, accumulate

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
    if not np.isfinite(chunk).all():
        raise DataValidationError(
            f"{description} yielded NaN or infinity; drop or impute those rows."
        )
    return chunk


def npy_chunks(path, chunk_rows=65_536):
    """Stream a 2-D ``.npy`` file in chunks of rows, through a memory map.

    Parameters
    ----------
    path : str or os.PathLike
        The file (``np.save`` output; never unpickled).
    chunk_rows : int, default=65536
        Rows per chunk.

    Returns
    -------
    stream : ChunkStream
    """
    path = os.fspath(path)

    def make_chunks():
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        for start in range(0, array.shape[0], chunk_rows):
            yield np.array(array[start : start + chunk_rows])

    return ChunkStream(make_chunks, f"the .npy file {path!r}")


def parquet_chunks(path, columns=None):
    """Stream a Parquet file one row group at a time (needs pyarrow).

    Parameters
    ----------
    path : str or os.PathLike
        The Parquet file.
    columns : list of str, default=None
        Numeric columns to read (all columns when None).

    Returns
    -------
    stream : ChunkStream
    """
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'parquet_chunks needs pyarrow: pip install "mixtura[parquet]"'
        ) from exc
    path = os.fspath(path)

    def make_chunks():
        reader = pq.ParquetFile(path)
        for group in range(reader.num_row_groups):
            table = reader.read_row_group(group, columns=columns)
            yield np.column_stack(
                [column.to_numpy(zero_copy_only=False) for column in table.columns]
            )

    return ChunkStream(make_chunks, f"the Parquet file {path!r}")


@dataclass(frozen=True)
class StreamData:
    """A :class:`ChunkStream` behind the data seam (one pass per accumulate)."""

    stream: ChunkStream
    n_samples: int
    total_weight: float

    @classmethod
    def from_stream(cls, stream):
        """Count the stream's rows (one pass)."""
        n_rows, widths = 0, set()
        for chunk in stream:
            n_rows += chunk.shape[0]
            widths.add(chunk.shape[1])
        if len(widths) > 1:
            raise DataValidationError(
                f"{stream.description} yielded chunks with different numbers of "
                f"columns {sorted(widths)}; every chunk needs the same features."
            )
        if n_rows == 0:
            raise DataValidationError(f"{stream.description} yielded no rows.")
        return cls(stream, n_rows, float(n_rows))

    def head(self, n_rows):
        """The first ``n_rows`` rows, in memory (for initialisation)."""
        parts, count = [], 0
        for chunk in self.stream:
            parts.append(chunk[: n_rows - count])
            count += parts[-1].shape[0]
            if count >= n_rows:
                break
        return np.concatenate(parts)


@accumulate.register
def _accumulate_stream(data: StreamData, mixture):
    total_stats, total_log_likelihood = None, 0.0
    for chunk in data.stream:
        stats, mean_log_likelihood = accumulate(ArrayData(chunk), mixture)
        total_log_likelihood += mean_log_likelihood * chunk.shape[0]
        total_stats = stats if total_stats is None else total_stats + stats
    return total_stats, total_log_likelihood / data.total_weight
