"""A new conjugate family, registered from this one file, gets all three schemes.

The exponential distribution with a Gamma prior on its rate is not part of
mixtura. This file defines it in full: the family (log density, statistics,
M-step through the prior's mode, sampling, model-file arrays, its conjugate
prior and default prior) and the prior (posterior update, mode, the variational
expectations and KL, the Gibbs marginal and predictive), and registers it. No
other file of the library is edited: EM with MAP (``MixtureModel``), variational
Bayes (``BayesianMixture``) and collapsed Gibbs (``DirichletProcessMixture``)
then fit it, and each is checked against a closed form. The files this needed:
this one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import digamma, gammaln
from sklearn.metrics import adjusted_rand_score

from mixtura import BayesianMixture, DirichletProcessMixture, MixtureModel
from mixtura.exceptions import ConvergenceWarning, DataValidationError
from mixtura.families import FAMILIES, Family, register_family
from mixtura.families.bernoulli import weighted_sums
from mixtura.priors.base import (
    ConjugatePrior,
    check_width,
    per_feature,
    positive_vector,
)
from mixtura.priors.divergences import kl_gamma
from mixtura.stats import LinearStats


@dataclass(frozen=True, eq=False)
class RateGamma(ConjugatePrior):
    """Gamma(shape, rate) on each feature's exponential rate lambda.

    Given N_k and the sums s_k the posterior is Gamma(shape + N_k, rate + s_k).
    """

    shape: np.ndarray
    rate: np.ndarray

    parameter_names: ClassVar[tuple] = ("shape", "rate")

    def update(self, stats):
        mass = stats.resp_sum[:, None]
        return RateGamma(self.shape + mass, self.rate + stats.sum_x)

    def mode(self, stats):
        numerator = stats.resp_sum[:, None] + (self.shape - 1)
        return {"rates": numerator / (stats.sum_x + self.rate)}

    def expected_natural_parameters(self):
        # E[log p(x | lambda)] = E[log lambda] - E[lambda] x
        coefficients = np.ascontiguousarray((-self.shape / self.rate).T)
        constants = (digamma(self.shape) - np.log(self.rate)).sum(axis=1)
        return coefficients, constants

    def kl_divergence(self, prior):
        return kl_gamma(self.shape, self.rate, prior.shape, prior.rate).sum(axis=1)

    def mean_parameters(self):
        return {"rates": self.shape / self.rate}

    def check_data(self, X):
        check_width(X, self.n_features)
        return Exponential().check_data(X)

    def cluster_features(self, X):
        return np.asarray(X, dtype=np.float64)

    def log_marginal(self, counts, sums):
        n = per_feature(counts)
        a, b = self.shape, self.rate
        terms = a * np.log(b) - gammaln(a) + gammaln(a + n) - (a + n) * np.log(b + sums)
        return terms.sum(axis=1)

    def log_predictive(self, X, counts, sums):
        # a Lomax density per feature: (a + n)(b + s)^(a + n) / (b + s + x)^(a + n + 1)
        n = per_feature(counts)
        a, b = self.shape + n, self.rate + sums  # (K, d)
        X = np.asarray(X, dtype=np.float64)
        log_terms = (
            np.log(a)[:, None, :]
            + a[:, None, :] * np.log(b)[:, None, :]
            - (a[:, None, :] + 1) * np.log(b[:, None, :] + X[None])
        )
        return log_terms.sum(axis=2)


class Exponential(Family):
    """Independent exponential features, x_j ~ Exponential(lambda_kj)."""

    name = "exponential_test"
    conjugate_prior = RateGamma

    def __init__(self, shape=1.0, rate=0.0, *, rates=None):
        self.shape, self.rate = float(shape), float(rate)
        self.rates = None if rates is None else np.asarray(rates, dtype=np.float64)

    @property
    def n_components(self):
        return self.rates.shape[0]

    @property
    def n_features(self):
        return self.rates.shape[1]

    def check_data(self, X):
        if np.any(np.asarray(X) < 0):
            raise DataValidationError("exponential data must be >= 0")
        return X

    def default_prior(self, X):
        # prior mean rate 1 / mean of each feature
        means = np.maximum(np.asarray(X).mean(axis=0), 1e-12)
        return RateGamma(
            positive_vector(1.0, X.shape[1], "shape"),
            positive_vector(means, X.shape[1], "rate"),
        )

    def log_prob(self, X):
        return np.log(self.rates).sum(axis=1) - X @ self.rates.T

    def statistics(self, X, resp, sample_weight=None):
        resp_sum, sum_x = weighted_sums(X, resp, sample_weight)
        return LinearStats(resp_sum, sum_x=sum_x)

    def maximize(self, stats):
        return self.with_parameters(**RateGamma(self.shape, self.rate).mode(stats))

    def sample(self, labels, random_state):
        return random_state.exponential(1.0 / self.rates[np.asarray(labels)])

    def n_parameters(self):
        return self.rates.size

    def config(self):
        return {"shape": self.shape, "rate": self.rate}

    def arrays(self):
        return {"rates": self.rates}

    @classmethod
    def from_arrays(cls, config, arrays):
        return cls(**config, rates=arrays["rates"])


@pytest.fixture
def registered():
    register_family(Exponential)
    yield Exponential.name
    del FAMILIES[Exponential.name]


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    rates = np.array([[0.5, 4.0], [6.0, 0.7]])
    return rng.exponential(1.0 / rates[labels]), labels


def test_em_with_map_matches_the_closed_form_mode(registered):
    X, _ = _data()
    shape, rate = 3.0, 2.0
    model = MixtureModel(
        1, family=registered, family_params={"shape": shape, "rate": rate}
    ).fit(X)
    expected = (len(X) + shape - 1) / (X.sum(axis=0) + rate)
    np.testing.assert_allclose(model.family_.rates[0], expected, rtol=1e-12)


def test_em_recovers_two_clusters(registered):
    X, _ = _data(n=2000, seed=1)
    model = MixtureModel(2, family=registered, n_init=3, random_state=0).fit(X)
    rates = model.family_.rates[np.argsort(model.family_.rates[:, 0])]
    np.testing.assert_allclose(rates, [[0.5, 4.0], [6.0, 0.7]], rtol=0.15)


def test_variational_bound_is_the_exact_log_marginal_for_one_component(registered):
    X, _ = _data(n=60)
    a, b = np.array([2.0, 0.5]), np.array([1.5, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianMixture(
            1,
            family=registered,
            prior={"shape": a, "rate": b},
            weight_concentration_prior_type="dirichlet_distribution",
            tol=0.0,
            max_iter=3,
        ).fit(X)
    n, s = len(X), X.sum(axis=0)
    log_marginal = np.sum(
        a * np.log(b) - gammaln(a) + gammaln(a + n) - (a + n) * np.log(b + s)
    )
    assert model.lower_bound_ * n == pytest.approx(log_marginal, abs=1e-8)
    np.testing.assert_allclose(model.shape_[0], a + n)
    np.testing.assert_allclose(model.rates_[0], (a + n) / (b + s))


def test_variational_dirichlet_process_prunes_to_the_clusters(registered):
    X, _ = _data(n=600, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianMixture(6, family=registered, random_state=0, max_iter=300).fit(
            X
        )
    assert model.effective_components(threshold=0.05).size == 2
    pruned = model.prune(threshold=0.05)
    assert isinstance(pruned, MixtureModel) and pruned.n_components == 2


def test_gibbs_predictive_of_one_cluster_is_the_lomax_density(registered):
    X, _ = _data(n=12, seed=3)
    a, b = 2.0, 1.0
    model = DirichletProcessMixture(
        family=registered,
        prior={"shape": a, "rate": b},
        n_iter=3,
        burn_in=1,
        alpha=1e-12,
    ).fit(X)
    assert (model.n_clusters_trace_ == 1).all()
    n, s = len(X), X.sum(axis=0)
    Y = np.array([[0.3, 2.0], [1.5, 0.1]])
    expected = stats.lomax(c=a + n, scale=b + s).logpdf(Y).sum(axis=1)
    np.testing.assert_allclose(model.score_samples(Y), expected, rtol=1e-10)
    # and the marginal likelihood against numerical integration, one feature
    x = X[:, 0]
    integral, _ = integrate.quad(
        lambda lam: (
            np.prod(stats.expon(scale=1 / lam).pdf(x))
            * stats.gamma(a, scale=1 / b).pdf(lam)
        ),
        0,
        50.0 / x.mean(),
        points=[1 / x.mean()],
        limit=200,
    )
    prior = model.prior_
    marginal = prior.log_marginal(np.array([n]), x.sum()[None, None] * np.ones((1, 2)))
    one = a * np.log(b) - gammaln(a) + gammaln(a + n) - (a + n) * np.log(b + x.sum())
    assert np.log(integral) == pytest.approx(one, rel=1e-6)
    assert marginal[0] == pytest.approx(2 * one)


def test_gibbs_clusters_as_well_as_the_true_parameters_do(registered):
    X, labels = _data(n=200, seed=4)
    model = DirichletProcessMixture(family=registered, n_iter=60, random_state=0).fit(X)
    # the oracle: each row's most probable cluster under the true parameters
    true = Exponential(rates=np.array([[0.5, 4.0], [6.0, 0.7]]))
    oracle = np.argmax(true.log_prob(X), axis=1)
    ceiling = adjusted_rand_score(labels, oracle)
    assert adjusted_rand_score(labels, model.labels_) > ceiling - 0.1
    assert model.n_clusters_posterior_.argmax() >= 2
