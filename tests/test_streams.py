"""Out-of-core fits on re-iterable chunk streams (.npy memory maps, Parquet)."""

import warnings

import numpy as np
import pytest

from mixtura import ConvergenceWarning, DataValidationError, GaussianMixture
from mixtura.streams import ChunkStream, npy_chunks, parquet_chunks


def _blobs(n=3000, seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 5.0]])
    labels = rng.randint(3, size=n)
    return centres[labels] + rng.normal(scale=[1.0, 0.7], size=(n, 2))


def _params(X):
    start = GaussianMixture(3, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X[:400])
    return {
        "tol": 1e-6,
        "weights_init": start.weights_,
        "means_init": start.means_,
        "precisions_init": start.precisions_,
    }


def _assert_same_fit(stream_model, memory_model):
    assert stream_model.n_iter_ == memory_model.n_iter_
    np.testing.assert_allclose(
        stream_model.lower_bounds_, memory_model.lower_bounds_, rtol=1e-10
    )
    np.testing.assert_allclose(stream_model.means_, memory_model.means_, rtol=1e-8)


def test_npy_memory_map_stream_gives_the_in_memory_fit(tmp_path):
    X = _blobs()
    path = tmp_path / "data.npy"
    np.save(path, X)
    params = _params(X)
    streamed = GaussianMixture(3, **params).fit(npy_chunks(path, chunk_rows=500))
    _assert_same_fit(streamed, GaussianMixture(3, **params).fit(X))
    assert streamed.n_features_in_ == 2


def test_parquet_row_groups_stream_gives_the_in_memory_fit(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X = _blobs()
    table = pa.table({"a": X[:, 0], "b": X[:, 1], "label": np.zeros(len(X), int)})
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=700)
    params = _params(X)
    streamed = GaussianMixture(3, **params).fit(parquet_chunks(path, ["a", "b"]))
    _assert_same_fit(streamed, GaussianMixture(3, **params).fit(X))


def test_a_generator_function_stream_initialises_from_its_first_rows():
    X = _blobs()
    stream = ChunkStream(lambda: iter(np.array_split(X, 7)), "seven chunks")
    model = GaussianMixture(3, random_state=0).fit(stream)
    assert model.converged_
    assert np.isclose(model.weights_.sum(), 1.0)
    memory = GaussianMixture(3, random_state=0).fit(X)
    assert model.score(X) == pytest.approx(memory.score(X), abs=1e-3)


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        (lambda: iter([np.zeros((5, 2)), np.zeros((5, 3))]), "different numbers"),
        (lambda: iter([np.full((5, 2), np.nan)]), "NaN or infinity"),
        (lambda: iter([np.zeros(5)]), "2-D"),
        (lambda: iter([]), "no rows"),
    ],
)
def test_bad_streams_are_clear_errors(chunks, message):
    with pytest.raises(DataValidationError, match=message):
        GaussianMixture(2).fit(ChunkStream(chunks, "the test stream"))


def test_empty_chunks_in_a_stream_add_nothing():
    X = _blobs(n=600)
    parts = [X[:100], X[100:100], X[100:], X[:0]]
    options = {"max_iter": 4, "tol": 0.0, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(2, **options).fit(
            ChunkStream(lambda: iter(parts), "a stream with empty chunks")
        )
        expected = GaussianMixture(2, **options).fit(
            ChunkStream(lambda: iter([X[:100], X[100:]]), "the same rows")
        )
    assert model.lower_bound_ == pytest.approx(expected.lower_bound_, rel=1e-12)


def _rows_of(stream):
    return list(stream)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_npy_chunks_are_the_files_rows_with_a_last_partial_chunk(
    tmp_path, order, dtype
):
    X = np.asarray(np.arange(1003 * 4).reshape(1003, 4) % 97, dtype=dtype, order=order)
    path = tmp_path / "data.npy"
    np.save(path, X)
    chunks = _rows_of(npy_chunks(path, chunk_rows=250))
    assert [len(chunk) for chunk in chunks] == [250, 250, 250, 250, 3]
    assert all(chunk.flags.c_contiguous for chunk in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), np.load(path))
    # a stream is re-iterable: a second pass gives the same rows
    np.testing.assert_array_equal(np.concatenate(_rows_of(npy_chunks(path, 250))), X)


