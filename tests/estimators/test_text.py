"""Text mixtures: recovery on simulated corpora, sparse == dense, bad input."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse
from scipy import stats
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from sklearn.metrics import adjusted_rand_score

import mixtura
from mixtura import (
    DataValidationError,
    DirichletMultinomialMixture,
    MixtureModel,
    MultinomialMixture,
)


def simulate_corpus(n_docs, n_terms, n_topics, *, mean_length=80, seed=0):
    """Documents drawn from a mixture of multinomials with sparse topics.

    Returns
    -------
    X : csr_matrix of shape (n_docs, n_terms)
    labels : ndarray of shape (n_docs,)
    probabilities : ndarray of shape (n_topics, n_terms)
    """
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.full(n_terms, 0.2), size=n_topics)
    labels = rng.integers(n_topics, size=n_docs)
    lengths = rng.poisson(mean_length, size=n_docs)
    X = rng.multinomial(lengths, probabilities[labels])
    return scipy.sparse.csr_matrix(X.astype(np.float64)), labels, probabilities


def _match(true_labels, labels, n_components):
    """Permutation ``order`` with fitted component order[k] <-> true component k."""
    confusion = np.zeros((n_components, n_components))
    np.add.at(confusion, (true_labels, labels), 1)
    _, order = linear_sum_assignment(-confusion)
    return order


@pytest.fixture(scope="module")
def corpus():
    return simulate_corpus(1500, 200, 3)


def test_recovers_topics_and_labels_from_a_sparse_corpus(corpus):
    X, labels, probabilities = corpus
    model = MultinomialMixture(3, alpha=0.01, random_state=0).fit(X)
    predicted = model.predict(X)
    assert adjusted_rand_score(labels, predicted) > 0.99
    order = _match(labels, predicted, 3)
    error = np.abs(model.probabilities_[order] - probabilities).sum(axis=1)
    # L1 distance between true and fitted term distributions: ~0.05 observed,
    # the sampling error of ~40,000 words a topic over 200 terms
    assert error.max() < 0.1
    np.testing.assert_allclose(
        model.weights_[order], np.bincount(labels) / labels.size, atol=0.01
    )


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_dense_input_gives_the_same_fit_as_sparse(corpus, fmt):
    X = corpus[0][:600]
    sparse = MultinomialMixture(3, random_state=1).fit(X.asformat(fmt))
    dense = MultinomialMixture(3, random_state=1).fit(X.toarray())
    assert sparse.n_iter_ == dense.n_iter_
    assert sparse.lower_bound_ == pytest.approx(dense.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(sparse.probabilities_, dense.probabilities_, rtol=1e-10)
    np.testing.assert_allclose(sparse.weights_, dense.weights_, rtol=1e-10)
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X.toarray()))


def test_score_samples_is_the_mixture_of_scipy_multinomials(corpus):
    X = corpus[0][:300]
    model = MultinomialMixture(3, random_state=0).fit(X)
    dense = X.toarray()
    component = np.column_stack(
        [
            stats.multinomial.logpmf(dense, n=dense.sum(axis=1), p=p)
            for p in model.probabilities_
        ]
    )
    expected = logsumexp(component + np.log(model.weights_), axis=1)
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)


def test_empty_documents_score_zero_and_get_the_mixing_weights(corpus):
    X = scipy.sparse.vstack([corpus[0][:300], scipy.sparse.csr_matrix((2, 200))])
    model = MultinomialMixture(3, random_state=0).fit(X)
    empty = X[-2:]
    np.testing.assert_array_equal(model.score_samples(empty), 0.0)
    np.testing.assert_allclose(
        model.predict_proba(empty), np.tile(model.weights_, (2, 1)), rtol=1e-12
    )


def test_integer_sample_weights_equal_repeated_rows(corpus):
    X = corpus[0][:200]
    weights = np.arange(200) % 3
    repeated = X[np.repeat(np.arange(200), weights)]
    labels = np.arange(200) % 3
    init = labels[weights > 0]
    weighted = MultinomialMixture(3, init_params=labels, random_state=0)
    weighted.fit(X, sample_weight=weights)
    plain = MultinomialMixture(
        3, init_params=np.repeat(labels, weights), random_state=0
    ).fit(repeated)
    assert init.size  # the repeated data keeps rows of every label
    np.testing.assert_allclose(weighted.probabilities_, plain.probabilities_, 1e-10)
    assert weighted.lower_bound_ == pytest.approx(plain.lower_bound_, rel=1e-10)


@pytest.mark.parametrize("sparse", [False, True])
def test_negative_or_fractional_counts_are_clear_errors(sparse):
    X = np.array([[1.0, 2.0], [3.0, 0.0], [0.0, 4.0]])
    for bad, message in ((-1.0, "Negative values"), (0.5, "Non-integer values")):
        data = X.copy()
        data[2, 1] = bad
        data = scipy.sparse.csr_matrix(data) if sparse else data
        with pytest.raises(DataValidationError, match=f"{message}.*column 1"):
            MultinomialMixture(2).fit(data)


def test_nan_in_sparse_input_is_a_clear_error():
    X = scipy.sparse.csr_matrix(np.array([[1.0, 2.0], [3.0, np.nan], [0.0, 4.0]]))
    with pytest.raises(DataValidationError, match="NaN in column 1"):
        MultinomialMixture(2).fit(X)


def test_sparse_input_is_refused_by_dense_only_families(corpus):
    with pytest.raises(TypeError, match=r"[Ss]parse"):
        mixtura.GaussianMixture(2).fit(corpus[0][:50])


def test_mixture_model_with_the_multinomial_family_is_the_same_fit(corpus):
    X = corpus[0][:400]
    generic = MixtureModel(
        3, family="multinomial", family_params={"alpha": 0.5}, random_state=0
    ).fit(X)
    specific = MultinomialMixture(3, alpha=0.5, random_state=0).fit(X)
    np.testing.assert_allclose(
        generic.family_.probabilities, specific.probabilities_, rtol=1e-12
    )
    assert generic.lower_bound_ == specific.lower_bound_


@pytest.mark.parametrize("init_params", ["k-means++", "random", "random_from_data"])
def test_every_initialisation_runs_on_sparse_input(corpus, init_params):
    X, labels, _ = corpus
    model = MultinomialMixture(
        3, init_params=init_params, n_init=3, random_state=0
    ).fit(X)
    assert adjusted_rand_score(labels, model.predict(X)) > 0.95


def test_float32_sparse_input_fits_in_float32(corpus):
    X = corpus[0][:400]
    model = MultinomialMixture(3, random_state=0).fit(X.astype(np.float32))
    reference = MultinomialMixture(3, random_state=0).fit(X)
    assert model.probabilities_.dtype == np.float32
    np.testing.assert_allclose(
        model.probabilities_, reference.probabilities_, rtol=1e-3, atol=1e-6
    )


def test_round_trip_through_a_model_file(corpus, tmp_path):
    X = corpus[0][:300]
    model = MultinomialMixture(3, alpha=0.3, random_state=0).fit(X)
    path = tmp_path / "text.mixtura"
    mixtura.save(model, path)
    loaded = mixtura.load(path)
    assert loaded.alpha == 0.3
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_samples_are_counts_with_the_components_mean_lengths(corpus):
    model = MultinomialMixture(3, random_state=0).fit(corpus[0])
    X, labels = model.sample(3000)
    assert X.shape == (3000, 200)
    assert np.all(np.floor(X) == X) and np.all(X >= 0)
    for k in range(3):
        lengths = X[labels == k].sum(axis=1)
        assert lengths.mean() == pytest.approx(model.lengths_[k], rel=0.05)


# -- Dirichlet-multinomial -------------------------------------------------------
def simulate_bursty_corpus(n_docs, n_terms, precisions, *, mean_length=100, seed=0):
    """Documents from a mixture of Dirichlet-multinomials (bursty topics).

    Returns
    -------
    X : csr_matrix of shape (n_docs, n_terms)
    labels : ndarray of shape (n_docs,)
    concentrations : ndarray of shape (n_topics, n_terms)
    """
    rng = np.random.default_rng(seed)
    n_topics = len(precisions)
    means = rng.dirichlet(np.full(n_terms, 0.3), size=n_topics)
    concentrations = np.asarray(precisions, dtype=float)[:, None] * means
    labels = rng.integers(n_topics, size=n_docs)
    proportions = np.stack(
        [rng.dirichlet(np.maximum(concentrations[k], 1e-3)) for k in labels]
    )
    X = rng.multinomial(rng.poisson(mean_length, size=n_docs), proportions)
    return scipy.sparse.csr_matrix(X.astype(np.float64)), labels, concentrations


@pytest.fixture(scope="module")
def bursty_corpus():
    return simulate_bursty_corpus(1500, 100, [20.0, 50.0, 100.0])


def test_dirichlet_multinomial_recovers_topics_precisions_and_labels(bursty_corpus):
    X, labels, concentrations = bursty_corpus
    model = DirichletMultinomialMixture(3, random_state=0).fit(X)
    predicted = model.predict(X)
    assert adjusted_rand_score(labels, predicted) > 0.99
    order = _match(labels, predicted, 3)
    fitted = model.concentrations_[order]
    precisions = fitted.sum(axis=1)
    # observed: precisions 19.6, 47.8, 98.1 for 20, 50, 100; mean L1 error <= 0.05
    np.testing.assert_allclose(precisions, concentrations.sum(axis=1), rtol=0.1)
    means = fitted / precisions[:, None]
    true_means = concentrations / concentrations.sum(axis=1, keepdims=True)
    assert np.abs(means - true_means).sum(axis=1).max() < 0.1
    assert np.all(np.diff(model.lower_bounds_) >= -1e-10)  # generalised EM


def test_dirichlet_multinomial_fits_bursty_text_better_than_multinomial(bursty_corpus):
    X = bursty_corpus[0]
    bursty = DirichletMultinomialMixture(3, random_state=0).fit(X)
    plain = MultinomialMixture(3, alpha=0.0, random_state=0).fit(X)
    assert bursty.score(X) > plain.score(X) + 10  # nats per document
    assert bursty.bic(X) < plain.bic(X)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_dirichlet_multinomial_dense_input_gives_the_same_fit(bursty_corpus, fmt):
    X = bursty_corpus[0][:500]
    sparse = DirichletMultinomialMixture(3, random_state=1).fit(X.asformat(fmt))
    dense = DirichletMultinomialMixture(3, random_state=1).fit(X.toarray())
    assert sparse.n_iter_ == dense.n_iter_
    assert sparse.lower_bound_ == pytest.approx(dense.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(
        sparse.concentrations_, dense.concentrations_, rtol=1e-10
    )


def test_dirichlet_multinomial_score_samples_matches_scipy(bursty_corpus):
    X = scipy.sparse.vstack([bursty_corpus[0][:200], scipy.sparse.csr_matrix((1, 100))])
    model = DirichletMultinomialMixture(3, random_state=0).fit(X)
    dense = X.toarray()
    component = np.column_stack(
        [
            stats.dirichlet_multinomial.logpmf(
                dense, alpha, n=dense.sum(axis=1).astype(int)
            )
            for alpha in model.concentrations_
        ]
    )
    expected = logsumexp(component + np.log(model.weights_), axis=1)
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    assert model.score_samples(X[-1])[0] == 0.0  # the empty document


def test_dirichlet_multinomial_round_trip_and_bad_counts(bursty_corpus, tmp_path):
    X = bursty_corpus[0][:300]
    model = DirichletMultinomialMixture(3, random_state=0).fit(X)
    path = tmp_path / "dm.mixtura"
    mixtura.save(model, path)
    np.testing.assert_array_equal(
        mixtura.load(path).predict_proba(X), model.predict_proba(X)
    )
    bad = X.copy()
    bad.data[0] = 1.5
    with pytest.raises(DataValidationError, match="Non-integer values"):
        DirichletMultinomialMixture(3).fit(bad)


@pytest.mark.parametrize("cls", [MultinomialMixture, DirichletMultinomialMixture])
def test_fitting_a_sparse_corpus_needs_little_more_than_the_corpus(cls):
    # tracemalloc peak of the whole fit (initialisation included), excluding the
    # corpus itself; the benchmark measures 1.9x (multinomial) and 2.4x
    # (Dirichlet-multinomial) on 20,000 x 20,000 with default chunks. Here small
    # chunks stand in for a corpus many chunks long: a chunk's temporaries are
    # bounded by the chunk, not by the corpus.
    X = simulate_corpus(3000, 3000, 5, mean_length=120, seed=3)[0]
    size = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    tracemalloc.start()
    cls(5, chunk_size=300, random_state=0).fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 3 * size
