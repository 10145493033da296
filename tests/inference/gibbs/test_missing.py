"""Collapsed Gibbs sampling of DP mixtures with missing entries (NaN).

Every reference value here is computed from scratch with scipy (Beta functions,
negative-binomial and Dirichlet-multinomial pmfs, multivariate t densities, the
textbook Normal-inverse-Wishart marginal likelihood and numerical quadrature),
never through the code under test.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import betaln, multigammaln

from mixtura.inference.gibbs import (
    MissingClusterState,
    canonical_labels,
    cluster_state_class,
    collapsed_gibbs,
    log_crp,
    log_predictive_density,
)
from mixtura.priors import Beta, CategoricalDirichlet, Gamma
from mixtura.priors.normal_inverse_wishart import NormalInverseWishart

FAMILIES = ["bernoulli", "poisson", "categorical"]
nan = np.nan


# -- exact references, from scipy only ---------------------------------------------
def _discrete_prior(family):
    """Uneven hyperparameters, so that a mix-up of features would show."""
    if family == "bernoulli":
        return Beta.checked([0.6, 1.8, 1.1], [1.3, 0.5, 2.0], 3)
    if family == "poisson":
        return Gamma.checked([0.8, 2.5], [0.4, 1.5], 2)
    return CategoricalDirichlet.checked(
        [[0.7, 1.6], [1.2, 0.5, 0.9], [0.4, 1.0, 2.2, 0.8]], [2, 3, 4]
    )


def _column_log_marginal(family, prior, j, x):
    """Log marginal likelihood of the observed values x of feature j."""
    x = x[~np.isnan(x)]
    n = len(x)
    if family == "bernoulli":
        s = x.sum()
        return betaln(prior.alpha[j] + s, prior.beta[j] + n - s) - betaln(
            prior.alpha[j], prior.beta[j]
        )
    if family == "poisson":
        # chain rule: each count's negative-binomial predictive given the previous
        total = 0.0
        for i in range(n):
            shape = prior.shape[j] + x[:i].sum()
            p = (prior.rate[j] + i) / (prior.rate[j] + i + 1)
            total += stats.nbinom(shape, p).logpmf(x[i])
        return total
    start, levels = prior.offsets[j], prior.n_levels[j]
    alpha = prior.concentration[start : start + levels]
    counts = np.bincount(x.astype(int), minlength=levels)
    if n == 0:
        return 0.0
    # the pmf of the counts sums over the orders of one sequence of codes
    orders = math.lgamma(n + 1) - sum(math.lgamma(c + 1) for c in counts)
    return stats.dirichlet_multinomial(alpha, n).logpmf(counts) - orders


def _discrete_log_marginal(family, prior, X):
    return sum(
        _column_log_marginal(family, prior, j, X[:, j]) for j in range(X.shape[1])
    )


def _all_partitions(n):
    return sorted(
        {
            tuple(canonical_labels(np.array(p)))
            for p in itertools.product(range(n), repeat=n)
        }
    )


def _exact_posterior(X, log_marginal, alpha):
    """Posterior of every partition: CRP prior times the clusters' marginals."""
    partitions = _all_partitions(len(X))
    log_p = []
    for p in partitions:
        labels = np.array(p)
        counts = np.bincount(labels)
        log_p.append(
            log_crp(counts, alpha)
            + sum(log_marginal(X[labels == k]) for k in range(len(counts)))
        )
    log_p = np.array(log_p)
    return partitions, np.exp(log_p - np.logaddexp.reduce(log_p))


def _total_variation(partitions, exact, visited):
    index = {p: i for i, p in enumerate(partitions)}
    freq = np.zeros(len(partitions))
    for labels in visited:
        freq[index[tuple(canonical_labels(labels))]] += 1
    return 0.5 * np.abs(freq / freq.sum() - exact).sum()


# -- discrete families: missing entries drop out exactly ---------------------------
def _discrete_case(family):
    """Four rows with missing entries, one of them missing all but one feature."""
    X = {
        "bernoulli": [[0, nan, 1], [0, 0, nan], [1, 1, 0], [nan, nan, 0]],
        "poisson": [[0, 1], [nan, 0], [6, 9], [5, nan]],
        "categorical": [[0, nan, 0], [0, 0, 1], [1, 2, nan], [nan, 2, 3]],
    }[family]
    return np.array(X, dtype=float), _discrete_prior(family)


