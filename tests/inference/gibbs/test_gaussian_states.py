"""Collapsed Gibbs and split-merge sampling of Dirichlet-process Gaussian mixtures."""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import gammaln
from sklearn.metrics import adjusted_rand_score

from mixtura.inference.gibbs import (
    ClusterState,
    canonical_labels,
    collapsed_gibbs,
    least_squares_clustering,
    log_crp,
    log_predictive_density,
    posterior_similarity,
    sample_concentration,
    split_merge_step,
)
from mixtura.priors.normal_inverse_wishart import (
    NormalInverseWishart,
    log_marginal_likelihood,
)


def _prior(d, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    return NormalInverseWishart.checked(
        rng.normal(size=d), 0.7, d + 1.5, A @ A.T + d * np.eye(d)
    )


def _stats(X):
    return len(X), X.sum(axis=0), X.T @ X


def _blobs(n_per, centers, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(centers)), n_per)
    return np.asarray(centers, float)[y] + rng.normal(size=(len(y), 2)), y


# -- the Normal-inverse-Wishart algebra ---------------------------------------------
@pytest.mark.parametrize("d", [1, 2, 4])
def test_marginal_likelihood_equals_product_of_sequential_predictives(d):
    prior = _prior(d)
    X = np.random.default_rng(1).normal(size=(7, d)) * 2 + 1
    sequential = 0.0
    for i in range(len(X)):
        post = prior.posterior(*_stats(X[:i])) if i else prior
        sequential += post.predictive().logpdf(X[i : i + 1])[0]
    assert log_marginal_likelihood(prior, *_stats(X)) == pytest.approx(
        sequential, rel=1e-10
    )


def test_predictive_matches_scipy_multivariate_t_from_textbook_posterior():
    d = 3
    prior = _prior(d)
    X = np.random.default_rng(2).normal(size=(20, d))
    # Gelman et al. (BDA3, section 3.6) written out independently
    n, xbar = len(X), X.mean(axis=0)
    k0, m0, nu0, psi0 = (
        prior.mean_precision,
        prior.mean,
        prior.degrees_of_freedom,
        prior.scale,
    )
    centred = X - xbar
    psi_n = (
        psi0 + centred.T @ centred + k0 * n / (k0 + n) * np.outer(xbar - m0, xbar - m0)
    )
    kn, nun = k0 + n, nu0 + n
    df = nun - d + 1
    expected = stats.multivariate_t(
        loc=(k0 * m0 + n * xbar) / kn, shape=psi_n * (kn + 1) / (kn * df), df=df
    )
    Y = np.random.default_rng(3).normal(size=(5, d)) * 3
    got = prior.posterior(*_stats(X)).predictive().logpdf(Y)
    np.testing.assert_allclose(got, expected.logpdf(Y), rtol=1e-10)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"scale": np.eye(3)}, "shape"),
        ({"scale": -np.eye(2)}, "positive definite"),
        ({"scale": [[1.0, 2.0], [0.0, 1.0]]}, "symmetric"),
        ({"mean_precision": 0.0}, "mean_precision_prior"),
        ({"degrees_of_freedom": 0.5}, "greater than 1"),
    ],
)
def test_prior_refuses_bad_parameters(bad, message):
    args = {
        "mean": np.zeros(2),
        "mean_precision": 1.0,
        "degrees_of_freedom": 3.0,
        "scale": np.eye(2),
    }
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        NormalInverseWishart.checked(**args)


