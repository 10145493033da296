"""StudentMixture through the data seam: Dask arrays, .npy streams, partial_fit.

The family's numerics (against scipy, R's MASS and an independent ECM step)
are tested in ``tests/families/test_student.py``; here the estimator's other
entry points give the in-memory fit.
"""

import numpy as np
import pytest

from mixtura import StudentMixture
from mixtura.streams import npy_chunks


def _two_t_clusters(n_per_cluster=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack(
        [
            rng.standard_t(3.0, (n_per_cluster, 2)),
            rng.standard_t(3.0, (n_per_cluster, 2)) + 8.0,
        ]
    )
    return X[rng.permutation(len(X))]


def _assert_same_fit(other, memory):
    assert other.n_iter_ == memory.n_iter_
    np.testing.assert_allclose(other.lower_bounds_, memory.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(other.means_, memory.means_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(
        other.degrees_of_freedom_, memory.degrees_of_freedom_, rtol=1e-8
    )


def test_a_dask_array_gives_the_in_memory_fit():
    da = pytest.importorskip("dask.array")
    X = _two_t_clusters()
    memory = StudentMixture(2, tol=1e-6, random_state=0).fit(X)
    lazy = StudentMixture(2, tol=1e-6, random_state=0).fit(da.from_array(X, chunks=700))
    _assert_same_fit(lazy, memory)


def test_an_npy_stream_gives_the_in_memory_fit(tmp_path):
    X = _two_t_clusters()
    np.save(tmp_path / "rows.npy", X)
    memory = StudentMixture(2, tol=1e-6, random_state=0).fit(X)
    streamed = StudentMixture(2, tol=1e-6, random_state=0).fit(
        npy_chunks(tmp_path / "rows.npy", chunk_rows=500)
    )
    _assert_same_fit(streamed, memory)


def test_partial_fit_over_minibatches_finds_the_clusters():
    X = _two_t_clusters(3000)
    model = StudentMixture(2, random_state=0)
    for start in range(0, len(X), 500):
        model.partial_fit(X[start : start + 500])
    order = np.argsort(model.means_[:, 0])
    # one pass of stepwise EM: locations within a few standard errors
    np.testing.assert_allclose(model.means_[order], [[0, 0], [8, 8]], atol=0.1)
    assert np.all(model.degrees_of_freedom_ < 10.0)
