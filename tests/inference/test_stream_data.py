"""Streams behind the data seam: counted and checked once, read once per E-step."""

import numpy as np
import pytest

from mixtura import DataValidationError
from mixtura.inference.stream_data import StreamData, stream_head
from mixtura.streams import ChunkStream


def _stream(chunks):
    return ChunkStream(lambda: iter(chunks), "the test stream")


def _doubled(chunk):
    return 2 * chunk


def test_rows_are_counted_and_every_chunk_checked_on_every_pass():
    parts = [np.ones((3, 2)), np.ones((0, 2)), np.ones((4, 2))]
    data = StreamData.from_stream(_stream(parts), _doubled, n_features=2)
    assert data.n_samples == 7
    assert data.total_weight == 7.0
    for _ in range(2):
        chunks = list(data.chunks())
        assert [len(chunk) for chunk in chunks] == [3, 4]  # empty chunks skipped
        assert all((chunk == 2).all() for chunk in chunks)


def test_a_check_that_refuses_a_chunk_stops_the_count():
    def refuse_negative(chunk):
        if (chunk < 0).any():
            raise DataValidationError("negative")
        return chunk

    parts = [np.ones((3, 2)), -np.ones((2, 2))]
    with pytest.raises(DataValidationError, match="negative"):
        StreamData.from_stream(_stream(parts), refuse_negative, n_features=2)


def test_chunks_of_another_width_are_refused():
    parts = [np.ones((3, 2)), np.ones((3, 3))]
    with pytest.raises(DataValidationError, match="different numbers of columns"):
        StreamData.from_stream(_stream(parts), _doubled, n_features=2)
    with pytest.raises(DataValidationError, match="different numbers of columns"):
        stream_head(_stream(parts), 100)


def test_the_head_is_the_first_rows_across_chunks():
    X = np.arange(20.0).reshape(10, 2)
    stream = _stream(np.array_split(X, 4))
    np.testing.assert_array_equal(stream_head(stream, 4), X[:4])
    np.testing.assert_array_equal(stream_head(stream, 100), X)
    with pytest.raises(DataValidationError, match="no rows"):
        stream_head(_stream([np.ones((0, 2))]), 5)