@pytest.mark.parametrize("family", FAMILIES)
def test_discrete_marginal_and_predictive_use_the_observed_entries_only(family):
    X, prior = _discrete_case(family)
    state = cluster_state_class(prior)(X, prior, np.zeros(4, dtype=int))
    assert state.log_likelihood() == pytest.approx(
        _discrete_log_marginal(family, prior, X), rel=1e-12
    )
    # predictive of each row given the others = ratio of marginals, over the
    # row's observed features only
    for i in range(4):
        rest = np.delete(X, i, axis=0)
        expected = _discrete_log_marginal(family, prior, X) - _discrete_log_marginal(
            family, prior, rest
        )
        log_p = state.log_conditional(i, slice(0, 1), 0)
        assert log_p[0] == pytest.approx(math.log(3) + expected, rel=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_discrete_moves_keep_observed_counts_and_sums_exact(family):
    X, prior = _discrete_case(family)
    X = np.vstack([X] * 5)
    rng = np.random.default_rng(1)
    state_class = cluster_state_class(prior)
    state = state_class(X, prior, canonical_labels(rng.integers(0, 3, len(X))))
    for i in rng.integers(0, len(X), 200):
        state.move(i, int(rng.integers(0, state.n_clusters + 1)))
    fresh = state_class(X, prior, state.labels)
    k = state.n_clusters
    for moved, rebuilt in zip(
        state.statistics(slice(0, k)), fresh.statistics(slice(0, k)), strict=True
    ):
        np.testing.assert_allclose(moved, rebuilt, rtol=1e-13)
    observed = ~np.isnan(X)
    for c in range(k):
        np.testing.assert_array_equal(
            state.n_observed[c], observed[state.labels == c].sum(axis=0)
        )
    assert state.log_likelihood() == pytest.approx(
        sum(
            _discrete_log_marginal(family, prior, X[state.labels == c])
            for c in range(k)
        ),
        rel=1e-12,
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_discrete_gibbs_with_missing_entries_matches_the_exact_posterior(family):
    X, prior = _discrete_case(family)
    alpha = 0.9
    partitions, exact = _exact_posterior(
        X, lambda rows: _discrete_log_marginal(family, prior, rows), alpha
    )
    result = collapsed_gibbs(
        X, prior, n_iter=1000, alpha=alpha, n_split_merge=1, random_state=11
    )
    tv = _total_variation(partitions, exact, result.partitions)
    # 15 partitions. Seed 11: 0.052 (Bernoulli), 0.040 (Poisson), 0.057
    # (categorical); seeds 0-5: 0.031-0.062, 0.016-0.036, 0.022-0.048. Counting
    # a missing entry as an observed 0 (level 0) moves the target by 0.31, 0.55
    # and 0.22; doubling alpha by 0.18-0.24
    assert tv < 0.08, f"total variation {tv:.3f}"


@pytest.mark.parametrize("family", ["bernoulli", "poisson"])
def test_discrete_predictive_of_rows_with_missing_entries(family):
    X, prior = _discrete_case(family)
    result = collapsed_gibbs(X, prior, n_iter=3, alpha=1e-12, random_state=0)
    assert (result.n_clusters == 1).all()
    observed = ~np.isnan(X)
    n, s = observed.sum(axis=0), np.nansum(X, axis=0)
    Y = np.array(
        [[1, nan, 0], [nan, 1, nan], [nan, nan, nan]]
        if family == "bernoulli"
        else [[3, nan], [nan, 7], [nan, nan]]
    )
    if family == "bernoulli":
        per_feature = stats.betabinom(1, prior.alpha + s, prior.beta + n - s).logpmf(Y)
    else:
        p = (prior.rate + n) / (prior.rate + n + 1)
        per_feature = stats.nbinom(prior.shape + s, p).logpmf(Y)
    expected = np.nansum(per_feature, axis=1)  # the product over observed features
    np.testing.assert_allclose(log_predictive_density(result, Y), expected, rtol=1e-9)
    assert expected[-1] == 0.0


# -- Gaussian: data augmentation ----------------------------------------------------
def _niw_log_marginal(prior, X):
    """Textbook NIW marginal likelihood (Murphy 2007, eq. 266), from the mean."""
    n, d = X.shape
    if n == 0:
        return 0.0
    k0, m0, nu0, psi0 = (
        prior.mean_precision,
        prior.mean,
        prior.degrees_of_freedom,
        prior.scale,
    )
    xbar = X.mean(axis=0)
    kn, nun = k0 + n, nu0 + n
    psin = (
        psi0 + (X - xbar).T @ (X - xbar) + k0 * n / kn * np.outer(xbar - m0, xbar - m0)
    )
    return (
        -0.5 * n * d * math.log(math.pi)
        + multigammaln(0.5 * nun, d)
        - multigammaln(0.5 * nu0, d)
        + 0.5 * nu0 * np.linalg.slogdet(psi0)[1]
        - 0.5 * nun * np.linalg.slogdet(psin)[1]
        + 0.5 * d * (math.log(k0) - math.log(kn))
    )


def _observed_log_marginal(prior, X):
    """The NIW marginal of the observed entries: quadrature over one missing one."""
    missing = np.argwhere(np.isnan(X))
    if len(missing) == 0:
        return _niw_log_marginal(prior, X)
    assert len(missing) == 1
    ((row, col),) = missing
    filled = X.copy()

    def log_integrand(value):
        filled[row, col] = value
        return _niw_log_marginal(prior, filled)

    peak = log_integrand(np.nanmean(X[:, col]) if len(X) > 1 else prior.mean[col])
    integral = integrate.quad(
        lambda v: math.exp(log_integrand(v) - peak),
        -np.inf,
        np.inf,
        epsabs=0,
        epsrel=1e-10,
        limit=200,
    )[0]
    return peak + math.log(integral)


def _gaussian_case():
    X = np.array([[0.0, 0.0], [0.3, -0.2], [2.5, 2.0], [2.2, nan]])
    prior = NormalInverseWishart.checked(
        np.array([0.5, 0.3]), 0.3, 3.0, 0.5 * np.eye(2)
    )
    return X, prior, 0.8


def test_niw_reference_marginal_matches_the_closed_form_of_a_singleton():
    # a cluster of the one incomplete point: the prior predictive t of its x_0
    X, prior, _ = _gaussian_case()
    df = prior.degrees_of_freedom - 1
    shape = prior.scale * (prior.mean_precision + 1) / (prior.mean_precision * df)
    expected = stats.t(df, loc=prior.mean[0], scale=math.sqrt(shape[0, 0])).logpdf(2.2)
    assert _observed_log_marginal(prior, X[3:]) == pytest.approx(expected, rel=1e-9)


def test_gaussian_reassignment_uses_the_t_marginal_of_the_observed_coordinates():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(12, 3)) * [1.0, 2.0, 0.5]
    X[[1, 4], 2] = nan
    X[7, [0, 2]] = nan
    prior = NormalInverseWishart.checked(np.zeros(3), 0.4, 5.0, np.eye(3) + 0.3)
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 0, 1, 2])
    state = MissingClusterState(X, prior, labels)
    completed = state.X
    for i in (4, 7):
        observed = ~np.isnan(X[i])
        own = labels[i]
        expected = []
        for k in range(3):
            rest = completed[(labels == k) & (np.arange(12) != i)]
            post = prior.posterior(len(rest), rest.sum(axis=0), rest.T @ rest)
            df = post.degrees_of_freedom - 2
            shape = post.scale * (post.mean_precision + 1) / (post.mean_precision * df)
            t = stats.multivariate_t(
                post.mean[observed], shape[np.ix_(observed, observed)], df=df
            )
            expected.append(math.log(len(rest)) + t.logpdf(X[i, observed]))
        np.testing.assert_allclose(
            state.log_conditional(i, slice(0, 3), own), expected, rtol=1e-9
        )


