"""Collapsed Gibbs and split-merge sampling of DP mixtures of discrete families."""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats
from sklearn.metrics import adjusted_rand_score

from mixtura.exceptions import DataValidationError
from mixtura.inference.gibbs import (
    canonical_labels,
    cluster_state_class,
    collapsed_gibbs,
    log_crp,
    log_predictive_density,
    split_merge_step,
)
from mixtura.inference.gibbs.discrete_states import (
    CategoricalClusterState,
    DiscreteClusterState,
)
from mixtura.priors import Beta, CategoricalDirichlet, Gamma

FAMILIES = ["bernoulli", "poisson", "categorical"]


def _case(family, n=9, seed=0):
    """A prior with uneven hyperparameters and data in its support."""
    rng = np.random.default_rng(seed)
    if family == "bernoulli":
        d = 3
        prior = Beta.checked(rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d), d)
        return prior, (rng.random((n, d)) < [0.2, 0.5, 0.9]).astype(float)
    if family == "poisson":
        d = 2
        prior = Gamma.checked(rng.uniform(0.5, 3, d), rng.uniform(0.2, 2, d), d)
        return prior, rng.poisson([1.0, 4.0], size=(n, d)).astype(float)
    n_levels = np.array([2, 3, 4])
    prior = CategoricalDirichlet.checked(
        [rng.uniform(0.3, 2, L) for L in n_levels], n_levels
    )
    return prior, (rng.random((n, 3)) * n_levels).astype(int).astype(float)


def _stats(prior, X):
    """A one-cluster statistics pair computed from scratch."""
    return np.array([len(X)]), prior.cluster_features(X).sum(axis=0, keepdims=True)


def _log_marginal(prior, X):
    return float(prior.log_marginal(*_stats(prior, X))[0])


# -- closed forms against integrals -------------------------------------------------
def test_beta_bernoulli_marginal_equals_quadrature():
    prior, X = _case("bernoulli", n=8, seed=1)
    expected = 0.0
    for j in range(X.shape[1]):
        s, n = X[:, j].sum(), len(X)
        integral = integrate.quad(
            lambda p, s=s, n=n, j=j: (
                p**s
                * (1 - p) ** (n - s)
                * stats.beta.pdf(p, prior.alpha[j], prior.beta[j])
            ),
            0,
            1,
            epsabs=0,
            epsrel=1e-12,
        )[0]
        expected += math.log(integral)
    assert _log_marginal(prior, X) == pytest.approx(expected, rel=1e-9)


def test_gamma_poisson_marginal_equals_quadrature():
    prior, X = _case("poisson", n=7, seed=2)
    expected = 0.0
    for j in range(X.shape[1]):
        x = X[:, j]
        integral = integrate.quad(
            lambda lam, x=x, j=j: (
                np.prod(stats.poisson.pmf(x, lam))
                * stats.gamma.pdf(lam, prior.shape[j], scale=1 / prior.rate[j])
            ),
            0,
            np.inf,
            epsabs=0,
            epsrel=1e-12,
            limit=200,
        )[0]
        expected += math.log(integral)
    assert _log_marginal(prior, X) == pytest.approx(expected, rel=1e-8)


def test_dirichlet_categorical_marginal_equals_scipy_dirichlet_multinomial():
    prior, X = _case("categorical", n=11, seed=3)
    expected = 0.0
    for j, (start, L) in enumerate(zip(prior.offsets, prior.n_levels, strict=True)):
        counts = np.bincount(X[:, j].astype(int), minlength=L)
        pmf = stats.dirichlet_multinomial(
            prior.concentration[start : start + L], len(X)
        ).logpmf(counts)
        # the pmf of the counts sums over the orders of one sequence of codes
        orders = math.lgamma(len(X) + 1) - sum(math.lgamma(c + 1) for c in counts)
        expected += pmf - orders
    assert _log_marginal(prior, X) == pytest.approx(expected, rel=1e-11)


def test_two_level_categorical_is_beta_bernoulli():
    X = np.array([[1, 0], [1, 1], [0, 1], [1, 1], [1, 0]], dtype=float)
    a, b = np.array([0.6, 2.5]), np.array([1.7, 0.4])
    beta = Beta.checked(a, b, 2)
    # level 0 is a failure (b), level 1 a success (a)
    dirichlet = CategoricalDirichlet.checked([[b[0], a[0]], [b[1], a[1]]], [2, 2])
    assert _log_marginal(dirichlet, X) == pytest.approx(_log_marginal(beta, X))
    Y = np.array([[0, 1], [1, 1]], dtype=float)
    np.testing.assert_allclose(
        dirichlet.log_predictive(Y, *_stats(dirichlet, X)),
        beta.log_predictive(Y, *_stats(beta, X)),
    )


