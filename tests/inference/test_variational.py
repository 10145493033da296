"""Variational Bayes for the conjugate discrete families: updates, KL, the bound."""

import itertools
import warnings

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import betaln, digamma, gammaln

from mixtura import BayesianMixture
from mixtura.exceptions import ConvergenceWarning
from mixtura.families import Bernoulli, Categorical, Multinomial, Poisson
from mixtura.families.multinomial import log_multinomial_coefficient
from mixtura.inference import ArrayData
from mixtura.inference.variational import (
    VariationalMixture,
    evidence_lower_bound,
    sorted_by_mass,
    variational_step,
)
from mixtura.priors import (
    Beta,
    CategoricalDirichlet,
    DirichletProcessWeights,
    Gamma,
    MultinomialDirichlet,
    weight_prior,
)
from mixtura.priors.divergences import kl_beta, kl_dirichlet, kl_gamma

FAMILIES = ["bernoulli", "poisson", "categorical", "multinomial"]
WEIGHT_PRIORS = ["dirichlet_process", "dirichlet_distribution"]
N_LEVELS = np.array([3, 2, 4])


def _data(family, n=150, seed=0):
    """Two-cluster data of each family (integer codes for categorical)."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(2, size=n)
    if family == "bernoulli":
        p = np.array([[0.8, 0.2, 0.7, 0.1], [0.1, 0.9, 0.3, 0.6]])
        return (rng.uniform(size=(n, 4)) < p[labels]).astype(float)
    if family == "poisson":
        rates = np.array([[1.0, 6.0, 2.0], [7.0, 0.5, 3.0]])
        return rng.poisson(rates[labels]).astype(float)
    if family == "categorical":
        columns = [rng.randint(L, size=n) for L in N_LEVELS]
        columns[0] = np.where(labels == 0, 0, rng.randint(1, 3, size=n))
        return np.column_stack(columns).astype(float)
    theta = rng.dirichlet(np.full(6, 0.5), size=2)
    return np.array([rng.multinomial(rng.randint(0, 30), theta[k]) for k in labels])


def _prior(family, X):
    d = X.shape[1]
    if family == "bernoulli":
        return Beta(np.linspace(0.5, 2.0, d), np.linspace(3.0, 0.7, d))
    if family == "poisson":
        return Gamma(np.linspace(0.5, 2.0, d), np.linspace(0.2, 1.5, d))
    if family == "categorical":
        return CategoricalDirichlet(np.linspace(0.3, 2.0, N_LEVELS.sum()), N_LEVELS)
    return MultinomialDirichlet(np.linspace(0.2, 1.5, d))


def _template(family):
    return {
        "bernoulli": Bernoulli(),
        "poisson": Poisson(),
        "categorical": Categorical(N_LEVELS),
        "multinomial": Multinomial(),
    }[family]


def _log_marginal_likelihood(family, prior, X):
    """The closed-form evidence of one component under its conjugate prior."""
    n = X.shape[0]
    if family == "bernoulli":
        s = X.sum(axis=0)
        a, b = prior.alpha, prior.beta
        return np.sum(betaln(a + s, b + n - s) - betaln(a, b))
    if family == "poisson":
        s = X.sum(axis=0)
        a, b = prior.shape, prior.rate
        return np.sum(
            a * np.log(b) - gammaln(a) + gammaln(a + s) - (a + s) * np.log(b + n)
        ) - np.sum(gammaln(X + 1))
    if family == "categorical":
        total = 0.0
        offsets = np.concatenate([[0], np.cumsum(N_LEVELS)])
        for j, L in enumerate(N_LEVELS):
            alpha = prior.concentration[offsets[j] : offsets[j + 1]]
            counts = np.bincount(X[:, j].astype(int), minlength=L)
            total += gammaln(alpha.sum()) - gammaln(alpha.sum() + n)
            total += np.sum(gammaln(alpha + counts) - gammaln(alpha))
        return total
    alpha, s = prior.concentration, X.sum(axis=0)
    return (
        np.sum(log_multinomial_coefficient(X))
        + gammaln(alpha.sum())
        - gammaln(alpha.sum() + s.sum())
        + np.sum(gammaln(alpha + s) - gammaln(alpha))
    )


# -- (a) one component: the bound is the log marginal likelihood ----------------
@pytest.mark.parametrize("family", FAMILIES)
def test_one_component_bound_is_the_log_marginal_likelihood(family):
    X = _data(family)
    prior = _prior(family, X)
    expected = _log_marginal_likelihood(family, prior, X)
    model = BayesianMixture(
        1,
        family=family,
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=0.7,
        tol=0.0,
        max_iter=3,
        prior=prior,
    )
    if family == "categorical":
        X = X.astype(int)  # labels; codes 0 .. L - 1 keep their order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    assert abs(model.lower_bound_ * X.shape[0] - expected) < 1e-8
    # and through the module, for all-ones responsibilities
    data = ArrayData(np.asarray(X, dtype=float))
    stats_ = _template(family).statistics(data.X, np.ones((X.shape[0], 1)))
    state = VariationalMixture.from_statistics(
        weight_prior("dirichlet_distribution", 0.7), prior, _template(family), stats_
    )
    assert abs(evidence_lower_bound(state, data) - expected) < 1e-8


# -- (b) posterior = prior + statistics --------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_posterior_is_prior_plus_statistics(family):
    X = _data(family, n=40)
    rng = np.random.RandomState(1)
    resp = rng.dirichlet(np.ones(3), size=X.shape[0])
    prior = _prior(family, X)
    posterior = prior.update(_template(family).statistics(X, resp))
    nk = resp.sum(axis=0)
    if family == "bernoulli":
        s = resp.T @ X
        np.testing.assert_array_equal(posterior.alpha, prior.alpha + s)
        np.testing.assert_allclose(
            posterior.beta, prior.beta + (nk[:, None] - s), rtol=1e-14
        )
    elif family == "poisson":
        np.testing.assert_array_equal(posterior.shape, prior.shape + resp.T @ X)
        np.testing.assert_allclose(posterior.rate, prior.rate + nk[:, None], rtol=1e-14)
    elif family == "categorical":
        onehot = np.concatenate(
            [X[:, [j]] == np.arange(L) for j, L in enumerate(N_LEVELS)], axis=1
        )
        np.testing.assert_allclose(
            posterior.concentration, prior.concentration + resp.T @ onehot, rtol=1e-14
        )
    else:
        np.testing.assert_array_equal(
            posterior.concentration, prior.concentration + resp.T @ X
        )


@pytest.mark.parametrize("weight_prior_type", WEIGHT_PRIORS)
def test_weight_posterior_is_prior_plus_masses(weight_prior_type):
    X = _data("poisson", n=30)
    resp = np.random.RandomState(2).dirichlet(np.ones(4), size=30)
    state = VariationalMixture.from_statistics(
        weight_prior(weight_prior_type, 0.3),
        _prior("poisson", X),
        Poisson(),
        Poisson().statistics(X, resp),
    )
    nk = resp.sum(axis=0)
    if weight_prior_type == "dirichlet_process":
        # the components are relabelled in decreasing order of mass
        order = np.argsort(-nk)
        nk = nk[order]
        np.testing.assert_allclose(
            state.posterior.shape,
            _prior("poisson", X).shape + (resp.T @ X)[order],
            rtol=1e-14,
        )
        a, b = state.weight_concentration
        np.testing.assert_allclose(a, 1 + nk, rtol=1e-14)
        tail = np.array([nk[k + 1 :].sum() for k in range(4)])
        np.testing.assert_allclose(b, 0.3 + tail, rtol=1e-14)
    else:
        np.testing.assert_allclose(state.weight_concentration, 0.3 + nk, rtol=1e-14)
    np.testing.assert_allclose(state.weights().sum(), 1.0)


# -- (c) KL terms ------------------------------------------------------------------
def _numerical_kl(q, p, lower, upper):
    def integrand(x):
        qx = q.pdf(x)
        return 0.0 if qx == 0 else qx * (q.logpdf(x) - p.logpdf(x))

    value, _ = integrate.quad(integrand, lower, upper, limit=200, epsabs=1e-12)
    return value


@pytest.mark.parametrize(
    ("a", "b", "a0", "b0"), [(3.5, 2.0, 1.0, 1.0), (20.0, 4.0, 0.7, 2.5)]
)
def test_kl_beta_against_numerical_integration(a, b, a0, b0):
    expected = _numerical_kl(stats.beta(a, b), stats.beta(a0, b0), 0, 1)
    assert kl_beta(a, b, a0, b0) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize(
    ("a", "b", "a0", "b0"), [(3.5, 2.0, 1.0, 0.5), (40.0, 12.0, 0.5, 2.0)]
)
def test_kl_gamma_against_numerical_integration(a, b, a0, b0):
    q, p = stats.gamma(a, scale=1 / b), stats.gamma(a0, scale=1 / b0)
    expected = _numerical_kl(q, p, 0, q.ppf(1 - 1e-14))
    assert kl_gamma(a, b, a0, b0) == pytest.approx(expected, rel=1e-7)


def test_kl_dirichlet_against_entropy_and_beta():
    alpha, alpha0 = np.array([2.0, 5.0, 0.7]), np.array([1.0, 0.5, 3.0])
    # KL = -H(q) - E_q[log p], with scipy's entropy
    cross = -(
        gammaln(alpha0.sum())
        - gammaln(alpha0).sum()
        + np.sum((alpha0 - 1) * (digamma(alpha) - digamma(alpha.sum())))
    )
    expected = cross - stats.dirichlet(alpha).entropy()
    assert kl_dirichlet(alpha, alpha0) == pytest.approx(expected, rel=1e-12)
    # two levels: a Beta
    assert kl_dirichlet([2.0, 5.0], [1.0, 0.5]) == pytest.approx(
        kl_beta(2.0, 5.0, 1.0, 0.5), rel=1e-12
    )


def test_component_and_weight_kl_add_up():
    rng = np.random.RandomState(3)
    posterior = CategoricalDirichlet(
        rng.uniform(0.5, 4, size=(2, N_LEVELS.sum())), N_LEVELS
    )
    prior = CategoricalDirichlet(rng.uniform(0.5, 2, N_LEVELS.sum()), N_LEVELS)
    blocks = np.split(np.arange(N_LEVELS.sum()), np.cumsum(N_LEVELS)[:-1])
    expected = [
        sum(
            kl_dirichlet(posterior.concentration[k, b], prior.concentration[b])
            for b in blocks
        )
        for k in range(2)
    ]
    np.testing.assert_allclose(posterior.kl_divergence(prior), expected, rtol=1e-12)
    # the DP's weights: a sum of Beta KLs against Beta(1, gamma_0)
    a, b = np.array([3.0, 2.0, 1.0]), np.array([4.0, 1.5, 0.5])
    expected = sum(
        _numerical_kl(stats.beta(ai, bi), stats.beta(1.0, 0.5), 0, 1)
        for ai, bi in zip(a, b, strict=True)
    )
    kl = DirichletProcessWeights(0.5).kl_divergence((a, b))
    assert kl == pytest.approx(expected, rel=1e-7)


# -- (d) the bound never decreases -------------------------------------------------
@pytest.mark.parametrize("weight_prior_type", WEIGHT_PRIORS)
@pytest.mark.parametrize("family", FAMILIES)
def test_bound_never_decreases(family, weight_prior_type):
    X = _data(family, n=200, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianMixture(
            6,
            family=family,
            weight_concentration_prior_type=weight_prior_type,
            init_params="random",
            tol=0.0,
            max_iter=40,
            random_state=0,
        ).fit(X)
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) == 40
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
    assert bounds[-1] > bounds[0]


def test_step_reports_the_bound_of_the_state_it_started_from():
    X = _data("bernoulli")
    data = ArrayData(X)
    resp = np.random.RandomState(0).dirichlet(np.ones(3), size=X.shape[0])
    state = VariationalMixture.from_statistics(
        weight_prior("dirichlet_process", 1.0),
        _prior("bernoulli", X),
        Bernoulli(),
        Bernoulli().statistics(X, resp),
    )
    new_state, bound = variational_step(state, data)
    assert bound * X.shape[0] == pytest.approx(evidence_lower_bound(state, data))
    assert evidence_lower_bound(new_state, data) >= bound * X.shape[0]


def _stick_bound(nk, gamma0):
    """The weights' part of the bound, sum_k N_k E[log pi_k] - KL, after update."""
    prior = DirichletProcessWeights(gamma0)
    posterior = prior.posterior(nk)
    expected = prior.expected_log_weights(posterior)
    return float(np.sum(nk * expected) - prior.kl_divergence(posterior))


@pytest.mark.parametrize("gamma0", [0.05, 1.0, 20.0])
def test_decreasing_mass_order_maximises_the_stick_bound(gamma0):
    rng = np.random.RandomState(5)
    for _ in range(30):
        nk = rng.exponential(rng.choice([0.3, 5.0, 200.0]), size=4)
        nk[rng.uniform(size=4) < 0.3] = 0.0
        best = max(
            _stick_bound(np.array(p), gamma0) for p in itertools.permutations(nk)
        )
        assert _stick_bound(np.sort(nk)[::-1], gamma0) >= best - 1e-9 * abs(best)


def test_sorted_by_mass_relabels_every_sum():
    X = _data("poisson", n=30)
    resp = np.random.RandomState(6).dirichlet(np.ones(4), size=30)
    stats_ = Poisson().statistics(X, resp)
    order = np.argsort(-resp.sum(axis=0), kind="stable")
    relabelled = sorted_by_mass(stats_)
    np.testing.assert_array_equal(relabelled.resp_sum, stats_.resp_sum[order])
    for name, value in stats_.sums.items():
        np.testing.assert_array_equal(relabelled.sums[name], value[order])