# -- the cluster cache ----------------------------------------------------------------
def test_rank_one_cache_matches_fresh_factorisation_and_direct_predictive():
    d = 3
    prior = NormalInverseWishart.checked(np.zeros(d), 0.5, d + 2, np.eye(d))
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, d))
    state = ClusterState(X, prior, rng.integers(0, 3, 60))
    for i in rng.integers(0, 60, 200):
        old = state.remove(i)
        if state.counts[old] == 0:
            state.delete(old)
        state.add(i, int(rng.integers(0, state.n_clusters + 1)))
    x = rng.normal(size=d)
    cached = state.log_predictive(x)
    k = state.n_clusters
    incremental = (state.means[:k].copy(), state.precisions[:k].copy())
    state.resync()
    np.testing.assert_allclose(incremental[0], state.means[:k], atol=1e-10)
    np.testing.assert_allclose(incremental[1], state.precisions[:k], atol=1e-9)
    direct = [
        prior.posterior(*_stats(X[state.labels == c])).predictive().logpdf(x[None])[0]
        for c in range(k)
    ]
    np.testing.assert_allclose(cached, direct, rtol=1e-9)
    assert state.log_likelihood() == pytest.approx(
        sum(
            log_marginal_likelihood(prior, *_stats(X[state.labels == c]))
            for c in range(k)
        )
    )


# -- the chain targets the right posterior ---------------------------------------------
def _all_partitions(n):
    """Every partition of range(n), in canonical labels."""
    seen = set()
    for labels in itertools.product(range(n), repeat=n):
        seen.add(tuple(canonical_labels(np.array(labels))))
    return sorted(seen)


def _exact_posterior(X, prior, alpha):
    partitions = _all_partitions(len(X))
    log_p = []
    for p in partitions:
        labels = np.array(p)
        counts = np.bincount(labels)
        log_p.append(
            log_crp(counts, alpha)
            + sum(
                log_marginal_likelihood(prior, *_stats(X[labels == k]))
                for k in range(len(counts))
            )
        )
    log_p = np.array(log_p)
    return partitions, np.exp(log_p - np.logaddexp.reduce(log_p))


def _tiny_problem():
    X = np.array([[0.0, 0.0], [0.3, -0.2], [2.5, 2.0], [2.2, 2.6]])
    prior = NormalInverseWishart.checked(np.zeros(2), 0.3, 3.0, 0.5 * np.eye(2))
    return X, prior, 0.8


def _total_variation(partitions, exact, visited):
    index = {p: i for i, p in enumerate(partitions)}
    freq = np.zeros(len(partitions))
    for labels in visited:
        freq[index[tuple(canonical_labels(labels))]] += 1
    return 0.5 * np.abs(freq / freq.sum() - exact).sum()


def test_split_merge_moves_alone_leave_the_exact_posterior_invariant():
    X, prior, alpha = _tiny_problem()
    partitions, exact = _exact_posterior(X, prior, alpha)
    state = ClusterState(X, prior, np.zeros(4, dtype=int))  # prior mean is zero
    rng = np.random.default_rng(5)
    counters = dict.fromkeys(
        ("split_proposed", "split_accepted", "merge_proposed", "merge_accepted"), 0
    )
    visited = []
    for _ in range(2500):
        split_merge_step(state, alpha, 2, rng, counters)
        visited.append(state.labels.copy())
    assert counters["split_accepted"] > 100 and counters["merge_accepted"] > 100
    # sampling noise here is about 0.04; doubling alpha moves the target by 0.16
    assert _total_variation(partitions, exact, visited) < 0.07


def test_gibbs_with_split_merge_matches_the_exact_posterior():
    X, prior, alpha = _tiny_problem()
    partitions, exact = _exact_posterior(X, prior, alpha)
    result = collapsed_gibbs(
        X, prior, n_iter=1500, alpha=alpha, n_split_merge=1, random_state=6
    )
    # sampling noise here is about 0.02; doubling alpha moves the target by 0.16
    assert _total_variation(partitions, exact, result.partitions) < 0.05


def test_concentration_update_targets_its_conditional_posterior():
    # p(alpha | K, n) ∝ Gamma(alpha; a, b) alpha^K Gamma(alpha) / Gamma(alpha + n)
    a, b, k, n = 2.0, 1.5, 4, 50

    def density(x):
        return math.exp(
            stats.gamma.logpdf(x, a, scale=1 / b)
            + k * math.log(x)
            + gammaln(x)
            - gammaln(x + n)
        )

    norm = integrate.quad(density, 0, np.inf)[0]
    mean = integrate.quad(lambda x: x * density(x), 0, np.inf)[0] / norm
    rng = np.random.default_rng(7)
    alpha, draws = 1.0, []
    for _ in range(20000):
        alpha = sample_concentration(alpha, k, n, a, b, rng)
        draws.append(alpha)
    assert np.mean(draws[100:]) == pytest.approx(mean, rel=0.03)


