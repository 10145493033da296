"""The lean k-means equals scikit-learn's KMeans(n_init=1) bit for bit."""

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.cluster._k_means_common import CHUNK_SIZE
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import threadpool_limits

from mixtura.inference import kmeans as kmeans_module
from mixtura.inference.kmeans import CHUNK_ROWS, kmeans, kmeans_labels, serves

# (n_samples, n_features, n_clusters): one block and several (256 rows each, a
# remainder block or none), one feature and more than four (the unrolled shift)
SHAPES = [
    (10, 1, 3),
    (40, 2, 1),
    (57, 3, 10),
    (256, 2, 4),
    (300, 2, 3),
    (513, 4, 6),
    (1000, 8, 9),
    (2000, 1, 10),
    (3000, 8, 9),
]
SEEDS = range(30)


@pytest.fixture(autouse=True)
def _at_most_two_threads():
    """Pin scikit-learn's OpenMP threads to at most two.

    With three or more threads scikit-learn adds its threads' partial centre
    sums in the order they take a lock, so its own centres vary in the last bit
    from run to run (see test_many_threads_give_the_same_labels); with one or
    two the sum is the same whatever the order.
    """
    with threadpool_limits(limits=2, user_api="openmp"):
        yield


def _data(kind, n, d, rng):
    """Blobs, uniform noise, or small integers (duplicate rows, empty clusters)."""
    if kind == "blobs":
        centres = rng.normal(scale=4.0, size=(5, d))
        return centres[rng.integers(0, 5, n)] + rng.normal(size=(n, d))
    if kind == "uniform":
        return rng.uniform(-1.0, 3.0, size=(n, d))
    return rng.integers(0, 3, size=(n, d)).astype(float)


def _weights(kind, n, rng):
    if kind == "none":
        return None
    weights = rng.uniform(0.05, 4.0, n)
    if kind == "zeros":  # zero weights leave clusters weightless
        weights[rng.random(n) < 0.25] = 0.0
        weights[rng.integers(n)] = 1.0  # never all zero
    return weights


def _assert_same_as_sklearn(X, n_clusters, seed, weights=None, **params):
    """Labels, iterations, centres and the generator's state all equal sklearn's."""
    reference_state = np.random.RandomState(seed)
    with warnings.catch_warnings():
        # duplicate rows: fewer distinct clusters than asked for
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = KMeans(
            n_clusters, n_init=1, random_state=reference_state, **params
        ).fit(X, sample_weight=weights)
    state = np.random.RandomState(seed)
    before = X.copy()
    result = kmeans(X, n_clusters, state, weights, **params)
    np.testing.assert_array_equal(X, before)  # the caller's data are untouched
    assert result.labels.dtype == np.int32
    np.testing.assert_array_equal(result.labels, reference.labels_)
    assert result.n_iter == reference.n_iter_
    if _openmp_effective_n_threads() <= 2:  # else sklearn's own last bit varies
        np.testing.assert_array_equal(result.centres, reference.cluster_centers_)
    ours, theirs = state.get_state(), reference_state.get_state()
    assert ours[0] == theirs[0]
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert ours[2:] == theirs[2:]
    return result


@pytest.mark.parametrize("weight_kind", ["none", "positive", "zeros"])
@pytest.mark.parametrize("kind", ["blobs", "uniform", "duplicates"])
@pytest.mark.parametrize(("n", "d", "n_clusters"), SHAPES)
def test_same_as_sklearn(n, d, n_clusters, kind, weight_kind):
    for seed in SEEDS:
        rng = np.random.default_rng([seed, n, d, n_clusters])
        X = _data(kind, n, d, rng)
        weights = _weights(weight_kind, n, rng)
        _assert_same_as_sklearn(X, n_clusters, seed, weights)


@pytest.mark.parametrize(
    "params", [{"max_iter": 1}, {"max_iter": 2}, {"tol": 0.0}, {"tol": 1e-2}]
)
@pytest.mark.parametrize("kind", ["blobs", "duplicates"])
def test_same_as_sklearn_at_other_stopping_rules(params, kind):
    # max_iter and a loose tol end without strict convergence: the rows are
    # relabelled from the last centres; tol=0 runs to repeated labels
    for seed in range(10):
        for n, d, n_clusters in SHAPES[2::2]:
            rng = np.random.default_rng([seed, n])
            X = _data(kind, n, d, rng)
            weights = _weights("zeros", n, rng)
            _assert_same_as_sklearn(X, n_clusters, seed, weights, **params)


def test_one_thread_is_the_same_as_sklearn():
    # one thread: a single sequential sum over the rows instead of two halves
    with threadpool_limits(limits=1, user_api="openmp"):
        assert _openmp_effective_n_threads() == 1
        for seed in range(10):
            for n, d, n_clusters in SHAPES[4:]:
                rng = np.random.default_rng([seed, n])
                X = _data("blobs", n, d, rng)
                _assert_same_as_sklearn(X, n_clusters, seed, _weights("zeros", n, rng))


