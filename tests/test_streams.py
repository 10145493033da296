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
