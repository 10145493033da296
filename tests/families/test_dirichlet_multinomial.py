"""The Dirichlet-multinomial family: sparse input, Minka's fixed point, moments."""

import numpy as np
import pytest
import scipy.sparse
from scipy import optimize, stats

from mixtura.families import DirichletMultinomial


def _family(rng, n_components=3, n_features=6):
    concentrations = rng.uniform(0.2, 4.0, size=(n_components, n_features))
    return DirichletMultinomial(concentrations=concentrations, lengths=[4.0, 9.0, 7.0])


def _counts(rng, n_samples=40, n_features=6):
    X = rng.poisson(1.5, size=(n_samples, n_features)).astype(np.float64)
    X[5] = 0  # an empty document
    return X


def _draw(rng, alpha, n_samples, mean_length):
    """Documents of one Dirichlet-multinomial component."""
    proportions = rng.dirichlet(alpha, size=n_samples)
    lengths = rng.poisson(mean_length, size=n_samples)
    return np.stack(
        [rng.multinomial(n, p) for n, p in zip(lengths, proportions, strict=True)]
    ).astype(np.float64)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_log_prob_equals_dense_and_scipy(fmt):
    rng = np.random.RandomState(0)
    family, X = _family(rng), _counts(rng)
    log_prob = family.log_prob(scipy.sparse.csr_matrix(X).asformat(fmt))
    reference = np.column_stack(
        [
            stats.dirichlet_multinomial.logpmf(X, a, n=X.sum(axis=1).astype(int))
            for a in family.concentrations
        ]
    )
    np.testing.assert_allclose(log_prob, family.log_prob(X), rtol=1e-12)
    np.testing.assert_allclose(log_prob, reference, rtol=1e-10)
    np.testing.assert_array_equal(log_prob[5], 0.0)


def test_sparse_statistics_equal_dense_and_add_over_row_chunks():
    rng = np.random.RandomState(1)
    family, X = _family(rng), _counts(rng)
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    sparse = scipy.sparse.csr_matrix(X)
    whole = family.statistics(X, resp)
    parts = family.statistics(sparse[:13], resp[:13]) + family.statistics(
        sparse[13:], resp[13:]
    )
    assert set(whole.sums) == {
        "term_sums",
        "length_pairs",
        "count_pairs",
        "digamma_terms",
        "digamma_lengths",
    }
    for name, value in whole.sums.items():
        np.testing.assert_allclose(parts.sums[name], value, rtol=1e-12, atol=1e-12)


def _negative_log_likelihood(log_alpha, X, weights):
    alpha = np.exp(log_alpha)
    lengths = X.sum(axis=1).astype(int)
    return -weights @ stats.dirichlet_multinomial.logpmf(X, alpha, n=lengths)


def test_fixed_point_iterations_reach_the_weighted_maximum_likelihood():
    # Minka's fixed point, iterated from the moment estimate, against a direct
    # numerical maximisation of the weighted log-likelihood
    rng = np.random.RandomState(2)
    X = _draw(rng, np.array([0.5, 1.0, 2.0, 3.0]), 400, 30)
    weights = rng.uniform(0.2, 1.0, size=X.shape[0])
    resp = weights[:, None]
    family = DirichletMultinomial().maximize(DirichletMultinomial().statistics(X, resp))
    for _ in range(300):
        family = family.maximize(family.statistics(X, resp))
    direct = optimize.minimize(
        _negative_log_likelihood, np.zeros(4), args=(X, weights), method="BFGS"
    )
    np.testing.assert_allclose(family.concentrations[0], np.exp(direct.x), rtol=1e-4)


def test_each_fixed_point_step_increases_the_weighted_log_likelihood():
    rng = np.random.RandomState(3)
    X = _draw(rng, np.array([0.3, 0.6, 1.5, 2.0, 0.8]), 300, 25)
    resp = np.ones((X.shape[0], 1))
    family = DirichletMultinomial(concentrations=np.full((1, 5), 5.0))
    previous = -np.inf
    for _ in range(20):
        current = family.log_prob(X).sum()
        assert current >= previous - 1e-9
        previous = current
        family = family.maximize(family.statistics(X, resp))


def test_moment_estimate_recovers_mean_and_precision():
    rng = np.random.RandomState(4)
    alpha = np.array([0.5, 1.0, 2.0, 4.0, 2.5])  # precision 10
    X = _draw(rng, alpha, 5000, 40)
    template = DirichletMultinomial()
    family = template.maximize(template.statistics(X, np.ones((X.shape[0], 1))))
    precision = family.concentrations.sum()
    assert precision == pytest.approx(10.0, rel=0.1)
    np.testing.assert_allclose(family.means[0], alpha / 10.0, atol=0.01)


def test_terms_a_component_never_saw_keep_the_floor():
    X = np.array([[3.0, 1.0, 0.0], [2.0, 2.0, 0.0], [1.0, 4.0, 0.0]])
    family = DirichletMultinomial(1e-4, concentrations=np.ones((1, 3)))
    for _ in range(50):
        family = family.maximize(family.statistics(X, np.ones((3, 1))))
    assert family.concentrations[0, 2] == 1e-4
    assert np.isfinite(family.log_prob(np.array([[0.0, 0.0, 1.0]]))).all()


def test_sampling_needs_mean_lengths():
    family = DirichletMultinomial(concentrations=np.ones((2, 3)))
    with pytest.raises(ValueError, match="mean document lengths"):
        family.sample(np.array([0, 1]), np.random.RandomState(0))