# -- results of a run ------------------------------------------------------------------
def test_one_cluster_predictive_equals_closed_form_student_t():
    X, _ = _blobs(40, [[0.0, 0.0]], seed=8)
    prior = _prior(2)
    result = collapsed_gibbs(X, prior, n_iter=5, alpha=1e-12, random_state=0)
    assert (result.n_clusters == 1).all()
    Y = np.random.default_rng(9).normal(size=(6, 2)) * 2
    post = prior.posterior(*_stats(X))
    df = post.degrees_of_freedom - 1
    expected = stats.multivariate_t(
        post.mean,
        post.scale * (post.mean_precision + 1) / (post.mean_precision * df),
        df=df,
    ).logpdf(Y)
    np.testing.assert_allclose(log_predictive_density(result, Y), expected, rtol=1e-9)


def test_same_seed_same_chain_and_different_seed_differs():
    X, _ = _blobs(30, [[0, 0], [6, 0]], seed=10)
    prior = NormalInverseWishart.checked(X.mean(0), 0.01, 4.0, np.cov(X.T))
    kwargs = {"n_iter": 8, "n_split_merge": 1, "alpha_prior": (1.0, 1.0)}
    first = collapsed_gibbs(X, prior, random_state=3, **kwargs)
    again = collapsed_gibbs(X, prior, random_state=3, **kwargs)
    other = collapsed_gibbs(X, prior, random_state=4, **kwargs)
    np.testing.assert_array_equal(first.partitions, again.partitions)
    np.testing.assert_array_equal(first.log_joint, again.log_joint)
    np.testing.assert_array_equal(first.alpha_trace, again.alpha_trace)
    assert not np.array_equal(first.alpha_trace, other.alpha_trace)


def _sweeps_to_truth(X, y, n_split_merge, max_sweeps):
    prior = NormalInverseWishart.checked(X.mean(0), 0.01, 4.0, np.cov(X.T))
    aris = []
    result = collapsed_gibbs(
        X,
        prior,
        n_iter=max_sweeps,
        n_split_merge=n_split_merge,
        n_launch_scans=3,
        random_state=0,
        callback=lambda sweep, labels: aris.append(adjusted_rand_score(y, labels)),
    )
    reached = [s for s, value in enumerate(aris, start=1) if value > 0.99]
    return (reached[0] if reached else math.inf), result.counters


def test_split_merge_reaches_the_true_partition_in_fewer_sweeps():
    X, y = _blobs(50, [[0, 0], [10, 0], [0, 10]], seed=11)
    with_sm, counters = _sweeps_to_truth(X, y, n_split_merge=2, max_sweeps=25)
    without_sm, _ = _sweeps_to_truth(X, y, n_split_merge=0, max_sweeps=25)
    print(f"sweeps to ARI > 0.99: {with_sm} with split-merge, {without_sm} without;")
    print(counters)
    assert with_sm <= 10
    assert with_sm < without_sm
    assert counters["split_accepted"] >= 2


# -- summaries -------------------------------------------------------------------------
def test_similarity_and_least_squares_clustering_match_brute_force():
    rng = np.random.default_rng(12)
    partitions = np.array(
        [canonical_labels(rng.integers(0, 3, 9)) for _ in range(5)] * 2
        + [canonical_labels(rng.integers(0, 2, 9)) for _ in range(7)]
    )
    same = partitions[:, :, None] == partitions[:, None, :]
    psm = same.mean(axis=0)
    np.testing.assert_allclose(posterior_similarity(partitions), psm, atol=1e-12)
    losses = ((same - psm) ** 2).sum(axis=(1, 2))
    best = least_squares_clustering(partitions)
    best_loss = (((best[:, None] == best[None, :]) - psm) ** 2).sum()
    assert best_loss == pytest.approx(losses.min())
    assert any(np.array_equal(best, p) for p in partitions)