def test_gaussian_redraw_follows_the_conditional_of_the_t_predictive():
    # an outlying x_0 and few degrees of freedom: the conditional's scale is
    # widened by (df + delta) / (df + 1) with delta = 31, df = 3.5
    X = np.array([[0.2, 0.1], [-0.3, 0.4], [0.5, -0.2], [4.0, nan]])
    scale = np.array([[1.0, 0.6], [0.6, 1.0]])
    prior = NormalInverseWishart.checked(np.zeros(2), 0.5, 1.5, scale)
    state = MissingClusterState(X, prior, np.zeros(4, dtype=int))
    rest = X[:3]
    post = prior.posterior(3, rest.sum(axis=0), rest.T @ rest)
    df = post.degrees_of_freedom - 1
    shape = post.scale * (post.mean_precision + 1) / (post.mean_precision * df)
    joint = stats.multivariate_t(post.mean, shape, df=df)
    # the conditional law of x_1 given x_0, by normalising the joint t
    x0 = X[3, 0]
    norm = integrate.quad(lambda v: joint.pdf([x0, v]), -np.inf, np.inf)[0]

    def cdf(v):
        return integrate.quad(lambda u: joint.pdf([x0, u]), -np.inf, v)[0] / norm

    rng = np.random.default_rng(3)
    draws = []
    for _ in range(1500):
        state.redraw(3, rng)
        draws.append(state.X[3, 1])
    draws = np.array(draws)
    grid = np.quantile(draws, np.linspace(0.05, 0.95, 19))
    # Kolmogorov-Smirnov distance at 19 quantiles of the draws: below 0.042 with
    # probability 0.99 for 1500 independent draws from the right law (seeds
    # 100-105: 0.010-0.023). Leaving out the (df + delta) / (df + 1) factor, or
    # drawing from the Gaussian conditional, is 0.21-0.24 away
    distance = max(abs(np.mean(draws <= g) - cdf(g)) for g in grid)
    assert distance < 0.042, f"KS distance {distance:.3f}"
    # the state's statistics follow the completed point
    fresh = MissingClusterState(state.X, prior, state.labels)
    np.testing.assert_allclose(state.means[0], fresh.means[0], rtol=1e-9)
    np.testing.assert_allclose(state.precisions[0], fresh.precisions[0], rtol=1e-8)