# -- the predictive and the marginal agree --------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_sequential_predictives_multiply_to_the_marginal(family):
    prior, X = _case(family, n=12, seed=3)
    for order in (np.arange(len(X)), np.random.default_rng(4).permutation(len(X))):
        sequential = sum(
            prior.log_predictive(X[[i]], *_stats(prior, X[order[:pos]]))[0, 0]
            for pos, i in enumerate(order)
        )
        assert sequential == pytest.approx(_log_marginal(prior, X), rel=1e-11)


def _support(family, prior):
    if family == "bernoulli":
        return np.array(list(itertools.product([0.0, 1.0], repeat=prior.n_features)))
    if family == "poisson":
        grid = np.arange(120.0)
        return np.array(list(itertools.product(grid, grid)))
    return np.array(list(itertools.product(*(range(L) for L in prior.n_levels))))


@pytest.mark.parametrize("family", FAMILIES)
def test_predictive_sums_to_one_over_the_support(family):
    prior, X = _case(family, n=6, seed=5)
    mass = np.exp(prior.log_predictive(_support(family, prior), *_stats(prior, X)))
    assert mass.sum() == pytest.approx(1.0, abs=1e-10)


def test_one_point_predictives_are_beta_binomial_and_negative_binomial():
    prior, X = _case("bernoulli", n=10, seed=6)
    s, n = X.sum(axis=0), len(X)
    y = np.array([1.0, 0.0, 1.0])
    expected = stats.betabinom(1, prior.alpha + s, prior.beta + n - s).logpmf(y).sum()
    assert prior.log_predictive(y[None], *_stats(prior, X))[0, 0] == pytest.approx(
        expected
    )
    prior, X = _case("poisson", n=10, seed=6)
    s, n = X.sum(axis=0), len(X)
    y = np.array([3.0, 11.0])
    p = (prior.rate + n) / (prior.rate + n + 1)
    expected = stats.nbinom(prior.shape + s, p).logpmf(y).sum()
    assert prior.log_predictive(y[None], *_stats(prior, X))[0, 0] == pytest.approx(
        expected
    )


# -- the cluster state -----------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_incremental_moves_match_recomputation_from_scratch(family):
    prior, X = _case(family, n=40, seed=7)
    rng = np.random.default_rng(8)
    state_class = cluster_state_class(prior)
    state = state_class(X, prior, canonical_labels(rng.integers(0, 3, len(X))))
    for i in rng.integers(0, len(X), 300):
        state.move(i, int(rng.integers(0, state.n_clusters + 1)))
    k = state.n_clusters
    counts, sums = state.counts[:k].copy(), state.sums[:k].copy()
    fresh = state_class(X, prior, state.labels)
    np.testing.assert_array_equal(counts, fresh.counts[:k])
    # exact for counts; Poisson's sum of log x! carries round-off
    np.testing.assert_allclose(sums, fresh.sums[:k], rtol=1e-13)
    members = [X[state.labels == c] for c in range(k)]
    # log n_k(-i) + log p(x_i | cluster k without x_i), cluster by cluster
    i = 5
    own = state.labels[i]
    expected = []
    for c in range(k):
        rest = members[c] if c != own else X[(state.labels == c) & (np.arange(40) != i)]
        pred = prior.log_predictive(X[[i]], *_stats(prior, rest))[0, 0]
        expected.append(math.log(len(rest)) if len(rest) else -np.inf)
        expected[-1] += pred
    np.testing.assert_allclose(
        state.log_conditional(i, slice(0, k), own), expected, rtol=1e-12
    )
    assert state.log_likelihood() == pytest.approx(
        sum(_log_marginal(prior, m) for m in members), rel=1e-12
    )


def test_categorical_state_moves_touch_only_the_points_levels():
    prior, X = _case("categorical", n=20, seed=9)
    state = CategoricalClusterState(X, prior, np.zeros(20, dtype=int))
    before = state.sums[0].copy()
    state.move(3, 1)
    changed = np.flatnonzero(state.sums[0] != before)
    np.testing.assert_array_equal(changed, X[3].astype(int) + prior.offsets)
    assert isinstance(state, DiscreteClusterState)