def test_npy_chunks_reads_format_version_2_and_big_endian_values(tmp_path):
    X = np.arange(60, dtype=">f8").reshape(20, 3)
    path = tmp_path / "v2.npy"
    with open(path, "wb") as file:
        np.lib.format.write_array(file, X, version=(2, 0))
    np.testing.assert_array_equal(np.concatenate(_rows_of(npy_chunks(path, 7))), X)


def test_npy_chunks_keep_memory_bounded_without_a_memory_map(tmp_path, monkeypatch):
    # a memory map would keep every page read in the process's resident memory
    path = tmp_path / "data.npy"
    np.save(path, _blobs(n=100))

    def no_load(*args, **kwargs):
        raise AssertionError("npy_chunks must not np.load (memory map) the file")

    monkeypatch.setattr(np, "load", no_load)
    assert sum(len(chunk) for chunk in npy_chunks(path, 30)) == 100


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([{"a": 1}, None], dtype=object), "never pickled"),
        (np.zeros(3, dtype=[("a", "f8"), ("b", "i4")]), "numeric"),
        (np.zeros((3, 2), dtype=complex), "numeric"),
        (np.zeros(5), "2-D"),
        (np.zeros((2, 3, 4)), "2-D"),
    ],
)
def test_npy_chunks_refuses_what_is_not_a_numeric_matrix(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array, allow_pickle=True)
    with pytest.raises(DataValidationError, match=message):
        npy_chunks(path)


def test_npy_chunks_refuses_truncated_and_foreign_files(tmp_path):
    path = tmp_path / "data.npy"
    np.save(path, np.zeros((100, 3)))
    data = path.read_bytes()
    path.write_bytes(data[:-8])
    with pytest.raises(DataValidationError, match="truncated"):
        npy_chunks(path)
    other = tmp_path / "text.npy"
    other.write_text("not an array")
    with pytest.raises(DataValidationError, match=r"not a readable \.npy"):
        npy_chunks(other)


def test_npy_chunks_refuses_a_file_truncated_while_streaming(tmp_path):
    path = tmp_path / "data.npy"
    np.save(path, np.zeros((100, 3)))
    stream = npy_chunks(path, chunk_rows=40)
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DataValidationError, match="ended early"):
        _rows_of(stream)


def test_parquet_chunks_are_the_row_groups_in_the_columns_dtype(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 1030)).astype(np.float32)
    counts = rng.integers(0, 9, size=1030)
    table = pa.table({"a": a, "b": b, "n": counts, "name": ["x"] * 1030})
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=300)

    chunks = list(parquet_chunks(path, ["a", "b"]))
    assert [len(chunk) for chunk in chunks] == [300, 300, 300, 130]
    assert all(chunk.dtype == np.float32 for chunk in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), np.column_stack([a, b]))

    mixed = np.concatenate(list(parquet_chunks(path, ["n", "a"])))
    assert mixed.dtype == np.float64
    np.testing.assert_array_equal(mixed, np.column_stack([counts, a]))


def test_parquet_chunks_refuse_missing_and_non_numeric_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0], "name": ["x", "y"]}), path)
    with pytest.raises(DataValidationError, match="numeric columns only"):
        parquet_chunks(path)
    with pytest.raises(DataValidationError, match="no column"):
        parquet_chunks(path, ["a", "b"])


def test_parquet_nulls_are_refused_when_fitting(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "data.parquet"
    values = [float(i % 7) for i in range(40)]
    pq.write_table(pa.table({"a": values, "b": [1, None] * 20}), path)
    with pytest.raises(DataValidationError, match="NaN"):
        GaussianMixture(2).fit(parquet_chunks(path))


def test_a_stream_passes_nan_on_for_the_estimator_to_judge():
    chunk = np.array([[1.0, np.nan], [2.0, 3.0]])
    (passed,) = list(ChunkStream(lambda: iter([chunk]), "one chunk"))
    np.testing.assert_array_equal(passed, chunk)


def test_parquet_nulls_are_missing_values_with_missing_em(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "data.parquet"
    X = _blobs(n=600)
    holes = [None if i % 9 == 0 else float(v) for i, v in enumerate(X[:, 1])]
    pq.write_table(pa.table({"a": X[:, 0], "b": holes}), path, row_group_size=100)
    memory = np.column_stack([X[:, 0], np.array(holes, dtype=float)])
    options = {"missing": "em", "random_state": 0}
    streamed = GaussianMixture(3, **options).fit(parquet_chunks(path))
    _assert_same_fit(streamed, GaussianMixture(3, **options).fit(memory))
