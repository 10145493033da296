"""Base measures: the data-only term that every component's log density shares.

``log_prob == log_kernel + log_base_measure`` for the families that set it apart,
against scipy.stats densities; the data seam sums it once per fit.
"""

import numpy as np
import pytest
import scipy.sparse
from scipy import stats

from mixtura.families import (
    Bernoulli,
    DirichletMultinomial,
    Gaussian,
    Multinomial,
    Poisson,
    Product,
)

RNG = np.random.default_rng(11)
COUNTS = RNG.poisson(3.0, size=(40, 5)).astype(float)


def _poisson():
    return Poisson(rates=RNG.uniform(0.5, 6.0, size=(3, 5)))


def _multinomial():
    return Multinomial(
        probabilities=RNG.dirichlet(np.ones(5), size=3), lengths=[10.0, 15.0, 20.0]
    )


def _dirichlet_multinomial():
    return DirichletMultinomial(concentrations=RNG.uniform(0.5, 3.0, size=(3, 5)))


@pytest.mark.parametrize(
    ("make", "sparse"),
    [
        (_poisson, False),  # the Poisson family takes dense counts only
        (_multinomial, False),
        (_multinomial, True),
        (_dirichlet_multinomial, False),
        (_dirichlet_multinomial, True),
    ],
)
def test_log_prob_is_the_kernel_plus_the_base_measure(make, sparse):
    family = make()
    X = scipy.sparse.csr_matrix(COUNTS) if sparse else COUNTS
    base = np.asarray(family.log_base_measure(X))
    assert base.shape == (40,)
    np.testing.assert_allclose(
        np.asarray(family.log_kernel(X)) + base[:, None],
        np.asarray(family.log_prob(X)),
        rtol=1e-12,
    )


def test_poisson_pieces_match_scipy():
    family = _poisson()
    expected = stats.poisson.logpmf(COUNTS[:, None, :], family.rates[None]).sum(-1)
    np.testing.assert_allclose(family.log_prob(COUNTS), expected, rtol=1e-12)
    from scipy.special import gammaln

    np.testing.assert_allclose(
        family.log_base_measure(COUNTS), -gammaln(COUNTS + 1).sum(axis=1)
    )


def test_multinomial_base_measure_is_the_multinomial_coefficient():
    family = _multinomial()
    lengths = COUNTS.sum(axis=1)
    expected = (
        stats.multinomial.logpmf(COUNTS, lengths, family.probabilities[0])
        - np.log(family.probabilities[0]) @ COUNTS.T
    )
    np.testing.assert_allclose(family.log_base_measure(COUNTS), expected, rtol=1e-10)


def test_families_without_a_base_measure_return_none_and_their_log_prob():
    family = Bernoulli(probabilities=RNG.uniform(0.1, 0.9, size=(2, 3)))
    X = (RNG.uniform(size=(6, 3)) < 0.5).astype(float)
    assert family.log_base_measure(X) is None
    np.testing.assert_array_equal(family.log_kernel(X), family.log_prob(X))


def test_a_product_adds_its_parts_base_measures_and_keys_its_layout():
    gaussian = Gaussian("diag", means=np.zeros((3, 2)), covariances=np.ones((3, 2)))
    product = Product([(gaussian, [0, 1]), (_poisson(), [2, 3, 4, 5, 6])])
    X = np.hstack([RNG.normal(size=(40, 2)), COUNTS])
    np.testing.assert_allclose(
        product.log_base_measure(X), product.parts[1].log_base_measure(COUNTS)
    )
    np.testing.assert_allclose(
        product.log_kernel(X) + product.log_base_measure(X)[:, None],
        product.log_prob(X),
        rtol=1e-12,
    )
    swapped = Product([(product.parts[1], [0, 1, 2, 3, 4]), (gaussian, [5, 6])])
    assert product.base_measure_key() != swapped.base_measure_key()
    only_gaussian = Product([(gaussian, [0, 1])])
    assert only_gaussian.log_base_measure(X[:, :2]) is None