# -- the chain targets the right posterior ---------------------------------------------
def _exact_posterior(X, prior, alpha):
    partitions = sorted(
        {
            tuple(canonical_labels(np.array(p)))
            for p in itertools.product(range(len(X)), repeat=len(X))
        }
    )
    log_p = []
    for p in partitions:
        labels = np.array(p)
        counts = np.bincount(labels)
        log_p.append(
            log_crp(counts, alpha)
            + sum(_log_marginal(prior, X[labels == k]) for k in range(len(counts)))
        )
    log_p = np.array(log_p)
    return partitions, np.exp(log_p - np.logaddexp.reduce(log_p))


def _total_variation(partitions, exact, visited):
    index = {p: i for i, p in enumerate(partitions)}
    freq = np.zeros(len(partitions))
    for labels in visited:
        freq[index[tuple(canonical_labels(labels))]] += 1
    return 0.5 * np.abs(freq / freq.sum() - exact).sum()


def _tiny(family):
    prior, _ = _case(family, seed=10)
    X = {
        "bernoulli": [[0, 0, 1], [0, 0, 1], [1, 1, 0], [1, 1, 0], [0, 1, 1]],
        "poisson": [[0, 1], [1, 0], [6, 9], [5, 7], [2, 3]],
        "categorical": [[0, 0, 0], [0, 0, 1], [1, 2, 3], [1, 2, 3], [0, 1, 2]],
    }[family]
    return np.array(X[:4], dtype=float), prior, 0.9


@pytest.mark.parametrize("family", FAMILIES)
def test_gibbs_with_split_merge_matches_the_exact_posterior(family):
    X, prior, alpha = _tiny(family)
    partitions, exact = _exact_posterior(X, prior, alpha)
    result = collapsed_gibbs(
        X, prior, n_iter=1000, alpha=alpha, n_split_merge=1, random_state=11
    )
    tv = _total_variation(partitions, exact, result.partitions)
    # 15 partitions; the sampling noise of this TV is 0.013-0.054 (seeds 0-5 of
    # each family), and doubling alpha moves the target by 0.18-0.22
    assert tv < 0.08, f"total variation {tv:.3f}"


def test_split_merge_moves_alone_leave_the_exact_posterior_invariant():
    X, prior, alpha = _tiny("bernoulli")
    partitions, exact = _exact_posterior(X, prior, alpha)
    state = DiscreteClusterState(X, prior, np.zeros(len(X), dtype=int))
    rng = np.random.default_rng(12)
    counters = dict.fromkeys(
        ("split_proposed", "split_accepted", "merge_proposed", "merge_accepted"), 0
    )
    visited = []
    for _ in range(2000):
        split_merge_step(state, alpha, 2, rng, counters)
        visited.append(state.labels.copy())
    assert counters["split_accepted"] > 100 and counters["merge_accepted"] > 100
    tv = _total_variation(partitions, exact, visited)
    # doubling alpha moves the target by 0.22
    assert tv < 0.08, f"total variation {tv:.3f}"


# -- results of a run ------------------------------------------------------------------
def _closed_form_predictive(family, prior, X, Y):
    """Log predictive of the rows Y after one cluster holding X, from scipy."""
    n, s = len(X), X.sum(axis=0)
    if family == "bernoulli":
        return (
            stats.betabinom(1, prior.alpha + s, prior.beta + n - s)
            .logpmf(Y)
            .sum(axis=1)
        )
    if family == "poisson":
        p = (prior.rate + n) / (prior.rate + n + 1)
        return stats.nbinom(prior.shape + s, p).logpmf(Y).sum(axis=1)
    total = np.zeros(len(Y))
    for j, (start, L) in enumerate(zip(prior.offsets, prior.n_levels, strict=True)):
        alpha = prior.concentration[start : start + L]
        counts = np.bincount(X[:, j].astype(int), minlength=L)
        one_hot = np.eye(L)[Y[:, j].astype(int)]
        total += stats.dirichlet_multinomial(alpha + counts, 1).logpmf(one_hot)
    return total


@pytest.mark.parametrize("family", FAMILIES)
def test_one_cluster_predictive_density_is_the_closed_form(family):
    prior, X = _case(family, n=30, seed=13)
    alpha = 1e-12
    result = collapsed_gibbs(X, prior, n_iter=4, alpha=alpha, random_state=0)
    assert (result.n_clusters == 1).all()
    Y = _support(family, prior)[:: 7 if family != "poisson" else 997]
    # beta-binomial / negative binomial / Dirichlet-multinomial with one trial;
    # the new-cluster term alpha / (n + alpha) p(y | prior) stays in the mixture
    expected = np.logaddexp(
        math.log(30 / (30 + alpha)) + _closed_form_predictive(family, prior, X, Y),
        math.log(alpha / (30 + alpha))
        + _closed_form_predictive(family, prior, X[:0], Y),
    )
    np.testing.assert_allclose(log_predictive_density(result, Y), expected, rtol=1e-9)


