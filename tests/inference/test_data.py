"""Chunking of in-memory data: sizes from the family's per-row temporaries."""

import numpy as np
import pytest

from mixtura.families import Bernoulli, Gaussian
from mixtura.inference.data import (
    CHUNK_BYTES,
    MIN_ROWS,
    ArrayData,
    default_chunk_size,
)


@pytest.mark.parametrize("row_values", [None, 10, 500, 20_000])
def test_chunks_fill_the_budget_but_never_fall_below_the_floor(row_values):
    rows = default_chunk_size(16, 16, 8, row_values=row_values)
    values = 16 * 18 if row_values is None else row_values
    if rows > MIN_ROWS:
        assert rows == CHUNK_BYTES // (values * 8)
    else:  # thin products run far below the BLAS's peak: at least MIN_ROWS rows
        assert rows >= min(MIN_ROWS, 256)


def test_gaussian_row_values_count_the_fused_steps_temporaries():
    d, k = 16, 16
    # quadratic features (pairs or squares), coordinates, ones, 2K, 3 sums
    assert Gaussian("full").chunk_row_values(d, k) == 136 + 16 + 1 + 32 + 3
    assert Gaussian("diag").chunk_row_values(d, k) == 16 + 16 + 1 + 32 + 3
    # few components, many features: the whitened path and its (K, d) values
    assert Gaussian("full").chunk_row_values(64, 2) == 2 * 66
    # a family whose E-step is one product: its features and four K-vectors
    assert Bernoulli().chunk_row_values(d, k) == d + 4 * k


def test_chunks_sized_by_a_family_cover_every_row_in_order():
    X = np.arange(150_000 * 4, dtype=float).reshape(150_000, 4)
    weights = np.linspace(1, 2, 150_000)
    data = ArrayData(X, weights)
    family = Gaussian("diag")
    expected = default_chunk_size(3, 4, 8, row_values=family.chunk_row_values(4, 3))
    chunks = list(data.chunks(3, family))
    assert chunks[0][0].shape[0] == expected
    np.testing.assert_array_equal(np.vstack([c for c, _ in chunks]), X)
    np.testing.assert_array_equal(np.concatenate([w for _, w in chunks]), weights)
    # a given chunk_size wins over the family's
    assert next(ArrayData(X, None, 1000).chunks(3, family))[0].shape[0] == 1000


@pytest.mark.parametrize("n_chunks", [1, 5, 20, 200])
def test_groups_cover_the_chunks_in_order_whatever_the_count(n_chunks):
    from mixtura.inference.data import CHUNKS_PER_GROUP, MIN_GROUPS, _chunk_groups
    from mixtura.mixture import Mixture

    X = np.arange(n_chunks * 10 * 2, dtype=float).reshape(-1, 2)
    mixture = Mixture(
        np.log([0.5, 0.5]),
        Gaussian("diag", means=[[0, 0], [1, 1]], covariances=np.ones((2, 2))),
    )
    groups = _chunk_groups(ArrayData(X, None, 10), mixture)
    rows = np.vstack([chunk for group in groups for chunk, _ in group])
    np.testing.assert_array_equal(rows, X)
    sizes = {len(group) for group in groups[:-1]} or {len(groups[0])}
    assert len(sizes) == 1 and sizes.pop() <= CHUNKS_PER_GROUP
    # threads get work: enough groups, unless there are fewer chunks than that
    assert len(groups) >= min(n_chunks, MIN_GROUPS)


def test_totals_do_not_depend_on_threads():
    from mixtura.inference.data import e_step_totals
    from mixtura.mixture import Mixture

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30_000, 3))
    family = Gaussian(
        "full", means=rng.normal(size=(4, 3)), covariances=np.stack([np.eye(3)] * 4)
    )
    mixture = Mixture(np.log(np.full(4, 0.25)), family)
    data = ArrayData(X, rng.uniform(0.5, 1.5, size=30_000), 700)
    one, log_likelihood_one = e_step_totals(data, mixture, threads=False)
    many, log_likelihood_many = e_step_totals(data, mixture, threads=True)
    assert log_likelihood_one == log_likelihood_many
    np.testing.assert_array_equal(one.scatter, many.scatter)
    np.testing.assert_array_equal(one.mean, many.mean)


def test_the_base_measure_is_summed_once_per_data_set(monkeypatch):
    from mixtura.families import Poisson
    from mixtura.inference.data import e_step_totals
    from mixtura.mixture import Mixture

    rng = np.random.default_rng(2)
    X = rng.poisson(4.0, size=(5000, 6)).astype(float)
    weights = rng.uniform(0.5, 1.5, size=5000)
    mixture = Mixture(
        np.log([0.3, 0.7]), Poisson(rates=rng.uniform(1.0, 8.0, size=(2, 6)))
    )
    calls = []
    original = Poisson.log_base_measure
    monkeypatch.setattr(
        Poisson,
        "log_base_measure",
        lambda self, X: calls.append(X.shape[0]) or original(self, X),
    )
    data = ArrayData(X, weights, 1000)
    first = e_step_totals(data, mixture)
    second = e_step_totals(data, mixture)
    assert sum(calls) == 5000  # every row once, for both E-steps
    expected_stats, expected = mixture.chunk_statistics(X, weights)
    assert first[1] == pytest.approx(expected, rel=1e-12)
    assert second[1] == first[1]
    np.testing.assert_allclose(first[0].sum_x, expected_stats.sum_x, rtol=1e-12)


def test_overlapping_single_threaded_blas_limits_once_and_restores_once(monkeypatch):
    # threadpoolctl limits are process-wide and restore what they found: two
    # threads' overlapping limits used to restore each other's 1 and leave the
    # process one BLAS thread. The first caller in limits, the last one out
    # restores (recorded on a stand-in controller: OpenBLAS may ignore thread
    # counts set from threads other than the one that first used it).
    import threading

    from mixtura.inference import data as data_module

    events = []

    class Limiter:
        def restore_original_limits(self):
            events.append("restore")

    class Controller:
        def limit(self, limits, user_api):
            events.append(("limit", limits, user_api))
            return Limiter()

    monkeypatch.setattr(data_module, "_blas_controller", Controller)
    entered, release = threading.Barrier(2, timeout=30), threading.Event()

    def hold(wait_for_release):
        with data_module.single_threaded_blas():
            entered.wait()
            if wait_for_release:
                release.wait(timeout=30)

    first = threading.Thread(target=hold, args=(True,), daemon=True)
    second = threading.Thread(target=hold, args=(False,), daemon=True)
    first.start()
    second.start()
    second.join(timeout=30)  # leaves while the first is still inside
    still_limited = list(events)
    release.set()
    first.join(timeout=30)
    assert still_limited == [("limit", 1, "blas")]
    assert events == [("limit", 1, "blas"), "restore"]
