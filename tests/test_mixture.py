"""The Mixture value: densities, responsibilities, M-step, sampling."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from mixtura.families import Gaussian
from mixtura.mixture import Mixture


def _mixture():
    family = Gaussian(
        "full",
        means=[[0.0, 0.0], [5.0, 5.0]],
        covariances=[[[1.0, 0.3], [0.3, 2.0]], [[0.5, 0.0], [0.0, 0.5]]],
    )
    return Mixture.from_weights([0.3, 0.7], family)


def test_score_samples_matches_scipy_mixture_density():
    mixture = _mixture()
    X = np.random.RandomState(0).normal(scale=3, size=(50, 2))
    components = [
        np.log(w) + stats.multivariate_normal(m, c).logpdf(X)
        for w, m, c in zip(
            mixture.weights,
            mixture.family.means,
            mixture.family.covariances,
            strict=True,
        )
    ]
    expected = logsumexp(np.column_stack(components), axis=1)
    np.testing.assert_allclose(mixture.score_samples(X), expected, rtol=1e-12)


def test_responsibilities_are_normalised_posteriors():
    mixture = _mixture()
    X = np.array([[0.0, 0.0], [5.0, 5.0], [2.5, 2.5], [1e3, -1e3]])
    log_resp, log_density = mixture.log_responsibilities(X)
    np.testing.assert_allclose(np.exp(log_resp).sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(log_density, mixture.score_samples(X))
    assert np.exp(log_resp[0, 0]) > 0.99 and np.exp(log_resp[1, 1]) > 0.99
    # a point far from both components still gets finite, normalised posteriors
    assert np.isfinite(log_resp[3]).all()


def test_weights_are_normalised_and_validated():
    family = _mixture().family
    np.testing.assert_allclose(
        Mixture.from_weights([1.0, 3.0], family).weights, [0.25, 0.75]
    )
    with pytest.raises(ValueError, match="2 components need 2 weights"):
        Mixture.from_weights([1.0, 1.0, 1.0], family)


def test_maximize_recovers_parameters_from_hard_labels():
    rng = np.random.RandomState(1)
    true = _mixture()
    X, labels = true.sample(20_000, rng)
    resp = np.eye(2)[labels]
    fitted = true.maximize(true.statistics(X, resp))
    np.testing.assert_allclose(fitted.weights, np.bincount(labels) / labels.size)
    for k in range(2):
        np.testing.assert_allclose(fitted.family.means[k], X[labels == k].mean(0))
        np.testing.assert_allclose(
            fitted.family.covariances[k],
            np.cov(X[labels == k].T, bias=True) + 1e-6 * np.eye(2),
            rtol=1e-10,
        )
    np.testing.assert_allclose(fitted.weights, true.weights, atol=0.01)


def test_sample_counts_follow_the_weights_and_labels_are_sorted():
    X, labels = _mixture().sample(10_000, np.random.RandomState(2))
    assert X.shape == (10_000, 2)
    assert np.all(np.diff(labels) >= 0)
    assert abs(np.mean(labels == 1) - 0.7) < 0.02


def test_n_parameters_counts_weights_means_and_covariances():
    # 2 full 2x2 covariances (3 each) + 2 means of 2 + 1 free weight
    assert _mixture().n_parameters() == 6 + 4 + 1


def test_group_statistics_sum_the_chunks_for_families_without_a_group_form():
    from mixtura.families import Bernoulli

    rng = np.random.default_rng(1)
    X = (rng.uniform(size=(900, 5)) < 0.3).astype(float)
    family = Bernoulli(probabilities=rng.uniform(0.1, 0.9, size=(3, 5)))
    mixture = Mixture.from_weights([0.2, 0.3, 0.5], family)
    weights = rng.uniform(0.5, 2.0, size=900)
    chunks = [(X[i : i + 200], weights[i : i + 200]) for i in range(0, 900, 200)]
    stats, log_likelihood = mixture.group_statistics(chunks)
    whole, whole_log_likelihood = mixture.chunk_statistics(X, weights)
    assert log_likelihood == pytest.approx(whole_log_likelihood, rel=1e-12)
    np.testing.assert_allclose(stats.resp_sum, whole.resp_sum, rtol=1e-12)
    for name in whole.sums:
        np.testing.assert_allclose(stats.sums[name], whole.sums[name], rtol=1e-12)
