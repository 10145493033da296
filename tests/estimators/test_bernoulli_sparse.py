"""BernoulliMixture on scipy.sparse binary data, kept sparse (issue 18)."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from mixtura import BernoulliMixture, DataValidationError
from mixtura.families import Bernoulli


def _binary(n=300, d=8, seed=0):
    rng = np.random.RandomState(seed)
    p = np.where(np.arange(n)[:, None] < n // 2, 0.7, 0.15)
    return (rng.uniform(size=(n, d)) < p).astype(np.float64)


@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_sparse_fit_equals_dense_fit(fmt):
    X = _binary()
    weights = np.random.RandomState(1).uniform(0.5, 2.0, size=X.shape[0])
    dense = BernoulliMixture(2, random_state=0, tol=1e-8).fit(X, sample_weight=weights)
    sparse = BernoulliMixture(2, random_state=0, tol=1e-8)
    sparse.fit(fmt(X), sample_weight=weights)
    assert sparse.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(sparse.lower_bounds_, dense.lower_bounds_, atol=1e-10)
    np.testing.assert_allclose(
        sparse.probabilities_, dense.probabilities_, rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(sparse.weights_, dense.weights_, rtol=0, atol=1e-10)
    # predictions on sparse rows, by either model
    rows = fmt(X[:40])
    np.testing.assert_array_equal(sparse.predict(rows), dense.predict(X[:40]))
    np.testing.assert_allclose(
        dense.predict_proba(rows), dense.predict_proba(X[:40]), atol=1e-10
    )
    np.testing.assert_allclose(
        sparse.score_samples(rows), dense.score_samples(X[:40]), atol=1e-10
    )


def test_sparse_log_prob_equals_dense():
    X = _binary(50, 6)
    family = Bernoulli(probabilities=np.random.RandomState(2).uniform(size=(3, 6)))
    np.testing.assert_allclose(
        family.log_prob(sp.csr_matrix(X)), family.log_prob(X), atol=1e-12
    )
    resp = np.random.RandomState(3).dirichlet(np.ones(3), size=50)
    dense, sparse = (
        family.statistics(X, resp),
        family.statistics(sp.csr_matrix(X), resp),
    )
    for name in ("sum_x", "observed"):
        np.testing.assert_allclose(sparse.sums[name], dense.sums[name], atol=1e-12)


def test_binarize_thresholds_stored_values():
    rng = np.random.RandomState(4)
    values = rng.poisson(0.8, size=(200, 6)).astype(np.float64)
    dense = BernoulliMixture(2, binarize=1.0, random_state=0).fit(values)
    sparse = BernoulliMixture(2, binarize=1.0, random_state=0).fit(
        sp.csr_matrix(values)
    )
    np.testing.assert_allclose(sparse.probabilities_, dense.probabilities_, atol=1e-10)
    np.testing.assert_array_equal(
        sparse.predict(sp.csc_matrix(values)), dense.predict(values)
    )
    with pytest.raises(DataValidationError, match="implicit zeros"):
        BernoulliMixture(2, binarize=-0.5).fit(sp.csr_matrix(values))


def test_non_binary_sparse_is_refused():
    X = sp.csr_matrix(_binary(20, 4))
    X.data[3] = 2.0
    column = X.indices[3]
    with pytest.raises(DataValidationError, match=f"column {column} of the sparse"):
        BernoulliMixture(2).fit(X)
    fitted = BernoulliMixture(2, random_state=0).fit(_binary(20, 4))
    with pytest.raises(DataValidationError, match="binary data"):
        fitted.predict(X)


def test_nan_in_sparse_is_refused():
    X = sp.csr_matrix(_binary(20, 4))
    X.data[0] = np.nan
    for model in (BernoulliMixture(2), BernoulliMixture(2, missing="em")):
        with pytest.raises(DataValidationError, match="NaN"):
            model.fit(X)


def test_large_sparse_fit_is_never_densified():
    n, d = 100_000, 5_000
    # density 0.001, built from its indices (scipy.sparse.random takes 35 s)
    rng = np.random.default_rng(0)
    cells = rng.choice(n * d, size=n * d // 1000, replace=False)
    X = sp.csr_matrix(
        (np.ones(cells.size), (cells // d, cells % d)), shape=(n, d), dtype=np.float64
    )
    tracemalloc.start()
    try:
        # k-means initialisation included (it clusters the sparse rows)
        model = BernoulliMixture(2, random_state=0, max_iter=5).fit(X)
        model.predict(X[:1000])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # X stores 500k entries (6 MB); a dense copy would be n * d * 8 = 4 GB, a
    # dense boolean mask 500 MB. The fit's own arrays (resp, chunks of the
    # product, k-means on a sample) stay far below 1/20 of a dense copy.
    assert peak < n * d * 8 / 20
    assert model.probabilities_.shape == (2, d)