def test_many_threads_give_the_same_labels(monkeypatch):
    # three threads: sklearn's centres may differ from ours in the last bit
    # (lock order), the labels of well-separated data may not
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # lets sklearn exceed the cores
    with threadpool_limits(limits=3, user_api="openmp"):
        if _openmp_effective_n_threads() != 3:
            pytest.skip("scikit-learn's OpenMP runtime is not controllable here")
        for seed in range(5):
            for n, d, n_clusters in [(800, 3, 4), (3000, 8, 9)]:
                rng = np.random.default_rng([seed, n])
                X = _data("blobs", n, d, rng)
                _assert_same_as_sklearn(X, n_clusters, seed)


def test_empty_clusters_are_relocated_as_in_sklearn(monkeypatch):
    # guard that the comparisons above do reach the relocation of a weightless
    # cluster to the farthest row (not only its no-op when all rows coincide)
    moves = []
    relocate = kmeans_module._relocate_empty_clusters

    def counting(X, weights, centres, sums, totals, labels):
        if (totals == 0).any() and (centres[labels] != X).any():
            moves.append(int((totals == 0).sum()))
        relocate(X, weights, centres, sums, totals, labels)

    monkeypatch.setattr(kmeans_module, "_relocate_empty_clusters", counting)
    for seed in range(10):
        # three distinct values, ten clusters: duplicate centres leave clusters
        # empty; a centre put at the raw sum of the heaviest cluster (see
        # _average_centres) pulls no row, and rows off their centres move
        rng = np.random.default_rng([seed, 99])
        X = _data("duplicates", 2000, 1, rng)
        _assert_same_as_sklearn(X, 10, seed, _weights("zeros", 2000, rng))
    assert moves


def test_weightless_cluster_before_the_heaviest_as_in_sklearn(monkeypatch):
    # sklearn's averaging loop copies the heaviest cluster's row into a
    # weightless cluster before scaling it when the heaviest comes later: tiny
    # data with many zero weights reach that order, and the centres tell
    reached = []
    average = kmeans_module._average_centres

    def watching(sums, totals):
        weightless = np.flatnonzero(totals <= 0)
        reached.append(bool((weightless < np.argmax(totals)).any()))
        return average(sums, totals)

    monkeypatch.setattr(kmeans_module, "_average_centres", watching)
    for seed in range(300):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(5, 60))
        d = int(rng.integers(1, 3))
        X = _data("duplicates", n, d, rng)
        X[: n // 3] += rng.normal(size=(n // 3, d))
        weights = rng.uniform(0.1, 2.0, n)
        weights[rng.random(n) < 0.5] = 0.0
        weights[0] = 1.0
        _assert_same_as_sklearn(X, int(rng.integers(2, min(n, 10) + 1)), seed, weights)
    assert any(reached)


def test_layouts_and_views_give_sklearns_labels():
    rng = np.random.default_rng(3)
    X = _data("blobs", 900, 4, rng)
    for view in (np.asfortranarray(X), X[::2], X[:, 1:]):
        _assert_same_as_sklearn(view, 5, 7)


def test_labels_shortcut_and_centres_coordinates():
    rng = np.random.default_rng(0)
    X = _data("blobs", 200, 3, rng) + 100.0
    result = kmeans(X, 4, np.random.RandomState(1))
    labels = kmeans_labels(X, 4, np.random.RandomState(1))
    np.testing.assert_array_equal(labels, result.labels)
    # centres are the weighted means of their rows, in the data's coordinates
    for k in range(4):
        np.testing.assert_allclose(result.centres[k], X[labels == k].mean(axis=0))


def test_block_size_is_sklearns():
    assert CHUNK_ROWS == CHUNK_SIZE


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
def test_serves_dense_float64_only():
    assert serves(np.zeros((3, 2)))
    assert serves(np.zeros((3, 2), order="F"))
    assert not serves(np.zeros((3, 2), dtype=np.float32))
    assert not serves(np.zeros(3))
    assert not serves(np.asmatrix(np.zeros((3, 2))))
    assert not serves([[0.0, 1.0]])


def test_errors():
    X = np.random.default_rng(0).normal(size=(5, 2))
    state = np.random.RandomState(0)
    with pytest.raises(ValueError, match="n_samples=5 should be >= n_clusters=6"):
        kmeans_labels(X, 6, state)
    with pytest.raises(ValueError, match="float64"):
        kmeans_labels(X.astype(np.float32), 2, state)
    with pytest.raises(TypeError, match="RandomState"):
        kmeans_labels(X, 2, 0)
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans_labels(X, 0, state)
    with pytest.raises(ValueError, match="max_iter"):
        kmeans_labels(X, 2, state, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        kmeans_labels(X, 2, state, tol=-1.0)
    with pytest.raises(ValueError, match="non-negative"):
        kmeans_labels(X, 2, state, sample_weight=np.array([1.0, -1, 1, 1, 1]))
    with pytest.raises(ValueError, match="non-zero"):
        kmeans_labels(X, 2, state, sample_weight=np.zeros(5))
    with pytest.raises(ValueError, match="shape"):
        kmeans_labels(X, 2, state, sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="NaN"):
        kmeans_labels(np.where(X > 1, np.nan, X), 2, state)
    # nothing was drawn by the failed calls
    np.testing.assert_array_equal(
        state.get_state()[1], np.random.RandomState(0).get_state()[1]
    )
