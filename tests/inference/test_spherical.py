"""Spherical k-means++ seeds and spherical k-means (initialisation by cosine)."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from mixtura.inference import INIT_METHODS, spherical
from mixtura.inference.init import OneHotResponsibilities
from mixtura.inference.spherical import (
    spherical_kmeans_labels,
    spherical_kmeans_plusplus,
)


def _directions(rng, n_per_cluster, spread=0.05):
    centres = np.array([[1.0, 0, 0], [0, 1.0, 0], [-1.0, 0, 0]])
    X = np.repeat(centres, n_per_cluster, axis=0)
    X = X + spread * rng.normal(size=X.shape)
    labels = np.repeat(np.arange(3), n_per_cluster)
    return X, labels


def test_methods_are_registered():
    assert "spherical-k-means++" in INIT_METHODS
    assert "spherical-kmeans" in INIT_METHODS


def test_clusters_are_directions_not_lengths():
    rng = np.random.RandomState(0)
    X, labels = _directions(rng, 100)
    # lengths from 0.1 to 10 would split Euclidean clusters by length
    X *= rng.uniform(0.1, 10.0, size=(X.shape[0], 1))
    found = spherical_kmeans_labels(X, 3, np.random.RandomState(0))
    assert adjusted_rand_score(labels, found) == 1.0


def test_seeds_are_distinct_and_reproducible():
    rng = np.random.RandomState(1)
    X, _ = _directions(rng, 50)
    seeds = spherical_kmeans_plusplus(X, 3, np.random.RandomState(0))
    assert len(set(seeds.tolist())) == 3
    # three well separated directions: one seed in each
    assert sorted(seeds // 50) == [0, 1, 2]
    again = spherical_kmeans_plusplus(X, 3, np.random.RandomState(0))
    np.testing.assert_array_equal(seeds, again)


def test_identical_rows_still_give_distinct_seeds():
    X = np.tile([[0.0, 1.0]], (5, 1))
    seeds = spherical_kmeans_plusplus(X, 4, np.random.RandomState(0))
    assert len(set(seeds.tolist())) == 4


def test_rows_without_weight_are_never_seeds():
    rng = np.random.RandomState(2)
    X, _ = _directions(rng, 20)
    weights = np.ones(60)
    weights[20:40] = 0.0
    for seed in range(5):
        seeds = spherical_kmeans_plusplus(X, 2, np.random.RandomState(seed), weights)
        assert not np.any((seeds >= 20) & (seeds < 40))


def test_seed_responsibilities_give_each_seed_row_to_its_component():
    X, _ = _directions(np.random.RandomState(3), 10)
    resp = INIT_METHODS["spherical-k-means++"](X, 3, np.random.RandomState(0), None)
    assert isinstance(resp, OneHotResponsibilities)
    dense = np.asarray(resp)
    np.testing.assert_array_equal(dense.sum(axis=0), 1.0)
    assert dense.sum() == 3


def test_large_data_are_clustered_on_a_sample_then_all_labelled(monkeypatch):
    monkeypatch.setattr(spherical, "KMEANS_SAMPLE_ROWS", 60)
    rng = np.random.RandomState(4)
    X, labels = _directions(rng, 400)
    found = spherical_kmeans_labels(X, 3, np.random.RandomState(0))
    assert found.shape == (1200,)
    assert adjusted_rand_score(labels, found) == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_responsibilities_take_the_data_dtype(dtype):
    X, _ = _directions(np.random.RandomState(5), 10)
    resp = INIT_METHODS["spherical-kmeans"](
        X.astype(dtype), 3, np.random.RandomState(0), None
    )
    assert resp[0:4].dtype == dtype
    np.testing.assert_array_equal(np.asarray(resp).sum(axis=1), 1.0)
