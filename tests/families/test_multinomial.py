"""The multinomial family: sparse input, zero probabilities, empty rows, bad counts."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse
from scipy import stats
from sklearn.feature_extraction.text import TfidfTransformer

from mixtura.exceptions import DataValidationError
from mixtura.families import Multinomial
from mixtura.families.multinomial import check_count_matrix, document_features


def _family(rng, n_components=3, n_features=6, alpha=1.0):
    probabilities = rng.dirichlet(np.ones(n_features), size=n_components)
    return Multinomial(alpha, probabilities=probabilities, lengths=[5.0, 8.0, 9.0])


def _counts(rng, n_samples=40, n_features=6):
    X = rng.poisson(1.5, size=(n_samples, n_features)).astype(np.float64)
    X[3] = 0  # an empty document
    return X


def _reference(family, X):
    return np.column_stack(
        [
            stats.multinomial.logpmf(X, n=X.sum(axis=1), p=p)
            for p in family.probabilities
        ]
    )


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_log_prob_equals_dense_and_scipy(fmt):
    rng = np.random.RandomState(0)
    family, X = _family(rng), _counts(rng)
    sparse = check_count_matrix(scipy.sparse.csr_matrix(X).asformat(fmt), "test")
    assert scipy.sparse.issparse(sparse) and sparse.format == "csr"
    log_prob = family.log_prob(sparse)
    assert isinstance(log_prob, np.ndarray)
    np.testing.assert_allclose(log_prob, family.log_prob(X), rtol=1e-12)
    np.testing.assert_allclose(log_prob, _reference(family, X), rtol=1e-10)


def test_sparse_float32_log_prob_stays_float32():
    rng = np.random.RandomState(1)
    family, X = _family(rng), _counts(rng)
    log_prob = family.log_prob(scipy.sparse.csr_matrix(X.astype(np.float32)))
    assert log_prob.dtype == np.float32
    np.testing.assert_allclose(log_prob, family.log_prob(X), rtol=1e-5, atol=1e-4)


def test_sparse_statistics_equal_dense_and_add_over_row_chunks():
    rng = np.random.RandomState(2)
    family, X = _family(rng), _counts(rng)
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    sparse = scipy.sparse.csr_matrix(X)
    dense_stats = family.statistics(X, resp, weights)
    sparse_stats = family.statistics(sparse, resp, weights)
    parts = family.statistics(sparse[:17], resp[:17], weights[:17]) + (
        family.statistics(sparse[17:], resp[17:], weights[17:])
    )
    for stats_ in (sparse_stats, parts):
        np.testing.assert_allclose(stats_.resp_sum, dense_stats.resp_sum, rtol=1e-12)
        np.testing.assert_allclose(stats_.term_sums, dense_stats.term_sums, rtol=1e-12)


def test_empty_rows_have_log_density_zero_under_every_component():
    rng = np.random.RandomState(3)
    family = _family(rng)
    empty = np.zeros((2, 6))
    np.testing.assert_array_equal(family.log_prob(empty), 0.0)
    np.testing.assert_array_equal(family.log_prob(scipy.sparse.csr_matrix(empty)), 0.0)


def test_maximum_likelihood_zero_probabilities_rule_out_only_rows_that_use_them():
    probabilities = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    family = Multinomial(0.0, probabilities=probabilities)
    X = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0], [0.0, 0.0, 0.0]])
    expected = _reference(family, X)  # scipy: -inf where a row uses term 2
    for data in (X, scipy.sparse.csr_matrix(X)):
        log_prob = family.log_prob(data)
        assert np.isneginf(log_prob[1, 0])
        np.testing.assert_allclose(log_prob, expected, rtol=1e-12)


def test_maximize_is_additive_smoothing_and_mean_lengths():
    X = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 2.0]])
    resp = np.array([[1.0, 0.0], [0.25, 0.75]])
    fitted = Multinomial(0.5).maximize(Multinomial(0.5).statistics(X, resp))
    counts = resp.T @ X
    expected = (counts + 0.5) / (counts.sum(axis=1, keepdims=True) + 3 * 0.5)
    np.testing.assert_allclose(fitted.probabilities, expected)
    np.testing.assert_allclose(fitted.lengths, counts.sum(axis=1) / resp.sum(axis=0))


def test_maximum_likelihood_component_without_counts_is_uniform():
    X = np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    resp = np.array([[1.0, 0.0], [0.0, 1.0]])
    family = Multinomial(0.0)
    fitted = family.maximize(family.statistics(X, resp))
    np.testing.assert_allclose(fitted.probabilities[1], np.full(3, 1 / 3))


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(
    ("value", "kind"), [(-1.0, "Negative values"), (0.5, "Non-integer values")]
)
def test_bad_counts_are_refused_naming_the_column(sparse, value, kind):
    X = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, value]])
    data = scipy.sparse.csr_matrix(X) if sparse else X
    with pytest.raises(DataValidationError, match=f"{kind}.*column 2"):
        check_count_matrix(data, "Multinomial")


def test_document_features_are_unit_tfidf_rows_and_empty_rows_stay_zero():
    X = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
    dense = document_features(X)
    sparse = document_features(scipy.sparse.csc_matrix(X))
    assert scipy.sparse.issparse(sparse)
    np.testing.assert_allclose(sparse.toarray(), dense)
    # scikit-learn's TfidfTransformer (smoothed idf, l2 norm) is the reference
    reference = TfidfTransformer().fit_transform(X).toarray()
    np.testing.assert_allclose(dense, reference, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(dense, axis=1), [1.0, 0.0, 1.0, 1.0])


def test_sparse_work_never_densifies_the_data():
    # 40 rows x 500,000 terms: the dense matrix would be 160 MB, the CSR ~10 kB;
    # the (K, V) parameters and (V, K) statistics are 8 MB each
    rng = np.random.RandomState(4)
    n_features = 500_000
    X = scipy.sparse.random(
        40, n_features, density=2e-5, format="csr", random_state=rng
    )
    X.data = np.ceil(X.data * 5)
    family = Multinomial(probabilities=rng.dirichlet(np.ones(n_features), size=2))
    resp = rng.dirichlet(np.ones(2), size=40)
    tracemalloc.start()
    family.log_prob(X)
    family.statistics(X, resp)
    document_features(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 40 * 2**20
