"""Chunk streams behind the data seam: one pass over the stream per E-step.

A stream (:class:`mixtura.streams.ChunkStream`) yields the same row chunks on
every pass; :class:`StreamData` adds what the loop needs: the number of rows
(counted once), and the estimator's check of each chunk, so that a chunk reaches
the E-step exactly as an in-memory array would (validated, encoded, with NaN
kept only where the estimator fits missing values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mixtura.exceptions import DataValidationError
from mixtura.inference.data import ArrayData, accumulate, e_step_totals

__all__ = ["StreamData", "stream_head"]


@dataclass(frozen=True)
class StreamData:
    """A re-iterable stream of row chunks behind the data seam.

    Parameters
    ----------
    stream : iterable
        Re-iterable source of 2-D chunks (n_rows, n_features), the same rows on
        every pass (a :class:`~mixtura.streams.ChunkStream`).
    check_chunk : callable
        ``check_chunk(chunk) -> chunk``: the estimator's validation of in-memory
        rows, applied to every chunk of every pass.
    n_samples : int
        Rows in the stream.
    total_weight : float
        Sum of the weights (the number of rows: streams are unweighted).
    chunk_size : int or None
        Rows per E-step chunk inside each stream chunk (None: the default).
    """

    stream: object
    check_chunk: Callable
    n_samples: int
    total_weight: float
    chunk_size: int | None = None

    @classmethod
    def from_stream(cls, stream, check_chunk, n_features, chunk_size=None):
        """Validate every chunk and count the rows (one pass).

        Parameters
        ----------
        stream : ChunkStream
        check_chunk : callable
            ``check_chunk(chunk) -> chunk``, raising on refused values.
        n_features : int
            Columns every chunk must have (those of the stream's first rows).
        chunk_size : int or None, default=None

        Returns
        -------
        data : StreamData
        """
        n_rows = 0
        for chunk in _chunks(stream, check_chunk, n_features):
            n_rows += chunk.shape[0]
        return cls(stream, check_chunk, n_rows, float(n_rows), chunk_size)

    def chunks(self):
        """Yield the stream's non-empty chunks, each checked, in order."""
        return _chunks(self.stream, self.check_chunk)


def _chunks(stream, check_chunk, n_features=None):
    for chunk in stream:
        if n_features is not None and chunk.shape[1] != n_features:
            raise _width_error(stream, n_features, chunk.shape[1])
        if chunk.shape[0] == 0:  # a filtering stream may yield empty chunks
            continue
        yield check_chunk(chunk)


def _width_error(stream, *widths):
    return DataValidationError(
        f"{_description(stream)} yielded chunks with different numbers of "
        f"columns {sorted(set(widths))}; every chunk needs the same features."
    )


def _description(stream):
    return getattr(stream, "description", "the stream")


def stream_head(stream, n_rows):
    """The stream's first ``n_rows`` rows (all, when it has fewer), in memory.

    Parameters
    ----------
    stream : ChunkStream
    n_rows : int

    Returns
    -------
    head : ndarray of shape (min(n_rows, rows in the stream), n_features)

    Raises
    ------
    DataValidationError
        When the stream yields no rows, or chunks of different widths.
    """
    parts, count = [], 0
    for chunk in stream:
        if parts and chunk.shape[1] != parts[0].shape[1]:
            raise _width_error(stream, parts[0].shape[1], chunk.shape[1])
        parts.append(chunk[: n_rows - count])
        count += parts[-1].shape[0]
        if count >= n_rows:
            break
    if count == 0:
        raise DataValidationError(f"{_description(stream)} yielded no rows.")
    return np.concatenate(parts)


@accumulate.register
def _accumulate_stream(data: StreamData, mixture):
    total_stats, total_log_likelihood = None, 0.0
    for chunk in data.chunks():
        stats, log_likelihood = e_step_totals(
            ArrayData(chunk, None, data.chunk_size), mixture
        )
        total_log_likelihood += log_likelihood
        total_stats = stats if total_stats is None else total_stats + stats
    return total_stats, total_log_likelihood / data.total_weight
