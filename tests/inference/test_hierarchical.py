"""Model-based hierarchical initialisation (init_params='hc')."""

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from mixtura import GaussianMixture
from mixtura.datasets import load_faithful
from mixtura.inference import INIT_METHODS
from mixtura.inference.hierarchical import _Clusters, hc_labels, svd_scale

REFERENCE = Path(__file__).parents[1] / "reference"


def _blobs(seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    labels = np.repeat([0, 1, 2], 60)
    return centres[labels] + rng.normal(size=(180, 2)) * [1.0, 0.5], labels


def test_svd_scale_standardises_and_decorrelates():
    X = np.random.RandomState(0).normal(size=(100, 3)) @ [
        [2, 1, 0],
        [0, 1, 0],
        [0, 0, 5],
    ]
    Z = svd_scale(X)
    gram = Z.T @ Z
    np.testing.assert_allclose(gram, np.diag(np.diag(gram)), atol=1e-9)
    standardised = (X - X.mean(0)) / X.std(0, ddof=1)
    singular = np.linalg.svd(standardised, compute_uv=False)
    np.testing.assert_allclose(np.diag(gram), singular, rtol=1e-10)


def test_merge_cost_of_two_singletons_is_fraleys():
    # two singletons i, j: n = 2 <= d, so the term is 2 log((|x_i - x_j|^2 / 2 +
    # alpha) / 2), and each singleton's term is log(alpha)
    Z = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    alpha = 0.7
    clusters = _Clusters(Z, np.arange(3), alpha)
    expected = 2 * np.log((25 / 2 + alpha) / 2) - 2 * np.log(alpha)
    assert clusters.costs(0, np.array([1]))[0] == pytest.approx(expected)


def test_well_separated_clusters_are_recovered():
    X, labels = _blobs()
    found = hc_labels(X, [1, 2, 3])
    assert adjusted_rand_score(labels, found[3]) == 1.0
    assert set(found[1]) == {0}
    assert len(set(found[2])) == 2


def test_identical_rows_stay_together():
    X, _ = _blobs()
    X = np.vstack([X, X[:20]])
    for labels in hc_labels(X, [2, 5, 9]).values():
        np.testing.assert_array_equal(labels[-20:], labels[:20])


def test_agrees_with_mclusts_first_split_on_faithful():
    # mclust's own hc partitions (mclust_faithful.R). Ties among the grid-like
    # faithful values are broken differently from mclust's Fortran, so deeper
    # cuts differ; the two-cluster cut agrees.
    with open(REFERENCE / "mclust_faithful_hc.csv") as handle:
        rows = np.array(list(csv.reader(handle))[1:], dtype=int)
    ours = hc_labels(np.asarray(load_faithful()), [2])[2]
    assert adjusted_rand_score(rows[:, 1], ours) > 0.95


def test_gaussian_mixture_accepts_hc_and_is_deterministic():
    X, labels = _blobs()
    assert "hc" in INIT_METHODS
    a = GaussianMixture(3, covariance_type="VEV", init_params="hc", random_state=0)
    b = GaussianMixture(3, covariance_type="VEV", init_params="hc", random_state=1)
    np.testing.assert_array_equal(a.fit_predict(X), b.fit_predict(X))
    assert adjusted_rand_score(labels, a.predict(X)) == 1.0


def test_subset_for_large_data_labels_every_row():
    X, labels = _blobs()
    found = hc_labels(X, [3], max_samples=50, random_state=np.random.RandomState(0))
    assert found[3].shape == (180,)
    assert adjusted_rand_score(labels, found[3]) > 0.95


def test_more_components_than_distinct_rows_says_what_to_do():
    X = np.repeat([[0.0, 0.0], [1.0, 2.0]], 5, axis=0)
    with pytest.raises(ValueError, match=r"distinct rows.*fewer components"):
        hc_labels(X, [3])
