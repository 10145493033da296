"""Initial responsibilities."""

import numpy as np
import pytest

from mixtura.exceptions import DataValidationError
from mixtura.inference.init import (
    INIT_METHODS,
    OneHotResponsibilities,
    initial_responsibilities,
    responsibilities_from_labels,
)


@pytest.mark.parametrize("method", sorted(INIT_METHODS))
def test_each_method_gives_valid_responsibilities(method):
    X = np.random.RandomState(0).normal(size=(40, 3))
    lazy = initial_responsibilities(X, 4, method, np.random.RandomState(0), dense=False)
    assert lazy.shape == (40, 4)
    resp = initial_responsibilities(X, 4, method, np.random.RandomState(0))
    assert isinstance(resp, np.ndarray)
    assert resp.shape == (40, 4)
    # chunked consumers slice rows: each slice is that block of the dense array
    np.testing.assert_array_equal(lazy[7:23], resp[7:23])
    assert np.all(resp >= 0)
    if method in ("kmeans", "random", "hc", "spherical-kmeans"):  # every row assigned
        np.testing.assert_allclose(resp.sum(axis=1), 1.0)
    else:  # seeds: one row per component
        np.testing.assert_array_equal(resp.sum(axis=0), 1.0)
    again = initial_responsibilities(X, 4, method, np.random.RandomState(0))
    np.testing.assert_array_equal(resp, again)


def test_labels_become_one_hot_responsibilities():
    resp = initial_responsibilities(
        np.zeros((4, 1)),
        3,
        np.array([0, 2, 2, 1]),
        np.random.RandomState(0),
        dense=False,
    )
    np.testing.assert_array_equal(np.asarray(resp), np.eye(3)[[0, 2, 2, 1]])
    assert isinstance(resp, OneHotResponsibilities)
    np.testing.assert_array_equal(resp[1:3], np.eye(3)[[2, 2]])


def test_one_hot_responsibilities_hold_labels_not_a_dense_array():
    labels = np.array([2, -1, 0, 1, -1], dtype=np.int16)
    resp = OneHotResponsibilities(labels, 3, np.float32)
    dense = np.asarray(resp)
    assert dense.dtype == np.float32
    np.testing.assert_array_equal(
        dense, [[0, 0, 1], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]]
    )
    np.testing.assert_array_equal(resp[3:], dense[3:])
    np.testing.assert_array_equal(resp[[0, 2]], dense[[0, 2]])
    # what it stores: the labels (2 bytes a row), not n x K floats
    assert resp.labels.nbytes == 10


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 3]), r"lie in \[0, 3\)"),
        (np.array([0.5, 1.0]), "integers"),
        (np.array([-1, 0]), r"lie in \[0, 3\)"),
    ],
)
def test_bad_labels_are_rejected(labels, message):
    with pytest.raises(DataValidationError, match=message):
        responsibilities_from_labels(labels, 3)


def test_labels_of_the_wrong_length_are_rejected():
    with pytest.raises(DataValidationError, match="one label per row"):
        initial_responsibilities(np.zeros((5, 2)), 2, [0, 1], np.random.RandomState(0))


def test_kmeans_on_large_data_clusters_a_sample_and_labels_every_row(monkeypatch):
    from sklearn.metrics import adjusted_rand_score

    from mixtura.inference import init as init_module

    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    labels = rng.randint(3, size=3000)
    X = centres[labels] + rng.normal(size=(3000, 2))
    monkeypatch.setattr(init_module, "KMEANS_SAMPLE_ROWS", 500)
    resp = init_module.initial_responsibilities(
        X, 3, "kmeans", np.random.RandomState(1)
    )
    assert resp.shape == (3000, 3)
    resp = np.asarray(resp)
    np.testing.assert_array_equal(resp.sum(axis=1), 1.0)
    assert adjusted_rand_score(labels, resp.argmax(axis=1)) > 0.99


def test_shared_kmeans_runs_each_start_once_and_advances_the_generator(monkeypatch):
    from mixtura.inference import init
    from mixtura.inference.init import shared_kmeans

    X = np.random.RandomState(1).normal(size=(300, 2))
    calls = []
    original = init.kmeans_labels
    monkeypatch.setattr(
        init, "kmeans_labels", lambda *a, **k: calls.append(1) or original(*a, **k)
    )

    def two_starts(seed):
        rng = np.random.RandomState(seed)
        first = initial_responsibilities(X, 3, "kmeans", rng)
        second = initial_responsibilities(X, 3, "kmeans", rng)
        return first, second, rng.uniform()

    direct = two_starts(0)
    assert len(calls) == 2
    with shared_kmeans():
        shared = [two_starts(0) for _ in range(3)] + [two_starts(1)]
    # three repeats of seed 0 cost its two starts once; seed 1 its own two
    assert len(calls) == 2 + 2 + 2
    for repeat in shared[:3]:
        np.testing.assert_array_equal(repeat[0], direct[0])
        np.testing.assert_array_equal(repeat[1], direct[1])
        assert repeat[2] == direct[2]  # the generator ends where a real run leaves it
    seed_one = two_starts(1)  # outside the block: computed afresh, nothing kept
    assert len(calls) == 8
    np.testing.assert_array_equal(shared[3][1], seed_one[1])
    assert shared[3][2] == seed_one[2]
