"""Model-based hierarchical initialisation (init_params='hc')."""

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.metrics import adjusted_rand_score

from mixtura import GaussianMixture
from mixtura.datasets import load_faithful
from mixtura.inference import INIT_METHODS
from mixtura.inference.hierarchical import (
    _Clusters,
    _merge_sequence,
    _PairCosts,
    hc_labels,
    svd_scale,
)

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


def _read_csv(name):
    with open(REFERENCE / name) as handle:
        return np.array(list(csv.reader(handle))[1:], dtype=int)


def _alpha(Z):
    return max(np.sum((Z - Z.mean(axis=0)) ** 2) / Z.size, np.finfo(float).eps)


def _assert_same_partition(a, b):
    # equal up to relabelling: every cluster of one is a cluster of the other
    table = np.zeros((a.max() + 1, b.max() + 1), dtype=int)
    np.add.at(table, (a, b), 1)
    assert ((table > 0).sum(axis=0) == 1).all() and ((table > 0).sum(axis=1) == 1).all()


@pytest.mark.parametrize(
    "data, reference",
    [
        (lambda: np.asarray(load_faithful()), "mclust_faithful_hc.csv"),
        (lambda: load_iris().data, "hc_iris.csv"),
    ],
    ids=["faithful", "iris"],
)
def test_partitions_equal_mclusts(data, reference):
    # mclust's hclass(hc(X, "VVV", use = "SVD"), 1:9) (mclust_faithful.R,
    # hc_reference.R; R 4.2.2, mclust 6.0.0)
    rows = _read_csv(reference)
    ours = hc_labels(data(), range(1, 10))
    for k in range(1, 10):
        _assert_same_partition(ours[k], rows[:, k - 1] - 1)
        assert adjusted_rand_score(rows[:, k - 1], ours[k]) == 1.0
        # clusters are numbered by first appearance, as hclass numbers them
        np.testing.assert_array_equal(ours[k], rows[:, k - 1] - 1)


@pytest.mark.parametrize(
    "data, reference",
    [
        (lambda: np.asarray(load_faithful()), "hc_faithful_merges.csv"),
        (lambda: load_iris().data, "hc_iris_merges.csv"),
    ],
    ids=["faithful", "iris"],
)
def test_whole_merge_sequence_is_mclusts(data, reference):
    # every one of the n - 1 merges of mclust's hierarchy (hc_reference.R),
    # clusters named by their smallest row as mclust names them
    Z = svd_scale(data())
    clusters = _Clusters(Z, np.arange(Z.shape[0]), _alpha(Z))
    merges = np.array(_merge_sequence(clusters, 1)) + 1
    np.testing.assert_array_equal(merges, _read_csv(reference))


def test_svd_scale_is_rs_hc_svd_transformation():
    # R: X <- scale(X); s <- svd(X, nu = 0); X %*% s$v %*% diag(1 / sqrt(s$d)),
    # after dropping the columns scale() makes NaN (constant ones)
    X = np.random.RandomState(1).normal(size=(50, 3))
    X[:, 1] = 4.0
    Z = svd_scale(X)
    assert Z.shape == (50, 2)
    kept = X[:, [0, 2]]
    standardised = (kept - kept.mean(0)) / kept.std(0, ddof=1)
    _, singular, vt = np.linalg.svd(standardised, full_matrices=False)
    np.testing.assert_allclose(Z, standardised @ vt.T / np.sqrt(singular))


def _packed_scan_merges(Z, alpha):
    """mclust's rule by brute force: the costs of all pairs ``(i < j)`` of slots,
    packed by j then i, the last minimum merged into slot i, the last slot
    moved into slot j; clusters named by their smallest row."""
    clusters = _Clusters(Z, np.arange(Z.shape[0]), alpha)
    names = list(range(Z.shape[0]))
    merges = []
    while len(names) > 1:
        packed = [
            (cost, i, j)
            for j in range(1, len(names))
            for i, cost in enumerate(clusters.costs(j, np.arange(j)))
        ]
        least = min(cost for cost, _, _ in packed)
        _, i, j = [entry for entry in packed if entry[0] == least][-1]
        merges.append(tuple(sorted((names[i], names[j]))))
        clusters.absorb(i, j)
        names[i] = min(names[i], names[j])
        last = len(names) - 1
        clusters.move(last, j)
        names[j] = names[last]
        names.pop()
        for values in ("count", "mean", "scatter", "term"):
            setattr(clusters, values, getattr(clusters, values)[:last])
    return merges


@pytest.mark.parametrize("seed", range(4))
def test_row_minima_follow_mclusts_scan_through_ties(seed):
    # gridded data with repeated rows: many pairs cost exactly the same, so the
    # tie rule and the slot moves decide the order
    rng = np.random.RandomState(seed)
    Z = np.round(rng.normal(size=(40, 2)) * 2) / 2
    Z = np.vstack([Z, Z[:8]])[rng.permutation(48)]
    clusters = _Clusters(Z, np.arange(48), 0.3)
    assert _merge_sequence(clusters, 1) == _packed_scan_merges(Z, 0.3)


def test_ties_go_to_the_last_pair_in_packed_order():
    # two pairs of identical rows cost -2 log 2 each; mclust merges the pair
    # with the larger j first, then moves the last slot (row 4) into slot 3
    Z = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [5.0, 0.0], [0.0, 9.0]])
    merges = _merge_sequence(_Clusters(Z, np.arange(5), 1.0), 1)
    assert merges[:2] == [(2, 3), (0, 1)]


def test_identical_rows_start_as_singletons_like_mclust():
    # mclust's hc() does not hand dupPartition() to hcVVV: a repeated row is a
    # singleton, and its first merge is with its copy at cost -2 log 2
    Z = np.array([[0.0, 0.0], [1.0, 0.2], [0.0, 0.0], [3.0, 1.0]])
    alpha = 0.5
    clusters = _Clusters(Z, np.arange(4), alpha)
    assert clusters.costs(0, np.array([2]))[0] == pytest.approx(-2 * np.log(2))
    assert _merge_sequence(clusters, 3) == [(0, 2)]


def test_singleton_costs_equal_the_general_costs():
    Z = np.random.RandomState(0).normal(size=(30, 3))
    clusters = _Clusters(Z, np.arange(30), 0.4)
    pairs = _PairCosts(clusters)
    for j in range(1, 30):
        np.testing.assert_allclose(
            pairs.cost[j, :j], clusters.costs(j, np.arange(j)), rtol=1e-14
        )


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
