"""EM on dask arrays: same fit as in memory, one compute per iteration."""

import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from mixtura import ConvergenceWarning, GaussianMixture, MixtureModel  # noqa: E402

STRUCTURES = ["full", "tied", "diag", "spherical"]


def _blobs(n=4000, seed=0):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 1.0], [0.0, 5.0, -1.0]])
    labels = rng.randint(3, size=n)
    return centres[labels] + rng.normal(scale=[1.0, 0.7, 1.3], size=(n, 3))


def _inits(X, covariance_type):
    start = GaussianMixture(
        3, covariance_type=covariance_type, max_iter=1, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X[:500])
    return {
        "weights_init": start.weights_,
        "means_init": start.means_,
        "precisions_init": start.precisions_,
    }


@pytest.mark.parametrize("covariance_type", STRUCTURES)
def test_dask_fit_equals_the_in_memory_fit(covariance_type):
    X = _blobs()
    params = {
        "covariance_type": covariance_type,
        "tol": 1e-6,
        **_inits(X, covariance_type),
    }
    memory = GaussianMixture(3, **params).fit(X)
    lazy = GaussianMixture(3, **params).fit(da.from_array(X, chunks=(700, 3)))
    assert lazy.n_iter_ == memory.n_iter_
    np.testing.assert_allclose(lazy.lower_bounds_, memory.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(lazy.means_, memory.means_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(lazy.covariances_, memory.covariances_, rtol=1e-8)
    predicted = lazy.predict(da.from_array(X, chunks=(1000, 3)))
    assert isinstance(predicted, da.Array)
    np.testing.assert_array_equal(predicted.compute(), memory.predict(X))
    np.testing.assert_allclose(
        lazy.predict_proba(da.from_array(X, chunks=(900, 3))).compute(),
        memory.predict_proba(X),
        rtol=1e-8,
        atol=1e-12,
    )


def test_one_compute_per_iteration():
    from dask.callbacks import Callback

    class CountComputes(Callback):
        def __init__(self):
            super().__init__()
            self.count = 0

        def _start(self, dsk):
            self.count += 1

    X = _blobs(n=2000)
    params = {"tol": 1e-6, **_inits(X, "full")}
    with CountComputes() as counter:
        model = GaussianMixture(3, **params).fit(da.from_array(X, chunks=(400, 3)))
    # validation (finiteness) and the initialisation sample add one each
    assert counter.count == model.n_iter_ + 2


def test_dask_fit_with_a_distributed_cluster_and_weights():
    distributed = pytest.importorskip("distributed")
    X = _blobs(n=3000)
    weights = np.random.RandomState(1).uniform(0.5, 2.0, size=len(X))
    params = {"tol": 1e-6, **_inits(X, "diag"), "covariance_type": "diag"}
    memory = GaussianMixture(3, **params).fit(X, sample_weight=weights)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        lazy = GaussianMixture(3, **params).fit(
            da.from_array(X, chunks=(500, 3)), sample_weight=weights
        )
    np.testing.assert_allclose(lazy.lower_bound_, memory.lower_bound_, rtol=1e-10)
    np.testing.assert_allclose(lazy.means_, memory.means_, rtol=1e-8)


def test_generic_estimator_initialises_from_a_sample_and_finds_the_clusters():
    X = _blobs(n=6000)
    model = MixtureModel(3, random_state=0).fit(da.from_array(X, chunks=(1000, 3)))
    labels = model.predict(X)
    from sklearn.metrics import adjusted_rand_score

    reference = GaussianMixture(3, random_state=0).fit(X).predict(X)
    assert adjusted_rand_score(labels, reference) > 0.95


def test_bad_dask_input_is_refused_clearly():
    X = _blobs(n=500)
    X[10, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN in column 2 .*Pass missing='em'"):
        GaussianMixture(2).fit(da.from_array(X, chunks=(100, 3)))
    X[20, 1] = np.inf
    with pytest.raises(ValueError, match="infinity in column 1"):
        GaussianMixture(2, missing="em").fit(da.from_array(X, chunks=(100, 3)))
    X[:, 1] = np.nan
    with pytest.raises(ValueError, match="column 1 is entirely missing"):
        GaussianMixture(2, missing="em").fit(da.from_array(X, chunks=(100, 3)))
    with pytest.raises(ValueError, match="2-D"):
        GaussianMixture(2).fit(da.zeros(10, chunks=5))
    clean = da.from_array(_blobs(n=500), chunks=(100, 3))
    filtered = clean[clean[:, 0] > -100]  # boolean indexing: unknown chunk sizes
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        GaussianMixture(2).fit(filtered)


def test_an_empty_block_adds_nothing():
    X = da.from_array(_blobs(n=500), chunks=(100, 3))
    with_empty = X.rechunk(((100, 0, 400), (3,)))
    params = {"max_iter": 4, "tol": 0.0, "random_state": 0, **_inits(_blobs(), "full")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = GaussianMixture(3, **params).fit(X)
        model = GaussianMixture(3, **params).fit(with_empty)
    assert model.lower_bound_ == pytest.approx(expected.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(model.means_, expected.means_, rtol=1e-10)


def test_a_large_block_is_processed_in_bounded_chunks():
    # one 100k-row block: done as a single chunk, the fused step's quadratic
    # features alone would take 100k x 14 x 8 bytes = 11 MiB per 3 features;
    # in chunks the temporaries stay near the per-thread budget
    import tracemalloc

    from mixtura.inference.dask_data import _block_statistics
    from mixtura.inference.data import CHUNK_BYTES

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 16))
    model = GaussianMixture(8, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:2000])
    mixture = model._fitted_mixture()
    tracemalloc.start()
    stats, log_likelihood = _block_statistics(mixture, X, None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * CHUNK_BYTES  # whole-block features: 100k x 153 x 8 = 117 MiB
    whole, whole_log_likelihood = mixture.chunk_statistics(X, None)
    assert log_likelihood == pytest.approx(whole_log_likelihood, rel=1e-12)
    np.testing.assert_allclose(stats.scatter, whole.scatter, rtol=1e-9, atol=1e-9)


def test_every_dask_block_is_checked_against_the_family():
    # issue 17: only the initial sample went through the family's support
    # check, so a negative count in another block reached the E-step
    da = pytest.importorskip("dask.array")
    from mixtura import PoissonMixture
    from mixtura.exceptions import DataValidationError

    rng = np.random.RandomState(0)
    counts = rng.poisson(3.0, size=(40_000, 3)).astype(float)
    counts[-1, 0] = -2.0  # one bad row, almost surely outside the sample
    X = da.from_array(counts, chunks=(5_000, 3))
    with pytest.raises(DataValidationError, match="negative"):
        PoissonMixture(2, random_state=0).fit(X)


def test_dask_blocks_are_encoded_as_the_sample_is():
    # BernoulliMixture(binarize=...) encodes each block as it reads it
    da = pytest.importorskip("dask.array")
    from mixtura import BernoulliMixture

    rng = np.random.RandomState(1)
    values = np.vstack([rng.normal(-1, 1, (3000, 4)), rng.normal(1, 1, (3000, 4))])
    X = da.from_array(values, chunks=(1000, 4))
    lazy = BernoulliMixture(2, binarize=0.0, random_state=0).fit(X)
    eager = BernoulliMixture(2, binarize=0.0, random_state=0).fit(values)
    assert abs(lazy.lower_bound_ - eager.lower_bound_) < 1e-3
    np.testing.assert_allclose(
        np.sort(lazy.probabilities_[:, 0]),
        np.sort(eager.probabilities_[:, 0]),
        atol=0.02,
    )


def test_dask_blocks_are_normalized_for_von_mises_fisher():
    # VonMisesFisherMixture(normalize=True) divides each row by its norm: the
    # blocks after the initial sample must be divided too
    da = pytest.importorskip("dask.array")
    from mixtura import VonMisesFisherMixture

    rng = np.random.RandomState(2)
    directions = np.vstack(
        [rng.normal([5, 0, 0], 1, (2000, 3)), rng.normal([0, 5, 0], 1, (2000, 3))]
    )
    values = directions * rng.uniform(0.5, 20, size=(4000, 1))  # far from unit length
    X = da.from_array(values, chunks=(500, 3))
    lazy = VonMisesFisherMixture(2, normalize=True, random_state=0).fit(X)
    eager = VonMisesFisherMixture(2, normalize=True, random_state=0).fit(values)
    assert abs(lazy.lower_bound_ - eager.lower_bound_) < 1e-3
    np.testing.assert_allclose(
        np.sort(lazy.concentrations_), np.sort(eager.concentrations_), rtol=0.02
    )
