"""The Dirichlet priors: the multinomial's Gibbs marginal and predictive."""

import numpy as np
import pytest
from scipy import stats

from mixtura import DirichletProcessMixture
from mixtura.priors import CategoricalDirichlet, MultinomialDirichlet


def _documents(seed=0):
    rng = np.random.default_rng(seed)
    return rng.multinomial(rng.integers(3, 9), [0.5, 0.2, 0.2, 0.1], size=5).astype(
        float
    )


def test_multinomial_predictive_of_an_empty_cluster_is_scipys_dirichlet_multinomial():
    prior = MultinomialDirichlet.checked([0.5, 1.0, 2.0, 0.7], 4)
    X = _documents()
    sums = np.zeros((1, 5))
    got = prior.log_predictive(X, np.zeros(1), sums)[0]
    expected = [
        stats.dirichlet_multinomial(prior.concentration, int(x.sum())).logpmf(x)
        for x in X
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_multinomial_marginal_is_the_product_of_sequential_predictives():
    prior = MultinomialDirichlet.checked([0.5, 1.0, 2.0, 0.7], 4)
    X = _documents(seed=1)
    features = prior.cluster_features(X)
    chain = 0.0
    for i in range(len(X)):
        sums = features[:i].sum(axis=0, keepdims=True)
        chain += prior.log_predictive(X[i : i + 1], np.array([i]), sums)[0, 0]
    marginal = prior.log_marginal(np.array([len(X)]), features.sum(0, keepdims=True))
    assert marginal[0] == pytest.approx(chain, rel=1e-12)


def test_dirichlet_process_mixture_of_multinomials_separates_topics():
    rng = np.random.default_rng(2)
    topics = np.array([[0.7, 0.2, 0.05, 0.05], [0.05, 0.05, 0.2, 0.7]])
    labels = rng.integers(0, 2, size=60)
    X = np.array([rng.multinomial(40, topics[k]) for k in labels], dtype=float)
    model = DirichletProcessMixture(family="multinomial", n_iter=30, random_state=0)
    model.fit(X)
    assert model.n_clusters_ == 2
    np.testing.assert_allclose(model.concentration_prior_, np.ones(4))


def test_categorical_prior_refuses_levels_that_do_not_match_the_data():
    default = CategoricalDirichlet.checked(1.0, [2, 3])
    with pytest.raises(ValueError, match="do not match"):
        CategoricalDirichlet.checked(1.0, [2, 2]).checked_against(default)
    flat = CategoricalDirichlet.checked([1.0, 2.0, 1.0, 1.0, 3.0], [2, 3])
    per_column = CategoricalDirichlet.checked([[1.0, 2.0], [1.0, 1.0, 3.0]], [2, 3])
    np.testing.assert_array_equal(flat.concentration, per_column.concentration)