def test_same_seed_same_chain_and_different_seed_differs():
    prior, X = _case("poisson", n=40, seed=14)
    kwargs = {"n_iter": 8, "n_split_merge": 1, "alpha_prior": (1.0, 1.0)}
    first = collapsed_gibbs(X, prior, random_state=3, **kwargs)
    again = collapsed_gibbs(X, prior, random_state=3, **kwargs)
    other = collapsed_gibbs(X, prior, random_state=4, **kwargs)
    np.testing.assert_array_equal(first.partitions, again.partitions)
    np.testing.assert_array_equal(first.log_joint, again.log_joint)
    np.testing.assert_array_equal(first.alpha_trace, again.alpha_trace)
    assert not np.array_equal(first.alpha_trace, other.alpha_trace)


def _binary_clusters(n_per, n_features, seed):
    """Three groups of binary rows with probabilities 0.1 or 0.9 per feature."""
    rng = np.random.default_rng(seed)
    probabilities = rng.choice([0.1, 0.9], size=(3, n_features))
    y = np.repeat(np.arange(3), n_per)
    return (rng.random((len(y), n_features)) < probabilities[y]).astype(float), y


def _sweeps_to_truth(X, y, n_split_merge, max_sweeps):
    aris = []
    collapsed_gibbs(
        X,
        Beta.checked(1.0, 1.0, X.shape[1]),
        n_iter=max_sweeps,
        n_split_merge=n_split_merge,
        n_launch_scans=2,
        random_state=0,
        callback=lambda sweep, labels: aris.append(adjusted_rand_score(y, labels)),
    )
    reached = [s for s, value in enumerate(aris, start=1) if value > 0.99]
    return reached[0] if reached else math.inf


def test_split_merge_reaches_the_true_partition_in_fewer_sweeps():
    """From one cluster: 3 sweeps with split-merge, 12 without (seed 0)."""
    X, y = _binary_clusters(40, 20, seed=15)
    with_sm = _sweeps_to_truth(X, y, n_split_merge=3, max_sweeps=15)
    without_sm = _sweeps_to_truth(X, y, n_split_merge=0, max_sweeps=15)
    message = f"sweeps to ARI > 0.99: {with_sm} with split-merge, {without_sm} without"
    print(message)
    assert with_sm < without_sm, message
    assert with_sm <= 5, message


# -- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Beta.checked(0.0, 1.0, 3), "alpha"),
        (lambda: Beta.checked(1.0, [1.0, -1.0, 1.0], 3), "beta"),
        (lambda: Beta.checked([1.0, 2.0], 1.0, 3), r"shape \(3,\)"),
        (lambda: Gamma.checked(1.0, 0.0, 2), "rate"),
        (lambda: Gamma.checked(np.nan, 1.0, 2), "shape"),
        (lambda: CategoricalDirichlet.checked(0.0, [2, 3]), "concentration"),
        (lambda: CategoricalDirichlet.checked([[1, 1]], [2, 3]), "one array per"),
        (lambda: CategoricalDirichlet.checked([[1, 1], [1, 1]], [2, 3]), r"\[1\]"),
        (lambda: CategoricalDirichlet.checked(1.0, [2, 0]), "n_levels"),
        (lambda: CategoricalDirichlet.checked(1.0, [2.5]), "n_levels"),
    ],
)
def test_priors_refuse_bad_hyperparameters(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("family", "bad", "message"),
    [
        ("bernoulli", 2.0, "binary data"),
        ("bernoulli", 0.5, "binary data"),
        ("poisson", -1.0, "Negative values"),
        ("poisson", 1.5, "non-integer"),
        ("categorical", 4.0, r"0 \.\. 1 \(n_levels = 2\)"),
        ("categorical", -1.0, "integer codes"),
    ],
)
def test_sampler_refuses_data_outside_the_support(family, bad, message):
    prior, X = _case(family, n=6, seed=16)
    X[2, 0] = bad
    with pytest.raises(DataValidationError, match=message):
        collapsed_gibbs(X, prior, n_iter=1)
    prior, X = _case(family, n=6, seed=16)
    result = collapsed_gibbs(X, prior, n_iter=1)
    X[2, 0] = bad
    with pytest.raises(DataValidationError, match=message):
        log_predictive_density(result, X)


def test_unknown_prior_type_lists_the_known_ones():
    with pytest.raises(TypeError, match=r"CategoricalDirichlet.*ConjugatePrior"):
        cluster_state_class(object())