def test_gaussian_gibbs_with_a_missing_coordinate_matches_the_exact_posterior():
    X, prior, alpha = _gaussian_case()
    partitions, exact = _exact_posterior(
        X, lambda rows: _observed_log_marginal(prior, rows), alpha
    )
    result = collapsed_gibbs(
        X, prior, n_iter=1000, alpha=alpha, n_split_merge=1, random_state=6
    )
    tv = _total_variation(partitions, exact, result.partitions)
    # seed 6: 0.031; seeds 0-5: 0.025-0.044. Filling the missing entry with its
    # column's observed mean (and treating it as observed) moves the target by
    # 0.15, observing its true value 2.6 by 0.15, doubling alpha by 0.19
    assert tv < 0.08, f"total variation {tv:.3f}"


def test_gaussian_predictive_of_rows_with_missing_coordinates():
    X = np.random.default_rng(4).normal(size=(30, 3)) @ [
        [1.0, 0.4, 0.0],
        [0.0, 1.0, 0.3],
        [0.0, 0.0, 0.5],
    ]
    prior = NormalInverseWishart.checked(np.ones(3), 0.2, 5.0, np.eye(3))
    alpha = 1e-12
    result = collapsed_gibbs(X, prior, n_iter=3, alpha=alpha, random_state=0)
    assert (result.n_clusters == 1).all()
    Y = np.array([[0.5, nan, -0.2], [nan, nan, 1.0], [0.1, 0.2, 0.3], [nan] * 3])
    post = prior.posterior(len(X), X.sum(axis=0), X.T @ X)
    expected = []
    for y in Y:
        o = ~np.isnan(y)
        terms = []
        for niw, weight in ((post, 30 / (30 + alpha)), (prior, alpha / (30 + alpha))):
            df = niw.degrees_of_freedom - 2
            shape = niw.scale * (niw.mean_precision + 1) / (niw.mean_precision * df)
            if o.any():
                t = stats.multivariate_t(niw.mean[o], shape[np.ix_(o, o)], df=df)
                terms.append(math.log(weight) + t.logpdf(y[o]))
            else:  # nothing observed: the empty product
                terms.append(math.log(weight))
        expected.append(np.logaddexp(*terms))
    np.testing.assert_allclose(
        log_predictive_density(result, Y), expected, rtol=1e-9, atol=1e-12
    )
